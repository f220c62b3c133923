"""Warnings (预警): rules that find subjects, the daily computation, and the people's answers.

A rule is a plain function `(session, now, settings) -> Iterable[Finding]`, registered with
`@rule(code)`. `compute_warnings` runs the rules and keeps one live warning per rule × subject:
a finding seen again only moves `last_seen_on` (and refreshes the value and evidence), so running
it twice on one day creates nothing new; a live warning whose subject is no longer found is
resolved by the job with a note. Findings found at the moment they happen (not by the daily job)
go through `raise_finding`, the same upsert. The bureau acknowledges and resolves; the party
concerned reads its own warnings and answers them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.glossary import terms_of
from core.states import Machine
from ledger.supervision.models import Severity, SupervisionWarning, WarningState
from ledger.supervision.settings import SupervisionSettings

#: Drill-down keeps at most this many records behind one warning (the count is in the facts).
MAX_RECORDS = 200

WS = WarningState
WARNING = Machine(
    "预警",
    {
        WS.RAISED: frozenset({WS.ACKNOWLEDGED, WS.RESOLVED}),
        WS.ACKNOWLEDGED: frozenset({WS.RESOLVED}),
        WS.RESOLVED: frozenset(),
    },
    terms_of(WS),
    attribute="state",
)


@dataclass(frozen=True)
class Finding:
    """One subject a rule found today."""

    subject_kind: str
    subject_id: int | None
    #: The party concerned (hospital, manufacturer, distributor); None: the bureau's own.
    org_id: int | None
    region_code: str | None
    severity: Severity
    value: str | None = None
    threshold: str | None = None
    #: (kind, id) of the records behind it, for the drill-down.
    records: Sequence[tuple[str, int]] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    #: Stable identity across days; defaults to "<kind>:<id>".
    key: str | None = None

    @property
    def subject_key(self) -> str:
        return self.key or f"{self.subject_kind}:{self.subject_id}"

    def evidence(self) -> dict[str, Any]:
        records = [{"kind": k, "id": int(i)} for k, i in list(self.records)[:MAX_RECORDS]]
        return {
            "facts": audit.jsonable(dict(self.facts)),
            "records": records,
            "record_count": len(self.records),
        }


RuleFn = Callable[[Session, datetime, SupervisionSettings], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    #: Chinese name first, as on the pages.
    label: str
    #: Run by the daily job (False: raised at the moment, e.g. a traceability code seen twice).
    daily: bool
    compute: RuleFn | None


#: code -> Rule; filled by `@rule` in the rule modules (imported by `load_rules`).
RULES: dict[str, Rule] = {}

#: Modules holding rules; imported once so their decorators register.
RULE_MODULES: list[str] = [
    "ledger.supervision.supply_rules",
    "ledger.supervision.price_rules",
    "ledger.supervision.use_rules",
    "ledger.trace.rules",
]


def rule(code: str, label: str) -> Callable[[RuleFn], RuleFn]:
    """Register a daily rule."""

    def decorator(fn: RuleFn) -> RuleFn:
        RULES[code] = Rule(code, label, True, fn)
        return fn

    return decorator


def event_rule(code: str, label: str) -> None:
    """Register a rule whose findings are raised when they happen (`raise_finding`)."""
    RULES[code] = Rule(code, label, False, None)


def load_rules() -> dict[str, Rule]:
    import importlib

    for name in RULE_MODULES:
        importlib.import_module(name)
    return RULES


def _live(session: Session, code: str) -> dict[str, SupervisionWarning]:
    return {
        w.subject_key: w
        for w in session.scalars(
            select(SupervisionWarning).where(
                SupervisionWarning.rule == code, SupervisionWarning.live_key.is_not(None)
            )
        )
    }


def _refresh(live: SupervisionWarning, finding: Finding, *, today: date) -> None:
    """A live warning seen again: its last-seen day, and its value and evidence if they changed."""
    evidence = finding.evidence()
    if live.last_seen_on < today:
        live.last_seen_on = today
    if (live.severity, live.value, live.evidence) != (finding.severity, finding.value, evidence):
        live.severity, live.value, live.threshold = finding.severity, finding.value, finding.threshold
        live.evidence = evidence


def _new(code: str, finding: Finding, *, today: date, now: datetime) -> SupervisionWarning:
    return SupervisionWarning(
        rule=code,
        subject_kind=finding.subject_kind,
        subject_id=finding.subject_id,
        subject_key=finding.subject_key,
        live_key=finding.subject_key,
        org_id=finding.org_id,
        region_code=finding.region_code,
        severity=finding.severity,
        state=WarningState.RAISED,
        value=finding.value,
        threshold=finding.threshold,
        evidence=finding.evidence(),
        first_seen_on=today,
        last_seen_on=today,
        created_at=now,
    )


def _raise(session: Session, code: str, warnings: list[SupervisionWarning], *, now: datetime) -> None:
    """Insert new warnings in one flush and audit them in one append (audit.record_many): a first
    run over a province raises tens of thousands."""
    if not warnings:
        return
    session.add_all(warnings)
    session.flush()
    audit.record_many(
        session,
        Actor.system(),
        [
            audit.Entry(
                "warning.raise",
                "supervision_warning",
                w.id,
                w.org_id,
                after={"rule": code, "subject": w.subject_key, "severity": w.severity, "value": w.value},
            )
            for w in warnings
        ],
        now=now,
    )
    session.flush()


def raise_finding(
    session: Session, code: str, finding: Finding, *, now: datetime
) -> SupervisionWarning | None:
    """Raise (or refresh) one warning at the moment its condition happens, in the caller's
    transaction. Returns the warning when it is new."""
    if code not in RULES:
        raise KeyError(f"unknown warning rule {code!r}")
    live = session.scalars(
        select(SupervisionWarning).where(
            SupervisionWarning.rule == code, SupervisionWarning.live_key == finding.subject_key
        )
    ).first()
    today = clock.business_date(now)
    if live is not None:
        _refresh(live, finding, today=today)
        return None
    warning = _new(code, finding, today=today, now=now)
    _raise(session, code, [warning], now=now)
    return warning


@dataclass
class ComputeSummary:
    day: date
    raised: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    cleared: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(),
            "raised": self.raised,
            "seen": self.seen,
            "cleared": self.cleared,
        }


def compute_warnings(
    session: Session,
    *,
    now: datetime,
    settings: SupervisionSettings,
    rules: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ComputeSummary:
    """Run the daily rules (all, or the named ones) as of `now`; idempotent within a day."""
    load_rules()
    today = clock.business_date(now)
    summary = ComputeSummary(today)
    codes = [c for c in sorted(RULES) if RULES[c].daily] if rules is None else list(rules)
    for code in codes:
        spec = RULES.get(code)
        if spec is None or spec.compute is None:
            raise ValidationFailed(
                fields={"rules": [f"未知或非每日规则 (unknown or not a daily rule): {code}"]}
            )
        live = _live(session, code)
        found: set[str] = set()
        new: list[SupervisionWarning] = []
        for finding in spec.compute(session, now, settings):
            if finding.subject_key in found:
                continue
            found.add(finding.subject_key)
            current = live.get(finding.subject_key)
            if current is not None:
                _refresh(current, finding, today=today)
            else:
                new.append(_new(code, finding, today=today, now=now))
        _raise(session, code, new, now=now)
        raised = len(new)
        gone = [(key, w) for key, w in live.items() if key not in found]
        for _, warning in gone:
            warning.state = WarningState.RESOLVED
            warning.live_key = None
            warning.resolved_at = now
            warning.resolution_note = "条件已消除，系统自动关闭 (condition cleared)"
        audit.record_many(
            session,
            Actor.system(),
            [
                audit.Entry(
                    "warning.clear",
                    "supervision_warning",
                    w.id,
                    w.org_id,
                    after={"rule": code, "subject": key},
                )
                for key, w in gone
            ],
            now=now,
        )
        cleared = len(gone)
        session.flush()
        summary.raised[code], summary.seen[code], summary.cleared[code] = raised, len(found), cleared
        if progress is not None:
            progress(code)
    return summary


# --- reading and answering ----------------------------------------------------------------------


def warnings_visible_to(actor: Actor) -> Select[tuple[SupervisionWarning]]:
    """The bureau sees every warning; a party only those concerning its own organization."""
    stmt = select(SupervisionWarning)
    if actor.is_bureau:
        return stmt
    return stmt.where(SupervisionWarning.org_id == actor.org_id)


def get_warning(session: Session, actor: Actor, warning_id: int) -> SupervisionWarning:
    warning = session.scalars(warnings_visible_to(actor).where(SupervisionWarning.id == warning_id)).first()
    if warning is None:
        raise NotFound("预警不存在 (warning not found)")
    return warning


def _text(value: str | None, name: str, *, required: bool) -> str | None:
    text = (value or "").strip()
    if required and not text:
        raise ValidationFailed(fields={name: ["必填 (required)"]})
    if len(text) > 1000:
        raise ValidationFailed(fields={name: ["不能超过1000字 (at most 1000 characters)"]})
    return text or None


def acknowledge(session: Session, actor: Actor, warning_id: int, *, now: datetime) -> SupervisionWarning:
    """The bureau has seen it (已知悉)."""
    if not (actor.is_bureau and actor.can_write):
        raise PermissionDenied("只有医保局可以处理预警 (only the bureau handles warnings)")
    warning = get_warning(session, actor, warning_id)
    WARNING.move(warning, WarningState.ACKNOWLEDGED)
    warning.acknowledged_at, warning.acknowledged_by = now, actor.user_id
    session.flush()
    audit.record(
        session,
        actor,
        "warning.acknowledge",
        subject_type="supervision_warning",
        subject_id=warning.id,
        subject_org_id=warning.org_id,
        after={"state": warning.state},
        now=now,
    )
    return warning


def resolve(
    session: Session, actor: Actor, warning_id: int, *, note: str | None, now: datetime
) -> SupervisionWarning:
    """The bureau closes it with a note (已处理)."""
    if not (actor.is_bureau and actor.can_write):
        raise PermissionDenied("只有医保局可以处理预警 (only the bureau handles warnings)")
    text = _text(note, "note", required=True)
    warning = get_warning(session, actor, warning_id)
    WARNING.move(warning, WarningState.RESOLVED)
    warning.live_key = None
    warning.resolution_note, warning.resolved_at, warning.resolved_by = text, now, actor.user_id
    session.flush()
    audit.record(
        session,
        actor,
        "warning.resolve",
        subject_type="supervision_warning",
        subject_id=warning.id,
        subject_org_id=warning.org_id,
        after={"state": warning.state, "note": text},
        now=now,
    )
    return warning


def answer(
    session: Session, actor: Actor, warning_id: int, *, text: str | None, now: datetime
) -> SupervisionWarning:
    """The party concerned explains (说明); a resolved warning takes no more answers."""
    if actor.is_bureau or actor.org_kind is OrgKind.BUREAU or not actor.can_write:
        raise PermissionDenied("由预警涉及的单位作出说明 (the party concerned answers)")
    body = _text(text, "answer", required=True)
    warning = get_warning(session, actor, warning_id)
    WARNING.require(warning, WarningState.RAISED, WarningState.ACKNOWLEDGED, action="作出说明 (answer)")
    warning.answer, warning.answered_at, warning.answered_by = body, now, actor.user_id
    session.flush()
    audit.record(
        session,
        actor,
        "warning.answer",
        subject_type="supervision_warning",
        subject_id=warning.id,
        subject_org_id=warning.org_id,
        after={"answer": body},
        now=now,
    )
    return warning
