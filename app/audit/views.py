"""Browse, filter and export the audit trail."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response, StreamingResponse

from app.audit.service import record, search_events, to_csv_rows
from app.core.config import get_settings
from app.core.deps import Governor, SessionDep, scope_establishment
from app.core.templates import render

router = APIRouter(include_in_schema=False)

PAGE = 50


def _day(value: str | None, *, end: bool = False) -> datetime | None:
    if not value:
        return None
    try:
        d = datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise HTTPException(status_code=400, detail="Dates are YYYY-MM-DD") from None
    local = datetime.combine(d + timedelta(days=1) if end else d, time.min, tzinfo=ZoneInfo(get_settings().timezone))
    return local


@router.get("/audit")
def audit_page(
    request: Request,
    principal: Governor,
    session: SessionDep,
    action: Annotated[str | None, Query(max_length=64)] = None,
    username: Annotated[str | None, Query(max_length=64)] = None,
    object_type: Annotated[str | None, Query(max_length=32)] = None,
    object_id: Annotated[str | None, Query(max_length=64)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> Response:
    est = scope_establishment(principal)
    events = search_events(
        session,
        establishment_id=est,
        action=action or None,
        username=username or None,
        object_type=object_type or None,
        object_id=object_id or None,
        since=_day(date_from),
        until=_day(date_to, end=True),
        limit=PAGE + 1,
        offset=(page - 1) * PAGE,
    )
    record(session, principal.actor, "audit_view", detail={"via": "browser", "page": page})
    filters = {
        "action": action or "",
        "username": username or "",
        "object_type": object_type or "",
        "object_id": object_id or "",
        "from": date_from or "",
        "to": date_to or "",
    }
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
    date_from: Annotated[str, Form(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Form(alias="to", max_length=10)] = "",
) -> Response:
    """An export is a disclosure: it needs a reason, and is itself audited."""
    est = scope_establishment(principal)
    events = search_events(
        session,
        establishment_id=est,
        action=action or None,
        username=username or None,
        since=_day(date_from),
        until=_day(date_to, end=True),
        limit=None,
    )
    record(session, principal.actor, "audit_export", reason=reason, detail={"rows": len(events), "format": "csv"})
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        to_csv_rows(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
