"""activation_result: each officer's checks by lag, with their status, in one index (the officers' list)

Revision ID: 0009_activation_staff_lag
Revises: 0008_footage_live_sha256
Create Date: 2026-11-29 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_activation_staff_lag"
down_revision: str | None = "0008_footage_live_sha256"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Leads with staff_member_id, so it serves everything the index it replaces did. On PostgreSQL built and
    # dropped CONCURRENTLY, outside the chain's transaction: a large prison's checks go on being written while
    # it builds (a plain CREATE INDEX holds their writes until it is done).
    name, table = "ix_activation_result_staff_member_id_lag_s", "activation_result"
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(name, table, ["staff_member_id", "lag_s"])
        op.drop_index("ix_activation_result_staff_member_id", table_name=table)
        return
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # left invalid by a build that failed half-way
        op.create_index(
            name, table, ["staff_member_id", "lag_s"], postgresql_include=["status"], postgresql_concurrently=True
        )
        # IF EXISTS: a run that failed after this drop, before its version was stamped, can run again.
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_activation_result_staff_member_id")


def downgrade() -> None:
    op.create_index("ix_activation_result_staff_member_id", "activation_result", ["staff_member_id"])
    op.drop_index("ix_activation_result_staff_member_id_lag_s", table_name="activation_result")
