"""Through the HTTP API: recording and importing first invoices, the chains, invoice images."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from bidding.models import Product
from core.actors import OrgKind, Role
from core.organizations import Organization
from tests.factories import bearer, make_org, make_user
from tests.flows import invoice
from tests.invoices.chain import DELIVERED, Delivered, delivered
from tests.ordering import make_market

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ofd(with_root: bool = True) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("OFD.xml" if with_root else "Doc_0/OFD.xml", "<ofd:OFD/>")
    return buf.getvalue()


@pytest.fixture
def d(session: Session) -> Delivered:
    return delivered(make_market(session))


def auth(d: Delivered, org: Organization, role: Role = Role.OPERATOR) -> dict[str, str]:
    return bearer(d.m.session, make_user(d.m.session, org, role))


def first_invoice(client: FlaskClient, d: Delivered, number: str = "44000001") -> dict:  # type: ignore[type-arg]
    response = client.post(
        "/api/v1/upstream-invoices",
        json={
            "seller_id": d.maker.id,
            "invoice_number": number,
            "issued_on": DELIVERED.isoformat(),
            "tax_rate": "0.13",
            "lines": [{"product_id": d.product_id, "batch_no": "B1", "quantity": 10, "amount": "10.00"}],
        },
        headers=auth(d, d.m.distributor),
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()  # type: ignore[no-any-return]


def test_the_distributor_records_a_first_invoice_and_the_hospital_sees_its_chain(
    client: FlaskClient, d: Delivered
) -> None:
    body = first_invoice(client, d)
    assert (body["status"], body["total"], body["buyer_id"]) == ("recorded", "10.00", d.m.distributor.id)
    again = client.post(
        "/api/v1/upstream-invoices",
        json={
            "seller_id": d.maker.id,
            "invoice_number": "44000001",
            "issued_on": DELIVERED.isoformat(),
            "tax_rate": "0.13",
            "lines": [{"product_id": d.product_id, "batch_no": "B1", "quantity": 1, "amount": "1.00"}],
        },
        headers=auth(d, d.m.distributor),
    )
    assert again.status_code == 409
    chains = client.get("/api/v1/reconciliation/two-invoice", headers=auth(d, d.m.hospital)).get_json()
    assert [(c["invoices"], c["allowed"], c["complete"], c["exceeded"]) for c in chains] == [
        (2, 2, True, False)
    ]
    assert (
        client.get("/api/v1/reconciliation/two-invoice", headers=auth(d, d.m.other_hospital)).get_json() == []
    )
    # The manufacturer confirms; a stranger distributor does not even see the invoice.
    maker = client.post(
        f"/api/v1/upstream-invoices/{body['id']}/decision", json={"confirm": True}, headers=auth(d, d.maker)
    )
    assert maker.get_json()["status"] == "confirmed"
    stranger = client.get(
        f"/api/v1/upstream-invoices/{body['id']}", headers=auth(d, d.m.stranger_distributor)
    )
    assert stranger.status_code == 404


def test_an_import_is_all_or_nothing_with_each_bad_cell_named(client: FlaskClient, d: Delivered) -> None:
    product_code = d.m.session.get_one(Product, d.product_id).code
    header = "销方统一社会信用代码,发票代码,发票号码,开票日期,税率,产品编码,批号,数量,金额\n"
    good = f"{d.maker.uscc},,45000001,{DELIVERED},0.13,{product_code},B1,10,10.00\n"
    bad = f"{d.maker.uscc},,45000002,{DELIVERED},0.13,NO-SUCH-CODE,B1,10,10.00\n"
    headers = auth(d, d.m.distributor)
    refused = client.post(
        "/api/v1/upstream-invoices/import",
        data={"file": (io.BytesIO((header + good + bad).encode()), "first.csv")},
        headers=headers,
    )
    assert refused.status_code == 422
    assert "row 3.product_code" in refused.get_json()["error"]["fields"]
    assert client.get("/api/v1/upstream-invoices", headers=headers).get_json() == []
    accepted = client.post(
        "/api/v1/upstream-invoices/import",
        data={"file": (io.BytesIO((header + good + good.replace(",B1,", ",B2,")).encode()), "first.csv")},
        headers=headers,
    )
    assert accepted.status_code == 201, accepted.get_json()
    assert accepted.get_json() == {"invoices": 1, "lines": 2}


def test_invoice_images_are_sniffed_checksummed_and_served_only_to_the_parties(
    client: FlaskClient, d: Delivered
) -> None:
    first = first_invoice(client, d)
    buyer = auth(d, d.m.distributor)
    url = f"/api/v1/upstream-invoices/{first['id']}/images"
    up = client.post(url, data={"file": (io.BytesIO(PDF), "发票.pdf")}, headers=buyer)
    assert up.status_code == 201, up.get_json()
    image = up.get_json()
    assert (image["content_type"], image["size_bytes"]) == ("application/pdf", len(PDF))
    assert image["sha256"] == hashlib.sha256(PDF).hexdigest()
    # OFD: a zip with OFD.xml at its root; a zip without it is refused (415), as is text.
    assert (
        client.post(url, data={"file": (io.BytesIO(ofd()), "x.ofd")}, headers=buyer).get_json()[
            "content_type"
        ]
        == "application/ofd"
    )
    for data, name in ((ofd(with_root=False), "x.ofd"), (b"hello", "x.pdf")):
        refused = client.post(url, data={"file": (io.BytesIO(data), name)}, headers=buyer)
        assert refused.status_code == 415
        assert "file" in refused.get_json()["error"]["fields"]
    # The extension must not contradict the bytes; the declared type is ignored.
    mismatch = client.post(url, data={"file": (io.BytesIO(PNG), "x.pdf")}, headers=buyer)
    assert mismatch.status_code == 422
    # A replacement points at the old record.
    replaced = client.post(
        url, data={"file": (io.BytesIO(PNG), "scan.png"), "replaces_id": str(image["id"])}, headers=buyer
    )
    assert replaced.get_json()["replaces_id"] == image["id"]
    served = client.get(f"/api/v1/invoice-images/{image['id']}/content", headers=auth(d, d.maker))
    assert served.status_code == 200
    assert served.data == PDF
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("attachment;")
    bureau = auth(d, make_org(d.m.session, OrgKind.BUREAU))
    for outsider in (d.m.hospital, d.m.stranger_distributor):
        assert (
            client.get(f"/api/v1/invoice-images/{image['id']}/content", headers=auth(d, outsider)).status_code
            == 404
        )
    assert (
        bureau is None
        or client.get(f"/api/v1/invoice-images/{image['id']}/content", headers=bureau).status_code == 200
    )


def test_an_image_beyond_the_size_limit_is_refused(client: FlaskClient, d: Delivered, app) -> None:  # type: ignore[no-untyped-def]
    second = invoice(d.m, d.bought, 10, on=DELIVERED + timedelta(days=1))
    config = app.config["VBP"]
    old, config.invoice_image_max_bytes = config.invoice_image_max_bytes, 100
    try:
        response = client.post(
            f"/api/v1/invoices/{second.invoice_id}/images",
            data={"file": (io.BytesIO(PDF + b"0" * 200), "big.pdf")},
            headers=auth(d, d.m.hospital),
        )
    finally:
        config.invoice_image_max_bytes = old
    assert response.status_code == 413
    assert "file" in response.get_json()["error"]["fields"]
    ok = client.post(
        f"/api/v1/invoices/{second.invoice_id}/images",
        data={"file": (io.BytesIO(PNG), "scan.png")},
        headers=auth(d, d.m.hospital),
    )
    assert ok.status_code == 201
    listed = client.get(f"/api/v1/invoices/{second.invoice_id}/images", headers=auth(d, d.m.distributor))
    assert [i["content_type"] for i in listed.get_json()] == ["image/png"]


def test_only_the_bureau_sets_supply_chain_roles(client: FlaskClient, d: Delivered) -> None:
    bureau_org = make_org(d.m.session, OrgKind.BUREAU)
    url = f"/api/v1/organizations/{d.m.hospital.id}/supply-chain-role"
    assert (
        client.put(url, json={"remote_township": True}, headers=auth(d, d.m.distributor)).status_code == 403
    )
    response = client.put(url, json={"remote_township": True}, headers=auth(d, bureau_org))
    assert response.get_json()["remote_township"] is True
