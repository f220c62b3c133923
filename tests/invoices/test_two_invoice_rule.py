"""两票制 (vbp-rules.md §5): invoices per delivered batch, walked back to the manufacturer."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Role
from core.errors import InvalidState, PermissionDenied, ValidationFailed
from ledger import reconcile
from ledger.models.upstream import InvoiceLineSource
from ledger.reconcile import OrphanKind, Slice
from ledger.reconcile.two_invoice import chains
from ledger.services import supply_chain, upstream_invoices
from tests.factories import actor_of, make_user
from tests.flows import at, invoice
from tests.invoices.chain import DELIVERED, Delivered, delivered, sell, upstream_distributor
from tests.ordering import Market, make_market


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def only_chain(d: Delivered):  # type: ignore[no-untyped-def]
    (chain,) = chains(d.m.session, d.m.world.bureau, Slice())
    return chain


def exceeded(d: Delivered) -> list[reconcile.Orphan]:
    found = reconcile.orphans(d.m.session, d.m.world.bureau, Slice())
    return [o for o in found if o.kind is OrphanKind.TWO_INVOICE_EXCEEDED]


def set_role(d: Delivered, org_id: int, **kw: object) -> None:
    args = {"remote_township": False, "acts_as_manufacturer_for_id": None, "distribution_group": None, **kw}
    supply_chain.set_role(d.m.session, d.m.world.bureau, org_id, now=at(DELIVERED), **args)  # type: ignore[arg-type]


def three_hops(d: Delivered) -> None:
    """manufacturer → D1 → D (the hospital's distributor) → hospital."""
    d1, d1_actor = upstream_distributor(d.m)
    sell(d, d1_actor, d.maker.id)
    sell(d, d.distributor, d1.id)
    return d1  # type: ignore[return-value]


def test_two_invoices_are_within_the_rule(market: Market) -> None:
    d = delivered(market)
    sell(d, d.distributor, d.maker.id)
    chain = only_chain(d)
    assert (chain.invoices, chain.allowed, chain.complete, chain.exceeded) == (2, 2, True, False)
    assert exceeded(d) == []


def test_three_invoices_are_a_finding_with_the_chain_as_evidence(market: Market) -> None:
    d = delivered(market)
    d1 = three_hops(d)
    chain = only_chain(d)
    assert (chain.invoices, chain.complete) == (3, True)
    assert chain.path() == [d.maker.id, d1.id, d.distributor.org_id, market.hospital.id]  # type: ignore[attr-defined]
    (finding,) = exceeded(d)
    assert finding.order_line_id == d.bought.line_id
    assert "3 张发票（上限 2）" in finding.detail
    assert d1.name in finding.detail  # type: ignore[attr-defined]
    # The hospital sees it for its delivery; another hospital does not.
    assert [o.kind for o in reconcile.orphans(market.session, market.hospital_actor, Slice())] == [
        OrphanKind.TWO_INVOICE_EXCEEDED
    ]
    assert reconcile.orphans(market.session, market.other_hospital_actor, Slice()) == []


def test_a_remote_township_hospital_allows_three_but_not_four(market: Market) -> None:
    d = delivered(market)
    d1 = three_hops(d)
    set_role(d, market.hospital.id, remote_township=True)
    assert (only_chain(d).invoices, only_chain(d).allowed) == (3, 3)
    assert exceeded(d) == []
    # One hop more: D2 sold to D1 as well, so the longest chain is maker → D2 → D1 → D → hospital.
    d2, d2_actor = upstream_distributor(market)
    sell(d, d2_actor, d.maker.id)
    sell(d, actor_of(make_user(market.session, d1, Role.OPERATOR)), d2.id)
    assert only_chain(d).invoices == 4
    assert len(exceeded(d)) == 1


def test_a_sole_sales_subsidiary_counts_as_the_manufacturer(market: Market) -> None:
    d = delivered(market)
    d1 = three_hops(d)
    set_role(d, d1.id, acts_as_manufacturer_for_id=d.maker.id)
    chain = only_chain(d)
    assert (chain.invoices, chain.complete, chain.exceeded) == (2, True, False)


def test_a_transfer_inside_one_distribution_group_is_not_counted(market: Market) -> None:
    d = delivered(market)
    d1 = three_hops(d)
    set_role(d, d1.id, distribution_group="国药集团")
    assert only_chain(d).invoices == 3  # one of the two alone is no group
    set_role(d, d.distributor.org_id, distribution_group="国药集团")  # type: ignore[arg-type]
    assert only_chain(d).invoices == 2
    assert exceeded(d) == []


def test_a_missing_first_invoice_is_a_finding_after_the_grace_days(market: Market) -> None:
    d = delivered(market)
    chain = only_chain(d)
    assert not chain.complete
    assert not chain.missing_first(DELIVERED + timedelta(days=30))
    assert chain.missing_first(DELIVERED + timedelta(days=31))
    sell(d, d.distributor, d.maker.id)
    assert not only_chain(d).missing_first(DELIVERED + timedelta(days=31))


def test_a_disputed_first_invoice_is_no_hop_and_a_red_letter_cancels_one(market: Market) -> None:
    d = delivered(market)
    first = sell(d, d.distributor, d.maker.id)
    maker_actor = market.world.actor(d.maker)
    with pytest.raises(PermissionDenied):
        upstream_invoices.decide_upstream_invoice(
            market.session, d.distributor, first.id, confirm=True, reason=None, now=at(DELIVERED)
        )
    upstream_invoices.decide_upstream_invoice(
        market.session, maker_actor, first.id, confirm=False, reason="未开此票", now=at(DELIVERED)
    )
    assert not only_chain(d).complete
    upstream_invoices.decide_upstream_invoice(
        market.session, maker_actor, first.id, confirm=True, reason=None, now=at(DELIVERED)
    )
    assert only_chain(d).complete
    with pytest.raises(InvalidState):
        upstream_invoices.decide_upstream_invoice(
            market.session, maker_actor, first.id, confirm=True, reason=None, now=at(DELIVERED)
        )
    upstream_invoices.record_upstream_invoice(
        market.session,
        d.distributor,
        seller_id=d.maker.id,
        invoice_code="",
        invoice_number="39999999",
        issued_on=DELIVERED,
        tax_rate=Decimal("0.13"),
        lines=[
            upstream_invoices.UpstreamLineRequest(
                d.product_id, "B1", -10, -1000, credited_line_id=first.lines[0].id
            )
        ],
        now=at(DELIVERED),
        kind=upstream_invoices.InvoiceKind.RED,
        original_invoice_id=first.id,
    )
    assert not only_chain(d).complete


def test_first_invoice_lines_are_linked_to_the_second_invoice_lines_either_way(market: Market) -> None:
    d = delivered(market)
    second = invoice(market, d.bought, 10, on=DELIVERED + timedelta(days=1))
    first = sell(d, d.distributor, d.maker.id)
    links = market.session.execute(
        select(InvoiceLineSource.invoice_line_id, InvoiceLineSource.upstream_line_id)
    ).all()
    assert links == [(second.id, first.lines[0].id)]
    # Another batch is not linked; rerunning adds nothing.
    sell(d, d.distributor, d.maker.id, batch_no="B2")
    assert upstream_invoices.link_invoice_lines(market.session, now=at(DELIVERED)) == 0
    # A second invoice recorded after the first invoice is linked at once.
    later = delivered(market, 5)
    second_later = invoice(market, later.bought, 5, on=DELIVERED + timedelta(days=2))
    linked = market.session.scalars(
        select(InvoiceLineSource.upstream_line_id).where(InvoiceLineSource.invoice_line_id == second_later.id)
    ).all()
    assert linked == [first.lines[0].id]


def test_bad_upstream_lines_are_named_and_nothing_is_written(market: Market) -> None:
    d = delivered(market)
    stranger_maker = market.world.manufacturer("B")
    with pytest.raises(ValidationFailed) as err:
        sell(d, d.distributor, stranger_maker.id)
    assert "lines.0.product_id" in err.value.fields
    with pytest.raises(ValidationFailed) as err:
        sell(d, d.distributor, d.maker.id, batch_no=" ")
    assert "lines.0.batch_no" in err.value.fields
    with pytest.raises(PermissionDenied):
        sell(d, market.hospital_actor, d.maker.id)
    assert chains(market.session, market.world.bureau, Slice())[0].hops == ()


def test_only_the_bureau_records_supply_chain_roles(market: Market) -> None:
    d = delivered(market)
    with pytest.raises(PermissionDenied):
        supply_chain.set_role(
            market.session,
            d.distributor,
            market.hospital.id,
            remote_township=True,
            acts_as_manufacturer_for_id=None,
            distribution_group=None,
            now=at(date(2026, 4, 2)),
        )
    with pytest.raises(ValidationFailed) as err:
        set_role(d, d.distributor.org_id, remote_township=True)  # type: ignore[arg-type]
    assert "remote_township" in err.value.fields


def test_only_batches_with_a_chain_long_enough_to_exceed_are_walked_for_findings(market: Market) -> None:
    """A batch with fewer upstream relations than the rule's invoices can never exceed it; the
    findings leave it to the database (a province's compliant batches never reach Python)."""
    d = delivered(market)
    sell(d, d.distributor, d.maker.id)  # two invoices: within the rule
    assert chains(market.session, market.world.bureau, Slice(), exceeding_only=True) == []
    d1 = three_hops(d)
    (chain,) = chains(market.session, market.world.bureau, Slice(), exceeding_only=True)
    assert chain.exceeded
    assert chain.path()[1] == d1.id  # type: ignore[attr-defined]
