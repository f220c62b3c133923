"""Orders from an xlsx/CSV upload, the same import in the request (up to VBP_UPLOAD_JOB_ROWS data
rows) and on a background worker (above it): one function does the checks and the writes
(`import_orders`), so a file is accepted or refused the same way on either path.

The job runs as the uploading user (rebuilt from the user row on the worker, as it is now: a user
disabled meanwhile uploads nothing) and is one unit: the import is all-or-nothing, so its orders
commit with the unit's row, or a refusal fails the job with the per-cell errors and writes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.api.files import validated_rows
from app.config import Config
from core.actors import Actor, OrgKind, Role
from core.background import drop_input, job_input
from core.errors import PermissionDenied, ValidationFailed
from core.organizations import User, actor_for_user
from core.spreadsheets import Column, SpreadsheetError, Table, error_fields, read_table
from ledger.order_views import order_summary
from ledger.schemas import OrderRowSchema, OrderSummarySchema
from ledger.services import order_item_codes, ordering

KIND = "order_upload"
ORDER_COLUMNS = (
    Column("listing_id", ("挂网ID", "listing_id"), required=False),
    Column("item_code", ("院内编码", "国家医保编码", "item_code"), required=False),
    Column("quantity", ("数量(包装)", "数量", "quantity")),
    Column("distributor_id", ("配送企业ID", "distributor_id")),
    Column("urgency", ("紧急程度", "urgency"), required=False),
)


def import_orders(
    session: Session, actor: Actor, table: Table, *, now: Any, deadlines: Any
) -> list[dict[str, object]]:
    """One order per distributor and urgency; every bad row is reported together (ValidationFailed
    naming "row 3.quantity" …) and nothing is written unless all rows are good. The caller's unit
    of work commits (or rolls back)."""
    errors: dict[str, list[str]] = {}
    rows = validated_rows(table, OrderRowSchema(), collect=errors)
    errors.update(order_item_codes.fill_listing_ids(session, actor.org_id, rows))
    rows = [(number, row) for number, row in rows if row["listing_id"] is not None]
    groups: dict[tuple[int, Any], list[tuple[int, dict[str, Any]]]] = defaultdict(list)
    for number, row in rows:
        groups[(row["distributor_id"], row["urgency"])].append((number, row))
    created = []
    for (distributor_id, urgency), group in groups.items():
        try:
            with session.begin_nested():
                created.append(
                    ordering.place_orders(
                        session,
                        actor,
                        distributor_id=distributor_id,
                        urgency=urgency,
                        now=now,
                        lines=[ordering.LineRequest(r["listing_id"], r["quantity"]) for _, r in group],
                        line_names=[f"row {n}" for n, _ in group],
                        deadlines=deadlines,
                    )
                )
        except ValidationFailed as exc:
            errors.update(exc.fields)
    if errors:
        raise ValidationFailed("订单表格有误，未写入任何数据 (nothing was written)", fields=errors)
    return [order_summary(session, actor, order) for order in created]


def upload_params(actor: Actor, *, filename: str, sha256: str, now: Any) -> dict[str, Any]:
    return {"user_id": actor.user_id, "filename": filename, "sha256": sha256, "now": now.isoformat()}


def uploader(session: Session, user_id: int | None) -> Actor:
    """The uploading user as they are now, held to the route's own gate (a hospital's writer)."""
    user = session.get(User, user_id) if user_id is not None else None
    if user is None or not user.active:
        raise PermissionDenied("上传用户已停用 (the uploading user is no longer active)")
    actor = actor_for_user(user)
    if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied()
    return actor


@dataclass(frozen=True)
class OrderUploadJob:
    config: Config
    name: str = KIND

    def plan(self, session: Session, params: dict[str, Any]) -> list[list[str]]:
        return [["import"]]

    def run_unit(self, session: Session, params: dict[str, Any], unit_key: str) -> dict[str, Any]:
        from datetime import datetime

        actor = uploader(session, params["user_id"])
        stored = job_input(session, params["input_id"])
        try:
            table = read_table(
                stored.content,
                filename=params["filename"],
                columns=ORDER_COLUMNS,
                limits=self.config.spreadsheet_limits(),
            )
        except SpreadsheetError as exc:
            raise ValidationFailed(
                "表格数据有误，未写入任何数据 (spreadsheet rejected; nothing written)",
                fields=error_fields(exc),
            ) from exc
        summaries = import_orders(
            session,
            actor,
            table,
            now=datetime.fromisoformat(params["now"]),
            deadlines=self.config.delivery_deadlines(),
        )
        drop_input(session, stored)  # imported: the bytes are no longer needed
        return {"rows": len(table.rows), "orders": OrderSummarySchema(many=True).dump(summaries)}

    def summarize(self, params: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
        return results[0] if results else {}
