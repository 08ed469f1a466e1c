"""footage: one live clip of the same bytes an establishment (a purged clip's bytes may be uploaded again)

Revision ID: 0008_footage_live_sha256
Revises: 0007_template_addresses
Create Date: 2026-11-29 10:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_footage_live_sha256"
down_revision: str | None = "0007_template_addresses"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("status <> 'purged'")


def upgrade() -> None:
    with op.batch_alter_table("footage", schema=None) as batch_op:
        batch_op.drop_constraint("uq_footage_establishment_id_sha256", type_="unique")
    op.create_index(
        "uq_footage_live_sha256",
        "footage",
        ["establishment_id", "sha256"],
        unique=True,
        postgresql_where=LIVE,
        sqlite_where=LIVE,
    )


def downgrade() -> None:
    # Refused by the database if the same bytes were uploaded again after a purge (two rows, one purged).
    op.drop_index("uq_footage_live_sha256", table_name="footage")
    with op.batch_alter_table("footage", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_footage_establishment_id_sha256", ["establishment_id", "sha256"])
