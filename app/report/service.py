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
  `force_started_at` of the earliest period incident it is linked to; the median in hours. A rating given
  before that incident (the clip linked to it later, by "Link anyway") is left out.
- **Unacknowledged guidance**: current amber/red ratings of those clips with no acknowledgement; overdue
  when rated more than `ack_overdue_days` days ago.
- **Month-by-month trend**: incidents by the month their force began; each clip's current rating once,
  in the month of the first incident it is linked to (of all, not only of those in the months shown).
- **Hidden clips**: the ratings of clips the viewer owes a blind second rating are left out of every
  figure (comparing the summary before and after would give the first rating away).
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

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.core.beside import beside
from app.core.config import get_settings
from app.core.db import tune_transaction
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
    OfficerOverviewRow,
    OfficerReport,
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


def _shown(hide_footage: Collection[int] | sa.BindParameter[Any], footage_id: Any = None) -> list[Any]:
    """Conditions leaving out the ratings of clips the viewer owes a blind second rating (none usually), on
    the ratings' clip id or on `footage_id`, another table's. `hide_footage` may be an expanding bind
    parameter (the reports' prepared statements)."""
    column = RT.c.footage_id if footage_id is None else footage_id
    if isinstance(hide_footage, sa.BindParameter):
        return [column.notin_(hide_footage)]
    return [column.notin_(sorted(hide_footage))] if hide_footage else []


def _current() -> Any:
    return sa.and_(RT.c.is_current == sa.true(), RT.c.is_calibration == sa.false())


# ---------------------------------------------------------------- flags (shared with the officer report)
def flags_subquery(
    est: int,
    as_of: datetime | None = None,
    window: tuple[datetime, datetime] | None = None,
    staff_member_id: int | None = None,
    hide_footage: Collection[int] | sa.BindParameter[Any] = (),
) -> Any:
    """Per officer: first guidance (earliest current amber/red rating) and the number of current non-green
    ratings of clips recorded after it (`after_count`; `in_window`: how many of those clips were recorded
    in `window`). Ratings given at or after `as_of` are ignored. One pass over the officers' guidance, read
    from the `ix_rating_guidance_given` index alone (the rating carries its clip's recording time)."""
    given = [RT.c.establishment_id == est, _current(), RT.c.wearer_id.isnot(None), RT.c.rag.in_(NON_GREEN)]
    if as_of is not None:
        given.append(RT.c.rated_at < as_of)
    if staff_member_id is not None:
        given.append(RT.c.wearer_id == staff_member_id)
    given += _shown(hide_footage)
    non_green = (
        sa.select(
            RT.c.wearer_id.label("sid"),
            RT.c.recorded_at,
            sa.func.min(RT.c.rated_at).over(partition_by=RT.c.wearer_id).label("first_at"),
        )
        .where(*given)
        .subquery("non_green")
    )
    after = non_green.c.recorded_at > non_green.c.first_at
    in_window: Any = (
        sa.func.sum(
            sa.case(
                (sa.and_(after, non_green.c.recorded_at >= window[0], non_green.c.recorded_at < window[1]), 1),
                else_=0,
            )
        )
        if window is not None
        else sa.literal(0)
    )
    return (
        sa.select(
            non_green.c.sid,
            sa.func.min(non_green.c.first_at).label("first_at"),
            sa.func.sum(sa.case((after, 1), else_=0)).label("after_count"),
            in_window.label("in_window"),
        )
        .group_by(non_green.c.sid)
        .subquery("flags")
    )


FLAG_THRESHOLD = 2


# ---------------------------------------------------------------- statements built once
# Both reports build their statements once per dialect (and shape), with bind parameters for the
# establishment, the dates and the months: building a statement took longer than PostgreSQL takes to run an
# officer's, and delayed the summary's two statements by ~10 ms (bench/reports.py).
_MONTH_PARAMS = "month_from", "month_end_{}"


def _month_key(i: int) -> str:
    """Statements built once name month i of their months 'm<i>' (three digits: up to 120 months), written in
    the SQL, not bound: psycopg reuses its parsing of a statement only while it has at most 50 parameters (and
    is under 4 KB), which the officer report's statements are. The summary's are past both limits either way.
    The labels sort as the months do: a clip of two incidents takes the earlier's month by min() ('m10'
    sorted before 'm2' and put a January clip in September)."""
    return f"m{i:03d}"


def _bound_months(count: int) -> list[q.Month]:
    """`count` months for a statement built once: labels 'm<i>', the first start and every end bound."""
    first, end_ = _MONTH_PARAMS
    return [
        q.Month(
            label=sa.literal_column(f"'{_month_key(i)}'", sa.String()),  # type: ignore[arg-type]
            start=sa.bindparam(first) if i == 0 else None,  # type: ignore[arg-type]
            end=sa.bindparam(end_.format(i)),  # type: ignore[arg-type]
        )
        for i in range(count)
    ]


def _month_params(months: Sequence[q.Month]) -> dict[str, Any]:
    """Values for `_bound_months(len(months))`."""
    first, end_ = _MONTH_PARAMS
    params: dict[str, Any] = {first: months[0].start} if months else {}
    for i, m in enumerate(months):
        params[end_.format(i)] = m.end
    return params


# ---------------------------------------------------------------- compliance summary
# Three statements, each one pass: (1) the period's incidents and their officers' activation checks (every
# incident figure, breakdown, lag percentile and the trend's incident columns), (2) the clips linked to
# those incidents and their ratings, (3) the officers' guidance (flags). Within a statement the rows are
# worked out once (a CTE) and every grouping is a branch of one UNION ALL over them.
def _tune(session: Session | sa.Connection, dialect: str) -> None:
    """For this transaction on PostgreSQL: room to hash a year of incidents and clips in memory (the
    default 4 MB makes it sort on disk), no JIT (it costs ~40 ms a statement and saves nothing at this
    size), and always a plan made for the actual dates. psycopg prepares a statement after its 5th run on
    a connection, and a generic plan cannot see which months the date parameters pick (it went from
    0.2 s to over a minute in bench/reports.py)."""
    if dialect == "postgresql":
        tune_transaction(session, work_mem="32MB", custom_plans=True)


def _incidents_cte(est: Any, rng: tuple[Any, Any], period: tuple[Any, Any], months: list[q.Month]) -> Any:
    """One row per incident with force in `rng`: its month (NULL outside the trend's months) and when force
    began if that is in the period (`period_at`, else NULL).

    "In the period" is tested as `period_at IS NOT NULL`, not as a 0/1 flag `= 1`: PostgreSQL keeps no
    statistics on a CTE's columns and guesses that `= 1` keeps 0.5% of the rows (it then sorts 20,000 rows
    where it should hash them), but that IS NOT NULL keeps nearly all."""
    in_period = sa.and_(INC.c.force_started_at >= period[0], INC.c.force_started_at < period[1])
    return (
        sa.select(
            INC.c.id,
            INC.c.location,
            INC.c.planned,
            q.month_bucket(INC.c.force_started_at, months).label("month"),
            sa.case((in_period, INC.c.force_started_at), else_=sa.null()).label("period_at"),
        )
        .where(INC.c.establishment_id == est, INC.c.force_started_at >= rng[0], INC.c.force_started_at < rng[1])
        .cte("incidents")
    )


def _links_in(est: Any, rng: tuple[Any, Any]) -> list[Any]:
    """Links to the establishment's incidents whose force began in `rng` (by the copies on the link)."""
    return [FI.c.establishment_id == est, FI.c.force_started_at >= rng[0], FI.c.force_started_at < rng[1]]


def _f(x: Any) -> Any:
    """One numeric type for every branch of a UNION ALL (PostgreSQL would otherwise mix bigint and float)."""
    return sa.cast(x if x is not None else sa.null(), sa.Float)


def _s(x: Any) -> Any:
    return sa.cast(x if x is not None else sa.null(), sa.String)


def _counts(dim: str | Any, grp: Any, source: Any, per: Any, *where: Any) -> Any:
    """Incidents, with footage, with an officer checked, with every camera on before force: by `grp` under
    the name `dim` (or, given a column, by `dim` and `grp`). `per` gives the incident's figures."""
    keys = ([] if isinstance(dim, str) else [dim]) + ([grp] if grp is not None else [])
    return (
        sa.select(
            (sa.literal(dim) if isinstance(dim, str) else dim).label("dim"),
            _s(grp).label("grp"),
            _f(sa.func.count()).label("a"),
            _f(sa.func.sum(per.c.has_footage)).label("b"),
            _f(sa.func.sum(sa.case((per.c.all_on.isnot(None), 1), else_=0))).label("c"),
            _f(sa.func.coalesce(sa.func.sum(per.c.all_on), 0)).label("d"),
        )
        .select_from(source)
        .where(*where)
        .group_by(*keys)
    )


def _incident_figures(
    dialect: str, est: Any, rng: tuple[Any, Any], period: tuple[Any, Any], months: list[q.Month]
) -> Any:
    """Statement 1. Rows (dim, grp, a, b, c, d):
    - total / location / planned / month / each characteristic: a incidents, b with footage, c with an
      officer checked, d with every officer's camera on before force;
    - status: a checks of that status in the period, b their summed coverage;
    - lag: grp "period" or a month, a median and b 90th percentile of the activation lag."""
    inc = _incidents_cte(est, rng, period, months)
    # Each check carries its incident's establishment and force start: read by index, no join.
    forced = AR.c.force_started_at
    checks = (
        sa.select(
            AR.c.incident_id,
            AR.c.status,
            AR.c.coverage,
            AR.c.lag_s,
            sa.case((sa.and_(forced >= period[0], forced < period[1]), 1), else_=sa.null()).label("in_period"),
            q.month_bucket(forced, months).label("month"),
        )
        .where(AR.c.establishment_id == est, forced >= rng[0], forced < rng[1])
        .cte("checks")
    )
    # NULL with no officer checked, 1 when every check is before_force, else 0.
    all_on = (
        sa.select(
            checks.c.incident_id,
            sa.func.min(sa.case((checks.c.status == ActivationStatus.before_force, 1), else_=0)).label("all_on"),
        )
        .group_by(checks.c.incident_id)
        .subquery("all_on")
    )
    # Incidents with any footage, from the links' copies of the incident's establishment and force start
    # (read by index; a lookup per incident, or a join, would read every link of every establishment).
    with_footage = sa.select(FI.c.incident_id).where(*_links_in(est, rng)).distinct().subquery("with_footage")
    per = (
        sa.select(
            inc.c.id,
            inc.c.location,
            inc.c.planned,
            inc.c.month,
            inc.c.period_at,
            sa.case((with_footage.c.incident_id.isnot(None), 1), else_=0).label("has_footage"),
            all_on.c.all_on,
        )
        .select_from(
            inc.outerjoin(with_footage, with_footage.c.incident_id == inc.c.id).outerjoin(
                all_on, all_on.c.incident_id == inc.c.id
            )
        )
        .cte("per_incident")
    )
    in_p = per.c.period_at.isnot(None)
    branches = [
        _counts("total", None, per, per, in_p),
        _counts("location", per.c.location, per, per, in_p),
        _counts("planned", sa.cast(per.c.planned, sa.Integer), per, per, in_p),
        _counts("month", per.c.month, per, per, per.c.month.isnot(None)),
    ]
    # Characteristics of the people force was used on: each incident once per value (two people of one
    # group count once); an incident with nobody recorded joins no value ("not recorded"). The period's
    # incidents join their people once, and one DISTINCT over all four characteristics' (incident, value)
    # rows does the de-duplication: a DISTINCT, a sort and a join for each characteristic took twice as long.
    # Between the lowest and highest incident id read (always true of a match): PostgreSQL reads those people
    # by index instead of hashing everyone force was ever used on (~25 ms of a year's summary on the bench).
    lo, hi = (sa.select(f(per.c.id)).scalar_subquery() for f in (sa.func.min, sa.func.max))
    known = SUBJ.c.incident_id.between(lo, hi)
    people = (
        sa.select(per.c.id, per.c.has_footage, per.c.all_on, *[SUBJ.c[a] for a, _ in CHARACTERISTICS])
        .select_from(per.outerjoin(SUBJ, sa.and_(SUBJ.c.incident_id == per.c.id, known)))
        .where(in_p)
        .cte("people")
    )
    value_rows = sa.union_all(
        *[
            sa.select(
                people.c.id,
                people.c.has_footage,
                people.c.all_on,
                sa.literal(attr).label("dim"),
                # "" and NULL both mean not recorded: one value here, or DISTINCT would keep both.
                _s(sa.func.nullif(people.c[attr], "")).label("grp"),
            )
            for attr, _ in CHARACTERISTICS
        ]
    ).subquery("value_rows")
    by_value = sa.select(value_rows).distinct().subquery("by_value")
    branches.append(_counts(by_value.c.dim, by_value.c.grp, by_value, by_value))
    branches.append(
        sa.select(
            sa.literal("status").label("dim"),
            _s(checks.c.status).label("grp"),
            _f(sa.func.count()).label("a"),
            _f(sa.func.sum(checks.c.coverage)).label("b"),
            _f(None).label("c"),
            _f(None).label("d"),
        )
        .where(checks.c.in_period.isnot(None))
        .group_by(checks.c.status)
    )
    # The period's lags and each month's as two aggregates: one aggregate over a union of both, grouped by
    # a label, sorted twice as many rows by text before each group's own sort (~40% slower).
    period_lags = sa.select(checks.c.lag_s).where(checks.c.in_period.isnot(None)).subquery("period_lags")
    month_lags = (
        sa.select(checks.c.lag_s, checks.c.month.label("g")).where(checks.c.month.isnot(None)).subquery("month_lags")
    )
    for label, stats in (
        (sa.literal("period"), q.percentiles(dialect, period_lags, "lag_s", (0.5, 0.9)).subquery("period_lag")),
        (None, q.percentiles(dialect, month_lags, "lag_s", (0.5, 0.9), group="g").subquery("month_lag")),
    ):
        branches.append(
            sa.select(
                sa.literal("lag").label("dim"),
                _s(label if label is not None else stats.c.g).label("grp"),
                _f(stats.c.p50).label("a"),
                _f(stats.c.p90).label("b"),
                _f(None).label("c"),
                _f(None).label("d"),
            )
        )
    return sa.union_all(*branches)


def _clip_figures(
    dialect: str,
    est: Any,
    rng: tuple[Any, Any],
    period: tuple[Any, Any],
    months: list[q.Month],
    overdue_before: Any,
    hidden: Any = (),
) -> Any:
    """Statement 2. Rows (dim, grp, sub, a, b): rag (grp rag, a current ratings), trend (grp month, sub rag,
    a current ratings), unack (a unacknowledged, b of which overdue), backlog (a), wait (a median hours).
    A clip is in the period when `incident_at` (its earliest period incident's force start) is not NULL."""
    # The links carry their incident's establishment and force start: a period's links come from the index
    # alone, with no join to the incidents.
    forced = FI.c.force_started_at
    in_period = sa.and_(forced >= period[0], forced < period[1])
    per_clip = (
        sa.select(
            FI.c.footage_id,
            sa.func.min(forced).label("first_at"),
            sa.func.min(sa.case((in_period, forced), else_=sa.null())).label("incident_at"),
        )
        .where(*_links_in(est, rng))
        .group_by(FI.c.footage_id)
        .cte("per_clip")
    )
    # A clip counts in the trend once, in the month of its first incident of all. One also linked to an
    # incident before the range read (months earlier, by "Link anyway") belongs before the trend: without
    # this it counted in the month of its first link read, which moved with the months asked for.
    earlier = FI.alias("earlier")
    linked_earlier = sa.exists().where(
        earlier.c.footage_id == per_clip.c.footage_id,
        earlier.c.establishment_id == est,
        earlier.c.force_started_at < rng[0],
        # Always true of a clip in `per_clip`; it lets PostgreSQL read the links from the first of those clips
        # on by index, not hash every earlier link of the establishment (12 ms against 100 on the bench).
        earlier.c.footage_id >= sa.select(sa.func.min(per_clip.c.footage_id)).scalar_subquery(),
    )
    linked = sa.select(
        per_clip.c.footage_id,
        sa.case((linked_earlier, sa.null()), else_=q.month_bucket(per_clip.c.first_at, months)).label("month"),
        per_clip.c.incident_at,
    ).cte("linked")
    # Current amber/red ratings of the period's clips with no acknowledgement: 1, else 0.
    unacked = sa.case(
        (
            sa.and_(RT.c.is_current == sa.true(), linked.c.incident_at.isnot(None), RT.c.rag.in_(NON_GREEN)),
            sa.case((sa.exists().where(ACK.c.rating_id == RT.c.id), 0), else_=1),
        ),
        else_=0,
    )
    # The clips' current ratings and their first ratings (version 1: versions count up from 1), one join.
    rated = (
        sa.select(
            RT.c.footage_id,
            RT.c.rag,
            RT.c.rated_at,
            RT.c.is_current,
            RT.c.version,
            linked.c.month,
            linked.c.incident_at,
            unacked.label("unacked"),
        )
        .select_from(RT.join(linked, linked.c.footage_id == RT.c.footage_id))
        .where(
            RT.c.is_calibration == sa.false(),
            sa.or_(RT.c.is_current == sa.true(), RT.c.version == 1),
            # Lets the database read the ratings by index from the first of these clips on, not every rating
            # of every establishment. (Not by date: a clip may be rated long before an incident it is later
            # linked to, and its rating still counts.)
            RT.c.footage_id >= sa.select(sa.func.min(linked.c.footage_id)).scalar_subquery(),
            RT.c.establishment_id == est,
            *_shown(hidden),
        )
        .cte("rated")
    )
    cur = (
        sa.select(
            sa.case((rated.c.incident_at.isnot(None), 1), else_=0).label("in_period"),
            rated.c.month,
            rated.c.rag,
            rated.c.rated_at,
            rated.c.unacked,
        )
        .where(rated.c.is_current == sa.true())
        .subquery("cur")
    )
    mix = (
        sa.select(
            cur.c.in_period,
            cur.c.month,
            cur.c.rag,
            sa.func.count().label("n"),
            sa.func.sum(cur.c.unacked).label("unacked"),
            sa.func.sum(sa.case((cur.c.rated_at < overdue_before, cur.c.unacked), else_=0)).label("overdue"),
        )
        .group_by(cur.c.in_period, cur.c.month, cur.c.rag)
        .cte("current_mix")
    )
    # Time from incident to each clip's first (non-calibration) rating, later superseded or not. A rating
    # given before the incident (the clip linked to it later, by "Link anyway") is no wait for it.
    waits = (
        sa.select((q.seconds_between(dialect, rated.c.rated_at, rated.c.incident_at) / 3600.0).label("hours"))
        .where(rated.c.version == 1, rated.c.incident_at.isnot(None), rated.c.rated_at >= rated.c.incident_at)
        .subquery("waits")
    )
    wait_median = q.percentiles(dialect, waits, "hours", (0.5,)).subquery("wait_median")
    has_current = sa.exists().where(rated.c.footage_id == linked.c.footage_id, rated.c.is_current == sa.true())
    # Looked up clip by clip (a scalar subquery, counted after the filters): only the few clips with no
    # current rating need it, where a join would make PostgreSQL read every clip of every establishment.
    clip_status = (
        sa.select(FT.c.status).where(FT.c.id == linked.c.footage_id, FT.c.purged_at.is_(None)).scalar_subquery()
    )

    def branch(dim: str, grp: Any, sub: Any, a: Any, b: Any) -> Any:
        return sa.select(
            sa.literal(dim).label("dim"), _s(grp).label("grp"), _s(sub).label("sub"), _f(a).label("a"), _f(b).label("b")
        )

    return sa.union_all(
        branch("wait", None, None, wait_median.c.p50, None),
        branch("rag", mix.c.rag, None, sa.func.sum(mix.c.n), None).where(mix.c.in_period == 1).group_by(mix.c.rag),
        branch("trend", mix.c.month, mix.c.rag, sa.func.sum(mix.c.n), None)
        .where(mix.c.month.isnot(None))
        .group_by(mix.c.month, mix.c.rag),
        branch("unack", None, None, sa.func.sum(mix.c.unacked), sa.func.sum(mix.c.overdue)),
        branch("backlog", None, None, sa.func.sum(sa.case((clip_status == FootageStatus.analysed, 1), else_=0)), None)
        .select_from(linked)
        # A hidden clip is rated (it waits for a second, blind rating): its rating is left out of `rated`,
        # but it is no backlog.
        .where(linked.c.incident_at.isnot(None), ~has_current, *_shown(hidden, linked.c.footage_id)),
    )


SUMMARY_MONTHS = 12  # the summary's month-by-month trend


@dataclass(frozen=True)
class _SummaryStatements:
    incidents: Any
    clips: Any
    flagged: Any


@lru_cache(maxsize=8)
def _summary_statements(dialect: str, hiding: bool) -> _SummaryStatements:
    """The summary's three statements, built once per dialect and for whether clips are hidden (the ratings
    of clips the viewer owes a blind second rating, as the expanding parameter "hidden");
    `_summary_params` gives their values."""
    est: Any = sa.bindparam("est", type_=sa.Integer())
    rng: Any = (sa.bindparam("rng_from"), sa.bindparam("rng_to"))
    period: Any = (sa.bindparam("period_from"), sa.bindparam("period_to"))
    hidden: Any = sa.bindparam("hidden", expanding=True) if hiding else ()
    months = _bound_months(SUMMARY_MONTHS)
    flags = flags_subquery(est, as_of=period[1], window=period, hide_footage=hidden)
    return _SummaryStatements(
        incidents=_incident_figures(dialect, est, rng, period, months),
        clips=_clip_figures(dialect, est, rng, period, months, sa.bindparam("overdue_before"), hidden),
        flagged=sa.select(STAFF.c.staff_number, STAFF.c.name, flags.c.first_at, flags.c.after_count)
        .select_from(flags.join(STAFF, STAFF.c.id == flags.c.sid))
        .where(flags.c.after_count >= FLAG_THRESHOLD, flags.c.in_window >= 1)
        .order_by(flags.c.after_count.desc(), STAFF.c.name),
    )


def _summary_params(est: int, period: Period, months: list[q.Month], overdue_before: datetime) -> dict[str, Any]:
    start, end = period.start, period.end
    # The trend's months and the period, whichever reach further.
    rng = (min(start, months[0].start), max(end, months[-1].end))
    return {
        "est": est,
        "rng_from": rng[0],
        "rng_to": rng[1],
        "period_from": start,
        "period_to": end,
        "overdue_before": overdue_before,
        **_month_params(months),
    }


def compliance_summary(
    session: Session, establishment_id: int, period: Period, *, hide_footage: Collection[int] = ()
) -> ComplianceSummary:
    """`hide_footage`: clips whose ratings are left out of every figure (those the viewer owes a blind
    second rating: comparing the summary with and without one would give its first rating away)."""
    dialect = _dialect(session)
    _tune(session, dialect)
    est = establishment_id
    settings = get_settings()
    establishment = session.get(Establishment, est)
    name = establishment.name if establishment else str(est)
    months = q.months_ending(period.last, SUMMARY_MONTHS)
    st = _summary_statements(dialect, bool(hide_footage))
    params = _summary_params(est, period, months, utcnow() - timedelta(days=settings.ack_overdue_days))
    if hide_footage:
        params["hidden"] = sorted(hide_footage)

    # 2 (started first, beside 1 where it can: on PostgreSQL on a second connection, `app.core.beside`, so the
    # statements use two cores): clips linked to the incidents: RAG mix, trend, backlog, unacknowledged, time
    # to rating.
    side_rows = beside(session, [st.clips], params, prepare=lambda conn: _tune(conn, dialect))

    # 1. Incidents and activation checks: totals, breakdowns, status mix, lag, the trend's incident columns.
    grouped: dict[str, list[Any]] = {}
    for row in session.execute(st.incidents, params):
        grouped.setdefault(row.dim, []).append(row)
    head = grouped.get("total", [None])[0]
    total = _int(head.a) if head else 0
    status_rows = grouped.get("status", [])
    activation = ActivationMix(**{r.grp: _int(r.a) for r in status_rows})
    n_checks = sum(_int(r.a) for r in status_rows)
    cov_sum = sum(float(r.b or 0) for r in status_rows)
    lag_by = {r.grp: (q.as_float(r.a), q.as_float(r.b)) for r in grouped.get("lag", [])}
    lag = lag_by.get("period", (None, None))

    rag = RagMix()
    trend_rag: dict[str, RagMix] = {}
    singles: dict[str, Any] = {}
    # 3, after 1 on the request's connection: officers flagged (ratings given before the end of the period).
    # Beside 2 rather than after it: 2 takes about as long as 1 and 3 together, so neither side waits long.
    flagged_rows = session.execute(st.flagged, params).all()
    (clip_rows,) = side_rows()
    for dim, grp, sub, a, b in clip_rows:
        if dim == "rag":
            setattr(rag, grp, _int(a))
        elif dim == "trend":
            setattr(trend_rag.setdefault(grp, RagMix()), sub, _int(a))
        else:
            singles[dim] = (a, b)

    month_rows = {r.grp: r for r in grouped.get("month", [])}
    trend = []
    for i, m in enumerate(months):
        key = _month_key(i)
        c = month_rows.get(key)
        n = _int(c.a) if c else 0
        trend.append(
            TrendMonth(
                month=m.label,
                incidents=n,
                share_with_footage=_share(_int(c.b), n) if c else None,
                share_all_on_before_force=_share(_int(c.d), _int(c.c)) if c else None,
                median_lag_s=lag_by.get(key, (None, None))[0],
                rag=trend_rag.get(key, RagMix()),
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
    unack, overdue = singles.get("unack", (0, 0))

    return ComplianceSummary(
        establishment_id=est,
        establishment_name=name,
        period_from=period.first,
        period_to=period.last,
        generated_at=utcnow(),
        incidents=total,
        incidents_with_footage=_int(head.b) if head else 0,
        share_with_footage=_share(_int(head.b), total) if head else None,
        incidents_with_officers=_int(head.c) if head else 0,
        incidents_all_on_before_force=_int(head.d) if head else 0,
        share_all_on_before_force=_share(_int(head.d), _int(head.c)) if head else None,
        officer_checks=n_checks,
        activation=activation,
        median_lag_s=lag[0],
        p90_lag_s=lag[1],
        mean_coverage=cov_sum / n_checks if n_checks else None,
        rag=rag,
        backlog=_int(singles.get("backlog", (0, None))[0]),
        median_hours_to_rating=q.as_float(singles.get("wait", (None, None))[0]),
        unacknowledged=_int(unack),
        unacknowledged_overdue=_int(overdue),
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
        for i, v in enumerate((r.a, r.b, r.c, r.d)):
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
@dataclass(frozen=True)
class _OfficerStatements:
    """The officer report's statements, built once per (dialect, months, hiding) with bind parameters:
    building them takes longer than PostgreSQL takes to run them for an officer (bench/reports.py)."""

    flag: Any
    rated: Any
    checks: Any
    history: Any


@lru_cache(maxsize=512)  # 2 dialects x 120 month counts x hiding or not; a few KB each
def _officer_statements(dialect: str, months: int, hiding: bool) -> _OfficerStatements:
    sid, est = sa.bindparam("sid", type_=sa.Integer()), sa.bindparam("est", type_=sa.Integer())
    first_at: Any = sa.bindparam("first_at")  # NULL before any guidance: every comparison with it is then false
    hidden: Any = sa.bindparam("hidden", expanding=True) if hiding else ()
    month_list = _bound_months(months)

    flags = flags_subquery(est, staff_member_id=sid, hide_footage=hidden)  # type: ignore[arg-type]
    flag = sa.select(flags.c.first_at, flags.c.after_count).where(flags.c.sid == sid)

    def after_guidance(recorded: Any) -> Any:
        return sa.case((recorded > first_at, 1), else_=0)

    # Ratings: mix by phase and month, and unacknowledged guidance, in one pass (no join: the rating
    # carries its clip's recording time).
    mine = sa.and_(RT.c.wearer_id == sid, RT.c.establishment_id == est, _current(), *_shown(hidden))

    # Acknowledgements are looked up rating by rating (a scalar subquery on the unique rating_id index): an
    # officer has a few hundred ratings, and as EXISTS or a join PostgreSQL hashes every acknowledgement of
    # every establishment instead (~85,000 rows in bench/reports.py; 10x slower).
    def acknowledgement(column: Any) -> Any:
        return sa.select(column).where(ACK.c.rating_id == RT.c.id).scalar_subquery()

    unacked = sa.case((RT.c.rag.in_(NON_GREEN), sa.case((acknowledgement(ACK.c.id).is_(None), 1), else_=0)), else_=0)
    rated_rows = (
        sa.select(
            RT.c.rag,
            after_guidance(RT.c.recorded_at).label("after"),
            q.month_bucket(RT.c.recorded_at, month_list).label("month"),
            unacked.label("unacked"),
        )
        .where(mine)
        .subquery("rated")
    )
    rated = sa.select(
        rated_rows.c.after,
        rated_rows.c.month,
        *(sa.func.count().filter(rated_rows.c.rag == rag) for rag in RAG_ORDER),
        sa.func.sum(rated_rows.c.unacked),
    ).group_by(rated_rows.c.after, rated_rows.c.month)

    # Activation checks: counts by status, phase and month, and the lag medians (overall, by phase, by
    # month), one statement. The check carries its incident's force start.
    check_rows = (
        sa.select(
            AR.c.status,
            AR.c.lag_s,
            after_guidance(AR.c.force_started_at).label("after"),
            q.month_bucket(AR.c.force_started_at, month_list).label("month"),
        )
        .where(AR.c.staff_member_id == sid)
        .cte("checks")
    )
    lags = sa.union_all(
        sa.select(check_rows.c.lag_s, sa.literal("all").label("g")),
        sa.select(check_rows.c.lag_s, _s(check_rows.c.after).label("g")),
        sa.select(check_rows.c.lag_s, check_rows.c.month.label("g")).where(check_rows.c.month.isnot(None)),
    ).subquery("lags")
    medians = q.percentiles(dialect, lags, "lag_s", (0.5,), group="g").subquery("medians")
    checks = sa.union_all(
        sa.select(
            sa.literal("checks").label("dim"),
            _s(check_rows.c.status),
            _s(check_rows.c.after),
            _s(check_rows.c.month),
            _f(sa.func.count()),
        ).group_by(check_rows.c.status, check_rows.c.after, check_rows.c.month),
        sa.select(sa.literal("lag"), _s(None), _s(None), _s(medians.c.g), _f(medians.c.p50)),
    )

    history = (
        sa.select(
            RT.c.footage_id,
            RT.c.recorded_at,
            RT.c.rag,
            RT.c.rated_at,
            RT.c.version,
            RT.c.guidance,
            acknowledgement(ACK.c.acknowledged_at),
            acknowledgement(ACK.c.reply),
        )
        .where(mine)
        .order_by(RT.c.recorded_at.desc())
        .limit(200)
    )
    return _OfficerStatements(flag=flag, rated=rated, checks=checks, history=history)


def officer_report(
    session: Session,
    officer: StaffMember,
    *,
    months: int = 24,
    today: date | None = None,
    hide_footage: Collection[int] = (),
) -> OfficerReport:
    """One officer's improvement report. `hide_footage`: clips whose ratings are left out of every figure
    (those the viewer owes a blind second rating: `app.rating.service.blind_footage_ids`)."""
    dialect = _dialect(session)
    _tune(session, dialect)
    est = officer.establishment_id
    today = today or utcnow().astimezone(q.tz()).date()
    month_list = q.months_ending(today, months)
    st = _officer_statements(dialect, months, bool(hide_footage))
    params: dict[str, Any] = {"sid": officer.id, "est": est, **_month_params(month_list)}
    if hide_footage:
        params["hidden"] = sorted(hide_footage)

    flag = session.execute(st.flag, params).first()
    first_at: datetime | None = flag[0] if flag else None
    after_count = int(flag[1]) if flag else 0
    params["first_at"] = first_at

    # Plain counters while reading, one validation of the finished report at the end: building the models
    # row by row took longer than PostgreSQL took to run the statements (bench/reports.py).
    by_phase = ([0, 0, 0], [0, 0, 0])  # green, amber, red; before and after the first guidance
    by_month: dict[str, list[int]] = {}
    unack = 0
    for after, month, *counts, n_unacked in session.execute(st.rated, params).all():
        _add(by_phase[int(after)], counts)
        unack += _int(n_unacked)
        if month is not None:
            _add(by_month.setdefault(month, [0, 0, 0]), counts)
    total = [b + a for b, a in zip(*by_phase, strict=True)]

    activation = dict.fromkeys(ACTIVATION_STATUSES, 0)
    phase_checks = [0, 0]
    month_checks: dict[str, int] = {}
    median_lag: dict[str, float | None] = {}
    for dim, status, after, month, value in session.execute(st.checks, params).all():
        if dim == "lag":
            median_lag[month] = q.as_float(value)
            continue
        n = _int(value)
        activation[status] += n
        phase_checks[int(after)] += n
        if month is not None:
            month_checks[month] = month_checks.get(month, 0) + n

    history = [
        {
            "footage_id": footage_id,
            "recorded_at": recorded_at,
            "rag": _name(rag),
            "rated_at": rated_at,
            "version": version,
            "guidance": guidance or "",
            "acknowledged_at": acknowledged_at,
            "reply": reply or "",
            "after_guidance": first_at is not None and recorded_at > first_at,
        }
        for footage_id, recorded_at, rag, rated_at, version, guidance, acknowledged_at, reply in session.execute(
            st.history, params
        ).all()
    ]

    def phase(i: int) -> dict[str, Any]:
        mix = by_phase[i]
        return {
            "ratings": sum(mix),
            "share_green": _green_share(mix),
            "median_lag_s": median_lag.get(str(i)),
            "checks": phase_checks[i],
        }

    months_out = []
    for i, m in enumerate(month_list):
        mix = by_month.get(_month_key(i), [0, 0, 0])
        months_out.append(
            {
                "month": m.label,
                "rag": _mix(mix),
                "share_green": _green_share(mix),
                "median_lag_s": median_lag.get(_month_key(i)),
                "checks": month_checks.get(_month_key(i), 0),
            }
        )
    return OfficerReport.model_validate(
        {
            "staff_number": officer.staff_number,
            "name": officer.name,
            "establishment_id": est,
            "generated_at": utcnow(),
            "ratings": _mix(total),
            "share_green": _green_share(total),
            "activation": activation,
            "median_lag_s": median_lag.get("all"),
            "first_guidance_at": first_at,
            "before": phase(0),
            "after": phase(1),
            "non_green_after_guidance": after_count,
            "flagged": after_count >= FLAG_THRESHOLD,
            "unacknowledged": unack,
            "months": months_out,
            "history": history,
        }
    )


RAG_ORDER = (Rag.green, Rag.amber, Rag.red)
ACTIVATION_STATUSES = tuple(ActivationMix.model_fields)


def _add(acc: list[int], counts: Sequence[Any]) -> None:
    for i, n in enumerate(counts):
        acc[i] += _int(n)


def _mix(counts: Sequence[int]) -> dict[str, int]:
    return {"green": counts[0], "amber": counts[1], "red": counts[2]}


def _green_share(counts: Sequence[int]) -> float | None:
    n = sum(counts)
    return counts[0] / n if n else None


# ---------------------------------------------------------------- establishment view of every officer
def officers_overview(
    session: Session, establishment_id: int, *, today: date | None = None, hide_footage: Collection[int] = ()
) -> list[OfficerOverviewRow]:
    """Every officer of the establishment with their trend and flags. `hide_footage`: as for `officer_report`
    (the overview and an officer's report must not differ by a rating the viewer may not see yet)."""
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
        sa.select(RT.c.wearer_id, RT.c.rag, q.month_bucket(RT.c.recorded_at, months).label("month"))
        .where(RT.c.establishment_id == est, _current(), RT.c.wearer_id.isnot(None), *_shown(hide_footage))
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
    flags = flags_subquery(est, hide_footage=hide_footage)
    flag_rows = {r[0]: (r[1], int(r[2])) for r in session.execute(sa.select(flags))}
    unack = dict(
        session.execute(
            sa.select(RT.c.wearer_id, sa.func.count())
            .where(
                RT.c.establishment_id == est,
                _current(),
                RT.c.rag.in_(NON_GREEN),
                ~sa.exists().where(ACK.c.rating_id == RT.c.id),
                *_shown(hide_footage),
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
