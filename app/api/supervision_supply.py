"""Supply guarantee (供应保障, issue 18 item 1): out-of-stock markings, the void of lines not shipped
in time, supply-failure records (断供) and backup activations (备供启用)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate

import ledger.supervision.supply_messages  # noqa: F401  (registers who hears of which event)
from app.api.common import PAGE, paginate
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from core import clock
from core.actors import OrgKind
from core.validation import MULTILINE, PLAUSIBLE_DATE, BaseSchema
from ledger.scoping import party_scope
from ledger.supervision import backup, delivery, supply
from ledger.supervision.supply_models import BackupActivation, StockOut, SupplyFailure

PREFIX = ""
blp = Blueprint("supervision_supply", __name__, description="供应保障 (supply guarantee)")

_ID = {"strict": True, "validate": validate.Range(min=1, max=2**53)}


class StockOutCreateSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500), metadata=MULTILINE)
    expected_on = fields.Date(required=True, validate=PLAUSIBLE_DATE)


class StockOutSchema(BaseSchema):
    id = fields.Integer()
    order_id = fields.Integer()
    order_line_id = fields.Integer()
    distributor_id = fields.Integer()
    hospital_id = fields.Integer()
    reason = fields.String()
    expected_on = fields.Date()
    marked_at = fields.DateTime()
    cleared_at = fields.DateTime(allow_none=True)
    corrects_id = fields.Integer(allow_none=True)


class VoidRunSchema(BaseSchema):
    day = fields.Date(load_default=None, allow_none=True, validate=PLAUSIBLE_DATE)


class VoidSummarySchema(BaseSchema):
    day = fields.Date()
    orders = fields.Integer()
    lines = fields.Integer()
    packs = fields.Integer()


class SupplyFailureCreateSchema(BaseSchema):
    award_id = fields.Integer(required=True, **_ID)
    region_code = fields.String(
        required=True, validate=validate.Regexp(r"^\d{6}$", error="6位代码 (6 digits)")
    )
    first_day = fields.Date(required=True, validate=PLAUSIBLE_DATE)
    last_day = fields.Date(required=True, validate=PLAUSIBLE_DATE)
    note = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata=MULTILINE)


class SupplyFailureSchema(BaseSchema):
    id = fields.Integer()
    award_id = fields.Integer()
    manufacturer_id = fields.Integer()
    region_code = fields.String()
    first_day = fields.Date()
    last_day = fields.Date()
    ordered_lines = fields.Integer()
    voided_lines = fields.Integer()
    refused_lines = fields.Integer()
    late_lines = fields.Integer()
    ordered_packs = fields.Integer()
    delivered_packs = fields.Integer()
    delivery_rate_pct = fields.Method(
        "_rate", metadata={"description": "配送率 % (delivered ÷ ordered packs)"}
    )
    note = fields.String()
    recorded_at = fields.DateTime()

    def _rate(self, failure: SupplyFailure) -> str | None:
        rate = delivery.delivery_rate_pct(failure.ordered_packs, failure.delivered_packs)
        return None if rate is None else f"{rate:.2f}"


class ActivationCreateSchema(BaseSchema):
    item_id = fields.Integer(required=True, **_ID)
    region_code = fields.String(
        required=True, validate=validate.Regexp(r"^\d{6}$", error="6位代码 (6 digits)")
    )
    to_award_id = fields.Integer(required=True, **_ID, metadata={"description": "the backup winner"})
    from_award_id = fields.Integer(
        load_default=None, allow_none=True, **_ID, metadata={"description": "expected current primary"}
    )
    supply_failure_id = fields.Integer(load_default=None, allow_none=True, **_ID)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500), metadata=MULTILINE)


class ReversalSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500), metadata=MULTILINE)


class ActivationSchema(BaseSchema):
    id = fields.Integer()
    item_id = fields.Integer()
    region_code = fields.String()
    from_award_id = fields.Integer()
    to_award_id = fields.Integer()
    reason = fields.String()
    supply_failure_id = fields.Integer(allow_none=True)
    reverses_id = fields.Integer(allow_none=True)
    moved_units = fields.Integer(metadata={"description": "minimum units of agreed volume moved"})
    activated_at = fields.DateTime()


@blp.route("/orders/<int:order_id>/lines/<int:line_id>/out-of-stock", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@blp.arguments(StockOutCreateSchema)
@blp.response(201, StockOutSchema)
def mark_out_of_stock(data: dict[str, Any], order_id: int, line_id: int) -> Any:
    """缺货: the order's distributor marks an accepted line with packs left to ship out of stock,
    with a reason and the day it expects to ship (not in the past); the hospital hears of it.
    Marking a marked line again is a correction (a new record pointing at the old)."""
    with unit_of_work() as session:
        return supply.mark_out_of_stock(session, current_actor(), order_id, line_id, now=clock.now(), **data)


@blp.route("/stock-outs", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.response(200, StockOutSchema(many=True))
@blp.paginate(**PAGE)
def list_stock_outs(pagination_parameters: PaginationParameters) -> Any:
    """Out-of-stock markings still in force: the bureau all, a hospital or distributor its own."""
    actor = current_actor()
    stmt = party_scope(
        supply.live_stock_outs(), actor, hospital=StockOut.hospital_id, distributor=StockOut.distributor_id
    ).order_by(StockOut.id.desc())
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/supply/void-unshipped", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(VoidRunSchema)
@blp.response(200, VoidSummarySchema)
def void_unshipped(data: dict[str, Any]) -> Any:
    """作废 now: lines ordered `VBP_SUP_VOID_AFTER_DAYS` or more days ago with packs left to ship
    (the daily job does the same); a second run the same day voids nothing more."""
    days = current_app.config["VBP"].supervision.void_after_days
    with unit_of_work() as session:
        return supply.void_unshipped_lines(session, current_actor(), now=clock.now(), days=days)


@blp.route("/supply-failures", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER)
@blp.response(200, SupplyFailureSchema(many=True))
@blp.paginate(**PAGE)
def list_supply_failures(pagination_parameters: PaginationParameters) -> Any:
    """断供 records: the bureau all, a winner its own."""
    stmt = supply.supply_failures_visible_to(current_actor()).order_by(SupplyFailure.id.desc())
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/supply-failures", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(SupplyFailureCreateSchema)
@blp.response(201, SupplyFailureSchema)
def record_supply_failure(data: dict[str, Any]) -> Any:
    """Record a supply failure of an award × region with the platform's evidence for the period
    (ordered, voided, refused and late lines; delivered and ordered packs). The winner hears of it."""
    with unit_of_work() as session:
        return supply.record_supply_failure(session, current_actor(), now=clock.now(), **data)


@blp.route("/backup-activations", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER)
@blp.response(200, ActivationSchema(many=True))
@blp.paginate(**PAGE)
def list_activations(pagination_parameters: PaginationParameters) -> Any:
    """Backup activations: the bureau all; a winner those from or to its awards; a hospital those
    that moved its volume."""
    stmt = backup.activations_visible_to(current_actor()).order_by(BackupActivation.id.desc())
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/backup-activations", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(ActivationCreateSchema)
@blp.response(201, ActivationSchema)
def activate(data: dict[str, Any]) -> Any:
    """备供启用: switch an item × region to a backup winner; its remaining agreed volume moves (422
    naming the field for an award without a backup assignment there; 409 when already switched)."""
    with unit_of_work() as session:
        return backup.activate_backup(session, current_actor(), now=clock.now(), **data)


@blp.route("/backup-activations/<int:activation_id>/reversal", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(ReversalSchema)
@blp.response(201, ActivationSchema)
def reverse(data: dict[str, Any], activation_id: int) -> Any:
    """Switch back: a new activation pointing at this one (409 if already reversed)."""
    with unit_of_work() as session:
        return backup.reverse_activation(
            session, current_actor(), activation_id, reason=data["reason"], now=clock.now()
        )
