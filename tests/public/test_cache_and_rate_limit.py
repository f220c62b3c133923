"""The public answers' cache never serves a private answer and never sets a cookie; the rate
limit counts per client address (behind the configured proxies), answering 429 with Retry-After."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from app.config import Config
from app.db import get_db
from core import notices
from core.actors import OrgKind
from tests.factories import login, make_org, make_user
from tests.ordering import NOW
from tests.public.conftest import new_address


def test_a_signed_in_visitor_gets_the_anonymous_answer_and_no_cookie(
    app: Flask, visitor: FlaskClient, session: Session
) -> None:
    bureau = make_user(
        session, make_org(session, OrgKind.BUREAU, name="省医保局甲"), username="bureau-public"
    )
    session.commit()
    signed_in = app.test_client()
    signed_in.environ_base["REMOTE_ADDR"] = new_address()
    login(signed_in, bureau)
    for url in ("/public/", "/public/notices", "/api/v1/public/notices"):
        mine = signed_in.get(url)
        assert mine.status_code == 200
        assert "Set-Cookie" not in mine.headers, url
        text = mine.get_data(as_text=True)
        assert "省医保局甲" not in text
        assert "bureau-public" not in text
        assert "退出" not in text
        assert mine.get_data() == visitor.get(url).get_data()
        assert mine.headers["Cache-Control"].startswith("public, max-age=")


def test_an_answer_is_reused_for_its_url_until_the_cache_is_cleared(
    app: Flask, visitor: FlaskClient, session: Session
) -> None:
    bureau = make_org(session, OrgKind.BUREAU)
    from tests.factories import actor_of

    writer = actor_of(make_user(session, bureau))
    before = visitor.get("/api/v1/public/notices").get_json()["total"]
    notice = notices.create_notice(session, writer, title="新公告", body="正文", now=NOW)
    notices.publish_notice(session, writer, notice.id, now=NOW)
    session.commit()
    assert visitor.get("/api/v1/public/notices").get_json()["total"] == before  # the cached answer
    assert visitor.get("/api/v1/public/notices?page=1").get_json()["total"] == before + 1  # another URL
    app.extensions["vbp.public_cache"].clear()
    assert visitor.get("/api/v1/public/notices").get_json()["total"] == before + 1


def test_an_error_answer_is_not_cached(visitor: FlaskClient, session: Session) -> None:
    assert visitor.get("/api/v1/public/notices/987654321").status_code == 404
    assert visitor.get("/api/v1/public/listings?page_size=0").status_code == 400
    assert visitor.get("/api/v1/public/listings?page_size=0").status_code == 400


@pytest.fixture
def tight_limit(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.config["VBP"], "public_rate_limit", "3 per minute")


def test_the_fourth_request_in_a_minute_is_refused_with_retry_after(
    visitor: FlaskClient, tight_limit: None
) -> None:
    answers = [
        visitor.get(url).status_code for url in ("/public/", "/api/v1/public/notices", "/public/credit")
    ]
    assert answers == [200, 200, 200]
    refused = visitor.get("/api/v1/public/batches")  # one limit shared by every public route
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    other = visitor.get("/public/", environ_base={"REMOTE_ADDR": new_address()})
    assert other.status_code == 200  # another client address has its own count
    assert visitor.get("/api/v1/auth/me").status_code == 401  # the rest of the platform is not limited


def test_forwarded_addresses_are_ignored_unless_a_proxy_is_configured(
    visitor: FlaskClient, tight_limit: None
) -> None:
    for n in range(3):
        assert visitor.get("/public/", headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code == 200
    assert visitor.get("/public/", headers={"X-Forwarded-For": "192.0.2.99"}).status_code == 429


@pytest.fixture
def proxied_app(database_url: str) -> Iterator[Flask]:
    config = Config(
        env="testing",
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        instance_path=tempfile.mkdtemp(),
        proxy_count=1,
        public_rate_limit="2 per minute",
    )
    application = create_app(config)
    yield application
    get_db(application).engine.dispose()


def test_behind_the_configured_proxy_each_forwarded_client_has_its_own_limit(proxied_app: Flask) -> None:
    client = proxied_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.0.0.1"  # the proxy
    first, second = new_address(), new_address()
    codes = [client.get("/public/", headers={"X-Forwarded-For": first}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert client.get("/public/", headers={"X-Forwarded-For": second}).status_code == 200


def test_a_cached_file_keeps_its_name(visitor: FlaskClient, session: Session) -> None:
    first = visitor.get("/api/v1/public/sharing/shortage.xlsx")
    again = visitor.get("/api/v1/public/sharing/shortage.xlsx")
    assert again.get_data() == first.get_data()
    assert again.headers["Content-Disposition"] == first.headers["Content-Disposition"]
    assert "shortage-list.xlsx" in again.headers["Content-Disposition"]


def test_the_agreement_verification_routes_share_the_public_limit(
    app: Flask, visitor: FlaskClient, tight_limit: None
) -> None:
    """The public verification of a signed agreement (API and page) counts against the one public
    limit of the client address, and opens no session."""
    assert visitor.get("/public/").status_code == 200
    page = visitor.get("/verify/agreements")
    assert page.status_code == 200
    assert "Set-Cookie" not in page.headers
    assert 'name="csrf_token"' not in page.get_data(as_text=True)  # no session: nothing to forge
    upload = {"file": (io.BytesIO(b"%PDF-1.7 not signed"), "a.pdf")}
    checked = visitor.post("/api/v1/procurement-agreements/verify", data=upload)
    assert checked.status_code == 200
    assert checked.get_json()["valid"] is False
    assert "Set-Cookie" not in checked.headers
    refused = visitor.post(
        "/api/v1/procurement-agreements/verify", data={"file": (io.BytesIO(b"%PDF-1.7"), "a.pdf")}
    )
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.get_json()["error"]["code"] == "too_many_requests"
    assert visitor.get("/verify/agreements").status_code == 429
    assert visitor.get("/public/").status_code == 429  # one count for all the public routes
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = new_address()
    assert other.get("/verify/agreements").status_code == 200  # another address, its own count
    assert visitor.get("/api/v1/auth/me").status_code == 401  # the rest of the platform is not limited


def test_the_agreement_verification_reads_no_session(
    app: Flask, visitor: FlaskClient, session: Session
) -> None:
    """The page's form needs no CSRF token (there is no session to ride on, and checking changes
    nothing); a signed-in visitor's cookie is neither read nor refreshed."""
    answer = visitor.post(
        "/verify/agreements",
        data={"file": (io.BytesIO(b"%PDF-1.7 not signed"), "a.pdf")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 200
    assert "验证未通过" in answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), username="bureau-verifies")
    session.commit()
    signed_in = app.test_client()
    signed_in.environ_base["REMOTE_ADDR"] = new_address()
    login(signed_in, bureau)
    upload = {"file": (io.BytesIO(b"%PDF-1.7 not signed"), "a.pdf")}
    checked = signed_in.post("/api/v1/procurement-agreements/verify", data=upload)
    assert checked.status_code == 200  # no CSRF header asked of a cookie it does not read
    assert "Set-Cookie" not in checked.headers
    assert "Set-Cookie" not in signed_in.get("/verify/agreements").headers
