"""Upstream invoices (第一票 and any further hop, vbp-rules.md §5): recorded by the buying distributor,
which holds the paper, and confirmed or disputed by the seller (manufacturer or upstream
distributor). A correction is a red-letter upstream invoice pointing at the original.

Recording links each line to the second-invoice lines (distributor → hospital) of the same product
and batch issued by the buyer (`link_invoice_lines`); the same function links a second invoice
recorded later, and can be rerun at any time (it only adds what is missing).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, and_, exists, func, insert, literal, or_, select
from sqlalchemy.orm import Session

from bidding.models import Product
from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.organizations import Organization
from ledger import states
from ledger.models import InvoiceKind, InvoiceLine, OrderLine, ReceiptLine, ShipmentLine
from ledger.models.upstream import (
    InvoiceLineSource,
    SupplyChainRole,
    UpstreamInvoice,
    UpstreamInvoiceLine,
    UpstreamInvoiceStatus,
)

WRITERS = (Role.ADMIN, Role.OPERATOR)


@dataclass(frozen=True)
class UpstreamLineRequest:
    product_id: int
    batch_no: str
    quantity: int
    amount_fen: int
    #: Red-letter lines: the line of the original invoice being credited.
    credited_line_id: int | None = None


def upstream_invoices_visible_to(actor: Actor) -> Select[tuple[UpstreamInvoice]]:
    """The seller's and the buyer's invoices; all of them for the bureau."""
    stmt = select(UpstreamInvoice)
    if actor.is_bureau:
        return stmt
    return stmt.where(
        or_(UpstreamInvoice.seller_id == actor.org_id, UpstreamInvoice.buyer_id == actor.org_id)
    )


def get_upstream_invoice(session: Session, actor: Actor, invoice_id: int) -> UpstreamInvoice:
    found = session.scalars(
        upstream_invoices_visible_to(actor).where(UpstreamInvoice.id == invoice_id)
    ).first()
    if found is None:
        raise NotFound("未找到上游发票 (upstream invoice not found)")
    return found


def record_upstream_invoice(
    session: Session,
    actor: Actor,
    *,
    seller_id: int,
    invoice_code: str,
    invoice_number: str,
    issued_on: date,
    tax_rate: Decimal,
    lines: Sequence[UpstreamLineRequest],
    now: datetime,
    kind: InvoiceKind = InvoiceKind.NORMAL,
    original_invoice_id: int | None = None,
) -> UpstreamInvoice:
    """Record an invoice the actor's distributor bought on; all lines or none, each bad line named."""
    if actor.org_kind is not OrgKind.DISTRIBUTOR or actor.role not in WRITERS:
        raise PermissionDenied("仅购进的配送企业可登记上游发票 (the buying distributor records it)")
    seller = session.get(Organization, seller_id)
    if (
        seller is None
        or seller.kind not in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
        or seller.id == actor.org_id
    ):
        raise ValidationFailed(
            fields={"seller_id": ["销方须为另一生产或配送企业 (another manufacturer or distributor)"]}
        )
    if not lines:
        raise ValidationFailed(fields={"lines": ["至少一行 (at least one line)"]})
    if issued_on > clock.business_date(now):
        raise ValidationFailed(fields={"issued_on": ["开票日期不能晚于今天 (not in the future)"]})
    if not (Decimal(0) <= tax_rate < Decimal(1)):
        raise ValidationFailed(fields={"tax_rate": ["税率须在0到1之间 (between 0 and 1, e.g. 0.13)"]})
    taken = session.scalar(
        select(func.count()).where(
            UpstreamInvoice.seller_id == seller_id,
            UpstreamInvoice.invoice_code == invoice_code,
            UpstreamInvoice.invoice_number == invoice_number,
        )
    )
    if taken:
        raise Conflict(
            "该销方的发票号码已登记 (this seller's invoice number is already recorded)",
            code="duplicate_invoice",
            fields={"invoice_number": ["已登记 (already recorded)"]},
        )
    original = None
    if kind is InvoiceKind.RED:
        original = session.scalars(
            upstream_invoices_visible_to(actor).where(
                UpstreamInvoice.id == (original_invoice_id or 0),
                UpstreamInvoice.kind == InvoiceKind.NORMAL,
                UpstreamInvoice.buyer_id == actor.org_id,
                UpstreamInvoice.seller_id == seller_id,
            )
        ).first()
        if original is None:
            raise ValidationFailed(
                fields={
                    "original_invoice_id": ["红字发票须指向同一销方开给本企业的蓝字发票 (original invoice)"]
                }
            )
    errors = _check_lines(session, seller, actor, lines, kind, original)
    if errors:
        raise ValidationFailed(fields=errors)
    invoice = UpstreamInvoice(
        seller_id=seller_id,
        buyer_id=actor.org_id,
        invoice_code=invoice_code,
        invoice_number=invoice_number,
        issued_on=issued_on,
        tax_rate=str(tax_rate),
        kind=kind,
        original_invoice_id=original.id if original else None,
        status=UpstreamInvoiceStatus.RECORDED,
        total_fen=sum(line.amount_fen for line in lines),
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(invoice)
    session.flush()
    for req in lines:
        session.add(
            UpstreamInvoiceLine(
                invoice_id=invoice.id,
                seller_id=seller_id,
                buyer_id=actor.org_id,
                product_id=req.product_id,
                batch_no=req.batch_no,
                quantity=req.quantity,
                amount_fen=req.amount_fen,
                credited_line_id=req.credited_line_id,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "upstream_invoice.record",
        subject_type="upstream_invoice",
        subject_id=invoice.id,
        subject_org_id=seller_id,
        after={
            "seller_id": seller_id,
            "number": f"{invoice_code}{invoice_number}",
            "kind": kind.value,
            "lines": len(lines),
            "total_fen": invoice.total_fen,
        },
        now=now,
    )
    if kind is InvoiceKind.NORMAL:
        link_invoice_lines(session, upstream_invoice_ids=[invoice.id], now=now)
    return invoice


def _check_lines(
    session: Session,
    seller: Organization,
    actor: Actor,
    lines: Sequence[UpstreamLineRequest],
    kind: InvoiceKind,
    original: UpstreamInvoice | None,
) -> dict[str, list[str]]:
    products = {
        p.id: p
        for p in session.scalars(select(Product).where(Product.id.in_({line.product_id for line in lines})))
    }
    # A manufacturer sells its own products, or those of the MAH it acts for (vbp-rules.md §5).
    acts_for = session.scalar(
        select(SupplyChainRole.acts_as_manufacturer_for_id).where(
            SupplyChainRole.organization_id == seller.id
        )
    )
    credited = {
        line.id: line
        for line in session.scalars(
            select(UpstreamInvoiceLine).where(
                UpstreamInvoiceLine.id.in_({line.credited_line_id for line in lines if line.credited_line_id})
            )
        )
    }
    credits_so_far = dict(
        session.execute(
            select(UpstreamInvoiceLine.credited_line_id, func.sum(UpstreamInvoiceLine.quantity))
            .where(UpstreamInvoiceLine.credited_line_id.in_(set(credited)))
            .group_by(UpstreamInvoiceLine.credited_line_id)
        ).all()
    )
    asked: dict[int, int] = defaultdict(int)
    errors: dict[str, list[str]] = {}
    for i, req in enumerate(lines):
        product = products.get(req.product_id)
        if product is None:
            errors[f"lines.{i}.product_id"] = ["未知产品 (unknown product)"]
            continue
        if seller.kind is OrgKind.MANUFACTURER and product.mah_id not in (seller.id, acts_for):
            errors[f"lines.{i}.product_id"] = [
                "销方不是该产品的上市许可持有人 (the seller is not this product's MAH)"
            ]
        if not req.batch_no.strip() or len(req.batch_no) > 40:
            errors[f"lines.{i}.batch_no"] = ["批号必填，至多40字符 (batch number, at most 40 characters)"]
        if kind is InvoiceKind.NORMAL:
            if req.quantity <= 0 or req.amount_fen <= 0:
                errors[f"lines.{i}.quantity"] = ["数量和金额须大于0 (quantity and amount must be positive)"]
            continue
        target = credited.get(req.credited_line_id or 0)
        if (
            target is None
            or original is None
            or target.invoice_id != original.id
            or (target.product_id, target.batch_no) != (req.product_id, req.batch_no)
        ):
            errors[f"lines.{i}.credited_line_id"] = [
                "须为原发票中同一产品和批号的行 (a line of the original invoice)"
            ]
            continue
        asked[target.id] += -req.quantity
        remaining = target.quantity + int(credits_so_far.get(target.id, 0))
        if req.quantity >= 0 or req.amount_fen >= 0 or asked[target.id] > remaining:
            errors[f"lines.{i}.quantity"] = [f"红字数量和金额须为负数，且不超过原行未冲数量 {remaining}"]
    return errors


def decide_upstream_invoice(
    session: Session, actor: Actor, invoice_id: int, *, confirm: bool, reason: str | None, now: datetime
) -> UpstreamInvoice:
    """The seller confirms the invoice, or disputes it with a reason (a disputed invoice counts as
    no hop and links nothing until the seller confirms it after all)."""
    invoice = get_upstream_invoice(session, actor, invoice_id)
    if invoice.seller_id != actor.org_id or actor.role not in WRITERS:
        raise PermissionDenied("仅销方可确认或提出异议 (the seller decides)")
    if not confirm and not (reason or "").strip():
        raise ValidationFailed(fields={"reason": ["提出异议须说明理由 (a dispute needs a reason)"]})
    before = invoice.status
    target = UpstreamInvoiceStatus.CONFIRMED if confirm else UpstreamInvoiceStatus.DISPUTED
    states.UPSTREAM_INVOICE.move(invoice, target)
    invoice.dispute_reason = None if confirm else reason
    invoice.decided_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "upstream_invoice.confirm" if confirm else "upstream_invoice.dispute",
        subject_type="upstream_invoice",
        subject_id=invoice.id,
        subject_org_id=invoice.buyer_id,
        before={"status": before.value},
        after={"status": invoice.status.value, "reason": invoice.dispute_reason},
        now=now,
    )
    return invoice


def link_invoice_lines(
    session: Session,
    *,
    now: datetime,
    upstream_invoice_ids: Iterable[int] | None = None,
    invoice_ids: Iterable[int] | None = None,
) -> int:
    """Link second-invoice lines to the blue upstream lines of the same product and batch bought by
    their issuer; only missing links are added (set-based, one statement). Returns the number added."""
    up, il = UpstreamInvoiceLine, InvoiceLine
    pairs = (
        select(il.id, up.id, literal(now))
        .select_from(il)
        .join(ReceiptLine, ReceiptLine.id == il.receipt_line_id)
        .join(ShipmentLine, ShipmentLine.id == ReceiptLine.shipment_line_id)
        .join(OrderLine, OrderLine.id == il.order_line_id)
        .join(
            up,
            and_(
                up.buyer_id == il.enterprise_id,
                up.product_id == OrderLine.product_id,
                up.batch_no == ShipmentLine.batch_no,
            ),
        )
        .where(
            il.quantity > 0,
            up.quantity > 0,
            ~exists().where(
                InvoiceLineSource.invoice_line_id == il.id, InvoiceLineSource.upstream_line_id == up.id
            ),
        )
    )
    if upstream_invoice_ids is not None:
        pairs = pairs.where(up.invoice_id.in_(list(upstream_invoice_ids)))
    if invoice_ids is not None:
        pairs = pairs.where(il.invoice_id.in_(list(invoice_ids)))
    added = session.execute(
        insert(InvoiceLineSource)
        .from_select(["invoice_line_id", "upstream_line_id", "created_at"], pairs)
        .returning(InvoiceLineSource.id)
    ).all()
    return len(added)  # RETURNING, not rowcount: psycopg reports -1 for an INSERT … SELECT here


def sources_of(session: Session, invoice_line_ids: Sequence[int]) -> dict[int, list[UpstreamInvoiceLine]]:
    """The linked upstream lines of each second-invoice line."""
    out: dict[int, list[UpstreamInvoiceLine]] = defaultdict(list)
    for link, line in session.execute(
        select(InvoiceLineSource.invoice_line_id, UpstreamInvoiceLine)
        .join(UpstreamInvoiceLine, UpstreamInvoiceLine.id == InvoiceLineSource.upstream_line_id)
        .where(InvoiceLineSource.invoice_line_id.in_(invoice_line_ids))
        .order_by(UpstreamInvoiceLine.id)
    ):
        out[link].append(line)
    return out
