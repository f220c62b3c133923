"""Scheduled-job history: one row per job and tick, shared by every scheduler process.

The unique (job, tick) pair is what stops two scheduler processes started by mistake from running
the same tick twice: the first to insert the row runs the job, the other records nothing and
skips. Jobs themselves are idempotent domain functions taking the tick as their fixed `now`, so
a failed tick is simply retried on the next one.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, IdPK, str_enum


class JobStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class JobRun(Base):
    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "tick", name="one_run_per_tick"),)

    id: Mapped[IdPK]
    job: Mapped[str] = mapped_column(String(60), index=True)
    #: The scheduled moment the job ran for (its `now`), not the wall-clock start.
    tick: Mapped[datetime]
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, "job_status"))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    #: host:pid of the scheduler process that claimed the tick.
    worker: Mapped[str] = mapped_column(String(120))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
