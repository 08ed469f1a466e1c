"""Indexes for the review queue: live clips by establishment, and clips with a current rating

Revision ID: 0010_queue_indexes
Revises: 0009_activation_staff_lag
Create Date: 2026-11-29 11:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_queue_indexes"
down_revision: str | None = "0009_activation_staff_lag"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT = sa.text("is_current AND NOT is_calibration")


def upgrade() -> None:
    # The first leads with establishment_id, so it serves everything the index it replaces did. On PostgreSQL
    # built and dropped CONCURRENTLY, outside the chain's transaction: uploads and ratings go on being written
    # while a large prison's indexes build (a plain CREATE INDEX holds their writes until it is done).
    if op.get_bind().dialect.name != "postgresql":
        op.create_index("ix_footage_establishment_id_id", "footage", ["establishment_id", "id"])
        op.drop_index("ix_footage_establishment_id", table_name="footage")
        op.create_index("ix_rating_current_footage", "rating", ["establishment_id", "footage_id"], sqlite_where=CURRENT)
        return
    with op.get_context().autocommit_block():
        for name in ("ix_footage_establishment_id_id", "ix_rating_current_footage"):
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # left invalid by a build that failed half-way
        op.create_index(
            "ix_footage_establishment_id_id",
            "footage",
            ["establishment_id", "id"],
            postgresql_include=["purged_at"],
            postgresql_concurrently=True,
        )
        # IF EXISTS: a run that failed after this drop (building the next index) can run again.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_footage_establishment_id")
        op.create_index(
            "ix_rating_current_footage",
            "rating",
            ["establishment_id", "footage_id"],
            postgresql_where=CURRENT,
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    op.drop_index("ix_rating_current_footage", table_name="rating")
    op.create_index("ix_footage_establishment_id", "footage", ["establishment_id"])
    op.drop_index("ix_footage_establishment_id_id", table_name="footage")
