"""The warning record (预警): one rule's finding about one subject, kept while it lasts."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, IdPK, str_enum


class WarningState(enum.StrEnum):
    RAISED = "raised"  #: 待处理 (the issue's "open")
    ACKNOWLEDGED = "acknowledged"  #: 已知悉
    RESOLVED = "resolved"  #: 已处理 (with a note)


class Severity(enum.StrEnum):
    LOW = "low"  #: 提示
    MEDIUM = "medium"  #: 关注
    HIGH = "high"  #: 严重


class SupervisionWarning(Base):
    """One warning: rule × subject, first and last seen, its state and the evidence behind it.

    `live_key` equals `subject_key` while the warning is raised or acknowledged and is NULL once it
    is resolved, so the unique (rule, live_key) allows one live warning per subject on both
    databases (NULLs are distinct) and a recurrence after resolution is a new record.
    """

    __tablename__ = "supervision_warnings"
    __table_args__ = (
        UniqueConstraint("rule", "live_key", name="one_live_per_subject"),
        Index("ix_supervision_warnings_rule_state", "rule", "state"),
        Index("ix_supervision_warnings_org_state", "org_id", "state"),
    )

    id: Mapped[IdPK]
    #: The rule's code (ledger/supervision/warnings.py RULES).
    rule: Mapped[str] = mapped_column(String(40))
    #: What the warning is about: ("order", 12), ("award_region", 7) ...; the key is stable across days.
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    subject_key: Mapped[str] = mapped_column(String(120))
    live_key: Mapped[str | None] = mapped_column(String(120))
    #: The party concerned, who sees and answers it; NULL for the bureau's own.
    org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organizations.id"))
    region_code: Mapped[str | None] = mapped_column(String(6), index=True)
    severity: Mapped[Severity] = mapped_column(str_enum(Severity, "warning_severity"))
    state: Mapped[WarningState] = mapped_column(str_enum(WarningState, "warning_state"))
    #: The measured value and the threshold it crossed, as text ("31.5", "24").
    value: Mapped[str | None] = mapped_column(String(40))
    threshold: Mapped[str | None] = mapped_column(String(40))
    #: Facts and the records behind it: {"facts": {...}, "records": [{"kind": ..., "id": ...}]}.
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_seen_on: Mapped[date] = mapped_column(Date)
    last_seen_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    #: The party's answer (说明), kept with who and when.
    answer: Mapped[str | None] = mapped_column(String(1000))
    answered_at: Mapped[datetime | None]
    answered_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    resolution_note: Mapped[str | None] = mapped_column(String(1000))
    resolved_at: Mapped[datetime | None]
    #: NULL with a resolved_at: resolved by the daily job because the condition cleared.
    resolved_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
