"""Bureau pages: batches (create, timeline, transitions, opening, publication, allocations),
listings review, settlement runs, job history (the reconciliation explorer: app/web/reconciliation.py)."""

from __future__ import annotations

from collections.abc import Mapping

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from app import bid_sealer
from app.db import request_session
from app.web.common import (
    WRITERS,
    FormFailed,
    actor,
    attempt,
    done,
    form_dict,
    label,
    load,
    page,
    paged,
    web,
)
from bidding import batches, opening, queries, rules
from bidding.models import (
    BatchItem,
    Category,
    DosageFormGroup,
    ProcurementBatch,
    RatioKind,
    SelectionSource,
    VolumeAllocation,
)
from bidding.schemas import BatchCreateSchema, TransitionSchema
from core import clock
from core.actors import OrgKind
from core.jobs import JobRun
from ledger.models import (
    Listing,
    ListingStatus,
    SettlementApplication,
)
from ledger.schemas import ListingStatusSchema, RunCreateSchema
from ledger.services import listings, settlement
from ledger.supervision.listing_facts import annotate

CHINA_OFFSET = "+08:00"  # the form's datetime-local fields are China time


# --- batches ------------------------------------------------------------------------------------


@web.route("/bureau/batches", methods=["GET", "POST"])
@page(OrgKind.BUREAU)
def bureau_batches() -> ResponseReturnValue:
    who = actor()
    status = 200
    if request.method == "POST":
        if who.role not in WRITERS:
            abort(403)
        payload = form_dict(request.form)
        for name in ("demand_opens_at", "demand_closes_at", "bid_opens_at", "bid_closes_at", "opening_at"):
            if name in payload and len(payload[name]) == 16:  # YYYY-MM-DDTHH:MM from the browser
                payload[name] += ":00" + CHINA_OFFSET
        try:
            data = load(BatchCreateSchema(), payload)
            batch = attempt(
                lambda db: batches.create_batch(
                    db,
                    who,
                    name=data["name"],
                    category=data["category"],
                    scope=data["scope"],
                    rule_version=data["rule_version"],
                    rule_overrides=data["rule_overrides"],
                    timeline={k: data[k] for k in BatchCreateSchema.timeline_fields()},
                    now=clock.now(),
                )
            )
            return done(
                _("Batch %(name)s created as a draft.", name=batch.name),
                "web.bureau_batch",
                batch_id=batch.id,
            )
        except FormFailed:
            status = 422
    stmt = batches.batches_visible_to(who).order_by(ProcurementBatch.id.desc())
    return render_template(
        "web/bureau_batches.html",
        pager=paged(stmt),
        presets=rules.preset_names(),
        categories=list(Category),
        form=request.form,
    ), status


@web.route("/bureau/batches/<int:batch_id>")
@page(OrgKind.BUREAU)
def bureau_batch(batch_id: int) -> ResponseReturnValue:
    return render_batch(batch_id)


def render_batch(
    batch_id: int, *, item_form: Mapping[str, str] | None = None, row_errors: list[str] | None = None
) -> str:
    """The batch page; after a failed item form or import, with what was typed and the bad rows."""
    from app.web.bureau_pickers import generic_name_options
    from app.web.bureau_results import batch_context

    who = actor()
    db = request_session()
    batch = batches.get_batch(db, who, batch_id)
    items = list(db.scalars(select(BatchItem).where(BatchItem.batch_id == batch.id).order_by(BatchItem.id)))
    imported = batch.selection is SelectionSource.IMPORTED
    results = queries.results_for(db, who, batch.id) if batch.opened_at or imported else None
    allocations = paged(queries.allocations_visible_to(db, who, batch.id).order_by(VolumeAllocation.id))
    return render_template(
        "web/bureau_batch.html",
        batch=batch,
        items=items,
        results=results,
        allocations=allocations,
        next_states=batches.plain_transitions(batch.status, batch.selection),
        can_write=who.role in WRITERS,
        item_names={i.id: f"{i.generic_name} {i.rep_strength_value}{i.rep_strength_unit}" for i in items},
        item_form=item_form or {},
        row_errors=row_errors or [],
        generic_names=generic_name_options(db, who) if batch.status.value == "draft" else [],
        dosage_form_groups=list(DosageFormGroup),
        ratio_kinds=list(RatioKind),
        **batch_context(db, batch),
    )


@web.route("/bureau/batches/<int:batch_id>/transition", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_transition(batch_id: int) -> ResponseReturnValue:
    try:
        data = load(TransitionSchema(), form_dict(request.form))
        attempt(lambda db: batches.transition(db, actor(), batch_id, to=data["to"], now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.bureau_batch", batch_id=batch_id))
    return done(_("Batch moved on."), "web.bureau_batch", batch_id=batch_id)


@web.route("/bureau/batches/<int:batch_id>/open", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_open(batch_id: int) -> ResponseReturnValue:
    try:
        attempt(lambda db: opening.open_bids(db, actor(), batch_id, sealer=bid_sealer(), now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.bureau_batch", batch_id=batch_id))
    return done(
        _("Bids opened, winners selected and volumes allocated."), "web.bureau_batch", batch_id=batch_id
    )


@web.route("/bureau/batches/<int:batch_id>/publish", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_publish(batch_id: int) -> ResponseReturnValue:
    try:
        days = current_app.config["VBP"].publicity_days
        attempt(lambda db: opening.publish_results(db, actor(), batch_id, now=clock.now(), days=days))
    except FormFailed:
        return redirect(url_for("web.bureau_batch", batch_id=batch_id))
    if days:
        return done(
            _("Results proposed for the publicity period."), "web.bureau_publicity", batch_id=batch_id
        )
    return done(_("Results published."), "web.bureau_batch", batch_id=batch_id)


# --- listings -----------------------------------------------------------------------------------


@web.route("/bureau/listings")
@page(OrgKind.BUREAU)
def bureau_listings() -> ResponseReturnValue:
    who = actor()
    stmt = listings.listings_visible_to(who).order_by(Listing.id.desc())
    wanted = request.args.get("status", "")
    if wanted in {s.value for s in ListingStatus}:
        stmt = stmt.where(Listing.status == wanted)
    else:
        wanted = ""
    pager = paged(stmt)
    annotate(request_session(), pager.items, current_app.config["VBP"].supervision)  # credit, 支付标准
    return render_template(
        "web/bureau_listings.html", pager=pager, status=wanted, statuses=list(ListingStatus)
    )


@web.route("/bureau/listings/<int:listing_id>/status", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_listing_status(listing_id: int) -> ResponseReturnValue:
    """Suspend, delist or restore one listing. The listing is the URL's: the form carries only
    the new status and the reason (a hidden listing_id field made every submit fail)."""
    back = {"status": request.args["status"]} if request.args.get("status") else {}  # the list's filter
    return change_listing_status(listing_id, "web.bureau_listings", back)


def change_listing_status(listing_id: int, endpoint: str, back: dict[str, str]) -> ResponseReturnValue:
    """The posted move (to, reason) of one listing, audited; then back to the list it came from."""
    try:
        data = load(ListingStatusSchema(), form_dict(request.form))
        attempt(
            lambda db: listings.change_listing_status(
                db, actor(), listing_id, to=data["to"], reason=data["reason"], now=clock.now()
            )
        )
    except FormFailed:
        return redirect(url_for(endpoint, **back))
    message = _("Listing %(id)s is now %(status)s.", id=listing_id, status=label(data["to"]))
    return done(message, endpoint, **back)


# --- settlement runs ----------------------------------------------------------------------------


@web.route("/bureau/settlement", methods=["GET", "POST"])
@page(OrgKind.BUREAU)
def bureau_settlement() -> ResponseReturnValue:
    who = actor()
    status = 200
    if request.method == "POST":
        if who.role not in WRITERS:
            abort(403)
        payload = form_dict(request.form)
        if len(payload.get("period_month", "")) == 7:
            payload["period_month"] += "-01"
        try:
            data = load(RunCreateSchema(), payload)
            run = attempt(
                lambda db: settlement.approve_run(db, who, period_month=data["period_month"], now=clock.now())
            )
            flash(_("Settlement run %(id)s approved.", id=run.id), "success")
        except FormFailed:
            status = 422
    from app.web.settlement_tables import runs_table

    table, stmt = runs_table()
    query = table.query(stmt)
    if query.export_format and request.method == "GET":
        return query.export(query.all_rows())
    runs = query.paged()
    waiting = list(
        request_session().scalars(
            settlement.applications_visible_to(who)
            .where(SettlementApplication.status == "confirmed")
            .order_by(SettlementApplication.period_month, SettlementApplication.id)
            .limit(200)
        )
    )
    return render_template(
        "web/bureau_settlement.html",
        runs=runs,
        query=query,
        totals=query.totals(),
        waiting=waiting,
        last_month=clock.previous_month(clock.month_start(clock.business_date(clock.now()))).strftime(
            "%Y-%m"
        ),
    ), status


# --- scheduler job history ----------------------------------------------------------------------


@web.route("/bureau/jobs")
@page(OrgKind.BUREAU)
def bureau_jobs() -> ResponseReturnValue:
    from app.scheduler import JOBS

    stmt = select(JobRun).order_by(JobRun.tick.desc(), JobRun.id.desc())
    job = request.args.get("job", "")
    if job in JOBS:
        stmt = stmt.where(JobRun.job == job)
    else:
        job = ""
    from app.web.background_jobs import KIND_LABELS, recent_background_jobs

    return render_template(
        "web/bureau_jobs.html",
        pager=paged(stmt),
        jobs=list(JOBS.values()),
        job=job,
        background_jobs=recent_background_jobs(),
        kind_labels=KIND_LABELS,
    )


from app.web import bureau_items, bureau_money, bureau_pickers, bureau_renewal, bureau_review  # noqa: E402, F401  (their views register on the blueprint)
