"""Sharing between platforms: this platform's listed prices and shortage list leave in the files the
other-province price import and the shortage-list import read; exported here and imported
through the bureau's own import routes, the same rows come back."""

from __future__ import annotations

import io
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Product
from core.organizations import Organization, User
from ledger.models import Listing, ListingMode, ListingStatus
from ledger.supervision.price_models import OtherProvincePrice, PriceImport, ShortageEntry
from ledger.supervision.settings import SupervisionSettings
from ledger.supervision.shortage import import_shortage_list
from tests.factories import bearer
from tests.ordering import NOW
from tests.public.scenario import make_scene
from tests.supervision.test_price_governance import csv_bytes

SHORTAGE = [
    ["去乙酰毛花苷注射液", "注射剂", "2ml:0.4mg", "P0000001", "national", "国家短缺药品清单", "2026-03-01"],
    ["地高辛片", "片剂", "", "", "provincial", "省卫健委", "2026-04-01"],
]  # fmt: skip


def _latest_import(session: Session) -> int:
    return session.scalar(select(func.max(PriceImport.id))) or 0


def _upload(client: FlaskClient, url: str, data: bytes, headers: dict[str, str]) -> int:
    answer = client.post(
        url,
        data={"file": (io.BytesIO(data), "shared.xlsx")},
        headers=headers,
        content_type="multipart/form-data",
    )
    assert answer.status_code == 201, answer.get_json()
    return int(answer.get_json()["rows"])


def test_listed_prices_and_the_shortage_list_round_trip_through_the_import_format(
    client: FlaskClient, visitor: FlaskClient, session: Session
) -> None:
    scene = make_scene(session, payments=False)
    bureau = scene.market.world.bureau
    header = "通用名,剂型,规格,产品编码,清单类别,来源,发布日期"
    import_shortage_list(
        session, bureau, data=csv_bytes(SHORTAGE, header=header), filename="s.csv",
        settings=SupervisionSettings(), now=NOW,
    )  # fmt: skip
    session.commit()
    auth = bearer(session, session.get_one(User, bureau.user_id))

    expected = {
        (p.generic_name, o.name, o.uscc, p.dosage_form, p.spec_text, p.code, "510000", listing.pack_price_fen)
        for listing, p, o in session.execute(
            select(Listing, Product, Organization)
            .join(Product, Product.id == Listing.product_id)
            .join(Organization, Organization.id == Listing.manufacturer_id)
            .where(Listing.status == ListingStatus.LISTED, Listing.mode != ListingMode.FILED)
        )
    }
    assert len(expected) >= 2
    prices = visitor.get("/api/v1/public/sharing/prices.xlsx")
    assert prices.status_code == 200
    assert prices.mimetype.endswith("spreadsheetml.sheet")
    assert _upload(client, "/api/v1/prices/other-provinces", prices.get_data(), auth) == len(expected)
    imported = session.scalars(
        select(OtherProvincePrice).where(OtherProvincePrice.import_id == _latest_import(session))
    ).all()
    assert {
        (r.generic_name, r.manufacturer_name, r.manufacturer_uscc, r.dosage_form, r.spec, r.product_code,
         r.province_code, r.pack_price_fen)
        for r in imported
    } == expected  # fmt: skip
    assert {r.price_on for r in imported} == {scene.market.listing.created_at.date()}

    shortage = visitor.get("/api/v1/public/sharing/shortage.xlsx").get_data()
    assert _upload(client, "/api/v1/shortage-list", shortage, auth) == len(SHORTAGE)
    entries = session.scalars(select(ShortageEntry).order_by(ShortageEntry.id)).all()

    def row(e: ShortageEntry) -> tuple[object, ...]:
        return (e.generic_name, e.dosage_form, e.spec, e.product_code, e.list_kind, e.source, e.listed_on)

    assert [row(e) for e in entries[len(SHORTAGE) :]] == [row(e) for e in entries[: len(SHORTAGE)]]


def test_the_cli_writes_both_sharing_files(app: Flask, session: Session, tmp_path: Path) -> None:
    make_scene(session, payments=False)
    session.commit()
    result = app.test_cli_runner().invoke(args=["sharing", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["listed-prices.xlsx", "shortage-list.xlsx"]
    assert (tmp_path / "listed-prices.xlsx").read_bytes()[:2] == b"PK"
