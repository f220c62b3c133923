"""idempotency records hold keyed digests and encrypted answers only

Records written before this revision kept a sealed bid's receipt (its salt included) in clear, and
unkeyed SHA-256 fingerprints of request bodies: with them a database reader can find a sealed
price. They cannot be re-keyed here (a migration never sees the application's secrets), so they
are deleted. A retry that spans the upgrade is then treated as a new request; stop API clients
while upgrading if that matters.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(sa.text("DELETE FROM idempotency_keys WHERE response_body NOT LIKE 'v1:%'"))


def downgrade() -> None:
    # Older code cannot read encrypted answers: drop them rather than replay ciphertext.
    op.execute(sa.text("DELETE FROM idempotency_keys WHERE response_body LIKE 'v1:%'"))
