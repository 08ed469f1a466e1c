"""Sign-in and sign-out pages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.audit.service import Actor, record
from app.auth.models import SessionKind
from app.auth.service import (
    SignInRefused,
    TooManyAttempts,
    authenticate,
    end_session,
    record_sign_in_failure,
    start_session,
)
from app.core.config import get_settings
from app.core.deps import CurrentPrincipal, OptionalPrincipal, SessionDep, client_ip, record_refusal
from app.core.security import local_path, new_token, tokens_match
from app.core.templates import render

router = APIRouter(include_in_schema=False)


def _safe_next(value: str | None) -> str:
    """Only paths on this site, never `//evil.example` or `https://...`."""
    return local_path(value) or "/"


def _sign_in_page(
    request: Request, *, next_url: str, error: str | None = None, username: str = "", status_code: int = 200
) -> Response:
    token = new_token()
    request.state.presession = token
    response = render(
        request,
        "auth/sign_in.html",
        {"next": next_url, "error": error, "username": username},
        page_title=("Error: " if error else "") + "Sign in",
        status_code=status_code,
    )
    s = get_settings()
    response.set_cookie(
        s.presession_cookie_name,
        token,
        httponly=True,
        secure=s.cookie_secure,
        samesite="strict",
        path="/",
        max_age=3600,
    )
    return response


@router.get("/sign-in")
def sign_in_form(request: Request, principal: OptionalPrincipal, next: str | None = None) -> Response:
    if principal is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _sign_in_page(request, next_url=_safe_next(next))


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=255)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=128)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    s = get_settings()
    next_url = _safe_next(next)
    if not tokens_match(request.cookies.get(s.presession_cookie_name), csrf_token):
        # Audited like every other CSRF refusal, under the name typed (as failed sign-ins are).
        session.rollback()  # the entry is written in its own transaction
        who = Actor(username=username.strip().lower()[:64] or "anonymous", ip=client_ip(request))
        detail = {"method": "POST", "path": request.url.path, "origin": request.headers.get("origin")}
        record_refusal(who, "csrf_refused", detail)
        return _sign_in_page(
            request,
            next_url=next_url,
            username=username,
            status_code=403,
            error="The sign-in form had expired. Enter your details again.",
        )
    if not username.strip() or not password:
        return _sign_in_page(
            request, next_url=next_url, username=username, status_code=400, error="Enter your username and password."
        )
    ip = client_ip(request)
    try:
        user = authenticate(session, username=username, password=password, ip=ip)
    except TooManyAttempts as exc:
        session.rollback()  # release locks; the failure is written in its own transaction
        record_sign_in_failure(username=username, ip=ip, why="address_rate_limited")
        return _sign_in_page(request, next_url=next_url, username=username, status_code=429, error=exc.message)
    except SignInRefused as exc:
        session.rollback()  # release locks; the failure is written in its own transaction
        record_sign_in_failure(username=username, ip=ip, why="refused")
        return _sign_in_page(request, next_url=next_url, username=username, status_code=401, error=exc.message)
    issued = start_session(session, user, kind=SessionKind.browser, ip=ip, user_agent=request.headers.get("user-agent"))
    record(
        session,
        Actor(user.id, user.username, user.role, user.establishment_id, ip),
        "sign_in",
        object_type="user",
        object_id=user.id,
        detail={"via": "browser"},
    )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        s.session_cookie_name,
        issued.token,
        httponly=True,
        secure=s.cookie_secure,
        samesite="lax",
        path="/",
        max_age=s.session_absolute_hours * 3600,
    )
    response.delete_cookie(s.presession_cookie_name, path="/", secure=s.cookie_secure, httponly=True)
    return response


@router.post("/sign-out")
def sign_out(principal: CurrentPrincipal, session: SessionDep) -> Response:
    end_session(session, principal.session_row)
    record(session, principal.actor, "sign_out", object_type="user", object_id=principal.user.id)
    s = get_settings()
    response = RedirectResponse("/sign-in?signed_out=1", status_code=303)
    response.delete_cookie(s.session_cookie_name, path="/", secure=s.cookie_secure, httponly=True, samesite="lax")
    return response
