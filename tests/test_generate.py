"""The synthetic-province generator: deterministic, consistent with the ledger's invariants, and
planting every discrepancy kind the reconciliation must find."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench import generate
from core.actors import Actor
from ledger import reconcile
from ledger.invariants import check_ledger
from ledger.models import OrderLine, ReceiptLine, ShipmentLine

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def test_small_province_is_consistent_and_holds_every_discrepancy(session: Session) -> None:
    summary = generate.generate(session, scale=generate.SMALL, seed=3, as_of=AS_OF)
    assert summary.rows["order_lines"] == generate.SMALL.order_lines
    assert check_ledger(session).ok
    # Logistics identities (three-flows.md): shipped ≤ ordered, accepted + rejected = shipped.
    over_shipped = session.scalar(
        select(func.count()).where(
            OrderLine.shipped_quantity > OrderLine.quantity - OrderLine.cancelled_quantity
        )
    )
    receipt_mismatch = session.scalar(
        select(func.count())
        .select_from(ReceiptLine)
        .join(ShipmentLine, ShipmentLine.id == ReceiptLine.shipment_line_id)
        .where(ReceiptLine.accepted_quantity + ReceiptLine.rejected_quantity != ShipmentLine.quantity)
    )
    assert (over_shipped, receipt_mismatch) == (0, 0)
    found = {s.status for s in reconcile.summarize(session, Actor.system(), reconcile.Slice(), as_of=AS_OF)}
    expected = set(reconcile.Status) - {
        reconcile.Status.CLOSED,  # the generator refuses no orders
        reconcile.Status.AWAITING_SHIPMENT,  # at as_of every unshipped line is past its 24 h deadline
    }
    assert expected <= found, expected - found


def test_the_same_seed_gives_the_same_province(session: Session) -> None:
    first = generate.generate(session, scale=generate.SMALL, seed=9, as_of=AS_OF)
    second = generate.generate(session, scale=generate.SMALL, seed=9, as_of=AS_OF)
    other = generate.generate(session, scale=generate.SMALL, seed=10, as_of=AS_OF)
    del first.rows["accounts"], second.rows["accounts"]  # the second run reuses the accounts
    assert (first.rows, first.planted) == (second.rows, second.planted)
    assert first.planted != other.planted
