"""The transition tables: every non-terminal state has a legal way out, every state of every
record kind is in its table, and no service changes a state behind the table's back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.errors import InvalidState
from core.organizations import User
from core.states import Machine
from ledger import states
from ledger.models import (
    ApplicationStatus,
    InvoiceLineStatus,
    ListingStatus,
    OrderLineStatus,
    OrderStatus,
    PartyDecision,
    PaymentStatus,
    PrepaymentStatus,
    ReceiptStatus,
    ReturnStatus,
    RunStatus,
    SettlementLineStatus,
    ShipmentLineStatus,
)
from ledger.models.upstream import UpstreamInvoiceStatus
from ledger.supervision.models import WarningState
from ledger.supervision.warnings import WARNING
from tests.factories import bearer
from tests.ledger.test_corrections import Flow
from tests.ordering import Market, make_market

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


ENUM_OF = {
    "order": OrderStatus,
    "order_line": OrderLineStatus,
    "shipment_line": ShipmentLineStatus,
    "receipt": ReceiptStatus,
    "return": ReturnStatus,
    "invoice_line": InvoiceLineStatus,
    "settlement_application": ApplicationStatus,
    "settlement_line": SettlementLineStatus,
    "settlement_run": RunStatus,
    "payment": PaymentStatus,
    "prepayment": PrepaymentStatus,
    "statement_hospital": PartyDecision,
    "statement_enterprise": PartyDecision,
    "listing": ListingStatus,
    "warning": WarningState,
    "upstream_invoice": UpstreamInvoiceStatus,
}
#: Every transition table: the ledger's and the supervision warning's.
MACHINES: dict[str, Machine] = {**states.ALL, "warning": WARNING}


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_every_non_terminal_state_has_a_way_out_to_an_end(name: str) -> None:
    machine = MACHINES[name]
    assert machine.dead_ends() == [], f"{name}: states that can never end"
    for state, targets in machine.transitions.items():
        assert state in machine.terminal or targets, f"{name}: {state} has no exit"


@pytest.mark.parametrize("name", sorted(MACHINES))
def test_every_state_of_the_record_is_in_its_table(name: str) -> None:
    assert set(MACHINES[name].states) == set(ENUM_OF[name])


def test_the_walk_finds_a_state_without_exit() -> None:
    """The check itself can fail: a table with a stuck state is reported."""
    stuck = Machine(
        "x",
        {
            OrderStatus.SUBMITTED: frozenset({OrderStatus.ACCEPTED}),
            OrderStatus.ACCEPTED: frozenset({OrderStatus.SUBMITTED}),
            OrderStatus.COMPLETED: frozenset(),
        },
    )
    assert stuck.dead_ends() == [OrderStatus.SUBMITTED, OrderStatus.ACCEPTED]


def test_an_illegal_move_and_a_stay_in_place_are_refused() -> None:
    class Row:
        status = InvoiceLineStatus.CONFIRMED

    with pytest.raises(InvalidState) as err:
        states.INVOICE_LINE.move(Row(), InvoiceLineStatus.DISPUTED)
    assert err.value.code == "illegal_transition"
    with pytest.raises(InvalidState):
        states.INVOICE_LINE.move(Row(), InvoiceLineStatus.CONFIRMED)


def test_no_service_sets_a_ledger_state_outside_its_table() -> None:
    assignment = re.compile(r"\.(status|hospital_decision|enterprise_decision)\s*=(?!=)")
    offenders = []
    for path in [*(ROOT / "ledger").rglob("*.py")]:
        if path.parts[-2] == "models" or path.name in ("states.py",):
            continue
        for n, text in enumerate(path.read_text().splitlines(), start=1):
            if assignment.search(text):
                offenders.append(f"{path.relative_to(ROOT)}:{n}: {text.strip()}")
    assert offenders == []


def test_an_illegal_move_answers_409_over_http(market: Market, client: FlaskClient) -> None:
    flow = Flow(market, 10).deliver(10)
    line = flow.invoice(10, "10000001")  # confirmed
    hospital = bearer(market.session, market.session.get_one(User, market.hospital_actor.user_id))
    again = client.post(
        f"/api/v1/invoice-lines/{line.id}/decision",
        headers=hospital,
        json={"confirm": False, "reason": "再议"},
    )
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "illegal_transition")
    withdraw = client.post(f"/api/v1/invoice-lines/{line.id}/dispute-withdrawal", headers=hospital, json={})
    assert (withdraw.status_code, withdraw.get_json()["error"]["code"]) == (409, "illegal_transition")
