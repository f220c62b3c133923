"""Public disclosure without login: results, listings, the credit list and notices, as pages and
as JSON; pagination with a bounded page size; nothing unpublished."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bidding.models import BatchStatus
from tests.public.scenario import make_scene
from tests.tendering import make_world


def test_anyone_reads_the_published_results_with_winners_prices_and_regions(
    visitor: FlaskClient, session: Session
) -> None:
    scene = make_scene(session, payments=False)
    batch_id = scene.market.world.batch.id
    listed = visitor.get("/api/v1/public/batches").get_json()
    assert [b["id"] for b in listed["items"]] == [batch_id]
    assert listed["items"][0]["status"] == "results_published"
    body = visitor.get(f"/api/v1/public/batches/{batch_id}").get_json()
    (item,) = body["items"]
    assert item["ceiling_unit_price"] == "1.0000"
    assert next((w["rank"], w["manufacturer"], w["unit_price"]) for w in item["winners"]) == (
        1,
        "企业A",
        "0.2000",
    )
    assert item["winners"][0]["pack_price"] == "20.00"
    assert item["winners"][0]["primary_regions"]
    assert item["agreed_total"] > 0
    page = visitor.get(f"/public/batches/{batch_id}").get_data(as_text=True)
    assert "企业A" in page
    assert "0.2000" in page
    assert "中选结果" in page


def test_a_batch_before_publication_is_not_found_anywhere_public(
    visitor: FlaskClient, session: Session
) -> None:
    make_scene(session, payments=False)
    hidden = make_world(session)
    hidden.batch.name = "尚未公布的批次"
    hidden.to(BatchStatus.DEMAND_COLLECTION, hidden.batch.demand_opens_at)
    session.flush()
    for url in (
        f"/api/v1/public/batches/{hidden.batch.id}",
        f"/public/batches/{hidden.batch.id}",
        f"/api/v1/public/ocds/batches/{hidden.batch.id}/tender",
        f"/api/v1/public/ocds/batches/{hidden.batch.id}/record",
    ):
        assert visitor.get(url).status_code == 404, url
    assert "尚未公布的批次" not in visitor.get("/public/batches").get_data(as_text=True)


def test_listings_show_price_and_risk_but_never_a_hospitals_filed_purchase(
    visitor: FlaskClient, session: Session
) -> None:
    scene = make_scene(session, payments=False)
    rows = visitor.get("/api/v1/public/listings?page_size=100").get_json()["items"]
    assert rows
    assert {r["mode"] for r in rows} == {"volume_based"}
    primary = next(r for r in rows if r["supply_role"] == "primary")
    assert primary["pack_price"] == "20.00"
    assert primary["manufacturer"] == "企业A"
    assert "price_risk" in primary
    assert "id" not in primary
    assert scene.market.hospital.name not in visitor.get("/public/listings").get_data(as_text=True)
    searched = visitor.get("/api/v1/public/listings?q=企业B").get_json()["items"]
    assert {r["manufacturer"] for r in searched} == {"企业B"}


def test_the_credit_list_shows_grade_and_repair_state_but_not_the_amount(
    visitor: FlaskClient, session: Session
) -> None:
    make_scene(session, payments=False)
    rows = visitor.get("/api/v1/public/credit-ratings").get_json()["items"]
    assert {(r["enterprise"], r["grade"], r["state"]) for r in rows} == {
        ("企业A", "serious", "in_force"),
        ("企业B", "shixin", "repaired"),
    }
    assert all("amount" not in key for r in rows for key in r)
    page = visitor.get("/public/credit").get_data(as_text=True)
    assert "已修复 (repaired)" in page
    assert "生效中 (in force)" in page
    assert "600,000" not in page


def test_only_published_notices_are_public(visitor: FlaskClient, session: Session) -> None:
    scene = make_scene(session, payments=False)
    titles = [n["title"] for n in visitor.get("/api/v1/public/notices").get_json()["items"]]
    assert titles == ["第一批集采结果公告"]
    assert visitor.get(f"/api/v1/public/notices/{scene.published_notice}").status_code == 200
    for hidden in (scene.draft_notice, scene.withdrawn_notice):
        assert visitor.get(f"/api/v1/public/notices/{hidden}").status_code == 404
        assert visitor.get(f"/public/notices/{hidden}").status_code == 404
    assert "第二段。" in visitor.get(f"/public/notices/{scene.published_notice}").get_data(as_text=True)


def test_pages_are_bounded_and_a_bad_page_parameter_is_a_400_naming_it(
    visitor: FlaskClient, session: Session
) -> None:
    make_scene(session, payments=False)
    first = visitor.get("/api/v1/public/credit-ratings?page=1&page_size=1").get_json()
    second = visitor.get("/api/v1/public/credit-ratings?page=2&page_size=1").get_json()
    assert (first["total"], len(first["items"]), len(second["items"])) == (2, 1, 1)
    assert first["items"] != second["items"]
    assert visitor.get("/api/v1/public/credit-ratings?page=3&page_size=1").get_json()["items"] == []
    for query, name in (("page_size=101", "page_size"), ("page_size=0", "page_size"), ("page=x", "page"),
                        ("page=-1", "page"), ("page_size=1e3", "page_size")):  # fmt: skip
        answer = visitor.get(f"/api/v1/public/listings?{query}")
        assert answer.status_code == 400, query
        assert answer.get_json()["error"]["code"] == "bad_query"
        assert list(answer.get_json()["error"]["fields"]) == [name]
        page = visitor.get(f"/public/listings?{query}")
        assert page.status_code == 400
        assert name in page.get_data(as_text=True)
    assert visitor.get("/api/v1/public/listings?q=" + "长" * 51).get_json()["error"]["fields"].keys() == {"q"}
    more = visitor.get("/public/credit?page_size=1").get_data(as_text=True)
    assert "page=2" in more
    assert "第 1 / 2 页" in more


def test_the_public_api_is_in_the_openapi_document(visitor: FlaskClient) -> None:
    paths = visitor.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/public/batches", "/api/v1/public/listings", "/api/v1/public/credit-ratings"} <= set(
        paths
    )
    assert "/api/v1/public/ocds/batches/{batch_id}/{stage}" in paths
