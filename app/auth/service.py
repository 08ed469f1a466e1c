"""Signing in and out, sessions and API tokens, the sign-in rate limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, func, select

from app.auth.models import (
    USERNAME_PATTERN,
    Role,
    SessionKind,
    SignInAttempt,
    User,
    UserSession,
    password_problem,
)
from app.core.config import get_settings
from app.core.security import hash_password, new_token, token_digest, verify_password
from app.core.types import utcnow

if TYPE_CHECKING:
    from app.audit.service import Actor
    from app.establishment.models import Establishment


class SignInRefused(Exception):
    """Wrong username or password, or locked out: deliberately one message for all of these."""

    message = (
        "The username or password is not right, or sign-in is paused for this account after too many "
        "attempts. Check them and try again in a few minutes."
    )


class TooManyAttempts(Exception):
    message = "Too many sign-in attempts from this address. Wait a few minutes and try again."


def _recent_failures(session: Session, *, username: str | None = None, ip: str | None = None) -> int:
    s = get_settings()
    since = utcnow() - timedelta(minutes=s.sign_in_lockout_minutes)
    q = (
        select(func.count())
        .select_from(SignInAttempt)
        .where(
            col(SignInAttempt.at) >= since,
            SignInAttempt.succeeded == False,  # noqa: E712
        )
    )
    if username is not None:
        q = q.where(SignInAttempt.username == username)
    if ip is not None:
        q = q.where(SignInAttempt.ip == ip)
    return int(session.exec(q).one())


def authenticate(session: Session, *, username: str, password: str, ip: str | None) -> User:
    """Check a password under the rate limit. Records the attempt; the caller commits.

    The per-account limit answers exactly like a wrong password (and applies to unknown usernames
    too), so the reply never tells whether an account exists.
    """
    s = get_settings()
    username = username.strip().lower()[:255]
    if ip and _recent_failures(session, ip=ip) >= s.sign_in_max_failures_per_address:
        raise TooManyAttempts()
    locked = _recent_failures(session, username=username) >= s.sign_in_max_failures
    user = session.exec(select(User).where(User.username == username)).first()
    ok = verify_password(user.password_hash if user else None, password)
    if locked or not ok or user is None or not user.active:
        raise SignInRefused()
    # The password was checked against the row as read before the (slow) hash check. If an administrator
    # gave a new password or turned the sign-in off meanwhile, their change has ended every session but this
    # one, not yet written: so the sign-in goes ahead only if the row still has the password just checked and
    # is still active. The update waits for, then re-reads, a change in progress.
    now = utcnow()
    still = session.execute(
        sa.update(User)
        .where(col(User.id) == user.id, col(User.active).is_(True), col(User.password_hash) == user.password_hash)
        .values(last_sign_in_at=now)
        .execution_options(synchronize_session=False)
    )
    if not still.rowcount:  # type: ignore[attr-defined]
        raise SignInRefused()
    set_committed_value(user, "last_sign_in_at", now)  # as written: no second update at the flush
    session.add(SignInAttempt(username=username, ip=ip, succeeded=True))
    return user


def record_sign_in_failure(*, username: str, ip: str | None, why: str) -> None:
    """In its own transaction: the request that failed rolls back, the failure must still count."""
    from app.audit.service import Actor, record
    from app.core.db import unit_of_work

    username = username.strip().lower()[:255]
    with unit_of_work() as session:
        session.add(SignInAttempt(username=username, ip=ip, succeeded=False))
        record(session, Actor(username=username[:64], ip=ip), "sign_in", outcome="denied", detail={"why": why})


@dataclass
class IssuedSession:
    token: str
    row: UserSession


def start_session(
    session: Session, user: User, *, kind: SessionKind, ip: str | None, user_agent: str | None
) -> IssuedSession:
    """A fresh random id every sign-in (no fixation); only its digest is stored."""
    token = new_token()
    row = UserSession(
        token_hash=token_digest(token),
        kind=kind,
        user_id=user.id,  # type: ignore[arg-type]
        csrf_token=new_token(),
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    session.add(row)
    session.flush()
    return IssuedSession(token=token, row=row)


def end_session(session: Session, row: UserSession) -> None:
    row.ended_at = utcnow()
    session.add(row)


def end_user_sessions(session: Session, user_id: int, *, keep: int | None = None) -> int:
    """End every live browser session and API token of a user but `keep` (a session id); how many ended."""
    live = [col(UserSession.user_id) == user_id, col(UserSession.ended_at).is_(None)]
    if keep is not None:
        live.append(col(UserSession.id) != keep)
    result = session.exec(
        sa.update(UserSession).where(*live).values(ended_at=utcnow())  # type: ignore[call-overload]
    )
    return int(result.rowcount or 0)


class ChangeRefused(ValueError):
    """A change to a user that would lock the service out or break a rule (the message says which)."""


def _user_entry(user: User, **detail: Any) -> dict[str, Any]:
    """An audit entry's fields for a change to `user` (never the password itself: `password="changed"`)."""
    return {
        "object_type": "user",
        "object_id": user.id,
        "establishment_id": user.establishment_id,
        "detail": {"username": user.username, **detail},
    }


def record_user_change(session: Session, actor: Actor, user: User, **detail: Any) -> None:
    from app.audit.service import record

    record(session, actor, "user_update", **_user_entry(user, **detail))


def record_refused_change(session: Session, actor: Actor, user: User, why: str) -> None:
    """Give up the request's transaction and put the refused change on the audit trail, in a transaction of
    its own (the user's fields are read first: after the rollback, reading them would begin a transaction)."""
    from app.audit.service import record_now

    entry = _user_entry(user, why=why)
    session.rollback()
    record_now(actor, "user_update", outcome="denied", **entry)


def _lock_users(session: Session, *ids: int) -> dict[int, User]:
    """Lock the users' rows (in id order, so two administrators cannot deadlock) and read them afresh."""
    rows = session.exec(
        select(User)
        .where(col(User.id).in_(sorted(set(ids))))
        .order_by(col(User.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    return {u.id: u for u in rows}  # type: ignore[misc]


def set_user_active(session: Session, user: User, active: bool, *, by_user_id: int) -> int:
    """Turn a user's sign-in on or off (a leaver, a long absence). Turning it off ends their sessions and API
    tokens at once; their ratings, acknowledgements and audit entries stay as they are. Returns the sessions
    ended. Refused, so that an administrator is always left to turn sign-ins on: an administrator turning off
    their own sign-in, and any change by an administrator whose own sign-in was turned off meanwhile (two
    administrators turning each other off at once: the second to get the lock is refused)."""
    if not active and user.id == by_user_id:
        raise ChangeRefused("you cannot turn off your own sign-in: ask another administrator")
    locked = _lock_users(session, user.id, by_user_id)  # type: ignore[arg-type]
    actor = locked.get(by_user_id)
    if actor is None or not actor.active:
        raise ChangeRefused("your own sign-in has been turned off")
    user.active = active
    session.add(user)
    session.flush()  # the row is written (and stays locked) before the sessions are ended
    return end_user_sessions(session, user.id) if not active else 0  # type: ignore[arg-type]


def set_password(session: Session, user: User, password: str, *, keep: int | None = None) -> int:
    """Give a user a new password (forgotten, or known to someone else). Their sessions and API tokens end but
    `keep` (the session making the change, when it is their own): they sign in again with the new one.
    Returns the sessions ended."""
    problem = password_problem(password, user.username)
    if problem:
        raise ChangeRefused(f"the password {problem}")
    _lock_users(session, user.id)  # type: ignore[arg-type]
    user.password_hash = hash_password(password)
    session.add(user)
    session.flush()
    return end_user_sessions(session, user.id, keep=keep)  # type: ignore[arg-type]


def resolve_signed_in(
    session: Session, token: str, *, kind: SessionKind
) -> tuple[UserSession, User, Establishment | None] | None:
    """The live session, its user and the user's establishment (None for admins), or None if the token is
    unknown, ended, idle too long or too old. One statement, as it runs on every request."""
    from app.establishment.models import Establishment

    s = get_settings()
    found = session.execute(
        sa.select(UserSession, User, Establishment)
        .join(User, col(User.id) == col(UserSession.user_id))
        .outerjoin(Establishment, col(Establishment.id) == col(User.establishment_id))
        .where(col(UserSession.token_hash) == token_digest(token), col(UserSession.kind) == kind)
    ).first()
    if found is None:
        return None
    row, user, est = found
    if row.ended_at is not None:
        return None
    now = utcnow()
    absolute = timedelta(hours=s.session_absolute_hours if kind == SessionKind.browser else s.api_token_hours)
    idle = timedelta(minutes=s.session_idle_minutes)
    if now - row.created_at > absolute or (kind == SessionKind.browser and now - row.last_seen_at > idle):
        row.ended_at = now
        session.add(row)
        return None
    if not user.active:
        return None
    if now - row.last_seen_at > timedelta(seconds=30):
        # Throttled so that every request does not become a write.
        session.exec(
            sa.update(UserSession).where(col(UserSession.id) == row.id).values(last_seen_at=now)  # type: ignore[call-overload]
        )
    return row, user, est


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    establishment_id: int | None,
    staff_member_id: int | None = None,
) -> User:
    username = username.strip().lower()
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise ValueError("a username is 3 to 64 of a-z, 0-9, dot, dash and underscore")
    if role != Role.admin and establishment_id is None:
        raise ValueError("every role except admin belongs to an establishment")
    if role == Role.admin and establishment_id is not None:
        raise ValueError("an administrator works across every establishment: give no establishment")
    if role == Role.staff and staff_member_id is None:
        raise ValueError("a staff user must be linked to their staff member record")
    if staff_member_id is not None:
        from app.staff.models import StaffMember

        # Checked here, not left to the foreign key: an unknown officer is bad input (422), not a conflict (409).
        officer = session.get(StaffMember, staff_member_id)
        if officer is None or officer.establishment_id != establishment_id:
            raise ValueError("the staff member must belong to the user's establishment")
        # One sign-in per officer: a second would be another way into their feedback, kept by someone else.
        holder = session.exec(select(User).where(User.staff_member_id == staff_member_id)).first()
        if holder is not None:
            raise ValueError(f"that officer already has a sign-in ({holder.username})")
    problem = password_problem(password, username)
    if problem:
        raise ValueError(f"the password {problem}")
    user = User(
        username=username,
        display_name=display_name,
        role=role,
        establishment_id=establishment_id,
        staff_member_id=staff_member_id,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    return user
