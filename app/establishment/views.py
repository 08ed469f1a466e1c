"""Admin pages: establishments and user accounts."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from app.audit.service import record
from app.auth.models import USERNAME_PATTERN, Role, User
from app.auth.service import create_user
from app.core.deps import Admin, SessionDep
from app.core.templates import render
from app.establishment import service
from app.establishment.models import Establishment, EstablishmentCreate, EstablishmentKind
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)


@router.get("/admin/establishments")
def establishments_page(request: Request, principal: Admin, session: SessionDep) -> Response:
    rows = session.exec(select(Establishment).order_by(Establishment.name)).all()
    return render(
        request,
        "admin/establishments.html",
        {"establishments": rows, "kinds": list(EstablishmentKind), "errors": {}, "values": {}},
        page_title="Establishments",
    )


@router.post("/admin/establishments")
def establishments_create(
    request: Request,
    principal: Admin,
    session: SessionDep,
    code: Annotated[str, Form(max_length=10)] = "",
    name: Annotated[str, Form(max_length=120)] = "",
    kind: Annotated[str, Form(max_length=40)] = "prison",
) -> Response:
    errors: dict[str, str] = {}
    try:
        data = EstablishmentCreate(code=code.strip().upper(), name=name.strip(), kind=EstablishmentKind(kind))
        est = service.create_establishment(session, data)
    except (ValueError, HTTPException) as exc:
        errors["code"] = getattr(exc, "detail", None) or "Enter a code of 2 to 10 capital letters or digits and a name"
        rows = session.exec(select(Establishment).order_by(Establishment.name)).all()
        return render(
            request,
            "admin/establishments.html",
            {
                "establishments": rows,
                "kinds": list(EstablishmentKind),
                "errors": errors,
                "values": {"code": code, "name": name, "kind": kind},
            },
            page_title="Establishments",
            status_code=400,
        )
    record(
        session,
        principal.actor,
        "establishment_create",
        object_type="establishment",
        object_id=est.id,
        establishment_id=est.id,
        detail={"code": est.code},
    )
    return RedirectResponse("/admin/establishments", status_code=303)


@router.get("/admin/users")
def users_page(request: Request, principal: Admin, session: SessionDep) -> Response:
    return _users(request, session, {}, {})


def _users(
    request: Request, session: SessionDep, values: dict[str, str], errors: dict[str, str], status_code: int = 200
) -> Response:
    users = session.exec(select(User).order_by(User.username)).all()
    ests = {e.id: e for e in session.exec(select(Establishment)).all()}
    return render(
        request,
        "admin/users.html",
        {"users": users, "establishments": ests, "roles": list(Role), "values": values, "errors": errors},
        page_title="Users",
        status_code=status_code,
    )


@router.post("/admin/users")
def users_create(
    request: Request,
    principal: Admin,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    display_name: Annotated[str, Form(max_length=120)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    establishment_id: Annotated[str, Form(max_length=10)] = "",
    staff_number: Annotated[str, Form(max_length=32)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    values = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "establishment_id": establishment_id,
        "staff_number": staff_number,
    }
    errors: dict[str, str] = {}
    est_id = int(establishment_id) if establishment_id.isdigit() else None
    if role not in {r.value for r in Role}:
        errors["role"] = "Choose a role"
    if not username.strip():
        errors["username"] = "Enter a username"
    elif not re.fullmatch(USERNAME_PATTERN, username.strip().lower()):
        errors["username"] = "Enter a username of 3 to 64 letters, digits, dots, dashes or underscores"
    elif session.exec(select(User).where(User.username == username.strip().lower())).first():
        errors["username"] = "That username is taken"
    if not display_name.strip():
        errors["display_name"] = "Enter the person's name"
    staff_id = None
    if role == Role.staff.value:
        sm = session.exec(
            select(StaffMember).where(
                StaffMember.establishment_id == est_id, StaffMember.staff_number == staff_number.strip()
            )
        ).first()
        if sm is None:
            errors["staff_number"] = "Enter the staff number of an officer at that establishment"
        else:
            staff_id = sm.id
    if not errors:
        try:
            user = create_user(
                session,
                username=username,
                password=password,
                display_name=display_name.strip(),
                role=Role(role),
                establishment_id=est_id,
                staff_member_id=staff_id,
            )
        except ValueError as exc:
            errors["password" if "password" in str(exc) else "establishment_id"] = str(exc).capitalize()
    if errors:
        return _users(request, session, values, errors, status_code=400)
    record(
        session,
        principal.actor,
        "user_create",
        object_type="user",
        object_id=user.id,
        establishment_id=est_id,
        detail={"username": user.username, "role": role},
    )
    return RedirectResponse("/admin/users", status_code=303)
