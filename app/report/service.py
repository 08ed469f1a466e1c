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
  guidance. The summary lists officers flagged with the ratings given before the end of the period and at
  least one of those non-green clips recorded in the period (follow-up that belongs to this period).
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


# ---------------------------------------------------------------- flags (shared with the officer report)
def flags_subquery(
    est: int,
    as_of: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
    staff_member_id: int | None = None,
) -> Any:
    """Per officer: first guidance (earliest current amber/red rating) and the number of current non-green
    ratings of clips recorded after it (`after_count`; `in_window`: how many of those clips were recorded
    in `window`). Ratings given at or after `as_of` are ignored. One pass over the non-green ratings."""
    given = [RT.c.establishment_id == est, _current(), RT.c.wearer_id.isnot(None), RT.c.rag.in_(NON_GREEN)]
    if as_of is not None:
        given.append(RT.c.rated_at < as_of)
    if staff_member_id is not None:
        given.append(RT.c.wearer_id == staff_member_id)
    non_green = (
        sa.select(RT.c.wearer_id.label("sid"), RT.c.rated_at, FT.c.recording_started_at.label("recorded_at"))
        .select_from(RT.join(FT, FT.c.id == RT.c.footage_id))
        .where(*given)
        .cte("non_green")
    )
    first = (
        sa.select(non_green.c.sid, sa.func.min(non_green.c.rated_at).label("first_at"))
        .group_by(non_green.c.sid)
        .cte("first_guidance")
    )
    in_window: Any = (
        sa.func.sum(
            sa.case(
                (sa.and_(non_green.c.recorded_at >= window[0], non_green.c.recorded_at < window[1]), 1),
                else_=0,
            )
        )
        if window is not None
        else sa.literal(0)
    )
    after = (
        sa.select(first.c.sid, sa.func.count().label("after_count"), in_window.label("in_window"))
        .select_from(first.join(non_green, non_green.c.sid == first.c.sid))
        .where(non_green.c.recorded_at > first.c.first_at)
        .group_by(first.c.sid)
        .subquery("after_guidance")
    )
    return (
        sa.select(
            first.c.sid,
            first.c.first_at,
            sa.func.coalesce(after.c.after_count, 0).label("after_count"),
            sa.func.coalesce(after.c.in_window, 0).label("in_window"),
        )
        .select_from(first.outerjoin(after, after.c.sid == first.c.sid))
        .subquery("flags")
    )


FLAG_THRESHOLD = 2
# A clip is rated after it was uploaded, so after the incident it shows: ratings older than the first
# incident (less a day for clock skew) cannot belong to it, which lets the database skip them by index.
RATED_AFTER_MARGIN = timedelta(days=1)


# ---------------------------------------------------------------- compliance summary
# Few statements, each doing a lot: the per-incident rows are worked out once (a CTE) and every grouping
# (total, location, planned, each characteristic, month) is a branch of one UNION ALL over them.
def _tune(session: Session, dialect: str) -> None:
    """For this transaction on PostgreSQL: no JIT (it costs ~40 ms a statement and saves nothing at this
    size), and always a plan made for the actual dates. psycopg prepares a statement after its 5th run on
    a connection, and a generic plan cannot see which months the date parameters pick (it went from
    0.2 s to over a minute in bench/reports.py)."""
    if dialect == "postgresql":
        session.execute(sa.text("SET LOCAL jit = off"))
        session.execute(sa.text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _incidents_cte(
    est: int, rng: tuple[datetime, datetime], period: tuple[datetime, datetime], months: list[q.Month]
) -> Any:
    """One row per incident with force in `rng`: in the period (0/1), its month, any footage (0/1), and
    `all_on`: NULL with no officer checked, 1 when every check is before_force, else 0."""
    all_on = (
        sa.select(sa.func.min(sa.case((AR.c.status == ActivationStatus.before_force, 1), else_=0)))
        .where(AR.c.incident_id == INC.c.id)
        .scalar_subquery()
    )
    return (
        sa.select(
            INC.c.id,
            INC.c.location,
            INC.c.planned,
            sa.case(
                (sa.and_(INC.c.force_started_at >= period[0], INC.c.force_started_at < period[1]), 1), else_=0
            ).label("in_period"),
            q.month_bucket(INC.c.force_started_at, months).label("month"),
            sa.case((sa.exists().where(FI.c.incident_id == INC.c.id), 1), else_=0).label("has_footage"),
            all_on.label("all_on"),
        )
        .where(INC.c.establishment_id == est, INC.c.force_started_at >= rng[0], INC.c.force_started_at < rng[1])
        .cte("per_incident")
    )


def _counts(dim: str, grp: Any, source: Any, per: Any, *where: Any) -> Any:
    return (
        sa.select(
            sa.literal(dim).label("dim"),
            sa.cast(grp, sa.String).label("grp") if grp is not None else sa.cast(sa.null(), sa.String).label("grp"),
            sa.func.count().label("incidents"),
            sa.func.sum(per.c.has_footage).label("with_footage"),
            sa.func.sum(sa.case((per.c.all_on.isnot(None), 1), else_=0)).label("with_officers"),
            sa.func.coalesce(sa.func.sum(per.c.all_on), 0).label("all_on"),
        )
        .select_from(source)
        .where(*where)
        .group_by(*([grp] if grp is not None else []))
    )


def compliance_summary(session: Session, establishment_id: int, period: Period) -> ComplianceSummary:
    dialect = _dialect(session)
    _tune(session, dialect)
    est = establishment_id
    start, end = period.start, period.end
    settings = get_settings()
    establishment = session.get(Establishment, est)
    name = establishment.name if establishment else str(est)
    months = q.months_ending(period.last, 12)
    rng = (min(start, months[0].start), max(end, months[-1].end))

    # 1. Incident figures: total, breakdowns and the monthly trend in one statement.
    per = _incidents_cte(est, rng, (start, end), months)
    in_p = per.c.in_period == 1
    subj = (
        sa.select(SUBJ.c.incident_id, *[SUBJ.c[a] for a, _ in CHARACTERISTICS])
        .where(SUBJ.c.incident_id.in_(sa.select(per.c.id).where(in_p)))
        .cte("subjects")
    )
    branches = [
        _counts("total", None, per, per, in_p),
        _counts("location", per.c.location, per, per, in_p),
        _counts("planned", sa.cast(per.c.planned, sa.Integer), per, per, in_p),
        _counts("month", per.c.month, per, per, per.c.month.isnot(None)),
    ]
    for attr, _title in CHARACTERISTICS:
        values = sa.select(subj.c.incident_id, subj.c[attr].label("value")).distinct().subquery(f"subj_{attr}")
        source = per.outerjoin(values, values.c.incident_id == per.c.id)
        branches.append(_counts(attr, values.c.value, source, per, in_p))
    grouped: dict[str, list[Any]] = {}
    for row in session.execute(sa.union_all(*branches)):
        grouped.setdefault(row.dim, []).append(row)
    head = grouped.get("total", [None])[0]
    total = _int(head.incidents) if head else 0

    # 2. Activation checks of the period: status mix and coverage.
    inc_ids = sa.select(INC.c.id).where(
        INC.c.establishment_id == est, INC.c.force_started_at >= start, INC.c.force_started_at < end
    )
    status_rows = session.execute(
        sa.select(AR.c.status, sa.func.count(), sa.func.sum(AR.c.coverage))
        .where(AR.c.incident_id.in_(inc_ids))
        .group_by(AR.c.status)
    ).all()
    activation = ActivationMix(**{_name(st): int(n) for st, n, _ in status_rows})
    n_checks = sum(int(n) for _, n, _ in status_rows)
    cov_sum = sum(float(c or 0) for _, _, c in status_rows)

    # 3. Lag percentiles: the period (median, p90) and each month of the trend (median), one statement.
    lag_src = (
        sa.select(
            AR.c.lag_s,
            sa.case((sa.and_(INC.c.force_started_at >= start, INC.c.force_started_at < end), 1), else_=0).label(
                "in_period"
            ),
            q.month_bucket(INC.c.force_started_at, months).label("month"),
        )
        .select_from(AR.join(INC, INC.c.id == AR.c.incident_id))
        .where(INC.c.establishment_id == est, INC.c.force_started_at >= rng[0], INC.c.force_started_at < rng[1])
        .cte("lag_src")
    )
    lags = sa.union_all(
        sa.select(lag_src.c.lag_s, sa.literal("period").label("g")).where(lag_src.c.in_period == 1),
        sa.select(lag_src.c.lag_s, lag_src.c.month.label("g")).where(lag_src.c.month.isnot(None)),
    ).subquery("lags")
    lag_by = {
        r[0]: (q.as_float(r[1]), q.as_float(r[2]))
        for r in session.execute(q.percentiles(dialect, lags, "lag_s", (0.5, 0.9), group="g"))
    }
    lag = lag_by.get("period", (None, None))

    # 4. Clips linked to the incidents: RAG mix, trend, backlog, unacknowledged, time to rating, one statement.
    light = (
        sa.select(
            INC.c.id,
            sa.case((sa.and_(INC.c.force_started_at >= start, INC.c.force_started_at < end), 1), else_=0).label(
                "in_period"
            ),
            q.month_bucket(INC.c.force_started_at, months).label("month"),
            sa.case(
                (sa.and_(INC.c.force_started_at >= start, INC.c.force_started_at < end), INC.c.force_started_at),
                else_=sa.null(),
            ).label("period_at"),
        )
        .where(INC.c.establishment_id == est, INC.c.force_started_at >= rng[0], INC.c.force_started_at < rng[1])
        .subquery("light")
    )
    linked = (
        sa.select(
            FI.c.footage_id,
            sa.func.max(light.c.in_period).label("in_period"),
            sa.func.min(light.c.month).label("month"),
            sa.func.min(light.c.period_at).label("incident_at"),
        )
        .select_from(FI.join(light, light.c.id == FI.c.incident_id))
        .group_by(FI.c.footage_id)
        .cte("linked")
    )
    # The clips' current ratings and their first ratings (version 1: versions count up from 1), one join.
    rated = (
        sa.select(
            RT.c.id,
            RT.c.footage_id,
            RT.c.rag,
            RT.c.rated_at,
            RT.c.is_current,
            RT.c.version,
            linked.c.in_period,
            linked.c.month,
            linked.c.incident_at,
        )
        .select_from(RT.join(linked, linked.c.footage_id == RT.c.footage_id))
        .where(
            RT.c.is_calibration == sa.false(),
            sa.or_(RT.c.is_current == sa.true(), RT.c.version == 1),
            RT.c.rated_at >= rng[0] - RATED_AFTER_MARGIN,
        )
        .cte("rated")
    )
    cur = sa.select(rated).where(rated.c.is_current == sa.true()).cte("cur")
    overdue_before = utcnow() - timedelta(days=settings.ack_overdue_days)
    unacked = sa.and_(cur.c.in_period == 1, cur.c.rag.in_(NON_GREEN), ~sa.exists().where(ACK.c.rating_id == cur.c.id))
    has_current = sa.exists().where(cur.c.footage_id == linked.c.footage_id)  # cur: every current rating

    def _branch(dim: str, grp: Any, sub: Any, source: Any, *where: Any, group: tuple[Any, ...] = ()) -> Any:
        return (
            sa.select(
                sa.literal(dim).label("dim"),
                sa.cast(grp if grp is not None else sa.null(), sa.String).label("grp"),
                sa.cast(sub if sub is not None else sa.null(), sa.String).label("sub"),
                sa.func.count().label("n"),
            )
            .select_from(source)
            .where(*where)
            .group_by(*group)
        )

    # Time from incident to each clip's first (non-calibration) rating, later superseded or not.
    waits = (
        sa.select((q.seconds_between(dialect, rated.c.rated_at, rated.c.incident_at) / 3600.0).label("hours"))
        .where(rated.c.version == 1, rated.c.in_period == 1)
        .subquery("waits")
    )
    wait_median = q.percentiles(dialect, waits, "hours", (0.5,)).subquery("wait_median")

    rating_rows = session.execute(
        sa.union_all(
            sa.select(
                sa.literal("wait").label("dim"),
                sa.cast(sa.null(), sa.String).label("grp"),
                sa.cast(sa.null(), sa.String).label("sub"),
                sa.cast(wait_median.c.p50, sa.Float).label("n"),
            ),
            _branch("rag", cur.c.rag, None, cur, cur.c.in_period == 1, group=(cur.c.rag,)),
            _branch("trend", cur.c.month, cur.c.rag, cur, cur.c.month.isnot(None), group=(cur.c.month, cur.c.rag)),
            _branch("unack", None, None, cur, unacked),
            _branch("overdue", None, None, cur, unacked, cur.c.rated_at < overdue_before),
            _branch(
                "backlog",
                None,
                None,
                FT.join(linked, linked.c.footage_id == FT.c.id),
                linked.c.in_period == 1,
                FT.c.status == FootageStatus.analysed,
                FT.c.purged_at.is_(None),
                ~has_current,
            ),
        )
    ).all()
    rag = RagMix()
    trend_rag: dict[str, RagMix] = {}
    singles: dict[str, int] = {}
    median_hours: float | None = None
    for dim, grp, sub, n in rating_rows:
        if dim == "wait":
            median_hours = q.as_float(n)
        elif dim == "rag":
            setattr(rag, grp, int(n))
        elif dim == "trend":
            setattr(trend_rag.setdefault(grp, RagMix()), sub, int(n))
        else:
            singles[dim] = int(n)

    # 5. Officers flagged (ratings given before the end of the period).
    flags = flags_subquery(est, as_of=end, window=(start, end))
    flagged_rows = session.execute(
        sa.select(STAFF.c.staff_number, STAFF.c.name, flags.c.first_at, flags.c.after_count)
        .select_from(flags.join(STAFF, STAFF.c.id == flags.c.sid))
        .where(flags.c.after_count >= FLAG_THRESHOLD, flags.c.in_window >= 1)
        .order_by(flags.c.after_count.desc(), STAFF.c.name)
    ).all()

    month_rows = {r.grp: r for r in grouped.get("month", [])}
    trend = []
    for m in months:
        c = month_rows.get(m.label)
        n = _int(c.incidents) if c else 0
        trend.append(
            TrendMonth(
                month=m.label,
                incidents=n,
                share_with_footage=_share(_int(c.with_footage), n) if c else None,
                share_all_on_before_force=_share(_int(c.all_on), _int(c.with_officers)) if c else None,
                median_lag_s=lag_by.get(m.label, (None, None))[0],
                rag=trend_rag.get(m.label, RagMix()),
            )
        )
    breakdowns = [
        Breakdown(name="location", title="Location", rows=_breakdown_rows(grouped.get("location", []), total)),
        Breakdown(
            name="planned",
            title="Planned or spontaneous",
            rows=_breakdown_rows(grouped.get("planned", []), total, {"1": "Planned", "0": "Spontaneous"}),
        ),
    ] + [
        Breakdown(name=attr, title=title, rows=_breakdown_rows(grouped.get(attr, []), total))
        for attr, title in CHARACTERISTICS
    ]

    return ComplianceSummary(
        establishment_id=est,
        establishment_name=name,
        period_from=period.first,
        period_to=period.last,
        generated_at=utcnow(),
        incidents=total,
        incidents_with_footage=_int(head.with_footage) if head else 0,
        share_with_footage=_share(_int(head.with_footage), total) if head else None,
        incidents_with_officers=_int(head.with_officers) if head else 0,
        incidents_all_on_before_force=_int(head.all_on) if head else 0,
        share_all_on_before_force=_share(_int(head.all_on), _int(head.with_officers)) if head else None,
        officer_checks=n_checks,
        activation=activation,
        median_lag_s=lag[0],
        p90_lag_s=lag[1],
        mean_coverage=cov_sum / n_checks if n_checks else None,
        rag=rag,
        backlog=singles.get("backlog", 0),
        median_hours_to_rating=median_hours,
        unacknowledged=singles.get("unack", 0),
        unacknowledged_overdue=singles.get("overdue", 0),
        ack_overdue_days=settings.ack_overdue_days,
        officers_flagged=[
            FlaggedOfficer(staff_number=r[0], name=r[1], first_guidance_at=r[2], non_green_after_guidance=int(r[3]))
            for r in flagged_rows
        ],
        breakdowns=breakdowns,
        trend=trend,
    )


def _name(x: Any) -> str:
    return str(x.value if hasattr(x, "value") else x)


def _breakdown_rows(rows: list[Any], total: int, labels: dict[str, str] | None = None) -> list[BreakdownRow]:
    """Rows of one grouping; NULL and "" both mean "not recorded" and are merged."""
    merged: dict[str, list[int]] = {}
    for r in rows:
        if labels is not None:
            key = labels.get(str(r.grp), str(r.grp))
        else:
            key = r.grp if r.grp not in (None, "") else NOT_RECORDED
        acc = merged.setdefault(key, [0, 0, 0, 0])
        for i, v in enumerate((r.incidents, r.with_footage, r.with_officers, r.all_on)):
            acc[i] += _int(v)
    out = [
        BreakdownRow(
            group=key,
            incidents=n,
            share_of_incidents=_share(n, total),
            share_with_footage=_share(wf, n),
            share_all_on_before_force=_share(on, wo),
        )
        for key, (n, wf, wo, on) in merged.items()
    ]
    out.sort(key=lambda b: (-b.incidents, b.group))
    return out


# ---------------------------------------------------------------- officer report
def officer_report(
    session: Session, officer: StaffMember, *, months: int = 24, today: date | None = None
) -> OfficerReport:
    dialect = _dialect(session)
    _tune(session, dialect)
    sid = officer.id
    est = officer.establishment_id
    today = today or utcnow().astimezone(q.tz()).date()
    month_list = q.months_ending(today, months)

    flags = flags_subquery(est, staff_member_id=sid)
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
    _tune(session, dialect)
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
