"""Monthly reconciliation statements (对账单): one per hospital × distributor × month of orders.

Generated from the reconciliation (`ledger.reconcile`), frozen as a JSON snapshot with a digest of
its data (the verification code printed on the PDF): SHA-256 or SM3, the platform's suite when the
version was made (core/crypto_suites.py), recorded on the statement. Regenerating with unchanged data
makes nothing; changed data makes the next version and leaves the old one as it was. Both parties
confirm or dispute the current version; once both confirmed it is frozen (database triggers
refuse any change, see migration 0007).

The month is the month the orders were placed (`order_lines.ordered_on`): a statement follows
its orders through delivery, invoicing and payment, version by version, until everything on it
is settled.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session

from bidding.models import Product
from core import audit, clock, crypto_suites
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.organizations import Organization
from ledger import reconcile, states
from ledger.models import (
    Invoice,
    InvoiceLine,
    OrderLine,
    PartyDecision,
    Payment,
    SettlementLine,
    SettlementLineStatus,
    ShipmentLine,
    Statement,
)
from ledger.reconcile import Options, Slice
from ledger.scoping import party_scope


def statement_number(hospital_id: int, enterprise_id: int, period: date, version: int) -> str:
    return f"DZD-{period:%Y%m}-{hospital_id:06d}-{enterprise_id:06d}-V{version}"


def canonical_digest(data: Any, suite: str | None = None) -> str:
    """Digest of canonical JSON (sorted keys, no spaces, UTF-8): the same data, the same code.
    Under `suite` (a statement's own), by default the platform's current one."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    algorithms = crypto_suites.get(suite) if suite else crypto_suites.current()
    return algorithms.digest(text.encode())


def normalize_code(code: str) -> str:
    """What a person types from the PDF: grouped, upper or lower case."""
    return "".join(ch for ch in code.lower() if ch in "0123456789abcdef")


def statements_visible_to(actor: Actor) -> Select[tuple[Statement]]:
    """The two parties and the bureau; a manufacturer is not a party to a distributor's statement."""
    return party_scope(
        select(Statement), actor, hospital=Statement.hospital_id, distributor=Statement.enterprise_id
    )


def current_versions() -> Select[tuple[int, int, date, int]]:
    return select(
        Statement.hospital_id,
        Statement.enterprise_id,
        Statement.period_month,
        func.max(Statement.version).label("version"),
    ).group_by(Statement.hospital_id, Statement.enterprise_id, Statement.period_month)


def is_current(session: Session, statement: Statement) -> bool:
    latest = session.scalar(
        select(func.max(Statement.version)).where(
            Statement.hospital_id == statement.hospital_id,
            Statement.enterprise_id == statement.enterprise_id,
            Statement.period_month == statement.period_month,
        )
    )
    return latest == statement.version


def _refs(session: Session, line_ids: list[int]) -> dict[str, dict[int, list[str]]]:
    """Shipment, invoice and payment references per order line (distinct, in id order)."""
    refs: dict[str, dict[int, list[str]]] = {k: defaultdict(list) for k in ("ship", "invoice", "payment")}
    if not line_ids:
        return refs
    queries = {
        "ship": select(ShipmentLine.order_line_id, ShipmentLine.shipment_id)
        .distinct()
        .where(ShipmentLine.order_line_id.in_(line_ids))
        .order_by(ShipmentLine.shipment_id),
        "invoice": select(InvoiceLine.order_line_id, Invoice.invoice_code + Invoice.invoice_number)
        .distinct()
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(InvoiceLine.order_line_id.in_(line_ids))
        .order_by(Invoice.invoice_code + Invoice.invoice_number),
        "payment": select(SettlementLine.order_line_id, Payment.bank_reference)
        .distinct()
        .join(Payment, Payment.application_id == SettlementLine.application_id)
        .where(
            SettlementLine.order_line_id.in_(line_ids),
            SettlementLine.status == SettlementLineStatus.CONFIRMED,
        )
        .order_by(Payment.bank_reference),
    }
    for kind, stmt in queries.items():
        for line_id, ref in session.execute(stmt):
            text = f"FH{ref}" if kind == "ship" else str(ref)
            if text not in refs[kind][line_id]:
                refs[kind][line_id].append(text)
    return refs


def _party(org: Organization, label: str) -> dict[str, Any]:
    return {"id": org.id, "role_label": label, "name": org.name, "code": org.uscc}


def build_content(
    session: Session,
    actor: Actor,
    *,
    hospital: Organization,
    enterprise: Organization,
    period: date,
    as_of: datetime,
    options: Options = reconcile.DEFAULTS,
) -> dict[str, Any]:
    """The statement's data: lines with their three flows, totals by status, discrepancies."""
    where = Slice(
        hospital_id=hospital.id,
        distributor_id=enterprise.id,
        ordered_from=period,
        ordered_before=clock.next_month(period),
    )
    results = reconcile.reconcile_lines(session, actor, where, as_of=as_of, options=options)
    ids = [r.order_line_id for r in results]
    refs = _refs(session, ids)
    products = dict(
        session.execute(
            select(Product.id, Product.generic_name + " " + Product.spec_text).where(
                Product.id.in_({r.product_id for r in results})
            )
        ).all()
    )
    lines = [
        {
            "order_line_id": r.order_line_id,
            "order_ref": f"DD{r.order_id:08d}-{r.order_line_id}",
            "product": products.get(r.product_id, str(r.product_id)),
            "ordered_qty": r.quantity - r.cancelled_quantity,
            "shipped_qty": r.shipped,
            "accepted_qty": r.accepted,
            "rejected_qty": r.rejected,
            "returned_qty": r.returned,
            "invoiced_qty": r.inv_qty,
            "pack_price_fen": r.pack_price_fen,
            "order_amount_fen": r.amount_fen,
            "invoiced_fen": r.inv_fen,
            "paid_fen": r.paid_fen,
            "shipment_refs": ",".join(refs["ship"].get(r.order_line_id, [])),
            "invoice_refs": ",".join(refs["invoice"].get(r.order_line_id, [])),
            "payment_refs": ",".join(refs["payment"].get(r.order_line_id, [])),
            "status": r.status.value,
            "diff_qty": r.diff_qty,
            "diff_fen": r.diff_fen,
        }
        for r in results
    ]
    totals: dict[str, dict[str, Any]] = {}
    for line in lines:
        t = totals.setdefault(line["status"], {"lines": 0, "order_amount_fen": 0, "diff_fen": 0})
        t["lines"] += 1
        t["order_amount_fen"] += line["order_amount_fen"]
        t["diff_fen"] += line["diff_fen"]
    discrepancies = [
        {
            "status": line["status"],
            "records": "; ".join(
                part
                for part in (
                    f"订单行 {line['order_ref']}",
                    line["shipment_refs"] and f"发货 {line['shipment_refs']}",
                    line["invoice_refs"] and f"发票 {line['invoice_refs']}",
                    line["payment_refs"] and f"付款 {line['payment_refs']}",
                )
                if part
            ),
            "diff_qty": line["diff_qty"],
            "diff_fen": line["diff_fen"],
            "description": reconcile.LABELS[reconcile.Status(line["status"])],
        }
        for line in lines
        if reconcile.Status(line["status"]) not in reconcile.SETTLED | reconcile.IN_PROGRESS
    ]
    line_set = set(ids)
    for orphan in reconcile.orphans(
        session, actor, Slice(hospital_id=hospital.id, enterprise_id=enterprise.id)
    ):
        if orphan.order_line_id is not None and orphan.order_line_id not in line_set:
            continue
        discrepancies.append(
            {
                "status": orphan.kind.value,
                "records": f"{orphan.record_type} {orphan.record_id}",
                "diff_qty": orphan.diff_qty,
                "diff_fen": orphan.diff_fen,
                "description": f"{orphan.label}：{orphan.detail}",
            }
        )
    return {
        "period": f"{period:%Y-%m}",
        "hospital": _party(hospital, "医疗机构"),
        "enterprise": _party(enterprise, "配送企业"),
        "lines": lines,
        "totals": [
            {"status": status.value, **totals[status.value]}
            for status in reconcile.Status
            if status.value in totals
        ],
        "discrepancies": discrepancies,
    }


@dataclass(frozen=True)
class GenerationResult:
    created: list[Statement]
    unchanged: int


def generate(
    session: Session,
    actor: Actor,
    *,
    period: date,
    as_of: datetime,
    now: datetime,
    hospital_id: int | None = None,
    enterprise_id: int | None = None,
    options: Options = reconcile.DEFAULTS,
    progress: Callable[[int, int], None] | None = None,
) -> GenerationResult:
    """Statements for every hospital × distributor with orders in the month (or the one pair
    asked for): a new version where the data changed since the last one, nothing otherwise."""
    if not actor.is_bureau:
        raise PermissionDenied("仅医保部门可生成对账单 (bureau only)")
    if period.day != 1:
        raise ValidationFailed(fields={"period_month": ["须为月份的1日 (the first day of a month)"]})
    pairs_stmt = (
        select(OrderLine.hospital_id, OrderLine.distributor_id)
        .where(OrderLine.ordered_on >= period, OrderLine.ordered_on < clock.next_month(period))
        .group_by(OrderLine.hospital_id, OrderLine.distributor_id)
        .order_by(OrderLine.hospital_id, OrderLine.distributor_id)
    )
    if hospital_id is not None:
        pairs_stmt = pairs_stmt.where(OrderLine.hospital_id == hospital_id)
    if enterprise_id is not None:
        pairs_stmt = pairs_stmt.where(OrderLine.distributor_id == enterprise_id)
    pairs = session.execute(pairs_stmt).all()
    latest = {
        (row.hospital_id, row.enterprise_id): row.version
        for row in session.execute(current_versions().where(Statement.period_month == period))
    }
    orgs = {
        o.id: o
        for o in session.scalars(
            select(Organization).where(Organization.id.in_({x for p in pairs for x in p}))
        )
    }
    created: list[Statement] = []
    unchanged = 0
    for n, (h_id, e_id) in enumerate(pairs, start=1):
        content = build_content(
            session,
            actor,
            hospital=orgs[h_id],
            enterprise=orgs[e_id],
            period=period,
            as_of=as_of,
            options=options,
        )
        version = latest.get((h_id, e_id), 0)
        previous = (
            session.scalars(
                select(Statement).where(
                    Statement.hospital_id == h_id,
                    Statement.enterprise_id == e_id,
                    Statement.period_month == period,
                    Statement.version == version,
                )
            ).first()
            if version
            else None
        )
        # Unchanged data is compared under the previous version's own suite (it may predate a switch).
        if previous is not None and previous.content_digest == canonical_digest(content, previous.suite):
            unchanged += 1
        else:
            content_digest = canonical_digest(content)
            created.append(
                _create(session, actor, content, content_digest, h_id, e_id, period, version + 1, as_of, now)
            )
        if progress:
            progress(n, len(pairs))
    return GenerationResult(created, unchanged)


def _create(
    session: Session,
    actor: Actor,
    content: dict[str, Any],
    content_digest: str,
    hospital_id: int,
    enterprise_id: int,
    period: date,
    version: int,
    as_of: datetime,
    now: datetime,
) -> Statement:
    payload = {
        **content,
        "number": statement_number(hospital_id, enterprise_id, period, version),
        "version": version,
        "as_of": as_of.isoformat(),
        "generated_at": now.isoformat(),
        "content_digest": content_digest,
    }
    lines = content["lines"]
    statement = Statement(
        hospital_id=hospital_id,
        enterprise_id=enterprise_id,
        period_month=period,
        version=version,
        as_of=as_of,
        generated_at=now,
        suite=crypto_suites.current().name,
        digest=canonical_digest(payload),
        content_digest=content_digest,
        payload=payload,
        line_count=len(lines),
        order_amount_fen=sum(line["order_amount_fen"] for line in lines),
        invoiced_fen=sum(line["invoiced_fen"] for line in lines),
        paid_fen=sum(line["paid_fen"] for line in lines),
        discrepancy_count=len(content["discrepancies"]),
        hospital_decision=PartyDecision.PENDING,
        enterprise_decision=PartyDecision.PENDING,
    )
    session.add(statement)
    session.flush()
    audit.record(
        session,
        actor,
        "statement.generate",
        subject_type="statement",
        subject_id=statement.id,
        subject_org_id=hospital_id,
        after={"number": payload["number"], "digest": statement.digest, "lines": len(lines)},
        now=now,
    )
    return statement


def get_statement(
    session: Session, actor: Actor, statement_id: int, *, for_update: bool = False
) -> Statement:
    stmt = statements_visible_to(actor).where(Statement.id == statement_id)
    statement = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if statement is None:
        raise NotFound("对账单不存在 (statement not found)")
    return statement


def decide(
    session: Session, actor: Actor, statement_id: int, *, confirm: bool, reason: str | None, now: datetime
) -> Statement:
    """The hospital or the distributor confirms or disputes the current version. A party that
    disputed may later confirm it with a note of how the dispute was resolved (the data did not
    need to change), so every statement can reach confirmed (three-flows.md)."""
    if actor.role not in (Role.ADMIN, Role.OPERATOR) or actor.org_kind not in (
        OrgKind.HOSPITAL,
        OrgKind.DISTRIBUTOR,
    ):
        raise PermissionDenied("仅对账双方可确认 (the two parties only)")
    statement = get_statement(session, actor, statement_id, for_update=True)
    side = "hospital" if actor.org_kind is OrgKind.HOSPITAL else "enterprise"
    machine = states.STATEMENT_HOSPITAL if side == "hospital" else states.STATEMENT_ENTERPRISE
    before = getattr(statement, f"{side}_decision")
    resolving = confirm and before is PartyDecision.DISPUTED
    if not (reason and reason.strip()) and (not confirm or resolving):
        raise ValidationFailed(
            fields={
                "reason": [
                    "解决异议须说明处理结果 (resolving a dispute needs a note)"
                    if resolving
                    else "有异议须说明原因 (a dispute needs a reason)"
                ]
            }
        )
    if not is_current(session, statement):
        raise InvalidState("该版本已被新版本取代 (superseded by a newer version)", code="superseded")
    if before is PartyDecision.CONFIRMED:
        raise Conflict("已确认 (already confirmed)", code="already_decided")
    decision = PartyDecision.CONFIRMED if confirm else PartyDecision.DISPUTED
    machine.move(statement, decision)
    if resolving:
        setattr(statement, f"{side}_resolution", reason)
    else:
        setattr(statement, f"{side}_reason", None if confirm else reason)
    setattr(statement, f"{side}_decided_at", now)
    setattr(statement, f"{side}_decided_by", actor.user_id)
    session.flush()
    audit.record(
        session,
        actor,
        "statement.resolve" if resolving else f"statement.{decision.value}",
        subject_type="statement",
        subject_id=statement.id,
        subject_org_id=statement.hospital_id,
        before={"side": side, "decision": before},
        after={"side": side, "reason": reason, "state": statement.state},
        now=now,
    )
    return statement


def verify(session: Session, code: str) -> Statement | None:
    """The statement whose data has this digest, if any (public: the code itself is the secret
    a holder of the PDF presents; 256 bits cannot be guessed)."""
    digest = normalize_code(code)
    if len(digest) != 64:
        return None
    return session.scalars(select(Statement).where(Statement.digest == digest)).first()


def statements_for(
    actor: Actor, *, period: date | None = None, current_only: bool = True
) -> Select[tuple[Statement]]:
    """Statements the actor may see, by default only each one's current version."""
    stmt = statements_visible_to(actor)
    if period is not None:
        stmt = stmt.where(Statement.period_month == period)
    if current_only:
        latest = current_versions().subquery()
        stmt = stmt.join(
            latest,
            and_(
                latest.c.hospital_id == Statement.hospital_id,
                latest.c.enterprise_id == Statement.enterprise_id,
                latest.c.period_month == Statement.period_month,
                latest.c.version == Statement.version,
            ),
        )
    return stmt.order_by(Statement.period_month, Statement.hospital_id, Statement.enterprise_id)
