"""Seed a database for the review browser tests: run as a subprocess with BWV_DATA_DIR set.

    python -m tests.browser.seed_review  -> prints a JSON summary (ids the tests need)

One establishment, a coordinator, three officers, three incidents: the oldest with two real clips (one
switched on late but caught by the pre-record buffer, one on before force), one with a clip whose lens is
covered during the restraint, one with no footage at all. Clips are rendered by workers.video.synth and
analysed in-process by the real pipeline (keyframes with thumbnails, dark stretches), saved through the
same service the worker uses.
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

PASSWORD = "review-browser-2026"


def _sha(path: Path) -> tuple[str, int]:
    data = path.read_bytes()
    return hashlib.sha256(data).hexdigest(), len(data)


def main() -> dict[str, object]:
    from alembic import command
    from app.auth.models import Role
    from app.auth.service import create_user
    from app.cli import _alembic_config
    from app.core.db import unit_of_work
    from app.establishment.models import CameraCreate, EstablishmentCreate
    from app.establishment.service import add_camera, add_staff_member, create_establishment
    from app.footage.analysis import key_moments, new_work_dir, save_results
    from app.footage.models import Footage
    from app.footage.service import NewFootage, link, register_footage
    from app.incident.models import IncidentCreate, InvolvedStaffIn
    from app.incident.service import create_incident
    from app.staff.models import StaffMemberCreate
    from workers.video.pipeline import analyse_file
    from workers.video.synth import make_clip

    command.upgrade(_alembic_config(), "head")
    now = datetime.now(UTC).replace(microsecond=0)
    clips: list[tuple[int, Path, float | None]] = []
    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp, unit_of_work() as s:
        est = create_establishment(s, EstablishmentCreate(code="LPI", name="HMP Liverpool"))
        staff = {
            n: add_staff_member(s, est.id, StaffMemberCreate(staff_number=n, name=name))  # type: ignore[arg-type]
            for n, name in (("LP101", "Sam Ahmed"), ("LP102", "Jo Brown"), ("LP103", "Lee Clarke"))
        }
        cams = {
            n: add_camera(s, est.id, CameraCreate(serial=f"BWV-{i + 41:04d}"))  # type: ignore[arg-type]
            for i, n in enumerate(staff)
        }
        coord = create_user(
            s, username="coordinator", password=PASSWORD, display_name="Chris Coordinator",
            role=Role.coordinator, establishment_id=est.id,
        )  # fmt: skip
        create_user(
            s, username="coordinator2", password=PASSWORD, display_name="Dana Second",
            role=Role.coordinator, establishment_id=est.id,
        )  # fmt: skip

        def incident(ref: str, days: int, location: str, officers: list[str]):  # type: ignore[no-untyped-def]
            fs = (now - timedelta(days=days)).replace(hour=10, minute=15, second=0)
            return create_incident(
                s,
                establishment_id=est.id,  # type: ignore[arg-type]
                user_id=coord.id,
                data=IncidentCreate(
                    reference=ref,
                    location=location,
                    incident_started_at=fs - timedelta(seconds=20),
                    force_started_at=fs,
                    force_ended_at=fs + timedelta(seconds=6),
                    incident_ended_at=fs + timedelta(seconds=40),
                    force_types=["control_and_restraint"],
                    staff=[InvolvedStaffIn(staff_number=o, part="Head") for o in officers],
                ),
            )

        i1 = incident("UOF-2026-0101", 9, "A wing, landing 2", ["LP101", "LP102"])
        i2 = incident("UOF-2026-0102", 6, "Segregation unit", ["LP103"])
        i3 = incident("UOF-2026-0103", 3, "Exercise yard", ["LP103"])

        def clip(inc, officer: str, lead: float, press: float, dark=None, seed: int = 0) -> Footage:  # type: ignore[no-untyped-def]
            first = inc.force_started_at - timedelta(seconds=lead)
            path = Path(tmp) / f"{officer}-{inc.reference}.mp4"
            make_clip(
                path, seconds=12, fps=25, size=(320, 180), scenes=[7.5], dark=[dark] if dark else [],
                overlay_text=cams[officer].serial.replace("-", " "), clock_start=first, seed=seed,
            )  # fmt: skip
            sha, size = _sha(path)
            f = register_footage(
                s,
                NewFootage(
                    establishment_id=est.id,  # type: ignore[arg-type]
                    camera_id=cams[officer].id,
                    wearer_id=staff[officer].id,
                    recording_started_at=first,
                    activated_at=first + timedelta(seconds=press),
                    prerecord_seconds=press,
                    original_filename=f"{cams[officer].serial}_{first:%Y%m%d_%H%M%S}.mp4",
                    uploaded_by_user_id=coord.id,
                ),
                path=path,
                sha256=sha,
                size=size,
            )
            link(s, f, inc.id, user_id=coord.id, source="manual")
            clips.append((f.id, path, None))  # type: ignore[arg-type]
            return f

        late = clip(i1, "LP101", lead=3, press=5, seed=1)  # pressed 2 s after force began; pre-record caught it
        ontime = clip(i1, "LP102", lead=4, press=1, seed=2)
        covered = clip(i2, "LP103", lead=3, press=1, dark=(4.0, 8.5), seed=3)
        s.flush()
        moments = {f.id: key_moments(s, f) for f in (late, ontime, covered)}
        out.update(
            late=late.id, ontime=ontime.id, covered=covered.id, incidents=[i1.id, i2.id, i3.id],
            establishment=est.id, password=PASSWORD,
        )  # fmt: skip
        # Analyse after commit (the saved results need the footage rows).
        todo = [(fid, next(p for i, p, _ in clips if i == fid), moments[fid]) for fid in moments]
        s.commit()
        for fid, path, km in todo:
            work = new_work_dir(fid)
            result = analyse_file(path, interval_s=3.0, key_moments=km, thumbs_dir=work, dark_min_s=1.0)
            save_results(fid, result.to_dict(), work)
    return out


if __name__ == "__main__":
    json.dump(main(), sys.stdout)
