"""Marshmallow schemas of messages (站内消息) and notices (公告)."""

from __future__ import annotations

from marshmallow import fields, validate

from core.notices import NoticeStatus
from core.validation import MULTILINE, BaseSchema


class MessageSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "what happened: order_received, delivery_arrived, …"})
    link_kind = fields.String(allow_none=True, metadata={"description": "the record's kind: order, batch, …"})
    link_id = fields.Integer(allow_none=True)
    data = fields.Dict(keys=fields.String())
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True, metadata={"description": "when you read it (per user)"})


class MessageQuerySchema(BaseSchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only what you have not read"})


class ReadAllSchema(BaseSchema):
    marked = fields.Integer()


class NoticeCreateSchema(BaseSchema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    body = fields.String(required=True, validate=validate.Length(min=1, max=20_000), metadata=MULTILINE)


class NoticeSchema(BaseSchema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    status = fields.Enum(NoticeStatus, by_value=True)
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
