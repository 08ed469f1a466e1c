"""reports: footage_incident carries its incident's establishment_id and force_started_at (backfilled), with
an index that reads a period's links without joining the incidents

Revision ID: 0004_footage_incident_copies
Revises: 0003_report_indexes
Create Date: 2026-11-27 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "0004_footage_incident_copies"
down_revision: str | None = "0003_report_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("footage_incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("establishment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("force_started_at", app.core.types.UTCDateTime(timezone=True), nullable=True))
    for column in ("establishment_id", "force_started_at"):
        op.execute(
            f"UPDATE footage_incident SET {column} = (SELECT incident.{column} FROM incident"
            " WHERE incident.id = footage_incident.incident_id)"
        )
    with op.batch_alter_table("footage_incident", schema=None) as batch_op:
        batch_op.alter_column("establishment_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "force_started_at", existing_type=app.core.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_footage_incident_establishment_id_establishment"),
            "establishment",
            ["establishment_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_footage_incident_establishment_id_force_started_at",
            ["establishment_id", "force_started_at", "incident_id", "footage_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("footage_incident", schema=None) as batch_op:
        batch_op.drop_index("ix_footage_incident_establishment_id_force_started_at")
        batch_op.drop_constraint(batch_op.f("fk_footage_incident_establishment_id_establishment"), type_="foreignkey")
        batch_op.drop_column("force_started_at")
        batch_op.drop_column("establishment_id")
