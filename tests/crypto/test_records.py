"""Records carry their suite: sealed bids, the audit chain and statements, under each suite and
across a switch within one database (the suite is process-wide: `crypto_suites.configure` is what
a restart with another VBP_CRYPTO_SUITE does)."""

from __future__ import annotations

import itertools

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from bidding import bids, opening
from bidding.models import BatchStatus, BidResult
from bidding.sealing import BidContent, BidSealer, SealBroken, receipt_digest
from core import audit, clock, crypto_suites
from core.actors import Actor
from core.audit import AuditEvent
from core.crypto_suites import SM, STANDARD
from ledger import statements
from tests.core.test_audit import _disable_append_only
from tests.factories import make_org
from tests.ledger.test_reconcile import FILED, PERIOD, Line
from tests.ordering import make_market
from tests.tendering import DURING_BIDDING, SEALING_KEY, SM4_SEALING_KEY, TIMELINE, make_world

CONTENT = BidContent("b1", 1, 2, 3, 4, 68_300, True, DURING_BIDDING)


def _sealer(suite: str) -> BidSealer:
    return BidSealer.from_base64(SEALING_KEY, sm4=SM4_SEALING_KEY, suite=suite)


@pytest.mark.parametrize("suite", [STANDARD, SM])
def test_a_sealed_bid_opens_under_its_suite_and_any_changed_byte_is_tampering(suite: str) -> None:
    sealed = _sealer(suite).seal(CONTENT)
    assert sealed.suite == suite
    assert len(sealed.blob) == 12 + 128 + 16  # nonce, the padded plaintext, the tag: one length
    opened = _sealer(suite).open(sealed.key_id, sealed.blob, CONTENT, suite=suite)
    assert (opened.pack_price_fen, opened.salt) == (68_300, sealed.salt)
    assert receipt_digest(CONTENT, sealed.salt, suite) == sealed.digest
    for i in (0, 12, len(sealed.blob) - 1):
        changed = bytearray(sealed.blob)
        changed[i] ^= 0x80
        with pytest.raises(SealBroken):
            _sealer(suite).open(sealed.key_id, bytes(changed), CONTENT, suite=suite)
    moved = BidContent(**{**CONTENT.__dict__, "public_id": "b2"})
    with pytest.raises(SealBroken):
        _sealer(suite).open(sealed.key_id, sealed.blob, moved, suite=suite)


def test_a_bid_opened_under_the_wrong_suite_or_without_its_key_is_refused() -> None:
    sealed = _sealer(SM).seal(CONTENT)
    with pytest.raises(SealBroken):
        _sealer(SM).open(sealed.key_id, sealed.blob, CONTENT, suite=STANDARD)
    aes_only = BidSealer.from_base64(SEALING_KEY)
    with pytest.raises(SealBroken, match="unknown sealing key"):
        aes_only.open(sealed.key_id, sealed.blob, CONTENT, suite=SM)


def test_the_two_suites_make_different_receipt_digests_of_the_same_bid() -> None:
    assert receipt_digest(CONTENT, "ab" * 16, STANDARD) != receipt_digest(CONTENT, "ab" * 16, SM)


def test_sealing_keys_must_have_their_suites_length() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        BidSealer.from_base64(SEALING_KEY, sm4=SEALING_KEY, suite=SM)
    with pytest.raises(ValueError, match="no bid sealing key for the sm suite"):
        BidSealer.from_base64(SEALING_KEY, suite=SM)


def test_bids_sealed_under_each_suite_open_together_after_a_switch(session: Session) -> None:
    world = make_world(session)
    hospital = make_org(session, region_code="510104")
    world.to(BatchStatus.DEMAND_COLLECTION, TIMELINE["demand_opens_at"])
    world.report(hospital, world.items[0], 1000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    item = world.items[0]
    receipts = {}
    for name, suite, pack_fen in (("A", STANDARD, 5000), ("B", SM, 6000), ("C", SM, 7000)):
        receipts[name] = bids.submit_bid(
            session,
            world.actor(world.manufacturer(name)),
            world.batch.id,
            item_id=item.id,
            product_id=world.product(name, item),
            pack_price_fen=pack_fen,
            accepts_revival=True,
            province="510000",
            sealer=_sealer(suite),
            now=DURING_BIDDING,
        )
    assert {n: r.bid.suite for n, r in receipts.items()} == {"A": STANDARD, "B": SM, "C": SM}
    assert receipts["B"].digest_algorithm == "SM3"
    # The platform now seals under sm, and still opens the bid sealed under standard.
    opening.open_bids(session, world.bureau, world.batch.id, sealer=_sealer(SM), now=TIMELINE["opening_at"])
    results = session.scalars(select(BidResult).where(BidResult.item_id == item.id))
    prices = {r.bid_id: r.pack_price_fen for r in results}
    assert [prices[receipts[n].bid.id] for n in "ABC"] == [5000, 6000, 7000]


def _events(session: Session, n: int, action: str) -> None:
    for i in range(n):
        audit.record(session, Actor.system(), action, subject_type="thing", subject_id=i, now=clock.now())


def test_the_audit_chain_under_sm_is_made_with_sm3_and_verifies(session: Session) -> None:
    crypto_suites.configure(SM)
    _events(session, 3, "test.sm")
    session.flush()
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "test.sm").order_by(AuditEvent.id)
    ).all()
    assert {r.suite for r in rows} == {SM}
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert audit.verify_chain(session).ok


def test_a_mixed_chain_verifies_and_the_cli_says_so(app: Flask, session: Session) -> None:
    crypto_suites.configure(STANDARD)
    _events(session, 2, "test.before")
    crypto_suites.configure(SM)
    _events(session, 2, "test.after")
    many = audit.record_many(session, Actor.system(), [audit.Entry("test.many", "thing", 1)], now=clock.now())
    crypto_suites.configure(STANDARD)
    _events(session, 1, "test.back")
    session.commit()
    suites = dict(
        session.execute(
            select(AuditEvent.action, AuditEvent.suite).where(AuditEvent.action.like("test.%"))
        ).all()
    )
    assert suites == {"test.before": STANDARD, "test.after": SM, "test.many": SM, "test.back": STANDARD}
    assert many[0].suite == SM
    assert audit.verify_chain(session).ok
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_an_edited_sm_row_and_a_relabelled_row_break_the_chain(session: Session, dialect: str) -> None:
    crypto_suites.configure(STANDARD)
    _events(session, 1, "test.std")
    crypto_suites.configure(SM)
    _events(session, 1, "test.sm")
    session.commit()
    std_row, sm_row = (
        session.scalars(select(AuditEvent).where(AuditEvent.action == a)).one()
        for a in ("test.std", "test.sm")
    )
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text("UPDATE audit_events SET suite = 'standard'"))
    session.rollback()
    _disable_append_only(session, dialect)
    for seq, change in (
        (sm_row.seq, "action = 'test.forged'"),
        (std_row.seq, "suite = 'sm'"),
        (sm_row.seq, "suite = 'standard'"),
    ):
        savepoint = session.begin_nested()
        session.execute(text(f"UPDATE audit_events SET {change} WHERE seq = :seq"), {"seq": seq})  # noqa: S608
        session.expire_all()
        report = audit.verify_chain(session)
        assert (report.ok, report.first_bad_seq, report.problem) == (
            False,
            seq,
            "content does not match its hash (edited)",
        ), change
        savepoint.rollback()
    session.expire_all()  # raw updates rolled back: reload what the ORM still holds
    assert audit.verify_chain(session).ok


def test_statements_carry_their_suite_and_a_switch_makes_no_new_version_of_unchanged_data(
    session: Session,
) -> None:
    market = make_market(session)
    line = Line(market, 10).place().accept().receive(10).invoice_all()

    def generate() -> statements.GenerationResult:
        return statements.generate(session, market.world.bureau, period=PERIOD, as_of=FILED, now=FILED)

    crypto_suites.configure(STANDARD)
    [v1] = generate().created
    crypto_suites.configure(SM)
    again = generate()
    assert (again.created, again.unchanged) == ([], 1)
    line.settle_and_pay()
    [v2] = generate().created
    assert (v1.suite, v2.suite, v2.version) == (STANDARD, SM, 2)
    assert v1.digest == statements.canonical_digest(v1.payload, STANDARD)
    assert (
        v2.digest
        == statements.canonical_digest(v2.payload, SM)
        != statements.canonical_digest(v2.payload, STANDARD)
    )
    assert statements.verify(session, v1.digest) is v1
    assert statements.verify(session, v2.digest) is v2
    session.commit()
    with pytest.raises(DatabaseError, match="frozen"):
        session.execute(text("UPDATE statements SET suite = 'standard' WHERE id = :id"), {"id": v2.id})
    session.rollback()
