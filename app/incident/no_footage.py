"""Why an involved officer has no footage of an incident: recorded by a coordinator, shown wherever the
missing footage is (the incident, its suggestions, the list of officers with no footage, the review queue).

An explanation never changes the figures: the officer's activation check stays "no footage" and counts as
such in the reports. It tells the governor why, and shows the coordinator which gaps are already followed up.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import Session, col, select

from app.core.types import utcnow
from app.incident.models import Incident, NoFootageExplanation, NoFootageReason
from app.staff.models import StaffMember

NOTE_MAX = 500


class ExplanationRejected(Exception):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def check(reason: str, note: str) -> tuple[NoFootageReason | None, dict[str, str]]:
    """The reason chosen and the problems with what was sent (an "other" reason needs a note)."""
    errors: dict[str, str] = {}
    chosen = NoFootageReason(reason) if reason in {r.value for r in NoFootageReason} else None
    if chosen is None:
        errors["reason"] = "Choose why there is no footage"
    note = note.strip()
    if chosen is NoFootageReason.other and len(note) < 3:
        errors["note"] = "Say what the other reason is"
    elif len(note) > NOTE_MAX:
        errors["note"] = f"The note must be {NOTE_MAX} characters or fewer (it has {len(note):,})"
    return chosen, errors


def record(
    session: Session, incident: Incident, officer: StaffMember, reason: str, note: str, *, user_id: int | None
) -> tuple[NoFootageExplanation, dict[str, Any] | None]:
    """Record (or change) why `officer` has no footage of `incident`; returns it and what it replaced."""
    chosen, errors = check(reason, note)
    if errors or chosen is None:
        raise ExplanationRejected(errors)
    assert incident.id is not None and officer.id is not None
    row = session.get(NoFootageExplanation, (incident.id, officer.id))
    before = None if row is None else {"reason": row.reason.value, "note": row.note}
    if row is None:
        row = NoFootageExplanation(
            incident_id=incident.id,
            staff_member_id=officer.id,
            establishment_id=incident.establishment_id,
            reason=chosen,
        )
    row.reason, row.note, row.recorded_by_user_id, row.recorded_at = chosen, note.strip(), user_id, utcnow()
    session.add(row)
    session.flush()
    return row, before


def for_incident(session: Session, incident_id: int) -> dict[int, NoFootageExplanation]:
    """The incident's explanations by officer (staff member id)."""
    rows = session.exec(select(NoFootageExplanation).where(NoFootageExplanation.incident_id == incident_id)).all()
    return {r.staff_member_id: r for r in rows}


CHUNK = 10_000


def for_incidents(session: Session, incident_ids: Iterable[int]) -> dict[tuple[int, int], NoFootageExplanation]:
    """Explanations of several incidents, by (incident id, staff member id)."""
    ids = list(set(incident_ids))
    if not ids:
        return {}
    out: dict[tuple[int, int], NoFootageExplanation] = {}
    for start in range(0, len(ids), CHUNK):  # PostgreSQL takes at most 65,535 parameters a statement
        chunk = ids[start : start + CHUNK]
        for r in session.exec(select(NoFootageExplanation).where(col(NoFootageExplanation.incident_id).in_(chunk))):
            out[(r.incident_id, r.staff_member_id)] = r
    return out
