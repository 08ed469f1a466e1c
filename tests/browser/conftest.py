"""A live server for browser tests, one per test module so modules never see each other's changes: uvicorn in
a subprocess on a free port with its own data folder and SQLite file, migrated and seeded
(tests/browser/seed_review.py), and Debian's Chromium driven by Playwright.

Skips with a reason when /usr/bin/chromium (or Playwright) is missing, unless REQUIRE_SERVICES=1.
Screenshots go to tests/artifacts/ (gitignored).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.browser.screenshot import CHROMIUM, CHROMIUM_ARGS
from tests.support import REQUIRE_SERVICES

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"


def _need_browser() -> None:
    problem = None
    if not Path(CHROMIUM).exists():
        problem = f"Chromium is not installed at {CHROMIUM} (Debian package `chromium`)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright is not installed (pip install playwright)"
    if problem:
        if REQUIRE_SERVICES:
            pytest.fail(f"{problem} and REQUIRE_SERVICES=1")
        pytest.skip(problem)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    seed: dict[str, Any]
    data_dir: Path
    log: Path
    messages: list[str] = field(default_factory=list)


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BWV_DATABASE_URL")}
    env.update(
        BWV_DATA_DIR=str(data_dir),
        BWV_ENVIRONMENT="test",
        BWV_RELAY_THREAD="false",
        BWV_SECRET_KEY="browser-test-secret-key-that-is-long-enough-0123456789",
        PYTHONPATH=str(ROOT),
    )
    return env


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    _need_browser()
    data_dir = tmp_path_factory.mktemp("browser") / "data"
    data_dir.mkdir()
    env = _env(data_dir)
    seeded = subprocess.run(
        [sys.executable, "-m", "tests.browser.seed_review"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    seed = json.loads(seeded.stdout.strip().splitlines()[-1])
    port = _free_port()
    log = data_dir / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:create_app", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/sign-in", timeout=2) as r:  # noqa: S310 - our own server
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield LiveServer(url=url, seed=seed, data_dir=data_dir, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(live_server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh laptop-sized page; console errors, page errors, CSP violations and 5xx responses are collected
    in `live_server.messages` (the tests assert there are none)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=live_server.url)
    pg = context.new_page()
    msgs = live_server.messages
    msgs.clear()
    pg.on("console", lambda m: msgs.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: msgs.append(f"pageerror: {e}"))
    pg.on("response", lambda r: msgs.append(f"http {r.status}: {r.url}") if r.status >= 500 else None)
    try:
        yield pg
    finally:
        context.close()


def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in(page: Any, username: str, password: str) -> None:
    page.goto("/sign-in")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
