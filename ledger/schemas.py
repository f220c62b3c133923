"""Marshmallow schemas for the order and goods flows (API, CLI and spreadsheet import)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from core.validation import (
    MULTILINE,
    PLAUSIBLE_DATE,
    PLAUSIBLE_MOMENT,
    BaseSchema,
    Month,
    Ratio,
    UnitPrice,
    Yuan,
)
from ledger.models import (
    ApplicationStatus,
    InvoiceKind,
    InvoiceLineStatus,
    ListingMode,
    ListingStatus,
    OrderLineStatus,
    OrderStatus,
    PartyDecision,
    PaymentSource,
    PurchaseCategory,
    ReconStatus,
    SettlementLineStatus,
    Urgency,
)
from ledger.money_rules import SavingsFormula
from ledger.services.ordering import REJECTION_REASONS
from ledger.trace.schemas import TraceMatchSchema, code_list

_share = validate.Range(min=0, max=1, error="须在0到1之间 (between 0 and 1)")
_region = validate.Regexp(r"^\d{6}$", error="须为6位行政区划代码 (6-digit region code)")


class ListingSchema(BaseSchema):
    id = fields.Integer()
    mode = fields.Enum(ListingMode, by_value=True)
    status = fields.Enum(ListingStatus, by_value=True)
    product_id = fields.Integer()
    generic_name = fields.String(attribute="product.generic_name")
    spec_text = fields.String(attribute="product.spec_text")
    manufacturer_id = fields.Integer()
    region_code = fields.String()
    pack_price = Yuan(attribute="pack_price_fen")
    award_id = fields.Integer(allow_none=True)
    supply_role = fields.String(allow_none=True)
    hospital_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    reference_price = Yuan(attribute="reference_price_fen", allow_none=True)
    price_flagged = fields.Boolean()
    status_reason = fields.String(allow_none=True)
    #: Four-same comparison with other provinces (ledger/supervision/prices.py), as stored.
    price_risk = fields.String(allow_none=True, metadata={"description": "red | yellow | green | none"})
    peer_lowest_price = Yuan(attribute="peer_lowest_fen", allow_none=True)
    peer_median_price = Yuan(attribute="peer_median_fen", allow_none=True)
    peer_count = fields.Integer(allow_none=True)
    price_risk_on = fields.Date(allow_none=True)
    red_line_price = Yuan(attribute="red_line_fen", allow_none=True)
    shortage = fields.Boolean()
    shortage_direct = fields.Boolean()
    #: Shown beside the price in lists (ledger/supervision/listing_facts.py, issue 18).
    credit_grade = fields.String(allow_none=True, dump_only=True)
    credit_repaired = fields.Boolean(dump_only=True)
    payment_standard = Yuan(attribute="payment_standard_fen", allow_none=True, dump_only=True)
    payment_standard_unit = UnitPrice(attribute="payment_standard_unit_e4", allow_none=True, dump_only=True)


class ListingQuerySchema(BaseSchema):
    mode = fields.Enum(ListingMode, by_value=True)
    status = fields.Enum(ListingStatus, by_value=True)
    product_id = fields.Integer()
    region_code = fields.String()


class PriceLinkedApplySchema(BaseSchema):
    product_id = fields.Integer(required=True, strict=True)
    region_code = fields.String(required=True, validate=_region)
    pack_price = Yuan(required=True)


class FiledPurchaseSchema(BaseSchema):
    product_id = fields.Integer(required=True, strict=True)
    pack_price = Yuan(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))


class ListingStatusSchema(BaseSchema):
    to = fields.Enum(ListingStatus, by_value=True, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ReferencePriceCreateSchema(BaseSchema):
    product_id = fields.Integer(required=True, strict=True)
    pack_price = Yuan(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1, max=40))
    valid_on = fields.Date(required=True)


class ReferencePriceSchema(BaseSchema):
    id = fields.Integer()
    product_id = fields.Integer()
    pack_price = Yuan(attribute="pack_price_fen")
    source = fields.String()
    valid_on = fields.Date()


class AuthorizationCreateSchema(BaseSchema):
    distributor_id = fields.Integer(required=True, strict=True)
    product_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    region_code = fields.String(required=True, validate=_region)


class AuthorizationSchema(BaseSchema):
    id = fields.Integer()
    manufacturer_id = fields.Integer()
    distributor_id = fields.Integer()
    product_id = fields.Integer(allow_none=True)
    region_code = fields.String()
    active = fields.Boolean()


class OrderLineInSchema(BaseSchema):
    listing_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=10_000_000),
        metadata={"description": "packs"},
    )


class OrderCreateSchema(BaseSchema):
    distributor_id = fields.Integer(required=True, strict=True)
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    #: Free text to the distributor: the one field that may break lines (core/text.py).
    note = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=500), metadata=MULTILINE
    )
    lines = fields.List(
        fields.Nested(OrderLineInSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class OrderRowSchema(BaseSchema):
    """One spreadsheet row of an order upload: the listing id, or the hospital's own item code
    (or a national code) resolved through its item-code mapping."""

    listing_id = fields.Integer(load_default=None)
    item_code = fields.String(load_default=None, validate=validate.Length(min=1, max=60))
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
    distributor_id = fields.Integer(required=True)
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)

    @validates_schema
    def _listing_or_item_code(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("listing_id") is None and not data.get("item_code"):
            raise ValidationError(
                "填写挂网ID或院内编码 (give the listing id or your item code)", "listing_id"
            )


class OrderLineSchema(BaseSchema):
    id = fields.Integer()
    listing_id = fields.Integer()
    product_id = fields.Integer()
    manufacturer_id = fields.Integer()
    mode = fields.Enum(ListingMode, by_value=True)
    award_id = fields.Integer(allow_none=True)
    quantity = fields.Integer()
    pack_price = Yuan(attribute="pack_price_fen")
    amount = Yuan(attribute="amount_fen")
    shipped_quantity = fields.Integer()
    accepted_quantity = fields.Integer()
    rejected_quantity = fields.Integer()
    returned_quantity = fields.Integer()
    cancelled_quantity = fields.Integer()
    status = fields.Enum(OrderLineStatus, by_value=True)


class OrderSchema(BaseSchema):
    id = fields.Integer()
    hospital_id = fields.Integer()
    distributor_id = fields.Integer()
    region_code = fields.String()
    status = fields.Enum(OrderStatus, by_value=True)
    urgency = fields.Enum(Urgency, by_value=True)
    deadline_at = fields.DateTime()
    submitted_at = fields.DateTime()
    refusal_reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    first_read_at = fields.DateTime(
        allow_none=True, metadata={"description": "首次阅读 (first read by the distributor)"}
    )
    decided_at = fields.DateTime(
        allow_none=True, metadata={"description": "接单或拒单时间 (accepted/refused at)"}
    )
    response_minutes = fields.Integer(
        allow_none=True,
        metadata={"description": "响应时间，分钟 (response time: decided − submitted, minutes)"},
    )
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderQuerySchema(BaseSchema):
    status = fields.Enum(OrderStatus, by_value=True)


class DecisionSchema(BaseSchema):
    accept = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class CancelSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    order_line_ids = fields.List(
        fields.Integer(strict=True),
        load_default=None,
        allow_none=True,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "cancel the remainder of these lines only (default: every line)"},
    )


class ShipLineSchema(BaseSchema):
    order_line_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    batch_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    expiry_on = fields.Date(required=True)


class ShipmentCreateSchema(BaseSchema):
    delivery_note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    lines = fields.List(
        fields.Nested(ShipLineSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class ShipmentLineSchema(BaseSchema):
    id = fields.Integer()
    shipment_id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = fields.Integer()
    batch_no = fields.String()
    expiry_on = fields.Date()
    accepted_quantity = fields.Integer()
    rejected_quantity = fields.Integer()
    shipped_on = fields.Date()


class ShipmentSchema(BaseSchema):
    id = fields.Integer()
    order_id = fields.Integer()
    distributor_id = fields.Integer()
    hospital_id = fields.Integer()
    shipped_at = fields.DateTime()
    delivery_note = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(ShipmentLineSchema))


class ReceiptLineCreateSchema(BaseSchema):
    accepted_quantity = fields.Integer(required=True, strict=True)
    rejected_quantity = fields.Integer(load_default=0, strict=True)
    reason_code = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REJECTION_REASONS)
    )
    accepted_on = fields.Date(load_default=None, allow_none=True)
    #: The hospital's scan of the kept packs' traceability codes (ledger/trace/matching.py).
    scanned_codes = code_list(load_default=None, allow_none=True)


class ReceiptLineSchema(BaseSchema):
    id = fields.Integer()
    shipment_line_id = fields.Integer()
    order_line_id = fields.Integer()
    accepted_quantity = fields.Integer()
    rejected_quantity = fields.Integer()
    reason_code = fields.String(allow_none=True)
    accepted_on = fields.Date()
    confirmed_at = fields.DateTime()
    #: Present on the confirmation's answer when the line carries codes or a scan was sent.
    trace_match = fields.Nested(TraceMatchSchema, allow_none=True)


class ReturnCreateSchema(BaseSchema):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))
    #: The returned packs' codes, when the line carries codes (ledger/trace/matching.py).
    trace_codes = code_list(load_default=None, allow_none=True)


class ReturnSchema(BaseSchema):
    id = fields.Integer()
    receipt_line_id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = fields.Integer()
    reason = fields.String()
    returned_on = fields.Date()


class ProgressSchema(BaseSchema):
    batch_id = fields.Integer()
    item_id = fields.Integer()
    generic_name = fields.String()
    hospital_id = fields.Integer()
    award_id = fields.Integer()
    manufacturer_id = fields.Integer()
    year_start = fields.Date(metadata={"description": "first day of the cycle year judged"})
    year_end = fields.Date(metadata={"description": "last day of the cycle year judged"})
    agreed_quantity = fields.Integer()
    accepted_quantity = fields.Integer(
        metadata={"description": "completed units: accepted net of returns in the cycle year, up to the day"}
    )
    completion_pct = fields.Decimal(as_string=True)
    time_elapsed_pct = fields.Decimal(as_string=True)
    on_track = fields.Boolean(metadata={"description": "completion ≥ time elapsed, compared exactly"})
    over_volume_quantity = fields.Integer()


class ProgressQuerySchema(BaseSchema):
    batch_id = fields.Integer()
    hospital_id = fields.Integer()
    on = fields.Date(
        validate=PLAUSIBLE_DATE,
        metadata={"description": "judge on this day, in its cycle year (default: today)"},
    )


class OffPlatformCreateSchema(BaseSchema):
    month = fields.Date(required=True, metadata={"description": "first day of the month"})
    category = fields.Enum(PurchaseCategory, by_value=True, required=True)
    amount = Yuan(required=True)


class OffPlatformSchema(BaseSchema):
    id = fields.Integer()
    hospital_id = fields.Integer()
    month = fields.Date()
    category = fields.Enum(PurchaseCategory, by_value=True)
    amount = Yuan(attribute="amount_fen")


class OrderSummarySchema(BaseSchema):
    """An order without its lines (what an upload of many lines answers with)."""

    id = fields.Integer()
    distributor_id = fields.Integer()
    status = fields.Enum(OrderStatus, by_value=True)
    urgency = fields.Enum(Urgency, by_value=True)
    deadline_at = fields.DateTime()
    line_count = fields.Integer()
    amount = Yuan(attribute="amount_fen")


class OffPlatformRowSchema(OffPlatformCreateSchema):
    """A spreadsheet row of off-platform amounts (month as YYYY-MM-01)."""


# --- money flow --------------------------------------------------------------------------------


class InvoiceLineInSchema(BaseSchema):
    receipt_line_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(
        required=True, strict=True, metadata={"description": "packs; negative on red-letter lines"}
    )
    amount = Yuan(
        required=True, metadata={"description": "quantity × the order's pack price; negative on red lines"}
    )
    credited_line_id = fields.Integer(load_default=None, allow_none=True, strict=True)


class InvoiceCreateSchema(BaseSchema):
    hospital_id = fields.Integer(required=True, strict=True)
    invoice_code = fields.String(load_default="", validate=validate.Length(max=20))
    invoice_number = fields.String(
        required=True, validate=validate.Regexp(r"^\d{8,20}$", error="8–20位数字 (8–20 digits)")
    )
    issued_on = fields.Date(required=True)
    tax_rate = Ratio(required=True)
    kind = fields.Enum(InvoiceKind, by_value=True, load_default=InvoiceKind.NORMAL)
    original_invoice_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    lines = fields.List(
        fields.Nested(InvoiceLineInSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class InvoiceLineSchema(BaseSchema):
    id = fields.Integer()
    invoice_id = fields.Integer()
    receipt_line_id = fields.Integer()
    order_line_id = fields.Integer()
    hospital_id = fields.Integer()
    enterprise_id = fields.Integer()
    credited_line_id = fields.Integer(allow_none=True)
    quantity = fields.Integer()
    pack_price = Yuan(attribute="pack_price_fen")
    amount = Yuan(attribute="amount_fen")
    status = fields.Enum(InvoiceLineStatus, by_value=True)
    dispute_reason = fields.String(allow_none=True)
    due_on = fields.Date()
    decided_at = fields.DateTime(allow_none=True)


class OverdueLineSchema(InvoiceLineSchema):
    """An overdue invoice line and its calendar days past the due date (money_rules.days_late)."""

    days_late = fields.Integer()

    def get_attribute(self, obj: Any, attr: str, default: Any) -> Any:
        # Dumped from {"line": InvoiceLine, "days_late": int}.
        if attr == "days_late":
            return obj["days_late"]
        return super().get_attribute(obj["line"], attr, default)


class InvoiceSchema(BaseSchema):
    id = fields.Integer()
    issuer_id = fields.Integer()
    hospital_id = fields.Integer()
    invoice_code = fields.String()
    invoice_number = fields.String()
    issued_on = fields.Date()
    tax_rate = fields.String()
    kind = fields.Enum(InvoiceKind, by_value=True)
    original_invoice_id = fields.Integer(allow_none=True)
    total = Yuan(attribute="total_fen")
    lines = fields.List(fields.Nested(InvoiceLineSchema))


class InvoiceDecisionSchema(BaseSchema):
    confirm = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class DisputeWithdrawalSchema(BaseSchema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class ReasonSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class RefundSchema(BaseSchema):
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    refunded_on = fields.Date(required=True, validate=PLAUSIBLE_DATE)


class CollectionCreateSchema(BaseSchema):
    amount = Yuan(required=True)
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))
    collected_on = fields.Date(required=True, validate=PLAUSIBLE_DATE)


class CollectionSchema(BaseSchema):
    id = fields.Integer()
    fund_settlement_id = fields.Integer()
    hospital_id = fields.Integer()
    amount = Yuan(attribute="amount_fen")
    bank_reference = fields.String()
    collected_on = fields.Date()


class ApplicationFileSchema(BaseSchema):
    hospital_id = fields.Integer(required=True, strict=True)
    period_month = fields.Date(required=True, metadata={"description": "first day of the settled month"})


class SettlementLineSchema(BaseSchema):
    id = fields.Integer()
    invoice_line_id = fields.Integer()
    order_line_id = fields.Integer()
    amount = Yuan(attribute="amount_fen")
    status = fields.Enum(SettlementLineStatus, by_value=True)
    dispute_reason = fields.String(allow_none=True)
    refiles_id = fields.Integer(allow_none=True)


class ApplicationSchema(BaseSchema):
    id = fields.Integer()
    enterprise_id = fields.Integer()
    hospital_id = fields.Integer()
    period_month = fields.Date()
    status = fields.Enum(ApplicationStatus, by_value=True)
    net = Yuan(attribute="net_fen")
    confirmed = Yuan(attribute="confirmed_fen")
    disputed = Yuan(attribute="disputed_fen")
    filed_late = fields.Boolean()
    confirm_by = fields.Date(
        metadata={"description": "the hospital confirms by this day (§4.3, 5 working days)"}
    )
    confirmation_overdue_at = fields.DateTime(allow_none=True)
    deemed_confirmed = fields.Boolean()
    run_id = fields.Integer(allow_none=True)
    lines = fields.List(fields.Nested(SettlementLineSchema))


class DisputeSchema(BaseSchema):
    line_id = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ApplicationConfirmSchema(BaseSchema):
    disputes = fields.List(fields.Nested(DisputeSchema), load_default=list)


class RunCreateSchema(BaseSchema):
    period_month = fields.Date(required=True)


class RunSchema(BaseSchema):
    id = fields.Integer()
    period_month = fields.Date()
    status = fields.String()
    total = Yuan(attribute="total_fen")
    approved_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)


class PaymentInSchema(BaseSchema):
    application_id = fields.Integer(required=True, strict=True)
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))


class RunPaySchema(BaseSchema):
    paid_on = fields.Date(required=True)
    source = fields.Enum(
        PaymentSource,
        by_value=True,
        load_default=PaymentSource.FUND,
        validate=validate.OneOf([PaymentSource.FUND, PaymentSource.PREPAYMENT]),
    )
    payments = fields.List(fields.Nested(PaymentInSchema), required=True, validate=validate.Length(min=1))


class SelfPaySchema(BaseSchema):
    paid_on = fields.Date(required=True)
    bank_reference = fields.String(required=True, validate=validate.Length(min=1, max=60))


class PaymentSchema(BaseSchema):
    id = fields.Integer()
    application_id = fields.Integer()
    run_id = fields.Integer(allow_none=True)
    enterprise_id = fields.Integer()
    hospital_id = fields.Integer()
    amount = Yuan(attribute="amount_fen")
    source = fields.Enum(PaymentSource, by_value=True)
    bank_reference = fields.String()
    paid_on = fields.Date()
    kind = fields.Function(lambda p: "payment" if p.amount_fen > 0 else "refund")


class FundSettlementCreateSchema(BaseSchema):
    hospital_id = fields.Integer(required=True, strict=True)
    period_month = fields.Date(required=True)
    gross = Yuan(required=True)


class FundSettlementSchema(BaseSchema):
    id = fields.Integer()
    hospital_id = fields.Integer()
    period_month = fields.Date()
    gross = Yuan(attribute="gross_fen", allow_none=True)
    deducted = Yuan(attribute="deducted_fen")
    net = Yuan(
        allow_none=True, metadata={"description": "what the fund still pays the hospital (never negative)"}
    )
    shortfall = Yuan(
        metadata={"description": "deductions beyond the gross: collected from the hospital (托收)"}
    )
    collected = Yuan(attribute="collected_fen")
    outstanding_shortfall = Yuan()


class PrepaymentCreateSchema(BaseSchema):
    hospital_id = fields.Integer(required=True, strict=True)
    year = fields.Integer(required=True, strict=True, validate=validate.Range(min=2000, max=2100))
    share = Ratio(load_default=None, allow_none=True)


class PrepaymentSchema(BaseSchema):
    id = fields.Integer()
    hospital_id = fields.Integer()
    year = fields.Integer()
    share = fields.String()
    amount = Yuan(attribute="amount_fen")
    drawn = Yuan(attribute="drawn_fen")
    cleared = Yuan(attribute="cleared_fen", allow_none=True)
    status = fields.String()


class SavingsFormulaSchema(BaseSchema):
    """结余留用 parameters (vbp-rules.md §4.4): provincial, so given with each request."""

    fund_payment_ratio = Ratio(required=True, validate=_share)
    insured_share = Ratio(required=True, validate=_share)
    retention_share = Ratio(load_default=None, allow_none=True, validate=_share)
    reduced_share_if_incomplete = Ratio(load_default=None, allow_none=True, validate=_share)


def savings_formula(values: Mapping[str, Any]) -> SavingsFormula | None:
    """The formula named by validated parameters; None when no fund ratio is given."""
    if values.get("fund_payment_ratio") is None:
        return None
    shares = {
        k: values[k] for k in ("retention_share", "reduced_share_if_incomplete") if values.get(k) is not None
    }
    return SavingsFormula(
        fund_payment_ratio=values["fund_payment_ratio"], insured_share=values["insured_share"], **shares
    )


class SavingsQuerySchema(SavingsFormulaSchema):
    hospital_id = fields.Integer(required=True)
    batch_id = fields.Integer(required=True)
    on = fields.Date(
        validate=PLAUSIBLE_DATE,
        metadata={"description": "count the cycle year containing this day up to it (default: today)"},
    )
    year_start = fields.Date(
        validate=PLAUSIBLE_DATE, metadata={"description": "or: the first day of the cycle year asked"}
    )
    year_end = fields.Date(
        validate=PLAUSIBLE_DATE, metadata={"description": "its last day (optional, checked)"}
    )


class SavingsSchema(BaseSchema):
    hospital_id = fields.Integer()
    batch_id = fields.Integer()
    year_start = fields.Date()
    year_end = fields.Date(metadata={"description": "the cycle year's last day"})
    as_of = fields.Date(metadata={"description": "counted up to and including this day"})
    agreed_units = fields.Integer()
    completed_units = fields.Integer()
    budget = Yuan(attribute="result.budget_fen")
    actual_fund_spend = Yuan(attribute="result.actual_fund_spend_fen")
    savings = Yuan(attribute="result.savings_fen")
    retained = Yuan(attribute="result.retained_fen")
    completed = fields.Boolean(attribute="result.completed")


class OverdueQuerySchema(BaseSchema):
    on = fields.Date(load_default=None, metadata={"description": "the date to judge on (default: today)"})


# --- reconciliation and statements -------------------------------------------------------------


class ReconcileQuerySchema(BaseSchema):
    hospital_id = fields.Integer()
    enterprise_id = fields.Integer(metadata={"description": "the seller: distributor or manufacturer"})
    region_prefix = fields.String(
        validate=validate.Regexp(r"^\d{2,6}$", error="须为2至6位数字的行政区划代码前缀 (region code prefix)")
    )
    ordered_from = fields.Date(validate=PLAUSIBLE_DATE)
    ordered_before = fields.Date(validate=PLAUSIBLE_DATE)
    status = fields.Enum(ReconStatus, by_value=True)
    as_of = fields.AwareDateTime(
        validate=PLAUSIBLE_MOMENT,
        metadata={"description": "the moment deadlines are judged against (default: now)"},
    )


class ReconLineSchema(BaseSchema):
    order_line_id = fields.Integer()
    order_id = fields.Integer()
    hospital_id = fields.Integer()
    distributor_id = fields.Integer()
    manufacturer_id = fields.Integer()
    region_code = fields.String()
    product_id = fields.Integer()
    ordered_on = fields.Date()
    quantity = fields.Integer()
    cancelled_quantity = fields.Integer()
    pack_price = Yuan(attribute="pack_price_fen")
    amount = Yuan(attribute="amount_fen")
    shipped = fields.Integer()
    accepted = fields.Integer()
    rejected = fields.Integer()
    returned = fields.Integer()
    invoiced_quantity = fields.Integer(attribute="inv_qty")
    invoiced = Yuan(attribute="inv_fen")
    paid = Yuan(attribute="paid_fen")
    status = fields.Enum(ReconStatus, by_value=True)
    label = fields.String()
    diff_quantity = fields.Integer(attribute="diff_qty")
    difference = Yuan(attribute="diff_fen")
    flags = fields.List(fields.Enum(ReconStatus, by_value=True))


class ReconSummarySchema(BaseSchema):
    status = fields.Enum(ReconStatus, by_value=True)
    label = fields.String()
    lines = fields.Integer()
    order_amount = Yuan(attribute="order_amount_fen")
    diff_quantity = fields.Integer(attribute="diff_qty")
    difference = Yuan(attribute="diff_fen")


class OrphanSchema(BaseSchema):
    kind = fields.String(attribute="kind.value")
    label = fields.String()
    record_type = fields.String()
    record_id = fields.Integer()
    order_line_id = fields.Integer(allow_none=True)
    diff_quantity = fields.Integer(attribute="diff_qty")
    difference = Yuan(attribute="diff_fen")
    detail = fields.String()


class RunStartSchema(BaseSchema):
    hospital_id = fields.Integer(strict=True)
    enterprise_id = fields.Integer(strict=True)
    region_prefix = fields.String(
        validate=validate.Regexp(r"^\d{2,6}$", error="须为2至6位数字的行政区划代码前缀 (region code prefix)")
    )
    ordered_from = fields.Date(validate=PLAUSIBLE_DATE)
    ordered_before = fields.Date(validate=PLAUSIBLE_DATE)
    as_of = fields.AwareDateTime(load_default=None, allow_none=True, validate=PLAUSIBLE_MOMENT)


class ReconRunSchema(BaseSchema):
    id = fields.Integer()
    as_of = fields.DateTime()
    scope = fields.Dict()
    invoice_grace_days = fields.Integer()
    line_count = fields.Integer()
    finding_count = fields.Integer()
    orphan_count = fields.Integer()
    created_at = fields.DateTime()


class FindingQuerySchema(BaseSchema):
    status = fields.Enum(ReconStatus, by_value=True)
    hospital_id = fields.Integer()
    enterprise_id = fields.Integer()


class FindingSchema(BaseSchema):
    id = fields.Integer()
    order_line_id = fields.Integer()
    hospital_id = fields.Integer()
    distributor_id = fields.Integer()
    manufacturer_id = fields.Integer()
    region_code = fields.String()
    ordered_on = fields.Date()
    status = fields.Enum(ReconStatus, by_value=True)
    amount = Yuan(attribute="amount_fen")
    diff_quantity = fields.Integer(attribute="diff_qty")
    difference = Yuan(attribute="diff_fen")


class StatementGenerateSchema(BaseSchema):
    period = Month(required=True, metadata={"description": "YYYY-MM"})
    hospital_id = fields.Integer(strict=True, load_default=None, allow_none=True)
    enterprise_id = fields.Integer(strict=True, load_default=None, allow_none=True)
    as_of = fields.AwareDateTime(load_default=None, allow_none=True, validate=PLAUSIBLE_MOMENT)


class StatementQuerySchema(BaseSchema):
    period = Month(metadata={"description": "YYYY-MM"})
    all_versions = fields.Boolean(load_default=False)


class StatementSchema(BaseSchema):
    id = fields.Integer()
    number = fields.String(attribute="payload.number")
    hospital_id = fields.Integer()
    enterprise_id = fields.Integer()
    period_month = fields.Date()
    version = fields.Integer()
    as_of = fields.DateTime()
    generated_at = fields.DateTime()
    digest = fields.String(metadata={"description": "verification code (digest of the statement's data)"})
    suite = fields.String(metadata={"description": "suite of the digest: standard (SHA-256) or sm (SM3)"})
    line_count = fields.Integer()
    order_amount = Yuan(attribute="order_amount_fen")
    invoiced = Yuan(attribute="invoiced_fen")
    paid = Yuan(attribute="paid_fen")
    discrepancy_count = fields.Integer()
    state = fields.Enum(PartyDecision, by_value=True)
    hospital_decision = fields.Enum(PartyDecision, by_value=True)
    hospital_reason = fields.String(allow_none=True)
    hospital_decided_at = fields.DateTime(allow_none=True)
    enterprise_decision = fields.Enum(PartyDecision, by_value=True)
    enterprise_reason = fields.String(allow_none=True)
    enterprise_decided_at = fields.DateTime(allow_none=True)
    hospital_resolution = fields.String(allow_none=True)
    enterprise_resolution = fields.String(allow_none=True)


class StatementDetailSchema(StatementSchema):
    lines = fields.List(fields.Dict(), attribute="payload.lines")
    totals = fields.List(fields.Dict(), attribute="payload.totals")
    discrepancies = fields.List(fields.Dict(), attribute="payload.discrepancies")


class GenerationSchema(BaseSchema):
    created = fields.List(fields.Nested(StatementSchema))
    unchanged = fields.Integer()


class StatementDecisionSchema(BaseSchema):
    confirm = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class VerificationSchema(BaseSchema):
    valid = fields.Boolean()
    number = fields.String(allow_none=True)
    period_month = fields.Date(allow_none=True)
    version = fields.Integer(allow_none=True)
    current = fields.Boolean(allow_none=True)
    state = fields.String(allow_none=True)


class IndicatorQuerySchema(BaseSchema):
    period_from = Month(required=True, metadata={"description": "first month, YYYY-MM"})
    period_to = Month(metadata={"description": "last month included, YYYY-MM (default: period_from)"})
    group_by = fields.String(
        load_default="province",
        validate=validate.OneOf(["province", "region", "hospital", "enterprise", "month"]),
    )
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx", "pdf"]))
    as_of = fields.Date(
        metadata={"description": "judge agreed-volume progress on this date (default: today)"}
    )
    fund_payment_ratio = Ratio(
        validate=_share,
        metadata={
            "description": "with insured_share: add retained savings (结余留用, §4.4) with this formula"
        },
    )
    insured_share = Ratio(validate=_share)
    retention_share = Ratio(load_default=None, allow_none=True, validate=_share)
    reduced_share_if_incomplete = Ratio(load_default=None, allow_none=True, validate=_share)

    @validates_schema
    def _formula_whole(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("fund_payment_ratio") is None) != (data.get("insured_share") is None):
            missing = "insured_share" if data.get("insured_share") is None else "fund_payment_ratio"
            raise ValidationError(
                {missing: ["结余留用须同时给出基金支付比例和参保人员占比 (give both ratios)"]}
            )


class ItemCodeSchema(BaseSchema):
    """A hospital item-code mapping (院内编码对照), as GET /item-codes and the sync feed show it."""

    id = fields.Integer()
    hospital_id = fields.Integer()
    item_code = fields.String()
    item_name = fields.String(allow_none=True)
    product_id = fields.Integer()
    product_code = fields.Function(lambda row: row.product.code)
    national_code = fields.Function(lambda row: row.product.national_code)
    generic_name = fields.Function(lambda row: row.product.generic_name)
    live = fields.Boolean()
    supersedes_id = fields.Integer(allow_none=True)
    created_at = fields.AwareDateTime()
    created_by = fields.Integer(allow_none=True)
