"""Objections (异议) to a proposal under publicity (bidding/publicity.py).

A bidder of the batch lodges an objection to items it bid on, with reasons and attachments, before
the period ends; it may withdraw it until the bureau answers. The bureau answers every objection —
sustained, partly sustained or dismissed — with reasons. A (partly) sustained answer carries the
correction decided, expressed on the stored inputs. The corrections the stored inputs allow:

- `exclude` a bid as ineligible (资格不符, a false declaration …) with a reason: the bid leaves the
  selection as if it had not been valid;
- `reinstate` a bid an earlier correction excluded.

A price is never corrected: a sealed price is what was bid. The corrected items are re-derived from
the stored inputs with the opening's own selection code (bidding/opening.py `rederive_items`), the
results are proposed again with a period of their own, and the current proposal becomes void.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bidding import publicity
from bidding.batches import get_batch, require_bureau_writer
from bidding.models import Bid, BidResult, BidStatus
from bidding.opening import rederive_items
from bidding.publicity_models import (
    Objection,
    ObjectionAttachment,
    ObjectionStatus,
    ProposalStatus,
    ResultProposal,
)
from bidding.publicity_schemas import CORRECTION_ACTIONS, MAX_REASONS_CHARS
from core import audit
from core.actors import Actor, OrgKind
from core.errors import InvalidState, NotFound, PermissionDenied, TooLarge, UnsupportedMedia, ValidationFailed
from core.file_types import extension_mismatch, safe_filename, sniff
from core.glossary import terms_of
from core.states import Machine

S = ObjectionStatus
OBJECTION: Machine[ObjectionStatus] = Machine(
    "异议 (objection)",
    {
        S.LODGED: frozenset({S.SUSTAINED, S.PARTLY_SUSTAINED, S.DISMISSED, S.WITHDRAWN}),
        S.SUSTAINED: frozenset(),
        S.PARTLY_SUSTAINED: frozenset(),
        S.DISMISSED: frozenset(),
        S.WITHDRAWN: frozenset(),
    },
    terms_of(ObjectionStatus),
)
ANSWERS = frozenset({S.SUSTAINED, S.PARTLY_SUSTAINED, S.DISMISSED})
#: Largest attachment (a setting: VBP_OBJECTION_ATTACHMENT_MAX_BYTES) and how many one objection holds.
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
MAX_ATTACHMENTS = 10


def _text(value: str | None, field: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(fields={field: ["必填，请说明理由 (required: give the reasons)"]})
    if len(text) > MAX_REASONS_CHARS:
        raise ValidationFailed(
            fields={field: [f"至多 {MAX_REASONS_CHARS} 字 (at most {MAX_REASONS_CHARS} characters)"]}
        )
    return text


def objections_visible_to(actor: Actor) -> Select[tuple[Objection]]:
    """The bureau sees every objection, a bidder its own, nobody else any."""
    stmt = select(Objection).order_by(Objection.id)
    if actor.is_bureau:
        return stmt
    return stmt.where(Objection.objector_org_id == actor.org_id)


def get_objection(
    session: Session, actor: Actor, objection_id: int, *, for_update: bool = False
) -> Objection:
    stmt = objections_visible_to(actor).where(Objection.id == objection_id)
    if for_update:
        stmt = stmt.with_for_update()
    objection = session.scalars(stmt).first()
    if objection is None:
        raise NotFound("异议不存在 (objection not found)")
    return objection


def lodge_objection(
    session: Session, actor: Actor, proposal_id: int, *, item_ids: Sequence[int], reasons: str, now: datetime
) -> Objection:
    """A bidder of the batch objects to items it bid on, before the publicity period ends."""
    if actor.org_kind is not OrgKind.MANUFACTURER or not actor.can_write:
        raise PermissionDenied("仅本批次投标企业可提出异议 (only the batch's bidders may object)")
    proposal = publicity.get_proposal(session, actor, proposal_id)
    # Locked as finality locks it: an objection and the finalizer never pass each other.
    batch = get_batch(session, actor, proposal.batch_id, for_update=True)
    bid_items = set(
        session.scalars(
            select(Bid.item_id).where(
                Bid.batch_id == batch.id, Bid.manufacturer_id == actor.org_id, Bid.status == BidStatus.ACTIVE
            )
        )
    )
    if not bid_items:
        raise PermissionDenied("仅本批次投标企业可提出异议 (only the batch's bidders may object)")
    if proposal.status is not ProposalStatus.PROPOSED:
        raise InvalidState(
            f"该公示已{publicity.PROPOSAL.label(proposal.status)}，不能再提出异议 "
            "(the proposal is no longer open)",
            code="proposal_closed",
        )
    if now >= proposal.period_ends_at:
        raise InvalidState(
            f"公示期已于 {proposal.period_ends_at:%Y-%m-%d %H:%M} UTC 结束，不能再提出异议 "
            "(the publicity period has ended)",
            code="publicity_period_over",
        )
    items = sorted(set(item_ids))
    if not items:
        raise ValidationFailed(fields={"item_ids": ["至少选择一个品种 (name at least one item)"]})
    if stray := [i for i in items if i not in bid_items]:
        raise ValidationFailed(
            fields={"item_ids": [f"未在本批次投标的品种 {stray} (items you did not bid on in this batch)"]}
        )
    objection = Objection(
        proposal_id=proposal.id,
        batch_id=batch.id,
        objector_org_id=actor.org_id,
        item_ids=items,
        reasons=_text(reasons, "reasons"),
        status=S.LODGED,
        lodged_at=now,
    )
    session.add(objection)
    session.flush()
    audit.record(
        session,
        actor,
        "objection.lodge",
        subject_type="objection",
        subject_id=objection.id,
        subject_org_id=actor.org_id,
        after={"proposal_id": proposal.id, "batch_id": batch.id, "item_ids": items},
        now=now,
    )
    return objection


def attach(
    session: Session,
    actor: Actor,
    objection_id: int,
    *,
    data: bytes,
    filename: str,
    now: datetime,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ObjectionAttachment:
    """Attach a supporting document (PDF, OFD, JPEG, PNG) to one's own objection before the answer
    and before the period ends."""
    objection = get_objection(session, actor, objection_id, for_update=True)
    if objection.objector_org_id != actor.org_id or not actor.can_write:
        raise PermissionDenied("仅异议人可上传附件 (only the objector attaches documents)")
    OBJECTION.require(objection, S.LODGED, action="上传附件 (attach)")
    proposal = session.get_one(ResultProposal, objection.proposal_id)
    if now >= proposal.period_ends_at:
        raise InvalidState(
            "公示期已结束，不能再上传附件 (the publicity period has ended)", code="publicity_period_over"
        )
    if len(objection.attachments) >= MAX_ATTACHMENTS:
        raise ValidationFailed(
            fields={"file": [f"至多 {MAX_ATTACHMENTS} 个附件 (at most {MAX_ATTACHMENTS})"]}
        )
    if not data:
        raise ValidationFailed(fields={"file": ["文件为空 (empty file)"]})
    if len(data) > max_bytes:
        raise TooLarge(
            f"文件超过 {max_bytes // (1024 * 1024)} MB (larger than the limit)",
            fields={"file": [f"至多 {max_bytes} 字节 (at most {max_bytes} bytes)"]},
        )
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedMedia(
            "仅支持 PDF、OFD、JPEG、PNG 格式 (PDF, OFD, JPEG or PNG only)",
            fields={"file": ["仅支持 PDF、OFD、JPEG、PNG (PDF, OFD, JPEG or PNG only)"]},
        )
    if ext := extension_mismatch(filename, content_type):
        raise ValidationFailed(
            fields={
                "file": [
                    f"扩展名 .{ext} 与文件内容（{content_type}）不符 (extension does not match the content)"
                ]
            }
        )
    attachment = ObjectionAttachment(
        objection_id=objection.id,
        content_type=content_type,
        filename=safe_filename(filename, content_type, default="objection"),
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        uploaded_by=actor.user_id,
        uploaded_at=now,
        data=data,
    )
    session.add(attachment)
    session.flush()
    audit.record(
        session,
        actor,
        "objection.attach",
        subject_type="objection",
        subject_id=objection.id,
        subject_org_id=actor.org_id,
        after={"attachment_id": attachment.id, "sha256": attachment.sha256, "size_bytes": len(data)},
        now=now,
    )
    return attachment


def get_attachment(
    session: Session, actor: Actor, objection_id: int, attachment_id: int
) -> ObjectionAttachment:
    objection = get_objection(session, actor, objection_id)
    attachment = session.get(ObjectionAttachment, attachment_id)
    if attachment is None or attachment.objection_id != objection.id:
        raise NotFound("附件不存在 (attachment not found)")
    return attachment


def withdraw_objection(session: Session, actor: Actor, objection_id: int, *, now: datetime) -> Objection:
    """The objector withdraws its objection before the bureau answers."""
    objection = get_objection(session, actor, objection_id, for_update=True)
    if objection.objector_org_id != actor.org_id or not actor.can_write:
        raise PermissionDenied("仅异议人可撤回异议 (only the objector withdraws)")
    OBJECTION.move(objection, S.WITHDRAWN)
    objection.answered_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "objection.withdraw",
        subject_type="objection",
        subject_id=objection.id,
        subject_org_id=objection.objector_org_id,
        before={"status": S.LODGED},
        after={"status": S.WITHDRAWN, "batch_id": objection.batch_id},
        now=now,
    )
    return objection


def _checked_correction(
    session: Session, objection: Objection, decision: ObjectionStatus, correction: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    if decision is S.DISMISSED:
        if correction:
            raise ValidationFailed(
                fields={"correction": ["异议不成立时不作更正 (a dismissal corrects nothing)"]}
            )
        return []
    if not correction:
        raise ValidationFailed(
            fields={"correction": ["异议成立须写明更正 (a sustained objection needs its correction)"]}
        )
    excluded = set(
        session.scalars(
            select(BidResult.bid_id).where(
                BidResult.item_id.in_(objection.item_ids), BidResult.invalid_reason == publicity.EXCLUDED
            )
        )
    )
    checked, seen = [], set()
    for n, entry in enumerate(correction):
        field = f"correction.{n}"
        action, bid_id = entry.get("action"), entry.get("bid_id")
        bid = session.get(Bid, bid_id) if isinstance(bid_id, int) else None
        if action not in CORRECTION_ACTIONS:
            raise ValidationFailed(
                fields={f"{field}.action": ["须为 exclude 或 reinstate (exclude or reinstate)"]}
            )
        if bid is None or bid.batch_id != objection.batch_id or bid.item_id not in objection.item_ids:
            raise ValidationFailed(
                fields={f"{field}.bid_id": ["须为异议所涉品种的投标 (a bid on an item of the objection)"]}
            )
        if bid.status is not BidStatus.ACTIVE or bid_id in seen:
            raise ValidationFailed(
                fields={f"{field}.bid_id": ["不是有效投标或重复 (not an active bid, or twice)"]}
            )
        if (action == "exclude") == (bid_id in excluded):
            state = "已被排除 (already excluded)" if action == "exclude" else "未被排除 (not excluded)"
            raise ValidationFailed(fields={f"{field}.bid_id": [state]})
        seen.add(bid_id)
        checked.append(
            {"action": action, "bid_id": bid_id, "reason": _text(entry.get("reason"), f"{field}.reason")}
        )
    return checked


def answer_objection(
    session: Session,
    actor: Actor,
    objection_id: int,
    *,
    decision: ObjectionStatus,
    reasons: str,
    correction: Sequence[Mapping[str, Any]] = (),
    now: datetime,
    days: int = publicity.DEFAULT_PUBLICITY_DAYS,
) -> Objection:
    """The bureau answers an objection with reasons; a (partly) sustained answer re-derives the
    corrected items from the stored inputs and proposes the results again for a new period."""
    require_bureau_writer(actor)
    if decision not in ANSWERS:
        raise ValidationFailed(fields={"decision": ["须为 sustained、partly_sustained 或 dismissed"]})
    objection = get_objection(session, actor, objection_id, for_update=True)
    batch = get_batch(session, actor, objection.batch_id, for_update=True)
    OBJECTION.check(objection.status, decision)
    text = _text(reasons, "reasons")
    checked = _checked_correction(session, objection, decision, correction)
    OBJECTION.move(objection, decision)
    objection.answered_at, objection.answer_reasons = now, text
    objection.correction = checked or None
    session.flush()
    audit.record(
        session,
        actor,
        "objection.answer",
        subject_type="objection",
        subject_id=objection.id,
        subject_org_id=objection.objector_org_id,
        before={"status": S.LODGED},
        after={"status": decision, "batch_id": batch.id, "reasons": text, "correction": checked},
        now=now,
    )
    if checked:
        current = publicity.current_proposal(session, batch.id)
        if current is None:
            raise InvalidState("批次没有公示中的结果 (no proposal under publicity)", code="no_proposal")
        excluded = {
            r.bid_id: r.reason
            for r in session.scalars(
                select(BidResult).where(
                    BidResult.item_id.in_(objection.item_ids), BidResult.invalid_reason == publicity.EXCLUDED
                )
            )
        }
        for entry in checked:
            if entry["action"] == "exclude":
                excluded[entry["bid_id"]] = entry["reason"]
            else:
                excluded.pop(entry["bid_id"], None)
        items = sorted({session.get_one(Bid, e["bid_id"]).item_id for e in checked})
        rederive_items(session, batch, items, excluded=excluded)
        audit.record(
            session,
            actor,
            "batch.rederive",
            subject_type="batch",
            subject_id=batch.id,
            after={"objection_id": objection.id, "items": items, "excluded": sorted(excluded)},
            now=now,
        )
        publicity.void(session, actor, current, now=now, reason=f"objection {objection.id} sustained")
        length = publicity.publicity_days(batch, days)
        new = publicity.propose(session, actor, batch, days=length, now=now, supersedes=current)
        objection.new_proposal_id = new.id
        session.flush()
        if length == 0 and not publicity.open_objections(session, batch.id):
            publicity.finalize(session, actor, batch, new, now)
    return objection
