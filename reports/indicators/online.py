"""Online procurement rate, winner share and savings (vbp-rules.md §6): the platform side from the
goods flow (ledger.figures.purchases: receipts by acceptance month, returns by return month), the
off-platform side from the hospitals' monthly reports."""

from __future__ import annotations

from sqlalchemy import and_, case, func, select

from bidding.models import Award, BatchItem, Category, Product
from core.organizations import Organization
from ledger.figures import bought_fen, bought_units, purchase_flows
from ledger.models import OffPlatformPurchase, OrderLine, PurchaseCategory
from reports.indicators.builder import Builder
from reports.indicators.definitions import E4_PER_FEN


def online_flows(b: Builder) -> None:
    """Platform amounts, winner share and savings, one GROUP BY over the goods flow of the period."""
    ol = OrderLine
    flows = purchase_flows(b.in_period)
    is_drug = Product.category == Category.DRUG
    is_hvc = Product.category == Category.CONSUMABLE
    winner = ol.award_id.is_not(None)
    # Generic names that have a winner: the denominator of the winner share.
    vbp_generic = Product.generic_name.in_(
        select(BatchItem.generic_name).join(Award, Award.item_id == BatchItem.id)
    )
    priced = and_(winner, BatchItem.pre_vbp_unit_price_e4.is_not(None))
    fen, units = bought_fen(flows), bought_units(flows)
    stmt = (
        select(
            func.sum(case((is_drug, fen), else_=0)),
            func.sum(case((is_hvc, fen), else_=0)),
            func.sum(case((and_(vbp_generic, winner), units), else_=0)),
            func.sum(case((vbp_generic, units), else_=0)),
            func.sum(case((priced, units * BatchItem.pre_vbp_unit_price_e4), else_=0)),
            func.sum(case((priced, fen * E4_PER_FEN), else_=0)),
        )
        .select_from(flows)
        .join(ol, ol.id == flows.c.order_line_id)
        .join(Product, Product.id == ol.product_id)
        .outerjoin(Award, Award.id == ol.award_id)
        .outerjoin(BatchItem, BatchItem.id == Award.item_id)
    )
    stmt = b.scoped(
        stmt, hospital=ol.hospital_id, distributor=ol.distributor_id, manufacturer=ol.manufacturer_id
    )
    key = b.key(
        day=flows.c.day, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.manufacturer_id
    )
    names = [
        "drug_platform_fen",
        "hvc_platform_fen",
        "winner_units",
        "generic_units",
        "pre_vbp_e4",
        "winning_e4",
    ]
    b.collect(stmt, names, key)


def off_platform(b: Builder) -> None:
    """Hospitals' off-platform reports; 中药饮片 and other consumables are left out (§6)."""
    off = OffPlatformPurchase
    stmt = (
        select(
            func.sum(case((off.category == PurchaseCategory.DRUGS, off.amount_fen), else_=0)),
            func.sum(
                case((off.category == PurchaseCategory.HIGH_VALUE_CONSUMABLES, off.amount_fen), else_=0)
            ),
        )
        .select_from(off)
        .join(Organization, Organization.id == off.hospital_id)
        .where(b.in_period(off.month))
    )
    # Enterprises are no party to a hospital's off-platform report: party_scope hides it from them.
    stmt = b.scoped(stmt, hospital=off.hospital_id)
    # No enterprise to group by: grouped by enterprise, the key is None and only the total takes them.
    key = b.key(day=off.month, region=Organization.region_code, hospital=off.hospital_id, enterprise=None)
    b.collect(stmt, ["drug_off_platform_fen", "hvc_off_platform_fen"], key)
