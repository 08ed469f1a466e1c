"""Statements run beside the request's own on a second connection (PostgreSQL): the summary's clips'
statement, the queue's missing footage. They fall back to the request's own connection whenever they cannot."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.core import beside as side


def _pid(session: Session, dialect: str) -> int | None:
    if dialect != "postgresql":
        return None
    return int(session.execute(sa.select(sa.func.pg_backend_pid())).scalar_one())


def test_side_statement_runs_on_a_connection_of_its_own(engine: sa.Engine) -> None:
    dialect = engine.dialect.name
    with Session(engine) as s:
        mine = _pid(s, dialect)
        stmt = sa.select(sa.func.pg_backend_pid() if dialect == "postgresql" else sa.literal(7))
        rows = side.beside(s, [stmt])()[0]
    if dialect == "postgresql":
        assert rows[0][0] != mine  # another backend answered, so the two statements can use two cores
    else:
        assert rows[0][0] == 7  # SQLite: the same connection, one after the other


def test_side_statements_run_in_order_on_one_connection(engine: sa.Engine) -> None:
    """Several statements sent to the side together run in order on one connection, each with its own rows."""
    dialect = engine.dialect.name
    pid = sa.func.pg_backend_pid() if dialect == "postgresql" else sa.literal(0)
    with Session(engine) as s:
        mine = _pid(s, dialect)
        first, second = side.beside(s, [sa.select(pid, sa.literal(1)), sa.select(pid, sa.literal(2))])()
    assert (first[0][1], second[0][1]) == (1, 2)
    assert first[0][0] == second[0][0]
    if dialect == "postgresql":
        assert first[0][0] != mine


def test_falls_back_to_the_request_connection_when_no_slot_is_free(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialect = engine.dialect.name
    busy = threading.BoundedSemaphore(1)
    busy.acquire()
    monkeypatch.setattr(side, "_BESIDE_SLOTS", busy)
    with Session(engine) as s:
        mine = _pid(s, dialect)
        stmt = sa.select(sa.func.pg_backend_pid() if dialect == "postgresql" else sa.literal(7))
        rows = side.beside(s, [stmt])()[0]
    assert rows[0][0] == (mine if dialect == "postgresql" else 7)


def test_slots_come_back_after_success_and_failure(engine: sa.Engine) -> None:
    with Session(engine) as s:
        for _ in range(5):  # more runs than slots: each must give its slot back
            assert side.beside(s, [sa.select(sa.literal(1))])()[0][0][0] == 1
            with pytest.raises(sa.exc.DBAPIError):
                side.beside(s, [sa.text("SELECT * FROM no_such_table")])()
            s.rollback()
    free = 0
    while side._BESIDE_SLOTS.acquire(blocking=False):
        free += 1
    for _ in range(free):
        side._BESIDE_SLOTS.release()
    assert free == 2


def _small_pool(url: str) -> sa.Engine:
    return sa.create_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.5)


def test_no_idle_connection_means_no_side_run(pg_database: str) -> None:
    """With every pooled connection in use the statement runs on the request's own at once, rather than
    waiting for the pool (and failing after its timeout)."""
    small = _small_pool(pg_database)
    try:
        with Session(small) as s:
            mine = _pid(s, "postgresql")
            t0 = time.perf_counter()
            rows = side.beside(s, [sa.select(sa.func.pg_backend_pid())])()[0]
            assert rows[0][0] == mine and time.perf_counter() - t0 < 0.4
    finally:
        small.dispose()


def test_a_second_connection_that_cannot_be_had_falls_back(pg_database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool looked free but the connection could not be had (pool timeout, or the server refusing more
    clients): the request's own connection runs the statement; no error reaches the page. (It raised the
    pool's TimeoutError before.)"""
    monkeypatch.setattr(side, "_idle_connection", lambda _engine: True)
    small = _small_pool(pg_database)
    try:
        with Session(small) as s:
            mine = _pid(s, "postgresql")
            rows = side.beside(s, [sa.select(sa.func.pg_backend_pid())])()[0]
            assert rows[0][0] == mine
    finally:
        small.dispose()
