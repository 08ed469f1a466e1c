"""The footage.analyse task's policy, run eagerly in-process: transient errors are retried, permanent
ones are not, and a job that keeps failing ends in a clear failed state."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy.exc

import app.footage.analysis as tasks_analysis
import workers.analysis_tasks as tasks
from app.footage.models import Footage, FootageStatus, Keyframe
from tests.footage.test_analysis_service import register
from workers.video.synth import make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tasks") / "clip.mp4"
    make_clip(path, seconds=3, size=(160, 90), seed=9)
    return path


def _footage(session, fid: int) -> Footage:
    f = session.get(Footage, fid)
    session.refresh(f)
    return f


def test_task_is_registered_with_late_acks_and_backoff() -> None:
    task = tasks.analyse
    assert task.name == "footage.analyse" and task.acks_late and task.reject_on_worker_lost
    assert task.max_retries == 5 and task.retry_backoff and task.retry_jitter
    assert sqlalchemy.exc.OperationalError in task.autoretry_for
    assert tasks.sweep_stuck.name == "footage.sweep_stuck"


def test_transient_error_is_retried_then_succeeds(engine, world, session, clip, tmp_path, monkeypatch) -> None:
    fid = register(world, clip, tmp_path)
    real = tasks._local_copy
    calls = {"n": 0}

    def flaky(key: str):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise tasks.TransientStorageError("object store unavailable: EndpointConnectionError")
        return real(key)

    monkeypatch.setattr(tasks, "_local_copy", flaky)
    seen: list[tuple[str, str | None]] = []
    real_start = tasks_analysis.start

    def watch_start(footage_id: int):  # type: ignore[no-untyped-def]
        f = _footage(session, footage_id)
        seen.append((str(f.status), f.status_detail))
        return real_start(footage_id)

    monkeypatch.setattr(tasks_analysis, "start", watch_start)
    result = tasks.analyse.apply(args=[fid])
    assert result.successful(), result.traceback
    f = _footage(session, fid)
    assert f.status == FootageStatus.analysed and f.analysis_attempts == 2
    # Between the two attempts the clip waited in the queue, saying why.
    assert seen[1][0] == "queued" and "waiting to retry" in (seen[1][1] or "")
    assert len(session.query(Keyframe).filter(Keyframe.footage_id == fid).all()) >= 1


@pytest.mark.allow_error_logs
def test_retries_used_up_ends_failed_with_reason(engine, world, session, clip, tmp_path, monkeypatch) -> None:
    fid = register(world, clip, tmp_path)

    def down(key: str):  # type: ignore[no-untyped-def]
        raise tasks.TransientStorageError("object store unavailable: EndpointConnectionError")

    monkeypatch.setattr(tasks, "_local_copy", down)
    result = tasks.analyse.apply(args=[fid])
    assert result.failed()
    f = _footage(session, fid)
    assert f.status == FootageStatus.failed and f.analysis_attempts == 6  # the first try and five retries
    assert "could not finish after several attempts" in (f.status_detail or "")


def test_permanent_error_is_not_retried(engine, world, session, tmp_path) -> None:
    bogus = tmp_path / "photo.mp4"
    bogus.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
    fid = register(world, bogus, tmp_path)
    result = tasks.analyse.apply(args=[fid])
    assert result.successful() and result.result == "failed"
    f = _footage(session, fid)
    assert f.status == FootageStatus.failed and f.analysis_attempts == 1 and f.status_detail


def test_a_run_past_its_time_limit_fails_in_words(engine, world, session, clip, tmp_path, monkeypatch) -> None:
    """It said "analysis stopped with an unexpected error (SoftTimeLimitExceeded)"."""
    from celery.exceptions import SoftTimeLimitExceeded

    import workers.video as video

    def endless(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(video, "analyse_file", endless)
    fid = register(world, clip, tmp_path)
    assert tasks.analyse.apply(args=[fid]).result == "failed"
    f = _footage(session, fid)
    assert f.status == FootageStatus.failed and "ran past its time limit" in (f.status_detail or "")
    assert "SoftTimeLimitExceeded" not in (f.status_detail or "")


def test_footage_gone_is_skipped(engine, world) -> None:
    assert tasks.analyse.apply(args=[987654]).result == "skipped"
