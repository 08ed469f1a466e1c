"""Helpers shared by tests (importable as `tests.support`; fixtures live in conftest.py)."""

from __future__ import annotations

import os
import re
import socket
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

PG_URL = os.environ.get("TEST_DATABASE_URL", "postgresql://127.0.0.1:5432/test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
PASSWORD = "correct-horse-battery-staple"  # noqa: S105


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def service_or_skip(name: str, host: str, port: int) -> None:
    if _port_open(host, port):
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} is not reachable on {host}:{port} and REQUIRE_SERVICES=1")
    pytest.skip(f"{name} is not running on {host}:{port} (set REQUIRE_SERVICES=1 to make this a failure)")


def require_postgres() -> None:
    service_or_skip("PostgreSQL", "127.0.0.1", 5432)


def require_redis() -> None:
    service_or_skip("Redis", "127.0.0.1", 6379)


def make_client(app) -> TestClient:  # type: ignore[no-untyped-def]
    # https so that the __Host- / Secure cookies are kept, as in a browser.
    return TestClient(app, base_url="https://testserver", follow_redirects=False)


def browser_sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the form, as a person would; returns the session's CSRF token."""
    page = client.get("/sign-in")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    r = client.post("/sign-in", data={"username": username, "password": password, "csrf_token": token, "next": "/"})
    assert r.status_code == 303, r.text
    home = client.get("/")
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text)
    assert match, home.text[:500]
    return match.group(1)


def api_token(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


class _Forms(HTMLParser):
    """The hidden fields of each POST form on a page, by the form's action."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._current = self.forms.setdefault(a.get("action", ""), {})
        elif tag == "input" and self._current is not None and a.get("type") == "hidden" and a.get("name"):
            self._current[a["name"]] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def form_on_page(html: str, action: str) -> dict[str, str]:
    """What a browser sends from the page's form that posts to `action`: its hidden fields (the CSRF token
    among them), to which the test adds what a person types. Fails if the page has no such form."""
    parser = _Forms()
    parser.feed(html)
    assert action in parser.forms, f"no form posting to {action}; forms: {sorted(parser.forms)}"
    return dict(parser.forms[action])


def new_officer(establishment_id: int, staff_number: str, name: str = "New Officer") -> int:
    """An officer record with no sign-in yet (every officer of the `world` fixture has one); returns its id."""
    from app.core.db import unit_of_work
    from app.establishment.service import add_staff_member
    from app.staff.models import StaffMemberCreate

    with unit_of_work() as s:
        return int(add_staff_member(s, establishment_id, StaffMemberCreate(staff_number=staff_number, name=name)).id)  # type: ignore[arg-type]
