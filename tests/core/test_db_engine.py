"""The app's PostgreSQL connections: JIT off, the deployment's own connection options kept."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core import db as core_db
from app.core.config import Settings
from tests.support import PG_URL, require_postgres


def _show(url: str, *settings: str) -> list[str]:
    engine = core_db.make_engine(url)
    try:
        with engine.connect() as conn:
            shown = [str(conn.execute(sa.text(f"SHOW {name}")).scalar()) for name in settings]
            conn.rollback()  # what the pool does on return: the connection's own settings must outlive it
        with engine.connect() as conn:
            assert [str(conn.execute(sa.text(f"SHOW {name}")).scalar()) for name in settings] == shown
        return shown
    finally:
        engine.dispose()


def test_jit_is_off_and_the_urls_options_are_kept() -> None:
    """JIT took longer to compile the queue's statements than they took to run (bench/pages.py)."""
    require_postgres()
    url = Settings(database_url=PG_URL).sqlalchemy_url
    joiner = "&" if "?" in url else "?"
    assert _show(url + joiner + "options=-c%20statement_timeout%3D4321", "jit", "statement_timeout") == [
        "off",
        "4321ms",
    ]


def test_pgoptions_from_the_environment_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    monkeypatch.setenv("PGOPTIONS", "-c statement_timeout=1234")
    assert _show(Settings(database_url=PG_URL).sqlalchemy_url, "jit", "statement_timeout") == ["off", "1234ms"]
