"""PostgreSQL restarted under a running app: 503 meanwhile (never a 500, never a hang), 200 again afterwards
without restarting the app.

The database is a PostgreSQL server of our own (initdb into a temporary folder, a free port), so stopping it
disturbs no one else's tests. The app runs under uvicorn in a subprocess, as in production.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.reliability.conftest import ROOT, free_port

pytestmark = [pytest.mark.services, pytest.mark.slow, pytest.mark.disruptive]


def _pg_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    exe = shutil.which("initdb")
    return Path(exe).parent if exe else None


class OwnPostgres:
    def __init__(self, folder: Path) -> None:
        self.bin = _pg_bin()
        self.port = free_port()
        self.folder = folder
        self.data = folder / "pgdata"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if os.geteuid() == 0:  # postgres refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=60)

    def init(self) -> None:
        assert self.bin is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.folder / "pg.log"),
                  "-w", "start")  # fmt: skip

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[OwnPostgres]:
    pg = OwnPostgres(Path("/tmp") / f"bwv-pg-{os.getpid()}-{tmp_path.name[-12:]}")
    if pg.bin is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    pg.init()
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(pg.folder, ignore_errors=True)


def _prepare(url: str) -> None:
    """Migrate and create the usual users in our database."""
    from app.core import db as core_db
    from app.core.config import Settings
    from tests.conftest import _migrate, build_world

    engine = core_db.make_engine(Settings(database_url=url).sqlalchemy_url)
    _migrate(engine)
    core_db.use_engine(engine)
    try:
        build_world(engine)
    finally:
        core_db.use_engine(None)
        engine.dispose()


class Server:
    def __init__(self, url: str, data: Path, factory: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = data / "uvicorn.log"
        env = dict(os.environ)
        env.update(
            DATABASE_URL=url,
            BWV_DATA_DIR=str(data),
            BWV_ENVIRONMENT="test",
            BWV_RELAY_THREAD="false",
            BWV_COOKIE_SECURE="false",
            PYTHONPATH=str(ROOT),
        )
        env.pop("REDIS_URL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", factory, "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code < 500:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(self.log.read_text()[-3000:])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture
def serve(own_postgres: OwnPostgres, tmp_path: Path) -> Iterator[Any]:
    _prepare(own_postgres.url)
    servers: list[Server] = []

    def _serve(factory: str = "app.main:create_app") -> Server:
        s = Server(own_postgres.url, tmp_path, factory)
        servers.append(s)
        return s

    yield _serve
    for s in servers:
        s.stop()


def _token(base: str) -> dict[str, str]:
    from tests.support import PASSWORD

    r = httpx.post(base + "/api/v1/auth/token", data={"username": "coordinator.a", "password": PASSWORD}, timeout=10)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _probe(base: str, headers: dict[str, str], results: list[tuple[str, int, float]], stop: threading.Event) -> None:
    """Ask for a JSON route and a page (both read the database) until told to stop; record every answer."""
    with httpx.Client(timeout=15) as client:
        while not stop.is_set():
            for path in ("/api/v1/me", "/incidents"):
                t = time.monotonic()
                try:
                    code = client.get(base + path, headers=headers).status_code
                except httpx.HTTPError:
                    code = -1  # no answer at all (hang or dropped)
                results.append((path, code, time.monotonic() - t))
            time.sleep(0.05)


def test_postgres_restart_answers_503_meanwhile_and_recovers_without_app_restart(
    own_postgres: OwnPostgres, serve: Any
) -> None:
    """The database stopped for a few seconds, then started again, while requests keep coming:
    every answer is 200 or 503 (with Retry-After), none a 500, none without an answer, each within a few
    seconds; after the database is back, 200 again from the same app process.

    With the protection off (the app's database-down handler removed: `tests.reliability.app_variants:unprotected`,
    run once with BWV_TEST_UNPROTECTED=1) the test failed: while the database was down the API answered
    "500 Internal Server Error" (a bare text body) instead of 503.
    """
    factory = "tests.reliability.app_variants:unprotected" if os.environ.get("BWV_TEST_UNPROTECTED") == "1" else None
    server = serve(factory) if factory else serve()
    headers = _token(server.base)
    assert httpx.get(server.base + "/api/v1/me", headers=headers, timeout=10).status_code == 200
    results: list[tuple[str, int, float]] = []
    stop = threading.Event()
    prober = threading.Thread(target=_probe, args=(server.base, headers, results, stop), daemon=True)
    prober.start()
    time.sleep(0.5)
    own_postgres.stop()
    down_from = len(results)
    time.sleep(4)
    down = results[down_from:]
    # The down-time answer, checked directly too: JSON with Retry-After for the API, the 503 page for people.
    r = httpx.get(server.base + "/api/v1/me", headers=headers, timeout=15)
    page = httpx.get(server.base + "/incidents", headers=headers, timeout=15)
    own_postgres.start()
    time.sleep(3)
    stop.set()
    prober.join(timeout=30)
    assert r.status_code == 503, (r.status_code, r.text[:300])
    assert r.headers.get("retry-after") and "database" in r.json()["detail"]
    assert page.status_code == 503 and "text/html" in page.headers["content-type"]
    assert down, "requests were made while the database was down"
    codes = [c for _, c, _ in results]
    assert set(codes) <= {200, 503}, f"unexpected answers: {sorted(set(codes))}"
    assert {c for _, c, _ in down} == {503}
    assert max(t for _, _, t in results) < 10, "an answer took too long (hang)"
    # Recovered without restarting the app.
    assert server.proc.poll() is None
    after = [httpx.get(server.base + p, headers=headers, timeout=10).status_code for p in ("/api/v1/me", "/incidents")]
    assert after == [200, 200]
    assert codes[-1] == 200
