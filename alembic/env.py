"""Alembic runs against the app's own engine settings; one chain for SQLite and PostgreSQL."""

from __future__ import annotations

from logging.config import fileConfig

from sqlmodel import SQLModel

import app.models  # noqa: F401 - registers every table
from alembic import context
from app.core.db import get_engine

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    with get_engine().connect() as connection:
        _run(connection)
        connection.commit()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    sqlite = connection.dialect.name == "sqlite"
    # SQLite changes a table's constraints by building it anew (batch mode: copy, drop, rename). With foreign
    # keys enforced, dropping a table that other rows refer to fails, so they are off while migrating (the
    # pragma is ignored inside a transaction: set before it begins), every reference is checked before the
    # migration commits, and they are on again after.
    # The chain runs in one transaction there too (Alembic's default for SQLite is one a migration), so that a
    # broken reference found at the end undoes it all. On PostgreSQL too, except where a migration builds an
    # index CONCURRENTLY (0009, 0010): `autocommit_block` commits what ran before it, including a transaction
    # the caller passed in, and its migration's version is stamped after it, so a failed build runs again.
    if sqlite and connection.in_transaction():
        raise RuntimeError("run the migrations on a connection outside a transaction (SQLite's foreign keys pragma)")
    raw = connection.connection.driver_connection if sqlite else None
    if raw is not None:
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=sqlite,
            compare_type=True,
            transactional_ddl=True if sqlite else None,
        )
        with context.begin_transaction():
            context.run_migrations()
            if raw is not None:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"the migration would leave broken references: {broken[:5]}")
    finally:
        if raw is not None:
            if connection.in_transaction():  # the pragma would be ignored: end the transaction first
                connection.rollback()
            raw.execute("PRAGMA foreign_keys=ON")


run_migrations_online()
