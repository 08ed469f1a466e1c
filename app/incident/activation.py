"""The activation check, stored: was each involved officer's camera on before force began, and did it
keep recording until force ended?

The judgement itself is the pure code in `workers.video.activation` (no database, no OpenCV). This module
feeds it each officer's clips linked to the incident and stores one `ActivationResult` row per officer.
Recomputed whenever the incident's times or officers change, a clip is linked or unlinked, and when a
clip's analysis finishes (the measured duration replaces the claimed one).

Which length a clip counts for (``basis``):
- ``measured``: analysis finished; what actually decodes (a truncated file covers less than it claims).
- ``claimed``: not analysed yet; the length the uploader's metadata states, provisional.
- ``unreadable``: analysis failed; nothing decodes, so the clip covers nothing.
- ``unknown``: not analysed and no length stated; counted as covering nothing until analysed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from app.core.hooks import on_footage_linked, on_incident_changed
from app.core.types import utcnow
from app.footage.models import Footage, FootageIncident, FootageStatus
from app.incident.models import ActivationResult, ActivationStatus, Incident, IncidentStaff
from app.staff.models import StaffMember
from workers.video.activation import Clip, ForceWindow, check_activation

STATUS_TEXT = {
    "before_force": "Switched on before force",
    "late": "Switched on late, while force was being used",
    "after_force": "Switched on after force ended",
    "no_footage": "No footage",
}


def clip_length(footage: Footage) -> tuple[float, str]:
    """The length a clip counts for in the check, and why (see the module docstring)."""
    if footage.status == FootageStatus.analysed and footage.duration_s is not None:
        return float(footage.duration_s), "measured"
    if footage.status == FootageStatus.failed:
        return 0.0, "unreadable"
    if footage.status == FootageStatus.purged and footage.duration_s is not None:
        return float(footage.duration_s), "measured"
    if footage.claimed_duration_s is not None:
        return float(footage.claimed_duration_s), "claimed"
    return 0.0, "unknown"


def _clip(footage: Footage) -> Clip:
    length, _ = clip_length(footage)
    return Clip(
        start=footage.recording_started_at,
        measured_duration_s=length,
        activated_at=footage.activated_at,
        prerecord_s=float(footage.prerecord_seconds or 0.0),
        footage_id=footage.id,
    )


def linked_clips(session: Session, incident_id: int) -> list[Footage]:
    return list(
        session.exec(
            select(Footage)
            .join(FootageIncident, col(FootageIncident.footage_id) == Footage.id)
            .where(FootageIncident.incident_id == incident_id)
            .order_by(col(Footage.recording_started_at), col(Footage.id))
        ).all()
    )


def recompute(session: Session, incident_id: int) -> list[ActivationResult]:
    """Replace the incident's activation rows with a fresh check of every involved officer (caller's
    transaction; flushes)."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        return []
    window = ForceWindow(incident.force_started_at, incident.force_ended_at)
    officers = list(
        session.exec(select(IncidentStaff.staff_member_id).where(IncidentStaff.incident_id == incident_id)).all()
    )
    clips = linked_clips(session, incident_id)
    for old in session.exec(select(ActivationResult).where(ActivationResult.incident_id == incident_id)).all():
        session.delete(old)
    session.flush()
    now = utcnow()
    rows: list[ActivationResult] = []
    for staff_id in officers:
        mine = [_clip(f) for f in clips if f.wearer_id == staff_id]
        result = check_activation(mine, window, officer=staff_id)
        activated_at = incident.force_started_at + timedelta(seconds=result.lag_s) if result.lag_s is not None else None
        row = ActivationResult(
            incident_id=incident_id,
            staff_member_id=staff_id,
            establishment_id=incident.establishment_id,
            force_started_at=incident.force_started_at,
            status=ActivationStatus(result.status),
            lag_s=result.lag_s,
            activated_at=activated_at,
            caught_by_prerecord=result.caught_by_prerecord,
            coverage=result.coverage,
            stopped_early=result.stopped_early,
            gaps=[
                {"start": a.isoformat(), "end": b.isoformat(), "seconds": round((b - a).total_seconds(), 3)}
                for a, b in result.gaps
            ],
            compliant=result.compliant,
            computed_at=now,
        )
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def recompute_for_footage(session: Session, footage_id: int) -> list[int]:
    """After a clip's analysis (its measured length may differ from the claim): recheck its incidents."""
    incident_ids = list(
        session.exec(select(FootageIncident.incident_id).where(FootageIncident.footage_id == footage_id)).all()
    )
    for incident_id in incident_ids:
        recompute(session, incident_id)
    return incident_ids


@on_incident_changed
def _on_incident_changed(session: Session, incident_id: int) -> None:
    recompute(session, incident_id)


@on_footage_linked
def _on_footage_linked(session: Session, footage_id: int, incident_id: int) -> None:
    recompute(session, incident_id)


# ---------------------------------------------------------------- reading, for pages and the API
@dataclass
class ClipUsed:
    footage_id: int
    original_filename: str
    first_frame_at: datetime
    last_frame_at: datetime
    activated_at: datetime
    activated_logged: bool
    length_s: float
    basis: str
    status: str


@dataclass
class OfficerActivation:
    staff_member_id: int
    staff_number: str
    name: str
    part: str
    result: ActivationResult | None
    clips: list[ClipUsed] = field(default_factory=list)

    @property
    def status_text(self) -> str:
        return STATUS_TEXT.get(self.result.status, "") if self.result else "Not checked yet"

    @property
    def provisional(self) -> bool:
        """True while a clip counts with a claimed (not measured) length."""
        return any(c.basis in ("claimed", "unknown") for c in self.clips)

    @property
    def gaps(self) -> list[dict[str, Any]]:
        if not self.result:
            return []
        return [
            {"start": datetime.fromisoformat(g["start"]), "end": datetime.fromisoformat(g["end"]),
             "seconds": float(g.get("seconds", 0.0))}
            for g in self.result.gaps
        ]  # fmt: skip


@dataclass
class IncidentActivation:
    incident: Incident
    officers: list[OfficerActivation]

    @property
    def checked(self) -> list[OfficerActivation]:
        return [o for o in self.officers if o.result is not None]

    @property
    def compliant_count(self) -> int:
        return sum(1 for o in self.officers if o.result is not None and o.result.compliant)

    @property
    def all_compliant(self) -> bool:
        return bool(self.officers) and self.compliant_count == len(self.officers)

    @property
    def provisional(self) -> bool:
        return any(o.provisional for o in self.officers)

    @property
    def summary(self) -> str:
        n = len(self.officers)
        if n == 0:
            return "No officers are recorded for this incident."
        if self.all_compliant:
            return "Every officer compliant: each camera was on before force began and recorded until it ended."
        return f"{self.compliant_count} of {n} officers compliant."


def _clip_used(f: Footage) -> ClipUsed:
    c = _clip(f)
    length, basis = clip_length(f)
    assert f.id is not None
    return ClipUsed(
        footage_id=f.id,
        original_filename=f.original_filename,
        first_frame_at=c.start,
        last_frame_at=c.end,
        activated_at=c.activation,
        activated_logged=f.activated_at is not None,
        length_s=length,
        basis=basis,
        status=str(f.status),
    )


def incident_activation(session: Session, incident: Incident) -> IncidentActivation:
    """Every involved officer with their stored result and the clips it was judged on.

    If the check has never run for this incident (e.g. recorded without footage), it is computed now.
    """
    assert incident.id is not None
    staff = session.exec(
        select(StaffMember, IncidentStaff.part)
        .join(IncidentStaff, col(IncidentStaff.staff_member_id) == StaffMember.id)
        .where(IncidentStaff.incident_id == incident.id)
        .order_by(StaffMember.name)
    ).all()
    stored = {
        r.staff_member_id: r
        for r in session.exec(select(ActivationResult).where(ActivationResult.incident_id == incident.id)).all()
    }
    if any(s.id not in stored for s, _ in staff):
        stored = {r.staff_member_id: r for r in recompute(session, incident.id)}
    clips = linked_clips(session, incident.id)
    officers = [
        OfficerActivation(
            staff_member_id=s.id,  # type: ignore[arg-type]
            staff_number=s.staff_number,
            name=s.name,
            part=part,
            result=stored.get(s.id),  # type: ignore[arg-type]
            clips=[_clip_used(f) for f in clips if f.wearer_id == s.id],
        )
        for s, part in staff
    ]
    return IncidentActivation(incident=incident, officers=officers)
