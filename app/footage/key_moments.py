"""Keyframes at "force began" and "force ended" that follow a clip's incident links and those incidents' times.

The full analysis makes them from the links it finds when it starts. A link made later (API, accepted
suggestion, footage page, bulk import), a correction of an incident's force times, or an unlink changes the
key moments of a clip that is already analysed: the hooks below then queue `footage.key_moments` (through the
outbox, so only once the change is committed) for each analysed clip whose stored key-moment keyframes no
longer match. The task (workers/analysis_tasks.py) seeks to just those moments in the clip
(workers.video.moments) and `save` replaces the clip's key-moment keyframes in one transaction, leaving its
scene-change and interval keyframes alone. Idempotent: a rerun replaces, never adds.

Races: a change made while the full analysis runs is caught by `analysis.save_results` (it compares the moments
it used with the current ones and queues this task); a change made while this task runs makes `save` queue it
again rather than store moments already out of date; a full analysis finishing meanwhile wins (its own
keyframes stand, checked the same way).

Thumbnails go to `derived/<id>-moments/` with names unique to the run, beside the analysis run's folder (which a
rerun swaps as a whole); the files of replaced rows are removed after the commit. The clip's filmstrip, which
shows every keyframe, is made again from the other keyframes' thumbnails and the new ones, and goes there too.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit.service import SYSTEM, record
from app.core.db import after_commit, unit_of_work
from app.core.hooks import on_footage_linked, on_incident_changed
from app.core.jobs import enqueue
from app.footage.analysis import derived_root, image_path, key_moments
from app.footage.models import Finding, Footage, FootageIncident, FootageStatus, Keyframe

KEY_MOMENTS_TASK = "footage.key_moments"
KEY_MOMENT_REASONS = ("force_started", "force_ended")
# Stored clip times are rounded to the millisecond.
ROUNDING_S = 0.0015


def moments_dir(footage_id: int) -> Path:
    return derived_root() / f"{int(footage_id)}-moments"


def stored(session: Session, footage_id: int) -> list[Keyframe]:
    """The clip's key-moment keyframes (not its scene-change or interval ones)."""
    return list(
        session.exec(
            select(Keyframe)
            .where(Keyframe.footage_id == footage_id, col(Keyframe.reason).in_(KEY_MOMENT_REASONS))
            .order_by(col(Keyframe.t), col(Keyframe.id))
        ).all()
    )


def up_to_date(footage: Footage, moments: Sequence[tuple[float, str]], rows: Sequence[Keyframe]) -> bool:
    """Whether `rows` are the keyframes `moments` give: one per moment inside the clip, at the first frame at
    or after it (so within one frame after the moment). Unsure (no measured frame rate) counts as stale: a
    refresh is cheap and replaces, a wrong frame kept is not."""
    if not footage.fps or footage.duration_s is None:
        return not moments and not rows
    frame_s = 1.0 / footage.fps
    last_frame = footage.duration_s - frame_s  # moments after the last frame get none (as in the full pass)
    expected = sorted((label, t) for t, label in moments if 0 <= t <= last_frame + ROUNDING_S)
    have = sorted((r.reason, r.t) for r in rows)
    if len(expected) != len(have):
        return False
    return all(
        label == reason and moment - ROUNDING_S <= t <= moment + frame_s + ROUNDING_S
        for (label, moment), (reason, t) in zip(expected, have, strict=True)
    )


def refresh_if_stale(session: Session, footage_id: int) -> bool:
    """Queue the key-moment refresh of an analysed clip whose key-moment keyframes no longer match its links
    (caller's transaction). Clips not analysed yet get theirs from the analysis, which reads the links when it
    starts. Returns whether a job was queued."""
    footage = session.get(Footage, footage_id)
    if footage is None or footage.status != FootageStatus.analysed:
        return False
    if up_to_date(footage, key_moments(session, footage), stored(session, footage_id)):
        return False
    enqueue(session, KEY_MOMENTS_TASK, footage_id)
    return True


@on_footage_linked
def _on_link(session: Session, footage_id: int, _incident_id: int) -> None:
    refresh_if_stale(session, footage_id)


@on_incident_changed
def _on_incident(session: Session, incident_id: int) -> None:
    for footage_id in session.exec(
        select(FootageIncident.footage_id).where(FootageIncident.incident_id == incident_id)
    ).all():
        refresh_if_stale(session, footage_id)


# ---------------------------------------------------------------- the task's two short transactions
@dataclass
class Refresh:
    """What one refresh needs, read in a short transaction; `attempt` tells whether an analysis ran since."""

    footage_id: int
    storage_key: str
    attempt: int
    moments: list[tuple[float, str]]
    # The clip's other keyframes' thumbnails (clip time, file), for the filmstrip, which shows every keyframe.
    other_images: list[tuple[float, Path]] = field(default_factory=list)
    # The analysis found the file's clock jumping: its clip times are not the file's own, so the moments are
    # found by a full pass (workers.video.moments.frames_at_by_full_pass), not by seeking.
    clock_jumps: bool = False


def start(footage_id: int) -> Refresh | None:
    """None when there is nothing to refresh: gone, purged, or not analysed (the analysis makes them)."""
    with unit_of_work() as session:
        footage = session.get(Footage, footage_id)
        if footage is None or footage.status != FootageStatus.analysed:
            return None
        others = session.exec(
            select(Keyframe.t, Keyframe.image_key).where(
                Keyframe.footage_id == footage_id, col(Keyframe.reason).not_in(KEY_MOMENT_REASONS)
            )
        ).all()
        return Refresh(
            footage_id=footage_id,
            storage_key=footage.storage_key,
            attempt=footage.analysis_attempts,
            moments=key_moments(session, footage),
            other_images=[(t, path) for t, key in others if (path := image_path(key)) is not None],
            clock_jumps=session.exec(
                select(Finding.id).where(Finding.footage_id == footage_id, Finding.kind == "timestamp_jump")
            ).first()
            is not None,
        )


FILMSTRIP = "filmstrip.jpg"


def filmstrip_images(refresh: Refresh, records: list[dict[str, Any]], work_dir: Path) -> list[Path]:
    """Every keyframe thumbnail of the refreshed clip in clip order, each file once: the other keyframes' and
    the new key moments' (a frame that is both appears once)."""
    images = list(refresh.other_images) + [(float(r["t"]), work_dir / r["file"]) for r in records if r.get("file")]
    seen: set[Path] = set()
    out = []
    for _t, path in sorted(images, key=lambda x: (x[0], str(x[1]))):
        if path not in seen:
            seen.add(path)
            out.append(path)
    return out


STALE_WORK_S = 3600


def new_work_dir(footage_id: int) -> Path:
    """A fresh folder for one refresh's thumbnails (moved out by `save`, removed by `discard`). Folders a killed
    worker left are removed once they are an hour old (a refresh takes seconds; a younger one may be running)."""
    root = derived_root()
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(f".moments-run-{int(footage_id)}-*"):
        try:
            if time.time() - stale.stat().st_mtime > STALE_WORK_S:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue
    path = root / f".moments-run-{int(footage_id)}-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    return path


def remove_files(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def save(
    refresh: Refresh, records: list[dict[str, Any]], work_dir: Path | None, *, filmstrip: str | None = None
) -> str:
    """Replace the clip's key-moment keyframes with `records` (from `workers.video.moments.frames_at`) in ONE
    transaction, and its filmstrip with `filmstrip` (a file in `work_dir`) when given. Returns "saved",
    "requeued" (the links or times changed meanwhile) or "skipped" (re-analysed, purged or gone meanwhile)."""
    placed: list[Path] = []  # files moved in before the commit: removed again if it does not happen
    committed = False

    def _committed() -> None:
        nonlocal committed
        committed = True

    try:
        return _save(refresh, records, work_dir, filmstrip, placed, _committed)
    except BaseException:
        if not committed:
            _remove_unreferenced(refresh.footage_id, placed)
        raise


def _remove_unreferenced(footage_id: int, placed: list[Path]) -> None:
    """After a failed commit: remove the files it moved in, unless the database kept them after all (a
    connection lost during COMMIT leaves that unknown). Unsure: keep them (purged with the clip)."""
    if not placed:
        return
    try:
        with unit_of_work() as session:
            keys = set(session.exec(select(Keyframe.image_key).where(Keyframe.footage_id == footage_id)).all())
            footage = session.get(Footage, footage_id)
            if footage is not None:
                keys.add(footage.filmstrip_key)
    except Exception:  # noqa: BLE001 - the database is unreachable: leaving the files is the safe side
        return
    referenced = {p for k in keys if k and (p := image_path(k)) is not None}
    remove_files([p for p in placed if p.resolve() not in referenced])


def _save(
    refresh: Refresh,
    records: list[dict[str, Any]],
    work_dir: Path | None,
    filmstrip: str | None,
    placed: list[Path],
    on_commit: Callable[[], None],
) -> str:
    fid = refresh.footage_id
    with unit_of_work() as session:
        after_commit(session, on_commit)  # first, so it runs before the other callbacks
        footage = session.exec(select(Footage).where(Footage.id == fid).with_for_update()).first()
        if footage is None or footage.status != FootageStatus.analysed or footage.analysis_attempts != refresh.attempt:
            return "skipped"
        if key_moments(session, footage) != refresh.moments:
            enqueue(session, KEY_MOMENTS_TASK, fid)
            return "requeued"
        old = stored(session, fid)
        prefix = f"{fid}-moments/"
        old_files = [p for r in old if (r.image_key or "").startswith(prefix) and (p := image_path(r.image_key))]
        session.exec(
            sa.delete(Keyframe).where(  # type: ignore[call-overload]
                col(Keyframe.footage_id) == fid, col(Keyframe.reason).in_(KEY_MOMENT_REASONS)
            )
        )
        token = uuid.uuid4().hex[:12]
        target = moments_dir(fid)
        moved: dict[str, str] = {}
        for kf in records:
            key = None
            name = kf.get("file")
            if name and work_dir is not None:
                if name not in moved:
                    target.mkdir(parents=True, exist_ok=True)
                    moved[name] = f"{token}_{name}"
                    # Before the commit: the rows never point at a file that is not there yet. If the
                    # transaction rolls back, `save` removes it again.
                    os.replace(work_dir / name, target / moved[name])
                    placed.append(target / moved[name])
                key = prefix + moved[name]
            session.add(Keyframe(footage_id=fid, t=float(kf["t"]), reason=str(kf["reason"])[:32], image_key=key))
        if filmstrip and work_dir is not None and (work_dir / filmstrip).is_file():
            target.mkdir(parents=True, exist_ok=True)
            name = f"{token}_{filmstrip}"
            os.replace(work_dir / filmstrip, target / name)
            placed.append(target / name)
            # The analysis run's own filmstrip stays in its folder (replaced with it); an earlier refresh's goes.
            if (footage.filmstrip_key or "").startswith(prefix) and (old_strip := image_path(footage.filmstrip_key)):
                old_files.append(old_strip)
            footage.filmstrip_key = prefix + name
            session.add(footage)
        record(
            session,
            SYSTEM,
            "footage_key_moments_refreshed",
            object_type="footage",
            object_id=fid,
            establishment_id=footage.establishment_id,
            detail={"keyframes": [{"t": kf["t"], "reason": kf["reason"]} for kf in records]},
        )
        after_commit(session, lambda: remove_files(old_files))
    return "saved"


def discard(work_dir: Path) -> None:
    shutil.rmtree(work_dir, ignore_errors=True)
