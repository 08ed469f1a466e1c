"""Staff feedback JSON routes: my feedback, acknowledging guidance, overdue acknowledgements, good practice."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field

from app.audit.service import record
from app.core.config import get_settings
from app.core.deps import (
    Coordinator,
    CoordinatorOrGovernor,
    CurrentPrincipal,
    Officer,
    Principal,
    SessionDep,
    get_visible,
)
from app.core.http import paged_headers, set_page_headers
from app.core.types import utcnow
from app.footage.models import Footage
from app.footage.viewing import video_url
from app.rating import feedback
from app.rating.models import Rating
from app.rating.service import blind_footage_ids

router = APIRouter(prefix="/api/v1", tags=["feedback"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not valid JSON"},
    403: {},
    404: {},
    409: {},
    422: {},
}


class AcknowledgementPublic(BaseModel):
    rating_id: int
    acknowledged_at: datetime
    reply: str


class FeedbackItem(BaseModel):
    rating_id: int
    footage_id: int
    recorded_at: datetime
    rag: str
    criteria: dict[str, bool]
    guidance: str
    rated_at: datetime
    version: int
    needs_acknowledgement: bool
    acknowledgement: AcknowledgementPublic | None


class AcknowledgeIn(BaseModel):
    reply: str = Field(default="", max_length=2000, description="Optional reply to the coordinator")


class OverdueItem(BaseModel):
    rating_id: int
    footage_id: int
    staff_number: str
    officer_name: str
    rag: str
    rated_at: datetime
    days_waiting: int


class GoodPracticeIn(BaseModel):
    good_practice: bool
    reason: str = Field(default="", max_length=500)


class GoodPracticeOut(BaseModel):
    footage_id: int
    good_practice: bool


class ExamplePublic(BaseModel):
    footage_id: int
    recorded_at: datetime
    duration_s: float | None
    location: str | None
    criteria: dict[str, bool]
    note: str
    video_url: str


def _ack(a: Any) -> AcknowledgementPublic | None:
    return AcknowledgementPublic(rating_id=a.rating_id, acknowledged_at=a.acknowledged_at, reply=a.reply) if a else None


def staff_member_id(principal: Principal) -> int:
    """The signed-in officer's staff record (feedback is only ever about the footage they wore). `Officer`
    has already refused, and audited, anyone without one."""
    sid = principal.user.staff_member_id
    assert sid is not None, "Officer lets through only staff users with a staff record"
    return sid


@router.get("/my/feedback", response_model=list[FeedbackItem], responses={403: {}})
def my_feedback(principal: Officer, session: SessionDep) -> list[FeedbackItem]:
    sid = staff_member_id(principal)
    rows = feedback.my_feedback(session, sid)
    record(session, principal.actor, "feedback_list_view", object_type="staff_member", object_id=sid)
    return [
        FeedbackItem(
            rating_id=r.id,  # type: ignore[arg-type]
            footage_id=f.id,  # type: ignore[arg-type]
            recorded_at=f.recording_started_at,
            rag=str(r.rag),
            criteria={k: bool(v) for k, v in (r.criteria or {}).items()},
            guidance=r.guidance,
            rated_at=r.rated_at,
            version=r.version,
            needs_acknowledgement=feedback.needs_acknowledgement(r, a),
            acknowledgement=_ack(a),
        )
        for r, f, a in rows
    ]


@router.post(
    "/ratings/{rating_id}/acknowledgement",
    response_model=AcknowledgementPublic,
    status_code=201,
    responses=ERRORS,
)
def acknowledge(
    rating_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    data: AcknowledgeIn,
    principal: Officer,
    session: SessionDep,
) -> AcknowledgementPublic:
    """The officer acknowledges the guidance on their own footage (recorded with the time)."""
    sid = staff_member_id(principal)
    rating = get_visible(session, principal, Rating, rating_id)
    try:
        ack = feedback.acknowledge(session, rating, sid, data.reply)
    except feedback.AckRefused as exc:
        raise HTTPException(status_code=exc.status, detail=exc.message) from exc
    record(
        session,
        principal.actor,
        "guidance_acknowledge",
        object_type="rating",
        object_id=rating.id,
        establishment_id=rating.establishment_id,
        detail={"footage_id": rating.footage_id, "reply": bool(ack.reply), "via": "api"},
    )
    return _ack(ack)  # type: ignore[return-value]


OVERDUE_MAX = 5000


OVERDUE_HEADERS = paged_headers("pieces of overdue guidance")


@router.get(
    "/feedback/overdue",
    response_model=list[OverdueItem],
    responses={200: {"headers": OVERDUE_HEADERS}, 403: {}, 422: {}},
)
def overdue(
    request: Request,
    response: Response,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    days: Annotated[int | None, Query(ge=0, le=365, description="Default: the ack_overdue_days setting")] = None,
    establishment_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    limit: Annotated[int, Query(ge=1, le=OVERDUE_MAX, description="At most this many, longest waiting first")] = 500,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Skip this many")] = 0,
    after: Annotated[
        int | None,
        Query(ge=1, le=2**31 - 1, description="Only those after this rating (the last of the page before)"),
    ] = None,
) -> list[OverdueItem]:
    """Guidance not acknowledged `days` or more days after it was given, longest waiting first, a page at a time
    (a large prison has thousands). `X-Total-Count` says how many there are in all, and a `Link` header with
    rel="next" gives the next page while there is one: it goes on `after` the last rating listed, so guidance
    acknowledged meanwhile does not make the next page skip any (as an `offset` would)."""
    est = principal.establishment_id if not principal.is_admin else establishment_id
    if est is None:
        raise HTTPException(status_code=422, detail="Give establishment_id.")
    last = None
    if after is not None:
        last = session.get(Rating, after)
        if last is None or last.establishment_id != est or last.is_calibration:
            raise HTTPException(status_code=422, detail="after: no such rating of this establishment.")
    n = get_settings().ack_overdue_days if days is None else days
    hidden = blind_footage_ids(session, principal.user.id)
    now = utcnow()  # one moment for the page and the count, so that they agree at the cut-off
    rows = feedback.overdue(session, est, n, now, hidden=hidden, limit=limit + 1, offset=offset, after=last)
    more, rows = len(rows) > limit, rows[:limit]
    total = feedback.overdue_count(session, est, n, now, hidden=hidden)
    nxt = (
        request.url.remove_query_params(["offset", "after"]).include_query_params(after=rows[-1].rating.id, limit=limit)
        if more
        else None
    )
    set_page_headers(response, total, nxt)
    detail: dict[str, Any] = {
        "days": n,
        **({"offset": offset} if offset else {}),
        **({"after": after} if after else {}),
    }
    record(session, principal.actor, "feedback_overdue_view", establishment_id=est, detail=detail)
    return [
        OverdueItem(
            rating_id=o.rating.id,  # type: ignore[arg-type]
            footage_id=o.footage.id,  # type: ignore[arg-type]
            staff_number=o.officer.staff_number,
            officer_name=o.officer.name,
            rag=str(o.rating.rag),
            rated_at=o.rating.rated_at,
            days_waiting=o.days_waiting,
        )
        for o in rows
    ]


@router.put("/footage/{footage_id}/good-practice", response_model=GoodPracticeOut, responses=ERRORS)
def put_good_practice(
    footage_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    data: GoodPracticeIn,
    principal: Coordinator,
    session: SessionDep,
) -> GoodPracticeOut:
    """Offer (or withdraw) a green clip as a good-practice example for staff of the same establishment."""
    f = get_visible(session, principal, Footage, footage_id)
    feedback.set_good_practice(session, f, data.good_practice, by_user_id=principal.user.id)
    record(
        session,
        principal.actor,
        "good_practice_mark" if data.good_practice else "good_practice_unmark",
        object_type="footage",
        object_id=f.id,
        establishment_id=f.establishment_id,
        reason=data.reason or None,
    )
    return GoodPracticeOut(footage_id=f.id, good_practice=f.good_practice)  # type: ignore[arg-type]


@router.get("/good-practice", response_model=list[ExamplePublic], responses={403: {}, 422: {}})
def good_practice(
    principal: CurrentPrincipal,
    session: SessionDep,
    establishment_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> list[ExamplePublic]:
    est = principal.establishment_id if not principal.is_admin else establishment_id
    if est is None:
        raise HTTPException(status_code=422, detail="Give establishment_id.")
    examples = feedback.good_practice_examples(session, est, hidden=blind_footage_ids(session, principal.user.id))
    record(session, principal.actor, "good_practice_list_view", establishment_id=est, detail={"via": "api"})
    return [
        ExamplePublic(
            footage_id=e.footage.id,  # type: ignore[arg-type]
            recorded_at=e.footage.recording_started_at,
            duration_s=e.footage.duration_s,
            location=e.location,
            criteria={k: bool(v) for k, v in (e.rating.criteria or {}).items()},
            note=e.rating.guidance,
            video_url=video_url(e.footage.id, principal.user.id, "good_practice"),  # type: ignore[arg-type]
        )
        for e in examples
    ]
