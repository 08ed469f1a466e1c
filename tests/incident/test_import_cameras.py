"""`bwv-review import-incidents FILE.csv`: the `cameras` column (issue 3: a camera named on the incident brings its
footage as a suggested link). Serials are `;`-separated; a row naming an unknown camera is rejected with the reason
and the other rows are imported. SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner
from sqlmodel import col, select

from app.cli import main
from app.core.db import unit_of_work
from app.establishment.models import Camera, CameraCreate
from app.establishment.service import add_camera
from app.incident.models import Incident, IncidentCamera, IncidentStaff

COLUMNS = [
    "reference",
    "location",
    "incident_started_at",
    "force_started_at",
    "force_ended_at",
    "incident_ended_at",
    "planned",
    "force_types",
    "description",
    "staff",
    "cameras",
    "subject_reference",
]


def _row(ref: str, day: int, **over: str) -> dict[str, str]:
    t = f"2026-10-{day:02d}T1{{h}}:00:00+01:00"
    row = {
        "reference": ref,
        "location": "Segregation unit",
        "incident_started_at": t.format(h=0),
        "force_started_at": t.format(h=1),
        "force_ended_at": t.format(h=2),
        "incident_ended_at": t.format(h=3),
        "planned": "no",
        "force_types": "guiding_hold",
        "description": "",
        "staff": "A001:head",
        "cameras": "",
        "subject_reference": "",
    }
    row.update(over)
    return row


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    return path


def _cameras_of(session, ref: str) -> set[str]:
    inc = session.exec(select(Incident).where(Incident.reference == ref)).one()
    return set(
        session.exec(
            select(Camera.serial)
            .join(IncidentCamera, col(IncidentCamera.camera_id) == Camera.id)
            .where(IncidentCamera.incident_id == inc.id)
        ).all()
    )


def test_cameras_column_links_cameras_and_rejects_unknown_ones(world, session, tmp_path) -> None:
    with unit_of_work() as s:
        add_camera(s, world.est_a, CameraCreate(serial="CAM-A7"))
    path = _write(
        tmp_path / "incidents.csv",
        [
            _row("UOF-200", 1, cameras="CAM-A1;CAM-A7"),
            _row("UOF-201", 2, cameras=" CAM-A7 ; ", staff=""),  # spaces and a trailing separator
            _row("UOF-202", 3, cameras="CAM-A1;CAM-NOPE"),
            _row("UOF-203", 4, cameras="CAM-B1"),  # another establishment's camera
            _row("UOF-204", 5),  # no cameras
        ],
    )
    result = CliRunner().invoke(main, ["import-incidents", str(path), "--establishment", "AAA"])
    assert result.exit_code == 1, result.output
    assert "Summary: 3 imported, 0 skipped (already recorded), 2 rejected" in result.output
    assert (
        "line 4 (UOF-202): Unknown camera serial(s) at this establishment: CAM-NOPE. Register the camera first or "
        "correct the serial." in result.output
    )
    assert "line 5 (UOF-203): Unknown camera serial(s) at this establishment: CAM-B1." in result.output
    assert _cameras_of(session, "UOF-200") == {"CAM-A1", "CAM-A7"}
    assert _cameras_of(session, "UOF-201") == {"CAM-A7"}
    assert _cameras_of(session, "UOF-204") == set()
    refs = set(session.exec(select(Incident.reference)).all())
    assert refs == {"UOF-200", "UOF-201", "UOF-204"}  # a rejected row leaves nothing behind
    assert len(session.exec(select(IncidentStaff)).all()) == 2  # UOF-200 and UOF-204 (A001, head)
    assert len(session.exec(select(IncidentCamera)).all()) == 3

    # Corrected and run again: the fixed row goes in, the others are skipped.
    _write(path, [_row("UOF-200", 1, cameras="CAM-A1;CAM-A7"), _row("UOF-202", 3, cameras="CAM-A1")])
    again = CliRunner().invoke(main, ["import-incidents", str(path), "--establishment", "AAA"])
    assert again.exit_code == 0, again.output
    assert "Summary: 1 imported, 1 skipped (already recorded), 0 rejected" in again.output
    assert _cameras_of(session, "UOF-202") == {"CAM-A1"}


def test_help_documents_the_columns() -> None:
    result = CliRunner().invoke(main, ["import-incidents", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "staff, cameras, subject_reference" in text
    assert "cameras as serials, e.g. CAM-A1;CAM-A7" in text


def test_recheck_activation_brings_stored_checks_up_to_the_rules(session, world) -> None:  # type: ignore[no-untyped-def]
    """After a change to the rules (a press is never after the clip's end), stored checks are worked out again;
    reports read the stored rows, so old incidents would keep the old verdicts."""
    from datetime import UTC, datetime, timedelta

    from app.audit.models import AuditEvent
    from app.footage.models import Footage, FootageIncident, FootageStatus
    from app.incident.activation import recompute
    from app.incident.models import ActivationResult, ActivationStatus, Incident, IncidentStaff

    t0 = datetime(2026, 10, 3, 14, 0, tzinfo=UTC)
    inc = Incident(reference="UOF-RE-1", location="A wing", establishment_id=world.est_a, incident_started_at=t0,
                   force_started_at=t0 + timedelta(seconds=10), force_ended_at=t0 + timedelta(seconds=20),
                   incident_ended_at=t0 + timedelta(seconds=60))  # fmt: skip
    session.add(inc)
    session.commit()
    session.add(IncidentStaff(incident_id=inc.id, staff_member_id=world.staff["a1"]))
    clip = Footage(establishment_id=world.est_a, wearer_id=world.staff["a1"], recording_started_at=t0,
                   prerecord_seconds=30, duration_s=15.0, status=FootageStatus.analysed, sha256="e" * 64,
                   size_bytes=1, storage_key="k", original_filename="c.mp4")  # fmt: skip
    session.add(clip)
    session.commit()
    session.add(FootageIncident(footage_id=clip.id, incident_id=inc.id, establishment_id=world.est_a,
                                force_started_at=inc.force_started_at))  # fmt: skip
    recompute(session, inc.id)
    row = session.exec(select(ActivationResult).where(ActivationResult.incident_id == inc.id)).one()
    row.status, row.lag_s = ActivationStatus.after_force, 20.0  # as the rule before put it
    session.commit()

    result = CliRunner().invoke(main, ["recheck-activation", "--establishment", "AAA"])
    assert result.exit_code == 0, result.output
    assert "1 officers' verdicts changed" in result.output
    session.expire_all()
    row = session.exec(select(ActivationResult).where(ActivationResult.incident_id == inc.id)).one()
    assert (row.status, row.lag_s) == (ActivationStatus.late, 5.0)
    entry = session.exec(select(AuditEvent).where(AuditEvent.action == "activation_recheck")).one()
    assert entry.detail["officers_changed"] == 1
