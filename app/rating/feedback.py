"""The staff-facing side of ratings: an officer's own feedback, acknowledging guidance, the coordinator's
list of guidance not acknowledged after N days, and good-practice examples.

Officers only ever see ratings of footage they wore (`wearer_id`); good-practice examples are the one
exception (green, marked by a coordinator, same establishment: see `app.core.deps.can_view_footage`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import HTTPException
from sqlmodel import Session, col, select

from app.core.types import utcnow
from app.footage.models import Footage, FootageIncident
from app.incident.models import Incident
from app.rating.models import Acknowledgement, Rag, Rating
from app.rating.service import blind_footage_ids
from app.staff.models import StaffMember


def current_rating(session: Session, footage_id: int) -> Rating | None:
    return session.exec(
        select(Rating).where(
            Rating.footage_id == footage_id,
            Rating.is_current == True,  # noqa: E712
            Rating.is_calibration == False,  # noqa: E712
        )
    ).first()


def acknowledgement_for(session: Session, rating_id: int) -> Acknowledgement | None:
    return session.exec(select(Acknowledgement).where(Acknowledgement.rating_id == rating_id)).first()


def my_feedback(session: Session, staff_member_id: int) -> list[tuple[Rating, Footage, Acknowledgement | None]]:
    rows = session.exec(
        select(Rating, Footage, Acknowledgement)
        .join(Footage, col(Footage.id) == Rating.footage_id)
        .join(Acknowledgement, col(Acknowledgement.rating_id) == Rating.id, isouter=True)
        .where(
            Rating.wearer_id == staff_member_id,
            Rating.is_current == True,  # noqa: E712
            Rating.is_calibration == False,  # noqa: E712
        )
        .order_by(col(Rating.rated_at).desc())
    ).all()
    return [(r, f, a) for r, f, a in rows]


def needs_acknowledgement(rating: Rating, ack: Acknowledgement | None) -> bool:
    return ack is None and rating.rag != Rag.green


class AckRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


def acknowledge(session: Session, rating: Rating, staff_member_id: int, reply: str) -> Acknowledgement:
    """Record the officer's acknowledgement (with the time) and optional reply. Only the wearer, only the
    current rating, only once."""
    if rating.wearer_id != staff_member_id:
        raise AckRefused(404, "rating not found")
    if not rating.is_current or rating.is_calibration:
        raise AckRefused(409, "This rating has been replaced by a newer one: acknowledge the newer rating.")
    if acknowledgement_for(session, rating.id) is not None:  # type: ignore[arg-type]
        raise AckRefused(409, "You have already acknowledged this guidance.")
    ack = Acknowledgement(
        rating_id=rating.id,  # type: ignore[arg-type]
        staff_member_id=staff_member_id,
        acknowledged_at=utcnow(),
        reply=reply.strip(),
    )
    session.add(ack)
    session.flush()
    return ack


@dataclass
class Overdue:
    rating: Rating
    footage: Footage
    officer: StaffMember
    days_waiting: int


def _overdue_stmt(
    establishment_id: int,
    days: int,
    now: datetime,
    *,
    hidden: Collection[int] = (),
    force_since: datetime | None = None,
    force_until: datetime | None = None,
) -> Any:
    """The statement `overdue` runs (see there)."""
    cutoff = now - timedelta(days=days)
    stmt = (
        select(Rating, Footage, StaffMember)
        .join(Footage, col(Footage.id) == Rating.footage_id)
        .join(StaffMember, col(StaffMember.id) == Rating.wearer_id)
        .where(
            Rating.establishment_id == establishment_id,
            Rating.is_current == True,  # noqa: E712
            Rating.is_calibration == False,  # noqa: E712
            col(Rating.rag).in_([Rag.amber, Rag.red]),
            col(Rating.rated_at) <= cutoff,
            # NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN (subquery) as a scan of the subquery per row
            # once its rows outgrow work_mem (minutes on years of acknowledgements).
            ~select(Acknowledgement.id).where(Acknowledgement.rating_id == Rating.id).exists(),
            col(Rating.footage_id).not_in(sorted(hidden)),
        )
        .order_by(col(Rating.rated_at), col(Rating.id))  # a steady cut-off for the page's first 500
    )
    if force_since is not None or force_until is not None:
        linked = select(FootageIncident.footage_id).where(FootageIncident.establishment_id == establishment_id)
        if force_since is not None:
            linked = linked.where(col(FootageIncident.force_started_at) >= force_since)
        if force_until is not None:
            linked = linked.where(col(FootageIncident.force_started_at) < force_until)
        stmt = stmt.where(col(Rating.footage_id).in_(linked))
    return stmt


def overdue(
    session: Session,
    establishment_id: int,
    days: int,
    now: datetime | None = None,
    *,
    hidden: Collection[int] = (),
    force_since: datetime | None = None,
    force_until: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
    after: Rating | None = None,
) -> list[Overdue]:
    """Current amber/red ratings not acknowledged `days` or more days after they were given. `hidden`, here
    and below: clips left out (those the viewer owes a blind second rating: `blind_footage_ids`).
    `force_since`/`force_until` (either may be None: open): only clips linked to one of the establishment's
    incidents whose force began in that time, as the compliance summary counts a period's clips. `after`: only
    those after this rating in the list's order (the next page, by where the last one ended: guidance
    acknowledged meanwhile leaves the list, and an offset would then skip as many)."""
    now = now or utcnow()
    stmt = _overdue_stmt(establishment_id, days, now, hidden=hidden, force_since=force_since, force_until=force_until)
    if after is not None:
        stmt = stmt.where(
            sa.or_(
                col(Rating.rated_at) > after.rated_at,
                sa.and_(col(Rating.rated_at) == after.rated_at, col(Rating.id) > after.id),
            )
        )
    rows = session.exec(stmt.limit(limit).offset(offset or None)).all()
    return [Overdue(r, f, s, (now - r.rated_at).days) for r, f, s in rows]


def overdue_count(
    session: Session,
    establishment_id: int,
    days: int,
    now: datetime | None = None,
    *,
    hidden: Collection[int] = (),
    force_since: datetime | None = None,
    force_until: datetime | None = None,
) -> int:
    """How many `overdue` lists, counted by the database."""
    stmt = _overdue_stmt(
        establishment_id, days, now or utcnow(), hidden=hidden, force_since=force_since, force_until=force_until
    )
    ids = stmt.with_only_columns(col(Rating.id)).order_by(None).subquery()
    return int(session.exec(select(sa.func.count()).select_from(ids)).one())  # type: ignore[call-overload]


def set_good_practice(session: Session, footage: Footage, on: bool, *, by_user_id: int | None) -> Rating | None:
    """Mark (or unmark) a clip as a good-practice example; only a clip whose current rating is green. Not by
    a coordinator who owes the clip a blind second rating: whether it may be marked would tell them its
    first rating."""
    if footage.id in blind_footage_ids(session, by_user_id):
        raise HTTPException(
            status_code=409, detail="You have been asked for a blind second rating of this clip: give that first."
        )
    rating = current_rating(session, footage.id)  # type: ignore[arg-type]
    if on:
        if footage.purged_at is not None:
            raise HTTPException(status_code=409, detail="This footage was deleted under the retention policy.")
        if rating is None or rating.rag != Rag.green:
            raise HTTPException(
                status_code=409, detail="Only footage whose current rating is green can be a good-practice example."
            )
    footage.good_practice = on
    session.add(footage)
    session.flush()
    return rating


@dataclass
class Example:
    footage: Footage
    rating: Rating
    location: str | None


def good_practice_examples(session: Session, establishment_id: int, *, hidden: Collection[int] = ()) -> list[Example]:
    """Marked clips of the establishment whose current rating is (still) green, newest first."""
    rows = session.exec(
        select(Footage, Rating)
        .join(Rating, col(Rating.footage_id) == Footage.id)
        .where(
            Footage.establishment_id == establishment_id,
            Footage.good_practice == True,  # noqa: E712
            col(Footage.purged_at).is_(None),
            col(Footage.id).not_in(sorted(hidden)),
            Rating.is_current == True,  # noqa: E712
            Rating.is_calibration == False,  # noqa: E712
            Rating.rag == Rag.green,
        )
        .order_by(col(Footage.recording_started_at).desc())
    ).all()
    ids = [f.id for f, _ in rows]
    locations: dict[int, str] = {}
    if ids:
        for fid, loc in session.exec(
            select(FootageIncident.footage_id, Incident.location)
            .join(Incident, col(Incident.id) == FootageIncident.incident_id)
            .where(col(FootageIncident.footage_id).in_(ids))
        ).all():
            locations.setdefault(fid, loc)
    return [Example(f, r, locations.get(f.id)) for f, r in rows]  # type: ignore[arg-type]


def green_candidates(
    session: Session, establishment_id: int, limit: int = 20, *, hidden: Collection[int] = ()
) -> list[tuple[Footage, Rating]]:
    """Recently rated green clips not yet marked: what a coordinator might offer as examples."""
    rows = session.exec(
        select(Footage, Rating)
        .join(Rating, col(Rating.footage_id) == Footage.id)
        .where(
            Footage.establishment_id == establishment_id,
            Footage.good_practice == False,  # noqa: E712
            col(Footage.purged_at).is_(None),
            col(Footage.id).not_in(sorted(hidden)),
            Rating.is_current == True,  # noqa: E712
            Rating.is_calibration == False,  # noqa: E712
            Rating.rag == Rag.green,
        )
        .order_by(col(Rating.rated_at).desc())
        .limit(limit)
    ).all()
    return [(f, r) for f, r in rows]


@dataclass
class Reply:
    acknowledgement: Acknowledgement
    rating: Rating
    officer: StaffMember


def recent_replies(
    session: Session, establishment_id: int, *, days: int = 90, limit: int = 50, hidden: Collection[int] = ()
) -> list[Reply]:
    """Officers' replies to guidance, newest first: what they wrote back when they acknowledged it."""
    since = utcnow() - timedelta(days=days)
    rows = session.exec(
        select(Acknowledgement, Rating, StaffMember)
        .join(Rating, col(Rating.id) == Acknowledgement.rating_id)
        .join(StaffMember, col(StaffMember.id) == Acknowledgement.staff_member_id)
        .where(
            Rating.establishment_id == establishment_id,
            Acknowledgement.reply != "",
            col(Acknowledgement.acknowledged_at) >= since,
            col(Rating.footage_id).not_in(sorted(hidden)),
        )
        .order_by(col(Acknowledgement.acknowledged_at).desc())
        .limit(limit)
    ).all()
    return [Reply(a, r, s) for a, r, s in rows]
