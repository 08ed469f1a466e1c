"""Report pages: the compliance summary (with CSV and PDF exports), establishments side by side, every
officer, and one officer's improvement (also an officer's own "My progress")."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from sqlmodel import select

from app.audit.service import record
from app.auth.models import Role
from app.core.csvsafe import BOM
from app.core.deps import Admin, CoordinatorOrGovernor, CurrentPrincipal, Principal, SessionDep
from app.core.logging import get_logger
from app.core.templates import render
from app.core.types import utcnow
from app.establishment.models import Establishment
from app.rating.service import blind_footage_ids
from app.report import export, pdf, service
from app.report import sql as q
from app.report.access import PeriodError, resolve_establishment, resolve_officer, resolve_period
from app.report.schemas import ComplianceSummary, OfficerReport
from app.staff.models import StaffMember

log = get_logger("bwv.report")

router = APIRouter(include_in_schema=False)
EstQ = Annotated[str | None, Query(max_length=20, pattern=r"^[A-Za-z0-9]*$")]
DayQ = Annotated[str | None, Query(max_length=10)]


def _quick_periods(today: date) -> list[dict[str, str]]:
    last_first, last_last = q.last_calendar_month(today)
    return [
        {"text": "Last month", "from": last_first.isoformat(), "to": last_last.isoformat()},
        {"text": "This month so far", "from": q.month_start(today).isoformat(), "to": today.isoformat()},
        {
            "text": "Last 3 full months",
            "from": q.add_months(q.month_start(today), -3).isoformat(),
            "to": last_last.isoformat(),
        },
        {
            "text": "Last 12 full months",
            "from": q.add_months(q.month_start(today), -12).isoformat(),
            "to": last_last.isoformat(),
        },
    ]


def _pct(x: float | None) -> float | None:
    return None if x is None else round(x * 100, 1)


def _charts(s: ComplianceSummary) -> dict[str, Any]:
    """Chart.js data for charts.js (passed in data attributes: the CSP allows no inline script)."""
    labels = [q.Month(t.month, s.generated_at, s.generated_at).title for t in s.trend]
    return {
        "rag": {
            "type": "bar",
            "stacked": True,
            "labels": labels,
            "datasets": [
                {"label": "Green", "data": [t.rag.green for t in s.trend], "colour": "green"},
                {"label": "Amber", "data": [t.rag.amber for t in s.trend], "colour": "amber"},
                {"label": "Red", "data": [t.rag.red for t in s.trend], "colour": "red"},
            ],
            "yTitle": "Clips rated",
            "integer": True,
        },
        "compliance": {
            "type": "line",
            "percent": True,
            "labels": labels,
            "datasets": [
                {
                    "label": "Every camera on before force",
                    "data": [
                        None if t.share_all_on_before_force is None else round(t.share_all_on_before_force * 100, 1)
                        for t in s.trend
                    ],
                    "colour": "blue",
                },
                {
                    "label": "Incidents with any footage",
                    "data": [
                        None if t.share_with_footage is None else round(t.share_with_footage * 100, 1) for t in s.trend
                    ],
                    "colour": "grey",
                },
            ],
            "yTitle": "% of incidents",
        },
        "lag": {
            "type": "bar",
            "labels": labels,
            "datasets": [
                {
                    "label": "Camera switched on, median (below 0: before force began)",
                    "data": [None if t.median_lag_s is None else round(t.median_lag_s, 1) for t in s.trend],
                    "colour": "purple",
                    "kind": "line",
                },
                {
                    "label": "Incidents",
                    "data": [t.incidents for t in s.trend],
                    "colour": "lightgrey",
                    "axis": "y2",
                },
            ],
            # Up is later here, where up is better on the other charts: the titles say what the numbers mean.
            "yTitle": "Seconds after force began",
            "y2Title": "Incidents",
        },
    }


def _rag_band(share: float | None, green: float, amber: float) -> str | None:
    if share is None:
        return None
    return "green" if share >= green else ("amber" if share >= amber else "red")


def _compliance_page(
    request: Request,
    session: SessionDep,
    principal: Principal,
    est: Establishment,
    date_from: str | None,
    date_to: str | None,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    period_errors: dict[str, str] = {}
    try:
        period = resolve_period(date_from, date_to)
    except PeriodError as exc:
        period_errors = exc.fields
        period = service.Period.default()
    hidden = blind_footage_ids(session, principal.user.id)  # the viewer's pending blind second ratings
    summary = service.compliance_summary(session, est.id, period, hide_footage=hidden)  # type: ignore[arg-type]
    record(
        session,
        principal.actor,
        "report_view",
        object_type="compliance_report",
        object_id=est.id,
        establishment_id=est.id,
        detail={"from": period.first.isoformat(), "to": period.last.isoformat(), "via": "page"},
    )
    establishments = (
        session.exec(select(Establishment).order_by(Establishment.name)).all() if principal.is_admin else []
    )
    today = utcnow().astimezone(q.tz()).date()
    return render(
        request,
        "report/compliance.html",
        {
            "s": summary,
            "est": est,
            "blind_pending": len(hidden),
            "period": period,
            "period_errors": period_errors,
            "raw_from": date_from or "",
            "raw_to": date_to or "",
            "quick": _quick_periods(today),
            "charts": _charts(summary),
            "establishments": establishments,
            "band": _rag_band,
            "errors": errors or {},
            "values": values or {},
            "is_admin": principal.is_admin,
            "today": today,
        },
        # The layout says "Error:" for the form's own errors; the dates' are kept apart (the figures stand).
        page_title=("Error: " if period_errors and not errors else "") + f"Compliance summary – {est.name}",
        status_code=status_code,
    )


@router.get("/reports/compliance")
def compliance_page(
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    establishment: EstQ = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    if principal.is_admin and not establishment:
        first = session.exec(select(Establishment).order_by(Establishment.name)).first()
        if first is None:
            raise HTTPException(status_code=404, detail="There are no establishments yet.")
        establishment = str(first.id)
    est = resolve_establishment(session, principal, establishment)
    return _compliance_page(request, session, principal, est, date_from, date_to)


@router.post("/reports/compliance/export")
def compliance_export(
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    establishment: Annotated[str, Form(max_length=20)] = "",
    date_from: Annotated[str, Form(alias="from", max_length=10)] = "",
    date_to: Annotated[str, Form(alias="to", max_length=10)] = "",
    fmt: Annotated[str, Form(alias="format", max_length=8)] = "pdf",
    reason: Annotated[str, Form(max_length=500)] = "",
    anonymise: Annotated[str, Form(max_length=1)] = "",
) -> Response:
    """A download is a disclosure: it needs a reason and is audited (with the period, format, anonymised)."""
    est = resolve_establishment(session, principal, establishment or None)
    errors: dict[str, str] = {}
    if len(reason.strip()) < 3:
        errors["reason"] = "Enter why you are downloading the summary, for example 'October use-of-force meeting'"
    if fmt not in ("csv", "pdf"):
        errors["format"] = "Choose PDF or CSV"
    if errors:
        values = {"reason": reason, "format": fmt, "anonymise": anonymise}
        return _compliance_page(
            request, session, principal, est, date_from, date_to, errors=errors, values=values, status_code=422
        )
    if fmt == "pdf":
        try:
            pdf.check_available()
        except pdf.PackUnavailable as exc:
            log.error("pdf_pack_unavailable", error=str(exc))
            errors = {"format": "The PDF pack cannot be made on this server at the moment: download the CSV instead"}
            values = {"reason": reason, "format": fmt, "anonymise": anonymise}
            return _compliance_page(
                request, session, principal, est, date_from, date_to, errors=errors, values=values, status_code=503
            )
    period = resolve_period(date_from or None, date_to or None)
    hidden = blind_footage_ids(session, principal.user.id)  # the viewer's pending blind second ratings
    summary = service.compliance_summary(session, est.id, period, hide_footage=hidden)  # type: ignore[arg-type]
    anon = anonymise == "1"
    body = b""
    if fmt == "pdf":
        body = pdf.compliance_pdf(summary, anonymise=anon, prepared_by=principal.user.display_name)
    record(
        session,
        principal.actor,
        "report_export",
        object_type="compliance_report",
        object_id=est.id,
        establishment_id=est.id,
        reason=reason.strip(),
        detail={"from": period.first.isoformat(), "to": period.last.isoformat(), "format": fmt, "anonymised": anon},
    )
    name = f"compliance-{est.code}-{period.first.isoformat()}-to-{period.last.isoformat()}"
    if fmt == "csv":
        return Response(
            BOM + export.to_csv(summary, anon),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return Response(
        body, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'}
    )


@router.get("/reports/compare")
def compare_page(
    request: Request,
    principal: Admin,
    session: SessionDep,
    date_from: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> Response:
    today = utcnow().astimezone(q.tz()).date()
    try:
        period = resolve_period(date_from, date_to)
    except PeriodError as exc:  # the form again, with what was typed and what is wrong with it
        ctx: dict[str, Any] = {"errors": exc.fields, "raw_from": date_from or "", "raw_to": date_to or ""}
        ctx["quick"] = _quick_periods(today)
        return render(request, "report/compare.html", ctx, page_title="Establishments side by side", status_code=422)
    hidden = blind_footage_ids(session, principal.user.id)
    summaries = [
        service.compliance_summary(session, e.id, period, hide_footage=hidden)  # type: ignore[arg-type]
        for e in session.exec(select(Establishment).order_by(Establishment.name)).all()
    ]
    record(
        session,
        principal.actor,
        "report_view",
        object_type="compliance_comparison",
        detail={"from": period.first.isoformat(), "to": period.last.isoformat(), "via": "page"},
    )
    return render(
        request,
        "report/compare.html",
        {
            "summaries": summaries,
            "period": period,
            "quick": _quick_periods(today),
            "band": _rag_band,
            "blind_pending": len(hidden),
        },
        page_title="Establishments side by side",
    )


@router.get("/officers")
def officers_page(
    request: Request, principal: CoordinatorOrGovernor, session: SessionDep, establishment: EstQ = None
) -> Response:
    if principal.is_admin and not establishment:
        first = session.exec(select(Establishment).order_by(Establishment.name)).first()
        establishment = str(first.id) if first else None
    est = resolve_establishment(session, principal, establishment)
    hidden = blind_footage_ids(session, principal.user.id)  # the viewer's pending blind second ratings
    rows = service.officers_overview(session, est.id, hide_footage=hidden)  # type: ignore[arg-type]
    record(session, principal.actor, "report_view", object_type="officers_overview", establishment_id=est.id)
    months = [m.title for m in q.months_ending(utcnow().astimezone(q.tz()).date(), 12)]
    return render(
        request,
        "report/officers.html",
        {"rows": rows, "est": est, "months": months, "is_admin": principal.is_admin, "blind_pending": len(hidden)},
        page_title="Officers",
    )


def _officer_page(
    request: Request, session: SessionDep, principal: Principal, officer: StaffMember, *, own: bool
) -> Response:
    hidden = blind_footage_ids(session, principal.user.id)  # the viewer's pending blind second ratings
    report = service.officer_report(session, officer, hide_footage=hidden)
    record(
        session,
        principal.actor,
        "report_view",
        object_type="officer_report",
        object_id=officer.id,
        establishment_id=officer.establishment_id,
        detail={"staff_number": officer.staff_number, "via": "page"},
    )
    return render(
        request,
        "report/officer.html",
        {
            "r": report,
            "own": own,
            "chart": _officer_chart(report),
            "est_code": _est_code(session, officer),
            "blind_pending": len(hidden),
        },
        page_title="My progress" if own else f"{officer.name} – improvement",
    )


def _est_code(session: SessionDep, officer: StaffMember) -> str:
    est = session.get(Establishment, officer.establishment_id)
    return est.code if est else ""


OFFICER_CHART_MIN_MONTHS = 6


def _officer_chart(r: OfficerReport) -> dict[str, Any]:
    # Start at the officer's first month with a rating or an incident (showing at least six months), so a
    # newly joined officer's few months are not squeezed into the corner of a two-year axis.
    active = [i for i, m in enumerate(r.months) if m.rag.total or m.checks]
    first = min(active[0] if active else len(r.months), max(0, len(r.months) - OFFICER_CHART_MIN_MONTHS))
    months = r.months[first:]
    labels = [q.Month(m.month, r.generated_at, r.generated_at).title for m in months]
    return {
        "type": "bar",
        "stacked": True,
        "labels": labels,
        "datasets": [
            {"label": "Green", "data": [m.rag.green for m in months], "colour": "green"},
            {"label": "Amber", "data": [m.rag.amber for m in months], "colour": "amber"},
            {"label": "Red", "data": [m.rag.red for m in months], "colour": "red"},
            {
                "label": "Camera switched on, median (below 0: before force began)",
                "data": [None if m.median_lag_s is None else round(m.median_lag_s, 1) for m in months],
                "colour": "purple",
                "kind": "line",
                "axis": "y2",
            },
        ],
        "yTitle": "Clips rated",
        "integer": True,
        "y2Title": "Seconds after force began",
        "marker": None if r.first_guidance_at is None else r.first_guidance_at.astimezone(q.tz()).strftime("%b %Y"),
    }


@router.get("/officers/{staff_number}")
def officer_page(
    request: Request,
    staff_number: str,
    principal: CurrentPrincipal,
    session: SessionDep,
    establishment: EstQ = None,
) -> Response:
    if len(staff_number) > 32:
        raise HTTPException(status_code=404, detail="officer not found")
    officer = resolve_officer(session, principal, staff_number, establishment)
    return _officer_page(request, session, principal, officer, own=principal.role == Role.staff)


@router.get("/my/progress")
def my_progress(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    if principal.role != Role.staff or principal.user.staff_member_id is None:
        raise HTTPException(status_code=404, detail="Not found")
    officer = session.get(StaffMember, principal.user.staff_member_id)
    if officer is None:
        raise HTTPException(status_code=404, detail="Not found")
    return _officer_page(request, session, principal, officer, own=True)
