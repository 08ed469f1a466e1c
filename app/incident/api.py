"""Incident JSON routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel

from app.audit.service import record
from app.core.deps import Coordinator, CoordinatorOrGovernor, SessionDep, get_visible, scope_establishment
from app.core.hooks import incident_changed
from app.core.types import Instant
from app.incident import service
from app.incident.models import Incident, IncidentCreate, IncidentPublic, IncidentUpdate

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])


class IncidentPage(BaseModel):
    total: int
    items: list[IncidentPublic]


@router.post("", response_model=IncidentPublic, status_code=201, responses={409: {}, 422: {}})
def create_incident(
    data: IncidentCreate,
    principal: Coordinator,
    session: SessionDep,
    establishment_id: Annotated[int | None, Query(description="Admins only: which establishment")] = None,
) -> IncidentPublic:
    est = scope_establishment(principal, establishment_id)
    if est is None:
        raise HTTPException(
            status_code=422, detail="Give establishment_id: admins create incidents for one establishment."
        )
    incident = service.create_incident(session, establishment_id=est, data=data, user_id=principal.user.id)
    record(
        session,
        principal.actor,
        "incident_create",
        object_type="incident",
        object_id=incident.id,
        establishment_id=est,
        detail={"reference": incident.reference},
    )
    return service.to_public(session, incident)


@router.get("", response_model=IncidentPage)
def list_incidents(
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    since: Instant | None = None,
    until: Instant | None = None,
    location: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    establishment_id: int | None = None,
) -> IncidentPage:
    est = scope_establishment(principal, establishment_id)
    rows, total = service.list_incidents(
        session, establishment_id=est, since=since, until=until, location=location, q=q, limit=limit, offset=offset
    )
    # The list carries what each incident's own view does (officers, the subject's characteristics): audited.
    filters = {"since": since, "until": until, "location": location, "q": q, "offset": offset}
    detail = {"via": "api", "shown": len(rows), **{k: str(v) for k, v in filters.items() if v}}
    record(session, principal.actor, "incident_list_view", establishment_id=est, detail=detail)
    return IncidentPage(total=total, items=[service.to_public(session, i) for i in rows])


@router.get("/{incident_id}", response_model=IncidentPublic, responses={404: {}})
def get_incident(incident_id: int, principal: CoordinatorOrGovernor, session: SessionDep) -> IncidentPublic:
    incident = get_visible(session, principal, Incident, incident_id)
    record(
        session,
        principal.actor,
        "incident_view",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
        detail={"via": "api"},
    )
    return service.to_public(session, incident)


@router.patch("/{incident_id}", response_model=IncidentPublic, responses={404: {}, 422: {}})
def update_incident(
    incident_id: int, data: IncidentUpdate, principal: Coordinator, session: SessionDep
) -> IncidentPublic:
    incident = get_visible(session, principal, Incident, incident_id)
    changes = service.update_incident(session, incident, data)
    record(
        session,
        principal.actor,
        "incident_update",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
        reason=data.reason,
        detail={"changes": changes},
    )
    incident_changed(session, incident.id)  # type: ignore[arg-type]
    return service.to_public(session, incident)
