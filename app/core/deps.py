"""Request dependencies: the unit of work, who is signed in, CSRF, and the one place access is decided.

Every route that shows or changes a record gets it through `get_visible` (or a `visible_*` query
filter), so scoping by establishment and by wearer is written once. A record outside the caller's scope
answers 404, exactly like a record that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import sqlalchemy.exc
from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlmodel import Session, SQLModel
from starlette.datastructures import FormData

from app.audit.service import Actor, record_now
from app.auth.models import Role, SessionKind, User, UserSession
from app.auth.service import resolve_signed_in
from app.core.config import get_settings
from app.core.db import get_session
from app.core.logging import get_logger
from app.core.security import tokens_match
from app.establishment.models import Establishment

log = get_logger("bwv.access")

SessionDep = Annotated[Session, Depends(get_session, scope="function")]

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
MAX_ID = 2**31 - 1  # integer primary keys (PostgreSQL `integer`)


class SignInRequired(Exception):
    """Raised for a request with no valid session: 401 for the API, a redirect for pages."""


class Forbidden(Exception):
    """The signed-in user's role may not do this: 403."""

    def __init__(self, message: str = "Your role does not allow this.") -> None:
        self.message = message


class CsrfFailure(Exception):
    def __init__(self, message: str) -> None:
        self.message = message


@dataclass
class Principal:
    user: User
    session_row: UserSession
    via: SessionKind
    ip: str | None
    establishment: Establishment | None = None  # the user's own, read with the sign-in check (detached)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def establishment_id(self) -> int | None:
        return self.user.establishment_id

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def actor(self) -> Actor:
        return Actor(
            user_id=self.user.id,
            username=self.user.username,
            role=self.user.role,
            establishment_id=self.user.establishment_id,
            ip=self.ip,
        )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    parts = urlsplit(origin)
    return parts.netloc.lower() == (request.headers.get("host") or "").lower()


async def _check_csrf(request: Request, principal: Principal) -> None:
    """Cookie-authenticated writes need the session's CSRF token and must not come from another site."""
    if request.method not in UNSAFE_METHODS or principal.via != SessionKind.browser:
        return
    if not _same_origin(request):
        raise CsrfFailure("This request came from another site and was refused.")
    sent = request.headers.get("x-csrf-token")
    ctype = request.headers.get("content-type", "")
    if sent is None and ctype.startswith("application/x-www-form-urlencoded"):
        form = await request.form()  # cached by Starlette: the handler's Form(...) fields still work
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    if not tokens_match(sent, principal.session_row.csrf_token):
        raise CsrfFailure("The form had expired or was not sent from this service. Go back, reload and try again.")


def _resolve(session: Session, token: str, via: SessionKind) -> tuple[UserSession, User, Establishment | None] | None:
    found = resolve_signed_in(session, token, kind=via)
    if found is None:
        return None
    row, user, est = found
    # Detached, so error pages can still show who is signed in after the request's transaction rolls back.
    session.expunge(row)
    session.expunge(user)
    if est is not None:
        session.expunge(est)
    return row, user, est


async def optional_principal(request: Request, session: SessionDep) -> Principal | None:
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = _bearer(request)
    via = SessionKind.api
    if token is None:
        token = request.cookies.get(get_settings().session_cookie_name)
        via = SessionKind.browser
    if not token:
        return None
    # Database work runs in the thread pool, never on the event loop: on SQLite every transaction takes the
    # write lock (BEGIN IMMEDIATE), and a loop blocked waiting for it cannot let the holder commit (deadlock).
    found = await run_in_threadpool(_resolve, session, token, via)
    if found is None:
        return None
    row, user, est = found
    principal = Principal(user=user, session_row=row, via=via, ip=client_ip(request), establishment=est)
    request.state.principal = principal
    if user.establishment_id is not None:
        request.state.establishment_name = est.name if est is not None else None
    try:
        await _check_csrf(request, principal)
    except CsrfFailure:
        session.rollback()  # as in `refuse`: the entry is written in its own transaction
        detail = {"method": request.method, "path": request.url.path, "origin": request.headers.get("origin")}
        await run_in_threadpool(record_refusal, principal.actor, "csrf_refused", detail)
        raise
    return principal


async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise SignInRequired()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def record_refusal(actor: Actor, action: str, detail: dict[str, Any], **where: Any) -> None:
    """Write a refusal in a transaction of its own. The refusal stands even if it cannot be written (the
    database went away mid-request): that is logged, and the caller still answers 403 (or 404).
    `where`: object_type, object_id, establishment_id of the record refused, if any."""
    try:
        record_now(actor, action, outcome="denied", detail=detail, **where)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        log.warning("refusal_not_audited", action=action, error=str(exc).splitlines()[0][:200], **detail)


async def refuse(request: Request, principal: Principal, session: Session, needs: list[str], message: str) -> NoReturn:
    """Answer 403 and write an `access_denied` entry: every role refusal goes through here."""
    session.rollback()  # release this request's locks: the refusal is written in its own transaction
    detail = {"method": request.method, "path": request.url.path, "needs": needs}
    # Off the event loop, like every database write (see optional_principal).
    await run_in_threadpool(record_refusal, principal.actor, "access_denied", detail)
    raise Forbidden(message)


def may_act_as(principal: Principal, roles: tuple[Role, ...], admins: bool) -> bool:
    if admins and principal.is_admin:
        return True
    if principal.role not in roles:
        return False
    # An officer acts only through their own staff record (create_user refuses a staff user without one).
    return principal.role != Role.staff or principal.user.staff_member_id is not None


def require_roles(*roles: Role, admins: bool = True, message: str = "Your role does not allow this.") -> Any:
    """A dependency that lets only the given roles through (and admins, unless `admins=False`), recording
    refusals."""

    async def _check(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Principal:
        if may_act_as(principal, roles, admins):
            return principal
        # Who may: those roles, and administrators unless left out (an admin-only page's entry named nobody).
        needs = [r.value for r in roles] + ([Role.admin.value] if admins and Role.admin not in roles else [])
        await refuse(request, principal, session, needs, message)

    return Depends(_check)


Coordinator = Annotated[Principal, require_roles(Role.coordinator)]
Governor = Annotated[Principal, require_roles(Role.governor)]
CoordinatorOrGovernor = Annotated[Principal, require_roles(Role.coordinator, Role.governor)]
Admin = Annotated[Principal, require_roles()]
# Officers only, with their staff record: feedback is about the footage they wore (admins have none).
Officer = Annotated[
    Principal, require_roles(Role.staff, admins=False, message="Only officers have feedback of their own.")
]

T = TypeVar("T", bound=SQLModel)


def in_scope(principal: Principal, obj: Any) -> bool:
    """The single rule: admins see all; others their establishment; staff only what they wore."""
    if principal.is_admin:
        return True
    est = getattr(obj, "establishment_id", None)
    if est is None or est != principal.establishment_id:
        return False
    if principal.role == Role.staff:
        wearer = getattr(obj, "wearer_id", None)
        if hasattr(obj, "wearer_id") and wearer != principal.user.staff_member_id:
            return False
    return True


def get_visible(session: Session, principal: Principal, model: type[T], obj_id: Any) -> T:
    """Fetch a record the caller may see, or 404 (also for records that exist elsewhere)."""
    try:
        # Ids are 32-bit on PostgreSQL: a larger number cannot exist (and would be a database error).
        out_of_range = isinstance(obj_id, int) and not (1 <= obj_id <= MAX_ID)
        obj = None if out_of_range else session.get(model, obj_id)
    except (ValueError, TypeError):
        obj = None
    if obj is not None and not in_scope(principal, obj):
        record_out_of_scope(session, principal, obj)
        obj = None
    if obj is None:
        raise HTTPException(status_code=404, detail=f"{model.__name__.lower()} not found")
    return obj


async def _posted_form(request: Request) -> FormData:
    return await request.form()


# The posted form, read before the handler runs: form handlers can then be plain `def`s, which FastAPI runs in
# its thread pool. An `async def` handler that touched the database (its reads, its audit entry, the audit
# chain's lock) would hold up the event loop, and with it every other request, including the one holding
# that lock until its commit.
PostedForm = Annotated[FormData, Depends(_posted_form)]


def record_out_of_scope(session: Session, principal: Principal, obj: Any) -> None:
    """A record exists but is not the caller's to see: the caller answers the same 404 as for a record that
    does not exist (no existence oracle), and this writes an `access_denied` entry, so attempts on other
    establishments' or officers' records are on the audit trail. The request's transaction is given up first
    (the request fails anyway; the entry has a transaction of its own)."""
    kind, obj_id = type(obj).__tablename__, getattr(obj, "id", None)
    est = getattr(obj, "establishment_id", None)
    session.rollback()
    where = {"object_type": kind, "object_id": obj_id, "establishment_id": est}
    record_refusal(principal.actor, "access_denied", {"why": "out_of_scope"}, **where)


def _establishment_exists(establishment_id: int) -> bool:
    import sqlalchemy as sa

    from app.core.db import get_engine

    # A plain read outside any transaction: on SQLite the request's session may hold the write lock.
    with get_engine().execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        found = conn.execute(sa.text("SELECT 1 FROM establishment WHERE id = :i"), {"i": establishment_id})
        return found.first() is not None


def scope_establishment(principal: Principal, requested: int | None = None) -> int | None:
    """Which establishment a list or report covers: your own, or (admins) any or all."""
    if requested is not None and not (1 <= requested <= MAX_ID):
        raise HTTPException(status_code=404, detail="establishment not found")
    if principal.is_admin:
        if requested is not None and not _establishment_exists(requested):
            raise HTTPException(status_code=404, detail="establishment not found")
        return requested
    if requested is not None and requested != principal.establishment_id:
        raise HTTPException(status_code=404, detail="establishment not found")
    return principal.establishment_id


def can_view_footage(session: Session, principal: Principal, footage: Any) -> bool:
    """Footage the caller may watch: whatever `in_scope` allows, plus one narrow exception for staff —
    good-practice examples of their own establishment (marked by a coordinator, current rating green,
    not purged), shown to colleagues for learning."""
    if in_scope(principal, footage):
        return True
    if principal.role != Role.staff or principal.establishment_id is None:
        return False
    if footage.establishment_id != principal.establishment_id or not footage.good_practice or footage.purged_at:
        return False
    from sqlmodel import select

    from app.rating.models import Rag, Rating

    green = select(Rating.id).where(
        Rating.footage_id == footage.id,
        Rating.is_current == True,  # noqa: E712
        Rating.is_calibration == False,  # noqa: E712
        Rating.rag == Rag.green,
    )
    return session.exec(green).first() is not None


def get_viewable_footage(session: Session, principal: Principal, footage_id: Any) -> Any:
    """`get_visible(session, principal, Footage, id)` widened by `can_view_footage`: for watching a clip
    (the page and the video route), never for changing it. 404 otherwise."""
    from app.footage.models import Footage

    try:
        out_of_range = isinstance(footage_id, int) and not (1 <= footage_id <= MAX_ID)
        footage = None if out_of_range else session.get(Footage, footage_id)
    except (ValueError, TypeError):
        footage = None
    if footage is not None and not can_view_footage(session, principal, footage):
        record_out_of_scope(session, principal, footage)
        footage = None
    if footage is None:
        raise HTTPException(status_code=404, detail="footage not found")
    return footage
