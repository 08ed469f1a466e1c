"""no_footage_explanation: why an involved officer has no footage of an incident, as a coordinator recorded it

Revision ID: 0005_no_footage_explanation
Revises: 0004_footage_incident_copies
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.types

revision: str = "0005_no_footage_explanation"
down_revision: str | None = "0004_footage_incident_copies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("no_footage_explanation",
    sa.Column("incident_id", sa.Integer(), nullable=False),
    sa.Column("staff_member_id", sa.Integer(), nullable=False),
    sa.Column("establishment_id", sa.Integer(), nullable=False),
    sa.Column("reason", sa.Enum("not_switched_on", "no_camera", "camera_fault", "footage_lost", "other", name="nofootagereason", native_enum=False, length=32), nullable=False),
    sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
    sa.Column("recorded_at", app.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(["establishment_id"], ["establishment.id"], name=op.f("fk_no_footage_explanation_establishment_id_establishment")),
    sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], name=op.f("fk_no_footage_explanation_incident_id_incident"), ondelete="CASCADE"),
    sa.ForeignKeyConstraint(["recorded_by_user_id"], ["user.id"], name=op.f("fk_no_footage_explanation_recorded_by_user_id_user")),
    sa.ForeignKeyConstraint(["staff_member_id"], ["staff_member.id"], name=op.f("fk_no_footage_explanation_staff_member_id_staff_member")),
    sa.PrimaryKeyConstraint("incident_id", "staff_member_id", name=op.f("pk_no_footage_explanation"))
    )
    with op.batch_alter_table("no_footage_explanation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_no_footage_explanation_establishment_id"), ["establishment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_no_footage_explanation_staff_member_id"), ["staff_member_id"], unique=False)



def downgrade() -> None:
    with op.batch_alter_table("no_footage_explanation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_no_footage_explanation_staff_member_id"))
        batch_op.drop_index(batch_op.f("ix_no_footage_explanation_establishment_id"))

    op.drop_table("no_footage_explanation")
