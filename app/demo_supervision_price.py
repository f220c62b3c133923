"""Demo step for price governance and the shortage list (issue 18 items 2 and 4).

Run after the ordering and invoicing steps; then `compute_warnings` finds:
- `price_risk` and `non_winner_red_line`: a non-winner of a published variety listed price-linked
  at twice the variety's red line, with other provinces listing it at half that price;
- `price_increase`: the same listing's price doubled 5 days ago (the rule is off by default: the
  demo needs `VBP_SUP_PRICE_MAX_INCREASE_PCT`, e.g. 20, for it to fire);
- `shortage_watch`: a product of the imported shortage list, listed directly at a self-set price
  more than 30 % above the median elsewhere.
Running it twice changes nothing (the products exist: the step is skipped).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import catalogue
from bidding.models import Award, BatchItem, Category, DosageFormGroup, ProcurementBatch, Product
from core import clock
from core.money import fen_to_str
from core.organizations import Organization, User, actor_for_user
from ledger.services import listings
from ledger.supervision import price_changes
from ledger.supervision.prices import import_other_province_prices
from ledger.supervision.red_line import PUBLISHED, product_red_line_fen
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.shortage import import_shortage_list

NON_WINNER_CODE = "XDEMOPRICE0001"
SHORTAGE_CODE = "XDEMOSHORT0001"
PRICE_HEADER = "通用名,生产企业,生产企业统一社会信用代码,剂型,规格,省份代码,包装价格（元）,价格日期,来源"
SHORTAGE_HEADER = "通用名,剂型,规格,清单类别,来源,发布日期"


def _csv(header: str, rows: list[list[str]]) -> bytes:
    return ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode()


def _product(session: Session, bureau: object, maker: Organization, now: datetime, **data: object) -> Product:
    values = {
        "category": Category.DRUG,
        "fill_volume_ml": None,
        "mah_uscc": maker.uscc,
        "originator": False,
        "reference_listed": False,
        "consistency_evaluated": True,
        "registration_no": None,
        **data,
    }
    return catalogue.create_product(session, bureau, data=values, now=now)  # type: ignore[arg-type]


def seed(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    if session.scalar(select(Product.id).where(Product.code == NON_WINNER_CODE)) is not None:
        echo("价格治理演示已存在 (price governance demo exists): 跳过")
        return
    bureau = actor_for_user(users["bureau-op"])
    today = clock.business_date(now)
    item = session.scalars(
        select(BatchItem)
        .join(Award, Award.item_id == BatchItem.id)
        .join(ProcurementBatch, ProcurementBatch.id == Award.batch_id)
        .where(Award.comparable_e4 > 0, ProcurementBatch.status.in_(PUBLISHED))
        .order_by(Award.comparable_e4, Award.id)
        .limit(1)
    ).first()
    if item is None:
        echo("没有已公布的中选结果 (no published winners): 跳过价格治理演示")
        return
    winners = set(session.scalars(select(Award.manufacturer_id).where(Award.item_id == item.id)))
    key = next((k for k in ("mfr4", "mfr3", "mfr2", "mfr1") if orgs[k].id not in winners), "mfr4")
    maker = orgs[key]
    maker_actor = actor_for_user(users[f"{key}-op"])

    # A non-winner of the variety, listed price-linked at the red line, then doubled.
    product = _product(
        session,
        bureau,
        maker,
        now,
        code=NON_WINNER_CODE,
        generic_name=item.generic_name,
        dosage_form="片剂",
        dosage_form_group=item.dosage_form_group,
        strength_value=item.rep_strength_value,
        strength_unit=item.rep_strength_unit,
        spec_text=f"{item.rep_strength_value}{item.rep_strength_unit}×100片",
        min_unit="片",
        units_per_pack=100,
    )
    line = product_red_line_fen(session, product, settings=DEFAULTS) or 1000
    listing = listings.apply_price_linked(
        session,
        maker_actor,
        product_id=product.id,
        region_code="510100",
        pack_price_fen=line,
        now=now - timedelta(days=20),
    )
    price_changes.change_listing_price(
        session, maker_actor, listing.id, pack_price_fen=line * 2, now=now - timedelta(days=5)
    )

    # A shortage-prone product, listed directly at a self-set price.
    short = _product(
        session,
        bureau,
        maker,
        now,
        code=SHORTAGE_CODE,
        generic_name="去乙酰毛花苷注射液",
        dosage_form="注射剂",
        dosage_form_group=DosageFormGroup.INJECTION_SMALL,
        strength_value="0.4",
        strength_unit="mg",
        fill_volume_ml="2",
        spec_text="2ml:0.4mg",
        min_unit="支",
        units_per_pack=10,
    )
    day = (today - timedelta(days=10)).isoformat()
    import_shortage_list(
        session,
        bureau,
        data=_csv(
            SHORTAGE_HEADER,
            [["去乙酰毛花苷注射液", "注射剂", "2ml:0.4mg", "national", "国家短缺药品清单", day]],
        ),
        filename="shortage-demo.csv",
        settings=DEFAULTS,
        now=now,
    )
    direct = listings.apply_price_linked(
        session,
        maker_actor,
        product_id=short.id,
        region_code="510000",
        pack_price_fen=6000,
        now=now,
        shortage=True,
    )
    half = fen_to_str(line)
    rows = [
        [product.generic_name, maker.name, maker.uscc, "片剂", product.spec_text, prov, half, day, "外省平台"]
        for prov in ("440000", "330000", "500000")
    ] + [
        [short.generic_name, maker.name, "", short.dosage_form, short.spec_text, prov, price, day, "外省平台"]
        for prov, price in (("440000", "30.00"), ("320000", "32.00"))
    ]
    import_other_province_prices(
        session, bureau, data=_csv(PRICE_HEADER, rows), filename="prices-demo.csv", settings=DEFAULTS, now=now
    )
    echo(
        f"价格治理 (price governance): 挂网 {listing.id} 价格 {fen_to_str(line * 2)} 元，红线 "
        f"{fen_to_str(line)} 元；短缺药品直接挂网 {direct.id} (shortage direct listing)"
    )
