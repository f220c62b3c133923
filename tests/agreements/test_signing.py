"""Both parties sign the agreement PDF (PAdES, incremental updates); the signatures verify with
pyHanko against the CA, a changed byte fails, a non-party cannot sign, renewals supersede."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core import pades
from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.organizations import Organization
from ledger.contracts import generation
from ledger.contracts.models import AgreementDocument, AgreementStatus, Party, ProcurementAgreement
from reports import agreement_signing
from reports.agreement_signing import Pki
from tests.agreements.conftest import NOW, Scene
from tests.factories import make_org


def _generated(scene: Scene) -> ProcurementAgreement:
    return agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)[0]


def _sign_both(scene: Scene, agreement: ProcurementAgreement, keys: Pki) -> AgreementDocument:
    hospital, maker = scene.party(agreement.hospital_id), scene.party(agreement.manufacturer_id)
    agreement_signing.sign(scene.session, hospital, agreement.id, keys=keys, now=NOW)
    return agreement_signing.sign(scene.session, maker, agreement.id, keys=keys, now=NOW + timedelta(hours=1))


def test_both_signatures_verify_and_the_pdf_is_the_current_version(scene: Scene, keys: Pki) -> None:
    agreement = _generated(scene)
    document = _sign_both(scene, agreement, keys)

    assert agreement.status is AgreementStatus.SIGNED
    assert (document.version, document.signed_by) == (3, Party.ENTERPRISE)
    check = pades.validate(document.pdf, roots=keys.roots, moment=NOW + timedelta(hours=2))
    assert [s.field_name for s in check.signatures] == ["HospitalSignature", "EnterpriseSignature"]
    assert [(s.intact, s.valid, s.trusted) for s in check.signatures] == [(True, True, True)] * 2
    hospital = scene.session.get_one(Organization, agreement.hospital_id)
    assert check.signatures[0].signer == hospital.name
    assert check.covers_whole_file
    assert check.ok
    result = agreement_signing.verify(
        scene.session, document.pdf, roots=keys.roots, now=NOW + timedelta(hours=2)
    )
    assert result.valid
    assert result.problems == []
    assert result.known is not None
    assert (result.known.number, result.known.current) == (
        agreement.number,
        True,
    )


def test_the_second_signature_keeps_the_first_valid(scene: Scene, keys: Pki) -> None:
    agreement = _generated(scene)
    maker = scene.party(agreement.manufacturer_id)
    first = agreement_signing.sign(scene.session, maker, agreement.id, keys=keys, now=NOW)
    assert agreement.status is AgreementStatus.SIGNED_BY_ENTERPRISE
    second = agreement_signing.sign(
        scene.session, scene.party(agreement.hospital_id), agreement.id, keys=keys, now=NOW
    )

    assert second.pdf.startswith(first.pdf)  # an incremental update: the first signed bytes unchanged
    check = pades.validate(second.pdf, roots=keys.roots, moment=NOW)
    enterprise = check.signatures[0]
    assert (enterprise.field_name, enterprise.coverage, enterprise.ok) == (
        "EnterpriseSignature",
        "entire_revision",
        True,
    )
    assert enterprise.modifications == "form_filling"
    assert check.signatures[1].coverage == "entire_file"


def test_a_changed_byte_fails_verification(scene: Scene, keys: Pki) -> None:
    document = _sign_both(scene, _generated(scene), keys)
    for position in (len(document.pdf) // 3, len(document.pdf) - 200):
        changed = bytearray(document.pdf)
        changed[position] ^= 0x01
        result = agreement_signing.verify(scene.session, bytes(changed), roots=keys.roots, now=NOW)
        assert not result.valid
        assert result.known is None
        assert result.problems


def test_bytes_appended_after_the_last_signature_fail(scene: Scene, keys: Pki) -> None:
    document = _sign_both(scene, _generated(scene), keys)
    result = agreement_signing.verify(scene.session, document.pdf + b"\n%extra\n", roots=keys.roots, now=NOW)
    assert not result.valid


def test_a_signature_from_another_ca_is_not_trusted(scene: Scene, keys: Pki) -> None:
    from core import pki

    other = pki.create_ca(name="别的CA", now=NOW - timedelta(days=1))
    document = _sign_both(scene, _generated(scene), keys)
    result = agreement_signing.verify(scene.session, document.pdf, roots=(other.cert,), now=NOW)
    assert not result.valid
    assert [s.trusted for s in result.check.signatures] == [False, False]


def test_someone_who_is_not_a_party_cannot_sign(scene: Scene, keys: Pki) -> None:
    agreement = _generated(scene)
    with pytest.raises(PermissionDenied) as caught:
        agreement_signing.sign(scene.session, scene.bureau, agreement.id, keys=keys, now=NOW)
    assert caught.value.code == "not_a_party"
    other_hospital = scene.world.actor(make_org(scene.session, region_code="510104"))
    with pytest.raises(NotFound):
        agreement_signing.sign(scene.session, other_hospital, agreement.id, keys=keys, now=NOW)
    other_winner = next(m for m in scene.world.manufacturers.values() if m.id != agreement.manufacturer_id)
    with pytest.raises(NotFound):
        agreement_signing.sign(
            scene.session, scene.world.actor(other_winner), agreement.id, keys=keys, now=NOW
        )
    assert agreement.status is AgreementStatus.GENERATED
    versions = scene.session.scalars(
        select(AgreementDocument.version).where(AgreementDocument.agreement_id == agreement.id)
    ).all()
    assert versions == [1]


def test_a_party_signs_once(scene: Scene, keys: Pki) -> None:
    agreement = _generated(scene)
    hospital = scene.party(agreement.hospital_id)
    agreement_signing.sign(scene.session, hospital, agreement.id, keys=keys, now=NOW)
    with pytest.raises(InvalidState) as caught:
        agreement_signing.sign(scene.session, hospital, agreement.id, keys=keys, now=NOW)
    assert caught.value.code == "already_signed"


def test_a_one_sided_pdf_is_reported_as_not_the_current_version(scene: Scene, keys: Pki) -> None:
    agreement = _generated(scene)
    first = agreement_signing.sign(
        scene.session, scene.party(agreement.hospital_id), agreement.id, keys=keys, now=NOW
    )
    first_pdf = first.pdf
    agreement_signing.sign(
        scene.session, scene.party(agreement.manufacturer_id), agreement.id, keys=keys, now=NOW
    )
    result = agreement_signing.verify(scene.session, first_pdf, roots=keys.roots, now=NOW)
    assert result.check.ok  # its one signature is fine ...
    assert result.known is not None
    assert (result.known.version, result.known.latest_version) == (2, 3)
    assert not result.valid  # ... but it is not the agreement as signed by both


def test_renewal_is_a_new_agreement_and_the_old_one_reads_superseded(scene: Scene, keys: Pki) -> None:
    batch = scene.world.batch
    batch.cycle_end_on = date(batch.cycle_start_on.year + 2, batch.cycle_start_on.month, 1) - timedelta(
        days=1
    )
    agreement = _generated(scene)
    old_pdf = _sign_both(scene, agreement, keys).pdf

    new = agreement_signing.renew(scene.session, scene.bureau, agreement.id, now=NOW + timedelta(days=300))

    assert new.id != agreement.id
    assert new.renews_id == agreement.id
    assert (new.cycle_year, new.status) == (2, AgreementStatus.GENERATED)
    assert new.starts_on == agreement.ends_on + timedelta(days=1)
    assert [ln.allocation_id for ln in new.lines] == [ln.allocation_id for ln in agreement.lines]
    assert agreement.status is AgreementStatus.SUPERSEDED
    result = agreement_signing.verify(scene.session, old_pdf, roots=keys.roots, now=NOW)
    assert result.check.ok
    assert not result.valid
    assert result.known is not None
    assert result.known.superseded_by == new.number
    with pytest.raises(InvalidState):
        agreement_signing.renew(scene.session, scene.bureau, agreement.id, now=NOW)


def test_an_unsigned_agreement_cannot_be_renewed_and_the_last_cycle_year_renews_by_batch(
    scene: Scene, keys: Pki
) -> None:
    agreement = _generated(scene)
    with pytest.raises(InvalidState):
        generation.renew_agreement(scene.session, scene.bureau, agreement.id, now=NOW)
    _sign_both(scene, agreement, keys)
    with pytest.raises(ValidationFailed):  # the fixture's cycle is a single year
        generation.renew_agreement(scene.session, scene.bureau, agreement.id, now=NOW)


def test_a_terminated_agreement_cannot_be_signed(scene: Scene, keys: Pki) -> None:
    agreement = _generated(scene)
    generation.terminate_agreement(
        scene.session, scene.bureau, agreement.id, reason="企业被取消中选资格", now=NOW
    )
    with pytest.raises(InvalidState):
        agreement_signing.sign(
            scene.session, scene.party(agreement.hospital_id), agreement.id, keys=keys, now=NOW
        )


def test_signing_and_verifying_work_inside_a_running_event_loop(scene: Scene, keys: Pki) -> None:
    """pyHanko runs its coroutines with asyncio.run(); a caller whose thread already runs an event
    loop (an async worker, a process that drove a browser) must still sign and verify."""
    import asyncio

    agreement = _generated(scene)

    def sign_and_verify() -> bool:
        asyncio.get_running_loop()  # raises unless this thread's event loop is running
        document = _sign_both(scene, agreement, keys)
        later = NOW + timedelta(hours=2)
        return agreement_signing.verify(scene.session, document.pdf, roots=keys.roots, now=later).valid

    async def inside_a_loop() -> bool:
        return sign_and_verify()

    try:
        asyncio.get_running_loop()
    except RuntimeError:  # the usual case: start a loop and sign inside it
        assert asyncio.run(inside_a_loop())
    else:  # a browser test earlier in this process left its loop running on this thread
        assert sign_and_verify()
