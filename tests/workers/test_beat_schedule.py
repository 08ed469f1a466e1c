"""The beat schedule (workers/celery_app.py): the periodic jobs exist, point at registered tasks, run often enough
(and not absurdly often), go to the queue the workers listen on; a real `celery beat` sends them; and the
integrity task, run through Celery, turns a tampered stored file into an integrity alert."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.config import get_settings
from app.footage.models import Footage, IntegrityStatus
from tests.footage.conftest import mp4_bytes, post_footage, storage_root  # noqa: F401 - the fixture
from workers.celery_app import celery

ROOT = Path(__file__).resolve().parents[2]
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0

# task -> (at least every, at most every) in seconds: what "sensible" means for each job.
EXPECTED = {
    # The safety net behind the relay threads: a queued analysis should not wait long for it.
    "outbox.relay": (1.0, 1 * MINUTE),
    # Stuck analyses are found well within the time after which they count as stuck (checked below too).
    "footage.sweep_stuck": (1 * MINUTE, 15 * MINUTE),
    # Retention: deletion is due by the day; hourly keeps it close without load.
    "footage.purge_due": (15 * MINUTE, 1 * DAY),
    # Re-hashing every stored clip is heavy: not more than hourly, at least weekly.
    "footage.verify_integrity": (1 * HOUR, 7 * DAY),
}


def _entries() -> dict[str, dict[str, Any]]:
    return {entry["task"]: entry for entry in celery.conf.beat_schedule.values()}


def _seconds(schedule: Any) -> float:
    if isinstance(schedule, int | float):
        return float(schedule)
    return float(schedule.run_every.total_seconds())  # celery.schedules.schedule / timedelta-based


def test_beat_schedule_has_the_periodic_jobs() -> None:
    assert set(EXPECTED) <= set(_entries()), sorted(_entries())


@pytest.mark.parametrize("task", sorted(EXPECTED))
def test_each_job_runs_at_a_sensible_interval(task: str) -> None:
    low, high = EXPECTED[task]
    every = _seconds(_entries()[task]["schedule"])
    assert low <= every <= high, f"{task} every {every}s, expected between {low}s and {high}s"


def test_stuck_analyses_are_swept_before_they_pile_up() -> None:
    every = _seconds(_entries()["footage.sweep_stuck"]["schedule"])
    assert every < get_settings().analysis_stuck_minutes * MINUTE


def test_every_scheduled_task_is_registered_and_goes_to_the_workers_queue() -> None:
    celery.loader.import_default_modules()  # what a worker does at start: the TASK_MODULES
    for task, entry in _entries().items():
        assert task in celery.tasks, f"beat would send {task!r}, which no worker knows"
        queue = (entry.get("options") or {}).get("queue") or celery.conf.task_default_queue
        assert queue == get_settings().celery_task_queue, (task, queue)
        assert not entry.get("args") and not entry.get("kwargs"), f"{task}: beat sends no arguments"


def _queued_tasks(queue_dir: Path) -> list[str]:
    names = []
    for path in queue_dir.glob("*.msg"):
        try:
            names.append(json.loads(path.read_text())["headers"]["task"])
        except (OSError, ValueError, KeyError):
            continue  # being written
    return names


@pytest.mark.slow
def test_a_real_beat_sends_the_relay_job(tmp_path: Path) -> None:
    """`celery beat` as the compose file runs it (file broker here): within its 15 s interval the outbox relay
    is on the queue, and beat keeps its schedule file fresh (what the compose healthcheck looks at)."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "BWV_DATABASE_URL")}
    env.update(BWV_DATA_DIR=str(data), BWV_ENVIRONMENT="test", PYTHONPATH=str(ROOT))
    schedule = tmp_path / "celerybeat-schedule"
    log = tmp_path / "beat.log"
    with open(log, "w") as out:
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat", "--loglevel", "INFO",
             "--schedule", str(schedule)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        sent: list[str] = []
        while time.monotonic() < deadline and "outbox.relay" not in sent:
            assert beat.poll() is None, f"beat exited: {log.read_text()[-2000:]}"
            time.sleep(0.5)
            sent = _queued_tasks(data / "broker" / "queue")
        assert "outbox.relay" in sent, f"nothing sent in 60 s: {log.read_text()[-2000:]}"
        files = list(tmp_path.glob("celerybeat-schedule*"))
        assert files and max(time.time() - f.stat().st_mtime for f in files) < 300
    finally:
        beat.terminate()
        beat.wait(timeout=20)


@pytest.mark.usefixtures("storage_root")
def test_verify_integrity_task_raises_an_alert_for_a_tampered_file(as_user, session, world, storage_root) -> None:  # noqa: F811
    c = as_user("coordinator.a")
    ids = []
    for seed in (31, 32):
        r = post_footage(c, mp4_bytes(40_000, seed=seed))
        assert r.status_code == 201, r.text
        ids.append(int(r.json()["id"]))
    intact, tampered = ids
    footage = session.get(Footage, tampered)
    assert footage is not None
    path = storage_root / footage.storage_key
    os.chmod(path, 0o644)  # stored write-once (read-only); someone with disk access changes it anyway
    with open(path, "r+b") as fh:
        fh.seek(2000)
        fh.write(b"edited")

    # Through Celery, by the name beat uses, as a worker would run it.
    result = celery.tasks["footage.verify_integrity"].apply().get(timeout=60)

    assert result["checked"] == 2 and result["ok"] == 1
    assert [tuple(p) for p in result["problems"]] == [(tampered, "mismatch")]
    session.expire_all()
    assert session.get(Footage, intact).integrity_status == IntegrityStatus.ok  # type: ignore[union-attr]
    assert session.get(Footage, tampered).integrity_status == IntegrityStatus.mismatch  # type: ignore[union-attr]
    (alert,) = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_integrity_alert")).all()
    assert alert.object_id == str(tampered) and alert.outcome == "failed"
    assert alert.establishment_id == world.est_a
    assert alert.detail["status"] == "mismatch"
    assert alert.detail["expected_sha256"] == footage.sha256
    assert alert.detail["actual_sha256"] not in (None, footage.sha256)
