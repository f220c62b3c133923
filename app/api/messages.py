"""Messages (站内消息) of the caller's organization with the caller's read state, and the
bureau's notices (公告): everyone reads the published ones, bureau operators write and publish."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

import ledger.messaging  # noqa: F401  (registers who hears of which event: core.messages.RULES)
from app.api.common import PAGE, paginate
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from core import clock, messages, notices
from core.actors import OrgKind
from core.message_schemas import (
    MessageQuerySchema,
    MessageSchema,
    NoticeCreateSchema,
    NoticeSchema,
    ReadAllSchema,
)

PREFIX = ""
blp = Blueprint("messages", __name__, description="站内消息与公告 (messages and notices)")


@blp.route("/messages", methods=["GET"])
@requires()
@blp.arguments(MessageQuerySchema, location="query")
@blp.response(200, MessageSchema(many=True))
@blp.paginate(**PAGE)
def list_messages(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Your organization's messages, unread (by you) first, then newest first."""
    who, db = current_actor(), request_session()
    unread_only = query["unread"]
    pagination_parameters.item_count = messages.inbox_size(db, who, unread_only=unread_only)
    if pagination_parameters.first_item >= pagination_parameters.item_count:
        return []
    return messages.inbox(
        db,
        who,
        limit=pagination_parameters.page_size,
        offset=pagination_parameters.first_item,
        unread_only=unread_only,
    )


@blp.route("/messages/<int:message_id>/read", methods=["POST"])
@requires()
@blp.response(200, MessageSchema)
def read_message(message_id: int) -> Any:
    """Mark one message read for you (your colleagues still see it unread)."""
    with unit_of_work() as session:
        return messages.read_message(session, current_actor(), message_id, now=clock.now())


@blp.route("/messages/read-all", methods=["POST"])
@requires()
@blp.response(200, ReadAllSchema)
def read_all() -> Any:
    """Mark every message of your organization read for you."""
    with unit_of_work() as session:
        return {"marked": messages.read_all(session, current_actor(), now=clock.now())}


@blp.route("/notices", methods=["GET"])
@requires()
@blp.response(200, NoticeSchema(many=True))
@blp.paginate(**PAGE)
def list_notices(pagination_parameters: PaginationParameters) -> Any:
    """Published notices, newest first (the bureau also sees its drafts and withdrawn ones)."""
    return paginate(request_session(), notices.notices_visible_to(current_actor()), pagination_parameters)


@blp.route("/notices", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(NoticeCreateSchema)
@blp.response(201, NoticeSchema)
def create_notice(data: dict[str, Any]) -> Any:
    """Write a draft notice (bureau operators)."""
    with unit_of_work() as session:
        return notices.create_notice(session, current_actor(), now=clock.now(), **data)


@blp.route("/notices/<int:notice_id>", methods=["GET"])
@requires()
@blp.response(200, NoticeSchema)
def get_notice(notice_id: int) -> Any:
    """One notice you may read."""
    return notices.get_notice(request_session(), current_actor(), notice_id)


@blp.route("/notices/<int:notice_id>/publish", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.response(200, NoticeSchema)
def publish_notice(notice_id: int) -> Any:
    """Publish a draft: everyone signed in reads it from now on."""
    with unit_of_work() as session:
        return notices.publish_notice(session, current_actor(), notice_id, now=clock.now())


@blp.route("/notices/<int:notice_id>/withdraw", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.response(200, NoticeSchema)
def withdraw_notice(notice_id: int) -> Any:
    """Withdraw a notice: it leaves everyone else's list."""
    with unit_of_work() as session:
        return notices.withdraw_notice(session, current_actor(), notice_id, now=clock.now())
