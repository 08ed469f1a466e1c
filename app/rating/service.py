"""Ratings (versioned, never edited), the review queue, roll-ups, sampling and calibration.

Services only flush; the caller's unit of work commits. Access (which establishment, which role) is
decided by the routes through app.core.deps before anything here is called.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.auth.models import Role, User
from app.core.beside import beside
from app.core.config import get_settings
from app.core.db import tune_transaction
from app.core.types import utcnow
from app.establishment.models import Camera, Establishment
from app.footage import linking
from app.footage.models import Finding, Footage, FootageIncident, FootageStatus, Keyframe, Segment
from app.footage.service import find_purged
from app.incident.models import Incident, IncidentStaff, NoFootageExplanation
from app.rating.agreement import Agreement, cohen_kappa
from app.rating.models import CalibrationAssignment, GuidanceTemplate, Rag, Rating
from app.rating.rules import SHORT_DEN, SHORT_NUM, ClipFacts, ClipStatus, Span, Suggestion, clip_facts, suggest
from app.rating.sampling import SampleItem, select_sample
from app.staff.models import StaffMember

CRITERIA: list[tuple[str, str]] = [
    ("switched_on_before_force", "Switched on before force"),
    ("whole_incident_captured", "Whole incident captured"),
    ("unobstructed", "Camera unobstructed and well positioned"),
    ("sound_clear", "Sound clear"),
    ("recording_announced", "Recording announced"),
    ("deescalation_visible", "De-escalation visible"),
]
CRITERIA_KEYS = [k for k, _ in CRITERIA]
GUIDANCE_MIN_CHARS = 10
GUIDANCE_MAX_CHARS = 5000  # rating.guidance
REASON_MAX_CHARS = 1000  # rating.override_reason, rating.rerating_reason
REASON_MIN_CHARS = 5

# What a guidance template can be about, of what the automatic checks find on a clip (`clip_findings`).
TEMPLATE_FINDINGS: dict[str, str] = {
    "switched_on_late": "Switched on after force began",
    "not_on_in_force": "Not recording while force was used",
    "lens_covered": "Lens covered or too dark to see",
    "stopped_early": "Stopped before force ended",
}

# Title, rating, guidance, and what the checks found that it is about (None: nothing in particular).
DEFAULT_TEMPLATES: list[tuple[str, Rag | None, str, str | None]] = [
    (
        "Switch on earlier",
        Rag.amber,
        "Your camera was switched on after force began, so the start of the incident is not on video. "
        "Press record as soon as you respond to an alarm or expect that force may be needed, before going hands-on.",
        "switched_on_late",
    ),
    (
        "Not switched on until force ended",
        Rag.red,
        "Your camera was not recording while force was used, so there is no video evidence of what happened. "
        "Switching on is part of responding: press record on your way to any incident.",
        "not_on_in_force",
    ),
    (
        "Lens covered",
        Rag.amber,
        "The lens was covered for part of the restraint. Check your camera is mounted centrally and clear of "
        "your stab vest straps and radio before going hands-on, and re-position it as soon as it is safe.",
        "lens_covered",
    ),
    (
        "Stopped too early",
        Rag.amber,
        "Recording stopped before the incident ended. Keep recording until the person is settled and staff "
        "have withdrawn, then state the time and the reason before you stop.",
        "stopped_early",
    ),
    (
        "Announce recording",
        Rag.amber,
        "Tell the person and others present that you are recording, as early as you safely can: "
        '"I am recording on body-worn video." It often helps to calm things down.',
        None,
    ),
    (
        "Good practice",
        Rag.green,
        "Good footage: switched on early, clear view of the whole incident and recording announced. "
        "Thank you; this could be used as a good-practice example.",
        None,
    ),
]


class RatingRejected(Exception):
    """The rating breaks a rule; `errors` maps each form field to a message a person can act on."""

    def __init__(self, errors: dict[str, str], status_code: int = 422) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors
        self.status_code = status_code


@dataclass
class RatingInput:
    rag: Rag | None
    criteria: dict[str, bool] = field(default_factory=dict)
    guidance: str = ""
    override_reason: str | None = None
    rerating_reason: str | None = None


# ---------------------------------------------------------------- facts about clips
def primary_incident(session: Session, footage_id: int) -> Incident | None:
    """The clip's incident for review: the earliest of its establishment's that it is linked to (of two at the
    same moment, the first recorded), as the queue places it. Another establishment's incident it is also
    linked to is not its for review, nor shown with it."""
    return session.exec(
        select(Incident)
        .join(FootageIncident, col(FootageIncident.incident_id) == Incident.id)
        .join(Footage, col(Footage.id) == FootageIncident.footage_id)
        .where(FootageIncident.footage_id == footage_id, Incident.establishment_id == Footage.establishment_id)
        .order_by(col(Incident.force_started_at), col(Incident.id))
    ).first()


def _facts(
    footage: Footage | QueueClip,
    incident: Incident | QueueIncident | None,
    segs: Sequence[Segment | Span],
    kinds: Sequence[str],
) -> ClipFacts:
    return clip_facts(
        analysed=footage.status == FootageStatus.analysed,
        recording_started_at=footage.recording_started_at,
        duration_s=footage.duration_s if footage.duration_s is not None else footage.claimed_duration_s,
        activated_at=footage.activated_at,
        prerecord_s=footage.prerecord_seconds,
        force_started_at=incident.force_started_at if incident else None,
        force_ended_at=incident.force_ended_at if incident else None,
        segments=[Span(str(s.kind), s.start, s.end) for s in segs],
        findings=kinds,
    )


def facts_for(session: Session, footage: Footage, incident: Incident | None) -> ClipFacts:
    segs = session.exec(select(Segment).where(Segment.footage_id == footage.id).order_by(col(Segment.start))).all()
    kinds = session.exec(select(Finding.kind).where(Finding.footage_id == footage.id)).all()
    return _facts(footage, incident, segs, kinds)


def current_rating(session: Session, footage_id: int) -> Rating | None:
    return session.exec(
        select(Rating).where(
            Rating.footage_id == footage_id,
            Rating.is_current == True,  # noqa: E712
            Rating.is_calibration == False,  # noqa: E712
        )
    ).first()


def history(session: Session, footage_id: int, *, include_calibration: bool = True) -> list[Rating]:
    stmt = select(Rating).where(Rating.footage_id == footage_id)
    if not include_calibration:
        stmt = stmt.where(Rating.is_calibration == False)  # noqa: E712
    return list(session.exec(stmt.order_by(col(Rating.rated_at).desc(), col(Rating.id).desc())).all())


# ---------------------------------------------------------------- rating
def _check(data: RatingInput, suggestion: Suggestion, current: Rating | None, *, calibration: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if data.rag is None:
        errors["rag"] = "Choose a rating: green, amber or red"
        return errors
    unknown = sorted(set(data.criteria) - set(CRITERIA_KEYS))
    if unknown:
        errors["criteria"] = f"Unknown criteria: {', '.join(unknown)}. Use: {', '.join(CRITERIA_KEYS)}"
    guidance = (data.guidance or "").strip()
    if data.rag in (Rag.amber, Rag.red) and len(guidance) < GUIDANCE_MIN_CHARS:
        a_rating = "an amber rating" if data.rag is Rag.amber else "a red rating"
        errors["guidance"] = (
            f"Enter guidance for the officer: it is required for {a_rating}"
            if not guidance
            else f"Guidance must be at least {GUIDANCE_MIN_CHARS} characters, so the officer knows what to change"
        )
    if (
        not calibration
        and suggestion.rag is not None
        and data.rag != suggestion.rag
        and len((data.override_reason or "").strip()) < REASON_MIN_CHARS
    ):
        errors["override_reason"] = f"Say why you rated {data.rag.value} when the checks suggest {suggestion.rag.value}"
    if not calibration and current is not None and len((data.rerating_reason or "").strip()) < REASON_MIN_CHARS:
        errors["rerating_reason"] = (
            f"This clip is already rated {current.rag.value} (version {current.version}): "
            "say why you are rating it again"
        )
    # Too long is refused with its length, never stored cut short (the columns' own limits).
    for name, label, most in (
        ("guidance", "Guidance", GUIDANCE_MAX_CHARS),
        ("override_reason", "The reason for a different rating", REASON_MAX_CHARS),
        ("rerating_reason", "The reason for rating again", REASON_MAX_CHARS),
    ):
        n = len((getattr(data, name) or "").strip())
        if n > most:
            errors[name] = f"{label} must be {most:,} characters or fewer (it has {n:,})"
    return errors


def blind_footage_ids(session: Session, user_id: int | None) -> set[int]:
    """Clips this user owes a blind second rating: until it is given, no page or API shows them the first."""
    if user_id is None:
        return set()
    return set(
        session.exec(
            select(CalibrationAssignment.footage_id).where(
                CalibrationAssignment.assigned_to_user_id == user_id,
                CalibrationAssignment.completed_at == None,  # noqa: E711
            )
        ).all()
    )


def pending_assignment(session: Session, footage_id: int, user_id: int | None) -> CalibrationAssignment | None:
    return session.exec(
        select(CalibrationAssignment).where(
            CalibrationAssignment.footage_id == footage_id,
            CalibrationAssignment.assigned_to_user_id == user_id,
            CalibrationAssignment.completed_at == None,  # noqa: E711
        )
    ).first()


def create_rating(session: Session, footage: Footage, data: RatingInput, *, user_id: int) -> Rating:
    """A new version of the clip's rating; the previous one (if any) is superseded, never changed otherwise."""
    assert footage.id is not None
    # The clip's row held to the commit (PostgreSQL), and whether it was deleted read under it: a purge that
    # committed while this waited is seen, not rated past. (FOR NO KEY UPDATE: see `deleted_copies_rated`.)
    purged_at = session.execute(
        sa.select(col(Footage.purged_at)).where(col(Footage.id) == footage.id).with_for_update(key_share=True)
    ).scalar_one()
    if footage.purged_at is not None or purged_at is not None:
        raise RatingRejected({"footage": "This footage has been deleted under the retention rules"}, 409)
    if pending_assignment(session, footage.id, user_id) is not None:
        raise RatingRejected(
            {"footage": "This clip is waiting for your blind second rating: rate it from Calibration"}, 409
        )
    suggestion = suggest(facts_for(session, footage, primary_incident(session, footage.id)))
    current = current_rating(session, footage.id)
    differs = suggestion.rag is not None and data.rag != suggestion.rag
    if differs and current is not None and not (data.override_reason or "").strip() and data.rerating_reason:
        # Rating again, against the suggestion: one reason serves both (it was asked for twice in a row).
        data = replace(data, override_reason=data.rerating_reason)
    errors = _check(data, suggestion, current, calibration=False)
    if errors:
        raise RatingRejected(errors)
    assert data.rag is not None
    overridden = suggestion.rag is not None and data.rag != suggestion.rag
    rating = Rating(
        footage_id=footage.id,
        establishment_id=footage.establishment_id,
        wearer_id=footage.wearer_id,
        recorded_at=footage.recording_started_at,
        version=(current.version + 1) if current else _next_version(session, footage.id, calibration=False),
        rag=data.rag,
        criteria={k: bool(data.criteria.get(k, False)) for k in CRITERIA_KEYS},
        guidance=(data.guidance or "").strip(),
        suggested_rag=suggestion.rag,
        override_reason=(data.override_reason or "").strip() or None if overridden else None,
        rerating_reason=(data.rerating_reason or "").strip() or None if current else None,
        rated_by_user_id=user_id,
        is_current=True,
    )
    copies = deleted_copies_rated(session, footage)
    try:
        with session.begin_nested():
            if current is not None:
                current.is_current = False
                session.add(current)
                session.flush()
            session.add(rating)
            session.flush()
            for old in copies:  # the same recording's rating, given before its clip was deleted
                old.is_current = False
                old.superseded_by_id = rating.id
                session.add(old)
            session.flush()
    except sa.exc.IntegrityError as exc:
        raise RatingRejected(
            {"footage": "Someone else rated this clip at the same moment. Reload the page to see their rating."},
            409,
        ) from exc
    if current is not None:
        current.superseded_by_id = rating.id
        session.add(current)
        session.flush()
    return rating


def deleted_before(session: Session, footage: Footage) -> list[int]:
    """The clips of the same bytes, in the same establishment and worn by the same officer, that retention
    deleted before `footage` was stored (a file stored again after its clip was deleted is a new clip, with a
    higher id)."""
    assert footage.id is not None
    return [
        f.id
        for f in find_purged(session, footage.establishment_id, footage.sha256)
        if f.id is not None and f.id < footage.id and f.wearer_id == footage.wearer_id
    ]


def _incidents_of(session: Session, footage_ids: list[int]) -> dict[int, set[int]]:
    """The incidents each of these clips is linked to (an empty set for one linked to none)."""
    links: dict[int, set[int]] = defaultdict(set)
    for fid, iid in session.exec(
        select(FootageIncident.footage_id, FootageIncident.incident_id).where(
            col(FootageIncident.footage_id).in_(footage_ids)
        )
    ):
        links[fid].add(iid)
    return links


def deleted_copies_rated(session: Session, footage: Footage) -> list[Rating]:
    """The current ratings of the establishment's clips of the same bytes that retention deleted (a file stored
    again after its clip was deleted), when rating `footage` takes their place: the same recording, worn by
    the same officer, and linked to every incident the deleted clip was. Rating it again then supersedes
    them, so the recording counts once in the reports and the officer's feedback, under its latest rating.
    Otherwise (another wearer entered, or an incident the new clip is not linked to) the old rating would
    drop out of figures the new one does not enter: both stay.

    Holds `footage`'s row to the end of the transaction (PostgreSQL) before reading its links: rating it and
    linking it at the same moment then take turns, and the second sees the first's rating or link (each
    would otherwise miss the other's, and the recording count twice)."""
    assert footage.id is not None
    deleted = deleted_before(session, footage)
    if not deleted:
        return []
    # FOR NO KEY UPDATE: the links and ratings just inserted hold KEY SHARE on the row (their foreign key), which
    # this does not wait for; two such inserts each then asking FOR UPDATE would deadlock.
    session.execute(sa.select(col(Footage.id)).where(col(Footage.id) == footage.id).with_for_update(key_share=True))
    links = _incidents_of(session, [*deleted, footage.id])
    covered = [fid for fid in deleted if links[fid] <= links[footage.id]]
    if not covered:
        return []
    return list(session.exec(select(Rating).where(col(Rating.footage_id).in_(covered), *CURRENT_RATING)).all())


def supersede_deleted_copies(session: Session, footage: Footage, *, deleted_too: bool = False) -> list[int]:
    """When `footage`'s links change (linked to an incident, or a deleted copy unlinked from one): the deleted
    copies' ratings its current rating now takes the place of (`deleted_copies_rated`), superseded by it; their
    ids. A copy rated before it was linked to the deleted clip's incident would otherwise count beside the
    deleted clip's rating until it was rated again. A deleted `footage` gives nothing, unless `deleted_too`
    (`bwv-review ratings-stored-again`: a copy rated in its place, then deleted in turn)."""
    assert footage.id is not None
    if footage.purged_at is not None and not deleted_too:
        return []
    copies = deleted_copies_rated(session, footage)  # holds the clip's row first
    current = current_rating(session, footage.id) if copies else None
    if current is None:
        return []
    for old in copies:
        old.is_current = False
        old.superseded_by_id = current.id
        session.add(old)
    session.flush()
    return sorted(old.id for old in copies if old.id is not None)


def later_copies(session: Session, footage: Footage) -> list[Footage]:
    """The clips of the same bytes, establishment and wearer stored after `footage` (deleted or not), oldest
    first: those that may take its place once it is deleted."""
    assert footage.id is not None
    return list(
        session.exec(
            select(Footage)
            .where(
                Footage.establishment_id == footage.establishment_id,
                Footage.sha256 == footage.sha256,
                col(Footage.wearer_id).is_not_distinct_from(footage.wearer_id),
                col(Footage.id) > footage.id,
            )
            .order_by(col(Footage.id))
        ).all()
    )


def restore_deleted_copies(session: Session, footage: Footage) -> list[int]:
    """On unlinking `footage` from an incident: the deleted copies' ratings that one of its ratings superseded
    (`supersede_deleted_copies`, `create_rating`) where it no longer takes their place (it is not linked to
    every incident they were now) are current again, so they count in those incidents' figures as before the
    copy was linked; their ids."""
    assert footage.id is not None
    deleted = deleted_before(session, footage)
    if not deleted:
        return []
    superseded = list(
        session.exec(
            select(Rating).where(
                col(Rating.footage_id).in_(deleted),
                col(Rating.superseded_by_id).in_(select(Rating.id).where(Rating.footage_id == footage.id)),
                Rating.is_current == False,  # noqa: E712
                Rating.is_calibration == False,  # noqa: E712
            )
        ).all()
    )
    if not superseded:
        return []
    links = _incidents_of(session, [*deleted, footage.id])
    restored = [r for r in superseded if not links[r.footage_id] <= links[footage.id]]
    for r in restored:
        r.is_current = True
        r.superseded_by_id = None
        session.add(r)
    session.flush()
    return sorted(r.id for r in restored if r.id is not None)


def _next_version(session: Session, footage_id: int, *, calibration: bool) -> int:
    top = session.exec(
        select(sa.func.max(Rating.version)).where(Rating.footage_id == footage_id, Rating.is_calibration == calibration)
    ).one()
    return int(top or 0) + 1


# ---------------------------------------------------------------- roll-ups
def worst(rags: Iterable[Rag | str | None]) -> Rag | None:
    known = [Rag(r) for r in rags if r is not None]
    return max(known, key=lambda r: r.severity) if known else None


@dataclass
class OfficerRollup:
    staff_member_id: int | None
    name: str
    staff_number: str
    rag: Rag | None
    clips: int
    rated: int
    footage_ids: list[int]


def incident_rollup(
    session: Session, incident: Incident, *, viewer_id: int | None = None, hidden: Collection[int] | None = None
) -> dict[str, Any]:
    """Per officer: the worst current rating of their clips (an officer with no clip counts as red only via
    the activation check, not here); per incident: the worst of all its clips. Clips the viewer owes a blind
    second rating count as not rated for them (`hidden`, when the caller has them already)."""
    if hidden is None:
        hidden = blind_footage_ids(session, viewer_id)
    clips = session.exec(
        select(Footage)
        .join(FootageIncident, col(FootageIncident.footage_id) == Footage.id)
        .where(FootageIncident.incident_id == incident.id, Footage.purged_at == None)  # noqa: E711
        .order_by(col(Footage.recording_started_at))
    ).all()
    ids = [f.id for f in clips]
    ratings = {
        r.footage_id: r
        for r in session.exec(
            select(Rating).where(
                col(Rating.footage_id).in_(ids),
                Rating.is_current == True,  # noqa: E712
                Rating.is_calibration == False,  # noqa: E712
            )
        ).all()
        if r.footage_id not in hidden
    }
    involved = session.exec(
        select(StaffMember)
        .join(IncidentStaff, col(IncidentStaff.staff_member_id) == StaffMember.id)
        .where(IncidentStaff.incident_id == incident.id)
    ).all()
    people: dict[int | None, StaffMember | None] = {s.id: s for s in involved}
    for f in clips:
        if f.wearer_id not in people:
            people[f.wearer_id] = session.get(StaffMember, f.wearer_id) if f.wearer_id else None
    officers = []
    for sid, staff in people.items():
        mine = [f for f in clips if f.wearer_id == sid]
        officers.append(
            OfficerRollup(
                staff_member_id=sid,
                name=staff.name if staff else "Unknown wearer",
                staff_number=staff.staff_number if staff else "",
                rag=worst(ratings[f.id].rag for f in mine if f.id in ratings),
                clips=len(mine),
                rated=sum(1 for f in mine if f.id in ratings),
                footage_ids=[f.id for f in mine if f.id is not None],
            )
        )
    officers.sort(key=lambda o: o.name)
    return {
        "incident_id": incident.id,
        "reference": incident.reference,
        "rag": worst(r.rag for r in ratings.values()),
        "clips": len(clips),
        "rated": len(ratings),
        "fully_rated": bool(clips) and len(ratings) == len(clips),
        "officers": officers,
        "clip_ratings": [
            {"footage_id": f.id, "wearer_id": f.wearer_id, "rag": ratings[f.id].rag if f.id in ratings else None}
            for f in clips
        ],
    }


# ---------------------------------------------------------------- the queue
CHECKS = ["before_force", "late", "after_force", "no_footage", "flagged"]
STATUSES = ["to_review", "unrated", "rated", "in_sample", "not_in_sample", "all"]
CHECK_LABELS = {
    "before_force": "On before force",
    "late": "Switched on late",
    "after_force": "On after force ended",
    "no_footage": "No footage",
    "flagged": "Flagged by the checks",
}
STATUS_LABELS = {
    "to_review": "To review (unrated, in sample)",
    "unrated": "All unrated",
    "rated": "Rated",
    "in_sample": "In the sample",
    "not_in_sample": "Not in the sample",
    "all": "All footage",
}


@dataclass
class QueueFilters:
    date_from: date | None = None
    date_to: date | None = None
    location: str | None = None
    officer: int | None = None
    check: str | None = None
    status: str = "to_review"


@dataclass(frozen=True, slots=True)
class RatingMark:
    """What the queue shows of a clip's current rating. The queue reads every live clip of the
    establishment, and a full Rating each took as long to load as the rest of its row."""

    rag: Rag
    version: int


@dataclass
class ClipRow:
    """A clip as a page of the queue shows it. Its `check` and `flagged` come from the database, which works
    them out for every clip of the establishment (`_queue_index`); its whole `facts` say the same."""

    footage: QueueClip
    incident: QueueIncident | None
    wearer: StaffMember | None
    camera: Camera | None
    check: ClipStatus | None  # the clip against its incident's force window (None: no incident)
    flagged: bool  # anything the automatic checks want a person to look at, or its analysis failed
    facts: ClipFacts
    rating: RatingMark | None
    in_sample: bool
    pending_calibration: bool = False
    blind: bool = False  # the viewer owes this clip a blind second rating: its first rating is not shown

    @property
    def suggestion(self) -> Suggestion:
        # Worked out for the clips a page shows (its wording was a second of a large prison's queue).
        return suggest(self.facts)

    @property
    def reviewable(self) -> bool:
        return self.footage.status == FootageStatus.analysed

    @property
    def processing(self) -> bool:
        return self.footage.status in (FootageStatus.received, FootageStatus.queued, FootageStatus.analysing)


@dataclass
class IncidentGroup:
    incident: QueueIncident | None
    clips: list[ClipRow]  # read whole for the groups a page shows (`fill_groups`)
    missing: list[StaffMember]  # officers involved with no footage linked
    entries: list[QueueEntry] = field(default_factory=list)  # its clips as the queue counts them
    at: datetime | None = None  # when force began (None: the clips linked to no incident)
    key: int | None = None  # the incident's id
    size: int = 0  # clips listed under it, before its entries are read (`queue_page`)


@dataclass
class Queue:
    groups: list[IncidentGroup]
    counts: dict[str, int]
    check_counts: dict[str, int]
    order: list[int]  # footage ids "to review" in queue order (for "next")
    total_clips: int
    sample_percent: int
    sample_size: int


def _local_day_bounds(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time.min, tzinfo=tz)


@dataclass(frozen=True, slots=True)
class QueueClip:
    """What the queue reads of each live clip (the review screen reads the rest of the one it opens). Whole
    Footage rows of every live clip took most of the queue's time on a large prison (bench/pages.py)."""

    id: int
    establishment_id: int
    wearer_id: int | None
    camera_id: int | None
    status: FootageStatus
    recording_started_at: datetime
    activated_at: datetime | None
    prerecord_seconds: float
    duration_s: float | None
    claimed_duration_s: float | None


QUEUE_FOOTAGE_COLUMNS: tuple[Any, ...] = tuple(getattr(Footage, name) for name in QueueClip.__slots__)


@dataclass(frozen=True, slots=True)
class QueueIncident:
    """What the queue reads of an incident: read as plain rows, not as Incident objects, whose making was about
    a second of a large prison's queue (bench/pages.py)."""

    id: int
    establishment_id: int
    reference: str
    location: str
    force_started_at: datetime
    force_ended_at: datetime


QUEUE_INCIDENT_COLUMNS: tuple[Any, ...] = tuple(getattr(Incident, name) for name in QueueIncident.__slots__)


@dataclass(slots=True)
class QueueEntry:
    """One live clip as the queue counts, filters and orders it: plain values worked out by the database
    (`_queue_index`). The clips a page shows are then read whole (`_clip_rows`)."""

    id: int
    wearer_id: int | None
    incident_id: int | None  # its incident for review (the earliest linked of the establishment's)
    incident_at: datetime | None  # when force began in that incident
    reviewable: bool  # analysed
    rated: bool  # has a current rating
    check: ClipStatus | None
    flagged: bool
    in_view: bool  # within the queue's officer, date and place filters
    in_sample: bool = True


def _micros(dialect: str, later: Any, earlier: Any) -> Any:
    """Whole microseconds from `earlier` to `later`, exactly, as Python's datetimes compare them. On SQLite from the
    stored text (YYYY-MM-DD HH:MM:SS.ffffff, as UTCDateTime writes it): its julianday() is some microseconds out."""
    if dialect == "postgresql":
        return sa.cast(sa.func.extract("epoch", later - earlier) * 1_000_000, sa.BigInteger)

    def whole(t: Any) -> Any:
        return sa.cast(sa.func.strftime("%s", t), sa.BigInteger)

    def fraction(t: Any) -> Any:
        return sa.cast(sa.func.substr(t, 21, 6), sa.Integer)

    return (whole(later) - whole(earlier)) * 1_000_000 + fraction(later) - fraction(earlier)


def _us(seconds: Any) -> Any:
    """A length in seconds as whole microseconds, rounded as `timedelta(seconds=...)` rounds it."""
    return sa.cast(sa.func.round(seconds * 1_000_000), sa.BigInteger)


def _check_columns(c: Any) -> tuple[Any, Any]:
    """(check, flagged) of each clip of `c` (the inner query of `_queue_index`: its times in whole microseconds
    from the moment its incident's force began): `rules.clip_facts` and `ClipFacts.flagged` in SQL, on integers, so
    both give the same answer to the microsecond. The queue counts and filters every clip of an establishment by
    them; worked out in Python, a large prison's hundreds of thousands of clips took seconds on every view but
    the queue as it opens. tests/rating/test_queue_scale.py holds the two to the same answers."""
    end = c.start + c.length
    # The press: logged by the camera, or the first frame plus the pre-record buffer, never after the last frame.
    press = sa.case(
        (c.logged.is_not(None), c.logged),
        (c.has_length == 1, c.start + sa.case((c.prerecord < c.length, c.prerecord), else_=c.length)),
        else_=c.start + c.prerecord,
    )
    check = sa.case(
        (c.incident_id.is_(None), sa.null()),
        (press <= 0, sa.literal("before_force")),
        (press <= c.force, sa.literal("late")),
        else_=sa.literal("after_force"),
    )
    # Part of the force window missing: recording stopped before force ended, or less than FULL_COVERAGE of the
    # window on the clip (`rules.SHORT_NUM / SHORT_DEN`); a window of no length needs the clip to hold its moment.
    covered = sa.case((end < c.force, end), else_=c.force) - sa.case((c.start > 0, c.start), else_=0)
    incomplete = sa.or_(
        end < c.force,
        sa.and_(c.force <= 0, sa.or_(c.start > 0, end < 0)),
        sa.and_(c.force > 0, covered * SHORT_DEN < c.force * SHORT_NUM),
    )
    flagged = sa.or_(
        c.failed == 1,
        sa.and_(c.incident_id.is_not(None), sa.or_(press > 0, incomplete)),
        c.stretch == 1,
        c.problem == 1,
    )
    return check, sa.case((flagged, 1), else_=0)


def _queue_settings(session: Session | sa.Connection) -> None:
    """For this transaction on PostgreSQL: room to sort every clip in memory, not on disk; and no JIT (compiling
    the queue's statement took 100 ms of a large prison's queue and saved nothing)."""
    tune_transaction(session, work_mem="64MB")


def _queue_index(
    session: Session, establishment_id: int, filters: QueueFilters, *, unrated_only: bool = False
) -> list[QueueEntry]:
    """Every live clip of the establishment (only those with no current rating, `unrated_only`), in queue order:
    by its incident (the earliest linked of the establishment's, of two at the same moment the first recorded,
    as `primary_incident`; clips with none last), then by recording start."""
    _queue_settings(session)
    q = _queue_clips(session.get_bind().dialect.name, establishment_id, filters, unrated_only=unrated_only).subquery()
    return _read_entries(session, q)


def _read_entries(session: Session, q: Any, *where: Any, window: tuple[int, int] | None = None) -> list[QueueEntry]:
    """`_queue_clips` rows (as subquery `q`) meeting `where`, as entries in queue order; `window`: only those from
    position `window[0]` to `window[1]` (from 0)."""
    cols = ("id", "wearer_id", "incident_id", "incident_at", "reviewable", "rated", "check", "flagged", "in_view")
    stmt = sa.select(*(q.c[name] for name in cols)).where(*where).order_by(*_queue_order(q))
    if window is not None:
        stmt = stmt.offset(window[0]).limit(window[1] - window[0])
    return [
        QueueEntry(fid, wid, iid, at, bool(ok), bool(r), chk, bool(flg), bool(seen))
        for fid, wid, iid, at, ok, r, chk, flg, seen in session.execute(stmt).all()
    ]


def _queue_order(q: Any) -> tuple[Any, ...]:
    """Queue order of `_queue_clips` rows: by incident (force start, then id; no incident last), then recording."""
    return (q.c.incident_id.is_(None), q.c.incident_at, q.c.incident_id, q.c.recording_started_at, q.c.id)


def _queue_clips(
    dialect: str,
    establishment_id: int,
    filters: QueueFilters,
    *,
    unrated_only: bool = False,
    only: Any = None,
    linked: bool = True,
) -> Any:
    """`_queue_index`'s rows as a statement (no order): each live clip's id, wearer_id, recording_started_at,
    incident_id, incident_at, reviewable, rated, check, flagged and in_view (1/0 for the flags). `only`: a
    statement of clip ids to keep to (all of the establishment's when None); `linked=False`, when they are known
    to be linked to none of its incidents, leaves their links unread."""
    clip = sa.inspect(Footage).local_table
    link = sa.inspect(FootageIncident).local_table
    inc = sa.inspect(Incident).local_table
    stretch = sa.inspect(Segment).local_table
    finding = sa.inspect(Finding).local_table
    live = [clip.c.establishment_id == establishment_id, clip.c.purged_at.is_(None)]
    links_of = [link.c.establishment_id == establishment_id]
    if only is not None:
        # Every link of these clips is still ranked, so each keeps its own first incident.
        live.append(clip.c.id.in_(only))
        links_of.append(link.c.footage_id.in_(only) if linked else sa.false())
    rated_clip = sa.inspect(Rating).local_table

    def has(table: Any, *where: Any) -> Any:
        """Whether the clip has a row of `table` about it: of every clip, as a set the database builds once (a
        hashed IN), not a look-up a clip; of `only`'s few, a look-up each (the set is of every clip's)."""
        if only is not None:
            return sa.select(table.c.footage_id).where(table.c.footage_id == clip.c.id, *where).exists()
        if table is rated_clip:  # a rating carries its clip's establishment
            return clip.c.id.in_(
                sa.select(table.c.footage_id).where(table.c.establishment_id == establishment_id, *where)
            )
        theirs = clip.alias("theirs")  # the establishment's clips' rows, not every establishment's
        return clip.c.id.in_(
            sa.select(table.c.footage_id)
            .join(theirs, theirs.c.id == table.c.footage_id)
            .where(theirs.c.establishment_id == establishment_id, *where)
        )

    rated = has(rated_clip, *CURRENT_RATING)
    if unrated_only:
        # The clips to rate found once; only their links are ranked (a large prison's are a tenth of them).
        to_rate = sa.select(clip.c.id).where(*live, ~rated).cte("to_rate")
        live = [*live, clip.c.id.in_(sa.select(to_rate.c.id))]
        links_of.append(link.c.footage_id.in_(sa.select(to_rate.c.id)))
    # Each clip's incident for review, ranked on the links' own copies of their incident's establishment and
    # force start (no join to the incidents until the first is known).
    ranked = (
        sa.select(
            link.c.footage_id,
            link.c.incident_id,
            sa.func.row_number()
            .over(partition_by=link.c.footage_id, order_by=(link.c.force_started_at, link.c.incident_id))
            .label("n"),
        )
        .where(*links_of)
        .subquery("linked")
    )
    first = (
        sa.select(
            ranked.c.footage_id, ranked.c.incident_id, inc.c.force_started_at, inc.c.force_ended_at, inc.c.location
        )
        .select_from(ranked.join(inc, inc.c.id == ranked.c.incident_id))
        .where(ranked.c.n == 1)
        .subquery("first_incident")
    )
    view: list[Any] = []
    if filters.officer is not None:
        view.append(clip.c.wearer_id == filters.officer)
    if filters.date_from or filters.date_to or filters.location:
        view += [first.c.incident_id.is_not(None), *_incident_filters(first, filters)]
    forced = first.c.force_started_at
    given = sa.func.coalesce(clip.c.duration_s, clip.c.claimed_duration_s)

    def flag(cond: Any) -> Any:
        return sa.case((cond, 1), else_=0)

    # The clip's times in microseconds from when force began, each worked out once (OFFSET 0 keeps PostgreSQL from
    # folding this into the outer query and working them out again at every use).
    inner = (
        sa.select(
            clip.c.id,
            clip.c.wearer_id,
            clip.c.recording_started_at,
            first.c.incident_id,
            forced.label("incident_at"),
            flag(clip.c.status == FootageStatus.analysed).label("reviewable"),
            flag(clip.c.status == FootageStatus.failed).label("failed"),
            (sa.literal(0) if unrated_only else flag(rated)).label("rated"),
            flag(has(stretch, stretch.c.end > stretch.c.start)).label("stretch"),
            flag(has(finding)).label("problem"),
            (flag(sa.and_(*view)) if view else sa.literal(1)).label("in_view"),
            _micros(dialect, clip.c.recording_started_at, forced).label("start"),
            _micros(dialect, first.c.force_ended_at, forced).label("force"),
            _micros(dialect, clip.c.activated_at, forced).label("logged"),
            sa.case((given > 0, 1), else_=0).label("has_length"),
            sa.case((given > 0, _us(given)), else_=0).label("length"),
            _us(clip.c.prerecord_seconds).label("prerecord"),
        )
        .select_from(clip.outerjoin(first, first.c.footage_id == clip.c.id))
        .where(*live)
        .offset(0)
        .subquery("clips")
    )
    check, flagged = _check_columns(inner.c)
    return sa.select(
        inner.c.id,
        inner.c.wearer_id,
        inner.c.recording_started_at,
        inner.c.incident_id,
        inner.c.incident_at,
        inner.c.reviewable,
        inner.c.rated,
        check.label("check"),
        flagged.label("flagged"),
        inner.c.in_view,
    )


def _sample(est: Establishment, entries: Sequence[QueueEntry]) -> None:
    """Mark the clips in the establishment's review sample (chosen from every live clip)."""
    if est.review_sample_percent >= 100:
        return
    chosen = select_sample(
        [SampleItem(e.id, e.wearer_id, e.flagged) for e in entries],
        percent=est.review_sample_percent,
        seed=est.review_sample_seed,
    )
    for e in entries:
        e.in_sample = e.id in chosen


ROWS_CHUNK = 1000  # clips a statement when `_clip_rows` reads them (one parameter a clip)


def _clip_rows(session: Session, establishment_id: int, entries: Sequence[QueueEntry]) -> list[ClipRow]:
    """The clips of these entries read whole, for the page that shows them (in the entries' order)."""
    clips: dict[int, QueueClip] = {}
    incidents: dict[int, QueueIncident] = {}
    ratings: dict[int, RatingMark] = {}
    pending: set[int] = set()
    segs: dict[int, list[Span]] = defaultdict(list)
    kinds: dict[int, list[str]] = defaultdict(list)
    for i in range(0, len(entries), ROWS_CHUNK):
        part = entries[i : i + ROWS_CHUNK]
        ids = [e.id for e in part]
        for row in session.exec(select(*QUEUE_FOOTAGE_COLUMNS).where(col(Footage.id).in_(ids))).all():
            clips[row[0]] = QueueClip(*row)
        wanted = sorted({e.incident_id for e in part if e.incident_id is not None})
        if wanted:
            for row in session.exec(select(*QUEUE_INCIDENT_COLUMNS).where(col(Incident.id).in_(wanted))).all():
                incidents[row[0]] = QueueIncident(*row)
        for fid, rag, version in session.exec(
            select(Rating.footage_id, Rating.rag, Rating.version).where(
                col(Rating.footage_id).in_(ids), *CURRENT_RATING
            )
        ).all():
            ratings[fid] = RatingMark(Rag(rag), version)
        pending.update(
            session.exec(
                select(CalibrationAssignment.footage_id).where(
                    col(CalibrationAssignment.footage_id).in_(ids),
                    CalibrationAssignment.establishment_id == establishment_id,
                    CalibrationAssignment.completed_at == None,  # noqa: E711
                )
            ).all()
        )
        for fid, kind, start, end in session.exec(
            select(Segment.footage_id, Segment.kind, Segment.start, Segment.end)
            .where(col(Segment.footage_id).in_(ids))
            .order_by(col(Segment.start))
        ):
            segs[fid].append(Span(str(kind), start, end))
        for fid, kind in session.exec(select(Finding.footage_id, Finding.kind).where(col(Finding.footage_id).in_(ids))):
            kinds[fid].append(kind)
    staff = {s.id: s for s in session.exec(select(StaffMember).where(StaffMember.establishment_id == establishment_id))}
    cams = {c.id: c for c in session.exec(select(Camera).where(Camera.establishment_id == establishment_id))}
    rows = []
    for e in entries:
        f = clips[e.id]
        inc = incidents.get(e.incident_id) if e.incident_id is not None else None
        rows.append(
            ClipRow(
                footage=f,
                incident=inc,
                wearer=staff.get(f.wearer_id) if f.wearer_id else None,
                camera=cams.get(f.camera_id) if f.camera_id else None,
                check=e.check,
                flagged=e.flagged,
                facts=_facts(f, inc, segs.get(e.id, []), kinds.get(e.id, [])),
                rating=ratings.get(e.id),
                in_sample=e.in_sample,
                pending_calibration=e.id in pending,
            )
        )
    return rows


def load_clips(session: Session, establishment_id: int, *, unrated_only: bool = False) -> list[ClipRow]:
    """Every live clip of the establishment with its incident, facts, suggestion, rating and sample flag, in
    queue order. `unrated_only`: only those with no current rating, when every clip is in the sample (the sample
    is chosen from all of them, so it cannot be worked out from the unrated alone)."""
    est = session.get(Establishment, establishment_id)
    assert est is not None
    if unrated_only and est.review_sample_percent < 100:
        raise ValueError("unrated_only needs every clip in the sample")
    entries = _queue_index(session, establishment_id, QueueFilters(), unrated_only=unrated_only)
    _sample(est, entries)
    return _clip_rows(session, establishment_id, entries)


def _status_ok(row: QueueEntry, status: str) -> bool:
    if status == "to_review":
        return not row.rated and row.in_sample and row.reviewable
    if status == "unrated":
        return not row.rated
    if status == "rated":
        return row.rated
    if status == "in_sample":
        return row.in_sample
    if status == "not_in_sample":
        return not row.in_sample
    return True


# A clip's current rating: its latest, not a calibration's blind second one.
CURRENT_RATING = (Rating.is_current == True, Rating.is_calibration == False)  # noqa: E712


def _current_rating_of_clip() -> Any:
    return select(Rating.id).where(Rating.footage_id == Footage.id, *CURRENT_RATING)


def build_queue(
    session: Session,
    establishment_id: int,
    filters: QueueFilters,
    *,
    order_only: bool = False,
    read_all: bool = False,
    fill: bool = False,
    side_connection: bool = False,
) -> Queue:
    """The review queue: clips grouped by incident, oldest incident first (incidents whose force began at
    the same moment by their id).

    The database works out each clip's incident, check, flag and place in the queue (`_queue_index`); only the
    clips shown are read whole: the page's, by `fill_groups` (or every group's, with `fill`: a large prison's
    whole queue read whole took tens of seconds).

    `order_only`: only `order` (the clips to review, in order) is wanted, as by the review screen. Its other
    figures then leave out the rated clips, when the sample is every clip (they are not read), and the
    incidents with no footage.

    "No footage" is a finding, not a clip: an incident with no clip linked, and each officer involved in an
    incident with no clip of theirs linked, is listed in the queue (red, "No footage") with a link to the
    incident, where footage can be linked. It is not rated here (a rating belongs to a clip); the activation
    check records it per officer (status no_footage) and the reports count it.

    When every clip is in the sample and the unrated are shown (the queue as it opens), only the unrated clips
    are read: the rated are counted by the database. A large prison has hundreds of thousands of clips, almost
    all rated (bench/pages.py). `read_all` reads every clip even then (the tests hold both ways to the same
    answer).

    `side_connection`: the officers with no footage may be worked out on a second connection, beside the clips
    (PostgreSQL; `app.core.beside`). Only for a caller whose transaction has written nothing they depend on
    (links, incidents, who was involved, staff), such as a page's GET: that connection sees only what is
    committed.
    """
    est = session.get(Establishment, establishment_id)
    assert est is not None
    every_clip_sampled = est.review_sample_percent >= 100
    unrated_shown = filters.status in ("to_review", "unrated") and filters.check in (None, "no_footage")
    unrated_only = every_clip_sampled and (order_only or (unrated_shown and not read_all))
    # Footage missing: beside the clips when allowed (PostgreSQL), the two take about as long as each other at a
    # large prison; else after them, on the request's connection.
    side = None
    if side_connection and not order_only:
        side = beside(session, [_missing_rows(establishment_id, filters)], prepare=_queue_settings)
    entries = _queue_index(session, establishment_id, filters, unrated_only=unrated_only)
    _sample(est, entries)
    base = [e for e in entries if e.in_view]
    incidents: list[QueueIncident] = []
    missing_by_incident: dict[int, list[StaffMember]] = {}
    if side is not None:
        incidents, missing_by_incident = _missing_from_rows(session, establishment_id, side()[0])
    elif not order_only:
        incidents, missing_by_incident = missing_footage(session, establishment_id, filters)

    def check_ok(e: QueueEntry, check: str | None) -> bool:
        if check is None:
            return True
        if check == "flagged":
            return e.flagged
        if check == "no_footage":
            return False
        return e.check == check

    checked = [e for e in base if check_ok(e, filters.check)]
    counts = {s: sum(1 for e in checked if _status_ok(e, s)) for s in STATUSES}
    total_clips = len(entries)
    if unrated_only and not order_only:
        total_clips += _count_rated_apart(session, establishment_id, filters, counts)
    in_status = [e for e in base if _status_ok(e, filters.status)]
    check_counts = {c: sum(1 for e in in_status if check_ok(e, c)) for c in CHECKS}
    check_counts["no_footage"] = missing_count(missing_by_incident)
    # The entries come in queue order: each incident's clips by recording start.
    groups: dict[int | None, IncidentGroup] = {}
    for e in in_status:
        if check_ok(e, filters.check):
            if e.incident_id not in groups:
                groups[e.incident_id] = IncidentGroup(None, [], [], at=e.incident_at, key=e.incident_id)
            groups[e.incident_id].entries.append(e)
    ordered = _with_missing(groups, incidents, missing_by_incident, filters)
    order = [e.id for g in ordered for e in g.entries if _status_ok(e, "to_review")]
    queue = Queue(
        groups=ordered,
        counts=counts,
        check_counts=check_counts,
        order=order,
        total_clips=total_clips,
        sample_percent=est.review_sample_percent,
        sample_size=total_clips if every_clip_sampled else sum(1 for e in entries if e.in_sample),
    )
    if fill and not order_only:
        fill_groups(session, establishment_id, queue.groups)
    return queue


def _count_rated_apart(session: Session, establishment_id: int, filters: QueueFilters, counts: dict[str, int]) -> int:
    """The queue as it opens read only the unrated clips: the database counts the rated ones (none pass the "No
    footage" check) into `counts`. Returns how many rated clips there are in all (for the sample's figures)."""
    every_rated = rated_count(session, establishment_id, QueueFilters())
    if filters.check is None:
        narrowed = filters.officer is not None or filters.date_from or filters.date_to or filters.location
        counts["rated"] = rated_count(session, establishment_id, filters) if narrowed else every_rated
        counts["all"] = counts["in_sample"] = counts["unrated"] + counts["rated"]
    return every_rated


def _with_missing(
    groups: dict[int | None, IncidentGroup],
    incidents: Sequence[QueueIncident],
    missing_by_incident: dict[int, list[StaffMember]],
    filters: QueueFilters,
) -> list[IncidentGroup]:
    """The queue's groups with its officers with no footage (listed unless another check is asked for), oldest
    incident first (of two at the same moment, the first recorded), the clips linked to no incident last."""
    if filters.check in (None, "no_footage"):
        by_id = {i.id: i for i in incidents}
        for iid, miss in missing_by_incident.items():
            groups.setdefault(iid, IncidentGroup(by_id[iid], [], [], at=by_id[iid].force_started_at, key=iid))
            groups[iid].missing = miss
            groups[iid].incident = by_id[iid]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(groups.values(), key=lambda g: (g.at is None, g.at or far, g.key or 0))


def fill_groups(session: Session, establishment_id: int, groups: Sequence[IncidentGroup]) -> None:
    """Read whole the clips of these groups of the queue (a page's), with their incidents."""
    todo = [g for g in groups if len(g.clips) < len(g.entries)]
    rows = iter(_clip_rows(session, establishment_id, [e for g in todo for e in g.entries]))
    for g in todo:
        g.clips = [next(rows) for _ in g.entries]
        if g.incident is None and g.clips:
            g.incident = g.clips[0].incident


@dataclass
class QueuePage:
    """One page of the review queue: its incidents, their clips read whole, and the whole queue's figures."""

    groups: list[IncidentGroup]  # this page's incidents, oldest first
    counts: dict[str, int]  # clips by status, under the check filter (as `Queue.counts`)
    check_counts: dict[str, int]  # clips by check, under the status filter (as `Queue.check_counts`)
    total_clips: int
    sample_percent: int
    sample_size: int
    incidents: int  # incidents listed on every page (not counting the clips linked to none)
    shown: int  # clips listed on every page
    start: int | None  # the first clip to review, in queue order
    page: int
    pages: int
    first: int  # the number (from 1) of this page's first incident
    loose: int = 0  # clips listed under no incident, in all (`loose_per_page` a page, after the incidents)
    loose_first: int = 0  # the number (from 1) of the first of them on this page; 0: none on it


def queue_page(
    session: Session,
    establishment_id: int,
    filters: QueueFilters,
    *,
    page: int = 1,
    per_page: int = 50,
    loose_per_page: int = 100,
    near: int | None = None,
    side_connection: bool = False,
) -> QueuePage:
    """A page of `per_page` incidents of the review queue (`near`: the page holding that clip, or where it stood;
    see `_group_index`), with the same groups, clips and figures as `build_queue` gives, sliced. The clips linked
    to no incident come last, `loose_per_page` a page: an establishment that files footage before linking it can
    have thousands, and listed whole on the last page they made a page of megabytes.

    When every clip is in the sample, the database counts the clips and lists the incidents, and only the page's
    clips are read: `build_queue` reads every clip's row into Python, seconds on a large prison's rated clips
    (bench/pages.py). A sample below 100% is chosen from every clip, in Python (`select_sample`), so it still goes
    through `build_queue`. `side_connection` as for `build_queue`."""
    est = session.get(Establishment, establishment_id)
    assert est is not None
    in_sql = est.review_sample_percent >= 100
    if in_sql:
        groups, counts, check_counts, total, start = _queue_outline(session, establishment_id, filters, side_connection)
        sample_size = total
    else:
        queue = build_queue(session, establishment_id, filters, side_connection=side_connection)
        groups, counts, check_counts = queue.groups, queue.counts, queue.check_counts
        for g in groups:
            g.size = len(g.entries)
        total, sample_size = queue.total_clips, queue.sample_size
        start = queue.order[0] if queue.order else None
    loose = groups[-1] if groups and groups[-1].key is None else None  # the clips linked to no incident
    loose_n = loose.size if loose is not None else 0
    base = max(1, -(-len(groups) // per_page))  # the pages of incidents; the last holds the first loose clips
    pages = base + max(0, -(-loose_n // loose_per_page) - 1)
    page = max(min(page, pages), 1)
    if near is not None:
        at = _group_index(session, establishment_id, groups, near)
        if at is not None and loose is not None and at == len(groups) - 1:
            if in_sql:  # where it is, or stood, among them (recording start order)
                before = _loose_before(session, establishment_id, filters, near)
            else:
                ids = [e.id for e in loose.entries]
                before = ids.index(near) if near in ids else 0
            page = base + min(before, max(loose_n - 1, 0)) // loose_per_page
        elif at is not None:
            page = min(at // per_page + 1, pages)
    if page <= base:
        page_groups = groups[(page - 1) * per_page : page * per_page]
        chunk = 0
    else:
        assert loose is not None
        page_groups, chunk = [loose], page - base
    shown_loose = (chunk * loose_per_page, (chunk + 1) * loose_per_page)
    if in_sql:
        _queue_entries(session, establishment_id, filters, page_groups, loose=shown_loose)
    elif loose is not None and loose in page_groups:
        loose.entries = loose.entries[shown_loose[0] : shown_loose[1]]
    fill_groups(session, establishment_id, page_groups)
    # A clip rated, deleted or unlinked between the outline and the page's read can leave a group with nothing
    # to show (PostgreSQL reads each statement as committed when it starts): it is not listed.
    page_groups = [g for g in page_groups if g.clips or g.missing or (g.size == 0 and g.incident is not None)]
    return QueuePage(
        groups=page_groups,
        counts=counts,
        check_counts=check_counts,
        total_clips=total,
        sample_percent=est.review_sample_percent,
        sample_size=sample_size,
        incidents=len(groups) - (loose is not None),
        shown=sum(g.size for g in groups),
        start=start,
        page=page,
        pages=pages,
        first=(min(page, base) - 1) * per_page + 1,
        loose=loose_n,
        loose_first=shown_loose[0] + 1 if loose is not None and loose in page_groups else 0,
    )


def _status_is(q: Any, status: str) -> Any:
    """`_status_ok` on `_queue_clips` rows, every clip in the sample."""
    return {
        "to_review": sa.and_(q.c.rated == 0, q.c.reviewable == 1),
        "unrated": q.c.rated == 0,
        "rated": q.c.rated == 1,
        "not_in_sample": sa.false(),
    }.get(status, sa.true())


def _check_is(q: Any, check: str | None) -> Any:
    """The queue's check filter on `_queue_clips` rows ("No footage" is no clip)."""
    if check is None:
        return sa.true()
    if check == "flagged":
        return q.c.flagged == 1
    if check == "no_footage":
        return sa.false()
    return q.c.check == check


def _queue_outline(
    session: Session, establishment_id: int, filters: QueueFilters, side_connection: bool
) -> tuple[list[IncidentGroup], dict[str, int], dict[str, int], int, int | None]:
    """With every clip in the sample: the queue's groups in order (no clips yet; `IncidentGroup.size` says how
    many it lists), its counts by status and by check, how many clips there are, and the first to review. One
    statement over every clip (its rows are the incidents listed, not the clips), and the footage missing beside
    it."""
    side = None
    if side_connection:
        side = beside(session, [_missing_rows(establishment_id, filters)], prepare=_queue_settings)
    # As `build_queue`: the queue as it opens reads the unrated clips, and the database counts the rated apart.
    unrated_only = filters.status in ("to_review", "unrated") and filters.check in (None, "no_footage")
    _queue_settings(session)
    q = _queue_clips(session.get_bind().dialect.name, establishment_id, filters, unrated_only=unrated_only).cte("queue")
    listed = sa.and_(*_listed_where(q, filters))
    figures = [
        *(sa.and_(q.c.in_view == 1, _check_is(q, filters.check), _status_is(q, st)) for st in STATUSES),
        *(sa.and_(q.c.in_view == 1, _status_is(q, filters.status), _check_is(q, c)) for c in CHECKS),
    ]
    none: list[Any] = [sa.null()] * len(figures)
    groups = (
        sa.select(sa.literal(1).label("kind"), q.c.incident_id, sa.func.min(q.c.incident_at), sa.func.count(), *none)
        .where(listed)
        .group_by(q.c.incident_id)
    )
    totals = sa.select(
        sa.literal(0), sa.null(), sa.null(), sa.func.count(), *(sa.func.count().filter(f) for f in figures)
    ).select_from(q)
    first = (
        sa.select(q.c.id)
        .where(listed, _status_is(q, "to_review"))
        .order_by(*_queue_order(q))
        .limit(1)
        .subquery("first_to_review")
    )
    start_row = sa.select(sa.literal(2), first.c.id, sa.null(), sa.null(), *none)
    found: dict[int | None, IncidentGroup] = {}
    start: int | None = None
    total = 0
    counts: dict[str, int] = {}
    check_counts: dict[str, int] = {}
    for kind, key, at, n, *by in session.execute(sa.union_all(groups, totals, start_row)).all():
        if kind == 1:
            found[key] = IncidentGroup(None, [], [], at=at, key=key, size=int(n))
        elif kind == 0:
            total = int(n)
            counts = {st: int(v) for st, v in zip(STATUSES, by[: len(STATUSES)], strict=True)}
            check_counts = {c: int(v) for c, v in zip(CHECKS, by[len(STATUSES) :], strict=True)}
        else:
            start = int(key)
    if unrated_only:
        total += _count_rated_apart(session, establishment_id, filters, counts)
    if side is not None:
        incidents, missing_by_incident = _missing_from_rows(session, establishment_id, side()[0])
    else:
        incidents, missing_by_incident = missing_footage(session, establishment_id, filters)
    check_counts["no_footage"] = missing_count(missing_by_incident)
    return _with_missing(found, incidents, missing_by_incident, filters), counts, check_counts, total, start


def _queue_entries(
    session: Session,
    establishment_id: int,
    filters: QueueFilters,
    groups: Sequence[IncidentGroup],
    *,
    loose: tuple[int, int] = (0, 100),
) -> None:
    """The entries of these groups of `_queue_outline`'s (a page's): only their clips are worked out (every
    clip linked to one of their incidents), then kept to those the queue lists under them; of the clips linked
    to no incident, those from `loose[0]` to `loose[1]` (by position, from 0) if that group is here."""
    by_key = {g.key: g for g in groups if g.size}
    ids = sorted(k for k in by_key if k is not None)
    if ids:
        link = sa.inspect(FootageIncident).local_table
        only = sa.select(link.c.footage_id).where(link.c.incident_id.in_(ids))
        for e in _listed(session, establishment_id, filters, only):
            if e.incident_id in by_key:
                by_key[e.incident_id].entries.append(e)
    if None in by_key:
        by_key[None].entries = _listed(
            session, establishment_id, filters, _unlinked(establishment_id), loose, linked=False
        )


def _unlinked(establishment_id: int) -> Any:
    """The establishment's clips linked to none of its incidents (the queue lists them last)."""
    clip = sa.inspect(Footage).local_table
    link = sa.inspect(FootageIncident).local_table
    linked = sa.select(link.c.footage_id).where(
        link.c.footage_id == clip.c.id, link.c.establishment_id == establishment_id
    )
    return sa.select(clip.c.id).where(clip.c.establishment_id == establishment_id, ~linked.exists())


def _listed(
    session: Session,
    establishment_id: int,
    filters: QueueFilters,
    only: Any,
    window: tuple[int, int] | None = None,
    *,
    linked: bool = True,
) -> list[QueueEntry]:
    """The entries the queue lists (its filters) of the clips of `only`, in queue order; `window`: only those
    from position `window[0]` to `window[1]` (from 0). `linked=False`: `only`'s clips are linked to none of the
    establishment's incidents (their links are not looked at)."""
    _queue_settings(session)
    q = _queue_clips(session.get_bind().dialect.name, establishment_id, filters, only=only, linked=linked).subquery()
    return _read_entries(session, q, *_listed_where(q, filters), window=window)


def _listed_where(q: Any, filters: QueueFilters) -> tuple[Any, ...]:
    """The conditions on `_queue_clips` rows of the clips the queue lists under its filters (every clip sampled)."""
    return (q.c.in_view == 1, _status_is(q, filters.status), _check_is(q, filters.check))


def _loose_before(session: Session, establishment_id: int, filters: QueueFilters, footage_id: int) -> int:
    """How many of the clips the queue lists under no incident come before this one (listed or not: rated
    since, say), in their order (recording start, then id)."""
    clip = session.get(Footage, footage_id)
    if clip is None:
        return 0
    _queue_settings(session)
    q = _queue_clips(
        session.get_bind().dialect.name, establishment_id, filters, only=_unlinked(establishment_id), linked=False
    ).subquery()
    stmt = sa.select(sa.func.count()).where(
        *_listed_where(q, filters),
        sa.tuple_(q.c.recording_started_at, q.c.id)
        < sa.tuple_(sa.literal(clip.recording_started_at, type_=q.c.recording_started_at.type), sa.literal(footage_id)),
    )
    return int(session.execute(stmt).scalar_one())


def _group_index(
    session: Session, establishment_id: int, groups: Sequence[IncidentGroup], footage_id: int
) -> int | None:
    """The index of the queue's group holding this clip of the establishment's; once it has left the queue
    (rated, say), of the first group at or after where it stood (its incident's). The page number a review
    screen carries goes stale as the coordinator rates: incidents whose clips are all rated drop off the
    pages before it. None for a clip of another establishment's, or none at all."""
    for i, g in enumerate(groups):  # its entries are read (a page's, or every group's on `build_queue`'s path)
        if any(e.id == footage_id for e in g.entries):
            return i
    clip = session.get(Footage, footage_id)
    if clip is None or clip.establishment_id != establishment_id:
        return None
    incident = primary_incident(session, footage_id)
    if incident is None:  # the clips linked to no incident come last
        return max(len(groups) - 1, 0)
    where = (incident.force_started_at, incident.id or 0)
    return next(
        (i for i, g in enumerate(groups) if g.at is None or (g.at, g.key or 0) >= where),
        max(len(groups) - 1, 0),
    )


def _incident_filters(incident: Any, filters: QueueFilters | None) -> list[Any]:
    """The queue's date and location filters as conditions on an incident table (or alias)."""
    if filters is None:
        return []
    tz = ZoneInfo(get_settings().timezone)
    conds = []
    if filters.date_from:
        conds.append(incident.c.force_started_at >= _local_day_bounds(filters.date_from, tz))
    if filters.date_to:
        conds.append(incident.c.force_started_at < _local_day_bounds(filters.date_to + timedelta(days=1), tz))
    if filters.location:
        conds.append(incident.c.location == filters.location)
    return conds


def _missing_statements(establishment_id: int, filters: QueueFilters | None) -> tuple[Any, Any]:
    """Footage missing, as two statements: (incident id, officer id) of each officer of the establishment
    involved in one of its incidents with no clip of theirs linked (`linking.officers_missing_footage`); and
    (incident id) of each incident with no clip linked and none of the establishment's officers recorded (None
    when narrowed to an officer). `filters` narrow both as the queue's do: the incident's date and place, and
    the officer."""
    inc = linking.INC
    where = _incident_filters(inc, filters)
    officer = filters.officer if filters is not None else None
    missing_officers = linking.officers_missing_footage(establishment_id, *where)
    if officer is not None:
        return missing_officers.where(IncidentStaff.staff_member_id == officer), None
    bare = linking.incidents_without_any_footage(establishment_id, *where)
    return missing_officers, bare


def missing_footage(
    session: Session, establishment_id: int, filters: QueueFilters | None = None
) -> tuple[list[QueueIncident], dict[int, list[StaffMember]]]:
    """The establishment's incidents with footage missing (force start order), and for each, the officers
    involved with no live clip of theirs linked (an empty list: no clip at all and none of the
    establishment's officers recorded). `filters` narrow it as the queue's do: the incident's date and place,
    and the officer (an incident with no officer recorded is then not listed).

    Worked out by the database: read whole, a large prison's incidents, involvements and links took seconds on
    every view of the queue (bench/pages.py). `missing_footage_counts` counts the same."""
    rows = session.execute(_missing_rows(establishment_id, filters)).all()
    return _missing_from_rows(session, establishment_id, rows)


def _missing_rows(establishment_id: int, filters: QueueFilters | None) -> Any:
    """`missing_footage` as one statement: an incident's row for each officer missing (an incident with none
    recorded: one row, no officer), in force-start order."""
    missing_officers, bare = _missing_statements(establishment_id, filters)
    found = missing_officers
    if bare is not None:
        bare_ids = bare.subquery("bare")
        found = sa.union_all(missing_officers, select(bare_ids.c.incident_id, sa.cast(sa.null(), sa.Integer)))  # type: ignore[assignment]
    each = found.subquery("found")
    return (
        sa.select(*QUEUE_INCIDENT_COLUMNS, each.c[1])
        .join(each, each.c[0] == Incident.id)
        .order_by(col(Incident.force_started_at), col(Incident.id))
    )


def _missing_from_rows(
    session: Session, establishment_id: int, rows: Sequence[Any]
) -> tuple[list[QueueIncident], dict[int, list[StaffMember]]]:
    staff = {s.id: s for s in session.exec(select(StaffMember).where(StaffMember.establishment_id == establishment_id))}
    incidents: list[QueueIncident] = []
    miss: dict[int, list[StaffMember]] = {}
    for *row, sid in rows:
        if not incidents or incidents[-1].id != row[0]:
            incidents.append(QueueIncident(*row))
            miss[row[0]] = []
        if sid is not None:
            miss[row[0]].append(staff[sid])
    return incidents, {iid: sorted(officers, key=lambda s: s.name) for iid, officers in miss.items()}


def missing_count(missing_by_incident: dict[int, list[StaffMember]]) -> int:
    """The queue's "No footage" figure: each officer involved with no clip of theirs linked, and each incident
    with no clip linked and no officer recorded."""
    return sum(len(m) or 1 for m in missing_by_incident.values())


def missing_footage_counts(session: Session, establishment_id: int) -> tuple[int, int]:
    """`missing_count(missing_footage(...)[1])` with no filters, counted by the database (the home page's card):
    each officer of the establishment involved in one of its incidents with no live clip of theirs linked, and
    each incident with no live clip linked and none of the establishment's officers recorded; and, counted in
    the same pass, how many of those have no reason recorded for the officer (an incident with no officer has
    none to record)."""
    missing_officers, bare = _missing_statements(establishment_id, None)
    pairs = missing_officers.subquery("pairs")
    explained = (
        select(NoFootageExplanation.incident_id)
        .where(
            NoFootageExplanation.incident_id == pairs.c.incident_id,
            NoFootageExplanation.staff_member_id == pairs.c.staff_member_id,
        )
        .exists()
    )
    officers, unexplained = session.execute(
        select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((explained, 0), else_=1)), 0)).select_from(pairs)
    ).one()
    no_officer = int(session.execute(select(sa.func.count()).select_from(bare.subquery())).scalar_one())
    return int(officers) + no_officer, int(unexplained) + no_officer


def _to_review_in_view(establishment_id: int, filters: QueueFilters) -> Any:
    """Live, analysed, unrated clips of the establishment, narrowed by the queue's officer, date and place
    filters, as a statement of (id, recording_started_at, incident_id, incident_at): each clip's incident is the
    earliest linked of the establishment's, of two at the same moment the first recorded (as
    `primary_incident`)."""
    clip = sa.inspect(Footage).local_table
    link = sa.inspect(FootageIncident).local_table
    inc = sa.inspect(Incident).local_table
    first_id = (
        sa.select(inc.c.id)
        .join(link, link.c.incident_id == inc.c.id)
        .where(link.c.footage_id == clip.c.id, inc.c.establishment_id == establishment_id)
        .order_by(inc.c.force_started_at, inc.c.id)
        .limit(1)
        .correlate(clip)
        .scalar_subquery()
    )
    own = sa.select(clip.c.id, clip.c.recording_started_at, first_id.label("incident_id")).where(
        clip.c.establishment_id == establishment_id,
        clip.c.purged_at.is_(None),
        clip.c.status == FootageStatus.analysed,
        ~_current_rating_of_clip().exists(),
    )
    if filters.officer is not None:
        own = own.where(clip.c.wearer_id == filters.officer)
    # OFFSET 0 keeps PostgreSQL from folding this into the outer query, which ran the incident's sub-select once
    # for the join, once for the sort and once for the output (a third of a second each on a large prison).
    clips = own.offset(0).subquery("clips")
    first = inc.alias("first_incident")
    stmt = sa.select(
        clips.c.id, clips.c.recording_started_at, clips.c.incident_id, first.c.force_started_at.label("incident_at")
    ).select_from(clips.outerjoin(first, first.c.id == clips.c.incident_id))
    if filters.date_from or filters.date_to or filters.location:
        # A clip with no incident has no date or place to match.
        stmt = stmt.where(first.c.id.is_not(None), *_incident_filters(first, filters))
    return stmt


def rated_count(session: Session, establishment_id: int, filters: QueueFilters) -> int:
    """How many live clips of the establishment have a current rating, under the queue's officer, date and
    place filters (the date and place are those of each clip's own incident, as in `_to_review_in_view`). Counted
    from the incidents that match, not clip by clip: a large prison has hundreds of thousands of rated clips."""
    clip = sa.inspect(Footage).local_table
    link = sa.inspect(FootageIncident).local_table
    inc = sa.inspect(Incident).local_table
    own = [
        clip.c.establishment_id == establishment_id,
        clip.c.purged_at.is_(None),
        _current_rating_of_clip().exists(),
        *([clip.c.wearer_id == filters.officer] if filters.officer is not None else []),
    ]
    if not (filters.date_from or filters.date_to or filters.location):
        return int(session.execute(sa.select(sa.func.count()).select_from(clip).where(*own)).scalar_one())
    # A clip counts under the incident that is its own: no incident of the establishment linked to it began
    # earlier (or at the same moment and was recorded first).
    link2, inc2 = link.alias("link2"), inc.alias("inc2")
    earlier = (
        sa.select(link2.c.footage_id)
        .join(inc2, inc2.c.id == link2.c.incident_id)
        .where(
            link2.c.footage_id == clip.c.id,
            inc2.c.establishment_id == establishment_id,
            sa.or_(
                inc2.c.force_started_at < inc.c.force_started_at,
                sa.and_(inc2.c.force_started_at == inc.c.force_started_at, inc2.c.id < inc.c.id),
            ),
        )
        .exists()
    )
    stmt = (
        sa.select(sa.func.count())
        .select_from(inc.join(link, link.c.incident_id == inc.c.id).join(clip, clip.c.id == link.c.footage_id))
        .where(inc.c.establishment_id == establishment_id, *_incident_filters(inc, filters), *own, ~earlier)
    )
    return int(session.execute(stmt).scalar_one())


def review_order(session: Session, establishment_id: int, filters: QueueFilters) -> list[int]:
    """The clips to review, in queue order (the review screen's "clip N of M" and its next clip).

    When every clip is in the sample and no check is asked for, that is the database's to say: analysed, live,
    unrated clips of the establishment, by their incident (the earliest linked, as `primary_incident`) and
    then by recording start; only their ids are read. The queue itself took seconds a clip on a large prison
    (bench/pages.py), on every review screen and every save. A check or a sample (chosen from every clip) needs
    the queue's index of every clip (`_queue_index`).
    """
    est = session.get(Establishment, establishment_id)
    assert est is not None
    if filters.check is not None or est.review_sample_percent < 100:
        to_review = QueueFilters(**{**filters.__dict__, "status": "to_review"})
        return build_queue(session, establishment_id, to_review, order_only=True).order
    clips = _to_review_in_view(establishment_id, filters).subquery("todo")
    stmt = sa.select(clips.c.id).order_by(
        clips.c.incident_id.is_(None),
        clips.c.incident_at,
        clips.c.incident_id,
        clips.c.recording_started_at,
        clips.c.id,
    )
    return [int(fid) for fid in session.execute(stmt).scalars()]


def next_in(order: list[int], after: int | None) -> int | None:
    """The clip after `after` in queue order, wrapping round to the oldest; None when nothing else is left."""
    if after in order:
        i = order.index(after)
        rest = order[i + 1 :] + order[:i]
        return rest[0] if rest else None
    return order[0] if order else None


def set_sample_percent(session: Session, est: Establishment, percent: int) -> dict[str, Any]:
    old = est.review_sample_percent
    est.review_sample_percent = percent
    if est.review_sample_seed == 0:
        est.review_sample_seed = random.SystemRandom().randrange(1, 2**31 - 1)
    session.add(est)
    session.flush()
    return {"from": old, "to": percent, "seed": est.review_sample_seed}


# ---------------------------------------------------------------- guidance templates
def guidance_templates(session: Session, establishment_id: int) -> list[GuidanceTemplate]:
    """The establishment's templates (sensible defaults are created the first time)."""
    rows = list(
        session.exec(
            select(GuidanceTemplate)
            .where(GuidanceTemplate.establishment_id == establishment_id)
            .order_by(col(GuidanceTemplate.id))
        ).all()
    )
    if rows:
        return rows
    for title, rag, text, addresses in DEFAULT_TEMPLATES:
        row = GuidanceTemplate(establishment_id=establishment_id, title=title, text=text, rag=rag, addresses=addresses)
        session.add(row)
        rows.append(row)
    session.flush()
    return rows


def clip_findings(facts: ClipFacts) -> set[str]:
    """Which of `TEMPLATE_FINDINGS` the automatic checks found on this clip."""
    found = set()
    if facts.status == "late":
        found.add("switched_on_late")
    if facts.status == "after_force":
        found.add("not_on_in_force")
    if any(s.kind == "dark" for s in facts.segments):
        found.add("lens_covered")
    if facts.status is not None and facts.stopped_early:
        found.add("stopped_early")
    return found


@dataclass
class TemplateGroup:
    label: str | None  # None: the only group (nothing to tell them apart by)
    templates: list[GuidanceTemplate]


def template_groups(templates: Sequence[GuidanceTemplate], facts: ClipFacts) -> list[TemplateGroup]:
    """The rating form's template picker: first those about what the checks found on this clip, then those
    about nothing in particular, last those about what the checks did not find ("Switch on earlier" for a clip
    switched on before force: inserted unread, it tells the officer something untrue). A clip not yet
    analysed, or linked to no incident, has nothing checked to go by: one group as they are."""
    if not facts.analysed or facts.status is None:
        return [TemplateGroup(None, list(templates))]
    found = clip_findings(facts)
    fits = [t for t in templates if t.addresses in found]
    general = [t for t in templates if t.addresses is None or t.addresses not in TEMPLATE_FINDINGS]
    other = [t for t in templates if t.addresses in TEMPLATE_FINDINGS and t.addresses not in found]
    groups = [
        TemplateGroup("Fit what the checks found", fits),
        TemplateGroup("General", general),
        TemplateGroup("Not what the checks found on this clip", other),
    ]
    return [g for g in groups if g.templates]


# ---------------------------------------------------------------- calibration
def coordinators(session: Session, establishment_id: int) -> list[User]:
    return list(
        session.exec(
            select(User)
            .where(User.establishment_id == establishment_id, User.role == Role.coordinator, User.active == True)  # noqa: E712
            .order_by(User.display_name)
        ).all()
    )


def send_for_calibration(
    session: Session,
    *,
    establishment_id: int,
    assignee: User,
    requested_by: int,
    footage_ids: Sequence[int] | None = None,
    sample_size: int | None = None,
    note: str = "",
) -> list[CalibrationAssignment]:
    """Assign rated clips for a blind second rating. Clips the assignee rated, or already waiting for them,
    are left out when sampling and refused when named."""
    if assignee.establishment_id != establishment_id or Role(assignee.role) != Role.coordinator:
        raise RatingRejected({"assigned_to": "Choose a coordinator at the same establishment"})
    rated = {
        r.footage_id: r
        for r in session.exec(
            select(Rating).where(
                Rating.establishment_id == establishment_id,
                Rating.is_current == True,  # noqa: E712
                Rating.is_calibration == False,  # noqa: E712
            )
        ).all()
    }
    waiting = set(
        session.exec(
            select(CalibrationAssignment.footage_id).where(
                CalibrationAssignment.assigned_to_user_id == assignee.id,
                CalibrationAssignment.completed_at == None,  # noqa: E711
            )
        ).all()
    )
    # A rating the assignee has already given a blind second rating: sent again, the same clip would count
    # twice in their agreement.
    done = set(
        session.exec(
            select(CalibrationAssignment.first_rating_id).where(
                CalibrationAssignment.assigned_to_user_id == assignee.id,
                CalibrationAssignment.establishment_id == establishment_id,
                CalibrationAssignment.completed_at != None,  # noqa: E711
            )
        ).all()
    )
    eligible = {
        fid: r
        for fid, r in rated.items()
        if r.rated_by_user_id != assignee.id and fid not in waiting and r.id not in done
    }
    if footage_ids:
        bad = [fid for fid in footage_ids if fid not in eligible]
        if bad:
            raise RatingRejected(
                {
                    "footage_ids": "These clips cannot be sent: not rated yet, rated by the same coordinator, "
                    f"already waiting for them, or already rated by them a second time: {', '.join(map(str, bad))}"
                }
            )
        chosen = list(dict.fromkeys(footage_ids))
    else:
        n = sample_size or 0
        if n < 1:
            raise RatingRejected({"sample_size": "Give a number of clips, or the clips to send"})
        pool = sorted(eligible)
        if not pool:
            raise RatingRejected({"sample_size": "No rated clips are available for a second rating"})
        chosen = random.SystemRandom().sample(pool, min(n, len(pool)))
    out = []
    for fid in chosen:
        a = CalibrationAssignment(
            establishment_id=establishment_id,
            footage_id=fid,
            first_rating_id=eligible[fid].id,  # type: ignore[arg-type]
            assigned_to_user_id=assignee.id,  # type: ignore[arg-type]
            requested_by_user_id=requested_by,
            note=note,
        )
        session.add(a)
        out.append(a)
    session.flush()
    return out


def my_assignments(session: Session, user_id: int, *, pending_only: bool = True) -> list[CalibrationAssignment]:
    stmt = select(CalibrationAssignment).where(CalibrationAssignment.assigned_to_user_id == user_id)
    if pending_only:
        stmt = stmt.where(CalibrationAssignment.completed_at == None)  # noqa: E711
    return list(session.exec(stmt.order_by(col(CalibrationAssignment.requested_at))).all())


def rate_calibration(
    session: Session, assignment: CalibrationAssignment, footage: Footage, data: RatingInput, *, user_id: int
) -> Rating:
    if assignment.completed_at is not None:
        raise RatingRejected({"assignment": "This second rating has already been given"}, 409)
    if assignment.assigned_to_user_id != user_id:
        raise RatingRejected({"assignment": "This clip was sent to another coordinator"}, 403)
    suggestion = suggest(facts_for(session, footage, primary_incident(session, footage.id)))  # type: ignore[arg-type]
    errors = _check(data, suggestion, None, calibration=True)
    if errors:
        raise RatingRejected(errors)
    assert data.rag is not None and footage.id is not None
    rating = Rating(
        footage_id=footage.id,
        establishment_id=footage.establishment_id,
        wearer_id=footage.wearer_id,
        recorded_at=footage.recording_started_at,
        version=_next_version(session, footage.id, calibration=True),
        rag=data.rag,
        criteria={k: bool(data.criteria.get(k, False)) for k in CRITERIA_KEYS},
        guidance=(data.guidance or "").strip(),
        suggested_rag=suggestion.rag,
        override_reason=(data.override_reason or "").strip() or None,
        rated_by_user_id=user_id,
        is_current=False,
        is_calibration=True,
        calibration_id=assignment.id,
    )
    session.add(rating)
    assignment.completed_at = utcnow()
    assignment.extra = {**(assignment.extra or {}), "second_rating_id": None}
    session.add(assignment)
    session.flush()
    assignment.extra = {**(assignment.extra or {}), "second_rating_id": rating.id}
    session.add(assignment)
    session.flush()
    return rating


@dataclass
class PairReport:
    rater_a: User
    rater_b: User
    agreement: Agreement


@dataclass
class Disagreement:
    assignment: CalibrationAssignment
    footage: Footage
    incident: Incident | None
    wearer: StaffMember | None
    first: Rating
    second: Rating
    first_rater: User
    second_rater: User


def calibration_results(
    session: Session, establishment_id: int | None, *, hidden: Collection[int] = ()
) -> tuple[list[PairReport], list[Disagreement]]:
    """Agreement per pair of raters (Cohen's kappa) and the clips they disagreed on. `hidden`: clips left
    out altogether (those the viewer owes a blind second rating: `blind_footage_ids`), as a clip calibrated
    before may be sent to a third coordinator, whose view must not show its first rating."""
    stmt = select(CalibrationAssignment).where(CalibrationAssignment.completed_at != None)  # noqa: E711
    if establishment_id is not None:
        stmt = stmt.where(CalibrationAssignment.establishment_id == establishment_id)
    done = session.exec(stmt.order_by(col(CalibrationAssignment.completed_at))).all()
    users: dict[int, User] = {}

    def user(uid: int) -> User:
        if uid not in users:
            u = session.get(User, uid)
            assert u is not None
            users[uid] = u
        return users[uid]

    # One second rating a first rating and second rater: the latest, should the same rating have been sent to the
    # same coordinator twice (possible before `send_for_calibration` refused it), so no clip counts twice.
    latest = {(a.first_rating_id, a.assigned_to_user_id): a for a in done}
    pairs: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    disagreements: list[Disagreement] = []
    for a in latest.values():
        if a.footage_id in hidden:
            continue
        first = session.get(Rating, a.first_rating_id)
        second = session.exec(
            select(Rating).where(Rating.calibration_id == a.id, Rating.is_calibration == True)  # noqa: E712
        ).first()
        if first is None or second is None:
            continue
        r1, r2 = first.rated_by_user_id, second.rated_by_user_id
        key = (min(r1, r2), max(r1, r2))
        pair = (first.rag.value, second.rag.value) if r1 <= r2 else (second.rag.value, first.rag.value)
        pairs[key].append(pair)
        if first.rag != second.rag:
            footage = session.get(Footage, a.footage_id)
            assert footage is not None and footage.id is not None
            disagreements.append(
                Disagreement(
                    assignment=a,
                    footage=footage,
                    incident=primary_incident(session, footage.id),
                    wearer=session.get(StaffMember, footage.wearer_id) if footage.wearer_id else None,
                    first=first,
                    second=second,
                    first_rater=user(r1),
                    second_rater=user(r2),
                )
            )
    reports = [PairReport(user(a), user(b), cohen_kappa(p)) for (a, b), p in sorted(pairs.items())]
    return reports, disagreements


# ---------------------------------------------------------------- the review screen
def keyframe_image_url(footage_id: int, kf: Keyframe) -> str | None:
    return f"/api/v1/footage/{footage_id}/keyframes/{kf.id}.jpg" if kf.image_key else None
