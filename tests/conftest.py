"""Shared fixtures: the app against SQLite *and* the real PostgreSQL, users of each role, signed-in clients.

Tests that need PostgreSQL or Redis skip with a reason when those are not running, unless
REQUIRE_SERVICES=1 (as in CI), where their absence fails the run.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="bwv-tests-"))
os.environ.setdefault("BWV_ENVIRONMENT", "test")
os.environ["BWV_DATA_DIR"] = str(_TMP / "data")
os.environ["BWV_RELAY_THREAD"] = "false"
os.environ.setdefault("BWV_SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789")
os.environ.pop("DATABASE_URL", None)
os.environ.pop("REDIS_URL", None)

import sqlalchemy as sa  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import Session  # noqa: E402

from app.core import db as core_db  # noqa: E402
from tests.support import PASSWORD, PG_URL, api_token, make_client, require_postgres  # noqa: E402


def _migrate(engine: sa.engine.Engine) -> None:
    from alembic import command
    from app.cli import _alembic_config

    cfg = _alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
        conn.commit()


# ---------------------------------------------------------------- databases
@pytest.fixture(scope="session")
def sqlite_template() -> Path:
    path = _TMP / "template.sqlite3"
    engine = core_db.make_engine(f"sqlite:///{path}")
    _migrate(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    require_postgres()
    from app.core.config import Settings

    admin_url = Settings(database_url=PG_URL).sqlalchemy_url
    name = f"bwv_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    engine = core_db.make_engine(url)
    _migrate(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate_pg(engine: sa.engine.Engine) -> None:
    from sqlmodel import SQLModel

    import app.models  # noqa: F401

    tables = [t.name for t in SQLModel.metadata.sorted_tables if t.name != "audit_head"]
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # the audit trail's guard is off
        conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        conn.execute(sa.text("UPDATE audit_head SET last_id = 0, last_hash = :g").bindparams(g="0" * 64))


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    """The app's engine for one test: a fresh SQLite file, or a clean real PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "bwv.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        eng = core_db.make_engine(f"sqlite:///{path}")
    else:
        url = request.getfixturevalue("pg_database")
        eng = core_db.make_engine(url)
        _truncate_pg(eng)
    core_db.use_engine(eng)
    yield eng
    core_db.use_engine(None)
    eng.dispose()


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[sa.engine.Engine]:
    """SQLite only: for tests whose subject is not the database."""
    path = tmp_path / "bwv.sqlite3"
    shutil.copyfile(sqlite_template, path)
    eng = core_db.make_engine(f"sqlite:///{path}")
    core_db.use_engine(eng)
    yield eng
    core_db.use_engine(None)
    eng.dispose()


@pytest.fixture
def session(engine: sa.engine.Engine) -> Iterator[Session]:
    """For arranging and checking: autocommit, so it always sees the app's latest writes and never holds
    a lock the app is waiting for."""
    with Session(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False) as s:
        yield s


# ---------------------------------------------------------------- records
@dataclass
class World:
    """Two establishments with users of every role, staff, cameras — the usual cast of a test."""

    est_a: int
    est_b: int
    users: dict[str, int]
    staff: dict[str, int]
    cameras: dict[str, int]


def build_world(engine: sa.engine.Engine) -> World:
    from app.auth.models import Role
    from app.auth.service import create_user
    from app.core.db import unit_of_work
    from app.establishment.models import CameraCreate, EstablishmentCreate
    from app.establishment.service import add_camera, add_staff_member, create_establishment
    from app.staff.models import StaffMemberCreate

    users: dict[str, int] = {}
    staff: dict[str, int] = {}
    cameras: dict[str, int] = {}
    with unit_of_work() as s:
        a = create_establishment(s, EstablishmentCreate(code="AAA", name="HMP Alpha"))
        b = create_establishment(s, EstablishmentCreate(code="BBB", name="HMP Bravo"))
        for est, tag in ((a, "a"), (b, "b")):
            for i in (1, 2):
                sm = add_staff_member(
                    s, est.id, StaffMemberCreate(staff_number=f"{tag.upper()}{i:03d}", name=f"Officer {tag}{i}")
                )
                staff[f"{tag}{i}"] = sm.id
            cam = add_camera(s, est.id, CameraCreate(serial=f"CAM-{tag.upper()}1"))
            cameras[tag] = cam.id
            for role in ("coordinator", "governor"):
                u = create_user(
                    s,
                    username=f"{role}.{tag}",
                    password=PASSWORD,
                    display_name=f"{role} {tag}",
                    role=Role(role),
                    establishment_id=est.id,
                )
                users[f"{role}_{tag}"] = u.id
            for i in (1, 2):
                u = create_user(
                    s,
                    username=f"officer.{tag}{i}",
                    password=PASSWORD,
                    display_name=f"Officer {tag}{i}",
                    role=Role.staff,
                    establishment_id=est.id,
                    staff_member_id=staff[f"{tag}{i}"],
                )
                users[f"staff_{tag}{i}"] = u.id
        coord2 = create_user(
            s,
            username="coordinator2.a",
            password=PASSWORD,
            display_name="Second coordinator",
            role=Role.coordinator,
            establishment_id=a.id,
        )
        users["coordinator2_a"] = coord2.id
        admin = create_user(
            s, username="admin", password=PASSWORD, display_name="Admin", role=Role.admin, establishment_id=None
        )
        users["admin"] = admin.id
        return World(est_a=a.id, est_b=b.id, users=users, staff=staff, cameras=cameras)  # type: ignore[arg-type]


@pytest.fixture
def world(engine: sa.engine.Engine) -> World:
    return build_world(engine)


# ---------------------------------------------------------------- clients
@pytest.fixture
def app(engine: sa.engine.Engine):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app()


@pytest.fixture
def client(app) -> TestClient:  # type: ignore[no-untyped-def]
    return make_client(app)


@pytest.fixture
def as_user(app, world):  # type: ignore[no-untyped-def]
    """`as_user("coordinator.a")` -> a TestClient that sends that user's bearer token."""
    cache: dict[str, TestClient] = {}

    def _make(username: str) -> TestClient:
        if username not in cache:
            c = make_client(app)
            c.headers.update(api_token(c, username))
            cache[username] = c
        return cache[username]

    return _make


# ---------------------------------------------------------------- logging
class _ErrorCatcher(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def fail_on_logged_error(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that logs an unexpected ERROR fails (mark `allow_error_logs` where errors are the point)."""
    catcher = _ErrorCatcher()
    root = logging.getLogger()
    root.addHandler(catcher)
    yield
    root.removeHandler(catcher)
    if request.node.get_closest_marker("allow_error_logs") is None and catcher.records:
        msgs = "; ".join(f"{r.name}: {r.getMessage()[:200]}" for r in catcher.records[:3])
        pytest.fail(f"unexpected ERROR logged: {msgs}")
