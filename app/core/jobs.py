"""Background jobs through a transactional outbox.

`enqueue` writes a row in the caller's transaction, so a job exists exactly when the data it is about was
committed. A relay publishes pending rows to the Celery broker (on PostgreSQL with `FOR UPDATE SKIP
LOCKED`, so several relays never send the same row at once). Requests never talk to the broker: with
Redis down or paused, uploads are still accepted and their jobs go out when it is back. Tasks are
idempotent, so the rare double publish (crash between send and commit) is harmless.
"""

from __future__ import annotations

import threading
from typing import Any

from sqlmodel import Session, col, select

from app.core.config import get_settings
from app.core.db import after_commit, unit_of_work
from app.core.logging import get_logger
from app.core.types import utcnow
from app.footage.models import OutboxJob, OutboxStatus

log = get_logger("bwv.jobs")

_wake = threading.Event()
_stop = threading.Event()
_thread: threading.Thread | None = None


def enqueue(session: Session, task_name: str, *args: Any) -> OutboxJob:
    job = OutboxJob(task_name=task_name, args=list(args))
    session.add(job)
    session.flush()
    after_commit(session, kick)
    return job


def kick() -> None:
    """Ask the relay to publish now rather than at its next poll."""
    _wake.set()


def _send(job: OutboxJob) -> None:
    from workers.celery_app import celery

    celery.send_task(job.task_name, args=job.args, queue=get_settings().celery_task_queue, retry=False)


def publish_pending(limit: int = 200) -> int:
    """Publish up to `limit` pending jobs; stops at the first broker error. Returns how many went out."""
    sent = 0
    with unit_of_work() as session:
        rows = session.exec(
            select(OutboxJob)
            .where(OutboxJob.status == OutboxStatus.pending)
            .order_by(col(OutboxJob.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for job in rows:
            try:
                _send(job)
            except Exception as exc:  # broker down, paused or unreachable: try again later
                job.publish_attempts += 1
                job.last_error = f"{type(exc).__name__}: {exc}"[:500]
                session.add(job)
                log.warning("outbox_publish_failed", job=job.id, error=job.last_error)
                break
            job.status = OutboxStatus.sent
            job.sent_at = utcnow()
            job.publish_attempts += 1
            session.add(job)
            sent += 1
    return sent


def _relay_loop(interval: float) -> None:
    while not _stop.is_set():
        _wake.wait(interval)
        _wake.clear()
        if _stop.is_set():
            break
        try:
            while publish_pending() > 0:
                pass
        except Exception as exc:  # the database may be down; keep trying
            log.warning("outbox_relay_error", error=str(exc).splitlines()[0][:200])


def start_relay_thread(interval: float = 2.0) -> None:
    global _thread
    if not get_settings().relay_thread or (_thread is not None and _thread.is_alive()):
        return
    _stop.clear()
    _thread = threading.Thread(target=_relay_loop, args=(interval,), name="outbox-relay", daemon=True)
    _thread.start()


def stop_relay_thread() -> None:
    global _thread
    _stop.set()
    _wake.set()
    if _thread is not None:
        _thread.join(timeout=10)
    _thread = None
