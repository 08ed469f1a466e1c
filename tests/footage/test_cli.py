"""`bwv-review import DIR`, `bwv-review verify` and `bwv-review import-incidents FILE.csv`."""

from __future__ import annotations

import csv
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import select

from app.audit.models import AuditEvent
from app.cli import main
from app.footage.models import Footage, FootageIncident
from app.incident.models import Incident, IncidentStaff
from tests.footage.conftest import incoming_files, mp4_bytes

pytestmark = pytest.mark.usefixtures("storage_root")
START = datetime.now(UTC) - timedelta(days=1)


def _export(folder: Path, kind: str = "csv") -> list[dict[str, str]]:
    folder.mkdir()
    rows = []
    for i in range(3):
        name = f"CAM-A1_{i:04d}.MP4"
        (folder / name).write_bytes(mp4_bytes(40_000 + i, seed=100 + i))
        rows.append(
            {
                "filename": name,
                "camera_serial": "CAM-A1",
                "staff_number": "A001" if i != 1 else "A002",
                "recording_started_at": (START + timedelta(minutes=i)).isoformat(),
                "prerecord_seconds": "30",
                "activated_at": (START + timedelta(minutes=i, seconds=30)).isoformat(),
                "incident_reference": "",
            }
        )
    # Bad rows: not a video, unknown officer, missing file, no time zone; and a video with no manifest row.
    (folder / "notes.mp4").write_bytes(b"these are not video bytes" * 100)
    rows.append({**rows[0], "filename": "notes.mp4"})
    (folder / "other.mp4").write_bytes(mp4_bytes(1000, seed=7))
    rows.append({**rows[0], "filename": "other.mp4", "staff_number": "X999"})
    rows.append({**rows[0], "filename": "missing.mp4"})
    (folder / "naive.mp4").write_bytes(mp4_bytes(1000, seed=8))
    rows.append({**rows[0], "filename": "naive.mp4", "recording_started_at": "2026-10-01T10:00:00", "activated_at": ""})
    (folder / "stray.mp4").write_bytes(mp4_bytes(1000, seed=9))
    if kind == "csv":
        with open(folder / "manifest.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        (folder / "export.json").write_text(json.dumps({"files": rows}))
    return rows


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_import_folder_is_safe_to_rerun(world, session, tmp_path, kind) -> None:
    folder = tmp_path / "dock"
    _export(folder, kind)
    runner = CliRunner()
    result = runner.invoke(main, ["import", str(folder), "--establishment", "AAA"])
    assert result.exit_code == 1, result.output
    assert (
        "Summary: 3 imported, 0 skipped (already imported, or deleted under the retention policy), 5 rejected"
    ) in result.output
    assert "not a video" in result.output
    assert "Unknown staff number 'X999'" in result.output
    assert "file not found" in result.output
    assert "no time zone" in result.output
    assert "stray.mp4" in result.output and "not listed in the manifest" in result.output
    assert "[1/7]" in result.output
    assert len(session.exec(select(Footage)).all()) == 3
    assert incoming_files() == []
    # The source files are untouched (not made read-only, not moved).
    assert os.access(folder / "CAM-A1_0000.MP4", os.W_OK)
    again = runner.invoke(main, ["import", str(folder), "--establishment", "AAA"])
    assert (
        "Summary: 0 imported, 3 skipped (already imported, or deleted under the retention policy), 5 rejected"
    ) in again.output
    assert len(session.exec(select(Footage)).all()) == 3


def test_an_export_sent_again_does_not_bring_back_what_retention_deleted(world, session, tmp_path) -> None:
    """A dock that sends its export again: clips retention has since deleted are skipped (and say so), not
    stored back; `--restore-purged` stores them again, as new clips."""
    from app.core.db import unit_of_work
    from app.footage.retention import purge_due

    folder = tmp_path / "dock"
    _export(folder)
    runner = CliRunner()
    runner.invoke(main, ["import", str(folder), "--establishment", "AAA"])
    first = session.exec(select(Footage).where(Footage.original_filename == "CAM-A1_0000.MP4")).one()
    with unit_of_work() as s:
        f = s.get(Footage, first.id)
        f.uploaded_at = datetime.now(UTC) - timedelta(days=40)  # type: ignore[union-attr]
        s.add(f)
    with unit_of_work() as s:
        assert first.id in purge_due(s).purged
    again = runner.invoke(main, ["import", str(folder), "--establishment", "AAA"])
    assert f"was footage {first.id}, deleted under the retention policy on" in again.output, again.output
    assert "Summary: 0 imported, 3 skipped" in again.output
    said = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_upload_refused")).one()
    assert said.object_id == str(first.id) and said.detail["via"] == "import"
    assert len(session.exec(select(Footage)).all()) == 3
    restored = runner.invoke(main, ["import", str(folder), "--establishment", "AAA", "--restore-purged"])
    assert "Summary: 1 imported, 2 skipped" in restored.output, restored.output
    session.expire_all()
    assert len(session.exec(select(Footage).where(Footage.original_filename == "CAM-A1_0000.MP4")).all()) == 2


def test_verify_command(world, session, tmp_path, storage_root) -> None:
    folder = tmp_path / "dock"
    _export(folder)
    runner = CliRunner()
    runner.invoke(main, ["import", str(folder), "--establishment", "AAA"])
    ok = runner.invoke(main, ["verify"])
    assert ok.exit_code == 0, ok.output
    assert "checked 3 stored clips: 3 intact, 0 with problems" in ok.output
    f = session.exec(select(Footage)).first()
    assert f is not None
    p = storage_root / f.storage_key
    os.chmod(p, 0o644)
    p.write_bytes(b"replaced")
    bad = runner.invoke(main, ["verify"])
    assert bad.exit_code == 1
    assert f"footage {f.id}: MISMATCH" in bad.output


def test_import_incidents(world, session, tmp_path) -> None:
    path = tmp_path / "incidents.csv"
    header = (
        "reference,location,incident_started_at,force_started_at,force_ended_at,incident_ended_at,planned,"
        "force_types,description,staff,subject_reference,ethnicity,age_band,sex,disability"
    )
    t = "2026-10-0{d}T1{h}:00:00+01:00"
    lines = [
        header,
        f"UOF-100,A wing,{t.format(d=1, h=0)},{t.format(d=1, h=1)},{t.format(d=1, h=2)},{t.format(d=1, h=3)},no,"
        "guiding_hold;handcuffs,Refused to return to cell,A001:head;A002:legs,A1234BC,White British,21-24,Male,",
        f"UOF-101,Yard,{t.format(d=2, h=0)},{t.format(d=2, h=1)},{t.format(d=2, h=2)},{t.format(d=2, h=3)},yes,"
        "pava,,A001:lead,,,,,",
        f"UOF-102,Yard,2026-10-03T10:00:00,{t.format(d=3, h=1)},{t.format(d=3, h=2)},{t.format(d=3, h=3)},no,,,,,,,,",
        f"UOF-103,Yard,{t.format(d=4, h=3)},{t.format(d=4, h=1)},{t.format(d=4, h=2)},{t.format(d=4, h=0)},no,,,,,,,,",
        f"UOF-104,Yard,{t.format(d=5, h=0)},{t.format(d=5, h=1)},{t.format(d=5, h=2)},{t.format(d=5, h=3)},no,,,"
        "Z999,,,,,",
        f"UOF-105,Yard,{t.format(d=6, h=0)},{t.format(d=6, h=1)},{t.format(d=6, h=2)},{t.format(d=6, h=3)},no,"
        "kicking,,,,,,,",
    ]
    path.write_text("\n".join(lines) + "\n")
    runner = CliRunner()
    result = runner.invoke(main, ["import-incidents", str(path), "--establishment", "AAA"])
    assert result.exit_code == 1, result.output
    assert "Summary: 2 imported, 0 skipped (already recorded), 4 rejected" in result.output
    assert "no time zone" in result.output
    assert "in order" in result.output
    assert "Z999" in result.output
    assert "kicking" in result.output
    inc = session.exec(select(Incident).where(Incident.reference == "UOF-100")).one()
    assert inc.force_types == ["guiding_hold", "handcuffs"]
    parts = {s.part for s in session.exec(select(IncidentStaff).where(IncidentStaff.incident_id == inc.id)).all()}
    assert parts == {"head", "legs"}
    again = runner.invoke(main, ["import-incidents", str(path), "--establishment", "AAA"])
    assert "Summary: 0 imported, 2 skipped (already recorded), 4 rejected" in again.output
    assert len(session.exec(select(Incident)).all()) == 2
    assert session.exec(select(FootageIncident)).all() == []


def test_commands_run_in_a_fresh_process(sqlite_engine, tmp_path) -> None:
    """As an operator runs them: a new interpreter that has imported nothing else."""
    import subprocess
    import sys

    env = {
        **os.environ,
        "DATABASE_URL": str(sqlite_engine.url),
        "BWV_DATA_DIR": str(tmp_path / "fresh"),
        "BWV_RELAY_THREAD": "false",
    }
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "verify"], env=env, capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "checked 0 stored clips" in r.stdout
    csv_path = tmp_path / "none.csv"
    csv_path.write_text("reference,location\n")
    r = subprocess.run(
        [sys.executable, "-m", "app.cli", "import-incidents", str(csv_path), "--establishment", "ZZZ"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and "no establishment with code ZZZ" in r.stderr, r.stderr[-2000:]
