"""Manufacturer pages of renewal (续标): on a renewal batch's bid page, "keep my winning price"
per item where the renewal rule allows it, and the reason where the manufacturer must bid again."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app import bid_sealer
from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, attempt, page, web
from bidding import renewal
from bidding.models import ProcurementBatch
from core import clock
from core.actors import OrgKind


@web.app_context_processor
def _carry_over_helpers() -> dict[str, Any]:
    return {"my_incumbencies": my_incumbencies}


def my_incumbencies(batch: ProcurementBatch) -> list[renewal.Incumbent]:
    """The signed-in manufacturer's places in the expiring batch, per renewed item ([] elsewhere)."""
    if batch.renews_batch_id is None:
        return []
    who = actor()
    return [
        i for i in renewal.incumbents(request_session(), who, batch.id) if i.manufacturer_id == who.org_id
    ]


@web.route("/enterprise/batches/<int:batch_id>/items/<int:item_id>/carry-over", methods=["POST"])
@page(OrgKind.MANUFACTURER, roles=WRITERS)
def enterprise_carry_over(batch_id: int, item_id: int) -> ResponseReturnValue:
    """Seal a bid at the expiring winning price; the page then shows the receipt like any bid."""
    who = actor()
    try:
        receipt = attempt(
            lambda db: renewal.carry_over(
                db,
                who,
                batch_id,
                item_id,
                accepts_revival=request.form.get("accepts_revival", "true") == "true",
                province=current_app.config["VBP"].province_code,
                sealer=bid_sealer(),
                now=clock.now(),
            )
        )
    except FormFailed:
        return redirect(url_for("web.enterprise_batch", batch_id=batch_id))
    from app.web.enterprise import _batch_page

    flash(
        _("Your winning price was carried over as a sealed bid. Keep the digest and salt below."), "success"
    )
    return _batch_page(batch_id, receipt, 201)
