"""Monthly statements: generated from the reconciliation, versioned, confirmed by both parties,
frozen once confirmed, verifiable by their digest."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ledger import statements
from ledger.models import PartyDecision, Statement
from tests.ledger.test_reconcile import FILED, PERIOD, PRICE, Line
from tests.ordering import Market, make_market


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _generate(market: Market, **kw: object) -> statements.GenerationResult:
    return statements.generate(
        market.session,
        market.world.bureau,
        period=PERIOD,
        as_of=FILED,
        now=FILED,
        **kw,  # type: ignore[arg-type]
    )


def test_statement_lists_each_line_with_its_flows_and_totals(market: Market) -> None:
    paid = Line(market, 10).place().accept().receive(8, rejected=2).invoice_all()
    paid.settle_and_pay()
    open_line = Line(market, 5).place().accept()
    result = _generate(market)
    [st] = result.created
    assert (st.hospital_id, st.enterprise_id, st.version, st.line_count) == (
        market.hospital.id,
        market.distributor.id,
        1,
        2,
    )
    p = st.payload
    assert p["number"] == f"DZD-202605-{market.hospital.id:06d}-{market.distributor.id:06d}-V1"
    first, second = p["lines"]
    assert (first["order_line_id"], first["accepted_qty"], first["rejected_qty"], first["paid_fen"]) == (
        paid.line_id,
        8,
        2,
        8 * PRICE,
    )
    assert first["invoice_refs"] == "05100110000001"
    assert first["payment_refs"] == "ICBC-20260610-1"
    assert (first["status"], first["diff_fen"]) == ("short_or_rejected", 2 * PRICE)
    assert (second["order_line_id"], second["status"], second["diff_qty"]) == (
        open_line.line_id,
        "shipment_overdue",
        5,
    )
    assert {t["status"]: t["lines"] for t in p["totals"]} == {"short_or_rejected": 1, "shipment_overdue": 1}
    assert (st.order_amount_fen, st.invoiced_fen, st.paid_fen) == (15 * PRICE, 8 * PRICE, 8 * PRICE)
    assert [d["diff_fen"] for d in p["discrepancies"]] == [2 * PRICE, 5 * PRICE]
    assert st.digest == statements.canonical_digest(p)


def test_unchanged_data_makes_no_new_version_and_changes_make_the_next(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    [v1] = _generate(market).created
    again = _generate(market)
    assert (again.created, again.unchanged) == ([], 1)
    line.settle_and_pay()
    [v2] = _generate(market).created
    assert (v2.version, v2.paid_fen, v1.paid_fen) == (2, 10 * PRICE, 0)
    assert v1.digest != v2.digest
    assert statements.verify(market.session, v1.digest) is v1
    # The superseded version can no longer be confirmed; the current one can.
    with pytest.raises(InvalidState):
        statements.decide(market.session, market.hospital_actor, v1.id, confirm=True, reason=None, now=FILED)
    listed = market.session.scalars(statements.statements_for(market.hospital_actor, period=PERIOD)).all()
    assert listed == [v2]


def test_both_parties_confirm_then_it_is_frozen(market: Market, session: Session) -> None:
    Line(market, 10).place().accept().receive(10).invoice_all()
    [st] = _generate(market).created
    with pytest.raises(ValidationFailed) as err:
        statements.decide(session, market.hospital_actor, st.id, confirm=False, reason=" ", now=FILED)
    assert "reason" in err.value.fields
    statements.decide(session, market.hospital_actor, st.id, confirm=True, reason=None, now=FILED)
    assert st.state is PartyDecision.PENDING
    statements.decide(session, market.distributor_actor, st.id, confirm=True, reason=None, now=FILED)
    assert st.state is PartyDecision.CONFIRMED
    with pytest.raises((DBAPIError, IntegrityError)), session.begin_nested():
        session.execute(update(Statement).where(Statement.id == st.id).values(hospital_reason="改"))


def test_statement_data_can_never_be_edited(market: Market, session: Session) -> None:
    Line(market, 10).place().accept()
    [st] = _generate(market).created
    with pytest.raises((DBAPIError, IntegrityError)), session.begin_nested():
        session.execute(update(Statement).where(Statement.id == st.id).values(digest="0" * 64))
    with pytest.raises((DBAPIError, IntegrityError)), session.begin_nested():
        session.execute(update(Statement).where(Statement.id == st.id).values(payload={"lines": []}))


def test_dispute_and_who_may_see_or_decide(market: Market, session: Session) -> None:
    Line(market, 10).place().accept().receive(10)
    [st] = _generate(market).created
    with pytest.raises(NotFound):
        statements.get_statement(session, market.other_hospital_actor, st.id)
    with pytest.raises(NotFound):
        statements.decide(session, market.other_hospital_actor, st.id, confirm=True, reason=None, now=FILED)
    with pytest.raises(PermissionDenied):
        _generate_as(market, market.hospital_actor)
    statements.decide(session, market.distributor_actor, st.id, confirm=False, reason="数量不符", now=FILED)
    assert (st.state, st.enterprise_reason) == (PartyDecision.DISPUTED, "数量不符")


def _generate_as(market: Market, actor: object) -> None:
    statements.generate(market.session, actor, period=PERIOD, as_of=FILED, now=FILED)  # type: ignore[arg-type]


def test_verification_accepts_the_printed_grouping_only_for_real_codes(market: Market) -> None:
    Line(market, 10).place().accept()
    [st] = _generate(market).created
    grouped = " ".join(st.digest[i : i + 4].upper() for i in range(0, 64, 4))
    assert statements.verify(market.session, grouped) is st
    assert statements.verify(market.session, st.digest[:-1] + ("0" if st.digest[-1] != "0" else "1")) is None
    assert statements.verify(market.session, "not a code") is None
