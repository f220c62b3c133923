"""Invoices (发票): recorded by the distributor against accepted receipt lines, confirmed or
disputed by the hospital line by line; confirmation posts the purchase to the journal.

Checks (vbp-rules.md §5): invoiced quantity ≤ accepted − returned − already invoiced (net of
red-letter lines); amount = quantity × the order line's frozen pack price, to the fen; an issuer's
invoice number is used once; red-letter lines credit a line of the invoice they correct.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.money import fen_to_str
from ledger import flows, journal, states
from ledger.figures import invoice_line_clock
from ledger.models import (
    AccountPurpose,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineStatus,
    OrderLine,
    ReceiptLine,
    ReturnLine,
    ReturnStatus,
)
from ledger.money_rules import PaymentTerms, due_date
from ledger.scoping import party_scope
from ledger.services import upstream_invoices

#: Lines a red-letter line may credit. A credit of a posted line is confirmed and posted in turn; a
#: credit of an unposted line waits for that line's confirmation, and credits covering all of an
#: unposted line correct it (neither is ever posted).
CREDITABLE = (InvoiceLineStatus.CONFIRMED, InvoiceLineStatus.PENDING, InvoiceLineStatus.DISPUTED)
UNPOSTED = (InvoiceLineStatus.PENDING, InvoiceLineStatus.DISPUTED)


@dataclass(frozen=True)
class InvoiceLineRequest:
    receipt_line_id: int
    quantity: int
    amount_fen: int
    #: Red-letter lines: the invoice line being credited.
    credited_line_id: int | None = None


def invoice_lines_visible_to(actor: Actor) -> Select[tuple[InvoiceLine]]:
    """The hospital's payables, the issuing enterprise's receivables, all for the bureau."""
    return party_scope(
        select(InvoiceLine), actor, hospital=InvoiceLine.hospital_id, distributor=InvoiceLine.enterprise_id
    )


def invoices_visible_to(actor: Actor) -> Select[tuple[Invoice]]:
    return party_scope(select(Invoice), actor, hospital=Invoice.hospital_id, distributor=Invoice.issuer_id)


def record_invoice(
    session: Session,
    actor: Actor,
    *,
    hospital_id: int,
    invoice_code: str,
    invoice_number: str,
    issued_on: date,
    tax_rate: Decimal,
    lines: Sequence[InvoiceLineRequest],
    now: datetime,
    terms: PaymentTerms | None = None,
    kind: InvoiceKind = InvoiceKind.NORMAL,
    original_invoice_id: int | None = None,
) -> Invoice:
    """Record a (blue or red-letter) invoice; all lines or none, each bad line named."""
    if actor.org_kind is not OrgKind.DISTRIBUTOR or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅配送企业可开具发票 (distributors only)")
    terms = terms or PaymentTerms()
    if not lines:
        raise ValidationFailed(fields={"lines": ["至少一行 (at least one line)"]})
    if issued_on > clock.business_date(now):
        raise ValidationFailed(fields={"issued_on": ["开票日期不能晚于今天 (not in the future)"]})
    if not (Decimal(0) <= tax_rate < Decimal(1)):
        raise ValidationFailed(fields={"tax_rate": ["税率须在0到1之间 (between 0 and 1, e.g. 0.13)"]})
    duplicate = session.scalar(
        select(func.count()).where(
            Invoice.issuer_id == actor.org_id,
            Invoice.invoice_code == invoice_code,
            Invoice.invoice_number == invoice_number,
        )
    )
    if duplicate:
        raise Conflict(
            "发票号码重复 (duplicate invoice number from this issuer)",
            code="duplicate_invoice",
            fields={"invoice_number": ["已登记 (already recorded)"]},
        )
    original = None
    if kind is InvoiceKind.RED:
        original = session.scalars(
            invoices_visible_to(actor).where(
                Invoice.id == (original_invoice_id or 0), Invoice.kind == InvoiceKind.NORMAL
            )
        ).first()
        if original is None:
            raise ValidationFailed(
                fields={"original_invoice_id": ["红字发票须指向本企业的原蓝字发票 (original invoice)"]}
            )
    receipt_ids = {line.receipt_line_id for line in lines}
    receipts = {
        r.id: r
        for r in session.scalars(select(ReceiptLine).where(ReceiptLine.id.in_(receipt_ids)).with_for_update())
    }
    prices = dict(
        session.execute(
            select(OrderLine.id, OrderLine.pack_price_fen).where(
                OrderLine.id.in_({r.order_line_id for r in receipts.values()})
            )
        ).all()
    )
    invoiced = flows.invoiced_quantity(session, receipt_ids)
    returned = flows.returned_quantity(session, receipt_ids)
    credited = {
        c.id: c
        for c in session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.id.in_({line.credited_line_id for line in lines if line.credited_line_id}))
            .with_for_update()
        )
    }
    # Credit already taken from each credited line: every credit that was not voided (a pending
    # credit reserves its quantity until it is confirmed or voided).
    credits_so_far = dict(
        session.execute(
            select(InvoiceLine.credited_line_id, func.sum(InvoiceLine.quantity))
            .where(
                InvoiceLine.credited_line_id.in_(set(credited)),
                InvoiceLine.status != InvoiceLineStatus.VOIDED,
            )
            .group_by(InvoiceLine.credited_line_id)
        ).all()
    )
    credit_asked: dict[int, int] = defaultdict(int)
    errors: dict[str, list[str]] = {}
    asked: dict[int, int] = defaultdict(int)
    for i, req in enumerate(lines):
        receipt = receipts.get(req.receipt_line_id)
        if receipt is None or receipt.hospital_id != hospital_id or receipt.distributor_id != actor.org_id:
            errors[f"lines.{i}.receipt_line_id"] = [
                "不是本企业配送给该医院的验收记录 (not your accepted delivery to this hospital)"
            ]
            continue
        price = prices[receipt.order_line_id]
        if req.amount_fen != req.quantity * price:
            errors[f"lines.{i}.amount"] = [
                f"金额须等于数量 × 订单价格 = {fen_to_str(req.quantity * price)} "
                "(amount must be quantity × the frozen price)"
            ]
        if kind is InvoiceKind.NORMAL:
            asked[receipt.id] += req.quantity
            open_qty = receipt.accepted_quantity - returned.get(receipt.id, 0) - invoiced.get(receipt.id, 0)
            if req.quantity <= 0:
                errors[f"lines.{i}.quantity"] = ["须大于0 (must be positive)"]
            elif asked[receipt.id] > open_qty:
                errors[f"lines.{i}.quantity"] = [
                    f"超过可开票数量 {open_qty} (accepted − returned − invoiced)"
                ]
        else:
            target = credited.get(req.credited_line_id or 0)
            if (
                target is None
                or original is None
                or target.invoice_id != original.id
                or target.receipt_line_id != receipt.id
            ):
                errors[f"lines.{i}.credited_line_id"] = [
                    "须为原发票中同一验收记录的行 (a line of the original invoice)"
                ]
                continue
            if target.status not in CREDITABLE:
                errors[f"lines.{i}.credited_line_id"] = [
                    f"原行已{states.INVOICE_LINE.label(target.status)}，不能再冲红 "
                    f"(a {target.status.value} line cannot be credited)"
                ]
                continue
            credit_asked[target.id] += -req.quantity
            remaining = target.quantity + int(credits_so_far.get(target.id, 0))
            if req.quantity >= 0 or credit_asked[target.id] > remaining:
                errors[f"lines.{i}.quantity"] = [f"红字数量须为负数，且不超过原行未冲数量 {remaining}"]

    if errors:
        raise ValidationFailed(
            "发票有误，未写入任何数据 (invoice rejected; nothing was written)", fields=errors
        )
    invoice = Invoice(
        issuer_id=actor.org_id,
        hospital_id=hospital_id,
        invoice_code=invoice_code,
        invoice_number=invoice_number,
        issued_on=issued_on,
        tax_rate=str(tax_rate),
        kind=kind,
        original_invoice_id=original.id if original else None,
        total_fen=sum(line.amount_fen for line in lines),
        created_at=now,
    )
    session.add(invoice)
    session.flush()
    for req in lines:
        receipt = receipts[req.receipt_line_id]
        session.add(
            InvoiceLine(
                invoice_id=invoice.id,
                receipt_line_id=receipt.id,
                order_line_id=receipt.order_line_id,
                hospital_id=hospital_id,
                enterprise_id=actor.org_id,
                credited_line_id=req.credited_line_id,
                quantity=req.quantity,
                pack_price_fen=prices[receipt.order_line_id],
                amount_fen=req.amount_fen,
                status=InvoiceLineStatus.PENDING,
                due_on=due_date(receipt.accepted_on, terms),
            )
        )
    session.flush()
    corrected = _correct_fully_credited(session, [t for t in credited.values() if t.status in UNPOSTED], now)
    _credit_returns(session, set(receipts))
    if kind is InvoiceKind.NORMAL:  # 两票制: link the lines to the first invoices already recorded
        upstream_invoices.link_invoice_lines(session, invoice_ids=[invoice.id], now=now)
    audit.record(
        session,
        actor,
        "invoice.record",
        subject_type="invoice",
        subject_id=invoice.id,
        subject_org_id=hospital_id,
        after={
            "number": f"{invoice_code}-{invoice_number}",
            "kind": kind,
            "total_fen": invoice.total_fen,
            "lines": len(lines),
            "corrected_lines": corrected,
        },
        now=now,
    )
    return invoice


def _posting_accounts(session: Session, line: InvoiceLine, now: datetime) -> dict[AccountPurpose, Any]:
    return {
        purpose: journal.account(session, purpose, party, now=now)
        for purpose, party in (
            (AccountPurpose.HOSPITAL_PURCHASES, line.hospital_id),
            (AccountPurpose.HOSPITAL_PAYABLE, line.hospital_id),
            (AccountPurpose.ENTERPRISE_RECEIVABLE, line.enterprise_id),
            (AccountPurpose.ENTERPRISE_SALES, line.enterprise_id),
        )
    }


def _post_confirmation(session: Session, line: InvoiceLine, now: datetime) -> None:
    """Post a confirmed line: Dr hospital purchases / Cr hospital payable and Dr enterprise
    receivable / Cr enterprise sales (a red-letter line posts the same legs negative)."""
    amount, accounts = line.amount_fen, _posting_accounts(session, line, now)
    journal.post(
        session,
        business_key=f"invoice_line_confirmed:{line.id}",
        kind="invoice_confirmed" if amount > 0 else "credit_confirmed",
        description=f"发票明细 {line.id} 确认",
        occurred_on=clock.business_date(now),
        now=now,
        legs=[
            journal.Leg(accounts[AccountPurpose.HOSPITAL_PURCHASES], amount, line.order_line_id),
            journal.Leg(accounts[AccountPurpose.HOSPITAL_PAYABLE], -amount, line.order_line_id),
            journal.Leg(accounts[AccountPurpose.ENTERPRISE_RECEIVABLE], amount, line.order_line_id),
            journal.Leg(accounts[AccountPurpose.ENTERPRISE_SALES], -amount, line.order_line_id),
        ],
    )


def _party_line(session: Session, actor: Actor, line_id: int, kind: OrgKind, refusal: str) -> InvoiceLine:
    """The invoice line, locked, if the actor is a writer of the party `kind` that sees it."""
    if actor.org_kind is not kind or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied(refusal)
    line = session.scalars(
        invoice_lines_visible_to(actor).where(InvoiceLine.id == line_id).with_for_update()
    ).first()
    if line is None:
        raise NotFound("发票明细不存在 (invoice line not found)")
    return line


def _hospital_line(session: Session, actor: Actor, line_id: int) -> InvoiceLine:
    return _party_line(session, actor, line_id, OrgKind.HOSPITAL, "仅医疗机构可确认发票 (hospitals only)")


def decide_invoice_line(
    session: Session, actor: Actor, line_id: int, *, confirm: bool, reason: str | None, now: datetime
) -> InvoiceLine:
    """The hospital confirms a pending invoice line (posting it) or disputes it with a reason."""
    line = _hospital_line(session, actor, line_id)
    if not confirm and not (reason and reason.strip()):
        raise ValidationFailed(fields={"reason": ["有异议须说明原因 (a dispute needs a reason)"]})
    if line.status is not InvoiceLineStatus.PENDING:
        raise InvalidState(
            f"发票明细已{states.INVOICE_LINE.label(line.status)} (already {line.status.value})",
            code="illegal_transition",
        )
    if confirm:
        _require_posted_original(session, line)
    states.INVOICE_LINE.move(line, InvoiceLineStatus.CONFIRMED if confirm else InvoiceLineStatus.DISPUTED)
    line.dispute_reason, line.decided_at = (None if confirm else reason), now
    if confirm:
        _post_confirmation(session, line, now)
        _credit_returns(session, {line.receipt_line_id})
    session.flush()
    audit.record(
        session,
        actor,
        "invoice_line.confirm" if confirm else "invoice_line.dispute",
        subject_type="invoice_line",
        subject_id=line.id,
        subject_org_id=line.hospital_id,
        after={"status": line.status, "reason": reason},
        now=now,
    )
    return line


def withdraw_dispute(
    session: Session, actor: Actor, line_id: int, *, note: str | None, now: datetime
) -> InvoiceLine:
    """The hospital withdraws its dispute of an invoice line: the line is confirmed and posted."""
    line = _hospital_line(session, actor, line_id)
    if line.status is not InvoiceLineStatus.DISPUTED:
        raise InvalidState(
            f"发票明细{states.INVOICE_LINE.label(line.status)}，没有可撤回的异议 (no dispute to withdraw)",
            code="illegal_transition",
        )
    before = line.dispute_reason
    _require_posted_original(session, line)
    states.INVOICE_LINE.move(line, InvoiceLineStatus.CONFIRMED)
    line.decided_at = now
    _post_confirmation(session, line, now)
    _credit_returns(session, {line.receipt_line_id})
    session.flush()
    audit.record(
        session,
        actor,
        "invoice_line.withdraw_dispute",
        subject_type="invoice_line",
        subject_id=line.id,
        subject_org_id=line.hospital_id,
        before={"status": "disputed", "reason": before},
        after={"status": line.status, "note": note},
        now=now,
    )
    return line


def void_credit(session: Session, actor: Actor, line_id: int, *, reason: str, now: datetime) -> InvoiceLine:
    """The issuer withdraws a red-letter line the hospital has not confirmed (作废); nothing was
    posted for it, and the credited line's quantity is free to be credited again."""
    line = _party_line(
        session, actor, line_id, OrgKind.DISTRIBUTOR, "仅开票企业可作废红字发票 (the issuer only)"
    )
    if line.quantity > 0:
        raise InvalidState(
            "蓝字发票不能作废，须开具红字发票更正 (a blue line is corrected by a red-letter line)",
            code="illegal_transition",
        )
    if not (reason and reason.strip()):
        raise ValidationFailed(fields={"reason": ["须说明原因 (a reason is required)"]})
    states.INVOICE_LINE.move(line, InvoiceLineStatus.VOIDED)
    line.decided_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "invoice_line.void_credit",
        subject_type="invoice_line",
        subject_id=line.id,
        subject_org_id=line.hospital_id,
        after={"status": line.status, "reason": reason},
        now=now,
    )
    return line


def _correct_fully_credited(session: Session, targets: Sequence[InvoiceLine], now: datetime) -> list[int]:
    """An unposted line (pending or disputed) whose credits cover all of it is corrected, with its
    credits: none of them is ever posted (three-flows.md: "the disputed line ends as corrected;
    nothing is posted twice or posted negative that was never posted")."""
    corrected: list[int] = []
    for target in targets:
        credits = session.scalars(
            select(InvoiceLine)
            .where(InvoiceLine.credited_line_id == target.id, InvoiceLine.status != InvoiceLineStatus.VOIDED)
            .with_for_update()
        ).all()
        if target.quantity + sum(c.quantity for c in credits) != 0:
            continue
        for line in (target, *credits):
            states.INVOICE_LINE.move(line, InvoiceLineStatus.CORRECTED)
            line.decided_at = now
        corrected.append(target.id)
    _end_disputed_settlements(session, corrected)
    return corrected


def _require_posted_original(session: Session, line: InvoiceLine) -> None:
    """A credit is posted only against a line that was posted."""
    if line.credited_line_id is None:
        return
    original = session.get_one(InvoiceLine, line.credited_line_id)
    if original.status is not InvoiceLineStatus.CONFIRMED:
        raise InvalidState(
            f"原发票行{states.INVOICE_LINE.label(original.status)}，须先确认原发票行 "
            "(confirm the credited line first; a credit is posted only against a posted line)",
            code="original_not_confirmed",
        )


def _end_disputed_settlements(session: Session, invoice_line_ids: Sequence[int]) -> None:
    """A disputed settlement line whose invoice line was corrected has found its way out."""
    from ledger.models import SettlementLine, SettlementLineStatus

    if not invoice_line_ids:
        return
    for settlement_line in session.scalars(
        select(SettlementLine)
        .where(
            SettlementLine.invoice_line_id.in_(list(invoice_line_ids)),
            SettlementLine.status == SettlementLineStatus.DISPUTED,
        )
        .with_for_update()
    ):
        states.SETTLEMENT_LINE.move(settlement_line, SettlementLineStatus.CORRECTED)


def _credit_returns(session: Session, receipt_ids: set[int]) -> None:
    """Returns awaiting a credit are credited once the receipt is invoiced no more than it kept."""
    waiting = session.scalars(
        select(ReturnLine)
        .where(ReturnLine.receipt_line_id.in_(receipt_ids), ReturnLine.status == ReturnStatus.AWAITING_CREDIT)
        .with_for_update()
    ).all()
    if not waiting:
        return
    ids = {r.receipt_line_id for r in waiting}
    invoiced = flows.invoiced_quantity(session, ids)
    returned = flows.returned_quantity(session, ids)
    accepted = dict(
        session.execute(
            select(ReceiptLine.id, ReceiptLine.accepted_quantity).where(ReceiptLine.id.in_(ids))
        ).all()
    )
    for ret in waiting:
        receipt = ret.receipt_line_id
        if invoiced.get(receipt, 0) <= accepted[receipt] - returned.get(receipt, 0):
            states.RETURN.move(ret, ReturnStatus.CREDITED)


def overdue_lines(session: Session, actor: Actor, *, on: date) -> list[InvoiceLine]:
    """Invoice lines overdue on `on` by the one payment clock (ledger.figures.payments): payable
    (pending or confirmed, something left after credits, no open dispute), unpaid on that day, and
    the day strictly after the due date. Disputed lines wait for their resolution."""
    clock_ = invoice_line_clock(on, lines=[InvoiceLine.due_on < on, InvoiceLine.amount_fen > 0])
    return list(
        session.scalars(
            invoice_lines_visible_to(actor)
            .join(clock_, clock_.c.id == InvoiceLine.id)
            .where(clock_.c.overdue == 1)
            .order_by(InvoiceLine.due_on, InvoiceLine.id)
        )
    )
