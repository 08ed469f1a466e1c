"""Engine, sessions and the request's unit of work.

The request's session commits when the handler succeeds and rolls back when it raises; services only
`flush()`. Work that must wait for the commit (sending jobs) is registered with `after_commit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.config import get_settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy (below) open transactions, so each one can take the write lock up front.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin_immediate(conn: Any) -> None:
            if conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
                return
            # One writer at a time, decided at BEGIN: a transaction that read first and writes later
            # would otherwise fail with "database is locked" when another writer got in between.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    engine = sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=5,
        connect_args={"connect_timeout": 3},
    )

    @event.listens_for(engine, "connect")
    def _no_jit(dbapi_conn: Any, _record: Any) -> None:
        # PostgreSQL's JIT compiles a query that it estimates dear before running it: on the queue's and the
        # review screen's statements over a large prison that took longer (0.7-1.5 s) than running them, and no
        # statement here gains from it. Set on each new connection, not as a start-up `options`, which would
        # replace the deployment's own (`?options=` in DATABASE_URL, PGOPTIONS) and which poolers may refuse.
        with dbapi_conn.cursor() as cur:
            cur.execute("SELECT set_config('jit', 'off', false) FROM pg_settings WHERE name = 'jit'")
        dbapi_conn.commit()

    return engine


_override: Engine | None = None


def use_engine(engine: Engine | None) -> None:
    """Point the app at another engine (tests run the same code against SQLite and PostgreSQL)."""
    global _override
    _override = engine


def get_engine() -> Engine:
    return _override if _override is not None else _default_engine()


@lru_cache
def _default_engine() -> Engine:
    settings = get_settings()
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    return make_engine(settings.sqlalchemy_url)


def new_session(engine: Engine | None = None) -> Session:
    return Session(engine or get_engine(), expire_on_commit=False)


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    """Run `fn` once the session's transaction has committed; dropped on rollback."""
    session.info.setdefault("after_commit", []).append(fn)


def commit_now(session: Session) -> None:
    """Commit, then run what waited for the commit: for a long job that commits as it goes."""
    session.commit()
    _run_after_commit(session)


def _run_after_commit(session: Session) -> None:
    callbacks = session.info.pop("after_commit", [])
    for fn in callbacks:
        fn()


@contextmanager
def unit_of_work(engine: Engine | None = None) -> Iterator[Session]:
    """A session that commits at the end of the block, or rolls back if it raises."""
    session = new_session(engine)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop("after_commit", None)
        raise
    finally:
        session.close()
    _run_after_commit(session)


def get_session() -> Iterator[Session]:
    """FastAPI dependency: one unit of work per request."""
    with unit_of_work() as session:
        yield session


def tune_transaction(session: Session | sa.Connection, *, work_mem: str, custom_plans: bool = False) -> None:
    """For this transaction on PostgreSQL (SET LOCAL, in one round trip): `work_mem` for the statements that
    follow, no JIT, and with `custom_plans` a plan made for each run's parameters, never a generic one. Nothing
    on SQLite. Callers say why they need it."""
    dialect = session.get_bind().dialect if isinstance(session, Session) else session.dialect
    if dialect.name != "postgresql":
        return
    sql = "SELECT set_config('work_mem', :work_mem, true), set_config('jit', 'off', true)"
    if custom_plans:
        sql += ", set_config('plan_cache_mode', 'force_custom_plan', true)"
    session.execute(sa.text(sql), {"work_mem": work_mem})
