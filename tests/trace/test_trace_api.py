"""Traceability codes through the HTTP API: attach (JSON and file), the count and duplicate rules,
a code delivered twice is a warning raised in the same request, the match at receipt, release by
rejection and return and shipping again, downloads, and who may see what."""

import io
from collections.abc import Callable

from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from ledger.models import ShipmentLine
from ledger.supervision.models import SupervisionWarning
from ledger.trace.models import TraceCode, TraceCodeState, TraceMatch
from tests.ordering import Market
from tests.trace.conftest import domestic, headers

Ship = Callable[..., ShipmentLine]


def _attach(client: FlaskClient, session: Session, m: Market, line_id: int, codes: list[str]) -> object:
    return client.post(
        f"/api/v1/shipment-lines/{line_id}/trace-codes",
        json={"codes": codes},
        headers=headers(session, m.distributor_actor),
    )


def _receive(client: FlaskClient, session: Session, m: Market, line_id: int, **body: object) -> object:
    return client.post(
        f"/api/v1/shipment-lines/{line_id}/receipt", json=body, headers=headers(session, m.hospital_actor)
    )


def _states(session: Session, line_id: int) -> dict[str, int]:
    rows = session.execute(
        select(TraceCode.state, func.count())
        .where(TraceCode.shipment_line_id == line_id)
        .group_by(TraceCode.state)
    )
    return {state.value: n for state, n in rows}


def test_100000_codes_are_attached_by_file_and_matched_at_receipt(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(100_000)
    codes = domestic(100_000)
    # Encoded in memory: the test client would spool a body this size to a temporary file it
    # never closes (a ResourceWarning at some later garbage collection).
    boundary, body = encode_multipart(
        {"file": FileStorage(io.BytesIO(("追溯码\n" + "\n".join(codes)).encode()), "codes.csv")}
    )
    upload = client.post(
        f"/api/v1/shipment-lines/{line.id}/trace-codes/upload",
        data=body,
        headers=headers(session, market.distributor_actor),
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert upload.status_code == 201, upload.get_json()
    assert upload.get_json()["count"] == 100_000
    scan = codes[:99_998] + domestic(1, start=5_000_000)  # two labels unreadable, one stray
    receipt = _receive(client, session, market, line.id, accepted_quantity=100_000, scanned_codes=scan)
    assert receipt.status_code == 201, receipt.get_json()
    match = receipt.get_json()["trace_match"]
    assert (match["kept_count"], match["missing_count"], match["extra_count"]) == (100_000, 2, 1)
    assert match["missing"] == codes[99_998:]
    assert _states(session, line.id) == {"kept": 100_000}


def test_json_attach_of_100000_codes_is_accepted(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(100_000)
    response = _attach(client, session, market, line.id, domestic(100_000, start=7))
    assert response.status_code == 201, response.get_json()


def test_count_must_equal_the_packs_shipped_and_nothing_is_written(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(3)
    response = _attach(client, session, market, line.id, domestic(2))
    assert response.status_code == 422
    assert "codes" in response.get_json()["error"]["fields"]
    assert _states(session, line.id) == {}


def test_malformed_codes_are_listed_by_position(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(3)
    response = _attach(client, session, market, line.id, [*domestic(2), "7" * 20])
    assert response.status_code == 422
    assert any(m.startswith("3: 777") for m in response.get_json()["error"]["fields"]["codes"])


def test_a_code_twice_in_one_upload_is_refused(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(2)
    twice = domestic(1) * 2
    response = _attach(client, session, market, line.id, twice)
    assert response.status_code == 422
    assert twice[0] in response.get_json()["error"]["fields"]["codes"]
    assert _states(session, line.id) == {}


def test_a_code_delivered_twice_is_refused_and_warned_in_the_same_request(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    first, second = shipped(2), shipped(2, hospital=market.other_hospital_actor)
    assert _attach(client, session, market, first.id, domestic(2)).status_code == 201
    again = _attach(client, session, market, second.id, domestic(2, start=1))
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "duplicate_trace_code"
    session.expire_all()
    warning = session.scalars(
        select(SupervisionWarning).where(SupervisionWarning.rule == "duplicate_trace_code")
    ).one()
    assert warning.subject_key == f"trace_code:{domestic(1, start=1)[0]}"
    assert warning.org_id == market.distributor.id
    assert {r["id"] for r in warning.evidence["records"]} == {first.id, second.id}
    assert _states(session, second.id) == {}


def test_attaching_again_before_receipt_supersedes_the_set(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(2)
    assert _attach(client, session, market, line.id, domestic(2)).status_code == 201
    again = _attach(client, session, market, line.id, domestic(2, start=1))
    assert (again.status_code, again.get_json()["superseded"]) == (201, 2)
    assert _states(session, line.id) == {"in_transit": 2, "superseded": 2}
    assert _receive(client, session, market, line.id, accepted_quantity=2).status_code == 201
    late = _attach(client, session, market, line.id, domestic(2, start=9))
    assert late.status_code == 409


def test_partial_rejection_keeps_the_scanned_codes_and_releases_the_rest_which_may_ship_again(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(4)
    codes = domestic(4)
    assert _attach(client, session, market, line.id, codes).status_code == 201
    no_scan = _receive(
        client, session, market, line.id, accepted_quantity=3, rejected_quantity=1, reason_code="damaged"
    )
    assert no_scan.status_code == 422
    assert "scanned_codes" in no_scan.get_json()["error"]["fields"]
    foreign_line = shipped(1, hospital=market.other_hospital_actor)
    foreign = domestic(1, start=900)
    assert _attach(client, session, market, foreign_line.id, foreign).status_code == 201
    done = _receive(
        client,
        session,
        market,
        line.id,
        accepted_quantity=3,
        rejected_quantity=1,
        reason_code="damaged",
        scanned_codes=[*codes[:3], *foreign],
    )
    assert done.status_code == 201, done.get_json()
    match = done.get_json()["trace_match"]
    assert (match["kept_count"], match["released_count"], match["foreign"]) == (3, 1, foreign)
    assert _states(session, line.id) == {"kept": 3, "rejected": 1}
    reship = shipped(1)
    assert _attach(client, session, market, reship.id, codes[3:]).status_code == 201


def test_a_return_names_its_codes_and_releases_them(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(2)
    codes = domestic(2)
    _attach(client, session, market, line.id, codes)
    receipt_id = _receive(client, session, market, line.id, accepted_quantity=2).get_json()["id"]
    url = f"/api/v1/receipt-lines/{receipt_id}/returns"
    hospital = headers(session, market.hospital_actor)
    unnamed = client.post(url, json={"quantity": 1, "reason": "质量问题"}, headers=hospital)
    assert unnamed.status_code == 422
    assert "trace_codes" in unnamed.get_json()["error"]["fields"]
    named = client.post(
        url, json={"quantity": 1, "reason": "质量问题", "trace_codes": codes[:1]}, headers=hospital
    )
    assert named.status_code == 201, named.get_json()
    assert _states(session, line.id) == {"kept": 1, "returned": 1}
    assert _attach(client, session, market, shipped(1).id, codes[:1]).status_code == 201


def test_the_hospital_downloads_what_it_kept(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(2)
    _attach(client, session, market, line.id, domestic(2))
    _receive(client, session, market, line.id, accepted_quantity=2)
    hospital = headers(session, market.hospital_actor)
    csv = client.get("/api/v1/trace-codes/kept", headers=hospital)
    assert csv.status_code == 200
    assert csv.data.decode("utf-8-sig").splitlines()[1].startswith(domestic(1)[0])
    xlsx = client.get("/api/v1/trace-codes/kept?format=xlsx", headers=hospital)
    assert xlsx.status_code == 200
    assert xlsx.data.startswith(b"PK")
    other = client.get("/api/v1/trace-codes/kept", headers=headers(session, market.other_hospital_actor))
    assert len(other.data.decode("utf-8-sig").splitlines()) == 1


def test_an_xlsx_upload_is_read_from_its_first_column(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(2)
    book = Workbook()
    sheet = book.active
    for code in ["追溯码", *domestic(2)]:
        sheet.append([code])
    buffer = io.BytesIO()
    book.save(buffer)
    response = client.post(
        f"/api/v1/shipment-lines/{line.id}/trace-codes/upload",
        data={"file": (io.BytesIO(buffer.getvalue()), "codes.xlsx")},
        headers=headers(session, market.distributor_actor),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()


def test_another_distributor_or_hospital_gets_404(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    from tests.flows import another_distributor

    line = shipped(1)
    _attach(client, session, market, line.id, domestic(1))
    stranger = another_distributor(market)
    refused = client.post(
        f"/api/v1/shipment-lines/{line.id}/trace-codes",
        json={"codes": domestic(1, start=3)},
        headers=headers(session, stranger),
    )
    assert refused.status_code == 404
    other = headers(session, market.other_hospital_actor)
    assert client.get(f"/api/v1/shipment-lines/{line.id}/trace-codes", headers=other).status_code == 404
    mine = client.get(
        f"/api/v1/shipment-lines/{line.id}/trace-codes", headers=headers(session, market.hospital_actor)
    )
    assert mine.status_code == 200
    assert len(mine.get_json()) == 1
    assert session.scalar(select(func.count()).select_from(TraceMatch)) == 0
    assert TraceCodeState.IN_TRANSIT.value in {c["state"] for c in mine.get_json()}


def test_the_receipt_takes_its_scan_as_a_file(
    client: FlaskClient, session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(2)
    codes = domestic(2)
    _attach(client, session, market, line.id, codes)
    url = f"/api/v1/shipment-lines/{line.id}/receipt/upload"
    hospital = headers(session, market.hospital_actor)
    bad = client.post(
        url,
        data={"file": (io.BytesIO(codes[0].encode()), "scan.txt")},
        headers=hospital,
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422
    assert "accepted_quantity" in bad.get_json()["error"]["fields"]
    done = client.post(
        url,
        data={"accepted_quantity": "2", "file": (io.BytesIO(codes[0].encode()), "scan.txt")},
        headers=hospital,
        content_type="multipart/form-data",
    )
    assert done.status_code == 201, done.get_json()
    assert done.get_json()["trace_match"]["missing"] == codes[1:]
    match = client.get(f"/api/v1/shipment-lines/{line.id}/trace-match", headers=hospital)
    assert match.get_json()["kept_count"] == 2
