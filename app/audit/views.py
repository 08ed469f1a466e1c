"""Browse, filter and export the audit trail."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.audit.service import record, search_events, to_csv_rows
from app.core import localtime
from app.core.config import get_settings
from app.core.csvsafe import BOM
from app.core.deps import Governor, Principal, SessionDep, scope_establishment
from app.core.templates import render

router = APIRouter(include_in_schema=False)

PAGE = 50


FILTERS = ("action", "username", "object_type", "object_id", "from", "to")
NO_REASON = "Enter why you are exporting the audit trail, for example 'Complaint 1234'"


def _cleaned(
    action: str, username: str, object_type: str, object_id: str, date_from: str, date_to: str
) -> dict[str, str]:
    """The filters as typed, except that actions and record types are matched as the table shows them
    ("sign in" finds sign_in)."""

    def name(text: str) -> str:
        return "_".join(text.lower().split())

    values = (name(action), username.strip(), name(object_type), object_id.strip(), date_from.strip(), date_to.strip())
    return dict(zip(FILTERS, values, strict=True))


def _period(filters: dict[str, str]) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """The first and last days as UK-time instants (the last day included), and what is wrong with them."""
    return localtime.day_range(filters["from"], filters["to"], ZoneInfo(get_settings().timezone))


def _filtered(
    session: Session,
    establishment_id: int | None,
    filters: dict[str, str],
    since: datetime | None,
    until: datetime | None,
    *,
    limit: int | None,
    offset: int = 0,
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
        since=since,
        until=until,
        limit=limit,
        offset=offset,
    )


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    filters: dict[str, str],
    page: int,
    *,
    errors: dict[str, str] | None = None,
    reason: str = "",
) -> Response:
    """The list for these filters; with dates it cannot use, their errors and no entries. A page viewed is
    audited, as every view is."""
    since, until, date_errors = _period(filters)
    errors = {**date_errors, **(errors or {})}
    events = (
        []
        if date_errors
        else _filtered(
            session, scope_establishment(principal), filters, since, until, limit=PAGE + 1, offset=(page - 1) * PAGE
        )
    )
    record(session, principal.actor, "audit_view", detail={"via": "browser", "page": page})
    return render(
        request,
        "audit/list.html",
        {
            "events": events[:PAGE],
            "has_next": len(events) > PAGE,
            "page": page,
            "filters": filters,
            "errors": errors,
            "reason": reason,
        },
        page_title="Audit trail",
        status_code=422 if errors else 200,
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
    filters = _cleaned(action, username, object_type, object_id, date_from, date_to)
    return _page(request, session, principal, filters, page)


@router.post("/audit/export")
def audit_export(
    request: Request,
    principal: Governor,
    session: SessionDep,
    reason: Annotated[str, Form(max_length=500)] = "",
    action: Annotated[str, Form(max_length=64)] = "",
    username: Annotated[str, Form(max_length=64)] = "",
    object_type: Annotated[str, Form(max_length=32)] = "",
    object_id: Annotated[str, Form(max_length=64)] = "",
    date_from: Annotated[str, Form(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Form(alias="to", max_length=10)] = "",
) -> Response:
    """An export is a disclosure: it needs a reason, and is itself audited (with the filters it used)."""
    filters = _cleaned(action, username, object_type, object_id, date_from, date_to)
    since, until, date_errors = _period(filters)
    errors = {} if len(reason.strip()) >= 3 else {"reason": NO_REASON}
    if errors or date_errors:  # the list again, with what is wrong beside each field
        return _page(request, session, principal, filters, 1, errors=errors, reason=reason)
    events = _filtered(session, scope_establishment(principal), filters, since, until, limit=None)
    used = {k: v for k, v in filters.items() if v}
    record(
        session,
        principal.actor,
        "audit_export",
        reason=reason.strip(),
        detail={"rows": len(events), "format": "csv", "filters": used},
    )
    stamp = datetime.now().strftime("%Y%m%d-%H%M")
    return StreamingResponse(
        itertools.chain([BOM], to_csv_rows(events)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="audit-{stamp}.csv"'},
    )
