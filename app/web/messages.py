"""Messages (站内消息) and notices (公告) as pages: the inbox with the reader's own read state and
a link to each record, the unread count in the navigation, the notices everyone reads and the
bureau's form to write, publish and withdraw them."""

from __future__ import annotations

from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

import ledger.messaging  # noqa: F401  (registers who hears of which event: core.messages.RULES)
from app.db import request_session, unit_of_work
from app.web.common import (
    WRITERS,
    FormFailed,
    actor,
    attempt,
    done,
    form_dict,
    load,
    page,
    paged,
    paged_by,
    web,
)
from core import clock, messages, notices
from core.actors import Actor, OrgKind
from core.message_schemas import NoticeCreateSchema
from core.messages import MessageView


@web.app_context_processor
def _unread_in_navigation() -> dict[str, Any]:
    return {"unread_messages": unread_messages}


def unread_messages() -> int:
    """The signed-in user's unread messages, counted once per request (the navigation's badge)."""
    if "_unread_messages" not in g:
        who = actor()
        g._unread_messages = messages.unread_count(request_session(), who)
    return int(g._unread_messages)


def link_for(message: MessageView, who: Actor) -> str | None:
    """The page of the record a message is about, as this reader's kind of organization sees it."""
    kind, record = message.link_kind, message.link_id
    if kind == "order" and record is not None:
        return url_for("web.order_detail", order_id=record)
    if kind == "invoice":
        return url_for("web.invoices", status="pending")
    if kind == "notice" and record is not None:
        return url_for("web.notice_page", notice_id=record)
    if kind == "statement":
        return url_for("web.statements_page")
    if kind == "warning" and record is not None:
        if who.org_kind is OrgKind.BUREAU:
            return url_for("web.warning_page", warning_id=record)
        return url_for("web.warnings_list")
    if kind == "settlement_application" and who.org_kind in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR):
        return url_for("web.enterprise_settlement")
    if kind == "batch" and record is not None:
        if who.org_kind is OrgKind.MANUFACTURER:
            return url_for("web.enterprise_batch", batch_id=record)
        if who.org_kind is OrgKind.HOSPITAL:
            return url_for("web.hospital_demand", batch_id=record)
        if who.org_kind is OrgKind.BUREAU:
            return url_for("web.bureau_batch", batch_id=record)
    if kind == "procurement_agreement" and record is not None:
        return url_for("web.procurement_agreement", agreement_id=record)
    return None


# --- messages -----------------------------------------------------------------------------------


@web.route("/messages")
@page()
def messages_page() -> ResponseReturnValue:
    who, db = actor(), request_session()
    unread_only = request.args.get("unread") == "1"
    pager = paged_by(
        messages.inbox_size(db, who, unread_only=unread_only),
        lambda limit, offset: messages.inbox(db, who, limit=limit, offset=offset, unread_only=unread_only),
    )
    links = {m.id: link_for(m, who) for m in pager.items}
    return render_template("web/messages.html", pager=pager, links=links, unread_only=unread_only)


@web.route("/messages/<int:message_id>")
@page()
def message_open(message_id: int) -> ResponseReturnValue:
    """Opening a message marks it read for the reader and goes on to its record. Marking read is
    the reader's own bookkeeping (no business record changes), so a plain link may do it."""
    who = actor()
    with unit_of_work() as db:  # another organization's message: NotFound, the 404 page
        opened = messages.read_message(db, who, message_id, now=clock.now())
    return redirect(link_for(opened, who) or url_for("web.messages_page"))


@web.route("/messages/read-all", methods=["POST"])
@page()
def messages_read_all() -> ResponseReturnValue:
    try:
        marked = attempt(lambda db: messages.read_all(db, actor(), now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.messages_page"))
    return done(_("%(count)s messages marked read.", count=marked), "web.messages_page")


# --- notices ------------------------------------------------------------------------------------


@web.route("/notices", methods=["GET", "POST"])
@page()
def notices_page() -> ResponseReturnValue:
    who = actor()
    status = 200
    if request.method == "POST":
        if not who.is_bureau or who.role not in WRITERS:
            abort(403)
        try:
            data = load(NoticeCreateSchema(), form_dict(request.form))
            notice = attempt(lambda db: notices.create_notice(db, who, now=clock.now(), **data))
            return done(_("The notice was saved as a draft."), "web.notice_page", notice_id=notice.id)
        except FormFailed:
            status = 422
    return render_template(
        "web/notices.html",
        pager=paged(notices.notices_visible_to(who)),
        can_write=who.is_bureau and who.role in WRITERS,
        form=request.form,
    ), status


@web.route("/notices/<int:notice_id>")
@page()
def notice_page(notice_id: int) -> ResponseReturnValue:
    who = actor()
    notice = notices.get_notice(request_session(), who, notice_id)
    return render_template("web/notice.html", notice=notice, can_write=who.is_bureau and who.role in WRITERS)


@web.route("/notices/<int:notice_id>/publish", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def notice_publish(notice_id: int) -> ResponseReturnValue:
    try:
        attempt(lambda db: notices.publish_notice(db, actor(), notice_id, now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.notice_page", notice_id=notice_id))
    return done(_("The notice is published."), "web.notice_page", notice_id=notice_id)


@web.route("/notices/<int:notice_id>/withdraw", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def notice_withdraw(notice_id: int) -> ResponseReturnValue:
    try:
        attempt(lambda db: notices.withdraw_notice(db, actor(), notice_id, now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.notice_page", notice_id=notice_id))
    return done(_("The notice was withdrawn."), "web.notice_page", notice_id=notice_id)
