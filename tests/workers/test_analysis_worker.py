"""A real Celery worker against the real Redis and PostgreSQL: an upload analysed end to end, and a
worker killed in the middle of a task whose job completes on restart with exactly one set of results."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlmodel import Session, select

from app.core.config import get_settings
from app.core.jobs import publish_pending
from app.footage.models import Footage, FootageStatus, Keyframe, OutboxJob, OutboxStatus, Segment
from tests.footage.test_analysis_service import incident_for, register
from tests.support import REDIS_URL, require_redis
from workers.video.synth import make_clip

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.services, pytest.mark.parametrize("engine", ["postgresql"], indirect=True)]


@pytest.fixture
def broker(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """A Redis queue of our own; this process publishes to it like the web app does."""
    require_redis()
    import workers.celery_app as celery_app

    env = {"REDIS_URL": REDIS_URL, "BWV_CELERY_TASK_QUEUE": f"bwv-test-{uuid.uuid4().hex[:10]}"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    app = celery_app.make_celery()
    monkeypatch.setattr(celery_app, "celery", app)
    try:
        yield env
    finally:
        app.close()
        monkeypatch.undo()
        get_settings.cache_clear()


class Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker", "--loglevel", "INFO",
             "--concurrency", "1", "-Q", self.env["BWV_CELERY_TASK_QUEUE"], "-n", f"t{uuid.uuid4().hex[:8]}@%h",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes at once: no chance to ack or clean up."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@pytest.fixture
def start_worker(engine, broker, tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def _start(**extra: str) -> Worker:
        env = dict(os.environ)
        env.update(broker)
        env.update(
            DATABASE_URL=engine.url.render_as_string(hide_password=False),
            BWV_DATA_DIR=str(get_settings().data_dir),
            BWV_ENVIRONMENT="test",
            BWV_RELAY_THREAD="false",
            BWV_LOG_LEVEL="INFO",
        )
        env.update(extra)
        w = Worker(env, tmp_path / f"worker{len(workers)}.log")
        w.start()
        workers.append(w)
        return w

    yield _start
    for w in workers:
        w.stop()


def wait_for(check: Callable[[], bool], timeout: float, worker: Worker, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        assert worker.proc is None or worker.proc.poll() is None or what == "exit", worker.output()
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker log:\n{worker.output()}")


def status_of(session: Session, fid: int) -> Footage:
    f = session.get(Footage, fid)
    assert f is not None
    session.refresh(f)
    return f


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """40 s (1000 frames) at 160x90: ten progress reports, cheap to make and to decode."""
    path = tmp_path_factory.mktemp("worker") / "long.mp4"
    make_clip(path, seconds=40, size=(160, 90), scenes=[12.0, 30.0], dark=[(20.0, 24.0)], noise=4, seed=11)
    return path


def test_worker_analyses_an_upload_end_to_end(engine, world, session, long_clip, tmp_path, start_worker) -> None:
    fid = register(world, long_clip, tmp_path, claimed=40.0)
    incident_for(world, fid, force_at=5.0, force_s=10.0)
    assert status_of(session, fid).status == FootageStatus.queued
    # The worker's own relay thread publishes the job written with the footage (no web process running).
    worker = start_worker(BWV_RELAY_THREAD="true")
    wait_for(lambda: status_of(session, fid).status == FootageStatus.analysed, 60, worker, "analysed")
    f = status_of(session, fid)
    assert f.duration_s == pytest.approx(40.0, abs=0.05) and f.frame_count == 1000 and f.analysis_attempts == 1
    reasons = sorted(k.reason for k in session.exec(select(Keyframe).where(Keyframe.footage_id == fid)))
    assert reasons.count("interval") == 4 and "force_started" in reasons and "force_ended" in reasons
    segments = session.exec(select(Segment).where(Segment.footage_id == fid)).all()
    assert [(s.kind, round(s.start), round(s.end)) for s in segments] == [("dark", 20, 24)]
    job = session.exec(select(OutboxJob).where(OutboxJob.task_name == "footage.analyse")).one()
    assert job.status == OutboxStatus.sent and job.args == [fid]


def test_killed_worker_the_job_completes_on_restart_once(
    engine, world, session, long_clip, tmp_path, start_worker
) -> None:
    fid = register(world, long_clip, tmp_path, claimed=40.0)
    slow = {"BWV_ANALYSIS_TEST_DELAY_S": "0.6", "BWV_CELERY_VISIBILITY_TIMEOUT_S": "5"}
    first = start_worker(**slow)
    assert publish_pending() == 1
    wait_for(lambda: status_of(session, fid).progress > 0, 30, first, "analysis under way")
    killed_at = time.monotonic()
    first.kill()
    f = status_of(session, fid)
    assert f.status == FootageStatus.analysing and f.progress < 1.0
    assert session.exec(select(Keyframe).where(Keyframe.footage_id == fid)).all() == []
    # The job was never acknowledged: once the visibility timeout has passed Redis hands it out again.
    time.sleep(max(0.0, 5.5 - (time.monotonic() - killed_at)))
    second = start_worker(**slow)
    wait_for(lambda: status_of(session, fid).status == FootageStatus.analysed, 60, second, "analysed after restart")
    f = status_of(session, fid)
    assert f.analysis_attempts >= 2
    keyframes = session.exec(select(Keyframe).where(Keyframe.footage_id == fid)).all()
    assert sorted(k.reason for k in keyframes).count("interval") == 4  # one set, not two
    assert len({(k.t, k.reason) for k in keyframes}) == len(keyframes)
    assert len(session.exec(select(Segment).where(Segment.footage_id == fid)).all()) == 1
    from app.footage.analysis import derived_root

    assert not list(derived_root().glob(f".run-{fid}-*"))  # the killed run's scratch folder is gone


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_upload_while_redis_is_down_is_analysed_once_it_is_back(
    engine, world, session, long_clip, tmp_path, broker, start_worker, monkeypatch
) -> None:
    import workers.celery_app as celery_app

    # Redis "down": nothing listens on the broker's port.
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
    get_settings.cache_clear()
    dead = celery_app.make_celery()
    monkeypatch.setattr(celery_app, "celery", dead)
    fid = register(world, long_clip, tmp_path, claimed=40.0)  # the upload is accepted and stored
    assert publish_pending() == 0
    job = session.exec(select(OutboxJob).where(OutboxJob.task_name == "footage.analyse")).one()
    assert job.status == OutboxStatus.pending and job.publish_attempts == 1 and job.last_error
    assert status_of(session, fid).status == FootageStatus.queued
    dead.close()

    # Redis is back: the pending job goes out and the worker analyses the clip.
    monkeypatch.setenv("REDIS_URL", broker["REDIS_URL"])
    get_settings.cache_clear()
    live = celery_app.make_celery()
    monkeypatch.setattr(celery_app, "celery", live)
    try:
        worker = start_worker()
        assert publish_pending() == 1
        wait_for(lambda: status_of(session, fid).status == FootageStatus.analysed, 60, worker, "analysed")
    finally:
        live.close()
    session.refresh(job)
    assert job.status == OutboxStatus.sent and job.publish_attempts == 2
