"""Incidents: create, change, list; who was involved; what happened to whom."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from fastapi import HTTPException
from sqlmodel import Session, col, func, select

from app.core.types import CLOCK_SKEW, utcnow
from app.establishment.models import Camera
from app.footage.models import FootageIncident
from app.incident.models import (
    TIME_NAMES,
    ForceType,
    Incident,
    IncidentCamera,
    IncidentCreate,
    IncidentPublic,
    IncidentStaff,
    IncidentSubject,
    IncidentUpdate,
    InvolvedStaffIn,
    InvolvedStaffPublic,
    SubjectBase,
)
from app.staff.models import StaffMember


class UnknownStaff(HTTPException):
    def __init__(self, numbers: Sequence[str]) -> None:
        self.numbers = list(numbers)
        super().__init__(
            status_code=422,
            detail=f"Unknown staff number(s) at this establishment: {', '.join(numbers)}. "
            "Add the officer first or correct the number.",
        )


class UnknownCamera(HTTPException):
    def __init__(self, serials: Sequence[str]) -> None:
        self.serials = list(serials)
        super().__init__(
            status_code=422,
            detail=f"Unknown camera serial(s) at this establishment: {', '.join(serials)}. "
            "Register the camera first or correct the serial.",
        )


class RepeatedStaff(HTTPException):
    def __init__(self, numbers: Sequence[str]) -> None:
        self.numbers = list(numbers)
        super().__init__(
            status_code=422,
            detail=f"Staff number(s) listed more than once: {', '.join(numbers)}. List each officer once, "
            "with their part.",
        )


# The reference pattern, enforced here for new incidents (API, form, import) rather than on the model, so that
# reading back an older record never fails validation.
REFERENCE = re.compile(r"^[A-Za-z0-9/\-_.]+$")
REFERENCE_RULE = "Incident reference must only include letters, numbers, and / - _ ."


def reference_problem(reference: str) -> str | None:
    return None if not reference or REFERENCE.match(reference) else REFERENCE_RULE


def _validate_force_types(types: Sequence[str]) -> list[str]:
    known = {t.value for t in ForceType}
    bad = [t for t in types if t not in known]
    if bad:
        raise HTTPException(
            status_code=422, detail=f"Unknown force type(s): {', '.join(bad)}. Use any of: {', '.join(sorted(known))}."
        )
    return list(dict.fromkeys(types))


def _staff_by_number(session: Session, establishment_id: int, numbers: Sequence[str]) -> dict[str, StaffMember]:
    if not numbers:
        return {}
    rows = session.exec(
        select(StaffMember).where(
            StaffMember.establishment_id == establishment_id, col(StaffMember.staff_number).in_(list(numbers))
        )
    ).all()
    found = {r.staff_number: r for r in rows}
    missing = [n for n in numbers if n not in found]
    if missing:
        raise UnknownStaff(missing)
    return found


def _set_staff(session: Session, incident: Incident, staff: Sequence[InvolvedStaffIn]) -> None:
    numbers = [s.staff_number for s in staff]
    repeated = sorted({n for n in numbers if numbers.count(n) > 1})
    if repeated:
        raise RepeatedStaff(repeated)
    found = _staff_by_number(session, incident.establishment_id, numbers)
    existing = session.exec(select(IncidentStaff).where(IncidentStaff.incident_id == incident.id)).all()
    for row in existing:
        session.delete(row)
    session.flush()
    for s in staff:
        session.add(IncidentStaff(incident_id=incident.id, staff_member_id=found[s.staff_number].id, part=s.part))  # type: ignore[arg-type]


def future_problem(record: Any, now: datetime | None = None) -> str | None:
    """An incident is recorded after it happened: a time ahead of now (beyond a fast clock's minutes) is a
    slip of the date, and left in it would sit at the top of every list and count as an incident without
    footage. None if every time has happened."""
    limit = (now or utcnow()) + CLOCK_SKEW
    ahead = [n for n in TIME_NAMES if isinstance(t := getattr(record, n, None), datetime) and t > limit]
    if not ahead:
        return None
    return f"{ahead[0]} is in the future: an incident's times must be in the past. Check the date."


def create_incident(session: Session, *, establishment_id: int, data: IncidentCreate, user_id: int | None) -> Incident:
    if problem := reference_problem(data.reference) or future_problem(data):
        raise HTTPException(status_code=422, detail=problem)
    dup = session.exec(
        select(Incident).where(Incident.establishment_id == establishment_id, Incident.reference == data.reference)
    ).first()
    if dup is not None:
        raise HTTPException(status_code=409, detail=f"An incident with reference {data.reference} already exists.")
    fields = data.model_dump(exclude={"staff", "subjects", "camera_serials"})
    fields["force_types"] = _validate_force_types(data.force_types)
    incident = Incident(**fields, establishment_id=establishment_id, created_by_user_id=user_id)
    session.add(incident)
    session.flush()
    _set_staff(session, incident, data.staff)
    for subject in data.subjects:
        session.add(IncidentSubject(**subject.model_dump(), incident_id=incident.id))  # type: ignore[arg-type]
    if data.camera_serials:
        serials = list(dict.fromkeys(data.camera_serials))
        cams = session.exec(
            select(Camera).where(Camera.establishment_id == establishment_id, col(Camera.serial).in_(serials))
        ).all()
        known = {c.serial for c in cams}
        if missing := [s for s in serials if s not in known]:
            raise UnknownCamera(missing)
        for cam in cams:
            session.add(IncidentCamera(incident_id=incident.id, camera_id=cam.id))  # type: ignore[arg-type]
    session.flush()
    from app.core.hooks import incident_changed

    incident_changed(session, incident.id)  # type: ignore[arg-type]  # e.g. the activation check: no footage yet
    return incident


def update_incident(session: Session, incident: Incident, data: IncidentUpdate) -> dict[str, Any]:
    """Apply changes; returns what changed (for the audit entry)."""
    changes: dict[str, Any] = {}
    for name, value in data.model_dump(exclude_unset=True, exclude={"staff", "reason"}).items():
        if name == "force_types" and value is not None:
            value = _validate_force_types(value)
        if value is not None and getattr(incident, name) != value:
            changes[name] = {"from": str(getattr(incident, name)), "to": str(value)}
            setattr(incident, name, value)
    times = [
        incident.incident_started_at,
        incident.force_started_at,
        incident.force_ended_at,
        incident.incident_ended_at,
    ]
    if any(t.tzinfo is None for t in times):
        raise HTTPException(status_code=422, detail="Times must include a time zone offset.")
    if not (times[0] <= times[1] <= times[2] <= times[3]):
        raise HTTPException(
            status_code=422,
            detail="Times must be in order: incident start <= force started <= force ended <= incident end.",
        )
    if (problem := future_problem(incident)) and any(n in changes for n in TIME_NAMES):
        raise HTTPException(status_code=422, detail=problem)
    if data.staff is not None:
        _set_staff(session, incident, data.staff)
        changes["staff"] = [s.model_dump() for s in data.staff]
    session.add(incident)
    session.flush()
    if "force_started_at" in changes:
        _copy_force_start_to_links(session, incident)
    return changes


def _copy_force_start_to_links(session: Session, incident: Incident) -> None:
    """The incident's links to footage carry its force start for the reports: move it with the incident, in
    this transaction. (The activation checks carry it too; `activation.recompute` rewrites them.)"""
    session.execute(
        sa.update(FootageIncident)
        .where(col(FootageIncident.incident_id) == incident.id)
        .values(force_started_at=incident.force_started_at)
        .execution_options(synchronize_session="fetch")
    )


def involved_staff(session: Session, incident_id: int) -> list[tuple[StaffMember, str]]:
    rows = session.exec(
        select(StaffMember, IncidentStaff.part)
        .join(IncidentStaff, col(IncidentStaff.staff_member_id) == StaffMember.id)
        .where(IncidentStaff.incident_id == incident_id)
        .order_by(StaffMember.name)
    ).all()
    return [(s, part) for s, part in rows]


def subjects(session: Session, incident_id: int) -> list[IncidentSubject]:
    return list(session.exec(select(IncidentSubject).where(IncidentSubject.incident_id == incident_id)).all())


def linked_footage_ids(session: Session, incident_id: int) -> list[int]:
    return list(
        session.exec(select(FootageIncident.footage_id).where(FootageIncident.incident_id == incident_id)).all()
    )


def to_public(session: Session, incident: Incident) -> IncidentPublic:
    assert incident.id is not None
    return IncidentPublic(
        **incident.model_dump(),
        staff=[
            InvolvedStaffPublic(staff_number=s.staff_number, name=s.name, part=p)
            for s, p in involved_staff(session, incident.id)
        ],
        subjects=[SubjectBase.model_validate(x, from_attributes=True) for x in subjects(session, incident.id)],
        footage_ids=linked_footage_ids(session, incident.id),
    )


def list_incidents(
    session: Session,
    *,
    establishment_id: int | None,
    since: datetime | None = None,
    until: datetime | None = None,
    location: str | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Incident], int]:
    stmt = select(Incident)
    if establishment_id is not None:
        stmt = stmt.where(Incident.establishment_id == establishment_id)
    if since:
        stmt = stmt.where(col(Incident.force_started_at) >= since)
    if until:
        stmt = stmt.where(col(Incident.force_started_at) < until)
    if location:
        stmt = stmt.where(Incident.location == location)
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(col(Incident.reference).ilike(like) | col(Incident.location).ilike(like))
    total = int(session.exec(select(func.count()).select_from(stmt.subquery())).one())
    rows = session.exec(stmt.order_by(col(Incident.force_started_at).desc()).offset(offset).limit(limit)).all()
    return list(rows), total


def locations(session: Session, establishment_id: int | None) -> list[str]:
    stmt = select(Incident.location).distinct()
    if establishment_id is not None:
        stmt = stmt.where(Incident.establishment_id == establishment_id)
    return sorted(session.exec(stmt).all())
