"""GET /api/v1/incidents/{id}/activation: was every involved officer's camera on before force began?"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel

from app.audit.service import record
from app.core.deps import CoordinatorOrGovernor, SessionDep, get_visible
from app.incident.activation import OfficerActivation, incident_activation
from app.incident.models import ActivationStatus, Incident

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class GapOut(BaseModel):
    start: datetime
    end: datetime
    seconds: float


class ClipOut(BaseModel):
    footage_id: int
    original_filename: str
    first_frame_at: datetime
    last_frame_at: datetime
    activated_at: datetime
    activated_logged: bool
    length_s: float
    basis: str  # measured | claimed | unreadable | unknown
    status: str


class OfficerActivationOut(BaseModel):
    staff_member_id: int
    staff_number: str
    name: str
    part: str
    status: ActivationStatus | None
    status_text: str
    compliant: bool
    lag_s: float | None
    activated_at: datetime | None
    caught_by_prerecord: bool
    coverage: float | None
    stopped_early: bool
    gaps: list[GapOut]
    provisional: bool
    computed_at: datetime | None
    clips: list[ClipOut]


class IncidentActivationOut(BaseModel):
    incident_id: int
    reference: str
    force_started_at: datetime
    force_ended_at: datetime
    officers: list[OfficerActivationOut]
    officer_count: int
    compliant_count: int
    all_compliant: bool
    provisional: bool
    summary: str


def officer_out(o: OfficerActivation) -> OfficerActivationOut:
    r = o.result
    return OfficerActivationOut(
        staff_member_id=o.staff_member_id,
        staff_number=o.staff_number,
        name=o.name,
        part=o.part,
        status=r.status if r else None,
        status_text=o.status_text,
        compliant=bool(r and r.compliant),
        lag_s=r.lag_s if r else None,
        activated_at=r.activated_at if r else None,
        caught_by_prerecord=bool(r and r.caught_by_prerecord),
        coverage=r.coverage if r else None,
        stopped_early=bool(r and r.stopped_early),
        gaps=[GapOut(**g) for g in o.gaps],
        provisional=o.provisional,
        computed_at=r.computed_at if r else None,
        clips=[ClipOut(**c.__dict__) for c in o.clips],
    )


@router.get("/{incident_id}/activation", response_model=IncidentActivationOut, responses={404: {}})
def get_activation(
    incident_id: Annotated[int, Path(ge=1, le=2_147_483_647)], principal: CoordinatorOrGovernor, session: SessionDep
) -> IncidentActivationOut:
    """Per officer: when the camera was switched on relative to force, how much of the force window the
    footage covers, the uncovered gaps; and whether every officer was compliant."""
    incident = get_visible(session, principal, Incident, incident_id)
    view = incident_activation(session, incident)
    record(
        session,
        principal.actor,
        "incident_activation_view",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
        detail={"via": "api"},
    )
    return IncidentActivationOut(
        incident_id=incident_id,
        reference=incident.reference,
        force_started_at=incident.force_started_at,
        force_ended_at=incident.force_ended_at,
        officers=[officer_out(o) for o in view.officers],
        officer_count=len(view.officers),
        compliant_count=view.compliant_count,
        all_compliant=view.all_compliant,
        provisional=view.provisional,
        summary=view.summary,
    )
