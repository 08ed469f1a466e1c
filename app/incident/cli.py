"""`bwv-review import-incidents FILE.csv`: incidents from a spreadsheet export, safe to run again."""

from __future__ import annotations

import csv
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

COLUMNS = (
    "reference, location, incident_started_at, force_started_at, force_ended_at, incident_ended_at, planned, "
    "force_types, description, staff, cameras, subject_reference, ethnicity, age_band, sex, disability"
)
TIME_COLUMNS = ("incident_started_at", "force_started_at", "force_ended_at", "incident_ended_at")


@dataclass
class IncidentImportSummary:
    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)


class RowError(Exception):
    pass


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "y", "planned")


def split_list(value: str) -> list[str]:
    """A `;`-separated cell (force types, camera serials) as a list, blanks dropped."""
    return [item.strip() for item in value.split(";") if item.strip()]


def row_to_incident(row: dict[str, str]) -> Any:
    from pydantic import ValidationError

    from app.footage.upload import parse_time
    from app.incident.models import IncidentCreate, InvolvedStaffIn, SubjectBase

    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    missing = [c for c in ("reference", "location", *TIME_COLUMNS) if not get(c)]
    if missing:
        raise RowError(f"missing {', '.join(missing)}")
    times: dict[str, Any] = {}
    for name in TIME_COLUMNS:
        try:
            times[name] = parse_time(name, get(name))
        except Exception as exc:  # HTTPException with a readable message
            raise RowError(str(getattr(exc, "detail", exc))) from None
    staff = []
    for item in filter(None, (s.strip() for s in get("staff").split(";"))):
        number, _, part = item.partition(":")
        staff.append(InvolvedStaffIn(staff_number=number.strip(), part=part.strip()))
    subjects = []
    if get("subject_reference"):
        subjects.append(
            SubjectBase(
                reference=get("subject_reference"),
                ethnicity=get("ethnicity") or None,
                age_band=get("age_band") or None,
                sex=get("sex") or None,
                disability=get("disability") or None,
            )
        )
    try:
        return IncidentCreate(
            reference=get("reference"),
            location=get("location"),
            planned=_bool(get("planned")),
            force_types=split_list(get("force_types")),
            description=get("description"),
            staff=staff,
            subjects=subjects,
            camera_serials=split_list(get("cameras")),
            **times,
        )
    except ValidationError as exc:
        msgs = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()))
            msgs.append(f"{where + ': ' if where else ''}{str(err['msg']).removeprefix('Value error, ')}")
        raise RowError("; ".join(msgs)) from None


def import_incidents(path: Path, *, establishment_id: int, echo: Any = click.echo) -> IncidentImportSummary:
    from fastapi import HTTPException
    from sqlmodel import select

    from app.audit.service import Actor, record
    from app.core.db import unit_of_work
    from app.core.hooks import incident_changed
    from app.incident.models import Incident
    from app.incident.service import create_incident

    actor = Actor(username="cli-import", role="system")
    summary = IncidentImportSummary()
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    for line, raw in enumerate(rows, start=2):
        row = {(k or "").strip().lower(): (v or "") for k, v in raw.items()}
        ref = (row.get("reference") or "").strip() or f"line {line}"
        try:
            data = row_to_incident(row)
            with unit_of_work() as session:
                exists = session.exec(
                    select(Incident.id).where(
                        Incident.establishment_id == establishment_id, Incident.reference == data.reference
                    )
                ).first()
                if exists is not None:
                    summary.skipped.append(ref)
                    echo(f"line {line} {ref}: skipped (already recorded)")
                    continue
                incident = create_incident(session, establishment_id=establishment_id, data=data, user_id=None)
                record(
                    session,
                    actor,
                    "incident_create",
                    object_type="incident",
                    object_id=incident.id,
                    establishment_id=establishment_id,
                    detail={"reference": incident.reference, "via": "import", "file": path.name},
                )
                incident_changed(session, incident.id)  # type: ignore[arg-type]
            summary.imported.append(ref)
            echo(f"line {line} {ref}: imported")
        except RowError as exc:
            summary.rejected.append((line, ref, str(exc)))
            echo(f"line {line} {ref}: REJECTED: {exc}")
        except HTTPException as exc:
            summary.rejected.append((line, ref, str(exc.detail)))
            echo(f"line {line} {ref}: REJECTED: {exc.detail}")
    return summary


@click.command("import-incidents")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--establishment", "code", default=None, help="Establishment code (needed if there are several)")
def import_incidents_command(file: Path, code: str | None) -> None:
    """Import incidents from a CSV file. Existing references are skipped."""
    from app.footage.cli import establishment_by_code

    est = establishment_by_code(code)
    summary = import_incidents(file, establishment_id=est)
    click.echo("")
    click.echo(
        f"Summary: {len(summary.imported)} imported, {len(summary.skipped)} skipped (already recorded), "
        f"{len(summary.rejected)} rejected"
    )
    for line, ref, reason in summary.rejected:
        click.echo(f"  line {line} ({ref}): {reason}")
    if summary.rejected:
        sys.exit(1)


import_incidents_command.help = (
    "Import incidents from a CSV file, safe to run again (existing references are skipped). Columns: "
    + COLUMNS
    + ". Times are ISO 8601 with an offset; force_types, staff and cameras are ;-separated (staff as "
    "number:part, e.g. A001:head;A002:left arm; cameras as serials, e.g. CAM-A1;CAM-A7: footage from a camera "
    "named here is suggested for the incident whoever wore it). A row naming an unknown officer or camera is "
    "rejected with the reason; the other rows are imported."
)


def recheck_activation(establishment_id: int | None = None, *, batch: int = 200) -> tuple[int, int]:
    """Work out every incident's activation check again from its clips as they are now (after a change to the
    rules, say); returns (incidents, officers whose verdict or lag changed). One transaction a batch, so a long
    run holds no lock for long; audited once at the end."""
    from sqlmodel import col, select

    from app.audit.service import SYSTEM, record
    from app.core.db import unit_of_work
    from app.incident.activation import recompute
    from app.incident.models import ActivationResult, Incident

    seen = changed = 0
    last_id = 0
    while True:
        with unit_of_work() as session:
            q = select(Incident.id).where(col(Incident.id) > last_id).order_by(col(Incident.id)).limit(batch)
            if establishment_id is not None:
                q = q.where(Incident.establishment_id == establishment_id)
            ids = [i for i in session.exec(q).all() if i is not None]
            if not ids:
                break
            for incident_id in ids:
                rows = session.exec(select(ActivationResult).where(ActivationResult.incident_id == incident_id))
                before = {r.staff_member_id: (r.status, r.lag_s) for r in rows}
                after = {r.staff_member_id: (r.status, r.lag_s) for r in recompute(session, incident_id)}
                changed += sum(1 for k, v in after.items() if before.get(k) != v)
            seen += len(ids)
            last_id = ids[-1]
    with unit_of_work() as session:
        detail = {"incidents": seen, "officers_changed": changed, "establishment_id": establishment_id}
        record(session, SYSTEM, "activation_recheck", establishment_id=establishment_id, detail=detail)
    return seen, changed


@click.command("recheck-activation")
@click.option("--establishment", "code", default=None, help="Establishment code (default: every establishment)")
def recheck_activation_command(code: str | None) -> None:
    """Work out every incident's camera activation check again from its clips (after the rules change)."""
    from app.footage.cli import establishment_by_code

    est = establishment_by_code(code) if code else None
    seen, changed = recheck_activation(est)
    click.echo(f"{seen} incidents checked again; {changed} officers' verdicts changed")


commands = [import_incidents_command, recheck_activation_command]
