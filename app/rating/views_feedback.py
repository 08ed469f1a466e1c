"""Staff feedback pages: my rated footage and acknowledging it, good-practice examples, and the
coordinator's page of guidance not yet acknowledged (and offering green clips as examples)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, HTTPException, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from app.audit.service import record
from app.auth.models import Role
from app.core import localtime
from app.core.config import get_settings
from app.core.deps import (
    Coordinator,
    CoordinatorOrGovernor,
    CurrentPrincipal,
    Principal,
    SessionDep,
    get_viewable_footage,
    get_visible,
)
from app.core.security import whole_number
from app.core.templates import render
from app.core.types import utcnow
from app.footage.models import Footage, FootageIncident
from app.footage.viewing import video_url
from app.incident.models import ActivationResult, Incident
from app.rating import feedback
from app.rating.models import Rating
from app.rating.service import blind_footage_ids
from app.staff.models import StaffMember

router = APIRouter(include_in_schema=False)
FootageId = Annotated[int, Path(ge=1, le=2**31 - 1)]

try:  # the criteria's wording belongs to the rating rules
    from app.rating.service import CRITERIA
except ImportError:  # pragma: no cover
    CRITERIA = []


def _officer(principal: Principal) -> int:
    if principal.role != Role.staff or principal.user.staff_member_id is None:
        raise HTTPException(status_code=404, detail="Not found")
    return principal.user.staff_member_id


def _criteria(rating: Rating | None) -> list[tuple[str, bool]]:
    if rating is None:
        return []
    given = rating.criteria or {}
    labels = CRITERIA or [(k, k.replace("_", " ").capitalize()) for k in given]
    return [(label, bool(given.get(key))) for key, label in labels if key in given]


def _incident_for(session: SessionDep, footage: Footage) -> Incident | None:
    from sqlmodel import col, select

    return session.exec(
        select(Incident)
        .join(FootageIncident, col(FootageIncident.incident_id) == Incident.id)
        .where(FootageIncident.footage_id == footage.id)
        .order_by(col(Incident.force_started_at))
    ).first()


@router.get("/my/footage/{footage_id}")
def my_footage(
    request: Request,
    footage_id: FootageId,
    principal: CurrentPrincipal,
    session: SessionDep,
    acknowledged: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    sid = _officer(principal)
    footage = get_visible(session, principal, Footage, footage_id)  # staff: only footage they wore
    rating = feedback.current_rating(session, footage_id)
    ack = feedback.acknowledgement_for(session, rating.id) if rating else None  # type: ignore[arg-type]
    record(
        session,
        principal.actor,
        "feedback_view",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        detail={"rating_id": rating.id if rating else None},
    )
    ctx = _footage_context(session, principal, footage, rating, sid)
    return render(
        request,
        "staff/footage.html",
        {**ctx, "ack": ack, "needs_ack": rating is not None and ack is None, "just_acknowledged": bool(acknowledged)},
        page_title="Your footage",
    )


def _footage_context(
    session: SessionDep, principal: Principal, footage: Footage, rating: Rating | None, sid: int
) -> dict[str, Any]:
    """What the officer's page of one clip shows beside the acknowledgement: the clip, its rating and criteria,
    its incident and the officer's own activation check there, and the player's source."""
    incident = _incident_for(session, footage)
    return {
        "footage": footage,
        "rating": rating,
        "criteria": _criteria(rating),
        "incident": incident,
        "activation": session.get(ActivationResult, (incident.id, sid)) if incident is not None else None,
        "video_src": video_url(footage.id, principal.user.id, "own_footage"),  # type: ignore[arg-type]
        "errors": {},
        "reply": "",
    }


@router.post("/my/footage/{footage_id}/acknowledge")
def my_footage_acknowledge(
    request: Request,
    footage_id: FootageId,
    principal: CurrentPrincipal,
    session: SessionDep,
    reply: Annotated[str, Form(max_length=1_000_000)] = "",  # longer than 2,000 is explained beside the box
) -> Response:
    sid = _officer(principal)
    footage = get_visible(session, principal, Footage, footage_id)
    rating = feedback.current_rating(session, footage_id)
    if rating is None:
        raise HTTPException(status_code=404, detail="This footage has not been rated yet.")
    if len(reply.strip()) > 2000:
        # The page as it was, with the reply as typed and what is wrong with it.
        ctx = _footage_context(session, principal, footage, rating, sid)
        errors = {"reply": f"Your reply must be 2,000 characters or fewer (it has {len(reply.strip()):,})"}
        return render(
            request,
            "staff/footage.html",
            {**ctx, "ack": None, "needs_ack": True, "just_acknowledged": False, "errors": errors, "reply": reply},
            status_code=422,
            page_title="Your footage",
        )
    try:
        feedback.acknowledge(session, rating, sid, reply)
    except feedback.AckRefused as exc:
        if exc.status != 409:
            raise HTTPException(status_code=exc.status, detail=exc.message) from exc
        return RedirectResponse(f"/my/footage/{footage_id}", status_code=303)
    record(
        session,
        principal.actor,
        "guidance_acknowledge",
        object_type="rating",
        object_id=rating.id,
        establishment_id=rating.establishment_id,
        detail={"footage_id": footage_id, "reply": bool(reply.strip()), "via": "page"},
    )
    return RedirectResponse(f"/my/footage/{footage_id}?acknowledged=1", status_code=303)


def _establishment_of(principal: Principal) -> int:
    if principal.establishment_id is None:
        raise HTTPException(status_code=404, detail="Good-practice examples belong to an establishment.")
    return principal.establishment_id


@router.get("/good-practice")
def good_practice(request: Request, principal: CurrentPrincipal, session: SessionDep) -> Response:
    est = _establishment_of(principal)
    hidden = blind_footage_ids(session, principal.user.id)
    examples = feedback.good_practice_examples(session, est, hidden=hidden)
    record(session, principal.actor, "good_practice_list_view", establishment_id=est, detail={"via": "page"})
    return render(
        request,
        "staff/good_practice.html",
        {"examples": examples, "criteria_labels": dict(CRITERIA), "blind_pending": len(hidden)},
        page_title="Good practice",
    )


@router.get("/good-practice/{footage_id}")
def good_practice_one(
    request: Request, footage_id: FootageId, principal: CurrentPrincipal, session: SessionDep
) -> Response:
    est = _establishment_of(principal)
    hidden = blind_footage_ids(session, principal.user.id)
    examples = {e.footage.id: e for e in feedback.good_practice_examples(session, est, hidden=hidden)}
    example = examples.get(footage_id)
    if example is None:
        raise HTTPException(status_code=404, detail="Not found")
    footage = get_viewable_footage(session, principal, footage_id)
    record(
        session,
        principal.actor,
        "good_practice_view",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
    )
    return render(
        request,
        "staff/good_practice_one.html",
        {
            "example": example,
            "criteria": _criteria(example.rating),
            "video_src": video_url(footage.id, principal.user.id, "good_practice"),  # type: ignore[arg-type]
        },
        page_title="Good-practice example",
    )


DONE = {
    "offered": "Offered as a good-practice example: staff of this establishment can now watch it.",
    "withdrawn": "Example withdrawn: staff no longer see it.",
}


OVERDUE_SHOWN = 500


@router.get("/feedback")
def coordinator_feedback(
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    days: Annotated[str | None, Query(max_length=40)] = None,
    date_from: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    date_to: Annotated[str | None, Query(alias="to", max_length=40)] = None,
) -> Response:
    est = _establishment_of(principal)
    # Typed into the page's boxes: a value that is not a number of days, or not a day, is explained beside
    # it, with the list for the usual number of days (and every incident) below, rather than a page of its
    # own. The compliance summary's "Guidance not acknowledged" links here with days=0 and its period.
    errors: dict[str, str] = {}
    text = (days or "").strip()
    n = get_settings().ack_overdue_days
    if text:
        if (typed := whole_number(text, 0, 365)) is not None:
            n = typed
        else:
            errors["days"] = "Enter the number of days as a whole number from 0 to 365"
    since, until, day_errors = localtime.day_range(date_from or "", date_to or "", ZoneInfo(get_settings().timezone))
    errors.update(day_errors)
    if day_errors:
        since = until = None
    first_day = since.date() if since else None
    last_day = (until - timedelta(days=1)).date() if until else None
    hidden = blind_footage_ids(session, principal.user.id)
    # The longest waiting first, at most OVERDUE_SHOWN of them: years of a large prison's unacknowledged
    # guidance made a page of megabytes (bench/pages.py). The dates narrow it; the count is of them all.
    now = utcnow()  # one moment for the list and the count, so that they agree at the cut-off
    overdue = feedback.overdue(
        session, est, n, now, hidden=hidden, force_since=since, force_until=until, limit=OVERDUE_SHOWN
    )
    total = (
        len(overdue)
        if len(overdue) < OVERDUE_SHOWN
        else feedback.overdue_count(session, est, n, now, hidden=hidden, force_since=since, force_until=until)
    )
    detail: dict[str, object] = {"days": n}
    detail.update({k: v for k, v in (("from", date_from), ("to", date_to)) if v and not day_errors})
    record(session, principal.actor, "feedback_overdue_view", establishment_id=est, detail=detail)
    return render(
        request,
        "staff/coordinator_feedback.html",
        {
            "overdue": overdue,
            "overdue_total": total,
            "blind_pending": len(hidden),
            "days": n,
            "days_typed": text if "days" in errors else str(n),
            # As the date picker writes a day (the summary's link gives ISO days), unless it is to be mended.
            "date_from": (date_from or "") if day_errors else localtime.day_text(first_day),
            "date_to": (date_to or "") if day_errors else localtime.day_text(last_day),
            "first_day": first_day,
            "last_day": last_day,
            "errors": errors,
            "examples": feedback.good_practice_examples(session, est, hidden=hidden),
            "candidates": feedback.green_candidates(session, est, hidden=hidden),
            "replies": feedback.recent_replies(session, est, hidden=hidden),
            "can_mark": principal.role == Role.coordinator,
            "names": _names(session, est),
            "done": request.query_params.get("done") if request.query_params.get("done") in DONE else None,
            "done_messages": DONE,
        },
        page_title="Feedback to officers",
    )


def _names(session: SessionDep, est: int) -> dict[int, str]:
    from sqlmodel import select

    return {s.id: s.name for s in session.exec(select(StaffMember).where(StaffMember.establishment_id == est)).all()}  # type: ignore[misc]


@router.post("/feedback/good-practice/{footage_id}")
def coordinator_mark_good_practice(
    footage_id: FootageId,
    principal: Coordinator,
    session: SessionDep,
    good_practice: Annotated[str, Form(max_length=1)] = "1",
) -> Response:
    footage = get_visible(session, principal, Footage, footage_id)
    on = good_practice == "1"
    feedback.set_good_practice(session, footage, on, by_user_id=principal.user.id)
    record(
        session,
        principal.actor,
        "good_practice_mark" if on else "good_practice_unmark",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
    )
    return RedirectResponse(f"/feedback?done={'offered' if on else 'withdrawn'}#good-practice", status_code=303)
