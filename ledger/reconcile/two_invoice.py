"""两票制: the number of invoices per delivered batch (vbp-rules.md §5, supervision-and-interop.md §6).

A delivered batch is one product and batch number (批号) a distributor delivered to a hospital and
the hospital accepted. Its chain is walked back from that distributor (the second invoice's issuer)
through the upstream invoices of the same product and batch, buyer to seller, until an organization
that is the manufacturer: the order line's manufacturer, or an organization the bureau designated
as acting for it (a wholly owned sole sales subsidiary; the sole domestic general agent of an
imported drug). Invoices = upstream hops + 1 (the second invoice). A hop between two distributors
of one distribution group is not counted. At most `max_invoices` (2) are allowed, one more
(`remote_extra`) for a hospital the bureau marked as a remote township or village one.

Where several upstream sellers sold the same batch to one buyer, the longest chain is the one
judged (the worst case is the one a supervisor must see). Disputed upstream invoices are no hop,
red-letter lines net their originals: a hop exists while the net quantity invoiced is positive.

A chain that does not reach the manufacturer is incomplete; once the delivery is older than
`first_invoice_grace_days` (30 by default, VBP_FIRST_INVOICE_GRACE_DAYS; 0 turns it off) that is
the "first invoice missing" finding. It is a matter between the distributor and its suppliers, so it
is listed with the two-invoice findings and not on the hospital's statement; a chain with too many
invoices concerns the hospital's delivery and is one of the reconciliation's orphans (statements,
explorer, runs).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, tuple_
from sqlalchemy.orm import Session, aliased

from core.actors import Actor
from ledger.models import OrderLine, ReceiptLine, ShipmentLine
from ledger.models.upstream import (
    SupplyChainRole,
    UpstreamInvoice,
    UpstreamInvoiceLine,
    UpstreamInvoiceStatus,
)
from ledger.reconcile.facts import Slice, scoped_lines

#: Longest walk back before giving up (a chain this long is a violation anyway).
MAX_DEPTH = 12


@dataclass(frozen=True)
class TwoInvoiceRules:
    #: vbp-rules.md §5: one invoice manufacturer → distributor, one distributor → hospital.
    max_invoices: int = 2
    #: vbp-rules.md §5: one more for remote townships and villages.
    remote_extra: int = 1
    #: Days after acceptance before a missing first invoice is a finding (provincial; 0 = off).
    first_invoice_grace_days: int = 30


RULES = TwoInvoiceRules()


@dataclass(frozen=True)
class Hop:
    """One upstream invoice relation, seller → buyer, with the invoices behind it."""

    seller_id: int
    buyer_id: int
    invoice_ids: tuple[int, ...]
    #: False for a transfer inside one distribution group.
    counted: bool


@dataclass(frozen=True)
class Chain:
    hospital_id: int
    distributor_id: int
    manufacturer_id: int
    product_id: int
    batch_no: str
    shipment_line_id: int  #: the first delivery of the batch (the finding's record)
    order_line_id: int
    accepted_quantity: int
    accepted_on: date  #: the latest acceptance of the batch
    remote: bool
    #: From the manufacturer end to the hospital's distributor.
    hops: tuple[Hop, ...]
    #: The walk reached the manufacturer (or its designate).
    complete: bool
    allowed: int

    @property
    def invoices(self) -> int:
        return 1 + sum(1 for hop in self.hops if hop.counted)

    @property
    def exceeded(self) -> bool:
        return self.invoices > self.allowed

    def missing_first(self, as_of: date, rules: TwoInvoiceRules = RULES) -> bool:
        return (
            not self.complete
            and rules.first_invoice_grace_days > 0
            and self.accepted_on + timedelta(days=rules.first_invoice_grace_days) < as_of
        )

    def path(self) -> list[int]:
        """Organizations from the first seller to the hospital."""
        orgs = [self.hops[0].seller_id] if self.hops else []
        orgs += [hop.buyer_id for hop in self.hops] or [self.distributor_id]
        return [*orgs, self.hospital_id]


def chains(
    session: Session,
    actor: Actor,
    where: Slice,
    *,
    rules: TwoInvoiceRules = RULES,
    exceeding_only: bool = False,
) -> list[Chain]:
    """The invoice chain of every delivered batch of the order lines the actor sees in `where`.
    `exceeding_only` keeps the batches whose chain may exceed the rule: the database drops the
    others (a province's compliant batches) before they are walked."""
    ol, sl, rl = OrderLine, ShipmentLine, ReceiptLine
    may_exceed = (
        [_relations_back(ol.distributor_id, ol.product_id, sl.batch_no, rules.max_invoices)]
        if exceeding_only and rules.max_invoices > 0
        else []
    )
    batches = session.execute(
        select(
            ol.hospital_id,
            ol.distributor_id,
            ol.manufacturer_id,
            ol.product_id,
            sl.batch_no,
            func.min(sl.id),
            func.min(ol.id),
            func.sum(rl.accepted_quantity),
            func.max(rl.accepted_on),
        )
        .join(sl, sl.id == rl.shipment_line_id)
        .join(ol, ol.id == rl.order_line_id)
        .where(
            rl.accepted_quantity > 0,
            ol.id.in_(scoped_lines(actor, where).scalar_subquery()),
            *may_exceed,
        )
        .group_by(ol.hospital_id, ol.distributor_id, ol.manufacturer_id, ol.product_id, sl.batch_no)
        .order_by(func.min(sl.id))
    ).all()
    if not batches:
        return []
    upstream = _upstream(session, {(b[3], b[4]) for b in batches})
    roles = {r.organization_id: r for r in session.scalars(select(SupplyChainRole))}
    out = []
    for hospital, distributor, maker, product, batch_no, sl_id, ol_id, qty, accepted_on in batches:
        remote = bool(roles.get(hospital) and roles[hospital].remote_township)
        walk = _Walk(upstream, roles, maker, product, batch_no)
        hops, complete = walk.back_from(distributor, frozenset({distributor}), 0)
        out.append(
            Chain(
                hospital,
                distributor,
                maker,
                product,
                batch_no,
                sl_id,
                ol_id,
                int(qty),
                accepted_on,
                remote,
                tuple(hops),
                complete,
                rules.max_invoices + (rules.remote_extra if remote else 0),
            )
        )
    return [chain for chain in out if chain.exceeded] if exceeding_only else out


def _relations_back(buyer: Any, product: Any, batch_no: Any, depth: int) -> ColumnElement[bool]:
    """Whether `depth` upstream relations of the batch lead back from `buyer` (any status, any
    sign: a superset of the hops a walk counts). A chain of more than N invoices has at least N
    counted hops, so a batch without N relations in a row cannot exceed a rule of N invoices."""
    up = aliased(UpstreamInvoiceLine)
    further = [_relations_back(up.seller_id, product, batch_no, depth - 1)] if depth > 1 else []
    return exists().where(up.buyer_id == buyer, up.product_id == product, up.batch_no == batch_no, *further)


def _upstream(
    session: Session, keys: set[tuple[int, str]]
) -> dict[tuple[int, int, str], dict[int, list[int]]]:
    """(buyer, product, batch) → seller → invoice ids, for relations with a positive net quantity
    on invoices that are not disputed."""
    up = UpstreamInvoiceLine
    found: dict[tuple[int, int, str], dict[int, list[int]]] = defaultdict(dict)
    key_list = sorted(keys)
    for start in range(0, len(key_list), 500):
        chunk = key_list[start : start + 500]
        rows = session.execute(
            select(up.buyer_id, up.product_id, up.batch_no, up.seller_id, up.invoice_id, up.quantity)
            .join(UpstreamInvoice, UpstreamInvoice.id == up.invoice_id)
            .where(
                tuple_(up.product_id, up.batch_no).in_(chunk),
                UpstreamInvoice.status != UpstreamInvoiceStatus.DISPUTED,
            )
            .order_by(up.invoice_id)
        ).all()
        net: dict[tuple[int, int, str, int], int] = defaultdict(int)
        invoices: dict[tuple[int, int, str, int], list[int]] = defaultdict(list)
        for buyer, product, batch_no, seller, invoice_id, quantity in rows:
            net[(buyer, product, batch_no, seller)] += quantity
            if quantity > 0:
                invoices[(buyer, product, batch_no, seller)].append(invoice_id)
        for (buyer, product, batch_no, seller), quantity in net.items():
            if quantity > 0:
                found[(buyer, product, batch_no)][seller] = invoices[(buyer, product, batch_no, seller)]
    return found


@dataclass
class _Walk:
    upstream: dict[tuple[int, int, str], dict[int, list[int]]]
    roles: dict[int, SupplyChainRole]
    manufacturer_id: int
    product_id: int
    batch_no: str

    def is_manufacturer(self, org: int) -> bool:
        role = self.roles.get(org)
        return org == self.manufacturer_id or (
            role is not None and role.acts_as_manufacturer_for_id == self.manufacturer_id
        )

    def same_group(self, a: int, b: int) -> bool:
        ga, gb = self.roles.get(a), self.roles.get(b)
        return bool(ga and gb and ga.distribution_group and ga.distribution_group == gb.distribution_group)

    def back_from(self, buyer: int, seen: frozenset[int], depth: int) -> tuple[list[Hop], bool]:
        """The longest chain of hops ending at `buyer`, and whether it starts at the manufacturer."""
        if self.is_manufacturer(buyer):
            return [], True
        sellers = self.upstream.get((buyer, self.product_id, self.batch_no), {})
        best: tuple[list[Hop], bool] | None = None
        for seller, invoice_ids in sellers.items():
            if seller in seen or depth >= MAX_DEPTH:
                continue
            before, complete = self.back_from(seller, seen | {seller}, depth + 1)
            hops = [*before, Hop(seller, buyer, tuple(invoice_ids), not self.same_group(seller, buyer))]
            if best is None or _weight(hops, complete) > _weight(*best):
                best = (hops, complete)
        return best or ([], False)


def _weight(hops: list[Hop], complete: bool) -> tuple[int, bool]:
    return (sum(1 for hop in hops if hop.counted), complete)
