"""Browse, filter and export the audit trail."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.audit.service import record, search_events, to_csv_rows
from app.core import localtime
from app.core.config import get_settings
from app.core.deps import Governor, SessionDep, scope_establishment
from app.core.templates import render

router = APIRouter(include_in_schema=False)

PAGE = 50


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        d = localtime.parse_day(value)
    except ValueError:
        raise HTTPException(status_code=400, detail="Enter real dates, for example 3/11/2026") from None
    local = datetime.combine(d + timedelta(days=1) if end else d, time.min, tzinfo=ZoneInfo(get_settings().timezone))
    return local


FILTERS = ("action", "username", "object_type", "object_id", "from", "to")


def _filtered(
    session: Session, establishment_id: int | None, filters: dict[str, str], *, limit: int | None, offset: int = 0
) -> list[AuditEvent]:
    """The entries the list shows for these filters: the page and the export both ask here, so an export
    holds exactly what was on screen (all pages of it)."""
    return search_events(
        session,
        establishment_id=establishment_id,
        action=filters["action"] or None,
        username=filters["username"] or None,
        object_type=filters["object_type"] or None,
        object_id=filters["object_id"] or None,
        since=_day(filters["from"]),
        until=_day(filters["to"], end=True),
        limit=limit,
        offset=offset,
    )


@router.get("/audit")
def audit_page(
    request: Request,
    principal: Governor,
    session: SessionDep,
    action: Annotated[str, Query(max_length=64)] = "",
    username: Annotated[str, Query(max_length=64)] = "",
    object_type: Annotated[str, Query(max_length=32)] = "",
    object_id: Annotated[str, Query(max_length=64)] = "",
    date_from: Annotated[str, Query(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Query(alias="to", max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> Response:
    est = scope_establishment(principal)
    filters = dict(zip(FILTERS, (action, username, object_type, object_id, date_from, date_to), strict=True))
    events = _filtered(session, est, filters, limit=PAGE + 1, offset=(page - 1) * PAGE)
    record(session, principal.actor, "audit_view", detail={"via": "browser", "page": page})
    return render(
        request,
        "audit/list.html",
        {"events": events[:PAGE], "has_next": len(events) > PAGE, "page": page, "filters": filters},
        page_title="Audit trail",
    )


@router.post("/audit/export")
def audit_export(
    principal: Governor,
    session: SessionDep,
    reason: Annotated[str, Form(min_length=3, max_length=500)],
    action: Annotated[str, Form(max_length=64)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    object_type: Annotated[str, Form(max_length=32)] = "",
    object_id: Annotated[str, Form(max_length=64)] = "",
    date_from: Annotated[str, Form(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Form(alias="to", max_length=10)] = "",
) -> Response:
    """An export is a disclosure: it needs a reason, and is itself audited (with the filters it used)."""
    est = scope_establishment(principal)
    filters = dict(zip(FILTERS, (action, username, object_type, object_id, date_from, date_to), strict=True))
    events = _filtered(session, est, filters, limit=None)
    used = {k: v for k, v in filters.items() if v}
    record(
        session,
        principal.actor,
        "audit_export",
        reason=reason,
        detail={"rows": len(events), "format": "csv", "filters": used},
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        to_csv_rows(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
