"""Pages: record why an involved officer has no footage of an incident (coordinators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, col, select

from app.audit.service import record
from app.core.deps import Coordinator, PostedForm, SessionDep, get_visible
from app.core.security import form_text, whole_number
from app.core.templates import render
from app.footage.models import Footage, FootageIncident
from app.incident import no_footage
from app.incident.models import Incident, IncidentStaff, NoFootageReason
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
IncidentId = Annotated[int, Path(ge=1, le=2**31 - 1)]
StaffNumber = Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")]


def _officer(session: Session, incident: Incident, staff_number: str) -> StaffMember:
    """An officer involved in the incident, or 404 (as for anyone else's)."""
    officer = session.exec(
        select(StaffMember)
        .join(IncidentStaff, col(IncidentStaff.staff_member_id) == StaffMember.id)
        .where(IncidentStaff.incident_id == incident.id, StaffMember.staff_number == staff_number)
    ).first()
    if officer is None:
        raise HTTPException(status_code=404, detail="That officer is not recorded as involved in this incident.")
    return officer


def _has_footage(session: Session, incident: Incident, officer: StaffMember) -> bool:
    return (
        session.exec(
            select(Footage.id)
            .join(FootageIncident, col(FootageIncident.footage_id) == Footage.id)
            .where(FootageIncident.incident_id == incident.id, Footage.wearer_id == officer.id)
        ).first()
        is not None
    )


def _back(given: Any) -> int | None:
    """Where the form was opened from, to go back to: the page of the list of officers with no footage (1 for
    its first), else None (the incident). Only that list: nothing else a request names is followed."""
    if form_text(given.get("back")) != "missing":
        return None
    return whole_number(form_text(given.get("page")), 1, 999_999) or 1


def _missing_list(page: int) -> str:
    return f"/footage/missing?page={page}" if page > 1 else "/footage/missing"


def _page(
    request: Request,
    session: Session,
    incident: Incident,
    officer: StaffMember,
    values: dict[str, str],
    errors: dict[str, str],
    back: int | None = None,
) -> Response:
    context: dict[str, Any] = {
        "incident": incident,
        "officer": officer,
        "reasons": list(NoFootageReason),
        "values": values,
        "errors": errors,
        "has_footage": _has_footage(session, incident, officer),
        "note_max": no_footage.NOTE_MAX,
        "back": _missing_list(back) if back is not None else None,
        "back_page": back if back is not None and back > 1 else None,
    }
    return render(
        request,
        "incident/no_footage.html",
        context,
        page_title=f"No footage from {officer.name}",
        status_code=400 if errors else 200,
    )


@router.get("/incidents/{incident_id}/officers/{staff_number}/no-footage")
def no_footage_form(
    incident_id: IncidentId, staff_number: StaffNumber, request: Request, principal: Coordinator, session: SessionDep
) -> Response:
    incident = get_visible(session, principal, Incident, incident_id)
    officer = _officer(session, incident, staff_number)
    current = no_footage.for_incident(session, incident_id).get(officer.id)  # type: ignore[arg-type]
    values = {"reason": current.reason.value, "note": current.note} if current else {}
    return _page(request, session, incident, officer, values, {}, _back(request.query_params))


@router.post("/incidents/{incident_id}/officers/{staff_number}/no-footage")
def no_footage_save(
    incident_id: IncidentId,
    staff_number: StaffNumber,
    request: Request,
    principal: Coordinator,
    session: SessionDep,
    posted: PostedForm,
) -> Response:
    incident = get_visible(session, principal, Incident, incident_id)
    officer = _officer(session, incident, staff_number)
    values = {k: form_text(posted.get(k)) for k in ("reason", "note")}
    try:
        row, before = no_footage.record(
            session, incident, officer, values["reason"], values["note"], user_id=principal.user.id
        )
    except no_footage.ExplanationRejected as exc:
        return _page(request, session, incident, officer, values, exc.errors, _back(posted))
    record(
        session,
        principal.actor,
        "no_footage_explained",
        object_type="incident",
        object_id=incident.id,
        establishment_id=incident.establishment_id,
        detail={"staff_number": officer.staff_number, "reason": row.reason.value, "note": row.note, "replaced": before},
    )
    back = _back(posted)
    if back is not None:  # back to the list, the next officer to do
        sep = "&" if back > 1 else "?"
        explained = f"explained={incident.id}-{officer.staff_number}"
        return RedirectResponse(f"{_missing_list(back)}{sep}{explained}", status_code=303)
    return RedirectResponse(f"/incidents/{incident.id}?explained={officer.staff_number}", status_code=303)
