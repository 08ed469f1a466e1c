"""Harness for the fault tests: a Redis server of our own, real Celery workers, clips to analyse.

Every test here that stops, pauses or restarts a service uses its OWN instance on a free port (never the
shared Redis on 6379 or the shared PostgreSQL that other suites use at the same moment). Workers are real
`celery -A workers.celery_app worker` processes, each on a queue of its own, against a test PostgreSQL
database (the `engine` fixture, forced to PostgreSQL).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
FIRST_FRAME = datetime(2026, 11, 3, 14, 2, 0, tzinfo=UTC)
CLIP_S = 12.0  # 300 frames at 25 fps: progress reported 3 times, so a test delay makes each analysis last


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throwaway redis-server (no persistence) that a test may stop, restart on the same port, or pause."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.skip("redis-server is not installed")
        self.proc = subprocess.Popen(
            [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.cli("PING") in ("PONG", "True"):
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # like a crash: nothing saved (no persistence configured anyway)
            self.proc.wait(timeout=10)
        self.proc = None

    def cli(self, *args: str) -> str:
        import redis

        try:
            client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=1)
            out = client.execute_command(*args)
            client.close()
            return out.decode() if isinstance(out, bytes) else str(out)
        except Exception as exc:
            return f"ERR {exc}"

    def pause(self, ms: int) -> None:
        assert self.cli("CLIENT", "PAUSE", str(ms), "ALL") in ("OK", "True")

    def unpause(self) -> None:
        self.cli("CLIENT", "UNPAUSE")


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from app.core.config import get_settings
    from app.core.storage import get_storage

    monkeypatch.setenv("BWV_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    get_storage.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()
    get_storage.cache_clear()


@pytest.fixture
def broker(redis_server: RedisServer, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Our Redis and a queue of our own; this process publishes to it as the web app does."""
    import workers.celery_app as celery_app
    from app.core.config import get_settings

    env = {"REDIS_URL": redis_server.url, "BWV_CELERY_TASK_QUEUE": f"bwv-rel-{uuid.uuid4().hex[:10]}"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    app = celery_app.make_celery()
    monkeypatch.setattr(celery_app, "celery", app)
    yield env
    app.close()


class Worker:
    """One `celery worker` process (prefork, one pool child), in its own process group."""

    def __init__(self, env: dict[str, str], log: Path, app_module: str = "workers.celery_app") -> None:
        self.env, self.log, self.app_module = env, log, app_module
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", self.app_module, "worker", "--loglevel", "INFO",
             "--concurrency", "1", "-Q", self.env["BWV_CELERY_TASK_QUEUE"], "-n", f"rel{uuid.uuid4().hex[:8]}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def pool_children(self) -> list[psutil.Process]:
        assert self.proc is not None
        try:
            return psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []

    def kill_child(self) -> int | None:
        """SIGKILL the pool process running the task (the main process survives and starts another)."""
        kids = self.pool_children()
        for k in kids:
            os.kill(k.pid, signal.SIGKILL)
        return kids[0].pid if kids else None

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool) at once: no chance to ack, reject or clean up."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if not self.alive():
            return
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]


@pytest.fixture
def start_worker(engine: Any, broker: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    from app.core.config import get_settings

    workers: list[Worker] = []

    def _start(app_module: str = "workers.celery_app", **extra: str) -> Worker:
        env = dict(os.environ)
        env.update(broker)
        env.update(
            DATABASE_URL=engine.url.render_as_string(hide_password=False),
            BWV_DATA_DIR=str(get_settings().data_dir),
            BWV_ENVIRONMENT="test",
            BWV_RELAY_THREAD="false",
            BWV_LOG_LEVEL="INFO",
            PYTHONPATH=str(ROOT),
        )
        env.update(extra)
        w = Worker(env, tmp_path / f"worker{len(workers)}.log", app_module).start()
        workers.append(w)
        return w

    yield _start
    for w in workers:
        w.stop()


def wait_for(check: Callable[[], bool], timeout: float, what: str, log: Callable[[], str] = lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{log()}")


_CLIPS = Path(tempfile.gettempdir()) / "bwv-reliability-clips"


def clip(i: int) -> Path:
    """Clip number i: 12 s, 96x64, one cut; distinct bytes (and so a distinct SHA-256) for each i.
    Cached across runs, written atomically (several suites may make them at once)."""
    from workers.video.synth import make_clip

    _CLIPS.mkdir(parents=True, exist_ok=True)
    path = _CLIPS / f"clip-{i:03d}.mp4"
    if not path.exists():
        tmp = _CLIPS / f".clip-{i:03d}-{uuid.uuid4().hex[:6]}.mp4"
        make_clip(tmp, seconds=CLIP_S, size=(96, 64), scenes=[5.0], noise=4, seed=1000 + i)
        os.replace(tmp, path)
    return path


def register(world: Any, src: Path, tmp: Path) -> int:
    """Store a clip and register it as footage of officer A001 (the job goes into the outbox with it)."""
    from app.core.db import unit_of_work
    from app.footage.service import NewFootage, register_footage

    path = tmp / f"in-{uuid.uuid4().hex[:8]}.mp4"
    shutil.copyfile(src, path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with unit_of_work() as s:
        f = register_footage(
            s,
            NewFootage(
                establishment_id=world.est_a,
                wearer_id=world.staff["a1"],
                camera_id=world.cameras["a"],
                recording_started_at=FIRST_FRAME,
                activated_at=FIRST_FRAME + timedelta(seconds=1),
                prerecord_seconds=1,
                claimed_duration_s=CLIP_S,
                original_filename=src.name,
            ),
            path=path,
            sha256=sha,
            size=path.stat().st_size,
        )
        return int(f.id)  # type: ignore[arg-type]


def statuses(session: Any) -> dict[int, tuple[str, int, float]]:
    """footage id -> (status, analysis attempts, progress)."""
    import sqlalchemy as sa

    rows = session.execute(sa.text("SELECT id, status, analysis_attempts, progress FROM footage ORDER BY id")).all()
    return {r[0]: (str(r[1]), int(r[2]), float(r[3])) for r in rows}


def duplicate_results(session: Any) -> dict[str, int]:
    """How many keyframes, segments and findings appear more than once for the same clip (0 = no duplicate
    result sets), and how many clips have keyframes from more than one run."""
    import sqlalchemy as sa

    q = {
        "keyframes": "SELECT count(*) FROM (SELECT footage_id, t, reason FROM keyframe "
        "GROUP BY footage_id, t, reason HAVING count(*) > 1) d",
        "segments": "SELECT count(*) FROM (SELECT footage_id, kind, start FROM segment "
        "GROUP BY footage_id, kind, start HAVING count(*) > 1) d",
        "findings": "SELECT count(*) FROM (SELECT footage_id, kind FROM finding "
        "GROUP BY footage_id, kind HAVING count(*) > 1) d",
    }
    return {k: int(session.execute(sa.text(v)).scalar()) for k, v in q.items()}
