"""Under the domestic suite (VBP_CRYPTO_SUITE=sm) each party's signed PDF also carries its SM2
signature (with SM3), stored with the version and checked by the public verification; versions
signed under the standard suite carry none and still verify after a switch."""

from __future__ import annotations

import base64
from datetime import timedelta

from core import crypto_suites
from ledger.contracts.models import AgreementDocument, ProcurementAgreement, SigningCertificate
from ledger.contracts.sm2 import problem
from reports import agreement_signing
from reports.agreement_signing import Pki
from tests.agreements.conftest import NOW, Scene

AFTER = NOW + timedelta(hours=2)


def _sign_both(scene: Scene, keys: Pki) -> tuple[ProcurementAgreement, list[AgreementDocument]]:
    agreement = agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)[0]
    hospital, maker = scene.party(agreement.hospital_id), scene.party(agreement.manufacturer_id)
    first = agreement_signing.sign(scene.session, hospital, agreement.id, keys=keys, now=NOW)
    later = NOW + timedelta(hours=1)
    second = agreement_signing.sign(scene.session, maker, agreement.id, keys=keys, now=later)
    return agreement, [first, second]


def test_under_the_domestic_suite_each_signed_version_carries_its_partys_sm2_signature(
    scene: Scene, keys: Pki
) -> None:
    crypto_suites.configure(crypto_suites.SM)
    agreement, documents = _sign_both(scene, keys)
    sm3 = crypto_suites.get(crypto_suites.SM)
    for document in documents:
        extra = document.extra_signature
        assert extra is not None
        assert (extra["suite"], extra["algorithm"]) == ("sm", "SM2-with-SM3")
        assert extra["sm3"] == sm3.digest(document.pdf)
        # The signature verifies with the party's SM2 public key over these exact bytes.
        crypto_suites.verify(
            extra["public_key"], document.pdf, base64.b64decode(extra["signature"]), suite="sm"
        )
    # Each party signed with its own key, kept beside its certificate (private part sealed).
    rows = {
        row.fingerprint: row
        for row in scene.session.query(SigningCertificate).filter(
            SigningCertificate.org_id.in_((agreement.hospital_id, agreement.manufacturer_id))
        )
    }
    signers = {d.extra_signature["certificate_fingerprint"] for d in documents if d.extra_signature}
    assert len(signers) == 2
    for fingerprint in signers:
        row = rows[fingerprint]
        assert row.sm2_public_pem is not None
        assert row.sm2_key_sealed is not None
        assert b"PRIVATE KEY" not in row.sm2_key_sealed
    result = agreement_signing.verify(scene.session, documents[-1].pdf, roots=keys.roots, now=AFTER)
    assert result.valid, result.problems


def test_a_forged_or_mismatched_sm2_signature_is_reported(scene: Scene, keys: Pki) -> None:
    crypto_suites.configure(crypto_suites.SM)
    _, documents = _sign_both(scene, keys)
    document = documents[-1]
    extra = dict(document.extra_signature or {})
    assert problem(extra, document.pdf) is None
    other = documents[0].extra_signature or {}
    forged = {**extra, "signature": other["signature"]}  # the first version's signature
    assert "SM2" in (problem(forged, document.pdf) or "")
    assert "SM3" in (problem(extra, documents[0].pdf) or "")  # another file than the one signed
    # Stored with the version: a verification of this file reports the forgery.
    document.extra_signature = forged
    scene.session.flush()
    result = agreement_signing.verify(scene.session, document.pdf, roots=keys.roots, now=AFTER)
    assert not result.valid
    assert any("SM2" in p for p in result.problems)


def test_versions_signed_under_the_standard_suite_still_verify_after_the_switch(
    scene: Scene, keys: Pki
) -> None:
    crypto_suites.configure(crypto_suites.STANDARD)
    _, documents = _sign_both(scene, keys)
    assert [d.extra_signature for d in documents] == [None, None]
    crypto_suites.configure(crypto_suites.SM)
    result = agreement_signing.verify(scene.session, documents[-1].pdf, roots=keys.roots, now=AFTER)
    assert result.valid, result.problems
