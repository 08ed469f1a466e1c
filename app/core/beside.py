"""Read-only statements run beside the request's own, on a second pooled connection (PostgreSQL).

A page that needs two large statements, neither needing the other, can use both cores: the side statements
run on a connection of their own while the request's connection runs the rest. (Under READ COMMITTED each
statement reads its own snapshot anyway, as they did one after the other.) At most one side run per core at
once, and only while the pool has an idle connection: past that, or when the connection cannot be had after
all, the side statements simply run on the request's connection when their rows are asked for. A request
never waits on a side run that waits for it, so the pool cannot deadlock. SQLite has one writer and nothing
to gain: there they always run on the request's connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

_BESIDE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="beside")
_BESIDE_SLOTS = threading.BoundedSemaphore(2)


def beside(
    session: Session,
    stmts: Sequence[Any],
    params: dict[str, Any] | None = None,
    *,
    prepare: Callable[[sa.Connection], None] | None = None,
) -> Callable[[], list[Sequence[Any]]]:
    """Start `stmts`, one after another, on a connection of their own if it can; the returned function
    gives each statement's rows. `prepare` readies the side connection's transaction first (settings the
    request's own transaction has set for itself)."""
    bind = session.get_bind()

    def here() -> list[Sequence[Any]]:
        return [session.execute(stmt, params).all() for stmt in stmts]

    if bind.dialect.name != "postgresql" or not isinstance(bind, sa.Engine) or not _idle_connection(bind):
        return here
    if not _BESIDE_SLOTS.acquire(blocking=False):
        return here

    def run() -> list[Sequence[Any]] | None:
        try:
            try:
                conn = bind.connect()
            except (sa.exc.TimeoutError, sa.exc.OperationalError, sa.exc.InterfaceError):
                return None  # no second connection after all: the request's own runs them
            with conn:
                if prepare is not None:
                    prepare(conn)
                rows = [conn.execute(stmt, params).all() for stmt in stmts]
                conn.rollback()
                return rows
        finally:
            _BESIDE_SLOTS.release()

    try:
        future = _BESIDE.submit(run)
    except RuntimeError:  # the executor is shutting down (interpreter exit)
        _BESIDE_SLOTS.release()
        return here

    def rows() -> list[Sequence[Any]]:
        got = future.result()
        return got if got is not None else here()

    return rows


def _idle_connection(engine: sa.Engine) -> bool:
    """Whether the pool can hand out a connection without waiting for one (or opening past its size)."""
    pool = engine.pool
    if isinstance(pool, sa.pool.QueuePool):
        return pool.checkedout() < pool.size()
    return True
