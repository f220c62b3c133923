"""两票制 (issue 19 item 3): upstream invoices (第一票 and further hops), their import, the seller's
decision, the bureau's supply-chain designations and the chains of delivered batches."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate
from sqlalchemy import select

from app.api.common import PAGE, paginate
from app.api.files import uploaded_table, validated_rows
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from bidding.models import Product
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.organizations import Organization
from core.spreadsheets import Column
from core.validation import BaseSchema, Ratio, Yuan
from ledger.models import InvoiceKind
from ledger.models.upstream import UpstreamInvoice, UpstreamInvoiceStatus
from ledger.reconcile import Slice
from ledger.reconcile.two_invoice import TwoInvoiceRules, chains
from ledger.services import supply_chain, upstream_invoices
from ledger.services.upstream_invoices import UpstreamLineRequest

PREFIX = ""
blp = Blueprint(
    "upstream_invoices", __name__, description="两票制与上游发票 (two-invoice rule, first invoices)"
)

NUMBER = validate.Regexp(r"^\d{8,20}$", error="8–20位数字 (8–20 digits)")
CODE = validate.Regexp(r"^\d{0,12}$", error="至多12位数字 (up to 12 digits)")


class UpstreamLineInSchema(BaseSchema):
    product_id = fields.Integer(required=True, strict=True)
    batch_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(required=True, strict=True)
    amount = Yuan(required=True)
    credited_line_id = fields.Integer(load_default=None, allow_none=True, strict=True)


class UpstreamInvoiceCreateSchema(BaseSchema):
    seller_id = fields.Integer(required=True, strict=True)
    invoice_code = fields.String(load_default="", validate=CODE)
    invoice_number = fields.String(required=True, validate=NUMBER)
    issued_on = fields.Date(required=True)
    tax_rate = Ratio(required=True)
    kind = fields.Enum(InvoiceKind, by_value=True, load_default=InvoiceKind.NORMAL)
    original_invoice_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    lines = fields.List(
        fields.Nested(UpstreamLineInSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class UpstreamLineSchema(BaseSchema):
    id = fields.Integer()
    product_id = fields.Integer()
    batch_no = fields.String()
    quantity = fields.Integer()
    amount = Yuan(attribute="amount_fen")
    credited_line_id = fields.Integer(allow_none=True)


class UpstreamInvoiceSchema(BaseSchema):
    id = fields.Integer()
    seller_id = fields.Integer()
    buyer_id = fields.Integer()
    invoice_code = fields.String()
    invoice_number = fields.String()
    issued_on = fields.Date()
    tax_rate = fields.String()
    kind = fields.Enum(InvoiceKind, by_value=True)
    original_invoice_id = fields.Integer(allow_none=True)
    status = fields.Enum(UpstreamInvoiceStatus, by_value=True)
    dispute_reason = fields.String(allow_none=True)
    total = Yuan(attribute="total_fen")
    lines = fields.List(fields.Nested(UpstreamLineSchema))


class UpstreamQuerySchema(BaseSchema):
    seller_id = fields.Integer()
    buyer_id = fields.Integer()
    status = fields.Enum(UpstreamInvoiceStatus, by_value=True)


class UpstreamDecisionSchema(BaseSchema):
    confirm = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class UpstreamFileSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "xlsx or csv"})


class UpstreamImportedSchema(BaseSchema):
    invoices = fields.Integer()
    lines = fields.Integer()


class SupplyChainRoleInSchema(BaseSchema):
    remote_township = fields.Boolean(load_default=False)
    acts_as_manufacturer_for_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    distribution_group = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))


class SupplyChainRoleSchema(BaseSchema):
    organization_id = fields.Integer()
    remote_township = fields.Boolean()
    acts_as_manufacturer_for_id = fields.Integer(allow_none=True)
    distribution_group = fields.String(allow_none=True)


class HopSchema(BaseSchema):
    seller_id = fields.Integer()
    buyer_id = fields.Integer()
    invoice_ids = fields.List(fields.Integer())
    counted = fields.Boolean()


class ChainSchema(BaseSchema):
    hospital_id = fields.Integer()
    distributor_id = fields.Integer()
    manufacturer_id = fields.Integer()
    product_id = fields.Integer()
    batch_no = fields.String()
    shipment_line_id = fields.Integer()
    order_line_id = fields.Integer()
    accepted_quantity = fields.Integer()
    accepted_on = fields.Date()
    remote = fields.Boolean()
    complete = fields.Boolean()
    invoices = fields.Integer()
    allowed = fields.Integer()
    exceeded = fields.Boolean()
    first_invoice_missing = fields.Boolean()
    hops = fields.List(fields.Nested(HopSchema))


class ChainQuerySchema(BaseSchema):
    hospital_id = fields.Integer()
    enterprise_id = fields.Integer()
    findings_only = fields.Boolean(load_default=False, metadata={"description": "only chains with a finding"})


def rules() -> TwoInvoiceRules:
    return TwoInvoiceRules(first_invoice_grace_days=current_app.config["VBP"].first_invoice_grace_days)


def chain_rows(actor: Any, where: Slice, *, findings_only: bool) -> list[dict[str, Any]]:
    today, judged = clock.business_date(clock.now()), rules()
    out = []
    for chain in chains(request_session(), actor, where, rules=judged):
        missing = chain.missing_first(today, judged)
        if findings_only and not (chain.exceeded or missing):
            continue
        out.append(
            {
                **chain.__dict__,
                "invoices": chain.invoices,
                "exceeded": chain.exceeded,
                "first_invoice_missing": missing,
            }
        )
    return out


def _requests(lines: list[dict[str, Any]]) -> list[UpstreamLineRequest]:
    return [
        UpstreamLineRequest(
            line["product_id"], line["batch_no"], line["quantity"], line["amount"], line["credited_line_id"]
        )
        for line in lines
    ]


@blp.route("/upstream-invoices", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER)
@blp.arguments(UpstreamQuerySchema, location="query")
@blp.response(200, UpstreamInvoiceSchema(many=True))
@blp.paginate(**PAGE)
def list_upstream(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Upstream invoices the caller sold or bought on (the bureau: all), newest first."""
    stmt = upstream_invoices.upstream_invoices_visible_to(current_actor()).order_by(UpstreamInvoice.id.desc())
    for key in ("seller_id", "buyer_id", "status"):
        if key in query:
            stmt = stmt.where(getattr(UpstreamInvoice, key) == query[key])
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/upstream-invoices", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@idempotent()
@blp.arguments(UpstreamInvoiceCreateSchema)
@blp.response(201, UpstreamInvoiceSchema)
def record(data: dict[str, Any]) -> Any:
    """Record an invoice the caller (the buying distributor) received: the first invoice from the
    manufacturer, or one from an upstream distributor; red-letter with `original_invoice_id`."""
    with unit_of_work() as session:
        return upstream_invoices.record_upstream_invoice(
            session,
            current_actor(),
            seller_id=data["seller_id"],
            invoice_code=data["invoice_code"],
            invoice_number=data["invoice_number"],
            issued_on=data["issued_on"],
            tax_rate=data["tax_rate"],
            lines=_requests(data["lines"]),
            kind=data["kind"],
            original_invoice_id=data["original_invoice_id"],
            now=clock.now(),
        )


@blp.route("/upstream-invoices/<int:invoice_id>", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER)
@blp.response(200, UpstreamInvoiceSchema)
def get_upstream(invoice_id: int) -> Any:
    return upstream_invoices.get_upstream_invoice(request_session(), current_actor(), invoice_id)


@blp.route("/upstream-invoices/<int:invoice_id>/decision", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(UpstreamDecisionSchema)
@blp.response(200, UpstreamInvoiceSchema)
def decide(data: dict[str, Any], invoice_id: int) -> Any:
    """The seller confirms the invoice or disputes it with a reason."""
    with unit_of_work() as session:
        return upstream_invoices.decide_upstream_invoice(
            session,
            current_actor(),
            invoice_id,
            confirm=data["confirm"],
            reason=data["reason"],
            now=clock.now(),
        )


IMPORT_COLUMNS = (
    Column("seller_uscc", ("销方统一社会信用代码", "seller_uscc")),
    Column("invoice_code", ("发票代码", "invoice_code"), required=False),
    Column("invoice_number", ("发票号码", "invoice_number")),
    Column("issued_on", ("开票日期", "issued_on")),
    Column("tax_rate", ("税率", "tax_rate")),
    Column("product_code", ("产品编码", "product_code")),
    Column("batch_no", ("批号", "batch_no")),
    Column("quantity", ("数量", "quantity")),
    Column("amount", ("金额", "amount")),
)


class ImportRowSchema(BaseSchema):
    seller_uscc = fields.String(required=True, validate=validate.Length(equal=18))
    invoice_code = fields.String(load_default="", validate=CODE)
    invoice_number = fields.String(required=True, validate=NUMBER)
    issued_on = fields.Date(required=True)
    tax_rate = Ratio(required=True)
    product_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    batch_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(required=True, validate=validate.Range(min=1))
    amount = Yuan(required=True)


@blp.route("/upstream-invoices/import", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@blp.arguments(UpstreamFileSchema, location="files")
@blp.response(201, UpstreamImportedSchema)
def import_upstream(_files: dict[str, Any]) -> Any:
    """Import first invoices (xlsx/CSV, multipart field `file`, one row per invoice line; rows of one
    seller + code + number are one invoice): all or nothing, every bad cell named (`row 7.batch_no`)."""
    errors: dict[str, list[str]] = {}
    rows = validated_rows(uploaded_table(IMPORT_COLUMNS), ImportRowSchema(), collect=errors)
    session = request_session()
    sellers = dict(
        session.execute(
            select(Organization.uscc, Organization.id).where(
                Organization.uscc.in_({r["seller_uscc"] for _, r in rows})
            )
        ).all()
    )
    products = dict(
        session.execute(
            select(Product.code, Product.id).where(Product.code.in_({r["product_code"] for _, r in rows}))
        ).all()
    )
    groups: dict[tuple[str, str, str], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for number, row in rows:
        if row["seller_uscc"] not in sellers:
            errors.setdefault(f"row {number}.seller_uscc", []).append("未知销方 (unknown seller)")
        if row["product_code"] not in products:
            errors.setdefault(f"row {number}.product_code", []).append("未知产品编码 (unknown product code)")
        groups[(row["seller_uscc"], row["invoice_code"], row["invoice_number"])].append((number, row))
    if errors:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import refused; nothing was written)", fields=errors
        )
    count = 0
    with unit_of_work() as session:
        for (uscc, code, invoice_number), group in groups.items():
            first = group[0][1]
            try:
                upstream_invoices.record_upstream_invoice(
                    session,
                    current_actor(),
                    seller_id=sellers[uscc],
                    invoice_code=code,
                    invoice_number=invoice_number,
                    issued_on=first["issued_on"],
                    tax_rate=first["tax_rate"],
                    lines=[
                        UpstreamLineRequest(
                            products[r["product_code"]], r["batch_no"], r["quantity"], r["amount"]
                        )
                        for _, r in group
                    ],
                    now=clock.now(),
                )
            except ValidationFailed as exc:
                errors.update(_row_fields(exc.fields, [n for n, _ in group]))
            count += len(group)
        if errors:
            raise ValidationFailed(
                "导入失败，未写入任何数据 (import refused; nothing was written)", fields=errors
            )
    return {"invoices": len(groups), "lines": count}


def _row_fields(found: dict[str, list[str]], numbers: list[int]) -> dict[str, list[str]]:
    """A service's `lines.2.batch_no` as the sheet's `row 9.batch_no`; invoice-level fields on the
    invoice's first row."""
    out: dict[str, list[str]] = {}
    for name, messages in found.items():
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) == 3 and parts[1].isdigit():
            out[f"row {numbers[int(parts[1])]}.{parts[2]}"] = messages
        else:
            out[f"row {numbers[0]}.{name}"] = messages
    return out


@blp.route("/organizations/<int:organization_id>/supply-chain-role", methods=["PUT"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(SupplyChainRoleInSchema)
@blp.response(200, SupplyChainRoleSchema)
def set_role(data: dict[str, Any], organization_id: int) -> Any:
    """Record an organization's two-invoice designations: a remote township or village hospital,
    the MAH a sole sales subsidiary or sole general agent acts for, a distributor's group."""
    with unit_of_work() as session:
        return supply_chain.set_role(session, current_actor(), organization_id, now=clock.now(), **data)


@blp.route("/reconciliation/two-invoice", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER)
@blp.arguments(ChainQuerySchema, location="query")
@blp.response(200, ChainSchema(many=True))
def list_chains(query: dict[str, Any]) -> Any:
    """The invoice chain of each delivered batch the caller is a party to: invoices counted, the
    limit, and the findings (too many invoices; first invoice missing after N days)."""
    where = Slice(hospital_id=query.get("hospital_id"), enterprise_id=query.get("enterprise_id"))
    return chain_rows(current_actor(), where, findings_only=query["findings_only"])
