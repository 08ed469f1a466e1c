"""Force began / force ended keyframes follow links and force times after a clip was analysed (issue 4).

A clip analysed before it is linked gets them once linked; moving the incident's force times moves them;
unlinking removes them; a rerun gives one set; a change made while the analysis runs is not lost. The jobs go
through the outbox like every other, and are run here eagerly by task name. SQLite and PostgreSQL.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import cv2
import pytest
from sqlmodel import col, select

import app.footage.analysis as analysis_mod
from app.core.db import unit_of_work
from app.footage import analysis, key_moments
from app.footage.models import Footage, Keyframe, OutboxJob, OutboxStatus
from app.footage.service import link
from app.incident.models import IncidentCreate, InvolvedStaffIn
from app.incident.service import create_incident
from tests.footage.test_analysis_service import FIRST_FRAME, register
from workers.analysis_tasks import run_analysis
from workers.celery_app import celery
from workers.video.moments import frames_at
from workers.video.pipeline import FILMSTRIP_HEIGHT, compose_filmstrip
from workers.video.synth import make_clip

CLIP_S = 12.0
TASK = "footage.key_moments"


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 s at 25 fps, a cut at 6 s: interval keyframes at 0 and 10 s, a scene change at 6 s."""
    path = tmp_path_factory.mktemp("moments") / "clip.mp4"
    make_clip(path, seconds=CLIP_S, size=(320, 180), scenes=[6.0], overlay_text="CAM A1", seed=5)
    return path


@pytest.fixture(autouse=True)
def _no_moments_left(engine):  # type: ignore[no-untyped-def]
    """The data folder outlives each test's database, whose clips are numbered from 1 again."""
    for folder in analysis.derived_root().glob("*-moments"):
        shutil.rmtree(folder, ignore_errors=True)


def _incident(world, ref: str, *, force_at: float, force_s: float) -> int:
    with unit_of_work() as s:
        inc = create_incident(
            s,
            establishment_id=world.est_a,
            user_id=None,
            data=IncidentCreate(
                reference=ref,
                location="A wing",
                incident_started_at=FIRST_FRAME,
                force_started_at=FIRST_FRAME + timedelta(seconds=force_at),
                force_ended_at=FIRST_FRAME + timedelta(seconds=force_at + force_s),
                incident_ended_at=FIRST_FRAME + timedelta(seconds=60),
                staff=[InvolvedStaffIn(staff_number="A001")],
            ),
        )
        return inc.id  # type: ignore[return-value]


def _pending(session) -> list[OutboxJob]:
    return list(
        session.exec(
            select(OutboxJob)
            .where(OutboxJob.task_name == TASK, OutboxJob.status == OutboxStatus.pending)
            .order_by(col(OutboxJob.id))
        ).all()
    )


def _run_pending(session) -> list[str]:
    """Run the queued key-moment jobs as a worker would (by task name, eagerly), marking them sent."""
    outcomes = []
    for job in _pending(session):
        result = celery.tasks[job.task_name].apply(args=job.args)
        assert result.successful(), result.traceback
        outcomes.append(result.result)
        job.status = OutboxStatus.sent
        session.add(job)
        session.commit()
    return outcomes


def _moments(session, fid: int) -> list[tuple[float, str]]:
    rows = session.exec(
        select(Keyframe).where(Keyframe.footage_id == fid, col(Keyframe.reason).in_(key_moments.KEY_MOMENT_REASONS))
    ).all()
    return sorted((k.t, k.reason) for k in rows)


def _others(session, fid: int) -> list[tuple[int | None, float, str, str | None]]:
    rows = session.exec(
        select(Keyframe).where(Keyframe.footage_id == fid, col(Keyframe.reason).not_in(key_moments.KEY_MOMENT_REASONS))
    ).all()
    return sorted((k.id, k.t, k.reason, k.image_key) for k in rows)


def _images(session, fid: int) -> list[Path | None]:
    keys = session.exec(
        select(Keyframe.image_key).where(
            Keyframe.footage_id == fid, col(Keyframe.reason).in_(key_moments.KEY_MOMENT_REASONS)
        )
    ).all()
    return [analysis.image_path(k) for k in keys]


def _filmstrip(session, fid: int) -> Path:
    session.expire_all()
    path = analysis.image_path(session.get(Footage, fid).filmstrip_key)
    assert path is not None and path.is_file()
    return path


def _width(path: Path) -> int:
    img = cv2.imread(str(path))
    assert img is not None
    return int(img.shape[1])


def _tile_width(thumb: Path) -> int:
    """The width a keyframe thumbnail takes in the filmstrip (scaled to its height)."""
    img = cv2.imread(str(thumb))
    assert img is not None
    return max(1, int(round(img.shape[1] * FILMSTRIP_HEIGHT / img.shape[0])))


def test_linked_after_analysis_moved_and_unlinked(as_user, engine, world, session, clip, tmp_path) -> None:
    c = as_user("coordinator.a")
    fid = register(world, clip, tmp_path, claimed=CLIP_S)
    assert run_analysis(fid) == "analysed"
    assert _moments(session, fid) == []  # not linked yet: no force keyframes
    others = _others(session, fid)
    assert {r[2] for r in others} == {"interval", "scene_change"}
    analysed_width = _width(_filmstrip(session, fid))
    inc = _incident(world, "UOF-KM-1", force_at=3.0, force_s=5.0)
    assert _pending(session) == []  # the incident has no clips yet

    # Linked later (the API; a suggestion, the footage page and bulk import go through the same link()).
    assert c.put(f"/api/v1/incidents/{inc}/footage/{fid}").status_code == 200
    assert [j.args for j in _pending(session)] == [[fid]]
    assert _run_pending(session) == ["saved"]
    assert _moments(session, fid) == [(3.0, "force_started"), (8.0, "force_ended")]
    first_images = _images(session, fid)
    assert len(first_images) == 2 and all(p is not None for p in first_images)
    assert _others(session, fid) == others  # scene-change and interval keyframes untouched
    # The filmstrip is made again: the analysis's tiles plus the two new moments.
    strip = _filmstrip(session, fid)
    assert strip.parent == key_moments.moments_dir(fid) and strip.is_file()
    assert _width(strip) == analysed_width + 2 * _tile_width(first_images[0])  # type: ignore[arg-type]

    # Run twice: one set, the replaced thumbnails gone.
    job = celery.tasks[TASK].apply(args=[fid])
    assert job.result == "saved"
    assert _moments(session, fid) == [(3.0, "force_started"), (8.0, "force_ended")]
    assert all(not p.exists() for p in first_images if p is not None)  # type: ignore[union-attr]
    assert not strip.exists()  # the earlier refresh's filmstrip went with its thumbnails
    assert len(list(key_moments.moments_dir(fid).iterdir())) == 3  # two thumbnails and the filmstrip

    # An edit that does not touch the times queues nothing.
    r = c.patch(f"/api/v1/incidents/{inc}", json={"description": "Refused to return to cell", "reason": "detail"})
    assert r.status_code == 200, r.text
    assert _pending(session) == []

    # The force times corrected: the keyframes move with them.
    r = c.patch(
        f"/api/v1/incidents/{inc}",
        json={
            "force_started_at": (FIRST_FRAME + timedelta(seconds=4.5)).isoformat(),
            "force_ended_at": (FIRST_FRAME + timedelta(seconds=9.3)).isoformat(),
            "reason": "times checked against the CCTV",
        },
    )
    assert r.status_code == 200, r.text
    assert len(_pending(session)) == 1
    assert _run_pending(session) == ["saved"]
    assert _moments(session, fid) == [(4.52, "force_started"), (9.32, "force_ended")]  # first frame at or after
    assert all(p is not None for p in _images(session, fid))
    assert _others(session, fid) == others

    # Unlinked: they go, files included.
    r = c.delete(f"/api/v1/incidents/{inc}/footage/{fid}", params={"reason": "wrong incident"})
    assert r.status_code == 200 and r.json()["changed"] is True
    assert _run_pending(session) == ["saved"]
    assert _moments(session, fid) == []
    strip = _filmstrip(session, fid)
    assert list(key_moments.moments_dir(fid).iterdir()) == [strip]  # thumbnails gone; the filmstrip without them
    assert _width(strip) == analysed_width
    assert _others(session, fid) == others


def test_frames_match_what_the_full_analysis_picks(engine, world, session, clip, tmp_path) -> None:
    """The refresh and a fresh analysis of the linked clip agree to the frame."""
    fid = register(world, clip, tmp_path, claimed=CLIP_S)
    assert run_analysis(fid) == "analysed"
    inc = _incident(world, "UOF-KM-2", force_at=2.01, force_s=9.0)
    with unit_of_work() as s:
        link(s, s.get(Footage, fid), inc, user_id=None, source="suggestion")  # type: ignore[arg-type]
    assert _run_pending(session) == ["saved"]
    refreshed = _moments(session, fid)
    assert refreshed == [(2.04, "force_started"), (11.04, "force_ended")]
    assert run_analysis(fid) == "analysed"  # the full pass, now that the link exists
    assert _moments(session, fid) == refreshed
    assert _pending(session) == []  # it used the current moments: nothing more to do
    assert list(key_moments.moments_dir(fid).iterdir()) == []  # the refresh's thumbnails went with its rows


def test_a_clip_whose_clock_jumps_gets_its_moments_on_its_own_clock(engine, world, session, tmp_path) -> None:
    """The refresh sought moments on the file's own clock, so after a jump the force keyframe went 10^7 s
    past the end of a clip the full pass had measured without the jump (found by review). The full pass's
    times and the refresh's now agree."""
    from tests.video.test_video_timestamps import _frames, _write

    jumpy = _write(tmp_path / "jumpy.mkv", _frames(4) + _frames(8, start=4 + 1e7), size=(160, 90))
    fid = register(world, jumpy, tmp_path, claimed=None)
    assert run_analysis(fid) == "analysed"
    inc = _incident(world, "UOF-KM-J", force_at=6.0, force_s=3.0)
    with unit_of_work() as s:
        link(s, s.get(Footage, fid), inc, user_id=None, source="suggestion")  # type: ignore[arg-type]
    assert _run_pending(session) == ["saved"]
    refreshed = _moments(session, fid)
    assert refreshed == [(6.0, "force_started"), (9.0, "force_ended")], refreshed
    assert all(p is not None and p.is_file() for p in _images(session, fid))
    assert run_analysis(fid) == "analysed"
    assert _moments(session, fid) == refreshed


def test_link_made_while_the_analysis_runs_is_not_lost(
    engine, world, session, clip, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fid = register(world, clip, tmp_path, claimed=CLIP_S)
    inc = _incident(world, "UOF-KM-3", force_at=1.0, force_s=4.0)
    real_start = analysis_mod.start

    def start_then_link(footage_id: int):  # type: ignore[no-untyped-def]
        job = real_start(footage_id)  # reads the links: none yet
        with unit_of_work() as s:  # the coordinator links it while it is being analysed
            link(s, s.get(Footage, footage_id), inc, user_id=None, source="manual")  # type: ignore[arg-type]
        return job

    monkeypatch.setattr(analysis_mod, "start", start_then_link)
    assert run_analysis(fid) == "analysed"
    assert _moments(session, fid) == []  # the run did not know about the link...
    assert [j.args for j in _pending(session)] == [[fid]]  # ...so its save queued the refresh
    assert _run_pending(session) == ["saved"]
    assert _moments(session, fid) == [(1.0, "force_started"), (5.0, "force_ended")]


def test_refresh_overtaken_by_a_change_or_a_reanalysis(engine, world, session, clip, tmp_path) -> None:
    fid = register(world, clip, tmp_path, claimed=CLIP_S)
    assert run_analysis(fid) == "analysed"
    inc = _incident(world, "UOF-KM-4", force_at=3.0, force_s=2.0)
    with unit_of_work() as s:
        link(s, s.get(Footage, fid), inc, user_id=None, source="manual")  # type: ignore[arg-type]
    _run_pending(session)

    # The times change between reading the moments and saving: not stored, queued again.
    refresh = key_moments.start(fid)
    assert refresh is not None and refresh.moments == [(3.0, "force_started"), (5.0, "force_ended")]
    refresh.moments = [(1.0, "force_started"), (2.0, "force_ended")]  # what it read before the change
    assert key_moments.save(refresh, [{"t": 1.0, "reason": "force_started"}], None) == "requeued"
    assert _moments(session, fid) == [(3.0, "force_started"), (5.0, "force_ended")]
    assert len(_pending(session)) == 1
    _run_pending(session)

    # A full analysis finished meanwhile: its keyframes stand.
    refresh = key_moments.start(fid)
    assert refresh is not None
    assert run_analysis(fid) == "analysed"
    assert key_moments.save(refresh, [], None) == "skipped"
    assert _moments(session, fid) == [(3.0, "force_started"), (5.0, "force_ended")]


def test_clips_not_analysed_wait_for_their_analysis(engine, world, session, clip, tmp_path) -> None:
    fid = register(world, clip, tmp_path, claimed=CLIP_S)  # queued, not analysed
    inc = _incident(world, "UOF-KM-5", force_at=3.0, force_s=2.0)
    with unit_of_work() as s:
        link(s, s.get(Footage, fid), inc, user_id=None, source="import")  # type: ignore[arg-type]
    assert _pending(session) == []  # the analysis reads the link when it starts
    assert celery.tasks[TASK].apply(args=[fid]).result == "skipped"
    assert run_analysis(fid) == "analysed"
    assert _moments(session, fid) == [(3.0, "force_started"), (5.0, "force_ended")]
    assert _pending(session) == []


def test_task_is_registered_with_late_acks_and_retries() -> None:
    import sqlalchemy.exc

    task = celery.tasks[TASK]
    assert task.acks_late and task.reject_on_worker_lost and task.max_retries == 5
    assert sqlalchemy.exc.OperationalError in task.autoretry_for


def test_folders_left_by_a_killed_refresh_are_cleared(engine, world, clip, tmp_path) -> None:
    import os
    import time

    old = analysis.derived_root() / ".moments-run-7-deadbeef0000"
    young = analysis.derived_root() / ".moments-run-7-cafe00000000"
    for folder in (old, young):
        folder.mkdir(parents=True)
        (folder / "km_00001000.jpg").write_bytes(b"jpeg")
    hours_ago = time.time() - 2 * 3600
    os.utime(old, (hours_ago, hours_ago))
    work = key_moments.new_work_dir(7)
    assert work.is_dir() and not old.exists() and young.exists()  # a young one may belong to a running refresh
    key_moments.discard(work)
    key_moments.discard(young)


def test_a_refresh_that_does_not_commit_leaves_no_files(engine, world, session, clip, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The thumbnails and filmstrip are moved in before the commit (rows never point at a missing file); when
    the transaction fails they are removed again, and the clip keeps what it had."""
    fid = register(world, clip, tmp_path, claimed=CLIP_S)
    assert run_analysis(fid) == "analysed"
    strip_before = _filmstrip(session, fid)
    inc = _incident(world, "UOF-KM-9", force_at=3.0, force_s=5.0)
    with unit_of_work() as s:
        link(s, s.get(Footage, fid), inc, user_id=None, source="suggestion")  # type: ignore[arg-type]
    refresh = key_moments.start(fid)
    assert refresh is not None and len(refresh.moments) == 2
    work = key_moments.new_work_dir(fid)
    records = frames_at(clip, refresh.moments, thumbs_dir=work)
    assert compose_filmstrip(key_moments.filmstrip_images(refresh, records, work), work / key_moments.FILMSTRIP)

    def audit_fails(*_a, **_k):  # type: ignore[no-untyped-def]
        raise RuntimeError("database went away")

    monkeypatch.setattr(key_moments, "record", audit_fails)
    with pytest.raises(RuntimeError):
        key_moments.save(refresh, records, work, filmstrip=key_moments.FILMSTRIP)
    assert list(key_moments.moments_dir(fid).iterdir()) == []  # moved in, then removed again
    assert _moments(session, fid) == []
    assert _filmstrip(session, fid) == strip_before
    key_moments.discard(work)


def test_files_of_a_commit_that_happened_after_all_are_kept(
    engine, world, session, clip, tmp_path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A COMMIT that raises although the database kept it (connection lost on the way back): the files the
    committed rows point at are not removed."""
    fid = register(world, clip, tmp_path, claimed=CLIP_S)
    assert run_analysis(fid) == "analysed"
    inc = _incident(world, "UOF-KM-10", force_at=3.0, force_s=5.0)
    with unit_of_work() as s:
        link(s, s.get(Footage, fid), inc, user_id=None, source="suggestion")  # type: ignore[arg-type]
    original = key_moments._save

    def committed_then_lost(refresh, records, work_dir, filmstrip, placed, _on_commit):  # type: ignore[no-untyped-def]
        original(refresh, records, work_dir, filmstrip, placed, lambda: None)
        raise ConnectionError("connection lost while the commit's answer was on its way")

    monkeypatch.setattr(key_moments, "_save", committed_then_lost)
    refresh = key_moments.start(fid)
    assert refresh is not None
    work = key_moments.new_work_dir(fid)
    records = frames_at(clip, refresh.moments, thumbs_dir=work)
    assert compose_filmstrip(key_moments.filmstrip_images(refresh, records, work), work / key_moments.FILMSTRIP)
    with pytest.raises(ConnectionError):
        key_moments.save(refresh, records, work, filmstrip=key_moments.FILMSTRIP)
    key_moments.discard(work)
    assert _moments(session, fid) == [(3.0, "force_started"), (8.0, "force_ended")]
    assert all(p is not None for p in _images(session, fid))  # the committed rows' files are there
    assert _filmstrip(session, fid).parent == key_moments.moments_dir(fid)
