"""Celery tasks for video analysis (footage.analyse, footage.key_moments, footage.sweep_stuck).

Thin: load the clip's facts, run the pure pipeline (workers.video), store through app.footage.analysis.
Idempotent: a rerun replaces the previous results in one transaction. Late acknowledgement and
rejection on worker loss (global config) mean a killed worker's job is delivered again; transient errors
(database or storage unreachable) are retried with backoff; permanent ones (not a video, file missing)
mark the clip failed with the reason and are not retried.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy.exc
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init, worker_ready, worker_shutdown

import app.models  # noqa: F401  (every table mapped, so relationships between domains resolve)
from app.core.logging import get_logger
from workers.celery_app import celery

log = get_logger("bwv.worker.analysis")


class TransientStorageError(Exception):
    """The object store could not be reached or answered with a server error: try again later."""


class FootageFileMissing(Exception):
    """The stored file is not there (permanent: needs a person)."""


TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    TransientStorageError,
    ConnectionError,
    TimeoutError,
)


@contextmanager
def _local_copy(storage_key: str) -> Iterator[Path]:
    """A path to read the clip from: the stored file itself, or a temporary download from S3."""
    from app.core.storage import get_storage

    storage = get_storage()
    local = storage.local_path(storage_key)
    if local is not None:
        if not local.is_file():
            raise FootageFileMissing("the stored video file is missing from footage storage")
        yield local
        return
    try:
        if not storage.exists(storage_key):
            raise FootageFileMissing("the stored video file is missing from the object store")
        size = storage.size(storage_key)
    except FootageFileMissing:
        raise
    except Exception as exc:  # botocore's connection and 5xx errors
        raise TransientStorageError(f"object store unavailable: {type(exc).__name__}") from exc
    with tempfile.TemporaryDirectory(prefix="bwv-analyse-") as tmp:
        path = Path(tmp) / "clip"
        try:
            with path.open("wb") as out:
                for chunk in storage.read_range(storage_key, 0, max(0, size - 1)):
                    out.write(chunk)
        except Exception as exc:
            raise TransientStorageError(f"download interrupted: {type(exc).__name__}") from exc
        yield path


class AnalysisTask(Task):  # type: ignore[misc]
    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        """Retries used up on a transient error: say so on the clip (best effort; the sweep also retries)."""
        if isinstance(exc, TRANSIENT) and args:
            from app.footage.analysis import mark_failed

            try:
                mark_failed(int(args[0]), f"could not finish after several attempts: {type(exc).__name__}")
            except Exception:  # the database is still down: the stuck sweep will pick it up later
                log.warning("mark_failed_unavailable", footage=args[0])


def _back_in_queue(footage_id: int, exc: BaseException) -> None:
    """A transient error: the clip waits for its automatic retry, shown as queued with the reason (and the
    retry is not mistaken for a run that died mid-way). Best effort: the database may be what is down."""
    import sqlalchemy as sa
    from sqlmodel import col

    from app.core.db import unit_of_work
    from app.core.types import utcnow
    from app.footage.models import Footage, FootageStatus

    reason = f"waiting to retry after a temporary problem ({type(exc).__name__})"
    try:
        with unit_of_work() as session:
            session.exec(
                sa.update(Footage)  # type: ignore[call-overload]
                .where(col(Footage.id) == footage_id, col(Footage.status) == FootageStatus.analysing)
                .values(status=FootageStatus.queued, progress=0.0, status_detail=reason, status_changed_at=utcnow())
            )
    except sqlalchemy.exc.SQLAlchemyError:
        log.warning("requeue_mark_failed", footage=footage_id)


# Both clip tasks: acknowledged only once done (a worker killed mid-task leaves it to be redelivered),
# retried with backoff and jitter on transient errors only, results never kept (they are in the database).
RELIABLE: dict[str, Any] = {
    "ignore_result": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "autoretry_for": TRANSIENT,
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


def run_analysis(footage_id: int) -> str:
    """Analyse one clip and store the results. Returns the outcome word (analysed, failed, skipped)."""
    import cv2

    from app.core.config import get_settings
    from app.footage import analysis
    from workers.video import VideoOpenFailure, analyse_file

    cv2.setNumThreads(1)
    settings = get_settings()
    job = analysis.start(footage_id)
    if job is None:
        log.info("analysis_skipped", footage=footage_id)
        return "skipped"
    log.info("analysis_started", footage=footage_id, attempt=job.attempt)
    delay = settings.analysis_test_delay_s if settings.environment != "production" else 0.0
    work = analysis.new_work_dir(footage_id)
    try:
        with _local_copy(job.storage_key) as path:
            result = analyse_file(
                path,
                interval_s=settings.keyframe_interval_s,
                key_moments=job.key_moments,
                claimed_duration_s=job.claimed_duration_s,
                thumbs_dir=work,
                progress=analysis.ProgressWriter(footage_id, delay_s=delay),
                name=job.filename or None,  # stored files are named by their hash: messages name the upload
            )
        saved = analysis.save_results(footage_id, result.to_dict(), work, key_moments_used=job.key_moments)
    except (VideoOpenFailure, FootageFileMissing) as exc:
        shutil.rmtree(work, ignore_errors=True)
        analysis.mark_failed(footage_id, str(exc))
        log.info("analysis_failed", footage=footage_id, reason=str(exc))
        return "failed"
    except TRANSIENT as exc:
        shutil.rmtree(work, ignore_errors=True)
        _back_in_queue(footage_id, exc)
        raise
    except SoftTimeLimitExceeded:  # words a coordinator can act on, not the exception's name
        shutil.rmtree(work, ignore_errors=True)
        log.warning("analysis_time_limit", footage=footage_id)
        limit_s = celery.conf.task_soft_time_limit or settings.celery_visibility_timeout_s
        limit = f"{limit_s / 3600:.1f} hours" if limit_s >= 3600 else f"{max(1, round(limit_s / 60))} minutes"
        analysis.mark_failed(
            footage_id,
            f"the analysis ran past its time limit ({limit}) and was stopped: the file may be damaged or "
            "unusually long. Check the camera's export, then retry.",
        )
        return "failed"
    except Exception as exc:  # a bug or an unexpected library error: record it, do not loop on it
        shutil.rmtree(work, ignore_errors=True)
        log.exception("analysis_error", footage=footage_id)
        analysis.mark_failed(footage_id, f"analysis stopped with an unexpected error ({type(exc).__name__})")
        return "failed"
    if not saved:
        shutil.rmtree(work, ignore_errors=True)
        return "skipped"
    log.info("analysis_done", footage=footage_id, duration_s=result.duration_s, seconds=result.decode_seconds)
    return "analysed"


@celery.task(name="footage.analyse", base=AnalysisTask, **RELIABLE)
def analyse(footage_id: int) -> str:
    """Analyse one clip (idempotent: reruns replace the results)."""
    return run_analysis(int(footage_id))


def run_key_moments(footage_id: int) -> str:
    """Bring an analysed clip's force began/ended keyframes up to date with its links (app.footage.key_moments).
    Returns the outcome word (saved, requeued, skipped, failed)."""
    from app.footage import key_moments
    from workers.video import VideoOpenFailure
    from workers.video.moments import frames_at, frames_at_by_full_pass
    from workers.video.pipeline import compose_filmstrip

    refresh = key_moments.start(footage_id)
    if refresh is None:
        return "skipped"
    work = key_moments.new_work_dir(footage_id)
    try:
        records: list[dict[str, Any]] = []
        if refresh.moments:
            with _local_copy(refresh.storage_key) as path:
                find = frames_at_by_full_pass if refresh.clock_jumps else frames_at
                records = find(path, refresh.moments, thumbs_dir=work)
        # The filmstrip shows every keyframe, so it is made again with the new moments (or without the old).
        images = key_moments.filmstrip_images(refresh, records, work)
        made = bool(images) and compose_filmstrip(images, work / key_moments.FILMSTRIP)
        outcome = key_moments.save(refresh, records, work, filmstrip=key_moments.FILMSTRIP if made else None)
    except (VideoOpenFailure, FootageFileMissing) as exc:
        # The clip read once; the integrity check reports a file that has gone or changed since.
        log.warning("key_moments_failed", footage=footage_id, reason=str(exc))
        return "failed"
    finally:
        key_moments.discard(work)
    log.info("key_moments_" + outcome, footage=footage_id, moments=len(refresh.moments))
    return outcome


@celery.task(name="footage.key_moments", **RELIABLE)
def refresh_key_moments(footage_id: int) -> str:
    """Replace one analysed clip's key-moment keyframes (idempotent: reruns replace them)."""
    return run_key_moments(int(footage_id))


def sweep() -> int:
    """Re-queue clips stuck in received/queued/analysing, then publish pending outbox jobs. A clip whose
    analysis has stopped making progress MAX_UNFINISHED_ATTEMPTS times is failed instead: re-queued, a file
    that hangs the decoder would take a worker again and again (a redelivered job is counted by `start`, a
    swept one only here)."""
    from app.audit.service import SYSTEM
    from app.core.db import unit_of_work
    from app.core.jobs import publish_pending
    from app.footage.analysis import MAX_UNFINISHED_ATTEMPTS, mark_failed, requeue, stuck_footage
    from app.footage.models import FootageStatus

    give_up: list[tuple[int, int]] = []  # (clip, the attempt seen stuck)
    with unit_of_work() as session:
        stuck = stuck_footage(session)
        for footage in stuck:
            if footage.status == FootageStatus.analysing and footage.analysis_attempts >= MAX_UNFINISHED_ATTEMPTS:
                give_up.append((int(footage.id), footage.analysis_attempts))  # type: ignore[arg-type]
                continue
            requeue(session, footage, SYSTEM, why=f"no progress for a while (was {footage.status})")
        count = len(stuck) - len(give_up)
    for footage_id, attempt in give_up:
        mark_failed(
            footage_id,
            f"analysis stopped making progress {MAX_UNFINISHED_ATTEMPTS} times: the file may hang the decoder. "
            "Check the file, then retry.",
            only_while_attempt=attempt,  # not a run that has finished, or been queued again, meanwhile
        )
    if count or give_up:
        log.warning("analysis_requeued_stuck", count=count, failed=len(give_up))
    while publish_pending() > 0:
        pass
    return count


@celery.task(name="footage.sweep_stuck", ignore_result=True, autoretry_for=TRANSIENT, max_retries=2)
def sweep_stuck() -> int:
    return sweep()


# ---------------------------------------------------------------- worker process set-up
@worker_process_init.connect
def _child_init(**_: Any) -> None:
    """In each forked pool process: no connections shared with the parent, one OpenCV thread."""
    import cv2

    from app.core.db import get_engine

    cv2.setNumThreads(1)
    get_engine().dispose(close=False)


@worker_ready.connect
def _start_relay(**_: Any) -> None:
    """Publish queued jobs from the worker too: with only `bwv-review worker` and the web running
    (embedded set-up, no Redis), jobs written by the CLI or demo still go out promptly."""
    from app.core.jobs import start_relay_thread

    start_relay_thread()


@worker_shutdown.connect
def _stop_relay(**_: Any) -> None:
    from app.core.jobs import stop_relay_thread

    stop_relay_thread()
