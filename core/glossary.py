"""The platform's one vocabulary: the Chinese (and English) term for every code a person sees.

Pages, PDFs and spreadsheets all read their status, kind and category words from here, so one
thing has one name everywhere (issue 17: 有争议/有异议 and 已截标/已封标 used to differ). Codes are
the enum values stored in the database; a code missing here is shown as itself, which the
every-page test catches.
"""

from __future__ import annotations

from typing import Any

#: code → (Chinese, English)
TERMS: dict[str, tuple[str, str]] = {
    # orders and lines
    "submitted": ("待接单", "Awaiting acceptance"),
    "accepted": ("已接单", "Accepted"),
    "refused": ("已拒绝", "Refused"),
    "partially_shipped": ("部分配送", "Partially shipped"),
    "shipped": ("已配送", "Shipped"),
    "completed": ("已完成", "Completed"),
    "cancelled": ("已取消", "Cancelled"),
    "open": ("未配送", "Open"),
    # urgency
    "normal": ("普通", "Normal"),
    "emergency": ("紧急", "Emergency"),
    "remote": ("偏远地区", "Remote area"),
    # invoices
    "pending": ("待确认", "Pending"),
    "confirmed": ("已确认", "Confirmed"),
    "disputed": ("有异议", "Disputed"),
    "corrected": ("已冲红更正", "Corrected by red-letter invoice"),
    "voided": ("已作废", "Voided"),
    # deliveries, receipts, returns
    "in_transit": ("待验收（在途）", "In transit"),
    "partly_rejected": ("部分拒收", "Partly rejected"),
    "rejected": ("已拒收", "Rejected"),
    "kept": ("已入库", "Kept"),
    "partly_returned": ("部分退货", "Partly returned"),
    "returned": ("已退货", "Returned"),
    "awaiting_credit": ("待冲红", "Awaiting red-letter credit"),
    "credited": ("已冲红", "Credited"),
    "no_credit_needed": ("无需冲红", "No credit needed"),
    # batches and bids
    "draft": ("草稿", "Draft"),
    "demand_collection": ("报量中", "Demand collection"),
    "bidding": ("投标中", "Bidding"),
    "sealed": ("已截标", "Sealed"),
    "opened": ("已开标", "Opened"),
    "results_published": ("结果已公布", "Results published"),
    "executing": ("执行中", "Executing"),
    "closed": ("已关闭", "Closed"),
    "active": ("有效", "Active"),
    "replaced": ("已替换", "Replaced"),
    "withdrawn": ("已撤回", "Withdrawn"),
    # listings
    "applied": ("已申请", "Applied"),
    "listed": ("已挂网", "Listed"),
    "suspended": ("暂停挂网", "Suspended"),
    "delisted": ("已撤网", "Delisted"),
    "volume_based": ("带量采购", "Volume-based"),
    "price_linked": ("价格联动", "Price-linked"),
    "filed": ("备案采购", "Filed purchase"),
    # reconciliation
    "overpaid": ("超额支付", "Overpaid"),
    "invoice_qty_mismatch": ("发票数量不符", "Invoice quantity mismatch"),
    "invoice_price_mismatch": ("发票价格不符", "Invoice price mismatch"),
    "invoice_amount_mismatch": ("发票金额不符", "Invoice amount mismatch"),
    "payment_overdue": ("逾期未付款", "Payment overdue"),
    "awaiting_payment": ("待付款", "Awaiting payment"),
    "invoice_overdue": ("超期未开票", "Invoice overdue"),
    "awaiting_invoice": ("待开票", "Awaiting invoice"),
    "short_or_rejected": ("短缺/拒收", "Short or rejected"),
    "awaiting_receipt": ("待验收", "Awaiting receipt"),
    "shipment_overdue": ("逾期未配送", "Shipment overdue"),
    "awaiting_shipment": ("待配送", "Awaiting shipment"),
    "complete": ("三流一致", "Complete"),
    # settlement, jobs
    "paid": ("已支付", "Paid"),
    "approved": ("已审核", "Approved"),
    "refund_due": ("待企业退款", "Refund due from the enterprise"),
    "refunded": ("已退款", "Refunded"),
    "refiled": ("已重新申报", "Filed again"),
    "granted": ("已预付", "Granted"),
    "cleared": ("已清算", "Cleared"),
    "recorded": ("已登记", "Recorded"),
    "succeeded": ("成功", "Succeeded"),
    "failed": ("失败", "Failed"),
    "running": ("运行中", "Running"),
    # messages (站内消息), notices (公告) and deadlines of the home page
    "order_received": ("收到新订单", "Order received"),
    "order_accepted": ("订单已接单", "Order accepted"),
    "order_refused": ("订单被拒绝", "Order refused"),
    "delivery_arrived": ("配送已到达，待验收", "Delivery arrived"),
    "invoice_to_confirm": ("发票待确认", "Invoice to confirm"),
    "statement_ready": ("对账单已生成", "Statement ready"),
    "application_filed": ("结算申请已提交", "Settlement application filed"),
    "application_paid": ("结算款已支付", "Settlement application paid"),
    "batch_demand_open": ("批次开始报量", "Batch open for demand reports"),
    "batch_bidding_open": ("批次开始投标", "Batch open for bids"),
    "batch_published": ("批次结果已公布", "Batch results published"),
    "rating_changed": ("信用评价已变更", "Credit rating changed"),
    "notice_published": ("医保局发布新公告", "New notice from the bureau"),
    "published": ("已发布", "Published"),
    "demand_deadline": ("报量截止", "Demand deadline"),
    "bid_close": ("投标截止", "Bids close"),
    "filing_deadline": ("结算申报截止（每月5日）", "Settlement filing deadline (the 5th)"),
    "confirmation_window": ("医院确认时限（5个工作日）", "Hospital confirmation window (5 working days)"),
    "delivery_deadline": ("配送时限", "Delivery deadline"),
    "payment_due": ("回款到期", "Payment due"),
    # organizations and roles
    "bureau": ("医疗保障局", "Medical insurance bureau"),
    "hospital": ("医疗机构", "Hospital"),
    "manufacturer": ("生产企业", "Manufacturer"),
    "distributor": ("配送企业", "Distributor"),
    "admin": ("管理员", "Administrator"),
    "operator": ("经办人", "Operator"),
    "auditor": ("审计员", "Auditor"),
}


def term(value: Any, lang: str = "zh") -> str:
    """The word for an enum member or code in `lang` ("zh" or "en"); unknown codes as themselves."""
    raw = str(getattr(value, "value", value))
    found = TERMS.get(raw)
    if found is None:
        return raw
    return found[1] if lang == "en" else found[0]
