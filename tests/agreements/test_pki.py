"""The platform CA lives in files (key encrypted), `flask pki init` never replaces it, and a
PKCS#12 is accepted only when it chains to a trust root."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from flask import Flask

from app import create_app
from app.config import Config
from app.db import get_db
from core import pki
from core.errors import ValidationFailed
from tests.agreements.conftest import NOW


def test_pki_init_creates_the_ca_once_with_its_key_encrypted(tmp_path: Path, database_url: str) -> None:
    app: Flask = create_app(
        Config(env="testing", database_url=database_url, secret_key="s" * 40, instance_path=str(tmp_path))
    )
    runner = app.test_cli_runner()
    first = runner.invoke(args=["pki", "init"])
    again = runner.invoke(args=["pki", "init"])
    assert first.exit_code == 0, first.output
    assert "已创建" in first.output
    assert "已存在" in again.output
    key_file = tmp_path / "pki" / pki.CA_KEY_FILE
    assert key_file.read_bytes().startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert key_file.stat().st_mode & 0o077 == 0
    fingerprint = first.output.split("SHA-256 ")[1].strip()
    assert again.output.split("SHA-256 ")[1].strip() == fingerprint
    get_db(app).engine.dispose()


def test_a_pkcs12_from_an_untrusted_ca_or_with_a_wrong_password_is_refused(test_ca: pki.PlatformCA) -> None:
    other = pki.create_ca(name="外部CA", now=NOW - timedelta(days=1))
    good = pki.issue_signer(test_ca, org_name="医院", org_code="H", now=NOW)
    bad = pki.issue_signer(other, org_name="医院", org_code="H", now=NOW)

    def p12(c: pki.Credential) -> bytes:
        return pkcs12.serialize_key_and_certificates(
            b"x", c.key, c.cert, list(c.chain), BestAvailableEncryption(b"pw")
        )

    imported = pki.import_pkcs12(p12(good), "pw", roots=[test_ca.cert], now=NOW)
    assert pki.fingerprint(imported.cert) == pki.fingerprint(good.cert)
    assert [pki.fingerprint(c) for c in imported.chain] == [pki.fingerprint(test_ca.cert)]
    for data, password in ((p12(bad), "pw"), (p12(good), "wrong"), (b"not a pkcs12", "pw")):
        with pytest.raises(ValidationFailed) as caught:
            pki.import_pkcs12(data, password, roots=[test_ca.cert], now=NOW)
        assert list(caught.value.fields) == ["file"]
    with pytest.raises(ValidationFailed):  # expired by the time it is imported
        pki.import_pkcs12(p12(good), "pw", roots=[test_ca.cert], now=NOW + timedelta(days=3 * 366))
