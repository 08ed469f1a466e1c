"""guidance_template.addresses: what the automatic checks found that a template is about

Revision ID: 0007_template_addresses
Revises: 0006_footage_unlinked_at
Create Date: 2026-11-29 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_template_addresses"
down_revision: str | None = "0006_footage_unlinked_at"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The templates every establishment starts with, by their titles (as rating.service.DEFAULT_TEMPLATES).
DEFAULTS = {
    "Switch on earlier": "switched_on_late",
    "Not switched on until force ended": "not_on_in_force",
    "Lens covered": "lens_covered",
    "Stopped too early": "stopped_early",
}


def upgrade() -> None:
    with op.batch_alter_table("guidance_template", schema=None) as batch_op:
        batch_op.add_column(sa.Column("addresses", sa.String(length=24), nullable=True))
    template = sa.table("guidance_template", sa.column("title", sa.String), sa.column("addresses", sa.String))
    for title, finding in DEFAULTS.items():
        op.execute(template.update().where(template.c.title == title).values(addresses=finding))


def downgrade() -> None:
    # Not in batch mode: SQLite (3.35 and later) drops a plain column in place.
    op.drop_column("guidance_template", "addresses")
