"""Footage pages: the list, uploading, one clip (player, integrity, retention, legal hold, links), incidents
with no footage, and the suggested-footage section of an incident page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select
from starlette.datastructures import FormData

from app.audit.service import record
from app.auth.models import Role
from app.core import localtime
from app.core.config import get_settings
from app.core.deps import (
    Coordinator,
    CoordinatorOrGovernor,
    PostedForm,
    Principal,
    SessionDep,
    get_visible,
    scope_establishment,
)
from app.core.security import whole_number
from app.core.templates import render
from app.core.types import utcnow
from app.establishment.models import Camera
from app.footage import linking
from app.footage.api import search
from app.footage.models import Footage, FootageIncident, FootageStatus, FootageTombstone, IntegrityStatus
from app.footage.retention import AlreadyPurged, set_legal_hold, warning_due
from app.footage.service import find_by_hash, find_purged
from app.footage.viewing import video_url
from app.incident import no_footage
from app.incident.models import Incident
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
PAGE = 25


def _staff_for(session: Session, est: int | None) -> list[StaffMember]:
    q = select(StaffMember).where(StaffMember.active == True)  # noqa: E712
    if est is not None:
        q = q.where(StaffMember.establishment_id == est)
    return list(session.exec(q.order_by(StaffMember.name)).all())


def _day(value: str | None, name: str, errors: dict[str, str]) -> datetime | None:
    """Midnight UK time of a D/M/YYYY (or YYYY-MM-DD) day; a day that is not real goes in `errors`."""
    if not value or not value.strip():
        return None
    try:
        d = localtime.parse_day(value)
    except ValueError:
        label = "Recorded from" if name == "since" else "Recorded to"
        errors[name] = f"Enter a real date for {label}, for example 3/11/2026"
        return None
    return datetime(d.year, d.month, d.day, tzinfo=ZoneInfo(get_settings().timezone))


@router.get("/footage")
def footage_list(
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    status: Annotated[str | None, Query(max_length=16)] = None,
    wearer: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> Response:
    est = scope_establishment(principal)
    status_v = FootageStatus(status) if status in {s.value for s in FootageStatus} else None
    errors: dict[str, str] = {}
    since_d, until_d = _day(since, "since", errors), _day(until, "until", errors)
    rows, total = search(
        session,
        est,
        status=status_v,
        staff_number=wearer or None,
        since=since_d,
        until=until_d + timedelta(days=1) if until_d else None,
        limit=PAGE,
        offset=(page - 1) * PAGE,
    )
    filters = {
        "status": status_v,
        "wearer": wearer,
        "since": since_d,
        "until": until_d,
        "page": page if page > 1 else None,
    }
    detail = {"via": "page", "shown": len(rows), **{k: str(v) for k, v in filters.items() if v}}
    record(session, principal.actor, "footage_list_view", establishment_id=est, detail=detail)
    wearers = {s.id: s for s in _staff_for(session, est)}
    linked: dict[int, int] = {}
    ids = [f.id for f in rows]
    if ids:
        for fid, _iid in session.exec(
            select(FootageIncident.footage_id, FootageIncident.incident_id).where(
                col(FootageIncident.footage_id).in_(ids)
            )
        ).all():
            linked[fid] = linked.get(fid, 0) + 1
    return render(
        request,
        "footage/list.html",
        {
            "footage": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "wearers": wearers,
            "linked": linked,
            "warn": {f.id: warning_due(f) for f in rows},
            "filters": {
                "status": status_v.value if status_v else "",
                "wearer": wearer or "",
                "since": since or "",
                "until": until or "",
            },
            "statuses": [{"value": s.value, "text": s.value.capitalize()} for s in FootageStatus],  # as the tags
            "can_upload": principal.role == Role.coordinator or principal.is_admin,
            "errors": errors,
        },
        page_title="Footage",
        status_code=400 if errors else 200,
    )


@router.get("/footage/upload")
def upload_page(
    request: Request,
    principal: Coordinator,
    session: SessionDep,
    incident: Annotated[str | None, Query(max_length=40, description="Preselect this incident reference")] = None,
    staff_number: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    est = principal.establishment_id
    cameras = (
        list(
            session.exec(
                select(Camera).where(Camera.establishment_id == est, Camera.active == True).order_by(Camera.serial)  # noqa: E712
            ).all()
        )
        if est
        else []
    )
    incidents = (
        list(
            session.exec(
                select(Incident)
                .where(Incident.establishment_id == est)
                .order_by(col(Incident.force_started_at).desc())
                .limit(200)
            ).all()
        )
        if est
        else []
    )
    return render(
        request,
        "footage/upload.html",
        {
            "cameras": cameras,
            "staff": _staff_for(session, est) if est else [],
            "incidents": incidents,
            "max_bytes": get_settings().max_upload_bytes,
            "preselect": {"incident": incident or "", "staff_number": staff_number or ""},
            "is_admin_without_establishment": est is None,
        },
        page_title="Upload footage",
    )


@router.get("/footage/missing")
def missing_page(
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    est = scope_establishment(principal)
    size = linking.MISSING_PAGE
    missing, total = linking.incidents_missing_footage(session, est, offset=(page - 1) * size, limit=size)
    detail: dict[str, Any] = {"via": "page", "shown": len(missing), **({"page": page} if page > 1 else {})}
    record(session, principal.actor, "footage_missing_view", establishment_id=est, detail=detail)
    return render(
        request,
        "footage/missing.html",
        {
            "missing": missing,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // size)),
            "first": (page - 1) * size + 1,
            "explanations": no_footage.for_incidents(session, [i.id for i, _ in missing if i.id is not None]),
            "explained": _just_explained(session, est, request.query_params.get("explained", "")),
        },
        page_title="Officers with no footage",
    )


def _just_explained(session: Session, est: int | None, given: str) -> dict[str, str] | None:
    """The officer and incident of a reason just recorded from the list ("<incident id>-<staff number>"), for
    its banner; None for anything else, or for an incident of another establishment."""
    text, _, number = given.partition("-")
    iid = whole_number(text, 1, 2**31 - 1)
    if iid is None or not number:
        return None
    incident = session.get(Incident, iid)
    if incident is None or (est is not None and incident.establishment_id != est):
        return None
    officer = session.exec(
        select(StaffMember).where(
            StaffMember.establishment_id == incident.establishment_id, StaffMember.staff_number == number
        )
    ).first()
    return {"officer": officer.name, "reference": incident.reference} if officer is not None else None


def _footage_page(
    request: Request,
    principal: Principal,
    session: Session,
    f: Footage,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    warn: list[str] | None = None,
) -> Response:
    """The clip's page; with `errors` (keyed by the id of the field: "hold-reason", "incident_id",
    "unlink-reason-<incident id>") it comes back as a form with problems, what was typed kept (`values`);
    with `warn`, the link chosen in `values` waits for the coordinator to confirm it despite those warnings."""
    cam = session.get(Camera, f.camera_id) if f.camera_id else None
    wearer = session.get(StaffMember, f.wearer_id) if f.wearer_id else None
    incidents = list(
        session.exec(
            select(Incident, FootageIncident)
            .join(FootageIncident, col(FootageIncident.incident_id) == Incident.id)
            .where(FootageIncident.footage_id == f.id)
            .order_by(col(Incident.force_started_at))
        ).all()
    )
    linked_ids = {i.id for i, _ in incidents}
    candidates = [
        i
        for i in session.exec(
            select(Incident)
            .where(Incident.establishment_id == f.establishment_id)
            .order_by(col(Incident.force_started_at).desc())
            .limit(200)
        ).all()
        if i.id not in linked_ids
    ]
    tombstone = (
        session.exec(select(FootageTombstone).where(FootageTombstone.footage_id == f.id)).first()
        if f.status == FootageStatus.purged
        else None
    )
    ctx: dict[str, Any] = {
        "footage": f,
        "camera": cam,
        "wearer": wearer,
        "incidents": incidents,
        "candidates": candidates,
        "tombstone": tombstone,
        "uploaded_again": find_by_hash(session, f.establishment_id, f.sha256) if tombstone else None,
        "deleted_before": [] if tombstone else find_purged(session, f.establishment_id, f.sha256),
        "video_src": video_url(f.id, principal.user.id, "footage_page"),  # type: ignore[arg-type]
        "warn": warning_due(f),
        "can_change": principal.role == Role.coordinator or principal.is_admin,
        "can_download": principal.role in (Role.coordinator, Role.governor) or principal.is_admin,
        "settings": get_settings(),
        "IntegrityStatus": IntegrityStatus,
        "errors": errors or {},
        "values": values or {},
        "link_warnings": warn or [],
    }
    try:
        from app.footage.analysis import analysis_context

        ctx.update(analysis_context(session, f, principal))
    except ImportError:  # analysis not installed in this build
        pass
    return render(
        request,
        "footage/detail.html",
        ctx,
        page_title=f"Footage {f.original_filename}",
        status_code=400 if errors else 200,
    )


@router.get("/footage/{footage_id}")
def footage_page(footage_id: int, request: Request, principal: CoordinatorOrGovernor, session: SessionDep) -> Response:
    f = get_visible(session, principal, Footage, footage_id)
    record(
        session,
        principal.actor,
        "footage_view",
        object_type="footage",
        object_id=f.id,
        establishment_id=f.establishment_id,
        detail={"via": "browser"},
    )
    return _footage_page(request, principal, session, f)


def _form(form: FormData) -> dict[str, str]:
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.post("/footage/{footage_id}/legal-hold")
def legal_hold_form(
    footage_id: int, request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm
) -> Response:
    form = _form(posted)
    f = get_visible(session, principal, Footage, footage_id)
    reason = form.get("reason", "").strip()
    hold = form.get("action") != "release"
    if f.status == FootageStatus.purged:
        raise HTTPException(status_code=409, detail="This footage has already been deleted.")
    if not 3 <= len(reason) <= 500:
        short = len(reason) < 3
        message = (
            f"Give the reason {'for the legal hold' if hold else 'for releasing the hold'}, at least 3 characters"
            if short
            else f"The reason must be 500 characters or fewer (it has {len(reason):,})"
        )
        return _footage_page(request, principal, session, f, {"hold-reason": message}, {"hold-reason": reason})
    try:
        set_legal_hold(session, f, actor=principal.actor, hold=hold, reason=reason)
    except AlreadyPurged:  # by a retention run that finished while this request waited for the clip
        raise HTTPException(status_code=409, detail="This footage has already been deleted.") from None
    return RedirectResponse(f"/footage/{f.id}?done={'hold' if hold else 'released'}", status_code=303)


@router.post("/footage/{footage_id}/links")
def link_form(
    footage_id: int, request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm
) -> Response:
    form = _form(posted)
    f = get_visible(session, principal, Footage, footage_id)
    try:
        incident_id = int(form.get("incident_id", ""))
    except ValueError:
        problem = {"incident_id": "Choose the incident to link this footage to"}
        return _footage_page(request, principal, session, f, problem)
    incident = get_visible(session, principal, Incident, incident_id)
    warnings = linking.link_warnings(session, f, incident)
    if warnings and form.get("confirm") != str(incident_id):  # the choice again, why it may be wrong, "Link anyway"
        return _footage_page(request, principal, session, f, values={"incident_id": str(incident_id)}, warn=warnings)
    try:
        linking.make_link(
            session, f, incident, actor=principal.actor, reason=form.get("reason") or None, warnings=warnings
        )
    except linking.LinkRefused as exc:
        session.rollback()
        return _footage_page(
            request, principal, session, f, {"incident_id": exc.message}, {"incident_id": str(incident_id)}
        )
    return RedirectResponse(f"/footage/{f.id}?done=linked", status_code=303)


@router.post("/footage/{footage_id}/links/{incident_id}/remove")
def unlink_form(
    footage_id: int, incident_id: int, request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm
) -> Response:
    form = _form(posted)
    f = get_visible(session, principal, Footage, footage_id)
    incident = get_visible(session, principal, Incident, incident_id)
    reason = form.get("reason", "").strip()
    if not 3 <= len(reason) <= 500:
        key = f"unlink-reason-{incident.id}"
        message = (
            f"Give the reason for removing the link to {incident.reference}, at least 3 characters"
            if len(reason) < 3
            else f"The reason must be 500 characters or fewer (it has {len(reason):,})"
        )
        return _footage_page(request, principal, session, f, {key: message}, {key: reason})
    linking.remove_link(session, f, incident, actor=principal.actor, reason=reason)
    return RedirectResponse(f"/footage/{f.id}?done=unlinked", status_code=303)


# ---------------------------------------------------------------- incident page: suggested footage
@router.get("/incidents/{incident_id}/footage-suggestions")
def suggestions_fragment(
    incident_id: int, request: Request, principal: CoordinatorOrGovernor, session: SessionDep
) -> Response:
    """The "Suggested footage" section of an incident page (loaded by htmx; a page of its own without JS)."""
    incident = get_visible(session, principal, Incident, incident_id)
    ctx = {
        "incident": incident,
        "suggestions": linking.suggestions(session, incident),
        "missing": linking.officers_without_footage(session, incident),
        "explanations": no_footage.for_incident(session, incident_id),
        "can_change": principal.role == Role.coordinator or principal.is_admin,
        "margin": get_settings().link_margin_minutes,
        "now": utcnow(),
    }
    if request.headers.get("hx-request"):
        return render(request, "footage/_suggestions.html", ctx)
    return render(request, "footage/suggestions_page.html", ctx, page_title=f"Suggested footage {incident.reference}")


@router.post("/incidents/{incident_id}/footage-suggestions/{footage_id}/{decision}")
def suggestion_decision(
    incident_id: int,
    footage_id: int,
    decision: str,
    request: Request,
    principal: Coordinator,
    session: SessionDep,
    posted: PostedForm,
) -> Response:
    form = _form(posted)
    if decision not in ("accept", "dismiss"):
        raise HTTPException(status_code=404, detail="not found")
    incident = get_visible(session, principal, Incident, incident_id)
    f = get_visible(session, principal, Footage, footage_id)
    try:
        if decision == "accept":
            linking.make_link(session, f, incident, actor=principal.actor, source="suggestion")
        else:
            linking.dismiss(session, f, incident, actor=principal.actor, reason=form.get("reason") or None)
    except linking.LinkRefused as exc:
        raise HTTPException(status_code=exc.status, detail=exc.message) from None
    return RedirectResponse(f"/incidents/{incident.id}#suggested-footage", status_code=303)
