"""The governors' compliance summary and the per-officer improvement report, computed in SQL.

Every figure is an aggregate the database works out (COUNT, SUM, AVG, percentiles, window functions);
Python only fetches the handful of result rows and names them. The same statements run on SQLite and
PostgreSQL (see `app.report.sql` for the portable percentile and month-bucket helpers).

How the figures are worked out (also shown on the pages under "How these figures are worked out"):

- **Period**: London calendar dates `from`..`to`, both included (default: last calendar month).
- **Incidents with force**: incidents of the establishment whose `force_started_at` falls in the period.
- **With any footage**: at least one clip linked to the incident (whatever its state).
- **Every involved officer's camera on before force**: every activation check of the incident has the
  status `before_force`. Incidents with no involved officer recorded cannot pass or fail this test:
  they are left out of this share's denominator and counted separately (`incidents_with_officers`).
- **Activation lag**: `ActivationResult.lag_s` = camera activated − force started, in seconds (negative =
  switched on before force). Officers with no footage have no lag; they are counted under "no footage".
  Median and 90th percentile use linear interpolation (PostgreSQL's `percentile_cont`).
- **Coverage of the force window**: the mean of `ActivationResult.coverage` over every involved officer's
  check, officers with no footage counting as 0.
- **RAG mix**: current ratings (not superseded, not calibration) of clips linked to the period's
  incidents, each clip once. A re-rating replaces the rating it supersedes.
- **Review backlog**: analysed, not purged clips linked to the period's incidents with no current rating.
- **Time from incident to rating**: per clip, its first (non-calibration) rating's `rated_at` minus the
  `force_started_at` of the earliest period incident it is linked to; the median in hours.
- **Unacknowledged guidance**: current amber/red ratings of those clips with no acknowledgement; overdue
  when rated more than `ack_overdue_days` days ago.
- **First guidance**: an officer's earliest current amber/red rating (a rating corrected to green does not
  count). **Before / after**: clips recorded (incidents whose force began) up to that moment / after it.
- **Officer flagged for follow-up**: at least 2 current non-green ratings of clips recorded after the first
  guidance. The summary evaluates it with ratings given before the end of the period.
- **Breakdowns**: by location, planned vs spontaneous, and by each protected characteristic of the people
  force was used on (`IncidentSubject`). An incident with two people in different groups counts in both,
  so group shares can add up to more than 100%; "Not recorded" when the incident does not record it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.core.config import get_settings
from app.core.types import utcnow
from app.establishment.models import Establishment
from app.footage.models import Footage, FootageIncident, FootageStatus
from app.incident.models import ActivationResult, ActivationStatus, Incident, IncidentSubject
from app.rating.models import Acknowledgement, Rag, Rating
from app.report import sql as q
from app.report.schemas import (
    ActivationMix,
    Breakdown,
    BreakdownRow,
    ComplianceSummary,
    FlaggedOfficer,
    OfficerMonth,
    OfficerOverviewRow,
    OfficerRating,
    OfficerReport,
    PhaseFigures,
    RagMix,
    TrendMonth,
)
from app.staff.models import StaffMember

INC: Any = sa.inspect(Incident).local_table
AR: Any = sa.inspect(ActivationResult).local_table
FI: Any = sa.inspect(FootageIncident).local_table
RT: Any = sa.inspect(Rating).local_table
ACK: Any = sa.inspect(Acknowledgement).local_table
FT: Any = sa.inspect(Footage).local_table
SUBJ: Any = sa.inspect(IncidentSubject).local_table
STAFF: Any = sa.inspect(StaffMember).local_table

NON_GREEN = (Rag.amber, Rag.red)
CHARACTERISTICS = [
    ("ethnicity", "Ethnicity of the person force was used on"),
    ("age_band", "Age band of the person force was used on"),
    ("sex", "Sex of the person force was used on"),
    ("disability", "Disability of the person force was used on"),
]
NOT_RECORDED = "Not recorded"


@dataclass(frozen=True)
class Period:
    """London calendar days `first`..`last`, both included, as a half-open UTC interval."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return q.london_midnight(self.first)

    @property
    def end(self) -> datetime:
        return q.london_midnight(self.last + timedelta(days=1))

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        today = today or utcnow().astimezone(q.tz()).date()
        first, last = q.last_calendar_month(today)
        return cls(first, last)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _int(x: Any) -> int:
    return int(x or 0)


def _current() -> Any:
    return sa.and_(RT.c.is_current == sa.true(), RT.c.is_calibration == sa.false())


# ---------------------------------------------------------------- per-incident building block
def _per_incident(est: int, start: datetime, end: datetime, months: list[q.Month] | None = None) -> Any:
    """One row per incident with force in [start, end): footage yes/no, officers checked, all on in time."""
    any_check = sa.exists().where(AR.c.incident_id == INC.c.id)
    any_not_before = sa.exists().where(AR.c.incident_id == INC.c.id, AR.c.status != ActivationStatus.before_force)
    cols = [
        INC.c.id,
        INC.c.location,
        INC.c.planned,
        INC.c.force_started_at,
        sa.case((sa.exists().where(FI.c.incident_id == INC.c.id), 1), else_=0).label("has_footage"),
        sa.case((any_check, 1), else_=0).label("has_officers"),
        sa.case((sa.and_(any_check, ~any_not_before), 1), else_=0).label("all_on"),
    ]
    if months is not None:
        cols.append(q.month_bucket(INC.c.force_started_at, months).label("month"))
    return (
        sa.select(*cols)
        .where(INC.c.establishment_id == est, INC.c.force_started_at >= start, INC.c.force_started_at < end)
        .subquery("per_incident")
    )


def _period_incident_ids(est: int, start: datetime, end: datetime) -> Any:
    return sa.select(INC.c.id).where(
        INC.c.establishment_id == est, INC.c.force_started_at >= start, INC.c.force_started_at < end
    )


def _incident_counts(session: Session, per: Any, group: Any = None) -> list[Any]:
    cols = [
        sa.func.count().label("incidents"),
        sa.func.sum(per.c.has_footage).label("with_footage"),
        sa.func.sum(per.c.has_officers).label("with_officers"),
        sa.func.sum(per.c.all_on).label("all_on"),
    ]
    stmt = sa.select(*([group.label("grp")] if group is not None else []), *cols).select_from(per)
    if group is not None:
        stmt = stmt.group_by(group)
    return list(session.execute(stmt).all())


def _breakdown_rows(rows: list[Any], total: int, labels: dict[Any, str] | None = None) -> list[BreakdownRow]:
    out = []
    for r in rows:
        name = labels.get(r.grp, str(r.grp)) if labels else (r.grp if r.grp not in (None, "") else NOT_RECORDED)
        out.append(
            BreakdownRow(
                group=str(name),
                incidents=_int(r.incidents),
                share_of_incidents=_share(_int(r.incidents), total),
                share_with_footage=_share(_int(r.with_footage), _int(r.incidents)),
                share_all_on_before_force=_share(_int(r.all_on), _int(r.with_officers)),
            )
        )
    out.sort(key=lambda b: (-b.incidents, b.group))
    return out


# ---------------------------------------------------------------- flags (shared with the officer report)
def flags_subquery(est: int, as_of: datetime | None = None) -> Any:
    """Per officer: first guidance (earliest current amber/red rating) and the number of current non-green
    ratings of clips recorded after it. Ratings given at or after `as_of` are ignored."""
    given = [RT.c.establishment_id == est, _current(), RT.c.wearer_id.isnot(None)]
    if as_of is not None:
        given.append(RT.c.rated_at < as_of)
    first = (
        sa.select(RT.c.wearer_id.label("sid"), sa.func.min(RT.c.rated_at).label("first_at"))
        .where(*given, RT.c.rag.in_(NON_GREEN))
        .group_by(RT.c.wearer_id)
        .subquery("first_guidance")
    )
    after = (
        sa.select(first.c.sid, sa.func.count(RT.c.id).label("after_count"))
        .select_from(first.join(RT, RT.c.wearer_id == first.c.sid).join(FT, FT.c.id == RT.c.footage_id))
        .where(*given, RT.c.rag.in_(NON_GREEN), FT.c.recording_started_at > first.c.first_at)
        .group_by(first.c.sid)
        .subquery("after_guidance")
    )
    return (
        sa.select(
            first.c.sid,
            first.c.first_at,
            sa.func.coalesce(after.c.after_count, 0).label("after_count"),
        )
        .select_from(first.outerjoin(after, after.c.sid == first.c.sid))
        .subquery("flags")
    )


FLAG_THRESHOLD = 2


# ---------------------------------------------------------------- compliance summary
def compliance_summary(session: Session, establishment_id: int, period: Period) -> ComplianceSummary:
    dialect = _dialect(session)
    est = establishment_id
    start, end = period.start, period.end
    settings = get_settings()
    establishment = session.get(Establishment, est)
    name = establishment.name if establishment else str(est)
    inc_ids = _period_incident_ids(est, start, end)

    per = _per_incident(est, start, end)
    (head,) = _incident_counts(session, per)
    total = _int(head.incidents)

    # Activation checks: status mix, lag percentiles, mean coverage.
    checks = sa.select(AR.c.status, AR.c.lag_s, AR.c.coverage).where(AR.c.incident_id.in_(inc_ids)).subquery("checks")
    status_rows = session.execute(
        sa.select(checks.c.status, sa.func.count(), sa.func.avg(checks.c.coverage)).group_by(checks.c.status)
    ).all()
    activation = ActivationMix(**{str(s.value if hasattr(s, "value") else s): int(n) for s, n, _ in status_rows})
    n_checks = sum(int(n) for _, n, _ in status_rows)
    cov_sum = sum(float(avg or 0) * int(n) for _, n, avg in status_rows)
    mean_coverage = cov_sum / n_checks if n_checks else None
    lag = session.execute(q.percentiles(dialect, checks, "lag_s", (0.5, 0.9))).one()

    # Ratings of clips linked to the period's incidents.
    linked = sa.select(FI.c.footage_id).where(FI.c.incident_id.in_(inc_ids)).distinct().subquery("linked")
    rag_rows = session.execute(
        sa.select(RT.c.rag, sa.func.count())
        .select_from(RT.join(linked, linked.c.footage_id == RT.c.footage_id))
        .where(_current())
        .group_by(RT.c.rag)
    ).all()
    rag = RagMix(**{str(r.value if hasattr(r, "value") else r): int(n) for r, n in rag_rows})

    has_current = sa.exists().where(RT.c.footage_id == FT.c.id, _current())
    backlog = _int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(FT.join(linked, linked.c.footage_id == FT.c.id))
            .where(FT.c.status == FootageStatus.analysed, FT.c.purged_at.is_(None), ~has_current)
        ).scalar()
    )

    first_rating = (
        sa.select(
            FI.c.footage_id,
            sa.func.min(INC.c.force_started_at).label("incident_at"),
            sa.func.min(RT.c.rated_at).label("rated_at"),
        )
        .select_from(FI.join(INC, INC.c.id == FI.c.incident_id).join(RT, RT.c.footage_id == FI.c.footage_id))
        .where(
            INC.c.establishment_id == est,
            INC.c.force_started_at >= start,
            INC.c.force_started_at < end,
            RT.c.is_calibration == sa.false(),
        )
        .group_by(FI.c.footage_id)
        .subquery("first_rating")
    )
    waits = sa.select(
        (q.seconds_between(dialect, first_rating.c.rated_at, first_rating.c.incident_at) / 3600.0).label("hours")
    ).subquery("waits")
    (median_hours,) = session.execute(q.percentiles(dialect, waits, "hours", (0.5,))).one()

    overdue_before = utcnow() - timedelta(days=settings.ack_overdue_days)
    unack = session.execute(
        sa.select(
            sa.func.count(),
            sa.func.coalesce(sa.func.sum(sa.case((RT.c.rated_at < overdue_before, 1), else_=0)), 0),
        )
        .select_from(RT.join(linked, linked.c.footage_id == RT.c.footage_id))
        .where(_current(), RT.c.rag.in_(NON_GREEN), ~sa.exists().where(ACK.c.rating_id == RT.c.id))
    ).one()

    flags = flags_subquery(est, as_of=end)
    flagged_rows = session.execute(
        sa.select(STAFF.c.staff_number, STAFF.c.name, flags.c.first_at, flags.c.after_count)
        .select_from(flags.join(STAFF, STAFF.c.id == flags.c.sid))
        .where(flags.c.after_count >= FLAG_THRESHOLD)
        .order_by(flags.c.after_count.desc(), STAFF.c.name)
    ).all()

    return ComplianceSummary(
        establishment_id=est,
        establishment_name=name,
        period_from=period.first,
        period_to=period.last,
        generated_at=utcnow(),
        incidents=total,
        incidents_with_footage=_int(head.with_footage),
        share_with_footage=_share(_int(head.with_footage), total),
        incidents_with_officers=_int(head.with_officers),
        incidents_all_on_before_force=_int(head.all_on),
        share_all_on_before_force=_share(_int(head.all_on), _int(head.with_officers)),
        officer_checks=n_checks,
        activation=activation,
        median_lag_s=q.as_float(lag[0]),
        p90_lag_s=q.as_float(lag[1]),
        mean_coverage=mean_coverage,
        rag=rag,
        backlog=backlog,
        median_hours_to_rating=q.as_float(median_hours),
        unacknowledged=_int(unack[0]),
        unacknowledged_overdue=_int(unack[1]),
        ack_overdue_days=settings.ack_overdue_days,
        officers_flagged=[
            FlaggedOfficer(staff_number=r[0], name=r[1], first_guidance_at=r[2], non_green_after_guidance=int(r[3]))
            for r in flagged_rows
        ],
        breakdowns=_breakdowns(session, est, start, end, per, total),
        trend=_trend(session, dialect, est, period),
    )


def _breakdowns(session: Session, est: int, start: datetime, end: datetime, per: Any, total: int) -> list[Breakdown]:
    out = [
        Breakdown(
            name="location",
            title="Location",
            rows=_breakdown_rows(_incident_counts(session, per, per.c.location), total),
        ),
        Breakdown(
            name="planned",
            title="Planned or spontaneous",
            rows=_breakdown_rows(
                _incident_counts(session, per, per.c.planned), total, {True: "Planned", False: "Spontaneous"}
            ),
        ),
    ]
    inc_ids = _period_incident_ids(est, start, end)
    for attr, title in CHARACTERISTICS:
        subj = (
            sa.select(SUBJ.c.incident_id, SUBJ.c[attr].label("value"))
            .where(SUBJ.c.incident_id.in_(inc_ids))
            .distinct()
            .subquery("subj")
        )
        grouped = (
            sa.select(per, subj.c.value)
            .select_from(per.outerjoin(subj, subj.c.incident_id == per.c.id))
            .subquery("by_subject")
        )
        rows = _incident_counts(session, grouped, grouped.c.value)
        # NULL and "" both mean the incident does not record it: merge them into one group.
        merged: dict[str, list[int]] = {}
        for r in rows:
            key = r.grp if r.grp not in (None, "") else NOT_RECORDED
            acc = merged.setdefault(key, [0, 0, 0, 0])
            for i, v in enumerate((r.incidents, r.with_footage, r.with_officers, r.all_on)):
                acc[i] += _int(v)
        rows2 = [_Row(k, *v) for k, v in merged.items()]
        out.append(Breakdown(name=attr, title=title, rows=_breakdown_rows(rows2, total)))
    return out


@dataclass
class _Row:
    grp: str
    incidents: int
    with_footage: int
    with_officers: int
    all_on: int


def _trend(session: Session, dialect: str, est: int, period: Period) -> list[TrendMonth]:
    months = q.months_ending(period.last, 12)
    start, end = months[0].start, months[-1].end
    per = _per_incident(est, start, end, months)
    counts = {r.grp: r for r in _incident_counts(session, per, per.c.month)}
    lags = (
        sa.select(AR.c.lag_s, q.month_bucket(INC.c.force_started_at, months).label("month"))
        .select_from(AR.join(INC, INC.c.id == AR.c.incident_id))
        .where(INC.c.establishment_id == est, INC.c.force_started_at >= start, INC.c.force_started_at < end)
        .subquery("lags")
    )
    medians = {r[0]: r[1] for r in session.execute(q.percentiles(dialect, lags, "lag_s", (0.5,), group="month"))}
    rated = (
        sa.select(RT.c.id, RT.c.rag, sa.func.min(q.month_bucket(INC.c.force_started_at, months)).label("month"))
        .select_from(RT.join(FI, FI.c.footage_id == RT.c.footage_id).join(INC, INC.c.id == FI.c.incident_id))
        .where(_current(), INC.c.establishment_id == est, INC.c.force_started_at >= start, INC.c.force_started_at < end)
        .group_by(RT.c.id, RT.c.rag)
        .subquery("rated")
    )
    rags: dict[str, dict[str, int]] = {}
    for month, rag, n in session.execute(
        sa.select(rated.c.month, rated.c.rag, sa.func.count()).group_by(rated.c.month, rated.c.rag)
    ):
        rags.setdefault(month, {})[str(rag.value if hasattr(rag, "value") else rag)] = int(n)
    out = []
    for m in months:
        c = counts.get(m.label)
        n = _int(c.incidents) if c else 0
        out.append(
            TrendMonth(
                month=m.label,
                incidents=n,
                share_with_footage=_share(_int(c.with_footage), n) if c else None,
                share_all_on_before_force=_share(_int(c.all_on), _int(c.with_officers)) if c else None,
                median_lag_s=q.as_float(medians.get(m.label)),
                rag=RagMix(**rags.get(m.label, {})),
            )
        )
    return out


# ---------------------------------------------------------------- officer report
def officer_report(
    session: Session, officer: StaffMember, *, months: int = 24, today: date | None = None
) -> OfficerReport:
    dialect = _dialect(session)
    sid = officer.id
    est = officer.establishment_id
    today = today or utcnow().astimezone(q.tz()).date()
    month_list = q.months_ending(today, months)

    flags = flags_subquery(est)
    flag = session.execute(sa.select(flags.c.first_at, flags.c.after_count).where(flags.c.sid == sid)).first()
    first_at: datetime | None = flag[0] if flag else None
    after_count = int(flag[1]) if flag else 0

    mine = sa.and_(RT.c.wearer_id == sid, RT.c.establishment_id == est, _current())
    after_expr: Any = (
        sa.case((FT.c.recording_started_at > first_at, 1), else_=0) if first_at is not None else sa.literal(0)
    )
    rated = (
        sa.select(
            RT.c.rag,
            after_expr.label("after"),
            q.month_bucket(FT.c.recording_started_at, month_list).label("month"),
        )
        .select_from(RT.join(FT, FT.c.id == RT.c.footage_id))
        .where(mine)
        .subquery("rated")
    )
    by_phase: dict[int, RagMix] = {0: RagMix(), 1: RagMix()}
    by_month: dict[str, RagMix] = {}
    for rag, after, month, n in session.execute(
        sa.select(rated.c.rag, rated.c.after, rated.c.month, sa.func.count()).group_by(
            rated.c.rag, rated.c.after, rated.c.month
        )
    ):
        key = str(rag.value if hasattr(rag, "value") else rag)
        mix = by_phase[int(after)]
        setattr(mix, key, getattr(mix, key) + int(n))
        if month is not None:
            mm = by_month.setdefault(month, RagMix())
            setattr(mm, key, getattr(mm, key) + int(n))
    total = RagMix(
        green=by_phase[0].green + by_phase[1].green,
        amber=by_phase[0].amber + by_phase[1].amber,
        red=by_phase[0].red + by_phase[1].red,
    )

    inc_after: Any = sa.case((INC.c.force_started_at > first_at, 1), else_=0) if first_at is not None else sa.literal(0)
    checks = (
        sa.select(
            AR.c.status,
            AR.c.lag_s,
            inc_after.label("after"),
            q.month_bucket(INC.c.force_started_at, month_list).label("month"),
        )
        .select_from(AR.join(INC, INC.c.id == AR.c.incident_id))
        .where(AR.c.staff_member_id == sid)
        .subquery("checks")
    )
    activation = ActivationMix()
    phase_checks = {0: 0, 1: 0}
    month_checks: dict[str, int] = {}
    for status, after, month, n in session.execute(
        sa.select(checks.c.status, checks.c.after, checks.c.month, sa.func.count()).group_by(
            checks.c.status, checks.c.after, checks.c.month
        )
    ):
        key = str(status.value if hasattr(status, "value") else status)
        setattr(activation, key, getattr(activation, key) + int(n))
        phase_checks[int(after)] += int(n)
        if month is not None:
            month_checks[month] = month_checks.get(month, 0) + int(n)
    (median_all,) = session.execute(q.percentiles(dialect, checks, "lag_s", (0.5,))).one()
    phase_lag = {
        int(r[0]): q.as_float(r[1])
        for r in session.execute(q.percentiles(dialect, checks, "lag_s", (0.5,), group="after"))
    }
    month_lag = {
        r[0]: q.as_float(r[1])
        for r in session.execute(q.percentiles(dialect, checks, "lag_s", (0.5,), group="month"))
        if r[0] is not None
    }

    history_rows = session.execute(
        sa.select(
            RT.c.footage_id,
            FT.c.recording_started_at,
            RT.c.rag,
            RT.c.rated_at,
            RT.c.version,
            RT.c.guidance,
            ACK.c.acknowledged_at,
        )
        .select_from(RT.join(FT, FT.c.id == RT.c.footage_id).outerjoin(ACK, ACK.c.rating_id == RT.c.id))
        .where(mine)
        .order_by(FT.c.recording_started_at.desc())
        .limit(200)
    ).all()
    history = [
        OfficerRating(
            footage_id=r[0],
            recorded_at=r[1],
            rag=str(r[2].value if hasattr(r[2], "value") else r[2]),
            rated_at=r[3],
            version=r[4],
            guidance=r[5] or "",
            acknowledged_at=r[6],
            after_guidance=first_at is not None and r[1] > first_at,
        )
        for r in history_rows
    ]
    unack = _int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(RT)
            .where(mine, RT.c.rag.in_(NON_GREEN), ~sa.exists().where(ACK.c.rating_id == RT.c.id))
        ).scalar()
    )

    def phase(i: int) -> PhaseFigures:
        mix = by_phase[i]
        return PhaseFigures(
            ratings=mix.total, share_green=mix.share("green"), median_lag_s=phase_lag.get(i), checks=phase_checks[i]
        )

    return OfficerReport(
        staff_number=officer.staff_number,
        name=officer.name,
        establishment_id=est,
        generated_at=utcnow(),
        ratings=total,
        share_green=total.share("green"),
        activation=activation,
        median_lag_s=q.as_float(median_all),
        first_guidance_at=first_at,
        before=phase(0),
        after=phase(1),
        non_green_after_guidance=after_count,
        flagged=after_count >= FLAG_THRESHOLD,
        unacknowledged=unack,
        months=[
            OfficerMonth(
                month=m.label,
                rag=by_month.get(m.label, RagMix()),
                share_green=by_month.get(m.label, RagMix()).share("green"),
                median_lag_s=month_lag.get(m.label),
                checks=month_checks.get(m.label, 0),
            )
            for m in month_list
        ],
        history=history,
    )


# ---------------------------------------------------------------- establishment view of every officer
def officers_overview(
    session: Session, establishment_id: int, *, today: date | None = None
) -> list[OfficerOverviewRow]:
    dialect = _dialect(session)
    est = establishment_id
    today = today or utcnow().astimezone(q.tz()).date()
    months = q.months_ending(today, 12)
    half = {m.label: ("recent" if i >= 6 else "previous") for i, m in enumerate(months)}

    staff = session.execute(
        sa.select(STAFF.c.id, STAFF.c.staff_number, STAFF.c.name, STAFF.c.active)
        .where(STAFF.c.establishment_id == est)
        .order_by(STAFF.c.name)
    ).all()
    rated = (
        sa.select(RT.c.wearer_id, RT.c.rag, q.month_bucket(FT.c.recording_started_at, months).label("month"))
        .select_from(RT.join(FT, FT.c.id == RT.c.footage_id))
        .where(RT.c.establishment_id == est, _current(), RT.c.wearer_id.isnot(None))
        .subquery("rated")
    )
    mix: dict[int, RagMix] = {}
    monthly: dict[tuple[int, str], RagMix] = {}
    for wid, rag, month, n in session.execute(
        sa.select(rated.c.wearer_id, rated.c.rag, rated.c.month, sa.func.count()).group_by(
            rated.c.wearer_id, rated.c.rag, rated.c.month
        )
    ):
        key = str(rag.value if hasattr(rag, "value") else rag)
        m = mix.setdefault(wid, RagMix())
        setattr(m, key, getattr(m, key) + int(n))
        if month is not None:
            mm = monthly.setdefault((wid, month), RagMix())
            setattr(mm, key, getattr(mm, key) + int(n))

    staff_ids = sa.select(STAFF.c.id).where(STAFF.c.establishment_id == est)
    checks = (
        sa.select(AR.c.staff_member_id.label("sid"), AR.c.status, AR.c.lag_s)
        .where(AR.c.staff_member_id.in_(staff_ids))
        .subquery("checks")
    )
    check_counts = {
        r[0]: (int(r[1]), _int(r[2]))
        for r in session.execute(
            sa.select(
                checks.c.sid,
                sa.func.count(),
                sa.func.sum(sa.case((checks.c.status == ActivationStatus.no_footage, 1), else_=0)),
            ).group_by(checks.c.sid)
        )
    }
    lags = {r[0]: q.as_float(r[1]) for r in session.execute(q.percentiles(dialect, checks, "lag_s", (0.5,), "sid"))}
    flags = flags_subquery(est)
    flag_rows = {r[0]: (r[1], int(r[2])) for r in session.execute(sa.select(flags))}
    unack = dict(
        session.execute(
            sa.select(RT.c.wearer_id, sa.func.count())
            .where(
                RT.c.establishment_id == est,
                _current(),
                RT.c.rag.in_(NON_GREEN),
                ~sa.exists().where(ACK.c.rating_id == RT.c.id),
            )
            .group_by(RT.c.wearer_id)
        ).all()
    )

    out = []
    for sid, number, name, active in staff:
        m = mix.get(sid, RagMix())
        halves = {"recent": RagMix(), "previous": RagMix()}
        spark: list[float | None] = []
        for mo in months:
            mm = monthly.get((sid, mo.label), RagMix())
            spark.append(mm.share("green"))
            h = halves[half[mo.label]]
            h.green, h.amber, h.red = h.green + mm.green, h.amber + mm.amber, h.red + mm.red
        first_at, after = flag_rows.get(sid, (None, 0))
        n_checks, no_footage = check_counts.get(sid, (0, 0))
        out.append(
            OfficerOverviewRow(
                staff_number=number,
                name=name,
                active=bool(active),
                rated=m.total,
                rag=m,
                share_green=m.share("green"),
                share_green_recent=halves["recent"].share("green"),
                share_green_previous=halves["previous"].share("green"),
                incidents=n_checks,
                no_footage=no_footage,
                median_lag_s=lags.get(sid),
                first_guidance_at=first_at,
                non_green_after_guidance=after,
                flagged=after >= FLAG_THRESHOLD,
                unacknowledged=int(unack.get(sid, 0)),
                sparkline=spark,
            )
        )
    return out


def find_officer(session: Session, establishment_id: int | None, staff_number: str) -> StaffMember | None:
    stmt = sa.select(StaffMember).where(STAFF.c.staff_number == staff_number)
    if establishment_id is not None:
        stmt = stmt.where(STAFF.c.establishment_id == establishment_id)
    rows = session.execute(stmt).scalars().all()
    return rows[0] if len(rows) == 1 else None
