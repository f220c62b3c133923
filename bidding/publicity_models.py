"""Publicity period and objections (公示与异议, supervision-and-interop.md §8): the proposals of a
batch's results, the objections lodged against them, and their attachments.

A proposal is never edited: a sustained objection re-derives the results and writes a new proposal
pointing at the one it supersedes; the old one becomes void. Its snapshot is the result as it was
proposed, so the history of every proposal can be read after the awards have been re-derived.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigId, IdPK, str_enum


class ProposalKind(enum.StrEnum):
    RESULTS = "results"  #: 拟中选结果 (with the backup regions the same derivation designates)
    BACKUP = "backup"  #: 备供企业确定 (a designation outside the opening; none in this tree yet)


class ProposalStatus(enum.StrEnum):
    PROPOSED = "proposed"  #: 公示中
    FINAL = "final"  #: 公示期满，结果确定
    VOID = "void"  #: 已被新的公示取代


class ObjectionStatus(enum.StrEnum):
    LODGED = "lodged"  #: 待答复
    SUSTAINED = "sustained"  #: 异议成立
    PARTLY_SUSTAINED = "partly_sustained"  #: 异议部分成立
    DISMISSED = "dismissed"  #: 异议不成立
    WITHDRAWN = "withdrawn"  #: 已撤回 (by the objector, before the answer)


class ResultProposal(Base):
    """公示: a batch's derived results shown for a period during which bidders may object."""

    __tablename__ = "result_proposals"
    __table_args__ = (
        UniqueConstraint("batch_id", "kind", "seq", name="result_proposals_one_per_seq"),
        CheckConstraint("period_ends_at >= period_starts_at", name="period_order"),
    )

    id: Mapped[IdPK]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    #: 1 for the first proposal of the batch, then one more per re-derivation.
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ProposalKind] = mapped_column(str_enum(ProposalKind, "proposal_kind"))
    status: Mapped[ProposalStatus] = mapped_column(str_enum(ProposalStatus, "proposal_status"), index=True)
    #: The proposed result as derived: items, winners, winning prices, regions, excluded bids.
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    period_starts_at: Mapped[datetime]
    period_ends_at: Mapped[datetime] = mapped_column(index=True)
    #: The proposal this one replaces after a sustained objection.
    supersedes_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("result_proposals.id"), unique=True)
    proposed_at: Mapped[datetime]
    #: When it became final or void.
    decided_at: Mapped[datetime | None]


class Objection(Base):
    """异议: a bidder's objection to a proposal, with reasons, answered by the bureau."""

    __tablename__ = "objections"

    id: Mapped[IdPK]
    proposal_id: Mapped[int] = mapped_column(BigId, ForeignKey("result_proposals.id"), index=True)
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    objector_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: The batch items objected to.
    item_ids: Mapped[list[int]] = mapped_column(JSON)
    reasons: Mapped[str] = mapped_column(Text)
    status: Mapped[ObjectionStatus] = mapped_column(str_enum(ObjectionStatus, "objection_status"), index=True)
    lodged_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]
    #: The bureau's reasons for its answer (required).
    answer_reasons: Mapped[str | None] = mapped_column(Text)
    #: The correction decided with a (partly) sustained answer, on the stored inputs:
    #: [{"action": "exclude" | "reinstate", "bid_id": …, "reason": …}].
    correction: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    #: The proposal the correction led to.
    new_proposal_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("result_proposals.id"))

    attachments: Mapped[list[ObjectionAttachment]] = relationship(
        order_by="ObjectionAttachment.id", viewonly=True
    )


class ObjectionAttachment(Base):
    """An objection's supporting document (PDF, OFD, JPEG or PNG, type sniffed from the bytes)."""

    __tablename__ = "objection_attachments"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="not_empty"),)

    id: Mapped[IdPK]
    objection_id: Mapped[int] = mapped_column(BigId, ForeignKey("objections.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(40))
    #: The uploaded name reduced to safe characters; only shown, never used as a path.
    filename: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    uploaded_at: Mapped[datetime]
    #: Loaded only when the file itself is served.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
