"""Who may see which report, and reading the period: shared by the JSON API and the pages.

- Compliance summary: coordinators and governors of the establishment, admins (any; side by side).
- Officer report: coordinators and governors of the officer's establishment, admins, and the officer
  themself; another officer's report answers 404, as does another establishment's.
"""

from __future__ import annotations

from datetime import date

from fastapi import HTTPException
from sqlmodel import Session, select

from app.auth.models import Role
from app.core import localtime
from app.core.deps import Principal
from app.core.types import utcnow
from app.establishment.models import Establishment
from app.report import sql as q
from app.report.service import Period, find_officer
from app.staff.models import StaffMember

MAX_PERIOD_DAYS = 366 * 10
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)


def resolve_establishment(session: Session, principal: Principal, requested: str | None) -> Establishment:
    """`requested` is an establishment id or code. Others' establishments answer 404, like missing ones."""
    requested = (requested or "").strip() or None
    if not principal.is_admin:
        own = principal.establishment  # read with the sign-in check
        if own is None or own.id != principal.establishment_id:
            own = session.get(Establishment, principal.establishment_id) if principal.establishment_id else None
        if own is None:
            raise HTTPException(status_code=404, detail="establishment not found")
        if requested is not None and requested not in (str(own.id), own.code):
            raise HTTPException(status_code=404, detail="establishment not found")
        return own
    if requested is None:
        rows = session.exec(select(Establishment).order_by(Establishment.name)).all()
        if len(rows) == 1:
            return rows[0]
        raise HTTPException(status_code=422, detail="Give establishment: the id or code of one establishment.")
    if requested.isascii() and requested.isdigit() and not 1 <= int(requested) <= 2**31 - 1:
        raise HTTPException(status_code=404, detail="establishment not found")
    found = (
        session.get(Establishment, int(requested))
        if requested.isascii() and requested.isdigit()
        else session.exec(select(Establishment).where(Establishment.code == requested.upper())).first()
    )
    if found is None:
        raise HTTPException(status_code=404, detail="establishment not found")
    return found


class PeriodError(HTTPException):
    """Dates a report cannot use: a 422 whose detail reads as one sentence (the API), with each field's own
    message in `fields` (pages show them beside the From and To boxes)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(status_code=422, detail="; ".join(fields.values()))
        self.fields = fields


def resolve_period(
    date_from: str | None, date_to: str | None, today: date | None = None, *, iso_only: bool = False
) -> Period:
    """Dates are London calendar days, both included: D/M/YYYY (the pages' date picker) or YYYY-MM-DD; the API
    takes YYYY-MM-DD only (`iso_only`), so a program's 11/3/2026 is never read as either day. Neither: last
    calendar month; only `from`: up to today; only `to`: from the first of that month."""
    today = today or utcnow().astimezone(q.tz()).date()
    # A program reads its parameters' names; a person reads what the page's fields are called.
    called = {"from": "'from'", "to": "'to'"} if iso_only else {"from": "The start date", "to": "The end date"}
    errors: dict[str, str] = {}
    parsed: dict[str, date | None] = {}
    for name, text in (("from", date_from), ("to", date_to)):
        if text is None or text.strip() == "":
            parsed[name] = None
            continue
        try:
            if iso_only and "/" in text:
                raise ValueError("day first")
            parsed[name] = q.parse_day(text.strip())
        except ValueError as exc:
            if "of these times" in str(exc):  # a real date, but a typing slip (0203)
                parsed[name] = date.min
            else:
                written = "YYYY-MM-DD, for example 2026-11-03" if iso_only else "D/M/YYYY, for example 3/11/2026"
                # A program is told what it sent; a person sees it in the box, beside the message.
                sent = f" (got '{text[:20]}')" if iso_only else ""
                errors[name] = f"{called[name]} must be a real date, written {written}{sent}"
                continue
        if not (EARLIEST <= parsed[name] <= LATEST):  # type: ignore[operator]
            first_day, last_day = (d.isoformat() if iso_only else localtime.day_text(d) for d in (EARLIEST, LATEST))
            errors[name] = f"{called[name]} must be between {first_day} and {last_day}"
    if errors:
        raise PeriodError(errors)
    first, last = parsed["from"], parsed["to"]
    if first is None and last is None:
        return Period.default()
    if first is None:
        first = q.month_start(last)  # type: ignore[arg-type]
    if last is None:
        last = max(first, today)
    if first > last:
        raise PeriodError({"from": f"{called['from']} must be on or before {called['to'].lower()}."})
    if (last - first).days > MAX_PERIOD_DAYS:
        raise PeriodError({"from": "The period can be at most 10 years."})
    return Period(first, last)


def resolve_officer(
    session: Session, principal: Principal, staff_number: str, establishment: str | None = None
) -> StaffMember:
    if principal.role == Role.staff:
        own = session.get(StaffMember, principal.user.staff_member_id) if principal.user.staff_member_id else None
        if own is None or own.staff_number != staff_number:
            raise HTTPException(status_code=404, detail="officer not found")
        return own
    if principal.role not in (Role.coordinator, Role.governor, Role.admin):
        raise HTTPException(status_code=404, detail="officer not found")
    est_id: int | None
    if principal.is_admin:
        est_id = resolve_establishment(session, principal, establishment).id if establishment else None
    else:
        est_id = resolve_establishment(session, principal, establishment).id
    officer = find_officer(session, est_id, staff_number)
    if officer is None:
        raise HTTPException(status_code=404, detail="officer not found")
    return officer
