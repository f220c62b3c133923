"""Bureau pages of renewal (续标): the "create the renewal" form on an expiring batch's page, and
the links between an expiring batch and its renewal."""

from __future__ import annotations

from typing import Any

from flask import redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, attempt, done, form_dict, load, page, web
from bidding import renewal
from bidding.models import ProcurementBatch
from bidding.renewal_schemas import RenewalCreateSchema
from bidding.rules import CarryOver, RenewalCeiling
from core import clock
from core.actors import OrgKind

CHINA_OFFSET = "+08:00"  # the form's datetime-local fields are China time


@web.app_context_processor
def _renewal_helpers() -> dict[str, Any]:
    return {"renewal_links": renewal_links, "renewal_choices": renewal_choices}


def renewal_links(batch: ProcurementBatch) -> dict[str, Any]:
    """The batch this one renews and the batch that renews it (either may be None), and whether a
    renewal can still be created from it."""
    db = request_session()
    renews = db.get(ProcurementBatch, batch.renews_batch_id) if batch.renews_batch_id else None
    renewed_by = renewal.renewal_of(db, batch.id)
    return {
        "renews": renews,
        "renewed_by": renewed_by,
        "can_renew": renewed_by is None and batch.status in renewal.RENEWABLE,
    }


def renewal_choices() -> dict[str, list[Any]]:
    return {"ceilings": list(RenewalCeiling), "carry_overs": list(CarryOver)}


@web.route("/bureau/batches/<int:batch_id>/renewal", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_renew(batch_id: int) -> ResponseReturnValue:
    """Create the renewal from the form; a refused form goes back to the batch with the reasons."""
    who = actor()
    payload = form_dict(request.form)
    for name in RenewalCreateSchema.timeline_fields():
        if name in payload and len(payload[name]) == 16:  # YYYY-MM-DDTHH:MM from the browser
            payload[name] += ":00" + CHINA_OFFSET
    overrides = {
        key: payload.pop(field)
        for key, field in (("renewal_ceiling", "ceiling"), ("renewal_carry_over", "carry_over"))
        if field in payload
    }
    payload["rule_overrides"] = overrides or None
    try:
        data = load(RenewalCreateSchema(), payload)
        new = attempt(
            lambda db: renewal.create_renewal(
                db,
                who,
                batch_id,
                name=data["name"],
                rule_overrides=data["rule_overrides"],
                timeline={k: data[k] for k in RenewalCreateSchema.timeline_fields()},
                cycle_end_on=data["cycle_end_on"],
                now=clock.now(),
            )
        )
    except FormFailed:
        return redirect(url_for("web.bureau_batch", batch_id=batch_id, _anchor="renewal"))
    return done(
        _("Renewal batch %(name)s created as a draft.", name=new.name), "web.bureau_batch", batch_id=new.id
    )
