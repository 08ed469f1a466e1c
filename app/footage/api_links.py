"""Links between footage and incidents, and suggested links (JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlmodel import Session

from app.audit.service import record
from app.core.deps import Coordinator, CoordinatorOrGovernor, Principal, SessionDep, get_visible
from app.footage import linking
from app.footage.models import Footage
from app.incident.models import Incident

router = APIRouter(prefix="/api/v1/incidents", tags=["footage links"])

IncidentId = Annotated[int, Path(ge=1)]
FootageId = Annotated[int, Path(ge=1)]


class LinkIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


class LinkResult(BaseModel):
    incident_id: int
    footage_id: int
    linked: bool
    changed: bool = Field(description="False when it already was in that state")


class SuggestionPublic(BaseModel):
    footage_id: int
    original_filename: str
    wearer_staff_number: str | None
    wearer_name: str | None
    recording_started_at: datetime
    duration_s: float | None
    why: str
    overlap_s: float | None = Field(description="Seconds of the incident window covered; null while length unknown")


class DismissIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500)


def _pair(session: Session, principal: Principal, incident_id: int, footage_id: int) -> tuple[Incident, Footage]:
    incident = get_visible(session, principal, Incident, incident_id)
    footage = get_visible(session, principal, Footage, footage_id)
    return incident, footage


def _refusal(exc: linking.LinkRefused) -> HTTPException:
    return HTTPException(status_code=exc.status, detail=exc.message)


@router.put("/{incident_id}/footage/{footage_id}", response_model=LinkResult, responses={404: {}, 409: {}, 422: {}})
def put_link(
    incident_id: IncidentId,
    footage_id: FootageId,
    principal: Coordinator,
    session: SessionDep,
    data: LinkIn | None = None,
) -> LinkResult:
    """Link footage to an incident (idempotent). Audited, with what made the link unlikely if anything did (a
    clip recorded away from the incident's times, or worn by an officer not recorded as involved): the pages ask
    a person to confirm such a link; a program's is kept with its warnings."""
    incident, footage = _pair(session, principal, incident_id, footage_id)
    try:
        changed = linking.make_link(
            session,
            footage,
            incident,
            actor=principal.actor,
            reason=data.reason if data else None,
            warnings=linking.link_warnings(session, footage, incident),
        )
    except linking.LinkRefused as exc:
        raise _refusal(exc) from None
    return LinkResult(incident_id=incident_id, footage_id=footage_id, linked=True, changed=changed)


@router.delete("/{incident_id}/footage/{footage_id}", response_model=LinkResult, responses={404: {}, 422: {}})
def delete_link(
    incident_id: IncidentId,
    footage_id: FootageId,
    principal: Coordinator,
    session: SessionDep,
    reason: Annotated[str, Query(min_length=3, max_length=500, description="Why the link is removed")],
) -> LinkResult:
    """Unlink footage from an incident. Needs a reason; audited."""
    incident, footage = _pair(session, principal, incident_id, footage_id)
    changed = linking.remove_link(session, footage, incident, actor=principal.actor, reason=reason.strip())
    return LinkResult(incident_id=incident_id, footage_id=footage_id, linked=False, changed=changed)


def suggestion_public(s: linking.Suggestion) -> SuggestionPublic:
    return SuggestionPublic(
        footage_id=s.footage.id,  # type: ignore[arg-type]
        original_filename=s.footage.original_filename,
        wearer_staff_number=s.wearer.staff_number if s.wearer else None,
        wearer_name=s.wearer.name if s.wearer else None,
        recording_started_at=s.footage.recording_started_at,
        duration_s=s.footage.duration_s if s.footage.duration_s is not None else s.footage.claimed_duration_s,
        why=s.why,
        overlap_s=s.overlap_s,
    )


@router.get("/{incident_id}/footage-suggestions", response_model=list[SuggestionPublic], responses={404: {}})
def get_suggestions(
    incident_id: IncidentId,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    margin_minutes: Annotated[
        int | None, Query(ge=0, le=24 * 60, description="Default: BWV_LINK_MARGIN_MINUTES")
    ] = None,
) -> list[SuggestionPublic]:
    """Footage worn by an involved officer (or from a camera named on the incident) overlapping the incident
    window widened by the margin, not yet linked and not dismissed."""
    incident = get_visible(session, principal, Incident, incident_id)
    record(
        session,
        principal.actor,
        "footage_suggestions_view",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
    )
    return [suggestion_public(s) for s in linking.suggestions(session, incident, margin_minutes=margin_minutes)]


@router.post(
    "/{incident_id}/footage-suggestions/{footage_id}/accept",
    response_model=LinkResult,
    responses={404: {}, 409: {}, 422: {}},
)
def accept_suggestion(
    incident_id: IncidentId, footage_id: FootageId, principal: Coordinator, session: SessionDep
) -> LinkResult:
    incident, footage = _pair(session, principal, incident_id, footage_id)
    try:
        changed = linking.make_link(session, footage, incident, actor=principal.actor, source="suggestion")
    except linking.LinkRefused as exc:
        raise _refusal(exc) from None
    return LinkResult(incident_id=incident_id, footage_id=footage_id, linked=True, changed=changed)


@router.post(
    "/{incident_id}/footage-suggestions/{footage_id}/dismiss",
    response_model=LinkResult,
    responses={404: {}, 409: {}, 422: {}},
)
def dismiss_suggestion(
    incident_id: IncidentId,
    footage_id: FootageId,
    principal: Coordinator,
    session: SessionDep,
    data: DismissIn | None = None,
) -> LinkResult:
    incident, footage = _pair(session, principal, incident_id, footage_id)
    try:
        changed = linking.dismiss(
            session, footage, incident, actor=principal.actor, reason=data.reason if data else None
        )
    except linking.LinkRefused as exc:
        raise _refusal(exc) from None
    return LinkResult(incident_id=incident_id, footage_id=footage_id, linked=False, changed=changed)
