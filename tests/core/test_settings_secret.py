"""Production refuses a secret key anyone could know: the built-in default, the `.env.example` placeholder (a
deployment starts by copying that file to `.env`), anything still saying "change-me", or a short one.

Seen failing before the fix: the `.env.example` placeholder was accepted with BWV_ENVIRONMENT=production (only the
built-in default was refused), so a `.env` copied from it and left unchanged signed sessions, CSRF and viewing
tokens with a key published in the repository."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.core.config import DEV_SECRET, Settings

ROOT = Path(__file__).resolve().parents[2]


def _example_secret() -> str:
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.startswith("BWV_SECRET_KEY="):
            return line.split("=", 1)[1].strip()
    raise AssertionError(".env.example has no BWV_SECRET_KEY line")


@pytest.mark.parametrize(
    "secret",
    [DEV_SECRET, _example_secret(), "please-change-me-before-going-live-0123456789", "CHANGE-ME" + "x" * 40, "short"],
    ids=["built-in default", ".env.example placeholder", "says change-me", "upper case", "too short"],
)
def test_production_refuses_a_known_or_short_secret(secret: str) -> None:
    with pytest.raises(ValidationError, match="BWV_SECRET_KEY"):
        Settings(environment="production", secret_key=secret, _env_file=None)  # type: ignore[call-arg]


def test_production_accepts_a_random_secret_and_development_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BWV_SECRET_KEY", raising=False)
    monkeypatch.delenv("BWV_ENVIRONMENT", raising=False)
    key = secrets.token_urlsafe(48)
    assert Settings(environment="production", secret_key=key, _env_file=None).secret_key == key  # type: ignore[call-arg]
    assert Settings(environment="development", _env_file=None).secret_key == DEV_SECRET  # type: ignore[call-arg]
    assert Settings(environment="development", secret_key=_example_secret(), _env_file=None)  # type: ignore[call-arg]
