"""What `make run` does after installing, on a fresh data folder with nothing else running: `bwv-review migrate`,
`bwv-review demo --if-empty`, `bwv-review serve`. The embedded default (SQLite, footage on disk, kombu's
filesystem broker) with the real worker process `serve` starts beside the web app: the demo sign-ins work through
the sign-in form, every demo clip is analysed by that worker (the covered lens found as a dark stretch), and
stopping `serve` stops its worker too.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from app.demo import DEMO_PASSWORD, DEMO_USERS
from tests.support import _port_open

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("DATABASE_URL", "REDIS_URL", "BWV_DATABASE_URL", "BWV_REDIS_URL", "BWV_ENVIRONMENT", "BWV_RELAY_THREAD")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(env: dict[str, str], *args: str) -> str:
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert r.returncode == 0, (args, r.stdout[-2000:], r.stderr[-2000:])
    return r.stdout


def _sign_in(base: str, username: str) -> httpx.Response:
    """The sign-in form, as a browser sends it. Cookies are carried by hand: they are `__Host-` and Secure,
    which browsers keep on http://127.0.0.1 but httpx's cookie jar does not."""
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as c:
        form = c.get("/sign-in")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert form.status_code == 200 and token, form.text[:500]
        cookies = "; ".join(f"{k}={v}" for k, v in form.cookies.items())
        r = c.post(
            "/sign-in",
            data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token.group(1), "next": "/"},
            headers={"Cookie": cookies, "Origin": base},
        )
        assert r.status_code == 303, (username, r.status_code, r.text[:500])
        session = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
        return c.get("/", headers={"Cookie": session})


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_migrate_demo_serve_signs_in_and_its_worker_analyses_the_demo(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in SERVICES}
    env.update(BWV_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))  # development, relay thread on

    _cli(env, "migrate")
    said = _cli(env, "demo", "--if-empty")
    assert "Demo sign-ins" in said and all(u in said for u, *_ in DEMO_USERS), said
    assert (tmp_path / "data" / "bwv.sqlite3").is_file()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    workers: list[psutil.Process] = []
    with open(log, "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not _port_open("127.0.0.1", port):
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        workers = [p for p in psutil.Process(serve.pid).children(recursive=True) if "worker" in " ".join(p.cmdline())]
        assert workers, "serve started no worker process"

        # Every demo sign-in works in the form and lands on that role's home page.
        for username, _name, _role, _staff in DEMO_USERS:
            home = _sign_in(base, username)
            assert home.status_code == 200 and "Sign out" in home.text, (username, home.text[:500])

        # The worker beside the web app takes the demo's analysis jobs from the file broker and does them.
        token = httpx.post(
            f"{base}/api/v1/auth/token", data={"username": "coordinator", "password": DEMO_PASSWORD}, timeout=30
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        clips = httpx.get(f"{base}/api/v1/footage", params={"limit": 100}, headers=auth, timeout=30).json()
        assert clips["total"] >= 20
        analysed = 0
        deadline = time.monotonic() + 300
        while analysed < clips["total"] and time.monotonic() < deadline:
            assert serve.poll() is None, log.read_text()[-3000:]
            page = httpx.get(f"{base}/api/v1/footage", params={"status": "analysed"}, headers=auth, timeout=30)
            analysed = page.json()["total"]
            time.sleep(1)
        assert analysed == clips["total"], f"{analysed} of {clips['total']} in 300 s:\n{log.read_text()[-3000:]}"
        # The demo's covered lens is found by the analysis: one clip with a dark stretch of about 3.5 s.
        dark = []
        for clip in clips["items"]:
            result = httpx.get(f"{base}/api/v1/footage/{clip['id']}/analysis", headers=auth, timeout=30).json()
            dark += [(clip["id"], s["end"] - s["start"]) for s in result["segments"] if s["kind"] == "dark"]
        assert len(dark) == 1 and 2.5 < dark[0][1] < 4.5, dark
    finally:
        if serve.poll() is None:
            serve.send_signal(signal.SIGINT)  # Ctrl-C, as someone stops `make run`
            try:
                serve.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(serve.pid, signal.SIGKILL)
                serve.wait(timeout=10)
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"the worker outlived serve: {[p.pid for p in alive]}"


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_stopping_serve_with_sigterm_stops_its_worker_too(tmp_path: Path) -> None:
    """SIGTERM is how docker, systemd and `kill` stop a process. uvicorn re-raises the signal once it has shut
    down, and with the default handler that ended `serve` before it could stop its worker: the worker was left
    running on its own (seen in the walk-through of 27 Nov 2026)."""
    env = {k: v for k, v in os.environ.items() if k not in SERVICES}
    env.update(BWV_DATA_DIR=str(tmp_path / "data"), PYTHONPATH=str(ROOT))
    _cli(env, "migrate")
    port = _free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        serve = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    workers: list[psutil.Process] = []
    try:
        deadline = time.monotonic() + 60
        while not _port_open("127.0.0.1", port):
            assert serve.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.2)
        deadline = time.monotonic() + 30
        while not workers:
            workers = [
                p for p in psutil.Process(serve.pid).children(recursive=True) if "worker" in " ".join(p.cmdline())
            ]
            assert time.monotonic() < deadline, "serve started no worker process"
            time.sleep(0.2)
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=60)
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait(timeout=10)
    _gone, alive = psutil.wait_procs(workers, timeout=30)
    for p in alive:
        p.kill()
    assert not alive, f"the worker outlived serve: {[p.pid for p in alive]}\n{log.read_text()[-2000:]}"
