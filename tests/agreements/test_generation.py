"""Agreements generated from a batch's final allocations: one per hospital × winner, the lines'
numbers those of the allocations, generated once however often it runs."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import BatchStatus
from core.audit import AuditEvent
from core.errors import InvalidState, PermissionDenied
from core.messages import Message
from core.money import to_fen
from ledger.contracts.models import AgreementDocument, AgreementStatus, ProcurementAgreement
from reports import agreement_signing
from tests.agreements.conftest import NOW, Scene
from tests.renewal import AT_OPENING
from tests.tendering import make_world


def test_one_agreement_per_hospital_and_winner_with_the_allocations_numbers(scene: Scene) -> None:
    created = agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)

    expected: dict[tuple[int, int], list[tuple[int, int, int, int]]] = defaultdict(list)
    for alloc, award in scene.allocations():
        expected[(alloc.hospital_id, award.manufacturer_id)].append(
            (alloc.id, alloc.agreed_quantity, award.unit_price_e4, award.pack_price_fen)
        )
    assert len(expected) >= 2
    got = {
        (a.hospital_id, a.manufacturer_id): sorted(
            (ln.allocation_id, ln.agreed_quantity, ln.unit_price_e4, ln.pack_price_fen) for ln in a.lines
        )
        for a in created
    }
    assert got == {k: sorted(v) for k, v in expected.items()}
    batch = scene.world.batch
    for agreement in created:
        assert agreement.status is AgreementStatus.GENERATED
        assert (agreement.cycle_year, agreement.starts_on) == (1, batch.cycle_start_on)
        assert agreement.amount_fen == sum(
            to_fen(Decimal(ln.agreed_quantity) * Decimal(ln.unit_price_e4) / 10_000) for ln in agreement.lines
        )
        assert agreement.distributors == [{"id": scene.distributor.id, "name": "配送企业甲"}]
        assert len(agreement.content_sha256) == 64


def test_generating_twice_creates_nothing_new(scene: Scene) -> None:
    first = agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)
    second = agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)
    assert second == []
    count = scene.session.scalar(select(func.count()).select_from(ProcurementAgreement))
    documents = scene.session.scalar(select(func.count()).select_from(AgreementDocument))
    assert (count, documents) == (len(first), len(first))


def test_generation_is_audited_and_both_parties_hear_of_it(scene: Scene) -> None:
    created = agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)
    scene.session.flush()
    agreement = created[0]
    actions = scene.session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_type == "procurement_agreement", AuditEvent.subject_id == str(agreement.id)
        )
    ).all()
    assert actions == ["agreement.generate"]
    recipients = set(
        scene.session.scalars(
            select(Message.org_id).where(
                Message.link_kind == "procurement_agreement", Message.link_id == agreement.id
            )
        )
    )
    assert recipients == {agreement.hospital_id, agreement.manufacturer_id}


def test_results_not_final_generate_nothing(session: Session) -> None:
    world = make_world(session)
    with pytest.raises(InvalidState) as caught:
        agreement_signing.generate(session, world.bureau, world.batch.id, now=AT_OPENING)
    assert caught.value.code == "results_not_final"
    assert world.batch.status is BatchStatus.DRAFT


def test_only_the_bureau_generates(scene: Scene) -> None:
    hospital = scene.world.actor(scene.world.hospitals[0])
    with pytest.raises(PermissionDenied):
        agreement_signing.generate(scene.session, hospital, scene.world.batch.id, now=NOW)


def test_the_cli_generates_once(app: Flask, scene: Scene) -> None:
    scene.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["agreements", "generate", str(scene.world.batch.id)])
    again = runner.invoke(args=["agreements", "generate", str(scene.world.batch.id)])
    assert first.exit_code == 0, first.output
    assert "新生成购销协议 0 份" in again.output
    count = scene.session.scalar(select(func.count()).select_from(ProcurementAgreement))
    assert f"新生成购销协议 {count} 份" in first.output
    assert count == len({(a.hospital_id, aw.manufacturer_id) for a, aw in scene.allocations()})
