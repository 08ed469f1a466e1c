"""Analysis stored in the database: the task body run in-process (the real pipeline on a real clip),
reruns replacing results, permanent failures, the stuck sweep. SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.audit.models import AuditEvent
from app.core.db import unit_of_work
from app.core.types import utcnow
from app.footage import analysis
from app.footage.models import Finding, Footage, FootageStatus, Keyframe, OutboxJob, Segment
from app.footage.service import NewFootage, link, register_footage
from app.incident.models import ActivationResult, IncidentCreate, InvolvedStaffIn
from app.incident.service import create_incident
from workers.analysis_tasks import run_analysis, sweep
from workers.video.synth import make_clip

FIRST_FRAME = datetime(2026, 11, 3, 14, 2, 0, tzinfo=UTC)
CLIP_S = 6.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """6 s at 320x180: a cut at 3 s, the lens covered from 0.5 s to 2.8 s."""
    path = tmp_path_factory.mktemp("analysis") / "clip.mp4"
    make_clip(path, seconds=CLIP_S, size=(320, 180), scenes=[3.0], dark=[(0.5, 2.8)], overlay_text="CAM A1", seed=3)
    return path


def _sha(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def register(world, src: Path, tmp_path: Path, *, wearer: str = "a1", claimed: float | None = CLIP_S) -> int:
    path = tmp_path / f"upload-{src.name}"
    shutil.copyfile(src, path)
    sha, size = _sha(path)
    with unit_of_work() as s:
        f = register_footage(
            s,
            NewFootage(
                establishment_id=world.est_a,
                wearer_id=world.staff[wearer],
                camera_id=world.cameras["a"],
                recording_started_at=FIRST_FRAME,
                activated_at=FIRST_FRAME + timedelta(seconds=1),
                prerecord_seconds=1,
                claimed_duration_s=claimed,
                original_filename=src.name,
            ),
            path=path,
            sha256=sha,
            size=size,
        )
        return f.id  # type: ignore[return-value]


def incident_for(world, footage_id: int, *, force_at: float = 2.0, force_s: float = 10.0) -> int:
    with unit_of_work() as s:
        inc = create_incident(
            s,
            establishment_id=world.est_a,
            user_id=None,
            data=IncidentCreate(
                reference=f"UOF-{footage_id}",
                location="A wing",
                incident_started_at=FIRST_FRAME,
                force_started_at=FIRST_FRAME + timedelta(seconds=force_at),
                force_ended_at=FIRST_FRAME + timedelta(seconds=force_at + force_s),
                incident_ended_at=FIRST_FRAME + timedelta(seconds=60),
                staff=[InvolvedStaffIn(staff_number="A001")],
            ),
        )
        link(s, s.get(Footage, footage_id), inc.id, user_id=None, source="manual")  # type: ignore[arg-type]
        return inc.id  # type: ignore[return-value]


def test_analyse_stores_results_and_a_rerun_replaces_them(engine, world, session, clip, tmp_path) -> None:
    fid = register(world, clip, tmp_path, claimed=20.0)
    inc = incident_for(world, fid)
    # Before analysis the claimed 20 s counts: provisionally covers force (2..12 s).
    provisional = session.get(ActivationResult, (inc, world.staff["a1"]))
    assert provisional is not None and provisional.coverage == 1.0

    assert run_analysis(fid) == "analysed"
    f = session.get(Footage, fid)
    session.refresh(f)
    assert f.status == FootageStatus.analysed and f.progress == 1.0 and f.status_detail is None
    assert f.duration_s == pytest.approx(CLIP_S, abs=0.05)
    assert (f.frame_count, f.width, f.height, f.codec) == (150, 320, 180, "h264")
    assert f.analysis_attempts == 1 and f.analysed_at is not None and f.filmstrip_key == f"{fid}/filmstrip.jpg"
    kfs = session.exec(select(Keyframe).where(Keyframe.footage_id == fid)).all()
    reasons = {k.reason for k in kfs}
    assert {"interval", "force_started"} <= reasons  # force ended (12 s) is after the clip's end
    assert all(analysis.image_path(k.image_key) is not None for k in kfs)
    segs = session.exec(select(Segment).where(Segment.footage_id == fid)).all()
    assert [s.kind for s in segs] == ["dark"]
    findings = session.exec(select(Finding.kind).where(Finding.footage_id == fid)).all()
    assert "metadata_duration_mismatch" in findings  # stated 20 s, 6 s decode
    # The measured 6 s now counts: recording stopped 4 s into the 10 s of force.
    result = session.get(ActivationResult, (inc, world.staff["a1"]))
    session.refresh(result)
    assert result.stopped_early and result.coverage == pytest.approx(0.4, abs=0.01) and not result.compliant

    live = analysis.thumbs_dir(fid)
    files_before = sorted(p.name for p in live.iterdir())
    assert run_analysis(fid) == "analysed"  # rerun: replaces, never duplicates
    kfs2 = session.exec(select(Keyframe).where(Keyframe.footage_id == fid)).all()
    assert [(k.t, k.reason) for k in kfs2] == [(k.t, k.reason) for k in kfs]
    assert len(session.exec(select(Keyframe)).all()) == len(kfs)
    assert len(session.exec(select(Segment).where(Segment.footage_id == fid)).all()) == 1
    assert sorted(p.name for p in live.iterdir()) == files_before
    assert not list(live.parent.glob(f".run-{fid}-*")) and not list(live.parent.glob(f".old-{fid}-*"))
    session.refresh(f)
    assert f.analysis_attempts == 2
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.object_id == str(fid))).all()
    assert actions.count("footage_analysed") == 2


def test_not_a_video_fails_with_reason_and_no_retry(engine, world, session, tmp_path) -> None:
    bogus = tmp_path / "statement.mp4"
    bogus.write_bytes(b"%PDF-1.7\n" + b"not a video at all " * 200)
    fid = register(world, bogus, tmp_path)
    inc = incident_for(world, fid)
    assert run_analysis(fid) == "failed"
    f = session.get(Footage, fid)
    session.refresh(f)
    assert f.status == FootageStatus.failed
    assert f.status_detail and "video" in f.status_detail
    # Named as uploaded, not by the hash it is stored under (it said "bc4916d9…: the file has no video").
    assert f.status_detail.startswith("statement.mp4: "), f.status_detail
    assert analysis.can_retry(f)
    assert session.exec(select(Keyframe).where(Keyframe.footage_id == fid)).all() == []
    assert not list(analysis.derived_root().glob(f".run-{fid}-*"))
    result = session.get(ActivationResult, (inc, world.staff["a1"]))
    session.refresh(result)
    assert result.coverage == 0.0  # an unreadable clip covers nothing


def test_missing_file_fails_permanently(engine, world, session) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    with unit_of_work() as s:
        f = Footage(
            establishment_id=world.est_a,
            recording_started_at=FIRST_FRAME,
            original_filename="gone.mp4",
            size_bytes=10,
            sha256=sha,
            storage_key=f"sha256/{sha[:2]}/{sha[2:4]}/{sha}",
            status=FootageStatus.queued,
        )
        s.add(f)
        s.flush()
        fid = f.id
    assert run_analysis(fid) == "failed"
    f = session.get(Footage, fid)
    session.refresh(f)
    assert f.status == FootageStatus.failed and "missing" in (f.status_detail or "")


def test_progress_is_written_while_analysing(engine, world, session, clip, tmp_path) -> None:
    fid = register(world, clip, tmp_path)
    job = analysis.start(fid)
    assert job is not None and job.attempt == 1 and job.key_moments == []
    writer = analysis.ProgressWriter(fid)
    writer(0.42)
    writer(0.43)  # throttled: within a second of the last write
    f = session.get(Footage, fid)
    session.refresh(f)
    assert (f.status, f.progress) == (FootageStatus.analysing, 0.42)


def test_sweep_requeues_only_stuck_footage(engine, world, session, clip, tmp_path) -> None:
    stuck = register(world, clip, tmp_path)
    other = tmp_path / "other.mp4"
    other.write_bytes(clip.read_bytes() + b"\0")  # different bytes, different hash
    fresh = register(world, other, tmp_path)
    with unit_of_work() as s:
        f = s.get(Footage, stuck)
        f.status = FootageStatus.analysing
        f.status_changed_at = utcnow() - timedelta(hours=2)
        s.add(f)
    jobs_before = len(session.exec(select(OutboxJob)).all())
    assert sweep() == 1
    f = session.get(Footage, stuck)
    session.refresh(f)
    assert f.status == FootageStatus.queued
    jobs = session.exec(select(OutboxJob).order_by(col(OutboxJob.id))).all()
    assert len(jobs) == jobs_before + 1 and jobs[-1].args == [stuck] and jobs[-1].task_name == "footage.analyse"
    assert session.get(Footage, fresh).status == FootageStatus.queued
    assert sweep() == 0  # just re-queued: not stuck any more
    assert "footage_analysis_retry" in session.exec(select(AuditEvent.action)).all()

    # A clip whose analysis stopped making progress time after time (a file that hangs the decoder) is
    # failed, not re-queued for ever: the sweep's re-queue made the "5 unfinished attempts" check miss it.
    with unit_of_work() as s:
        f = s.get(Footage, stuck)
        f.status, f.analysis_attempts = FootageStatus.analysing, analysis.MAX_UNFINISHED_ATTEMPTS
        f.status_changed_at = utcnow() - timedelta(hours=2)
        s.add(f)
    jobs_before = len(session.exec(select(OutboxJob)).all())
    assert sweep() == 0
    f = session.get(Footage, stuck)
    session.refresh(f)
    assert f.status == FootageStatus.failed and "stopped making progress" in (f.status_detail or "")
    assert len(session.exec(select(OutboxJob)).all()) == jobs_before
    # Only the run seen stuck: one that finished, or was queued again, meanwhile is left alone (review).
    analysis.mark_failed(stuck, "late", only_while_attempt=analysis.MAX_UNFINISHED_ATTEMPTS)
    session.refresh(f)
    assert f.status_detail != "late"
    with unit_of_work() as s:
        g = s.get(Footage, stuck)
        g.status = FootageStatus.analysing
        s.add(g)
    analysis.mark_failed(stuck, "late", only_while_attempt=analysis.MAX_UNFINISHED_ATTEMPTS + 1)
    session.refresh(f)
    assert f.status == FootageStatus.analysing
    analysis.mark_failed(stuck, "late", only_while_attempt=analysis.MAX_UNFINISHED_ATTEMPTS)
    session.refresh(f)
    assert f.status == FootageStatus.failed and f.status_detail == "late"
