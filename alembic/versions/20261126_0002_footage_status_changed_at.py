"""footage.status_changed_at: heartbeat for the stuck-analysis sweep

Revision ID: 0002_footage_heartbeat
Revises: 0001
Create Date: 2026-11-26 16:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "0002_footage_heartbeat"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("footage", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_changed_at", app.core.types.UTCDateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("footage", schema=None) as batch_op:
        batch_op.drop_column("status_changed_at")
