"""Fund savings (医保基金节约) per hospital and month: non-VBP purchases priced below their payment
standard (支付标准, vbp-rules.md §1.9) save the fund (standard − price) × packs. A hospital that
negotiates below the standard earns this; the report can serve as the basis of retained savings or
incentives (可作为结余留用/激励依据, §4.4).

Purchases are the goods flow of ledger/figures/purchases.py (accepted packs less returns, each on
its own day), so this month's savings agree with every other purchase figure. Volume-based lines
are left out (their price IS the standard). Amounts are exact integer fen: the standard is rounded
once (payment_standard.py), each line's savings is an integer product, totals are sums.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Product
from core.actors import Actor, OrgKind
from core.errors import PermissionDenied
from core.organizations import Organization
from ledger.figures.purchases import between, purchase_flows
from ledger.models import ListingMode, OrderLine
from ledger.scoping import party_scope
from ledger.supervision.payment_standard import standards_for
from ledger.supervision.settings import DEFAULTS, SupervisionSettings

#: What the report may be used for, printed on every copy.
REWARD_BASIS = "可作为医保结余留用/激励依据 (may serve as the basis of retained savings or incentives)"


@dataclass
class SavingsRow:
    """One hospital × product (× frozen pack price) of the month."""

    hospital_id: int
    hospital_name: str
    product_id: int
    product_name: str
    pack_price_fen: int
    standard_fen: int
    lines: int = 0
    packs: int = 0
    bought_fen: int = 0
    savings_fen: int = 0


@dataclass
class FundSavingsReport:
    month: date
    rows: list[SavingsRow] = field(default_factory=list)

    @property
    def total_savings_fen(self) -> int:
        return sum(r.savings_fen for r in self.rows)

    @property
    def total_lines(self) -> int:
        return sum(r.lines for r in self.rows)

    @property
    def total_bought_fen(self) -> int:
        return sum(r.bought_fen for r in self.rows)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def fund_savings(
    session: Session,
    actor: Actor,
    *,
    month: date,
    hospital_id: int | None = None,
    settings: SupervisionSettings = DEFAULTS,
) -> FundSavingsReport:
    """The month's savings: the bureau sees every hospital, a hospital its own; others none (403)."""
    if not (actor.is_bureau or actor.org_kind is OrgKind.HOSPITAL):
        raise PermissionDenied("仅医保局和医疗机构可查看基金节约 (bureau and hospitals only)")
    first = date(month.year, month.month, 1)
    flows = purchase_flows(between(first, next_month(first)))
    ol = OrderLine
    stmt = (
        select(ol.id, ol.hospital_id, ol.product_id, ol.pack_price_fen, func.sum(flows.c.packs))
        .select_from(flows)
        .join(ol, ol.id == flows.c.order_line_id)
        .where(ol.mode != ListingMode.VOLUME_BASED)
        .group_by(ol.id, ol.hospital_id, ol.product_id, ol.pack_price_fen)
        .order_by(ol.hospital_id, ol.product_id, ol.id)
    )
    if hospital_id is not None:
        stmt = stmt.where(ol.hospital_id == hospital_id)
    stmt = party_scope(stmt, actor, hospital=ol.hospital_id)
    # PostgreSQL sums integers as numeric: back to int, exactly.
    lines = [(line, h, p, price, int(packs or 0)) for line, h, p, price, packs in session.execute(stmt)]
    lines = [row for row in lines if row[4] != 0]
    products = {
        p.id: p for p in session.scalars(select(Product).where(Product.id.in_({r[2] for r in lines})))
    }
    standards = standards_for(session, [(products[p], price) for _l, _h, p, price, _n in lines], settings)
    names = dict(
        session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_({r[1] for r in lines}))
        ).all()
    )
    grouped: dict[tuple[int, int, int], SavingsRow] = {}
    counted: defaultdict[tuple[int, int, int], set[int]] = defaultdict(set)
    for (line_id, hospital, product_id, price, packs), std in zip(lines, standards, strict=True):
        if std is None or std.pack_fen <= price:
            continue
        key = (hospital, product_id, price)
        product = products[product_id]
        row = grouped.setdefault(
            key,
            SavingsRow(
                hospital,
                names.get(hospital, str(hospital)),
                product_id,
                f"{product.generic_name} {product.spec_text}",
                price,
                std.pack_fen,
            ),
        )
        counted[key].add(line_id)
        row.lines = len(counted[key])
        row.packs += packs
        row.bought_fen += packs * price
        row.savings_fen += (std.pack_fen - price) * packs
    return FundSavingsReport(first, list(grouped.values()))
