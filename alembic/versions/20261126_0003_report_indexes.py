"""reports: copies for the reports (rating.recorded_at from its clip; activation_result.establishment_id and
force_started_at from its incident) and the indexes that read them

Revision ID: 0003_report_indexes
Revises: 0002_footage_heartbeat
Create Date: 2026-11-26 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.types

revision: str = "0003_report_indexes"
down_revision: str | None = "0002_footage_heartbeat"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUIDANCE_GIVEN = "is_current AND NOT is_calibration AND rag IN ('amber', 'red')"


def upgrade() -> None:
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.add_column(sa.Column("recorded_at", app.core.types.UTCDateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE rating SET recorded_at = (SELECT footage.recording_started_at FROM footage"
        " WHERE footage.id = rating.footage_id)"
    )
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.alter_column("recorded_at", existing_type=app.core.types.UTCDateTime(timezone=True), nullable=False)
        batch_op.create_index(
            "ix_rating_guidance_given",
            ["establishment_id", "wearer_id", "rated_at", "recorded_at"],
            unique=False,
            postgresql_where=sa.text(GUIDANCE_GIVEN),
            sqlite_where=sa.text(GUIDANCE_GIVEN),
        )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_establishment_id_force_started_at", ["establishment_id", "force_started_at"], unique=False
        )

    with op.batch_alter_table("activation_result", schema=None) as batch_op:
        batch_op.add_column(sa.Column("establishment_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("force_started_at", app.core.types.UTCDateTime(timezone=True), nullable=True))
    for column in ("establishment_id", "force_started_at"):
        op.execute(
            f"UPDATE activation_result SET {column} = (SELECT incident.{column} FROM incident"
            " WHERE incident.id = activation_result.incident_id)"
        )
    with op.batch_alter_table("activation_result", schema=None) as batch_op:
        batch_op.alter_column("establishment_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column(
            "force_started_at", existing_type=app.core.types.UTCDateTime(timezone=True), nullable=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_activation_result_establishment_id_establishment"),
            "establishment",
            ["establishment_id"],
            ["id"],
        )
        batch_op.create_index(
            "ix_activation_result_establishment_id_force_started_at",
            ["establishment_id", "force_started_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("activation_result", schema=None) as batch_op:
        batch_op.drop_index("ix_activation_result_establishment_id_force_started_at")
        batch_op.drop_constraint(batch_op.f("fk_activation_result_establishment_id_establishment"), type_="foreignkey")
        batch_op.drop_column("force_started_at")
        batch_op.drop_column("establishment_id")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_establishment_id_force_started_at")
    with op.batch_alter_table("rating", schema=None) as batch_op:
        batch_op.drop_index("ix_rating_guidance_given")
        batch_op.drop_column("recorded_at")
