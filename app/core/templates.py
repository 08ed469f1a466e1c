"""Jinja2 set-up: one environment, filters for London time, and `render` which adds the layout's context."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from app.auth.models import Role
from app.core import localtime
from app.core.config import get_settings

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def _tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def london(value: datetime | None, fmt: str = "%-d %b %Y %H:%M") -> str:
    """Stored in UTC, shown in Europe/London (GMT or BST as the date requires). A time in the hour the clocks
    go back over, which the clock showed twice, has its zone's name after it ("01:30 BST", "01:30 GMT")."""
    if value is None:
        return ""
    tz = _tz()
    shown = value.astimezone(tz).strftime(fmt)
    if "%H" in fmt and localtime.is_repeated_hour(value, tz):
        shown += " " + (value.astimezone(tz).tzname() or "")
    return shown


def london_seconds(value: datetime | None) -> str:
    return london(value, "%-d %b %Y %H:%M:%S")


def london_input(value: datetime | None) -> str:
    """For `<input type=datetime-local>`."""
    return value.astimezone(_tz()).strftime("%Y-%m-%dT%H:%M") if value else ""


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    seconds = float(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    if h:
        return f"{sign}{h}h {m:02d}m {s:02d}s"
    if m:
        return f"{sign}{m}m {s:02d}s"
    return f"{sign}{seconds:.0f}s" if seconds >= 1 or seconds == 0 else f"{sign}{seconds:.1f}s"


def filesize(n: int | None) -> str:
    if n is None:
        return "–"
    size = float(n)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def percent(value: float | None, digits: int = 0) -> str:
    """A share as a percentage, halves rounded up as people round them (1 of 8 is 13%, 3 of 8 is 38%; Python's
    own formatting rounds halves to even and gave 12% and 38%)."""
    if value is None:
        return "–"
    exact = Decimal(repr(value)) * 100
    return f"{exact.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)}%"


def audit_detail(detail: dict[str, Any] | None, action: str = "", limit: int = 200) -> str:
    """An audit entry's detail in a line a person can read: "active: no; sessions ended: 1", a change as
    "name: HMP A → HMP B". The CSV export keeps it whole."""

    def text(value: Any, top: bool = False) -> str:
        if isinstance(value, bool):
            return "yes" if value else "no"
        if isinstance(value, dict):
            return ", ".join(f"{k} {text(v)}" for k, v in value.items())
        if isinstance(value, list):
            # Only an update's own fields are [before, after] (a list inside is a list: officers, cameras).
            if top and action.endswith("_update") and len(value) == 2:
                return f"{text(value[0])} → {text(value[1])}"
            return ", ".join(text(v) for v in value)
        return "–" if value is None else str(value)

    line = "; ".join(f"{k.replace('_', ' ')}: {text(v, top=True)}" for k, v in (detail or {}).items())
    return line if len(line) <= limit else line[: limit - 1] + "…"


templates.env.filters.update(
    audit_detail=audit_detail,
    london=london,
    london_seconds=london_seconds,
    london_input=london_input,
    day=localtime.day_text,
    duration=duration,
    filesize=filesize,
    percent=percent,
    month_title=localtime.month_title,
)


def link(href: str, text: object, hidden: str | None = None) -> Markup:
    """An escaped GOV.UK link, for use inside table cells built in templates."""
    extra = Markup(' <span class="govuk-visually-hidden">{}</span>').format(hidden) if hidden else Markup("")
    return Markup('<a class="govuk-link" href="{}">{}{}</a>').format(href, text, extra)


def require_token(token: object) -> str:
    """For `csrf_field`: a form rendered without the page's CSRF token fails here, at render time, instead of
    every submit being refused as forged."""
    if not isinstance(token, str) or not token:
        raise ValueError("csrf_field() needs the page's csrf_token")
    return token


def footage_href(principal: Any, footage_id: int) -> str:
    """Where a link to a clip goes for this viewer: coordinators (and admins) its review screen, governors its
    footage page, officers their own view of it. Each is a page they may open."""
    role = getattr(principal, "role", None)
    if role == Role.staff:
        return f"/my/footage/{footage_id}"
    if role == Role.governor:
        return f"/footage/{footage_id}"
    return f"/review/{footage_id}"


templates.env.globals["Role"] = Role
templates.env.globals["footage_href"] = footage_href
templates.env.globals["require_token"] = require_token
templates.env.globals["link"] = link
templates.env.globals["timezone_name"] = lambda: _tz().key  # what the pages' scripts read clock times in

NAV_BY_ROLE: dict[Role, list[tuple[str, str]]] = {
    Role.coordinator: [
        ("/", "Home"),
        ("/review", "Review queue"),
        ("/incidents", "Incidents"),
        ("/footage", "Footage"),
        ("/officers", "Officers"),
        ("/feedback", "Feedback"),
        ("/calibration", "Calibration"),
    ],
    Role.governor: [
        ("/", "Home"),
        ("/reports/compliance", "Compliance"),
        ("/incidents", "Incidents"),
        ("/footage", "Footage"),
        ("/officers", "Officers"),
        ("/audit", "Audit trail"),
    ],
    Role.staff: [("/", "My feedback"), ("/my/progress", "My progress"), ("/good-practice", "Good practice")],
    Role.admin: [
        ("/", "Home"),
        ("/incidents", "Incidents"),
        ("/footage", "Footage"),
        ("/reports/compliance", "Compliance"),
        ("/admin/users", "Users"),
        ("/admin/establishments", "Establishments"),
        ("/audit", "Audit trail"),
    ],
}


class UserView:
    """What the layout shows about the signed-in user."""

    def __init__(self, principal: Any, establishment_name: str | None) -> None:
        user = principal.user
        self.username = user.username
        self.display_name = user.display_name
        self.role = Role(user.role)
        self.role_label = self.role.label
        self.establishment_name = establishment_name


def nav_for(request: Request, role: Role | None) -> list[dict[str, Any]]:
    if role is None:
        return []
    path = request.url.path
    items = []
    for href, label in NAV_BY_ROLE.get(role, []):
        active = path == href if href == "/" else path.startswith(href)
        items.append({"href": href, "label": label, "active": active})
    return items


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    page_title: str = "",
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    principal = getattr(request.state, "principal", None)
    est_name = getattr(request.state, "establishment_name", None)
    ctx: dict[str, Any] = {
        "request": request,
        "current_user": UserView(principal, est_name) if principal else None,
        "principal": principal,
        "csrf_token": principal.session_row.csrf_token if principal else getattr(request.state, "presession", ""),
        "nav": nav_for(request, principal.role if principal else None),
        "page_title": page_title,
        "flashes": getattr(request.state, "flashes", []),
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code, headers=headers)
    return response
