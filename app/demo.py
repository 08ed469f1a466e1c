"""`bwv-review demo`: a small, realistic establishment so every page has something real to show.

Footage is rendered with OpenCV/PyAV (workers.video.synth): short H.264 clips with a BWV-style clock,
some switched on late, one with the lens covered. Analysis runs in the worker as for any upload.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, func, select

from app.audit.service import SYSTEM, record
from app.auth.models import Role, User
from app.auth.service import create_user
from app.core.db import unit_of_work
from app.establishment.models import CameraCreate, Establishment, EstablishmentCreate, EstablishmentKind
from app.establishment.service import add_camera, add_staff_member, create_establishment
from app.footage.models import Footage
from app.footage.service import NewFootage, link, register_footage
from app.incident.models import IncidentCreate, InvolvedStaffIn, SubjectBase
from app.incident.service import create_incident
from app.rating.models import CalibrationAssignment, Rag, Rating
from app.staff.models import StaffMemberCreate

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - printed for the demo only
DEMO_USERS = [
    ("admin", "Alex Admin", Role.admin, None),
    ("coordinator", "Chris Coordinator", Role.coordinator, None),
    ("coordinator.two", "Dana Second", Role.coordinator, None),
    ("governor", "Gill Governor", Role.governor, None),
    ("officer.ahmed", "Officer Sam Ahmed", Role.staff, "EX1001"),
    ("officer.brown", "Officer Jo Brown", Role.staff, "EX1002"),
    ("officer.clarke", "Officer Lee Clarke", Role.staff, "EX1003"),
]
UK = ZoneInfo("Europe/London")  # the cameras' clocks, as the pages show times
OFFICERS = [
    ("EX1001", "Sam Ahmed"),
    ("EX1002", "Jo Brown"),
    ("EX1003", "Lee Clarke"),
    ("EX1004", "Priya Desai"),
    ("EX1005", "Tom Evans"),
    ("EX1006", "Kate Fisher"),
]
LOCATIONS = ["A wing, landing 2", "B wing, cell 14", "Reception", "Exercise yard", "Segregation unit", "Healthcare"]
SUBJECTS = [
    ("A1234BC", "White British", "21-24", "Male", "None recorded"),
    ("A2345CD", "Black Caribbean", "18-20", "Male", None),
    ("A3456DE", "Asian Pakistani", "25-29", "Male", "Mental health"),
    ("A4567EF", "Mixed White and Black African", "30-39", "Male", None),
]

# (days ago, location index, planned, force types, officers, clips)
# A clip: (officer, seconds before force the first frame is, seconds after first frame the wearer pressed record,
#          pre-record buffer, clip length, dark span or None)
INCIDENTS: list[tuple[Any, ...]] = [
    (
        84,
        0,
        False,
        ["guiding_hold"],
        ["EX1001", "EX1002"],
        [("EX1001", 6, 2, 2, 16, None), ("EX1002", 5, 1, 1, 15, None)],
    ),
    (
        77,
        1,
        True,
        ["control_and_restraint", "handcuffs"],
        ["EX1001", "EX1003", "EX1004"],
        [("EX1001", 7, 1, 1, 16, None), ("EX1003", 6, 2, 2, 15, None), ("EX1004", -3, 0, 0, 10, None)],
    ),
    (70, 2, False, ["guiding_hold"], ["EX1002", "EX1005"], [("EX1002", 4, 1, 1, 14, None)]),
    (
        63,
        3,
        False,
        ["control_and_restraint"],
        ["EX1003", "EX1006"],
        [("EX1003", 5, 1, 1, 16, (7.0, 10.5)), ("EX1006", 6, 1, 1, 15, None)],
    ),
    (55, 0, False, ["pava"], ["EX1001", "EX1004"], [("EX1001", 2, 6, 4, 14, None), ("EX1004", 6, 1, 1, 14, None)]),
    (
        48,
        4,
        True,
        ["control_and_restraint", "shield"],
        ["EX1002", "EX1003", "EX1005"],
        [("EX1002", 6, 1, 1, 16, None), ("EX1003", 6, 1, 1, 16, None), ("EX1005", 5, 2, 2, 15, None)],
    ),
    (40, 5, False, ["guiding_hold"], ["EX1006"], []),
    (
        33,
        1,
        False,
        ["control_and_restraint"],
        ["EX1001", "EX1002"],
        [("EX1001", 5, 1, 1, 15, None), ("EX1002", 1, 5, 2, 12, None)],
    ),
    (
        25,
        2,
        False,
        ["guiding_hold", "handcuffs"],
        ["EX1003", "EX1004"],
        [("EX1003", 6, 1, 1, 15, None), ("EX1004", 6, 1, 1, 15, None)],
    ),
    (
        16,
        3,
        True,
        ["control_and_restraint"],
        ["EX1001", "EX1005"],
        [("EX1001", 6, 1, 1, 16, None), ("EX1005", 6, 2, 2, 15, None)],
    ),
    (
        9,
        0,
        False,
        ["guiding_hold"],
        ["EX1002", "EX1003"],
        [("EX1002", 6, 1, 1, 15, None), ("EX1003", 6, 1, 1, 15, None)],
    ),
    (
        3,
        4,
        False,
        ["control_and_restraint", "pava"],
        ["EX1001", "EX1006"],
        [("EX1001", 5, 2, 2, 15, None), ("EX1006", 4, 3, 3, 14, None)],
    ),
]
FORCE_SECONDS = 6
# Ratings already given (incident index, officer, rag, guidance)
RATINGS = [
    (0, "EX1001", Rag.green, ""),
    (0, "EX1002", Rag.green, ""),
    (1, "EX1001", Rag.green, ""),
    (
        1,
        "EX1004",
        Rag.red,
        "Your camera was switched on after force had begun, so the start of the restraint is not "
        "on video. Switch on as soon as you respond to an alarm or expect force may be needed.",
    ),
    (
        3,
        "EX1003",
        Rag.amber,
        "The lens was covered for a few seconds during the restraint. Check your camera's "
        "position on your vest before going hands-on, and re-position it as soon as it is safe.",
    ),
    (
        4,
        "EX1001",
        Rag.amber,
        "You pressed record a few seconds after force began; the pre-record buffer caught the "
        "start this time. Press record as you approach, before going hands-on.",
    ),
    (5, "EX1002", Rag.green, ""),
]


def _clip_sha(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


# Demo clips: 480x270 H.264, light sensor noise, x264 "ultrafast": realistic enough on screen, about a
# second each to make, rendered in parallel before the database transaction opens.
CLIP_SIZE = (480, 270)
CLIP_NOISE = 4
CLIP_PRESET = "ultrafast"
CLIP_CRF = 26


def _force_start(now: datetime, idx: int) -> datetime:
    days = INCIDENTS[idx][0]
    base = (now - timedelta(days=days)).replace(hour=9 + (idx * 5) % 10, minute=(idx * 17) % 60, second=0)
    return base + timedelta(seconds=40)


def _camera_serial(officer: str) -> str:
    return f"BWV-{[n for n, _ in OFFICERS].index(officer) + 41:04d}"


def _render_clip(job: tuple[str, float, tuple[float, float] | None, str, datetime, int]) -> str:
    from workers.video.synth import make_clip

    path, length, dark, serial, first_frame, seed = job
    make_clip(
        path,
        seconds=length,
        fps=25,
        size=CLIP_SIZE,
        scenes=[length * 0.45],
        dark=[dark] if dark else [],
        noise=CLIP_NOISE,
        preset=CLIP_PRESET,
        crf=CLIP_CRF,
        overlay_text=serial.replace("-", " "),
        # Cameras burn in local (UK) time, as the pages show it.
        clock_start=first_frame.astimezone(UK),
        seed=seed,
    )
    return path


def render_clips(folder: Path, now: datetime) -> dict[tuple[int, str], Path]:
    """Every demo clip, made on all cores (encoding is the slow part of loading the demo)."""
    jobs: list[tuple[tuple[int, str], tuple[str, float, Any, str, datetime, int]]] = []
    for idx, (_days, _loc, _planned, _types, _officers, clips) in enumerate(INCIDENTS):
        force_start = _force_start(now, idx)
        for officer, lead, _press, _prerecord, length, dark in clips:
            first_frame = force_start - timedelta(seconds=lead)
            path = str(folder / f"{officer}_{idx}.mp4")
            jobs.append(
                (
                    (idx, officer),
                    (path, float(length), dark, _camera_serial(officer), first_frame, idx * 10 + len(jobs)),
                )
            )
    workers = max(1, min(4, os.cpu_count() or 1))
    if workers == 1:
        return {key: Path(_render_clip(job)) for key, job in jobs}
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        paths = list(pool.map(_render_clip, [job for _, job in jobs]))
    return {key: Path(path) for (key, _), path in zip(jobs, paths, strict=True)}


def load_demo(*, if_empty: bool = False, echo: Callable[[str], object] = print) -> None:
    with unit_of_work() as session:
        if if_empty and session.exec(select(func.count()).select_from(Establishment)).one():
            echo("demo: the database already has data; nothing loaded")
            _print_sign_ins(echo)
            return
    now = datetime.now(UTC).replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        rendered = render_clips(Path(tmp), now)
        _load(now, rendered, echo)


def _load(now: datetime, rendered: dict[tuple[int, str], Path], echo: Callable[[str], object]) -> None:
    with unit_of_work() as session:
        est = create_establishment(
            session, EstablishmentCreate(code="EXA", name="HMP Example", kind=EstablishmentKind.prison)
        )
        assert est.id is not None
        staff = {
            n: add_staff_member(session, est.id, StaffMemberCreate(staff_number=n, name=name)) for n, name in OFFICERS
        }
        cameras = {
            n: add_camera(session, est.id, CameraCreate(serial=_camera_serial(n), label=f"Camera {i + 41}"))
            for i, (n, _) in enumerate(OFFICERS)
        }
        users = {}
        for username, name, role, staff_number in DEMO_USERS:
            users[username] = create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                display_name=name,
                role=role,
                establishment_id=None if role == Role.admin else est.id,
                staff_member_id=staff[staff_number].id if staff_number else None,
            )
        coordinator = users["coordinator"]
        footage_by: dict[tuple[int, str], Footage] = {}
        for idx, (_days, loc, planned, types, officers, clips) in enumerate(INCIDENTS):
            force_start = _force_start(now, idx)
            base = force_start - timedelta(seconds=40)
            subj = SUBJECTS[idx % len(SUBJECTS)]
            incident = create_incident(
                session,
                establishment_id=est.id,
                user_id=coordinator.id,
                data=IncidentCreate(
                    reference=f"UOF-{base:%Y}-{idx + 101:04d}",
                    location=LOCATIONS[loc],
                    planned=planned,
                    force_types=types,
                    incident_started_at=force_start - timedelta(seconds=30),
                    force_started_at=force_start,
                    force_ended_at=force_start + timedelta(seconds=FORCE_SECONDS),
                    incident_ended_at=force_start + timedelta(seconds=FORCE_SECONDS + 60),
                    description=_description(planned, types, LOCATIONS[loc]),
                    staff=[InvolvedStaffIn(staff_number=o, part=_part(i, types)) for i, o in enumerate(officers)],
                    subjects=[
                        SubjectBase(
                            reference=subj[0], ethnicity=subj[1], age_band=subj[2], sex=subj[3], disability=subj[4]
                        )
                    ],
                ),
            )
            for officer, lead, press, prerecord, length, _dark in clips:
                first_frame = force_start - timedelta(seconds=lead)
                path = rendered[(idx, officer)]
                sha, size = _clip_sha(path)
                f = register_footage(
                    session,
                    NewFootage(
                        establishment_id=est.id,
                        camera_id=cameras[officer].id,
                        wearer_id=staff[officer].id,
                        recording_started_at=first_frame,
                        activated_at=first_frame + timedelta(seconds=press),
                        prerecord_seconds=prerecord,
                        claimed_duration_s=float(length),
                        # Named by the camera's own clock, which shows local time (as the picture's clock does).
                        original_filename=f"{cameras[officer].serial}_{first_frame.astimezone(UK):%Y%m%d_%H%M%S}.mp4",
                        uploaded_by_user_id=coordinator.id,
                    ),
                    path=path,
                    sha256=sha,
                    size=size,
                )
                link(session, f, incident.id, user_id=coordinator.id, source="import")  # type: ignore[arg-type]
                footage_by[(idx, officer)] = f
        first_ratings: dict[tuple[int, str], Rating] = {}
        for idx, officer, rag, guidance in RATINGS:
            f = footage_by[(idx, officer)]
            assert f.id is not None and est.id is not None
            first_ratings[(idx, officer)] = rating = Rating(
                footage_id=f.id,
                establishment_id=est.id,
                wearer_id=staff[officer].id,
                recorded_at=f.recording_started_at,
                rag=rag,  # type: ignore[arg-type]
                criteria=_criteria(rag, _clip_of(idx, officer)),
                guidance=guidance,
                rated_by_user_id=coordinator.id,  # type: ignore[arg-type]
                rated_at=now - timedelta(days=INCIDENTS[idx][0] - 2),
            )
            session.add(rating)
        session.flush()
        _calibration(session, est.id, first_ratings, coordinator, users["coordinator.two"], now)
        footage_by[(0, "EX1001")].good_practice = True  # green, shown to staff as a good-practice example
        record(
            session,
            SYSTEM,
            "demo_load",
            establishment_id=est.id,
            detail={"incidents": len(INCIDENTS), "clips": len(footage_by)},
        )
    echo(f"demo: loaded HMP Example with {len(INCIDENTS)} incidents and {len(footage_by)} clips")
    _print_sign_ins(echo)


# Calibration: clips the first coordinator rated, sent to the second for a blind second rating.
# (incident index, officer, the second coordinator's rating or None while it is still waiting)
CALIBRATION: list[tuple[int, str, Rag | None]] = [
    (0, "EX1001", Rag.green),
    (1, "EX1004", Rag.amber),  # a disagreement, for the monthly meeting
    (3, "EX1003", Rag.amber),
    (4, "EX1001", None),
]


def _calibration(
    session: Session, est_id: int, first: dict[tuple[int, str], Rating], by: User, to: User, now: datetime
) -> None:
    for idx, officer, second in CALIBRATION:
        r1 = first[(idx, officer)]
        sent = r1.rated_at + timedelta(days=1)
        a = CalibrationAssignment(
            establishment_id=est_id,
            footage_id=r1.footage_id,
            first_rating_id=r1.id,  # type: ignore[arg-type]
            assigned_to_user_id=to.id,  # type: ignore[arg-type]
            requested_by_user_id=by.id,  # type: ignore[arg-type]
            requested_at=sent,
            note="Monthly calibration sample",
        )
        session.add(a)
        session.flush()
        if second is None:
            continue
        r2 = Rating(
            footage_id=r1.footage_id,
            establishment_id=est_id,
            wearer_id=r1.wearer_id,
            recorded_at=r1.recorded_at,
            rag=second,
            criteria=_criteria(second, _clip_of(idx, officer)),
            guidance="" if second == Rag.green else "Second opinion: " + (r1.guidance or "see the first rating."),
            rated_by_user_id=to.id,  # type: ignore[arg-type]
            rated_at=min(sent + timedelta(days=2), now),
            is_current=False,
            is_calibration=True,
            calibration_id=a.id,
        )
        session.add(r2)
        session.flush()
        a.completed_at = r2.rated_at
        a.extra = {"second_rating_id": r2.id}
        session.add(a)


def _part(i: int, types: list[str]) -> str:
    if "control_and_restraint" in types:
        return ["Head", "Left arm", "Right arm", "Supervisor"][i % 4]
    return ["Lead officer", "Second officer", "Supervisor"][i % 3]


def _description(planned: bool, types: list[str], location: str) -> str:
    if planned:
        return f"Planned relocation from {location}. Briefing held; the person was asked to walk and declined."
    if "pava" in types:
        return f"Fight on {location}; PAVA drawn and used after warnings to separate two people."
    return f"Person became agitated on {location} and struck out at staff; guided to the floor and restrained."


def _clip_of(idx: int, officer: str) -> tuple[Any, ...]:
    """The demo clip (officer, lead, press, prerecord, length, dark) of an incident's officer."""
    return next(c for c in INCIDENTS[idx][5] if c[0] == officer)


def _criteria(rag: Rag, clip: tuple[Any, ...]) -> dict[str, bool]:
    """What the demo coordinator ticked: the checkable criteria as the clip's own timings have them (an amber
    for a late press must not say it was switched on before force: an officer reads both), the judged ones
    by the rating."""
    _officer, lead, press, _prerecord, length, dark = clip
    force = (lead, lead + FORCE_SECONDS)  # seconds from the clip's first frame
    ok = rag == Rag.green
    return {
        "switched_on_before_force": press <= lead,
        "whole_incident_captured": lead >= 0 and length >= force[1],
        "unobstructed": dark is None or dark[1] <= force[0] or dark[0] >= force[1],
        "sound_clear": True,
        "recording_announced": ok,
        "deescalation_visible": ok,
    }


def _print_sign_ins(echo: Callable[[str], object]) -> None:
    echo("")
    echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for username, name, role, _ in DEMO_USERS:
        echo(f"  {username:<16} {role.label} — {name}")
    echo("")
