"""Corrections and their exits: states for shipment lines, receipts, returns, payments and
prepayments; corrected/voided invoice lines; withdrawn, closed and refund applications with the
hospital's confirmation window; refiled/corrected settlement lines; fund shortfall collections;
statement dispute resolutions; fund settlement and shortfall accounts.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 06:00:00
"""

from collections.abc import Sequence
from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


INVOICE_LINE_OLD = ("pending", "confirmed", "disputed")
INVOICE_LINE_NEW = (*INVOICE_LINE_OLD, "corrected", "voided")
APPLICATION_OLD = ("filed", "confirmed", "approved", "paid")
APPLICATION_NEW = ("filed", "withdrawn", "confirmed", "closed", "refund_due", "approved", "paid", "refunded")
SETTLEMENT_LINE_OLD = ("pending", "confirmed", "disputed")
SETTLEMENT_LINE_NEW = (*SETTLEMENT_LINE_OLD, "withdrawn", "refiled", "corrected")
ACCOUNT_OLD = (
    "fund_cash",
    "hospital_fund_claim",
    "hospital_prepayment",
    "hospital_payable",
    "hospital_purchases",
    "hospital_cash",
    "enterprise_receivable",
    "enterprise_sales",
    "enterprise_cash",
)
ACCOUNT_NEW = (
    "fund_cash",
    "fund_settlements",
    "fund_shortfall_receivable",
    "hospital_fund_claim",
    "hospital_fund_shortfall",
    "hospital_prepayment",
    "hospital_payable",
    "hospital_purchases",
    "hospital_cash",
    "enterprise_receivable",
    "enterprise_sales",
    "enterprise_cash",
)
OPEN_OLD = "status <> 'disputed'"
OPEN_NEW = "status IN ('pending', 'confirmed')"


def _fifth_working_day_after(day: date) -> date:
    """Backfill only: the 5th weekday after filing (holidays were not recorded with old rows)."""
    left = 5
    while left:
        day += timedelta(days=1)
        if day.weekday() < 5:
            left -= 1
    return day


def upgrade() -> None:
    bind = op.get_bind()
    # --- logistics states -------------------------------------------------------------------
    with op.batch_alter_table("shipment_lines") as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                _enum("shipment_line_status", "in_transit", "accepted", "partly_rejected", "rejected"),
                nullable=False,
                server_default="in_transit",
            )
        )
    op.execute(
        "UPDATE shipment_lines SET status = CASE "
        "WHEN accepted_quantity + rejected_quantity = 0 THEN 'in_transit' "
        "WHEN rejected_quantity = 0 THEN 'accepted' "
        "WHEN accepted_quantity = 0 THEN 'rejected' ELSE 'partly_rejected' END"
    )
    with op.batch_alter_table("receipt_lines") as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                _enum("receipt_status", "kept", "partly_returned", "returned", "rejected"),
                nullable=False,
                server_default="kept",
            )
        )
    op.execute(
        "UPDATE receipt_lines SET status = CASE "
        "WHEN accepted_quantity = 0 THEN 'rejected' "
        "WHEN (SELECT COALESCE(SUM(r.quantity), 0) FROM return_lines r "
        "      WHERE r.receipt_line_id = receipt_lines.id) = 0 THEN 'kept' "
        "WHEN (SELECT COALESCE(SUM(r.quantity), 0) FROM return_lines r "
        "      WHERE r.receipt_line_id = receipt_lines.id) >= accepted_quantity THEN 'returned' "
        "ELSE 'partly_returned' END"
    )
    with op.batch_alter_table("return_lines") as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                _enum("return_status", "awaiting_credit", "credited", "no_credit_needed"),
                nullable=False,
                server_default="no_credit_needed",
            )
        )
    invoiced = (
        "(SELECT COALESCE(SUM(i.quantity), 0) FROM invoice_lines i WHERE i.receipt_line_id = rl.id "
        "AND (i.quantity > 0 OR i.status = 'confirmed'))"
    )
    returned = "(SELECT COALESCE(SUM(r2.quantity), 0) FROM return_lines r2 WHERE r2.receipt_line_id = rl.id)"
    op.execute(
        "UPDATE return_lines SET status = CASE "
        f"WHEN (SELECT {invoiced} - (rl.accepted_quantity - {returned}) FROM receipt_lines rl "
        "      WHERE rl.id = return_lines.receipt_line_id) > 0 THEN 'awaiting_credit' "
        "WHEN EXISTS (SELECT 1 FROM invoice_lines i WHERE i.receipt_line_id = return_lines.receipt_line_id "
        "             AND i.quantity < 0) THEN 'credited' "
        "ELSE 'no_credit_needed' END"
    )
    # Rejected packs go back to what remains to deliver (re-shipped or cancelled).
    with op.batch_alter_table("order_lines") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_order_lines_not_over_shipped"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_order_lines_not_over_shipped"),
            "shipped_quantity - rejected_quantity + cancelled_quantity <= quantity",
        )
    # --- invoice lines ----------------------------------------------------------------------
    with op.batch_alter_table("invoice_lines") as batch_op:
        batch_op.alter_column(
            "status",
            type_=_enum("invoice_line_status", *INVOICE_LINE_NEW),
            existing_type=_enum("invoice_line_status", *INVOICE_LINE_OLD),
            existing_nullable=False,
        )
    # --- settlement ------------------------------------------------------------------------
    with op.batch_alter_table("settlement_applications") as batch_op:
        batch_op.alter_column(
            "status",
            type_=_enum("application_status", *APPLICATION_NEW),
            existing_type=_enum("application_status", *APPLICATION_OLD),
            existing_nullable=False,
        )
        batch_op.add_column(sa.Column("confirm_by", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("confirmation_overdue_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("deemed_confirmed", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    rows = bind.execute(sa.text("SELECT id, filed_at FROM settlement_applications")).all()
    for row_id, filed_at in rows:
        filed_on = filed_at.date() if hasattr(filed_at, "date") else date.fromisoformat(str(filed_at)[:10])
        bind.execute(
            sa.text("UPDATE settlement_applications SET confirm_by = :d WHERE id = :i"),
            {"d": _fifth_working_day_after(filed_on), "i": row_id},
        )
    op.execute(
        "UPDATE settlement_applications SET status = CASE WHEN confirmed_fen = 0 THEN 'closed' "
        "ELSE 'refund_due' END WHERE status = 'confirmed' AND confirmed_fen <= 0 AND run_id IS NULL"
    )
    with op.batch_alter_table("settlement_applications") as batch_op:
        batch_op.alter_column("confirm_by", existing_type=sa.Date(), nullable=False)
        batch_op.create_index(
            batch_op.f("ix_settlement_applications_confirm_by"), ["confirm_by"], unique=False
        )
    with op.batch_alter_table("settlement_lines") as batch_op:
        batch_op.drop_index(
            "uq_settlement_lines_open", sqlite_where=sa.text(OPEN_OLD), postgresql_where=sa.text(OPEN_OLD)
        )
        batch_op.alter_column(
            "status",
            type_=_enum("settlement_line_status", *SETTLEMENT_LINE_NEW),
            existing_type=_enum("settlement_line_status", *SETTLEMENT_LINE_OLD),
            existing_nullable=False,
        )
        batch_op.add_column(
            sa.Column("refiles_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_settlement_lines_refiles_id_settlement_lines"),
            "settlement_lines",
            ["refiles_id"],
            ["id"],
        )
    op.execute(
        "UPDATE settlement_lines SET status = 'refiled' WHERE status = 'disputed' AND EXISTS ("
        "SELECT 1 FROM settlement_lines later WHERE later.invoice_line_id = settlement_lines.invoice_line_id "
        "AND later.id > settlement_lines.id)"
    )
    with op.batch_alter_table("settlement_lines") as batch_op:
        batch_op.create_index(
            "uq_settlement_lines_open",
            ["invoice_line_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_NEW),
            postgresql_where=sa.text(OPEN_NEW),
        )
    with op.batch_alter_table("settlement_runs") as batch_op:
        batch_op.alter_column(
            "status",
            type_=_enum("run_status", "approved", "paid"),
            existing_type=sa.String(length=20),
            existing_nullable=False,
        )
    with op.batch_alter_table("payments") as batch_op:
        batch_op.add_column(
            sa.Column(
                "status", _enum("payment_status", "recorded"), nullable=False, server_default="recorded"
            )
        )
    with op.batch_alter_table("prepayments") as batch_op:
        batch_op.add_column(
            sa.Column(
                "status",
                _enum("prepayment_status", "granted", "cleared"),
                nullable=False,
                server_default="granted",
            )
        )
    op.execute("UPDATE prepayments SET status = 'cleared' WHERE cleared_at IS NOT NULL")
    # --- the fund's side ---------------------------------------------------------------------
    with op.batch_alter_table("fund_settlements") as batch_op:
        batch_op.add_column(sa.Column("collected_fen", sa.BigInteger(), nullable=False, server_default="0"))
    op.create_table(
        "fund_collections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fund_settlement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hospital_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("bank_reference", sa.String(length=60), nullable=False),
        sa.Column("collected_on", sa.Date(), nullable=False),
        sa.Column("journal_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_fund_collections_amount_positive")),
        sa.ForeignKeyConstraint(
            ["fund_settlement_id"],
            ["fund_settlements.id"],
            name=op.f("fk_fund_collections_fund_settlement_id_fund_settlements"),
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["organizations.id"], name=op.f("fk_fund_collections_hospital_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["journal_entry_id"],
            ["journal_entries.id"],
            name=op.f("fk_fund_collections_journal_entry_id_journal_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_collections")),
        sa.UniqueConstraint("journal_entry_id", name=op.f("uq_fund_collections_journal_entry_id")),
    )
    with op.batch_alter_table("fund_collections") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_fund_collections_fund_settlement_id"), ["fund_settlement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_fund_collections_hospital_id"), ["hospital_id"], unique=False)
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column(
            "purpose",
            type_=_enum("account_purpose", *ACCOUNT_NEW),
            existing_type=_enum("account_purpose", *ACCOUNT_OLD),
            existing_nullable=False,
        )
    # Plain ADD COLUMN (no batch): SQLite keeps the statements' freezing triggers.
    op.add_column("statements", sa.Column("hospital_resolution", sa.String(length=500), nullable=True))
    op.add_column("statements", sa.Column("enterprise_resolution", sa.String(length=500), nullable=True))


def downgrade() -> None:
    op.drop_column("statements", "enterprise_resolution")
    op.drop_column("statements", "hospital_resolution")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.alter_column(
            "purpose",
            type_=_enum("account_purpose", *ACCOUNT_OLD),
            existing_type=_enum("account_purpose", *ACCOUNT_NEW),
            existing_nullable=False,
        )
    with op.batch_alter_table("fund_collections") as batch_op:
        batch_op.drop_index(batch_op.f("ix_fund_collections_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_fund_collections_fund_settlement_id"))
    op.drop_table("fund_collections")
    with op.batch_alter_table("fund_settlements") as batch_op:
        batch_op.drop_column("collected_fen")
    with op.batch_alter_table("prepayments") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_prepayments_prepayment_status"), type_="check")
        batch_op.drop_column("status")
    with op.batch_alter_table("payments") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_payments_payment_status"), type_="check")
        batch_op.drop_column("status")
    with op.batch_alter_table("settlement_runs") as batch_op:
        batch_op.alter_column(
            "status",
            type_=sa.String(length=20),
            existing_type=_enum("run_status", "approved", "paid"),
            existing_nullable=False,
        )
    with op.batch_alter_table("settlement_lines") as batch_op:
        batch_op.drop_index(
            "uq_settlement_lines_open", sqlite_where=sa.text(OPEN_NEW), postgresql_where=sa.text(OPEN_NEW)
        )
    op.execute("UPDATE settlement_lines SET status = 'disputed' WHERE status IN ('refiled', 'corrected')")
    op.execute("UPDATE settlement_lines SET status = 'pending' WHERE status = 'withdrawn'")
    with op.batch_alter_table("settlement_lines") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_settlement_lines_refiles_id_settlement_lines"), type_="foreignkey"
        )
        batch_op.drop_column("refiles_id")
        batch_op.alter_column(
            "status",
            type_=_enum("settlement_line_status", *SETTLEMENT_LINE_OLD),
            existing_type=_enum("settlement_line_status", *SETTLEMENT_LINE_NEW),
            existing_nullable=False,
        )
        batch_op.create_index(
            "uq_settlement_lines_open",
            ["invoice_line_id"],
            unique=True,
            sqlite_where=sa.text(OPEN_OLD),
            postgresql_where=sa.text(OPEN_OLD),
        )
    op.execute(
        "UPDATE settlement_applications SET status = 'confirmed' "
        "WHERE status IN ('closed', 'refund_due', 'refunded', 'withdrawn')"
    )
    with op.batch_alter_table("settlement_applications") as batch_op:
        batch_op.drop_index(batch_op.f("ix_settlement_applications_confirm_by"))
        batch_op.drop_column("deemed_confirmed")
        batch_op.drop_column("confirmation_overdue_at")
        batch_op.drop_column("confirm_by")
        batch_op.alter_column(
            "status",
            type_=_enum("application_status", *APPLICATION_OLD),
            existing_type=_enum("application_status", *APPLICATION_NEW),
            existing_nullable=False,
        )
    op.execute("UPDATE invoice_lines SET status = 'disputed' WHERE status IN ('corrected', 'voided')")
    with op.batch_alter_table("invoice_lines") as batch_op:
        batch_op.alter_column(
            "status",
            type_=_enum("invoice_line_status", *INVOICE_LINE_OLD),
            existing_type=_enum("invoice_line_status", *INVOICE_LINE_NEW),
            existing_nullable=False,
        )
    with op.batch_alter_table("order_lines") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_order_lines_not_over_shipped"), type_="check")
        batch_op.create_check_constraint(
            batch_op.f("ck_order_lines_not_over_shipped"), "shipped_quantity + cancelled_quantity <= quantity"
        )
    with op.batch_alter_table("return_lines") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_return_lines_return_status"), type_="check")
        batch_op.drop_column("status")
    with op.batch_alter_table("receipt_lines") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_receipt_lines_receipt_status"), type_="check")
        batch_op.drop_column("status")
    with op.batch_alter_table("shipment_lines") as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_shipment_lines_shipment_line_status"), type_="check")
        batch_op.drop_column("status")
