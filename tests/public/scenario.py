"""A public scenario: a published batch with listings, orders and a payment; a credit rating in
force and a repaired one; a published, a draft and a withdrawn notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from bidding import ratings
from core import notices
from tests.flows import buy, invoice, self_pay
from tests.ordering import NOW, Market, make_market

ORDERED_ON = date(2026, 5, 6)
PAID_ON = date(2026, 6, 5)


@dataclass
class Scene:
    market: Market
    published_notice: int
    draft_notice: int
    withdrawn_notice: int


def make_scene(session: Session, *, payments: bool = True) -> Scene:
    m = make_market(session)
    bureau = m.world.bureau
    maker_a, maker_b = m.world.manufacturer("A"), m.world.manufacturer("B")
    ratings.record_rating(
        session, bureau, enterprise_id=maker_a.id, province_code="510000", cause="bribery",
        amount_fen=600_000_00, product_ids=[], effective_on=date(2026, 4, 1), now=NOW,
    )  # fmt: skip
    repaired = ratings.record_rating(
        session, bureau, enterprise_id=maker_b.id, province_code="510000", cause="tax",
        amount_fen=60_000_00, product_ids=[], effective_on=date(2026, 3, 1), now=NOW,
    )  # fmt: skip
    ratings.repair_rating(session, bureau, repaired.id, repaired_on=date(2026, 4, 20), now=NOW)
    shown = notices.create_notice(
        session, bureau, title="第一批集采结果公告", body="结果如下。\n第二段。", now=NOW
    )
    notices.publish_notice(session, bureau, shown.id, now=NOW)
    draft = notices.create_notice(session, bureau, title="草稿公告不公开", body="草稿", now=NOW)
    gone = notices.create_notice(session, bureau, title="已撤回的公告", body="撤回", now=NOW)
    notices.publish_notice(session, bureau, gone.id, now=NOW)
    notices.withdraw_notice(session, bureau, gone.id, now=NOW)
    if payments:
        bought = buy(m, 10, on=ORDERED_ON)
        invoice(m, bought, 10, on=ORDERED_ON)
        self_pay(m, date(2026, 5, 1), filed_on=date(2026, 6, 2), paid_on=PAID_ON)
    return Scene(m, shown.id, draft.id, gone.id)
