"""Admin pages: establishments and user accounts."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import select

from app.audit.service import record
from app.auth.models import PASSWORD_MIN, USERNAME_PATTERN, Role, User, password_problem
from app.auth.service import create_user
from app.core.deps import Admin, SessionDep
from app.core.templates import render
from app.establishment import service
from app.establishment.models import Establishment, EstablishmentCreate, EstablishmentKind
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
# Form fields are read whole (far past any limit) and checked here, so text too long is explained beside its
# field with the rest of the form kept, instead of the whole request being refused.
FORM_TEXT_MAX = 10_000
USER_FIELDS = ("username", "display_name", "role", "establishment_id", "staff_number", "password")


def _in_order(errors: dict[str, str], field: str, message: str) -> dict[str, str]:
    """`errors` with one more, all in the order the user form shows its fields."""
    errors = {**errors, field: message}
    return {k: errors[k] for k in USER_FIELDS if k in errors}


@router.get("/admin/establishments")
def establishments_page(request: Request, principal: Admin, session: SessionDep) -> Response:
    rows = session.exec(select(Establishment).order_by(Establishment.name)).all()
    return render(
        request,
        "admin/establishments.html",
        {
            "establishments": rows,
            "kinds": list(EstablishmentKind),
            "errors": {},
            "values": {},
            "added": next((e for e in rows if e.code == request.query_params.get("added")), None),
        },
        page_title="Establishments",
    )


@router.post("/admin/establishments")
def establishments_create(
    request: Request,
    principal: Admin,
    session: SessionDep,
    code: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    name: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    kind: Annotated[str, Form(max_length=40)] = "prison",
) -> Response:
    errors: dict[str, str] = {}
    code_v, name_v = code.strip().upper(), name.strip()
    if not re.fullmatch(r"[A-Z0-9]{2,10}", code_v):
        errors["code"] = "Enter a code of 2 to 10 capital letters or digits, for example LPI"
    if not name_v:
        errors["name"] = "Enter the establishment's name"
    elif len(name_v) > 120:
        errors["name"] = f"The name must be 120 characters or fewer (it has {len(name_v):,})"
    elif (same := service.name_taken(session, name_v)) is not None:
        errors["name"] = f"{same.code} is already called {same.name}: choose a name that tells them apart"
    if kind not in {k.value for k in EstablishmentKind}:
        errors["kind"] = "Choose the kind of establishment"
    try:
        if errors:
            raise ValueError("see errors")
        data = EstablishmentCreate(code=code_v, name=name_v, kind=EstablishmentKind(kind))
        est = service.create_establishment(session, data)
    except (ValueError, HTTPException) as exc:
        if not errors:
            errors["code"] = getattr(exc, "detail", None) or "Enter a code of 2 to 10 capital letters or digits"
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
    return RedirectResponse(f"/admin/establishments?added={quote(est.code)}", status_code=303)


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
        {
            "users": users,
            "establishments": ests,
            "roles": list(Role),
            "values": values,
            "errors": errors,
            "added": None
            if errors
            else next((u for u in users if u.username == request.query_params.get("added")), None),
        },
        page_title="Users",
        status_code=status_code,
    )


@router.post("/admin/users")
def users_create(
    request: Request,
    principal: Admin,
    session: SessionDep,
    username: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    display_name: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    role: Annotated[str, Form(max_length=20)] = "",
    establishment_id: Annotated[str, Form(max_length=10)] = "",
    staff_number: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
    password: Annotated[str, Form(max_length=FORM_TEXT_MAX)] = "",
) -> Response:
    values = {
        "username": username,
        "display_name": display_name,
        "role": role,
        "establishment_id": establishment_id,
        "staff_number": staff_number,
    }
    errors: dict[str, str] = {}  # in the order of the form's fields: the error summary lists them so
    est_id = int(establishment_id) if establishment_id.isascii() and establishment_id.isdigit() else None
    if not username.strip():
        errors["username"] = "Enter a username"
    elif not re.fullmatch(USERNAME_PATTERN, username.strip().lower()):
        errors["username"] = "Enter a username of 3 to 64 letters, digits, dots, dashes or underscores"
    elif session.exec(select(User).where(User.username == username.strip().lower())).first():
        errors["username"] = "That username is taken"
    if not display_name.strip():
        errors["display_name"] = "Enter the person's name"
    elif len(display_name.strip()) > 120:
        errors["display_name"] = f"The name must be 120 characters or fewer (it has {len(display_name.strip()):,})"
    if role not in {r.value for r in Role}:
        errors["role"] = "Choose a role"
    elif role != Role.admin.value and est_id is None:
        errors["establishment_id"] = "Choose the establishment: every role except administrator belongs to one"
    elif role == Role.admin.value and est_id is not None:
        errors["establishment_id"] = "Choose None: administrators work across every establishment"
    if len(password) < PASSWORD_MIN:
        errors["password"] = f"Enter an initial password of at least {PASSWORD_MIN} characters"  # noqa: S105
    elif weak := password_problem(password, username.strip()):
        errors["password"] = f"The password {weak}"
    staff_id = None
    if role == Role.staff.value:
        sm = session.exec(
            select(StaffMember).where(
                StaffMember.establishment_id == est_id, StaffMember.staff_number == staff_number.strip()
            )
        ).first()
        holder = session.exec(select(User).where(User.staff_member_id == sm.id)).first() if sm else None
        if sm is None:
            errors = _in_order(errors, "staff_number", "Enter the staff number of an officer at that establishment")
        elif holder is not None:
            errors = _in_order(errors, "staff_number", f"That officer already has a sign-in: {holder.username}")
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
    return RedirectResponse(f"/admin/users?added={quote(user.username)}", status_code=303)
