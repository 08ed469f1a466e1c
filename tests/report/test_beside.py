"""The summary's clip statement runs beside the incident statement on a second connection (PostgreSQL),
and falls back to the request's own connection whenever it cannot."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.report import service


def _pid(session: Session, dialect: str) -> int | None:
    if dialect != "postgresql":
        return None
    return int(session.execute(sa.select(sa.func.pg_backend_pid())).scalar_one())


def test_side_statement_runs_on_a_connection_of_its_own(engine: sa.Engine) -> None:
    dialect = engine.dialect.name
    with Session(engine) as s:
        mine = _pid(s, dialect)
        stmt = sa.select(sa.func.pg_backend_pid() if dialect == "postgresql" else sa.literal(7))
        rows = service._beside(s, dialect, stmt)()
    if dialect == "postgresql":
        assert rows[0][0] != mine  # another backend answered, so the two statements can use two cores
    else:
        assert rows[0][0] == 7  # SQLite: the same connection, one after the other


def test_falls_back_to_the_request_connection_when_no_slot_is_free(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialect = engine.dialect.name
    busy = threading.BoundedSemaphore(1)
    busy.acquire()
    monkeypatch.setattr(service, "_BESIDE_SLOTS", busy)
    with Session(engine) as s:
        mine = _pid(s, dialect)
        stmt = sa.select(sa.func.pg_backend_pid() if dialect == "postgresql" else sa.literal(7))
        rows = service._beside(s, dialect, stmt)()
    assert rows[0][0] == (mine if dialect == "postgresql" else 7)


def test_slots_come_back_after_success_and_failure(engine: sa.Engine) -> None:
    dialect = engine.dialect.name
    with Session(engine) as s:
        for _ in range(5):  # more runs than slots: each must give its slot back
            assert service._beside(s, dialect, sa.select(sa.literal(1)))()[0][0] == 1
            with pytest.raises(sa.exc.DBAPIError):
                service._beside(s, dialect, sa.text("SELECT * FROM no_such_table"))()
            s.rollback()
    free = 0
    while service._BESIDE_SLOTS.acquire(blocking=False):
        free += 1
    for _ in range(free):
        service._BESIDE_SLOTS.release()
    assert free == 2
