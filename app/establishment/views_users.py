"""One user, for administrators: turn their sign-in off (a leaver) or on again, and give them a new password.

Both end the user's sessions and API tokens at once. Users are never deleted: their ratings, acknowledgements
and audit entries name them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from app.auth.models import PASSWORD_MIN, User, password_problem
from app.auth.service import ChangeRefused, record_refused_change, record_user_change, set_password, set_user_active
from app.core.deps import Admin, PostedForm, Principal, SessionDep, get_visible
from app.core.templates import render
from app.establishment.models import Establishment
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
DONE = {
    "deactivated": "Sign-in turned off. Their sessions and API tokens have ended.",
    "reactivated": "Sign-in turned on. They can sign in with their password.",
    "password": "Password changed. Their sessions and API tokens have ended.",
    "own-password": "Password changed. You stay signed in here; your other sessions and API tokens have ended.",
}


def _page(
    request: Request,
    session: Session,
    principal: Principal,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        "user": user,
        "est": session.get(Establishment, user.establishment_id) if user.establishment_id else None,
        "officer": session.get(StaffMember, user.staff_member_id) if user.staff_member_id else None,
        "is_self": user.id == principal.user.id,
        "errors": errors or {},
        "done": None if errors else DONE.get(request.query_params.get("done", "")),
        "password_min": PASSWORD_MIN,
    }
    return render(request, "admin/user.html", ctx, page_title=f"User {user.username}", status_code=status_code)


@router.get("/admin/users/{user_id}")
def user_page(request: Request, user_id: int, principal: Admin, session: SessionDep) -> Response:
    return _page(request, session, principal, get_visible(session, principal, User, user_id))


@router.post("/admin/users/{user_id}/active")
def user_active(request: Request, user_id: int, principal: Admin, session: SessionDep, form: PostedForm) -> Response:
    user = get_visible(session, principal, User, user_id)
    if form.get("active") not in ("0", "1"):
        raise HTTPException(status_code=422, detail="Send active as 0 (turn off) or 1 (turn on).")
    active = form.get("active") == "1"
    try:
        ended = set_user_active(session, user, active, by_user_id=principal.user.id)  # type: ignore[arg-type]
    except ChangeRefused as exc:
        record_refused_change(session, principal.actor, user, str(exc))
        return _page(request, session, principal, user, errors={"active": str(exc).capitalize()}, status_code=409)
    record_user_change(session, principal.actor, user, active=active, sessions_ended=ended)
    return RedirectResponse(f"/admin/users/{user.id}?done={'reactivated' if active else 'deactivated'}", 303)


@router.post("/admin/users/{user_id}/password")
def user_password(request: Request, user_id: int, principal: Admin, session: SessionDep, form: PostedForm) -> Response:
    user = get_visible(session, principal, User, user_id)
    password = str(form.get("password") or "")
    if not password:
        problem = "Enter a new password"
    elif len(password) < PASSWORD_MIN:
        problem = f"Enter a password of at least {PASSWORD_MIN} characters"
    else:
        weak = password_problem(password, user.username)
        problem = f"The password {weak}" if weak else ""
    if problem:
        return _page(request, session, principal, user, errors={"password": problem}, status_code=422)
    # Their own password: the session making the change stays signed in (their others end).
    ended = set_password(
        session, user, password, keep=principal.session_row.id if user.id == principal.user.id else None
    )
    record_user_change(session, principal.actor, user, password="changed", sessions_ended=ended)  # noqa: S106
    own = user.id == principal.user.id
    return RedirectResponse(f"/admin/users/{user.id}?done={'own-password' if own else 'password'}", 303)
