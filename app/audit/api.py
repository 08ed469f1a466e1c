"""Audit trail over JSON (admins: everything; governors: their establishment)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from app.audit.service import record, search_events, verify_chain
from app.core.deps import Governor, SessionDep, scope_establishment
from app.core.types import Instant

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditEventPublic(BaseModel):
    id: int
    at: datetime
    actor_username: str | None
    actor_role: str | None
    establishment_id: int | None
    action: str
    object_type: str | None
    object_id: str | None
    outcome: str
    reason: str | None
    ip: str | None
    detail: dict[str, Any]
    hash: str


class ChainReport(BaseModel):
    checked: int
    intact: bool
    problems: list[str]


@router.get("/events", response_model=list[AuditEventPublic])
def list_events(
    principal: Governor,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    establishment_id: int | None = None,
) -> list[Any]:
    est = scope_establishment(principal, establishment_id)
    events = search_events(
        session,
        establishment_id=est,
        action=action,
        username=username,
        object_type=object_type,
        object_id=object_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )
    record(session, principal.actor, "audit_view", detail={"via": "api", "count": len(events)})
    return [AuditEventPublic.model_validate(e, from_attributes=True) for e in events]


@router.get("/verify", response_model=ChainReport)
def verify(principal: Governor, session: SessionDep) -> ChainReport:
    checked, problems = verify_chain(session)
    return ChainReport(
        checked=checked, intact=not problems, problems=[f"entry {p.event_id}: {p.problem}" for p in problems]
    )
