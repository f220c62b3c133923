"""Pages of agreements signed online: a hospital signs from its page, the bureau generates from
its list, a stranger checks a PDF on the public verification page."""

from __future__ import annotations

import io
import re

from flask.testing import FlaskClient

from core.actors import Role
from core.organizations import Organization
from ledger.contracts import queries
from ledger.contracts.models import AgreementStatus
from reports import agreement_signing
from tests.agreements.conftest import NOW, Scene
from tests.factories import login, make_org, make_user


def _csrf(client: FlaskClient, url: str) -> str:
    page = client.get(url).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, url
    return found.group(1)


def test_the_parties_sign_from_their_pages_and_a_stranger_verifies_the_pdf(
    client: FlaskClient, scene: Scene
) -> None:
    bureau_user = make_user(scene.session, make_org(scene.session, scene.bureau.org_kind), Role.OPERATOR)
    scene.session.commit()
    login(client, bureau_user)
    token = _csrf(client, "/procurement-agreements")
    made = client.post(
        "/procurement-agreements/generate", data={"csrf_token": token, "batch_id": scene.world.batch.id}
    )
    assert made.status_code == 302
    listing = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "新生成购销协议" in listing
    assert "待签署" in listing
    client.post("/logout", data={"csrf_token": _csrf(client, "/procurement-agreements")})

    agreement = queries.list_agreements(scene.session, scene.bureau)[0]
    url = f"/procurement-agreements/{agreement.id}"
    for org_id in (agreement.hospital_id, agreement.manufacturer_id):
        user = make_user(scene.session, scene.session.get_one(Organization, org_id), Role.OPERATOR)
        scene.session.commit()
        login(client, user)
        assert "以本单位证书签署" in client.get(url).get_data(as_text=True)
        signed = client.post(f"{url}/sign", data={"csrf_token": _csrf(client, url)})
        assert signed.status_code == 302
        client.post("/logout", data={"csrf_token": _csrf(client, url)})
    scene.session.expire_all()
    assert scene.session.get_one(type(agreement), agreement.id).status is AgreementStatus.SIGNED
    pdf = queries.latest_document(scene.session, agreement.id).pdf

    page = client.get("/verify/agreements")
    assert page.status_code == 200
    assert "购销协议验证" in page.get_data(as_text=True)
    assert 'name="csrf_token"' not in page.get_data(as_text=True)  # a public page: no session
    checked = client.post(
        "/verify/agreements",
        data={"file": (io.BytesIO(pdf), "a.pdf")},
        content_type="multipart/form-data",
    )
    text = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "验证通过" in text
    assert agreement.number in text
    changed = bytearray(pdf)
    changed[len(changed) // 2] ^= 1
    refused = client.post(
        "/verify/agreements",
        data={"file": (io.BytesIO(bytes(changed)), "a.pdf")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "验证未通过" in refused


def test_another_hospital_gets_404_on_the_page(client: FlaskClient, scene: Scene) -> None:
    agreement = agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)[0]
    stranger = make_user(scene.session, make_org(scene.session, region_code="510104"))
    scene.session.commit()
    login(client, stranger)
    assert client.get(f"/procurement-agreements/{agreement.id}").status_code == 404
    assert client.get(f"/procurement-agreements/{agreement.id}/agreement.pdf").status_code == 404
    assert agreement.number not in client.get("/procurement-agreements").get_data(as_text=True)
