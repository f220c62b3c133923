"""Renewal (续标) and agreements: create a batch's renewal, its incumbents and their carry-over
bids, and the agreements (per cycle year) the caller is party to.
Views: check role → validate → unit_of_work(service) → dump."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from app import bid_sealer
from app.api.common import PAGE
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from bidding import renewal
from bidding.renewal_schemas import (
    AgreementQuerySchema,
    AgreementSchema,
    CarryOverSchema,
    IncumbentSchema,
    RenewalBatchSchema,
    RenewalCreateSchema,
)
from bidding.schemas import ReceiptSchema
from core import clock
from core.actors import OrgKind, Role
from ledger.agreements import agreements_visible_to

PREFIX = ""
blp = Blueprint("renewal", __name__, description="续标与采购协议 (renewal and agreements)")
BUREAU_WRITERS = (Role.ADMIN, Role.OPERATOR)


@blp.route("/batches/<int:batch_id>/renewal", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(RenewalCreateSchema)
@blp.response(201, RenewalBatchSchema)
def create_renewal(data: dict[str, Any], batch_id: int) -> Any:
    """Create the draft renewal of a batch with published results: its items (ceilings by the
    renewal rule), its rules with the overrides, its cycle starting the day after the old one ends.
    A second renewal of the same batch is 409."""
    with unit_of_work() as session:
        return renewal.create_renewal(
            session,
            current_actor(),
            batch_id,
            name=data["name"],
            rule_overrides=data["rule_overrides"],
            timeline={k: data[k] for k in RenewalCreateSchema.timeline_fields()},
            cycle_end_on=data["cycle_end_on"],
            now=clock.now(),
        )


@blp.route("/batches/<int:batch_id>/incumbents", methods=["GET"])
@requires()
@blp.response(200, IncumbentSchema(many=True))
def list_incumbents(batch_id: int) -> Any:
    """The winners of the expiring batch per renewed item, their expiring prices (published) and
    whether each may carry its price over or must bid again (and why)."""
    return renewal.incumbents(request_session(), current_actor(), batch_id)


@blp.route("/batches/<int:batch_id>/items/<int:item_id>/carry-over", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@idempotent()
@blp.arguments(CarryOverSchema)
@blp.response(201, ReceiptSchema)
def carry_over(data: dict[str, Any], batch_id: int, item_id: int) -> Any:
    """An incumbent's sealed bid at its expiring winning pack price (replaces its active bid for
    the item); refused with the reason for manufacturers who must bid again."""
    with unit_of_work() as session:
        return renewal.carry_over(
            session,
            current_actor(),
            batch_id,
            item_id,
            accepts_revival=data["accepts_revival"],
            province=current_app.config["VBP"].province_code,
            sealer=bid_sealer(),
            now=clock.now(),
        )


@blp.route("/agreements", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER)
@blp.arguments(AgreementQuerySchema, location="query")
@blp.response(200, AgreementSchema(many=True))
@blp.paginate(**PAGE)
def list_agreements(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Agreements per allocation and cycle year of published batches: a hospital its own, a
    manufacturer those of its awards, the bureau all; filter by batch and calendar year."""
    found = agreements_visible_to(
        request_session(), current_actor(), batch_id=query.get("batch_id"), year=query.get("year")
    )
    pagination_parameters.item_count = len(found)
    start = pagination_parameters.first_item
    return found[start : start + pagination_parameters.page_size]
