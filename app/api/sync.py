"""The sync interface for HIS and ERP systems: each mirrored collection read as "changes since
cursor" (ledger/sync), the list of collections, and the NHSA field mapping.

A client keeps one cursor per collection: GET /sync/<collection>?cursor=<next_cursor> until
`has_more` is false, stores the rows and the cursor in one transaction, and polls again later.
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask_smorest import Blueprint
from marshmallow import fields, validate

from app.auth import current_actor, requires
from app.db import request_session
from app.replica import replica_reads
from core.validation import BaseSchema
from ledger.sync import collections as _registered  # noqa: F401  (registers the collections)
from ledger.sync import feed, nhsa
from ledger.sync.registry import collections_for

PREFIX = ""
blp = Blueprint(
    "sync",
    __name__,
    description="数据同步 (sync for HIS/ERP: changes since cursor). "
    "NHSA field names: GET /api/v1/sync/nhsa-mapping, or x-nhsa-mapping in this document.",
)


class SyncQuerySchema(BaseSchema):
    cursor = fields.String(
        load_default=None,
        validate=validate.Length(max=400),
        metadata={"description": "next_cursor of the previous page; absent: from the beginning"},
    )
    limit = fields.Integer(
        load_default=feed.DEFAULT_LIMIT, validate=validate.Range(min=1, max=feed.MAX_LIMIT)
    )
    names = fields.String(
        load_default="platform",
        validate=validate.OneOf(("platform", "nhsa")),
        metadata={"description": "nhsa: field names as in the national insurance messages [UNVERIFIED]"},
    )


class ChangeSchema(BaseSchema):
    id = fields.Integer()
    version = fields.String(metadata={"description": "xid.seq of the write this state reflects"})
    data = fields.Dict(metadata={"description": "current state, as the regular GET endpoint returns it"})


class SyncPageSchema(BaseSchema):
    collection = fields.String()
    items = fields.List(fields.Nested(ChangeSchema))
    next_cursor = fields.String(metadata={"description": "opaque; pass it back unchanged"})
    has_more = fields.Boolean()


class CollectionInfoSchema(BaseSchema):
    name = fields.String()
    label = fields.String()
    url = fields.String()


class SyncIndexSchema(BaseSchema):
    collections = fields.List(fields.Nested(CollectionInfoSchema))
    nhsa_mapping = fields.String()
    max_limit = fields.Integer()


class MappingSchema(BaseSchema):
    source = fields.String()
    status = fields.String()
    collections = fields.Dict(
        metadata={"description": "collection → platform field → {nhsa, meaning, composed}"}
    )


@blp.route("/sync", methods=["GET"])
@requires()
@blp.response(200, SyncIndexSchema)
@replica_reads
def index() -> Any:
    """The collections the caller's system may mirror, and where the NHSA mapping is."""
    return {
        "collections": [
            {"name": c.name, "label": c.label, "url": url_for("sync.changes", collection=c.name)}
            for c in collections_for(current_actor())
        ],
        "nhsa_mapping": url_for("sync.mapping"),
        "max_limit": feed.MAX_LIMIT,
    }


@blp.route("/sync/nhsa-mapping", methods=["GET"])
@requires()
@blp.response(200, MappingSchema)
@replica_reads
def mapping() -> Any:
    """Platform fields → national insurance message abbreviations, per collection [UNVERIFIED]."""
    return nhsa.document()


@blp.route("/sync/<string:collection>", methods=["GET"])
@requires()
@blp.arguments(SyncQuerySchema, location="query")
@blp.response(200, SyncPageSchema)
@replica_reads
def changes(query: dict[str, Any], collection: str) -> Any:
    """Changes since the cursor: the current state of every row the caller may see that changed
    after it, in commit order, at most `limit`; `has_more` says whether to ask again at once.
    A malformed cursor, or one of another collection, is a 400 naming `cursor`."""
    page = feed.changes_since(
        request_session(), current_actor(), collection, query["cursor"], limit=query["limit"]
    )
    rename = query["names"] == "nhsa"
    return {
        "collection": page.collection,
        "items": [
            {
                "id": item.id,
                "version": item.version,
                "data": nhsa.rename(collection, item.data) if rename else item.data,
            }
            for item in page.items
        ],
        "next_cursor": page.next_cursor,
        "has_more": page.has_more,
    }


def document(api: Any) -> None:
    """Put the NHSA mapping into the OpenAPI document (top-level `x-nhsa-mapping`)."""
    api.spec.options["x-nhsa-mapping"] = nhsa.document()
