"""footage.unlinked_at: when the clip's last incident link was removed (retention counts from it)

Revision ID: 0006_footage_unlinked_at
Revises: 0005_no_footage_explanation
Create Date: 2026-11-27 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "0006_footage_unlinked_at"
down_revision: str | None = "0005_no_footage_explanation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("footage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unlinked_at", app.core.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Not in batch mode: on SQLite that rebuilds `footage`, and dropping the old table fails while other
    # tables' foreign keys point at it. SQLite (3.35 and later) drops a plain column in place.
    op.drop_column("footage", "unlinked_at")
