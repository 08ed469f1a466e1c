"""Each role's home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import col, func, select

from app.auth.models import Role, User
from app.core.deps import OptionalPrincipal, SessionDep
from app.core.templates import render
from app.establishment.models import Establishment
from app.home import service
from app.rating.service import blind_footage_ids

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(
    request: Request,
    principal: OptionalPrincipal,
    session: SessionDep,
    page: Annotated[int, Query(ge=1, le=10000, description="The officer's page of rated footage")] = 1,
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    role = principal.role
    est_id = principal.establishment_id
    if role == Role.coordinator and est_id is not None:
        return render(
            request,
            "home/coordinator.html",
            {
                "summary": service.coordinator_summary(session, est_id),
                "blind_owed": len(blind_footage_ids(session, principal.user.id)),  # type: ignore[arg-type]
            },
            page_title="Home",
        )
    if role == Role.governor and est_id is not None:
        return render(
            request,
            "home/governor.html",
            {
                "glance": service.governor_glance(session, est_id, blind_footage_ids(session, principal.user.id)),  # type: ignore[arg-type]
                "guidance": service.guidance_waiting(session, est_id),
            },
            page_title="Home",
        )
    if role == Role.staff and principal.user.staff_member_id is not None:
        sid = principal.user.staff_member_id
        # A page of rated clips at a time (five years of an officer's footage is hundreds); what waits for
        # them is listed whole above it.
        total = service.staff_feedback_count(session, sid)
        pages = max(1, -(-total // service.STAFF_PAGE))
        page = min(page, pages)
        feedback = service.staff_feedback(
            session, sid, offset=(page - 1) * service.STAFF_PAGE, limit=service.STAFF_PAGE
        )
        return render(
            request,
            "home/staff.html",
            {
                "feedback": feedback,
                "waiting": service.staff_waiting(session, sid),
                "total": total,
                "page": page,
                "pages": pages,
                "first": (page - 1) * service.STAFF_PAGE + 1,
            },
            page_title="My feedback",
        )
    establishments = session.exec(select(Establishment).order_by(Establishment.name)).all()
    users = int(session.exec(select(func.count()).select_from(User)).one())
    by_est = dict(session.exec(select(User.establishment_id, func.count()).group_by(col(User.establishment_id))).all())
    return render(
        request,
        "home/admin.html",
        {"establishments": establishments, "user_count": users, "users_by_establishment": by_est},
        page_title="Home",
    )


@router.get("/healthz")
def healthz(session: SessionDep) -> dict[str, str]:
    """For load balancers and compose healthchecks: 200 when the database answers, 503 otherwise."""
    session.exec(select(1)).one()
    return {"status": "ok"}
