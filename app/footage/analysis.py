"""Storing what video analysis found, and the processing state a person sees.

The worker task (workers/analysis_tasks.py) is thin: it calls `start`, runs the pure pipeline with a
`ProgressWriter`, then `save_results` or `mark_failed`. Every write here is short and in its own
transaction, so a crashed or killed worker leaves either the old results or the new ones, never half.

Status: received/queued -> analysing (progress 0..1) -> analysed | failed (with the reason in
`status_detail`). A rerun replaces the keyframes, segments, findings and measured facts in one
transaction, and the thumbnails by swapping directories, so results are never duplicated.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit.service import SYSTEM, Actor, record
from app.core.config import get_settings
from app.core.db import after_commit, unit_of_work
from app.core.jobs import enqueue
from app.core.logging import get_logger
from app.core.types import utcnow
from app.footage.models import Finding, Footage, FootageIncident, FootageStatus, Keyframe, Segment, SegmentKind
from app.incident.models import ActivationResult, Incident

log = get_logger("bwv.analysis")

ANALYSE_TASK = "footage.analyse"
ACTIVE = (FootageStatus.received, FootageStatus.queued, FootageStatus.analysing)
PROGRESS_MIN_INTERVAL_S = 1.0
PROGRESS_MIN_STEP = 0.01
# A job redelivered after its worker died (acks_late + reject_on_worker_lost) finds the clip still
# 'analysing'. After this many attempts that never finished, the clip is failed instead of run again:
# a file that crashes the decoder or exhausts memory must not take the worker down for ever.
MAX_UNFINISHED_ATTEMPTS = 5

FINDING_TITLES = {
    "truncated": "The file is cut short",
    "truncated_or_edited": "Less video than the file says it holds",
    "duration_mismatch": "More video than the file's header says",
    "frame_count_mismatch": "Frame count not as the file says",
    "metadata_duration_mismatch": "Length not as stated at upload",
    "timestamp_jump": "The file's clock jumps",
    "timestamp_gap": "Stretches with no frames",
    "frame_rate_implausible": "Impossible frame rate",
}
KEYFRAME_REASONS = {
    "interval": "Regular interval",
    "scene_change": "Scene change",
    "force_started": "Force began",
    "force_ended": "Force ended",
}


# ---------------------------------------------------------------- where thumbnails live
def derived_root() -> Path:
    return get_settings().derived_dir.resolve()


def thumbs_dir(footage_id: int) -> Path:
    """The live thumbnail folder of one clip (keyframe JPEGs and filmstrip.jpg)."""
    return derived_root() / str(int(footage_id))


def new_work_dir(footage_id: int) -> Path:
    """A fresh folder for one run's thumbnails; swapped in only when its results are committed."""
    root = derived_root()
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".run-{int(footage_id)}-*"):  # left by a killed worker
        shutil.rmtree(stale, ignore_errors=True)
    path = root / f".run-{int(footage_id)}-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    return path


def _swap_in(footage_id: int, work: Path) -> None:
    """Make `work` the live thumbnail folder, replacing (not adding to) what a previous run left."""
    live = thumbs_dir(footage_id)
    old = live.with_name(f".old-{int(footage_id)}-{uuid.uuid4().hex[:12]}")
    for _ in range(3):
        try:
            if live.exists():
                os.replace(live, old)
            os.replace(work, live)
            break
        except OSError:  # a concurrent run swapped at the same moment: try again
            continue
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(work, ignore_errors=True)


def image_path(key: str | None) -> Path | None:
    """The file for a stored image key ("<footage id>/<name>.jpg"), refusing anything outside derived/."""
    if not key:
        return None
    root = derived_root()
    path = (root / key).resolve()
    if root not in path.parents or not path.is_file():
        return None
    return path


# ---------------------------------------------------------------- what the worker needs
@dataclass
class Job:
    """What one analysis run needs to know, read in one short transaction."""

    footage_id: int
    storage_key: str
    claimed_duration_s: float | None
    key_moments: list[tuple[float, str]]
    attempt: int
    filename: str = ""  # as uploaded: how a failure's message names the file


def key_moments(session: Session, footage: Footage) -> list[tuple[float, str]]:
    """Clip-relative times of force began/ended for every incident the clip is linked to."""
    incidents = session.exec(
        select(Incident)
        .join(FootageIncident, col(FootageIncident.incident_id) == Incident.id)
        .where(FootageIncident.footage_id == footage.id)
    ).all()
    moments: set[tuple[float, str]] = set()
    for inc in incidents:
        for at, label in ((inc.force_started_at, "force_started"), (inc.force_ended_at, "force_ended")):
            moments.add((round((at - footage.recording_started_at).total_seconds(), 3), label))
    return sorted(moments)


def start(footage_id: int) -> Job | None:
    """Mark the clip as being analysed; None when there is nothing to do (gone, purged), or when earlier
    attempts kept dying mid-way (then the clip is marked failed)."""
    with unit_of_work() as session:
        footage = session.exec(select(Footage).where(Footage.id == footage_id).with_for_update()).first()
        if footage is None or footage.status == FootageStatus.purged:
            return None
        crashed = footage.status == FootageStatus.analysing and footage.analysis_attempts >= MAX_UNFINISHED_ATTEMPTS
        if not crashed:
            return _begin(session, footage)
    mark_failed(
        footage_id,
        f"analysis did not finish in {MAX_UNFINISHED_ATTEMPTS} attempts: the worker stopped each time (the file "
        "may crash the decoder or need more memory). Check the file, then retry.",
    )
    return None


def _begin(session: Session, footage: Footage) -> Job:
    footage.status = FootageStatus.analysing
    footage.status_detail = None
    footage.progress = 0.0
    footage.analysis_attempts += 1
    footage.status_changed_at = utcnow()
    session.add(footage)
    return Job(
        footage_id=int(footage.id),  # type: ignore[arg-type]
        storage_key=footage.storage_key,
        claimed_duration_s=footage.claimed_duration_s,
        key_moments=key_moments(session, footage),
        attempt=footage.analysis_attempts,
        filename=footage.original_filename,
    )


class ProgressWriter:
    """The pipeline's progress callback: writes at most once a second, in a short transaction of its own."""

    def __init__(self, footage_id: int, *, delay_s: float = 0.0) -> None:
        self.footage_id = footage_id
        self.last_at = 0.0
        self.last_value = 0.0
        self.delay_s = delay_s

    def __call__(self, fraction: float) -> None:
        if self.delay_s:
            time.sleep(self.delay_s)  # test-only slow-down (settings.analysis_test_delay_s)
        now = time.monotonic()
        if fraction < 1.0 and (
            now - self.last_at < PROGRESS_MIN_INTERVAL_S or fraction - self.last_value < PROGRESS_MIN_STEP
        ):
            return
        self.last_at, self.last_value = now, fraction
        try:
            with unit_of_work() as session:
                session.exec(
                    sa.update(Footage)  # type: ignore[call-overload]
                    .where(col(Footage.id) == self.footage_id, col(Footage.status) == FootageStatus.analysing)
                    .values(progress=round(min(0.99, max(0.0, fraction)), 3), status_changed_at=utcnow())
                )
        except sa.exc.OperationalError as exc:  # progress is a nicety; the result is what matters
            log.warning("progress_write_failed", footage=self.footage_id, error=str(exc).splitlines()[0][:200])


# ---------------------------------------------------------------- saving
def _segment_kind(kind: str) -> SegmentKind | None:
    try:
        return SegmentKind(kind)
    except ValueError:
        return None


def save_results(
    footage_id: int,
    result: dict[str, Any],
    work_dir: Path | None,
    key_moments_used: list[tuple[float, str]] | None = None,
) -> bool:
    """Replace the clip's analysis results in ONE transaction, then swap its thumbnails in.

    `result` is `AnalysisResult.to_dict()`; `key_moments_used` the moments the run was given (`Job.key_moments`):
    if the links or force times changed while it ran, a key-moment refresh is queued in the same transaction.
    Returns False if the clip disappeared or was purged meanwhile.
    """
    from app.footage.key_moments import KEY_MOMENTS_TASK, moments_dir, remove_files
    from app.incident.activation import recompute_for_footage

    prefix = str(int(footage_id))
    with unit_of_work() as session:
        footage = session.exec(select(Footage).where(Footage.id == footage_id).with_for_update()).first()
        if footage is None or footage.status == FootageStatus.purged:
            return False
        # Thumbnails and the filmstrip a key-moment refresh added (outside the run folder swapped below) go
        # with their rows.
        keys = [
            *session.exec(select(Keyframe.image_key).where(Keyframe.footage_id == footage_id)).all(),
            footage.filmstrip_key,
        ]
        refreshed = [
            p for key in keys if key and key.startswith(moments_dir(footage_id).name + "/") and (p := image_path(key))
        ]
        for model in (Keyframe, Segment, Finding):
            session.exec(sa.delete(model).where(col(model.footage_id) == footage_id))  # type: ignore[attr-defined, call-overload]
        for kf in result.get("keyframes", []):
            name = kf.get("file")
            session.add(
                Keyframe(
                    footage_id=footage_id,
                    t=float(kf["t"]),
                    reason=str(kf["reason"])[:32],
                    image_key=f"{prefix}/{name}" if name else None,
                )
            )
        for seg in result.get("segments", []):
            kind = _segment_kind(str(seg.get("kind")))
            if kind is not None:
                session.add(Segment(footage_id=footage_id, kind=kind, start=float(seg["start"]), end=float(seg["end"])))
        for finding in result.get("findings", []):
            session.add(
                Finding(footage_id=footage_id, kind=str(finding["kind"])[:48], detail=str(finding["detail"])[:1000])
            )
        footage.duration_s = float(result["duration_s"])
        footage.frame_count = int(result["frame_count"])
        footage.fps = float(result["fps"])
        footage.width = int(result["width"])
        footage.height = int(result["height"])
        footage.codec = str(result["codec"])[:32]
        footage.truncated = bool(result.get("truncated"))
        footage.filmstrip_key = f"{prefix}/{result['filmstrip']}" if result.get("filmstrip") else None
        footage.status = FootageStatus.analysed
        footage.status_detail = None
        footage.progress = 1.0
        footage.analysed_at = utcnow()
        footage.status_changed_at = footage.analysed_at
        session.add(footage)
        session.flush()
        incidents = recompute_for_footage(session, footage_id)
        record(
            session,
            SYSTEM,
            "footage_analysed",
            object_type="footage",
            object_id=footage_id,
            establishment_id=footage.establishment_id,
            detail={
                "duration_s": footage.duration_s,
                "frames": footage.frame_count,
                "findings": [f["kind"] for f in result.get("findings", [])],
                "keyframes": len(result.get("keyframes", [])),
                "segments": len(result.get("segments", [])),
                "attempt": footage.analysis_attempts,
                "activation_rechecked": incidents,
            },
        )
        if key_moments_used is not None and key_moments(session, footage) != key_moments_used:
            enqueue(session, KEY_MOMENTS_TASK, footage_id)
        if work_dir is not None:
            after_commit(session, lambda: _swap_in(footage_id, work_dir))
        if refreshed:
            after_commit(session, lambda: remove_files(refreshed))
    return True


def mark_failed(footage_id: int, reason: str, *, only_while_attempt: int | None = None) -> None:
    """A permanent failure: the reason is shown to people, the clip is not retried automatically.
    `only_while_attempt`: only if that analysis attempt is still the one running (the stuck sweep: between
    its look and this, the run may have finished or a person may have queued the clip again)."""
    from app.incident.activation import recompute_for_footage

    with unit_of_work() as session:
        footage = session.exec(select(Footage).where(Footage.id == footage_id).with_for_update()).first()
        if footage is None or footage.status == FootageStatus.purged:
            return
        if only_while_attempt is not None and (
            footage.status != FootageStatus.analysing or footage.analysis_attempts != only_while_attempt
        ):
            return
        footage.status = FootageStatus.failed
        footage.status_detail = reason[:1000]
        footage.status_changed_at = utcnow()
        session.add(footage)
        session.flush()
        recompute_for_footage(session, footage_id)
        record(
            session,
            SYSTEM,
            "footage_analysis_failed",
            object_type="footage",
            object_id=footage_id,
            establishment_id=footage.establishment_id,
            outcome="failed",
            reason=reason[:500],
            detail={"attempt": footage.analysis_attempts},
        )


# ---------------------------------------------------------------- stuck, retry
def heartbeat(footage: Footage) -> Any:
    return footage.status_changed_at or footage.uploaded_at


def is_stuck(footage: Footage, *, now: Any = None) -> bool:
    cutoff = (now or utcnow()) - timedelta(minutes=get_settings().analysis_stuck_minutes)
    return footage.status in ACTIVE and heartbeat(footage) < cutoff


def can_retry(footage: Footage) -> bool:
    return footage.status == FootageStatus.failed or is_stuck(footage)


def requeue(session: Session, footage: Footage, actor: Actor, *, why: str) -> None:
    """Queue the clip for analysis again through the outbox (caller's transaction), audited."""
    footage.status = FootageStatus.queued
    footage.progress = 0.0
    footage.status_changed_at = utcnow()
    previous = footage.status_detail
    footage.status_detail = None
    session.add(footage)
    session.flush()
    enqueue(session, ANALYSE_TASK, footage.id)
    record(
        session,
        actor,
        "footage_analysis_retry",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        reason=why,
        detail={"previous_failure": previous},
    )


def stuck_footage(session: Session, limit: int = 200) -> list[Footage]:
    cutoff = utcnow() - timedelta(minutes=get_settings().analysis_stuck_minutes)
    beat = sa.func.coalesce(col(Footage.status_changed_at), col(Footage.uploaded_at))
    return list(
        session.exec(
            select(Footage)
            .where(col(Footage.status).in_(list(ACTIVE)), beat < cutoff)
            .order_by(col(Footage.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )


# ---------------------------------------------------------------- what pages and the API show
def results(session: Session, footage_id: int) -> tuple[list[Keyframe], list[Segment], list[Finding]]:
    keyframes = list(
        session.exec(
            select(Keyframe).where(Keyframe.footage_id == footage_id).order_by(col(Keyframe.t), col(Keyframe.id))
        )
    )
    segments = list(session.exec(select(Segment).where(Segment.footage_id == footage_id).order_by(col(Segment.start))))
    findings = list(session.exec(select(Finding).where(Finding.footage_id == footage_id).order_by(col(Finding.id))))
    return keyframes, segments, findings


def filmstrip_frames(keyframes: list[Keyframe]) -> list[dict[str, Any]]:
    """One tile per distinct image (a frame can be a keyframe for several reasons)."""
    tiles: dict[str, dict[str, Any]] = {}
    for kf in keyframes:
        if not kf.image_key:
            continue
        tile = tiles.setdefault(kf.image_key, {"id": kf.id, "t": kf.t, "reasons": []})
        tile["reasons"].append(KEYFRAME_REASONS.get(kf.reason, kf.reason.replace("_", " ")))
    return sorted(tiles.values(), key=lambda x: x["t"])


def linked_activation(session: Session, footage: Footage) -> list[dict[str, Any]]:
    """For each incident the clip is linked to: the wearer's activation result there (None if the wearer
    is not recorded as involved), with the uncovered gaps as datetimes."""
    from datetime import datetime

    rows = session.exec(
        select(Incident)
        .join(FootageIncident, col(FootageIncident.incident_id) == Incident.id)
        .where(FootageIncident.footage_id == footage.id)
        .order_by(col(Incident.force_started_at))
    ).all()
    out: list[dict[str, Any]] = []
    for inc in rows:
        result = session.get(ActivationResult, (inc.id, footage.wearer_id)) if footage.wearer_id is not None else None
        gaps = [
            {"start": datetime.fromisoformat(g["start"]), "end": datetime.fromisoformat(g["end"]),
             "seconds": float(g.get("seconds", 0.0))}
            for g in (result.gaps if result else [])
        ]  # fmt: skip
        out.append({"incident": inc, "result": result, "gaps": gaps})
    return out


def analysis_context(session: Session, footage: Footage, principal: Any = None) -> dict[str, Any]:
    """Everything `footage/_analysis.html` needs; merge into a page's context to include the partial.

    Read-only. `principal` (optional) decides whether the retry button shows (coordinators and admins).
    """
    assert footage.id is not None
    keyframes, segments, findings = results(session, footage.id)
    role = str(getattr(principal, "role", "") or "")
    is_active = footage.status in ACTIVE
    return {
        "footage": footage,
        "analysis": {
            "active": is_active,
            "poll": is_active,
            "percent": int(round((footage.progress or 0.0) * 100)),
            "stuck": is_stuck(footage),
            "can_retry": can_retry(footage) and role in ("coordinator", "admin"),
            "keyframes": keyframes,
            "filmstrip": filmstrip_frames(keyframes),
            "segments": segments,
            "findings": [
                {
                    "kind": f.kind,
                    "title": FINDING_TITLES.get(f.kind, f.kind.replace("_", " ").capitalize()),
                    "detail": f.detail,
                }
                for f in findings
            ],  # fmt: skip
            "activation": linked_activation(session, footage),
            "duration_differs": (
                footage.duration_s is not None
                and footage.claimed_duration_s is not None
                and abs(footage.duration_s - footage.claimed_duration_s) > 1.0
            ),
        },
    }
