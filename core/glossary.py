"""The platform's one vocabulary: the Chinese (and English) term for every code a person sees.

Pages, PDFs and spreadsheets all read their status, kind and category words from here, so one
thing has one name everywhere (issue 17: 有争议/有异议 and 已截标/已封标 used to differ). Codes are
the enum values stored in the database; a code missing here is shown as itself, which the
every-page test catches.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
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
    # 有异议, not 有争议: the national settlement wording ("对账有异议的…"), and what the statements say.
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
    # 已截标, not 已封标: 截标 is the bid deadline passing (投标截止), the step before 开标.
    "sealed": ("已截标", "Sealed"),
    "opened": ("已开标", "Opened"),
    "results_proposed": ("结果公示中", "Results proposed (publicity period)"),
    "results_published": ("结果已公布", "Results published"),
    "executing": ("执行中", "Executing"),
    "closed": ("已关闭", "Closed"),
    "active": ("有效", "Active"),
    "replaced": ("已替换", "Replaced"),
    "withdrawn": ("已撤回", "Withdrawn"),
    # warnings (预警, ledger/supervision)
    "raised": ("待处理", "Open warning"),
    "acknowledged": ("已知悉", "Acknowledged"),
    "resolved": ("已处理", "Resolved"),
    "low": ("提示", "Low"),
    "medium": ("关注", "Medium"),
    "high": ("严重", "High"),
    # price governance (ledger/supervision/price_models.py)
    "red": ("红色风险", "Red risk"),
    "yellow": ("黄色风险", "Yellow risk"),
    "green": ("绿色（无风险）", "Green"),
    "other_province_prices": ("外省挂网价", "Other provinces' listed prices"),
    "shortage_list": ("短缺药品清单", "Shortage list"),
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
    # 三流一致, not 已完成: the line's orders, deliveries, invoices and payments agree (三流合一).
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
    "queued": ("排队中", "Queued"),
    # batch items (bureau item form and import)
    "oral_solid": ("口服常释剂型", "Oral solid"),
    "oral_liquid": ("口服液体剂型", "Oral liquid"),
    "injection_small": ("小容量注射剂", "Small-volume injection"),
    "injection_large": ("大容量注射剂", "Large-volume injection"),
    "other": ("其他", "Other"),
    "content": ("含量差比价", "By content"),  # 药品差比价规则 wording
    "fill_volume": ("装量差比价", "By fill volume"),
    "none": ("不换算（按件）", "No conversion (per piece)"),
    # winning routes (bidding.rules.Route)
    "spread": ("价差规则中选", "Within the price spread"),
    "low_price_exemption": ("低价豁免中选", "Low-price exemption"),
    "half_ceiling": ("降幅≥50%中选", "Cut of half the ceiling or more"),
    "shortlist_revival": ("入围复活中选", "Shortlist revival"),
    "non_shortlist_revival": ("未入围复活中选", "Non-shortlist revival"),
    # payment sources
    "fund": ("医保基金支付", "Paid by the fund"),
    "prepayment": ("预付金抵扣", "From the prepayment"),
    "self_pay": ("医院自行支付", "Paid by the hospital"),
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
    # payment standard bases (支付标准, vbp-rules.md §1.9)
    "winning_price": ("中选价", "Winning price"),
    "within_multiple": ("未中选，低于中选价2倍：按中选价", "Non-winner below 2× the winning price"),
    "above_multiple": ("未中选，达中选价2倍及以上：原价降30%", "Non-winner at or above 2×: price −30 %"),
    "not_evaluated": (
        "未通过一致性评价：不高于中选价",
        "Not consistency-evaluated: at most the winning price",
    ),
    # credit linkage (信用评价联动, issue 18)
    "credit_suspended": ("信用评价联动：挂网或配送已暂停", "Suspended by a credit rating"),
    "credit_restored": ("信用修复：挂网或配送已恢复", "Restored by a credit repair"),
    "credit_buy_elsewhere": (
        "所购产品因信用评价暂停挂网，请改购其他产品",
        "A product you buy was suspended: buy elsewhere",
    ),
    "credit_listing_restored": ("所购产品已恢复挂网", "A product you buy is listed again"),
    "credit_distributor_suspended": (
        "配送企业因信用评价暂停配送",
        "Your distributor was suspended by a credit rating",
    ),
    "credit_distributor_restored": ("配送企业已恢复配送", "Your distributor was restored"),
    "notice_published": ("医保局发布新公告", "New notice from the bureau"),
    "warning_raised": ("收到监督预警", "Supervision warning raised"),
    "warning_resolved": ("监督预警已处理", "Supervision warning resolved"),
    "published": ("已发布", "Published"),
    "demand_deadline": ("报量截止", "Demand deadline"),
    "bid_close": ("投标截止", "Bids close"),
    "filing_deadline": ("结算申报截止（每月5日）", "Settlement filing deadline (the 5th)"),
    "confirmation_due": ("医院确认时限（5个工作日）", "Hospital confirmation window (5 working days)"),
    "delivery_deadline": ("配送时限", "Delivery deadline"),
    "payment_due": ("回款到期", "Payment due"),
    "agreement_expiring": ("采购协议即将到期", "Agreement expiring"),
    # organizations and roles
    "bureau": ("医疗保障局", "Medical insurance bureau"),
    "hospital": ("医疗机构", "Hospital"),
    "manufacturer": ("生产企业", "Manufacturer"),
    "distributor": ("配送企业", "Distributor"),
    "admin": ("管理员", "Administrator"),
    "operator": ("经办人", "Operator"),
    "auditor": ("审计员", "Auditor"),
    "system": ("系统", "System"),
    # categories, scopes, products (bidding)
    "drug": ("药品", "Drug"),
    "consumable": ("医用耗材", "Medical consumable"),
    "provincial": ("省级集采", "Provincial"),
    "alliance": ("省际联盟集采", "Inter-provincial alliance"),
    "national": ("国家组织集采", "National (state-organized)"),
    # where a batch's winners were selected (issue 22)
    "local": ("本平台开标选择", "Selected on this platform"),
    "imported": ("外部中选结果（导入）", "Decided elsewhere (imported)"),
    "tertiary": ("三级", "Tertiary"),
    "secondary": ("二级", "Secondary"),
    "primary": ("一级", "Primary"),
    "unrated": ("未定级", "Unrated"),
    "drugs": ("药品（不含中药饮片）", "Drugs (without TCM pieces)"),
    "tcm_pieces": ("中药饮片", "TCM decoction pieces"),
    "high_value_consumables": ("高值医用耗材", "High-value consumables"),
    "other_consumables": ("其他医用耗材", "Other consumables"),
    # selection rules: presets (the published rule of each national batch), routes, anchors
    "batch_4_9": ("第四至九批国采规则", "Rules of national batches 4–9"),
    "batch_10": ("第十批国采规则", "Rules of national batch 10"),
    "batch_11": ("第十一批国采规则", "Rules of national batch 11"),
    "batch_12": ("第十二批国采规则", "Rules of national batch 12"),
    "lowest": ("最低价", "Lowest price"),
    "max_lowest_half_mean": ("最低价与均价一半取高", "Higher of lowest and half the mean"),
    "max_lowest_mean_minus_sigma": ("最低价与均价减标准差取高", "Higher of lowest and mean minus σ"),
    "reference_listed": ("参比制剂优先", "Reference-listed first"),
    "consistency_evaluated": ("通过一致性评价优先", "Consistency-evaluated first"),
    "submitted_at": ("申报在先优先", "Earlier submission first"),
    "lottery": ("抽签", "Lottery"),
    "largest_remaining": ("依次选最大剩余地区", "Largest remaining region"),
    "seeded_random": ("随机抽取（记录种子）", "Seeded draw"),
    # renewal (续标): ceiling basis, carry-over of incumbents' prices, why one must bid again
    "highest_winning": ("原批次最高中选价", "Highest winning price of the expiring batch"),
    "lowest_winning": ("原批次最低中选价", "Lowest winning price of the expiring batch"),
    "original": ("原批次最高有效申报价", "Ceiling of the expiring batch"),
    "within_spread": ("原中选价在价差线内的可续约", "Those within the spread line carry over"),
    "not_incumbent": ("非原中选企业", "Not an incumbent"),
    "carry_over_none": ("不允许沿用原中选价", "No carry-over"),
    "above_spread_line": ("原中选价高于价差线", "Expiring price above the spread line"),
    "already_renewed": ("已有续标批次", "Already renewed"),
    # credit ratings (医药价格和招采信用评价)
    "shixin": ("失信", "Untrustworthy"),
    "serious": ("严重失信", "Seriously untrustworthy"),
    "particularly_serious": ("特别严重失信", "Particularly seriously untrustworthy"),
    "bribery": ("商业贿赂", "Commercial bribery"),
    "tax": ("涉税违法", "Tax offence"),
    "bribing_staff": ("向医保部门工作人员行贿", "Bribing insurance staff"),
    "bid_rigging_national_vbp": ("国家集采中串通投标", "Bid rigging in national VBP"),
    # receipt rejection reasons
    "damaged": ("破损", "Damaged"),
    "expiry_too_short": ("效期过短", "Expiry too short"),
    "wrong_product": ("品规不符", "Wrong product"),
    "quality": ("质量问题", "Quality problem"),
    "quantity_mismatch": ("数量不符", "Quantity does not match"),
    # payments and accounts
    "calendar": ("自然日", "Calendar days"),
    "working": ("工作日", "Working days"),
    "fund_cash": ("基金资金", "Fund cash"),
    "fund_settlements": ("基金应付结算款", "Fund settlements owed"),
    "fund_shortfall_receivable": ("基金应收托收款", "Fund shortfall receivable"),
    "hospital_fund_claim": ("医院应收医保结算款", "Hospital fund claim"),
    "hospital_fund_shortfall": ("医院应付托收款", "Hospital fund shortfall"),
    "hospital_prepayment": ("医院预付金", "Hospital prepayment"),
    "hospital_payable": ("医院应付货款", "Hospital payable"),
    "hospital_purchases": ("医院采购", "Hospital purchases"),
    "hospital_cash": ("医院资金", "Hospital cash"),
    "enterprise_receivable": ("企业应收货款", "Enterprise receivable"),
    "enterprise_sales": ("企业销售", "Enterprise sales"),
    "enterprise_cash": ("企业资金", "Enterprise cash"),
    # reconciliation: records without their counterpart
    "orphan_shipment": ("无对应订单的发货", "Shipment without its order"),
    "orphan_receipt": ("无对应发货的验收", "Receipt without its shipment"),
    "orphan_invoice": ("无对应验收的发票", "Invoice without its receipt"),
    "orphan_payment": ("与确认金额不符的付款", "Payment not matching the confirmed amount"),
    "duplicate_invoice": ("发票号码重复", "Duplicate invoice number"),
    # traceability codes (ledger/trace): kinds, the superseded state, the warning rule
    "domestic": ("国内药品追溯码", "Domestic traceability code"),
    "gs1": ("进口药品GS1码", "GS1 code (imported)"),
    "superseded": ("已更正替换", "Superseded by a correction"),
    "duplicate_trace_code": ("追溯码重复配送", "Traceability code delivered twice"),
    # two-invoice rule (两票制, vbp-rules.md §5)
    "two_invoice_exceeded": ("超过两票制发票张数", "More invoices than the two-invoice rule allows"),
    "first_invoice_missing": ("缺少第一票", "First invoice missing"),
    # indicator groupings
    "province": ("全省", "Province"),
    "region": ("地区", "Region"),
    "enterprise": ("企业", "Enterprise"),
    "month": ("月份", "Month"),
    # scheduler jobs (app/scheduler.py JOBS)
    "open_batches": ("到时自动开标", "Open batches at their opening time"),
    "flag_overdue": ("标记逾期配送与付款", "Flag overdue shipments and payments"),
    "nightly_reconciliation": ("每晚三流对账", "Nightly reconciliation"),
    "verify_ledger": ("每晚账簿核验", "Nightly ledger check"),
    "monthly_documents": ("每月对账单", "Monthly statements"),
    "forget_login_records": ("清理过期登录记录", "Forget old login records"),
    "settlement_reminders": ("结算申请提醒", "Settlement filing reminders"),
    "confirmation_window": ("医院确认时限提醒", "Hospital confirmation window"),
    "finalize_publicity": ("公示期满确定结果", "Make results final after publicity"),
    "audit_daily_root": ("审计日根", "Daily audit root"),
    "maintain_partitions": ("分区维护", "Monthly partition upkeep"),
    "supervision_warnings": ("每日监督预警", "Daily supervision warnings"),
    # supply guarantee (供应保障, issue 18): the void job, its warning rules and messages
    "void_unshipped_lines": ("超期未配送订单行作废", "Void lines not shipped in time"),
    "order_unanswered": ("订单超时未响应", "Order not answered in time"),
    "line_out_of_stock": ("订单行缺货", "Order line out of stock"),
    "delivery_rate_low": ("配送率偏低", "Delivery rate below the floor"),
    "stock_out_marked": ("订单行已标记缺货", "Line marked out of stock"),
    "lines_voided": ("订单行已作废", "Order lines voided"),
    "supply_failure_recorded": ("已记录断供", "Supply failure recorded"),
    "backup_activated": ("备供已启用", "Backup supply activated"),
    # procurement agreements signed online (购销协议, issue 20 item 4): states and messages
    "generated": ("待签署", "Awaiting signatures"),
    "signed_by_hospital": ("医疗机构已签署", "Signed by the hospital"),
    "signed_by_enterprise": ("企业已签署", "Signed by the enterprise"),
    "signed": ("双方已签署", "Signed by both parties"),
    "terminated": ("已终止", "Terminated"),
    "agreement_generated": ("购销协议已生成，待签署", "Agreement ready to sign"),
    "agreement_to_sign": ("对方已签署购销协议，待本方签署", "The other party signed: your turn"),
    "agreement_signed": ("购销协议双方已签署", "Agreement signed by both"),
    "agreement_superseded": ("购销协议已续签", "Agreement renewed"),
    "agreement_terminated": ("购销协议已终止", "Agreement terminated"),
    # publicity period and objections (公示与异议, bidding/publicity.py)
    "proposed": ("公示中", "Proposed"),
    "final": ("已确定", "Final"),
    "void": ("已作废（被新公示取代）", "Void (superseded)"),
    "lodged": ("待答复", "Awaiting the answer"),
    "sustained": ("异议成立", "Sustained"),
    "partly_sustained": ("异议部分成立", "Partly sustained"),
    "dismissed": ("异议不成立", "Dismissed"),
    "results_proposal": ("拟中选结果公示", "Results proposed for publicity"),
    "results_final": ("中选结果公示期满，已确定", "Results final"),
    "proposal_void": ("公示已作废，将重新公示", "Proposal void, re-proposed"),
    "objection_lodged": ("收到异议", "Objection lodged"),
    "objection_answered": ("异议已答复", "Objection answered"),
    "objection_withdrawn": ("异议已撤回", "Objection withdrawn"),
}

#: Where one code means different things in different kinds of record: "EnumName.code" → words,
#: looked up before the plain code (`term` of an enum member).
QUALIFIED: dict[str, tuple[str, str]] = {
    "BatchStatus.closed": ("已结束", "Ended"),
    "ShipmentLineStatus.accepted": ("已验收", "Received"),
    "ApplicationStatus.filed": ("待医院确认", "Awaiting the hospital"),
    "ApplicationStatus.closed": ("已关闭（无应付）", "Closed (nothing to pay)"),
    "ReconStatus.closed": ("已关闭（拒单/取消）", "Closed (refused or cancelled)"),
    "InvoiceKind.normal": ("蓝字发票", "Invoice"),
    "InvoiceKind.red": ("红字发票", "Red-letter invoice"),
    "RatioKind.none": ("不比价", "No ratio"),
    "DosageFormGroup.other": ("其他剂型", "Other dosage forms"),
    "CarryOver.all": ("原中选企业均可按原中选价续约", "Every incumbent may carry over"),
    "CarryOver.none": ("原中选企业均须重新报价", "Every incumbent bids again"),
    "PriceRisk.none": ("无可比价格", "Nothing to compare"),
    "ShortageListKind.national": ("国家短缺药品清单", "National shortage list"),
    "ShortageListKind.provincial": ("省级短缺药品清单", "Provincial shortage list"),
    "AgreementStatus.superseded": ("已由续签协议替代", "Superseded by its renewal"),
    "ProposalKind.results": ("拟中选结果", "Proposed results"),
    "ProposalKind.backup": ("备供企业", "Backup enterprises"),
}


def words(value: Any) -> tuple[str, str] | None:
    """(Chinese, English) for an enum member or code: its kind's own words first (QUALIFIED)."""
    raw = str(getattr(value, "value", value))
    if isinstance(value, enum.Enum):
        found = QUALIFIED.get(f"{type(value).__name__}.{raw}")
        if found is not None:
            return found
    return TERMS.get(raw)


def term(value: Any, lang: str = "zh") -> str:
    """The word for an enum member or code in `lang` ("zh" or "en"); unknown codes as themselves."""
    raw = str(getattr(value, "value", value))
    found = words(value)
    if found is None:
        return raw
    return found[1] if lang == "en" else found[0]


def terms_of(members: Iterable[Any]) -> dict[Any, str]:
    """{member: Chinese word} for an enum (or any codes): the label tables of the domain read this."""
    return {member: term(member) for member in members}
