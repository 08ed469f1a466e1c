"""The figures each role sees first on its home page."""

from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from app.core.types import utcnow
from app.establishment.models import Establishment
from app.footage.models import Footage, FootageStatus
from app.rating.models import Acknowledgement, Rag, Rating
from app.rating.service import missing_footage_counts
from app.report.schemas import ComplianceSummary


def _count(session: Session, stmt: Any) -> int:
    return int(session.exec(select(func.count()).select_from(stmt.subquery())).one())


def coordinator_summary(session: Session, establishment_id: int) -> dict[str, Any]:
    live = select(Footage.id).where(Footage.establishment_id == establishment_id, Footage.purged_at == None)  # noqa: E711
    # NOT EXISTS, not NOT IN: PostgreSQL runs NOT IN (subquery) as a scan of the subquery for every clip once
    # the subquery outgrows work_mem (the home page took over 14 minutes on 300,000 clips, bench/pages.py).
    rated = (
        select(Rating.id)
        .where(
            Rating.footage_id == Footage.id,
            Rating.is_current == True,  # noqa: E712
            Rating.is_calibration == False,  # noqa: E712
        )
        .exists()
    )
    awaiting = live.where(col(Footage.status) == FootageStatus.analysed, ~rated)
    failed = live.where(col(Footage.status) == FootageStatus.failed)
    processing = live.where(
        col(Footage.status).in_([FootageStatus.received, FootageStatus.queued, FootageStatus.analysing])
    )
    since = utcnow() - timedelta(days=30)
    rated_30 = (  # clips, not rating versions: a re-rated clip counts once
        select(Rating.footage_id)
        .where(
            Rating.establishment_id == establishment_id,
            col(Rating.rated_at) >= since,
            Rating.is_calibration == False,  # noqa: E712
        )
        .distinct()
    )
    awaiting_n = _count(session, awaiting)
    est = session.get(Establishment, establishment_id)
    if est is not None and est.review_sample_percent < 100:
        # Reviewing a sample: only the unrated clips in the sample are waiting (the review queue's own count).
        from app.rating.service import QueueFilters, build_queue

        awaiting_n = build_queue(session, establishment_id, QueueFilters(), fill=False).counts["to_review"]
    no_footage, no_footage_unexplained = missing_footage_counts(session, establishment_id)
    return {
        "awaiting_rating": awaiting_n,
        "failed": _count(session, failed),
        "processing": _count(session, processing),
        # The review queue's own "No footage" figure, so the card and the list it opens agree (they counted
        # incidents and officers).
        "no_footage": no_footage,
        "no_footage_unexplained": no_footage_unexplained,
        "rated_last_30_days": _count(session, rated_30),
    }


STAFF_PAGE = 25  # rated clips a page of the officer's home


def _staff_ratings(staff_member_id: int) -> Any:
    return (
        select(Rating, Footage, Acknowledgement)
        .join(Footage, col(Footage.id) == Rating.footage_id)
        .join(Acknowledgement, col(Acknowledgement.rating_id) == Rating.id, isouter=True)
        .where(Rating.wearer_id == staff_member_id, Rating.is_current == True, Rating.is_calibration == False)  # noqa: E712
    )


def staff_feedback(
    session: Session, staff_member_id: int, *, offset: int = 0, limit: int | None = None
) -> list[tuple[Rating, Footage, Acknowledgement | None]]:
    """The officer's rated clips, the latest rated first (a page of them with `limit`)."""
    stmt = _staff_ratings(staff_member_id).order_by(col(Rating.rated_at).desc(), col(Rating.id).desc())
    if limit is not None:
        stmt = stmt.offset(offset).limit(limit)
    return [(r, f, a) for r, f, a in session.exec(stmt).all()]


def staff_feedback_count(session: Session, staff_member_id: int) -> int:
    return int(session.exec(select(func.count()).select_from(_staff_ratings(staff_member_id).subquery())).one())


def staff_waiting(session: Session, staff_member_id: int) -> list[tuple[Rating, Footage, Acknowledgement | None]]:
    """Guidance the officer has not acknowledged (every rating but green asks for it), the latest first."""
    stmt = _staff_ratings(staff_member_id).where(Rating.rag != Rag.green, col(Acknowledgement.rating_id).is_(None))
    rows = session.exec(stmt.order_by(col(Rating.rated_at).desc(), col(Rating.id).desc())).all()
    return [(r, f, a) for r, f, a in rows]


def guidance_waiting(session: Session, establishment_id: int) -> dict[str, int]:
    """Guidance not acknowledged now, whenever it was given (what the feedback page lists), and how much of
    it has waited longer than the configured days. The 30-day summary counts only its own period's clips."""
    from app.core.config import get_settings
    from app.rating.feedback import overdue_count

    days = get_settings().ack_overdue_days
    return {
        "total": overdue_count(session, establishment_id, 0),
        "overdue": overdue_count(session, establishment_id, days),
        "days": days,
    }


def governor_glance(session: Session, establishment_id: int, hide_footage: Collection[int] = ()) -> ComplianceSummary:
    """The compliance summary for the last 30 days (London calendar days, today included). `hide_footage`:
    as for `compliance_summary` (clips the viewer owes a blind second rating)."""
    from app.report.service import Period, compliance_summary
    from app.report.sql import tz

    today = utcnow().astimezone(tz()).date()
    period = Period(today - timedelta(days=29), today)
    return compliance_summary(session, establishment_id, period, hide_footage=hide_footage)
