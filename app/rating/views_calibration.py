"""Calibration pages: my blind second ratings, sending clips for one, agreement and disagreements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from app.audit.service import record
from app.auth.models import User
from app.core.deps import Coordinator, PostedForm, Principal, SessionDep, get_visible
from app.core.security import form_text, whole_number
from app.core.templates import render
from app.footage.models import Footage
from app.incident.models import Incident
from app.rating import service
from app.rating.api import audit_rating
from app.rating.models import CalibrationAssignment
from app.rating.views import _audit_view, _form_values, screen_context
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
AssignmentId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/calibration")
def calibration_home(request: Request, principal: Coordinator, session: SessionDep) -> Response:
    est = principal.establishment_id
    mine = []
    for a in service.my_assignments(session, principal.user.id):  # type: ignore[arg-type]
        f = session.get(Footage, a.footage_id)
        if f is None or f.purged_at is not None:
            continue
        inc = service.primary_incident(session, a.footage_id)
        wearer = session.get(StaffMember, f.wearer_id) if f.wearer_id else None
        by = session.get(User, a.requested_by_user_id)
        mine.append({"a": a, "footage": f, "incident": inc, "wearer": wearer, "by": by})
    pairs, disagreements = service.calibration_results(
        session, est, hidden=service.blind_footage_ids(session, principal.user.id)
    )
    others = [u for u in service.coordinators(session, est) if u.id != principal.user.id] if est else []
    pending_sent = (
        session.exec(
            select(CalibrationAssignment).where(
                CalibrationAssignment.establishment_id == est,
                CalibrationAssignment.completed_at == None,  # noqa: E711
            )
        ).all()
        if est
        else []
    )
    record(
        session,
        principal.actor,
        "calibration_view",
        establishment_id=est,
        detail={"pending": len(mine), "pairs": len(pairs), "disagreements": len(disagreements)},
    )
    return render(
        request,
        "rating/calibration.html",
        {
            "mine": mine,
            "pairs": pairs,
            "disagreements": disagreements,
            "others": others,
            "pending_total": len(pending_sent),
            "errors": {},
            "sent": request.query_params.get("sent"),
            "values": {},
        },
        page_title="Calibration",
    )


@router.post("/calibration")
def calibration_send(request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm) -> Response:
    form = posted
    est = principal.establishment_id
    errors: dict[str, str] = {}
    raw_user = str(form.get("assigned_to", "") or "")
    raw_n = str(form.get("sample_size", "") or "").strip()
    assignee = (
        session.get(User, int(raw_user)) if raw_user.isascii() and raw_user.isdigit() and len(raw_user) < 10 else None
    )
    if est is None:
        raise HTTPException(status_code=404, detail="Admins send clips for calibration through the API.")
    if assignee is None or assignee.establishment_id != est:
        errors["assigned_to"] = "Choose the coordinator who will give the second rating"
    sample_size = whole_number(raw_n, 1, 100)
    if sample_size is None:
        errors["sample_size"] = "Enter how many clips to send, from 1 to 100"
    note = form_text(form.get("note")).strip()
    if len(note) > 500:
        errors["note"] = f"The note must be 500 characters or fewer (it has {len(note):,})"
    rows = []
    if not errors:
        assert assignee is not None and sample_size is not None
        try:
            rows = service.send_for_calibration(
                session,
                establishment_id=est,
                assignee=assignee,
                requested_by=principal.user.id,  # type: ignore[arg-type]
                sample_size=sample_size,
                note=note,
            )
        except service.RatingRejected as exc:
            errors.update(exc.errors)
    if errors:
        session.rollback()
        pairs, disagreements = service.calibration_results(
            session, est, hidden=service.blind_footage_ids(session, principal.user.id)
        )
        others = [u for u in service.coordinators(session, est) if u.id != principal.user.id]
        return render(
            request,
            "rating/calibration.html",
            {
                "mine": [],
                "pairs": pairs,
                "disagreements": disagreements,
                "others": others,
                "pending_total": 0,
                "errors": errors,
                "sent": None,
                "values": {"assigned_to": raw_user, "sample_size": raw_n, "note": note},
            },
            page_title="Calibration",
            status_code=422,
        )
    assert assignee is not None
    record(
        session,
        principal.actor,
        "calibration_send",
        object_type="user",
        object_id=assignee.id,
        establishment_id=est,
        detail={"footage_ids": [a.footage_id for a in rows], "via": "form"},
    )
    return RedirectResponse(f"/calibration?sent={len(rows)}", status_code=303)


def _mine(session: SessionDep, principal: Coordinator, assignment_id: int) -> tuple[CalibrationAssignment, Footage]:
    a = get_visible(session, principal, CalibrationAssignment, assignment_id)
    if a.assigned_to_user_id != principal.user.id:
        raise HTTPException(status_code=404, detail="calibration assignment not found")
    footage = get_visible(session, principal, Footage, a.footage_id)
    return a, footage


@router.get("/calibration/{assignment_id:int}")
def calibration_screen(
    request: Request, assignment_id: AssignmentId, principal: Coordinator, session: SessionDep
) -> Response:
    a, footage = _mine(session, principal, assignment_id)
    if a.completed_at is not None:
        return RedirectResponse("/calibration", status_code=303)
    ctx = screen_context(session, principal, footage, params={}, blind=True, assignment=a)
    ctx.update(values={"criteria": [], "rag": "", "guidance": ""}, errors={}, saved=None)
    ctx["action"] = f"/calibration/{assignment_id}"
    _audit_view(session, principal, footage, blind=True)
    return render(request, "review/screen.html", ctx, page_title="Blind second rating")


@router.post("/calibration/{assignment_id:int}")
def calibration_rate(
    request: Request, assignment_id: AssignmentId, principal: Coordinator, session: SessionDep, posted: PostedForm
) -> Response:
    a, footage = _mine(session, principal, assignment_id)
    form = posted
    data, values = _form_values(form)
    try:
        rating = service.rate_calibration(session, a, footage, data, user_id=principal.user.id)  # type: ignore[arg-type]
    except service.RatingRejected as exc:
        session.rollback()
        ctx = screen_context(session, principal, footage, params={}, blind=True, assignment=a)
        ctx.update(values=values, errors=exc.errors, saved=None)
        ctx["action"] = f"/calibration/{assignment_id}"
        return render(
            request,
            "review/screen.html",
            ctx,
            status_code=exc.status_code,
            page_title=f"Rate {footage.original_filename}",
        )
    audit_rating(session, principal, rating, via="calibration")
    nxt = next(iter(service.my_assignments(session, principal.user.id)), None)  # type: ignore[arg-type]
    return RedirectResponse(f"/calibration/{nxt.id}" if nxt else "/calibration?done=1", status_code=303)


__all__ = ["router", "Incident"]


def _results(
    session: Session, est: int | None, principal: Principal
) -> tuple[list[service.PairReport], list[service.Disagreement]]:
    """Agreement and disagreements, without the clips this coordinator still owes a blind rating."""
    return service.calibration_results(session, est, hidden=service.blind_footage_ids(session, principal.user.id))
