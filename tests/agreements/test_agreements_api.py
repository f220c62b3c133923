"""The agreements API: the bureau generates, each party reads and signs its own (others 404),
signing is idempotent with a key, anyone verifies a PDF, admins import a PKCS#12."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app import pki as app_pki
from core import clock, pki
from core.actors import OrgKind, Role
from core.organizations import User
from ledger.contracts.models import AgreementDocument, ProcurementAgreement
from tests.agreements.conftest import Scene
from tests.factories import bearer, make_org, make_user


def _headers(session: Session, org_id: int, role: Role = Role.OPERATOR) -> dict[str, str]:
    from core.organizations import Organization

    return bearer(session, make_user(session, session.get_one(Organization, org_id), role))


def _bureau(scene: Scene) -> dict[str, str]:
    return bearer(scene.session, scene.session.get_one(User, scene.bureau.user_id))


def _generate(client: FlaskClient, scene: Scene) -> list[dict]:
    response = client.post(
        f"/api/v1/batches/{scene.world.batch.id}/procurement-agreements", headers=_bureau(scene)
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def _upload(pdf: bytes) -> dict[str, object]:
    return {"file": (io.BytesIO(pdf), "agreement.pdf")}


def test_generate_sign_and_verify_through_the_api(client: FlaskClient, scene: Scene) -> None:
    made = _generate(client, scene)
    assert _generate(client, scene) == []
    agreement = made[0]
    assert agreement["status"] == "generated"
    assert agreement["lines"][0]["unit_price"].count(".") == 1
    hospital = _headers(scene.session, agreement["hospital_id"])
    maker = _headers(scene.session, agreement["manufacturer_id"])
    scene.session.commit()

    url = f"/api/v1/procurement-agreements/{agreement['id']}/sign"
    first = client.post(url, headers={**hospital, "Idempotency-Key": "sign-1"})
    assert first.status_code == 201, first.get_json()
    again = client.post(url, headers={**hospital, "Idempotency-Key": "sign-1"})
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    second = client.post(url, headers={**maker, "Idempotency-Key": "sign-2"})
    assert second.get_json()["version"] == 3
    assert second.get_json()["signed_by"] == "enterprise"
    shown = client.get(f"/api/v1/procurement-agreements/{agreement['id']}", headers=hospital).get_json()
    assert shown["status"] == "signed"
    assert shown["status_label"] == "双方已签署"

    pdf = client.get(f"/api/v1/procurement-agreements/{agreement['id']}/pdf", headers=maker)
    assert pdf.mimetype == "application/pdf"
    assert pdf.headers["X-Document-Version"] == "3"
    verdict = client.post("/api/v1/procurement-agreements/verify", data=_upload(pdf.data))
    body = verdict.get_json()
    assert verdict.status_code == 200
    assert body["valid"] is True, body
    assert [s["ok"] for s in body["signatures"]] == [True, True]
    assert body["agreement"]["number"] == agreement["number"]
    assert body["agreement"]["current"] is True
    assert "amount" not in body["agreement"]

    changed = bytearray(pdf.data)
    changed[len(changed) // 2] ^= 0x01
    broken = client.post("/api/v1/procurement-agreements/verify", data=_upload(bytes(changed))).get_json()
    assert broken["valid"] is False
    assert broken["agreement"] is None
    assert broken["problems"]


def test_another_hospital_sees_none_of_it(client: FlaskClient, scene: Scene) -> None:
    agreement = _generate(client, scene)[0]
    stranger = bearer(scene.session, make_user(scene.session, make_org(scene.session, region_code="510104")))
    own = _headers(scene.session, agreement["hospital_id"])
    distributor = bearer(scene.session, make_user(scene.session, scene.distributor))
    scene.session.commit()
    base = f"/api/v1/procurement-agreements/{agreement['id']}"
    assert client.get(base, headers=stranger).status_code == 404
    assert client.get(f"{base}/pdf", headers=stranger).status_code == 404
    assert client.post(f"{base}/sign", headers=stranger).status_code == 404
    assert client.get("/api/v1/procurement-agreements", headers=stranger).get_json() == []
    assert client.get("/api/v1/procurement-agreements", headers=distributor).status_code == 403
    mine = client.get("/api/v1/procurement-agreements", headers=own).get_json()
    assert {a["hospital_id"] for a in mine} == {agreement["hospital_id"]}
    everything = client.get("/api/v1/procurement-agreements?page_size=100", headers=_bureau(scene)).get_json()
    assert len(everything) == scene.session.scalar(select(func.count()).select_from(ProcurementAgreement))


def test_the_bureau_cannot_sign_and_nothing_changes(client: FlaskClient, scene: Scene) -> None:
    agreement = _generate(client, scene)[0]
    bureau_writer = bearer(scene.session, make_user(scene.session, make_org(scene.session, OrgKind.BUREAU)))
    scene.session.commit()
    refused = client.post(f"/api/v1/procurement-agreements/{agreement['id']}/sign", headers=bureau_writer)
    assert refused.status_code == 403
    versions = scene.session.scalar(
        select(func.count()).where(AgreementDocument.agreement_id == agreement["id"])
    )
    assert versions == 1


def _p12(credential: pki.Credential, password: bytes) -> bytes:
    return pkcs12.serialize_key_and_certificates(
        b"org", credential.key, credential.cert, list(credential.chain), BestAvailableEncryption(password)
    )


def test_an_admin_imports_a_pkcs12_that_chains_to_the_platform_ca(
    app: Flask, client: FlaskClient, scene: Scene
) -> None:
    hospital = scene.world.hospitals[0]
    admin = bearer(scene.session, make_user(scene.session, hospital, Role.ADMIN))
    operator = bearer(scene.session, make_user(scene.session, hospital, Role.OPERATOR))
    scene.session.commit()
    with app.app_context():
        ca = app_pki.platform_ca()
    now = clock.now()
    good = _p12(pki.issue_signer(ca, org_name=hospital.name, org_code=hospital.uscc, now=now), b"s3cret-pass")
    stranger_ca = pki.create_ca(name="不受信任的CA", now=now - timedelta(days=1))
    untrusted = _p12(
        pki.issue_signer(stranger_ca, org_name=hospital.name, org_code="X", now=now), b"s3cret-pass"
    )

    def send(data: bytes, password: str, headers: dict[str, str]) -> object:
        return client.post(
            "/api/v1/signing-certificates",
            data={"file": (io.BytesIO(data), "org.p12"), "password": password},
            headers=headers,
        )

    refused = send(untrusted, "s3cret-pass", admin)
    assert refused.status_code == 422
    assert "file" in refused.get_json()["error"]["fields"]
    wrong = send(good, "wrong", admin)
    assert wrong.status_code == 422
    assert "file" in wrong.get_json()["error"]["fields"]
    assert send(good, "s3cret-pass", operator).status_code == 403
    accepted = send(good, "s3cret-pass", admin)
    assert accepted.status_code == 201, accepted.get_json()
    listed = client.get("/api/v1/signing-certificates", headers=operator).get_json()
    assert [(c["source"], c["active"]) for c in listed] == [("imported", True)]
    assert "key_pkcs8" not in listed[0]


@pytest.mark.parametrize("payload", [b"", b"%PDF-1.7 not really"])
def test_verifying_something_that_is_not_a_signed_pdf_says_so(client: FlaskClient, payload: bytes) -> None:
    response = client.post("/api/v1/procurement-agreements/verify", data=_upload(payload))
    if payload:
        assert response.status_code == 200
        assert response.get_json()["valid"] is False
    else:
        assert response.status_code == 422
