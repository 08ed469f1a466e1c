"""Incident pages: list, one incident, record a new one."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import col, func, select

from app.audit.service import record
from app.auth.models import Role
from app.core import localtime
from app.core.config import get_settings
from app.core.deps import Coordinator, CoordinatorOrGovernor, PostedForm, SessionDep, get_visible, scope_establishment
from app.core.templates import render
from app.core.types import CLOCK_SKEW, utcnow
from app.establishment.models import Camera
from app.footage.models import Footage, FootageIncident
from app.incident import no_footage, service
from app.incident.models import ActivationResult, ForceType, Incident, IncidentCreate, InvolvedStaffIn
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
PAGE = 25


@router.get("/incidents")
def incident_list(
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=500)] = None,
    location: Annotated[str | None, Query(max_length=120)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> Response:
    est = scope_establishment(principal)
    # Days when force began, UK time, both included (an empty box leaves that end open): the compliance
    # summary's "Incidents with force" links here with its period.
    zone = ZoneInfo(get_settings().timezone)
    since, until, errors = localtime.day_range(date_from or "", date_to or "", zone)
    rows, total = (
        ([], 0)
        if errors
        else service.list_incidents(
            session,
            establishment_id=est,
            q=q or None,
            location=location or None,
            since=since,
            until=until,
            limit=PAGE,
            offset=(page - 1) * PAGE,
        )
    )
    filters = {"q": q, "location": location, "from": date_from, "to": date_to, "page": page if page > 1 else None}
    detail = {"via": "page", "shown": len(rows), **{k: str(v) for k, v in filters.items() if v}}
    record(session, principal.actor, "incident_list_view", establishment_id=est, detail=detail)
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
            "date_from": date_from or "",
            "date_to": date_to or "",
            "errors": errors,
            "locations": service.locations(session, est),
        },
        page_title="Incidents",
        status_code=422 if errors else 200,
    )


@router.get("/incidents/new")
def incident_new(request: Request, principal: Coordinator, session: SessionDep) -> Response:
    values: dict[str, Any] = {"officers": _blank_rows(OFFICER_ROWS)}
    return _form(request, session, principal.establishment_id, values, {})


# The officer rows shown at first; "Add another officer" adds one (no script needed), up to the most a
# use-of-force report lists.
OFFICER_ROWS = 4
MAX_OFFICER_ROWS = 30
TIME_LABELS = {
    "incident_started_at": "when the incident began",
    "force_started_at": "when force began",
    "force_ended_at": "when force ended",
    "incident_ended_at": "when the incident ended",
}
# Each time is a day (the MoJ date picker: D/M/YYYY, read the same whatever the browser's language) and a
# 24-hour clock time; and, for a time in the hour the clocks go back over, which of the two ("0" the first).
TIME_PARTS = ("date", "time", "fold")
TEXT_FIELDS = (
    "reference",
    "location",
    *(f"{name}_{part}" for name in TIME_LABELS for part in TIME_PARTS),
    "planned",
    "description",
    "cameras",
    "subject_reference",
    "subject_ethnicity",
    "subject_age_band",
    "subject_sex",
    "subject_disability",
)


# Where each field is on the page, so the error summary lists problems in the order the person meets them.
PAGE_ORDER = [
    "reference",
    "location",
    "incident_started_at",
    "incident_ended_at",
    "force_started_at",
    "force_ended_at",
    "planned",
    "force_types",
    "officer-",
    "cameras",
    "subject_reference",
    "description",
]


def _page_order(field: str) -> tuple[int, int, str]:
    if field.startswith("officer-"):
        row = field.split("-")[1]
        return PAGE_ORDER.index("officer-"), int(row) if row.isascii() and row.isdigit() else 0, field
    base, _, part = field.rpartition("_")
    if base in TIME_LABELS:  # a time's day before its clock time, both after the problem with the whole time
        return PAGE_ORDER.index(base), 1 + TIME_PARTS.index(part) if part in TIME_PARTS else 0, field
    return (PAGE_ORDER.index(field) if field in PAGE_ORDER else len(PAGE_ORDER)), 0, field


def _blank_rows(n: int) -> list[dict[str, str]]:
    return [{"staff_number": "", "part": ""} for _ in range(n)]


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
    cameras = (
        session.exec(
            select(Camera)
            .where(Camera.establishment_id == est, Camera.active == True)  # noqa: E712
            .order_by(Camera.serial)
        ).all()
        if est
        else []
    )
    return render(
        request,
        "incident/new.html",
        {
            "values": values,
            "errors": dict(sorted(errors.items(), key=lambda item: _page_order(item[0]))),
            "staff": staff,
            "cameras": cameras,
            "force_types": list(ForceType),
            "max_officer_rows": MAX_OFFICER_ROWS,
        },
        page_title="Record an incident",
        status_code=status_code,
    )


def _wall(name: str, label: str, values: dict[str, Any], errors: dict[str, str]) -> datetime | None:
    """The day and clock time typed for one time, as the clock showed it; problems go in `errors`."""
    what = label.removeprefix("when ")
    day = clock = None
    try:
        day = localtime.parse_day(values[f"{name}_date"])
    except ValueError:
        errors[f"{name}_date"] = (
            f"The day {what} must be a real date, for example 3/11/2026"
            if values[f"{name}_date"].strip()
            else f"Enter the day {what}, for example 3/11/2026"
        )
    try:
        clock = localtime.parse_clock(values[f"{name}_time"])
    except ValueError:
        errors[f"{name}_time"] = (
            f"The time {what} must be a real time on the 24-hour clock, for example 14:02:30"
            if values[f"{name}_time"].strip()
            else f"Enter the time {what} on the 24-hour clock, for example 14:02:30"
        )
    if day is None or clock is None:
        return None
    return datetime(day.year, day.month, day.day, *clock)


def _times(values: dict[str, Any], tz: ZoneInfo, errors: dict[str, str]) -> dict[str, datetime | None]:
    """The four times as instants; problems go in `errors` (a problem with the whole time under its name). A
    time the clocks showed twice (the night they go back) is shown with a choice of the two, kept in
    `values["repeated"]` for the form."""
    times: dict[str, datetime | None] = {}
    values["repeated"] = {}
    for name, label in TIME_LABELS.items():
        times[name] = None
        wall = _wall(name, label, values, errors)
        if wall is None:
            continue
        if (twice := localtime.repeated(wall, tz)) is not None:
            values["repeated"][name] = {"time": f"{wall:%H:%M}", "names": twice.names}
        fold = {"0": 0, "1": 1}.get(values.get(f"{name}_fold", ""))
        try:
            times[name] = localtime.to_instant(wall, tz, fold, label.removeprefix("when "))
        except localtime.LocalTimeProblem as exc:
            errors[name] = str(exc)
    return times


def split_serials(value: str) -> list[str]:
    """Camera serials typed as on the report: separated by commas, semicolons, spaces or new lines."""
    return list(dict.fromkeys(s for s in re.split(r"[,;\s]+", value) if s))


def _officer_rows(form: Any) -> list[dict[str, str]]:
    try:
        n = int(str(form.get("officer_rows", OFFICER_ROWS)))
    except ValueError:
        n = OFFICER_ROWS
    n = max(1, min(MAX_OFFICER_ROWS, n))
    return [
        {
            "staff_number": str(form.get(f"officer-{i}-staff_number", "")).strip(),
            "part": str(form.get(f"officer-{i}-part", "")).strip(),
        }
        for i in range(1, n + 1)
    ]


def _officer_errors(rows: list[dict[str, str]], names: dict[str, str]) -> tuple[list[InvolvedStaffIn], dict[str, str]]:
    """The rows as involved officers; per-row errors keyed by the field a message should take the reader to."""
    staff: list[InvolvedStaffIn] = []
    errors: dict[str, str] = {}
    first_row: dict[str, int] = {}
    for i, row in enumerate(rows, start=1):
        number, part = row["staff_number"], row["part"]
        if not number:
            if part:
                errors[f"officer-{i}-staff_number"] = f"Choose the officer for officer {i}, or clear their part"
            continue
        if number not in names:  # a stale page (officer since removed) or a crafted form
            errors[f"officer-{i}-staff_number"] = (
                f"Officer {i}: staff number {number} is not an officer at this establishment"
            )
            continue
        if number in first_row:
            errors[f"officer-{i}-staff_number"] = (
                f"{names[number]} is already listed as officer {first_row[number]}: list each officer once"
            )
            continue
        first_row[number] = i
        if len(part) > 64:
            errors[f"officer-{i}-part"] = f"Officer {i}'s part must be 64 characters or fewer"
            continue
        staff.append(InvolvedStaffIn(staff_number=number, part=part))
    return staff, errors


FIELD_NAMES = {
    "reference": "Incident reference",
    "location": "Where it happened",
    "description": "What happened",
    "subject_reference": "Prison number or reference",
    "subject_ethnicity": "Ethnicity",
    "subject_age_band": "Age band",
    "subject_sex": "Sex",
    "subject_disability": "Disability",
}
MISSING = {"reference": "Enter the incident reference", "location": "Enter where it happened"}


def _message(field: str, err: Any) -> str:
    """A model validation error in the words of the form (GOV.UK error message style)."""
    kind, ctx = err.get("type", ""), err.get("ctx") or {}
    name = FIELD_NAMES.get(field, field.replace("_", " ").capitalize())
    if kind in ("string_too_short", "missing") and field in MISSING:
        return MISSING[field]
    if kind == "string_too_long":
        return f"{name} must be {ctx.get('max_length')} characters or fewer"
    return str(err.get("msg", "")).removeprefix("Value error, ")


def _check(session: Any, est: int, values: dict[str, Any]) -> tuple[IncidentCreate | None, dict[str, str]]:
    """Every problem with the form at once, each against its field; the incident to create when there are none.

    The service checks the officers and cameras again (and the API relies on that); checking them here too lets
    the person see all that needs fixing in one go."""
    tz = ZoneInfo(get_settings().timezone)
    errors: dict[str, str] = {}
    times: dict[str, Any] = _times(values, tz, errors)
    if not errors:
        for later, earlier, message in (
            ("force_started_at", "incident_started_at", "Force cannot begin before the incident began"),
            ("force_ended_at", "force_started_at", "Force cannot end before it began"),
            ("incident_ended_at", "force_ended_at", "The incident cannot end before force ended"),
        ):
            if times[later] < times[earlier]:
                errors[later] = message
        limit = utcnow() + CLOCK_SKEW
        for name, label in TIME_LABELS.items():
            if name not in errors and times[name] > limit:
                errors[name] = f"The time {label.removeprefix('when ')} must be in the past"
    if values["planned"] not in ("planned", "spontaneous"):  # no answer chosen for them (GOV.UK radios)
        errors["planned"] = "Choose whether the use of force was planned or spontaneous"
    names = {
        s.staff_number: s.name
        for s in session.exec(select(StaffMember).where(StaffMember.establishment_id == est)).all()
    }
    staff, row_errors = _officer_errors(values["officers"], names)
    errors.update(row_errors)
    if problem := service.reference_problem(values["reference"].strip()):
        errors["reference"] = problem
    serials = split_serials(values["cameras"])
    if serials:
        known = set(session.exec(select(Camera.serial).where(Camera.establishment_id == est)).all())
        if unknown := [x for x in serials if x not in known]:
            _refusal_errors(service.UnknownCamera(unknown), values, errors)
    subject = {k: values[f"subject_{k}"] or None for k in ("reference", "ethnicity", "age_band", "sex", "disability")}
    times_ok = all(times[k] is not None for k in TIME_LABELS) and not any(k in errors for k in TIME_LABELS)
    if not times_ok:  # still check every other field: one stand-in time for all four, in order by definition
        times = dict.fromkeys(TIME_LABELS, datetime(2000, 1, 1, tzinfo=tz))
    try:
        data = IncidentCreate.model_validate(
            {
                "reference": values["reference"].strip(),
                "location": values["location"].strip(),
                "planned": values["planned"] == "planned",
                "force_types": values["force_types"],
                "description": values["description"],
                "staff": staff,
                "subjects": [subject] if subject["reference"] else [],
                "camera_serials": serials,
                **times,
            }
        )
    except ValidationError as exc:
        for err in exc.errors():
            loc = [str(x) for x in err["loc"]]
            field = f"subject_{loc[-1]}" if loc[:1] == ["subjects"] else (loc[0] if loc else "incident_started_at")
            errors.setdefault(field, _message(field, err))
        return None, errors
    return (data if times_ok else None), errors


@router.post("/incidents/new")
def incident_create(request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm) -> Response:
    form = posted
    values: dict[str, Any] = {k: str(form.get(k, "")) for k in TEXT_FIELDS}
    values["force_types"] = [str(f) for f in form.getlist("force_types")]
    values["officers"] = _officer_rows(form)
    if principal.establishment_id is None:
        raise HTTPException(status_code=422, detail="Admins record incidents through the API with establishment_id.")
    est = principal.establishment_id
    if form.get("action") == "add_officer":  # "Add another officer": the same form, one more row, nothing checked
        if len(values["officers"]) < MAX_OFFICER_ROWS:
            values["officers"].append({"staff_number": "", "part": ""})
        values["focus"] = f"officer-{len(values['officers'])}-staff_number"
        _times(values, ZoneInfo(get_settings().timezone), {})  # keeps a clock-change choice on show; not checked
        return _form(request, session, est, values, {})
    data, errors = _check(session, est, values)
    if data is None or errors:
        return _form(request, session, est, values, errors, status_code=400)
    try:
        incident = service.create_incident(session, establishment_id=est, data=data, user_id=principal.user.id)
    except HTTPException as exc:
        session.rollback()  # nothing of the incident is kept
        _refusal_errors(exc, values, errors)
        return _form(request, session, est, values, errors, status_code=400)
    record(
        session,
        principal.actor,
        "incident_create",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
        detail={"reference": incident.reference, "via": "browser"},
    )
    return RedirectResponse(f"/incidents/{incident.id}?recorded=1", status_code=303)


def _refusal_errors(exc: HTTPException, values: dict[str, Any], errors: dict[str, str]) -> None:
    """The service's refusal as a message next to the field that caused it."""
    if isinstance(exc, service.UnknownStaff):
        for i, row in enumerate(values["officers"], start=1):
            if row["staff_number"] in exc.numbers:
                errors[f"officer-{i}-staff_number"] = (
                    f"Officer {i}: staff number {row['staff_number']} is not an officer at this establishment"
                )
    elif isinstance(exc, service.UnknownCamera):
        serials = ", ".join(exc.serials)
        errors["cameras"] = (
            f"{'Camera' if len(exc.serials) == 1 else 'Cameras'} {serials} "
            f"{'is' if len(exc.serials) == 1 else 'are'} not registered at this establishment: check the serial "
            "on the report, or add the camera on the Officers and cameras page"
        )
    elif exc.status_code == 409:
        errors["reference"] = str(exc.detail)
    else:  # unknown force types (a crafted form) and anything else the service refuses
        errors["force_types" if "force type" in str(exc.detail) else "reference"] = str(exc.detail)


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
    from app.rating.service import blind_footage_ids, incident_rollup

    blind = blind_footage_ids(session, principal.user.id)  # their first ratings are hidden from the viewer
    rollup = incident_rollup(session, incident, hidden=blind)
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
            "blind": blind,
            "can_rate": principal.role in (Role.coordinator, Role.admin),
            "explanations": no_footage.for_incident(session, incident_id),
            "explained": request.query_params.get("explained"),
            "recorded": request.query_params.get("recorded") == "1",
        },
        page_title=f"Incident {incident.reference}",
    )
