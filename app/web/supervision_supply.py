"""Supply-guarantee pages: the distributor marks a line out of stock from its order page; the
bureau's supply page lists supply failures (断供) and backup activations (备供启用) with forms that
pick items, regions and awards from lists, and runs the void (作废) of lines not shipped in time."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from app.api.supervision_supply import (
    ActivationCreateSchema,
    ReversalSchema,
    StockOutCreateSchema,
    SupplyFailureCreateSchema,
)
from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, attempt, done, form_dict, load, page, paged, web
from bidding.models import Award, BatchItem, RegionAssignment
from core import clock
from core.actors import OrgKind
from ledger.supervision import backup, delivery, supply
from ledger.supervision.supply_models import BackupActivation, SupplyFailure


@web.route("/orders/<int:order_id>/lines/<int:line_id>/out-of-stock", methods=["POST"])
@page(OrgKind.DISTRIBUTOR, roles=WRITERS)
def order_line_out_of_stock(order_id: int, line_id: int) -> ResponseReturnValue:
    try:
        data = load(StockOutCreateSchema(), form_dict(request.form))
        attempt(lambda db: supply.mark_out_of_stock(db, actor(), order_id, line_id, now=clock.now(), **data))
    except FormFailed:
        return redirect(url_for("web.order_detail", order_id=order_id))
    return done(
        _("The line was marked out of stock; the hospital was told."), "web.order_detail", order_id=order_id
    )


def _choices() -> dict[str, object]:
    """What the bureau's forms pick from: awards with their item and maker, backup assignments."""
    db = request_session()
    awards = db.execute(
        select(Award, BatchItem.generic_name)
        .join(BatchItem, BatchItem.id == Award.item_id)
        .order_by(Award.id)
    ).all()
    backups = db.execute(
        select(RegionAssignment.item_id, RegionAssignment.region_code, RegionAssignment.award_id)
        .where(RegionAssignment.kind == "backup")
        .order_by(RegionAssignment.item_id, RegionAssignment.region_code)
    ).all()
    regions = sorted(set(db.scalars(select(RegionAssignment.region_code).distinct())))
    item_ids = sorted({item for item, _region, _award in backups})
    items = db.execute(
        select(BatchItem.id, BatchItem.generic_name).where(BatchItem.id.in_(item_ids)).order_by(BatchItem.id)
    ).all()
    backup_awards = {award for _item, _region, award in backups}
    return {
        "awards": awards,
        "backup_awards": [(a, name) for a, name in awards if a.id in backup_awards],
        "regions": regions,
        "items": items,
    }


@web.route("/bureau/supply")
@page(OrgKind.BUREAU)
def bureau_supply() -> ResponseReturnValue:
    who = actor()
    failures = paged(supply.supply_failures_visible_to(who).order_by(SupplyFailure.id.desc()))
    activations = list(
        request_session().scalars(
            backup.activations_visible_to(who).order_by(BackupActivation.id.desc()).limit(100)
        )
    )
    reversed_ids = {a.reverses_id for a in activations if a.reverses_id}
    return render_template(
        "web/supervision_supply_bureau.html",
        failures=failures,
        activations=activations,
        reversed_ids=reversed_ids,
        rate=delivery.delivery_rate_pct,
        today=clock.business_date(clock.now()),
        void_days=current_app.config["VBP"].supervision.void_after_days,
        **_choices(),
    )


@web.route("/bureau/supply/failures", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_supply_failure() -> ResponseReturnValue:
    try:
        data = load(SupplyFailureCreateSchema(), form_dict(request.form, ints=("award_id",)))
        attempt(lambda db: supply.record_supply_failure(db, actor(), now=clock.now(), **data))
    except FormFailed:
        return redirect(url_for("web.bureau_supply"))
    return done(_("The supply failure was recorded; the winner was told."), "web.bureau_supply")


@web.route("/bureau/supply/activations", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_supply_activate() -> ResponseReturnValue:
    ints = ("item_id", "to_award_id", "supply_failure_id")
    try:
        data = load(ActivationCreateSchema(), form_dict(request.form, ints=ints))
        attempt(lambda db: backup.activate_backup(db, actor(), now=clock.now(), **data))
    except FormFailed:
        return redirect(url_for("web.bureau_supply"))
    return done(_("The backup supplier now supplies the region; hospitals were told."), "web.bureau_supply")


@web.route("/bureau/supply/activations/<int:activation_id>/reversal", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_supply_reverse(activation_id: int) -> ResponseReturnValue:
    try:
        data = load(ReversalSchema(), form_dict(request.form))
        attempt(
            lambda db: backup.reverse_activation(
                db, actor(), activation_id, reason=data["reason"], now=clock.now()
            )
        )
    except FormFailed:
        return redirect(url_for("web.bureau_supply"))
    return done(_("The region is supplied by its primary again."), "web.bureau_supply")


@web.route("/bureau/supply/void", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_supply_void() -> ResponseReturnValue:
    days = current_app.config["VBP"].supervision.void_after_days
    try:
        summary = attempt(lambda db: supply.void_unshipped_lines(db, actor(), now=clock.now(), days=days))
    except FormFailed:
        return redirect(url_for("web.bureau_supply"))
    return done(_("%(lines)s lines were voided.", lines=summary.lines), "web.bureau_supply")
