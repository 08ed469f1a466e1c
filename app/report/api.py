"""Report JSON routes: the compliance summary, every officer, one officer's improvement report."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from app.audit.service import record
from app.core.deps import Admin, CoordinatorOrGovernor, CurrentPrincipal, SessionDep
from app.core.http import ModelJSON
from app.establishment.models import Establishment
from app.rating.service import blind_footage_ids
from app.report import service
from app.report.access import resolve_establishment, resolve_officer, resolve_period
from app.report.schemas import ComplianceSummary, OfficerOverviewRow, OfficerReport

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])
ERRORS: dict[int | str, dict[str, Any]] = {403: {}, 404: {}, 422: {}}
DAY = r"^\d{4}-\d{2}-\d{2}$"

EstablishmentQ = Annotated[
    str | None, Query(max_length=20, pattern=r"^[A-Za-z0-9]+$", description="Establishment id or code")
]
FromQ = Annotated[
    str | None,
    Query(alias="from", max_length=10, description="First day, YYYY-MM-DD (UK time); default: last month"),
]
ToQ = Annotated[str | None, Query(alias="to", max_length=10, description="Last day (included), YYYY-MM-DD")]


@router.get("/compliance", response_model=ComplianceSummary, responses=ERRORS)
def compliance(
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    establishment: EstablishmentQ = None,
    date_from: FromQ = None,
    date_to: ToQ = None,
) -> Response:
    """The governors' compliance summary for one establishment and period (see the module docstring of
    `app.report.service` for how each figure is worked out)."""
    est = resolve_establishment(session, principal, establishment)
    period = resolve_period(date_from, date_to, iso_only=True)
    hidden = blind_footage_ids(session, principal.user.id)  # the viewer's pending blind second ratings
    summary = service.compliance_summary(session, est.id, period, hide_footage=hidden)  # type: ignore[arg-type]
    record(
        session,
        principal.actor,
        "report_view",
        object_type="compliance_report",
        object_id=est.id,
        establishment_id=est.id,
        detail={"from": period.first.isoformat(), "to": period.last.isoformat(), "via": "api"},
    )
    return ModelJSON(summary)


@router.get("/compliance/compare", response_model=list[ComplianceSummary], responses=ERRORS)
def compare(principal: Admin, session: SessionDep, date_from: FromQ = None, date_to: ToQ = None) -> Response:
    """Admins: every establishment's summary for the same period, side by side."""
    from sqlmodel import select

    period = resolve_period(date_from, date_to, iso_only=True)
    hidden = blind_footage_ids(session, principal.user.id)
    out = []
    for est in session.exec(select(Establishment).order_by(Establishment.name)).all():
        out.append(service.compliance_summary(session, est.id, period, hide_footage=hidden))  # type: ignore[arg-type]
    record(
        session,
        principal.actor,
        "report_view",
        object_type="compliance_comparison",
        detail={"from": period.first.isoformat(), "to": period.last.isoformat(), "via": "api"},
    )
    return ModelJSON(out)


@router.get("/officers", response_model=list[OfficerOverviewRow], responses=ERRORS)
def officers(principal: CoordinatorOrGovernor, session: SessionDep, establishment: EstablishmentQ = None) -> Response:
    est = resolve_establishment(session, principal, establishment)
    hidden = blind_footage_ids(session, principal.user.id)  # the viewer's pending blind second ratings
    rows = service.officers_overview(session, est.id, hide_footage=hidden)  # type: ignore[arg-type]
    record(session, principal.actor, "report_view", object_type="officers_overview", establishment_id=est.id)
    return ModelJSON(rows)


@router.get("/officers/{staff_number}", response_model=OfficerReport, responses=ERRORS)
def officer(
    staff_number: Annotated[str, Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9\-]+$")],
    principal: CurrentPrincipal,
    session: SessionDep,
    establishment: EstablishmentQ = None,
    months: Annotated[int, Query(ge=1, le=120, description="Months of history, month by month")] = 24,
) -> Response:
    """One officer's improvement: ratings and activation lag month by month, first guidance, before/after.
    Officers may see their own; coordinators and governors their establishment's."""
    sm = resolve_officer(session, principal, staff_number, establishment)
    hidden = blind_footage_ids(session, principal.user.id)
    report = service.officer_report(session, sm, months=months, hide_footage=hidden)
    record(
        session,
        principal.actor,
        "report_view",
        object_type="officer_report",
        object_id=sm.id,
        establishment_id=sm.establishment_id,
        detail={"staff_number": sm.staff_number, "via": "api"},
    )
    return ModelJSON(report)
