"""What counts in each flow, written once: which invoice lines are "invoiced", which settlement
lines hold their invoice line, which credits are final. Services, reconciliation and the journal
check all read these definitions (three-flows.md, "Corrections and their exits").
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ledger.models import InvoiceLine, InvoiceLineStatus, ReturnLine

#: Red-letter credits count once they are final: confirmed by the hospital (posted), or applied
#: at once to an unposted line (corrected). A pending or disputed credit may still be voided.
FINAL_CREDIT = (InvoiceLineStatus.CONFIRMED, InvoiceLineStatus.CORRECTED)


def issued(line: type[InvoiceLine] | object = InvoiceLine) -> ColumnElement[bool]:
    """Invoice lines the reconciliation counts as invoiced: every line issued and not voided
    (pending and disputed ones included, like a pending blue line; a corrected pair nets to 0)."""
    return line.status != InvoiceLineStatus.VOIDED  # type: ignore[attr-defined,no-any-return]


def counts_as_invoiced(line: type[InvoiceLine] | object = InvoiceLine) -> ColumnElement[bool]:
    """Invoice lines that use up a receipt's invoiceable packs: every blue line (a corrected one is
    netted by its red-letter twin) and every final red-letter credit. Stricter than `issued`: a
    pending credit may still be voided, so it frees nothing until it is final."""
    il = line
    return and_(
        il.status != InvoiceLineStatus.VOIDED,  # type: ignore[attr-defined]
        or_(il.quantity > 0, il.status.in_(FINAL_CREDIT)),  # type: ignore[attr-defined]
    )


def invoiced_quantity(session: Session, receipt_ids: Iterable[int]) -> dict[int, int]:
    """Packs invoiced per receipt line, net of final credits."""
    ids = set(receipt_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(InvoiceLine.receipt_line_id, func.sum(InvoiceLine.quantity))
        .where(InvoiceLine.receipt_line_id.in_(ids), counts_as_invoiced())
        .group_by(InvoiceLine.receipt_line_id)
    )
    return {receipt: int(qty) for receipt, qty in rows}


def returned_quantity(session: Session, receipt_ids: Iterable[int]) -> dict[int, int]:
    """Packs returned per receipt line."""
    ids = set(receipt_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(ReturnLine.receipt_line_id, func.sum(ReturnLine.quantity))
        .where(ReturnLine.receipt_line_id.in_(ids))
        .group_by(ReturnLine.receipt_line_id)
    )
    return {receipt: int(qty) for receipt, qty in rows}
