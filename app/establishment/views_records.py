"""Officers and cameras: the records an establishment's incidents, uploads and officer sign-ins name.

Coordinators keep their own establishment's; administrators choose one (`?establishment=CODE`), so that a new
establishment can be set up from the pages alone (before, only the API could add them)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session, select

from app.audit.service import record
from app.auth.models import User
from app.core.deps import Coordinator, PostedForm, Principal, SessionDep
from app.core.security import form_text
from app.core.templates import render
from app.establishment import service
from app.establishment.models import Camera, CameraCreate, Establishment
from app.staff.models import StaffMember, StaffMemberCreate

router = APIRouter(include_in_schema=False)
PATH = "/staff-and-cameras"
STAFF_NUMBER = re.compile(r"^[A-Za-z0-9\-]{1,32}$")


def _establishment(session: Session, principal: Principal, code: str | None) -> Establishment | None:
    """The coordinator's own; for an administrator, the one named by its code (None: they choose)."""
    if not principal.is_admin:
        est = session.get(Establishment, principal.establishment_id)
        assert est is not None
        return est
    if not code:
        return None
    est = session.exec(select(Establishment).where(Establishment.code == code)).first()
    if est is None:
        raise HTTPException(status_code=404, detail="No establishment has that code.")
    return est


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    est: Establishment | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx: dict[str, Any] = {"est": est, "errors": errors or {}, "values": values or {}, "added": None}
    if est is None:
        ctx["establishments"] = session.exec(select(Establishment).order_by(Establishment.name)).all()
    else:
        ctx["officers"] = session.exec(
            select(StaffMember).where(StaffMember.establishment_id == est.id).order_by(StaffMember.name)
        ).all()
        ctx["cameras"] = session.exec(
            select(Camera).where(Camera.establishment_id == est.id).order_by(Camera.serial)
        ).all()
        ctx["sign_ins"] = {
            u.staff_member_id: u.username
            for u in session.exec(select(User).where(User.establishment_id == est.id)).all()
            if u.staff_member_id is not None
        }
        added = request.query_params.get("added", "")
        kind, _, key = added.partition(":")
        if not errors and kind == "officer":
            ctx["added"] = next(
                (f"Officer {o.name} ({o.staff_number})" for o in ctx["officers"] if o.staff_number == key), None
            )
        elif not errors and kind == "camera":
            ctx["added"] = next((f"Camera {c.serial}" for c in ctx["cameras"] if c.serial == key), None)
        ctx["query"] = f"?establishment={quote(est.code)}" if principal.is_admin else ""
    return render(
        request, "admin/staff_and_cameras.html", ctx, page_title="Officers and cameras", status_code=status_code
    )


@router.get(PATH)
def records_page(
    request: Request, principal: Coordinator, session: SessionDep, establishment: str | None = None
) -> Response:
    est = _establishment(session, principal, establishment)
    if est is not None:
        record(session, principal.actor, "staff_list_view", establishment_id=est.id, detail={"via": "page"})
    return _page(request, session, principal, est)


def _target(session: Session, principal: Principal, request: Request) -> Establishment:
    est = _establishment(session, principal, request.query_params.get("establishment"))
    if est is None:
        raise HTTPException(status_code=404, detail="Choose the establishment first.")
    return est


@router.post(f"{PATH}/officers")
def add_officer(request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm) -> Response:
    est = _target(session, principal, request)
    values = {k: form_text(posted.get(k)).strip() for k in ("staff_number", "name")}
    errors: dict[str, str] = {}
    number, name = values["staff_number"], values["name"]
    if not number:
        errors["staff_number"] = "Enter the officer's staff number"
    elif not STAFF_NUMBER.match(number):
        errors["staff_number"] = "A staff number is up to 32 letters, digits and dashes"
    elif session.exec(
        select(StaffMember).where(StaffMember.establishment_id == est.id, StaffMember.staff_number == number)
    ).first():
        errors["staff_number"] = f"Staff number {number} is already used here"
    if not name:
        errors["name"] = "Enter the officer's name"
    elif len(name) > 120:
        errors["name"] = f"The name must be 120 characters or fewer (it has {len(name):,})"
    if errors:
        return _page(request, session, principal, est, errors=errors, values=values, status_code=400)
    officer = service.add_staff_member(session, est.id, StaffMemberCreate(staff_number=number, name=name))  # type: ignore[arg-type]
    record(
        session,
        principal.actor,
        "staff_create",
        object_type="staff_member",
        object_id=officer.id,
        establishment_id=est.id,
        detail={"staff_number": number, "via": "page"},
    )
    return _back(principal, est, f"officer:{number}")


@router.post(f"{PATH}/cameras")
def add_camera(request: Request, principal: Coordinator, session: SessionDep, posted: PostedForm) -> Response:
    est = _target(session, principal, request)
    values = {k: form_text(posted.get(k)).strip() for k in ("serial", "label")}
    errors: dict[str, str] = {}
    serial, label = values["serial"], values["label"]
    if not serial:
        errors["serial"] = "Enter the camera's serial number"
    elif len(serial) > 64:
        errors["serial"] = f"The serial number must be 64 characters or fewer (it has {len(serial):,})"
    elif session.exec(select(Camera).where(Camera.establishment_id == est.id, Camera.serial == serial)).first():
        errors["serial"] = f"Camera {serial} is already registered here"
    if len(label) > 120:
        errors["label"] = f"The label must be 120 characters or fewer (it has {len(label):,})"
    if errors:
        return _page(request, session, principal, est, errors=errors, values=values, status_code=400)
    camera = service.add_camera(session, est.id, CameraCreate(serial=serial, label=label or None))  # type: ignore[arg-type]
    record(
        session,
        principal.actor,
        "camera_create",
        object_type="camera",
        object_id=camera.id,
        establishment_id=est.id,
        detail={"serial": serial, "via": "page"},
    )
    return _back(principal, est, f"camera:{serial}")


def _back(principal: Principal, est: Establishment, added: str) -> Response:
    where = f"establishment={quote(est.code)}&" if principal.is_admin else ""
    return RedirectResponse(f"{PATH}?{where}added={quote(added)}", status_code=303)
