"""Security headers, error pages and answers shared by every route."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import sqlalchemy.exc
from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.deps import CsrfFailure, Forbidden, SignInRequired
from app.core.logging import get_logger
from app.core.security import local_path
from app.core.storage import StorageBusy
from app.core.templates import render

log = get_logger("bwv.http")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# The resumable uploads (tus 1.0.0): every answer there but OPTIONS's names the protocol version, errors from
# anywhere (sign-in, validation, a refused clip) included, as tus clients expect.
TUS_PATH = "/api/v1/uploads"
TUS_VERSION = "1.0.0"


class ModelJSON(Response):
    """A model the route has just built, written as JSON in the route's own thread. Returned as a model
    instead, a sync route's result goes back to the event loop and FastAPI writes it there, which is one
    more hand-over between the thread pool and the loop and JSON work on the loop every request waits on.
    The bytes are the same (pydantic's JSON of the model; the schemas have no aliases). The route keeps
    `response_model=` for the OpenAPI document."""

    media_type = "application/json"

    def __init__(self, model: BaseModel | Sequence[BaseModel], status_code: int = 200) -> None:
        if not isinstance(model, BaseModel):
            body = b"[" + b",".join(m.model_dump_json().encode() for m in model) + b"]"
        else:
            body = model.model_dump_json().encode()
        super().__init__(content=body, status_code=status_code)


def paged_headers(what: str) -> dict[str, Any]:
    """The OpenAPI description of a paged list's headers (`what`: what the list counts)."""
    return {
        "X-Total-Count": {"description": f"How many {what} there are in all", "schema": {"type": "integer"}},
        "Link": {"description": 'The next page (rel="next"), while there is one', "schema": {"type": "string"}},
    }


def set_page_headers(response: Response, total: int, next_url: Any | None) -> None:
    """A paged list's `X-Total-Count`, and its `Link` to the next page (a starlette URL) while there is one."""
    response.headers["X-Total-Count"] = str(total)
    if next_url is not None:
        response.headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'


class SecurityHeaders:
    """Pure ASGI (streams and Range responses pass straight through)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        tus = (path == TUS_PATH or path.startswith(TUS_PATH + "/")) and scope.get("method") != "OPTIONS"

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {h[0].lower() for h in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if not path.startswith("/static") and not path.startswith("/assets") and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                if tus and b"tus-resumable" not in names:
                    headers.append((b"tus-resumable", TUS_VERSION.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


class Problem(BaseModel):
    detail: str = Field(description="What went wrong and what to do about it")


class FieldProblem(BaseModel):
    field: str
    message: str
    type: str | None = None


class ValidationProblem(Problem):
    errors: list[FieldProblem] = Field(default_factory=list)


# Answers any JSON route may give, documented on all of them (OpenAPI; checked by Schemathesis).
API_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "Malformed request"},
    401: {"model": Problem, "description": "Not signed in: send a bearer token or a session cookie"},
    403: {"model": Problem, "description": "Your role may not do this, or a cookie request without its CSRF token"},
    404: {"model": Problem, "description": "No such record within your access"},
    409: {"model": Problem, "description": "Conflicts with the current state of a record"},
    422: {"model": ValidationProblem, "description": "Input to fix: the fields are listed"},
    503: {"model": Problem, "description": "The database is unavailable: try again shortly"},
}


class RequestLimit:
    """At most `limit` requests at a time do their database work; the rest wait here, holding nothing.

    Without it, more requests in flight than database connections deadlock: the principal lookup waits for
    a connection on the event loop while the requests holding connections wait for it or for a thread to
    finish (seen as 5 s stalls and 500s at 50 concurrent users, bench/load.py). A slot is released when the
    response starts (the request's database session is closed by then), so streaming video holds no slot.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._sem: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(("/static", "/assets")):
            await self.app(scope, receive, send)
            return
        if self._sem is None:
            import anyio

            self._sem = anyio.Semaphore(self.limit)
        sem = self._sem
        await sem.acquire()
        held = True

        async def send_wrapper(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start" and held:
                held = False
                sem.release()
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if held:
                sem.release()


def _plain(message: str) -> str:
    """Pydantic's wording for people: "String should have at most 2000 characters" -> "Text should ..."."""
    message = (
        message.replace("Value error, ", "")
        .replace("String should", "Text should")
        .replace("Input should be a valid integer, unable to parse string as an integer", "Enter a whole number")
    )
    message = re.sub(r"^Input should be greater than or equal to (\S+)$", r"Enter \1 or more", message)
    message = re.sub(r"^Input should be less than or equal to (\S+)$", r"Enter \1 or less", message)
    return message


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path.startswith("/files/")


def _back(request: Request) -> str | None:
    """The page the request came from, if it is one of ours (for "Go back and try again")."""
    referer = request.headers.get("referer") or ""
    parts = urlsplit(referer)
    if parts.netloc and parts.netloc.lower() == (request.headers.get("host") or "").lower():
        return local_path(urlunsplit(("", "", parts.path or "/", parts.query, "")))
    return None


def _error_page(
    request: Request, status: int, title: str, message: str, problems: list[dict[str, str]] | None = None
) -> Response:
    """An error page for people. 403, 404, 500 and 503 have pages of their own; any other answer to a page's
    request (a form sent with a value the route cannot take: 400, 409, 413, 422 ...) says what was wrong and
    links back to the form, instead of the API's JSON."""
    template = f"errors/{status}.html" if status in (403, 404, 500, 503) else "errors/problem.html"
    context = {"message": message, "status": status, "title": title, "problems": problems or [], "back": _back(request)}
    return render(request, template, context, status_code=status, page_title=title)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _exc: SignInRequired) -> Response:
        if wants_json(request):
            return JSONResponse(
                {"detail": "Sign in first: send a bearer token or a session cookie."},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": "/sign-in"})
        return RedirectResponse(f"/sign-in?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        if wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=403)
        return _error_page(request, 403, "You cannot do this", exc.message)

    @app.exception_handler(CsrfFailure)
    async def _csrf(request: Request, exc: CsrfFailure) -> Response:
        log.warning("csrf_refused", path=request.url.path)
        if wants_json(request):
            return JSONResponse({"detail": exc.message}, status_code=403)
        return _error_page(request, 403, "Request refused", exc.message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers: dict[str, Any] = dict(exc.headers or {})
        if wants_json(request) or exc.status_code < 400 or exc.status_code in (401, 405):
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
        title = {404: "Page not found", 403: "You cannot do this"}.get(exc.status_code, "There is a problem")
        response = _error_page(request, exc.status_code, title, str(exc.detail))
        response.headers.update(headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            errors.append({"field": loc, "message": err.get("msg", "invalid"), "type": err.get("type")})
        if not wants_json(request):
            if all(err.get("loc", ("",))[0] == "path" for err in exc.errors()):
                # /footage/abc is an address that leads nowhere, as /footage/99999 is.
                return _error_page(request, 404, "Page not found", "Check the address.")
            problems = [{"field": e["field"], "message": _plain(e["message"])} for e in errors]
            if request.method == "GET" and all(err.get("loc", ("",))[0] == "query" for err in exc.errors()):
                # A page number or filter in the address (typed, or an old link), not a form.
                return _error_page(
                    request, 422, "There is a problem", "The address has a value this page cannot use:", problems
                )
            return _error_page(request, 422, "There is a problem", "Some of what was sent could not be used:", problems)
        return JSONResponse(
            {"detail": "The request is not valid: fix the fields listed.", "errors": errors}, status_code=422
        )

    @app.exception_handler(sqlalchemy.exc.DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # Safety net: a number or text the database cannot hold (e.g. an id past 2^31) is bad input, not a crash.
        log.warning("database_refused_value", path=request.url.path, error=str(exc).splitlines()[0][:200])
        return _refused(request, 422, "A value is outside the range the service can store: check the numbers sent.")

    @app.exception_handler(sqlalchemy.exc.IntegrityError)
    async def _conflict(request: Request, exc: Exception) -> Response:
        # Safety net: a reference to a record that does not exist, or a duplicate, that no check caught first.
        log.warning("database_refused_write", path=request.url.path, error=str(exc).splitlines()[0][:200])
        return _refused(request, 409, "This conflicts with an existing record or refers to one that does not exist.")

    @app.exception_handler(sqlalchemy.exc.TimeoutError)
    async def _pool_exhausted(request: Request, exc: Exception) -> Response:
        log.warning("database_busy", path=request.url.path)
        return _unavailable(
            request,
            "The service is busy; try again shortly.",
            retry_after=2,
            title="Service busy",
            page="The service is busy. Nothing was saved; try again shortly.",
        )

    @app.exception_handler(StorageBusy)
    async def _storage_busy(request: Request, exc: Exception) -> Response:
        log.warning("storage_busy", path=request.url.path, error=str(exc)[:200])
        return _unavailable(
            request,
            "Footage storage is busy; nothing was saved. Try again shortly.",
            retry_after=5,
            title="Service busy",
            page="Footage storage is busy. Nothing was saved; try again shortly.",
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # A fault of ours: the GOV.UK "Sorry, there is a problem with the service" page (JSON for the API) with a
        # reference that is also in the log, instead of the server's bare "Internal Server Error". The server
        # still logs the traceback (Starlette raises the exception again after this answer).
        reference = secrets.token_hex(4)
        log.error("unexpected_error", reference=reference, path=request.url.path, error=repr(exc)[:300])
        if wants_json(request):
            return JSONResponse({"detail": "Something went wrong on our side.", "reference": reference}, 500)
        try:
            context = {"request_id": reference}
            return render(request, "errors/500.html", context, status_code=500, page_title="Sorry, there is a problem")
        except Exception:  # noqa: BLE001 - the page itself failed: say so plainly
            return Response(f"Sorry, there is a problem with the service. Reference: {reference}", 500)

    @app.exception_handler(sqlalchemy.exc.OperationalError)
    @app.exception_handler(sqlalchemy.exc.InterfaceError)
    async def _db_down(request: Request, exc: Exception) -> Response:
        log.error("database_unavailable", error=str(exc).splitlines()[0][:200])
        return _unavailable(
            request,
            "The database is unavailable; try again shortly.",
            retry_after=5,
            title="Service unavailable",
            page="The service cannot reach its database. Nothing you entered has been saved; try again in a minute.",
        )


def _refused(request: Request, status: int, detail: str) -> Response:
    """A request the database refused as sent: JSON for API clients, the problem page for people."""
    if wants_json(request):
        return JSONResponse({"detail": detail}, status_code=status)
    return _error_page(request, status, "There is a problem", detail)


def _unavailable(request: Request, detail: str, *, retry_after: int, title: str, page: str) -> Response:
    """503: JSON with Retry-After for API clients, an error page for people."""
    if wants_json(request):
        return JSONResponse({"detail": detail}, status_code=503, headers={"Retry-After": str(retry_after)})
    return _error_page(request, 503, title, page)


def not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")
