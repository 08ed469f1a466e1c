"""API tokens (OAuth2 password flow) and who-am-I."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from app.audit.service import record
from app.auth.models import SessionKind, UserPublic
from app.auth.service import (
    SignInRefused,
    TooManyAttempts,
    authenticate,
    end_session,
    record_sign_in_failure,
    start_session,
)
from app.core.config import get_settings
from app.core.deps import CurrentPrincipal, SessionDep, client_ip

router = APIRouter(prefix="/api/v1", tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105
    expires_in: int


@router.post("/auth/token", response_model=Token, responses={401: {"description": "Refused"}, 429: {}})
def issue_token(request: Request, session: SessionDep, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a bearer token (OAuth2 password flow)."""
    ip = client_ip(request)
    try:
        user = authenticate(session, username=form.username, password=form.password, ip=ip)
    except TooManyAttempts as exc:
        session.rollback()  # release locks; the failure is written in its own transaction
        record_sign_in_failure(username=form.username, ip=ip, why="address_rate_limited")
        raise HTTPException(status_code=429, detail=exc.message) from None
    except SignInRefused as exc:
        session.rollback()  # release locks; the failure is written in its own transaction
        record_sign_in_failure(username=form.username, ip=ip, why="refused")
        raise HTTPException(status_code=401, detail=exc.message, headers={"WWW-Authenticate": "Bearer"}) from None
    issued = start_session(session, user, kind=SessionKind.api, ip=ip, user_agent=request.headers.get("user-agent"))
    from app.audit.service import Actor

    record(
        session,
        Actor(user.id, user.username, user.role, user.establishment_id, ip),
        "sign_in",
        object_type="user",
        object_id=user.id,
        detail={"via": "api_token"},
    )
    return Token(access_token=issued.token, expires_in=get_settings().api_token_hours * 3600)


@router.post("/auth/revoke", status_code=204)
def revoke_token(principal: CurrentPrincipal, session: SessionDep) -> None:
    """End the session or token used for this call."""
    end_session(session, principal.session_row)
    record(session, principal.actor, "sign_out", object_type="user", object_id=principal.user.id)


@router.get("/me", response_model=UserPublic)
def me(principal: CurrentPrincipal) -> UserPublic:
    return UserPublic.model_validate(principal.user, from_attributes=True)
