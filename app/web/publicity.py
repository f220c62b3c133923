"""Pages of the publicity period (公示与异议): the bureau sees the proposal, the objections and answers
them (with a correction when sustained) and confirms results whose period has ended; a bidder sees
the proposal, lodges an objection with an attachment, follows its answer and may withdraw it.

Each form calls the service behind the API (bidding/publicity.py, bidding/objections.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, attempt, done, load, page, web
from bidding import objections, publicity
from bidding.batches import get_batch
from bidding.models import Bid, BidResult, BidStatus
from bidding.publicity_models import Objection, ObjectionStatus
from bidding.publicity_schemas import ObjectionAnswerSchema, ObjectionLodgeSchema
from core import clock
from core.actors import OrgKind


def _context(batch_id: int) -> dict[str, Any]:
    db, who = request_session(), actor()
    batch = get_batch(db, who, batch_id)
    proposals = publicity.proposals_of(db, who, batch.id)
    current = publicity.current_proposal(db, batch.id)
    mine = list(db.scalars(objections.objections_visible_to(who).where(Objection.batch_id == batch.id)))
    names = {i.id: f"{i.generic_name} {i.rep_strength_value}{i.rep_strength_unit}" for i in batch.items}
    excluded = set(db.scalars(select(BidResult.bid_id).where(BidResult.invalid_reason == publicity.EXCLUDED)))
    bids = [
        {"id": b.id, "item_id": b.item_id, "manufacturer_id": b.manufacturer_id, "excluded": b.id in excluded}
        for b in db.scalars(
            select(Bid).where(Bid.batch_id == batch.id, Bid.status == BidStatus.ACTIVE).order_by(Bid.id)
        )
    ]
    return {
        "batch": batch,
        "proposals": proposals,
        "current": current,
        "snapshot": publicity.visible_snapshot(who, current) if current else None,
        "objections": mine,
        "item_names": names,
        "bids": bids,
        "my_items": {b["item_id"] for b in bids if b["manufacturer_id"] == who.org_id},
        "now": clock.now(),
        "can_write": who.role in WRITERS,
        "answers": [ObjectionStatus.SUSTAINED, ObjectionStatus.PARTLY_SUSTAINED, ObjectionStatus.DISMISSED],
    }


@web.route("/bureau/batches/<int:batch_id>/publicity")
@page(OrgKind.BUREAU)
def bureau_publicity(batch_id: int) -> ResponseReturnValue:
    return render_template("web/publicity.html", side="bureau", **_context(batch_id))


@web.route("/enterprise/batches/<int:batch_id>/publicity")
@page(OrgKind.MANUFACTURER)
def enterprise_publicity(batch_id: int) -> ResponseReturnValue:
    return render_template("web/publicity.html", side="enterprise", **_context(batch_id))


@web.route("/bureau/objections/<int:objection_id>/answer", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_answer_objection(objection_id: int) -> ResponseReturnValue:
    """Answer with reasons; a (partly) sustained answer may name one bid to exclude or reinstate."""
    who, form = actor(), request.form
    correction = []
    if form.get("action") in objections.CORRECTION_ACTIONS and form.get("bid_id", "").isdigit():
        correction.append(
            {
                "action": form["action"],
                "bid_id": int(form["bid_id"]),
                "reason": form.get("correction_reason", ""),
            }
        )
    days = current_app.config["VBP"].publicity_days
    payload = {
        "decision": form.get("decision", ""),
        "reasons": form.get("reasons", ""),
        "correction": correction,
    }
    try:
        data = load(ObjectionAnswerSchema(), payload)
        objection = attempt(
            lambda db: objections.answer_objection(
                db,
                who,
                objection_id,
                decision=data["decision"],
                reasons=data["reasons"],
                correction=data["correction"],
                now=clock.now(),
                days=days,
            )
        )
    except FormFailed:
        return redirect(request.referrer or url_for("web.bureau_batches"))
    return done(_("The objection is answered."), "web.bureau_publicity", batch_id=objection.batch_id)


@web.route("/bureau/proposals/<int:proposal_id>/finalize", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_finalize_proposal(proposal_id: int) -> ResponseReturnValue:
    who = actor()
    try:
        proposal = attempt(lambda db: publicity.finalize_proposal(db, who, proposal_id, now=clock.now()))
    except FormFailed:
        return redirect(request.referrer or url_for("web.bureau_batches"))
    return done(_("The results are final and published."), "web.bureau_publicity", batch_id=proposal.batch_id)


@web.route("/enterprise/proposals/<int:proposal_id>/objections", methods=["POST"])
@page(OrgKind.MANUFACTURER, roles=WRITERS)
def enterprise_lodge_objection(proposal_id: int) -> ResponseReturnValue:
    """Lodge an objection, with an optional attachment, in one unit of work."""
    who, form = actor(), request.form
    items = [int(v) for v in form.getlist("item_ids") if v.isdigit()]
    upload = request.files.get("file")
    limit = current_app.config["VBP"].objection_attachment_max_bytes
    now = clock.now()

    def lodge(db: Any) -> Objection:
        data = load(ObjectionLodgeSchema(), {"item_ids": items, "reasons": form.get("reasons", "")})
        objection = objections.lodge_objection(
            db, who, proposal_id, item_ids=data["item_ids"], reasons=data["reasons"], now=now
        )
        if upload is not None and upload.filename:
            objections.attach(
                db,
                who,
                objection.id,
                data=upload.read(limit + 1),
                filename=upload.filename,
                now=now,
                max_bytes=limit,
            )
        return objection

    try:
        objection = attempt(lodge)
    except FormFailed:
        return redirect(request.referrer or url_for("web.enterprise_batches"))
    return done(_("Your objection is lodged."), "web.enterprise_publicity", batch_id=objection.batch_id)


@web.route("/enterprise/objections/<int:objection_id>/withdraw", methods=["POST"])
@page(OrgKind.MANUFACTURER, roles=WRITERS)
def enterprise_withdraw_objection(objection_id: int) -> ResponseReturnValue:
    who = actor()
    try:
        objection = attempt(lambda db: objections.withdraw_objection(db, who, objection_id, now=clock.now()))
    except FormFailed:
        return redirect(request.referrer or url_for("web.enterprise_batches"))
    return done(_("Your objection is withdrawn."), "web.enterprise_publicity", batch_id=objection.batch_id)
