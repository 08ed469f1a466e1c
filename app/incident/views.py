"""Incident pages: list, one incident, record a new one."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col, func, select

from app.audit.service import record
from app.auth.models import Role
from app.core.config import get_settings
from app.core.deps import Coordinator, CoordinatorOrGovernor, SessionDep, get_visible, scope_establishment
from app.core.templates import render
from app.footage.models import Footage, FootageIncident
from app.incident import service
from app.incident.models import ActivationResult, ForceType, Incident, IncidentCreate, InvolvedStaffIn, SubjectBase
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
PAGE = 25


@router.get("/incidents")
def incident_list(
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    location: Annotated[str | None, Query(max_length=120)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> Response:
    est = scope_establishment(principal)
    rows, total = service.list_incidents(
        session, establishment_id=est, q=q or None, location=location or None, limit=PAGE, offset=(page - 1) * PAGE
    )
    ids = [i.id for i in rows]
    counts: dict[int, int] = (
        dict(
            session.exec(
                select(FootageIncident.incident_id, func.count())
                .where(col(FootageIncident.incident_id).in_(ids))
                .group_by(col(FootageIncident.incident_id))
            ).all()
        )
        if ids
        else {}
    )
    compliance: dict[int, tuple[int, int]] = {}
    if ids:
        for inc_id, compliant in session.exec(
            select(ActivationResult.incident_id, ActivationResult.compliant).where(
                col(ActivationResult.incident_id).in_(ids)
            )
        ).all():
            ok, n = compliance.get(inc_id, (0, 0))
            compliance[inc_id] = (ok + int(bool(compliant)), n + 1)
    return render(
        request,
        "incident/list.html",
        {
            "incidents": rows,
            "total": total,
            "page": page,
            "pages": max(1, -(-total // PAGE)),
            "counts": counts,
            "compliance": compliance,
            "q": q or "",
            "location": location or "",
            "locations": service.locations(session, est),
        },
        page_title="Incidents",
    )


@router.get("/incidents/new")
def incident_new(request: Request, principal: Coordinator, session: SessionDep) -> Response:
    return _form(request, session, principal.establishment_id, {}, {})


def _form(
    request: Request,
    session: Any,
    est: int | None,
    values: dict[str, Any],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    staff = (
        session.exec(
            select(StaffMember)
            .where(StaffMember.establishment_id == est, StaffMember.active == True)  # noqa: E712
            .order_by(StaffMember.name)
        ).all()
        if est
        else []
    )
    return render(
        request,
        "incident/new.html",
        {"values": values, "errors": errors, "staff": staff, "force_types": list(ForceType)},
        page_title="Record an incident",
        status_code=status_code,
    )


def _local(value: str, tz: ZoneInfo) -> datetime | None:
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M").replace(tzinfo=tz) if value else None
    except ValueError:
        return None


@router.post("/incidents/new")
async def incident_create(request: Request, principal: Coordinator, session: SessionDep) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        k: form.get(k, "")
        for k in (
            "reference",
            "location",
            "incident_started_at",
            "force_started_at",
            "force_ended_at",
            "incident_ended_at",
            "planned",
            "description",
            "subject_reference",
            "subject_ethnicity",
            "subject_age_band",
            "subject_sex",
            "subject_disability",
        )
    }
    values["force_types"] = form.getlist("force_types")
    values["staff"] = form.getlist("staff")
    tz = ZoneInfo(get_settings().timezone)
    errors: dict[str, str] = {}
    times: dict[str, Any] = {}
    labels = {
        "incident_started_at": "when the incident began",
        "force_started_at": "when force began",
        "force_ended_at": "when force ended",
        "incident_ended_at": "when the incident ended",
    }
    for name, label in labels.items():
        parsed = _local(str(values[name]), tz)
        if parsed is None:
            errors[name] = f"Enter {label} as a date and time"
        times[name] = parsed
    if principal.establishment_id is None:
        raise HTTPException(status_code=422, detail="Admins record incidents through the API with establishment_id.")
    staff_numbers = [str(s) for s in values["staff"]]
    subjects = []
    if values["subject_reference"]:
        subjects.append(
            SubjectBase(
                reference=str(values["subject_reference"]),
                ethnicity=str(values["subject_ethnicity"]) or None,
                age_band=str(values["subject_age_band"]) or None,
                sex=str(values["subject_sex"]) or None,
                disability=str(values["subject_disability"]) or None,
            )
        )
    if not errors:
        try:
            data = IncidentCreate(
                reference=str(values["reference"]).strip(),
                location=str(values["location"]).strip(),
                planned=values["planned"] == "planned",
                force_types=[str(f) for f in values["force_types"]],
                description=str(values["description"]),
                staff=[InvolvedStaffIn(staff_number=n) for n in staff_numbers],
                subjects=subjects,
                **times,
            )
        except ValidationError as exc:
            for err in exc.errors():
                field = str(err["loc"][0]) if err["loc"] else "incident_started_at"
                errors[field] = str(err["msg"]).removeprefix("Value error, ")
    if errors:
        return _form(request, session, principal.establishment_id, values, errors, status_code=400)
    try:
        incident = service.create_incident(
            session, establishment_id=principal.establishment_id, data=data, user_id=principal.user.id
        )
    except HTTPException as exc:
        errors["reference" if exc.status_code == 409 else "staff"] = str(exc.detail)
        session.rollback()
        return _form(request, session, principal.establishment_id, values, errors, status_code=400)
    record(
        session,
        principal.actor,
        "incident_create",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
        detail={"reference": incident.reference, "via": "browser"},
    )
    return RedirectResponse(f"/incidents/{incident.id}", status_code=303)


@router.get("/incidents/{incident_id}")
def incident_page(
    incident_id: int, request: Request, principal: CoordinatorOrGovernor, session: SessionDep
) -> Response:
    incident = get_visible(session, principal, Incident, incident_id)
    staff = service.involved_staff(session, incident_id)
    footage = session.exec(
        select(Footage, StaffMember)
        .join(FootageIncident, col(FootageIncident.footage_id) == Footage.id)
        .join(StaffMember, col(StaffMember.id) == Footage.wearer_id, isouter=True)
        .where(FootageIncident.incident_id == incident_id)
        .order_by(col(Footage.recording_started_at))
    ).all()
    from app.incident.activation import incident_activation

    activation_view = incident_activation(session, incident)  # computes the check if it never ran
    activation = {o.staff_member_id: o.result for o in activation_view.officers if o.result is not None}
    from app.rating.service import incident_rollup

    rollup = incident_rollup(session, incident, viewer_id=principal.user.id)
    record(
        session,
        principal.actor,
        "incident_view",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
        detail={"via": "browser"},
    )
    return render(
        request,
        "incident/detail.html",
        {
            "incident": incident,
            "staff": staff,
            "subjects": service.subjects(session, incident_id),
            "footage": footage,
            "activation": activation,
            "activation_view": activation_view,
            "rollup": rollup,
            "officer_rag": {o.staff_member_id: o for o in rollup["officers"]},
            "clip_rag": {c["footage_id"]: c["rag"] for c in rollup["clip_ratings"]},
            "can_rate": principal.role in (Role.coordinator, Role.admin),
        },
        page_title=f"Incident {incident.reference}",
    )
