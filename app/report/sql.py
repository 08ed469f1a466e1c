"""Portable SQL building blocks for the reports: time differences, percentiles and London month buckets.

Everything is computed by the database. PostgreSQL uses its ordered-set aggregate ``percentile_cont``;
SQLite (no such aggregate) gets the same linear interpolation from window functions
(``row_number()`` and ``count()`` over the ordered values), so both give identical answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.sql import ColumnElement, Select

from app.core import localtime
from app.core.config import get_settings


def tz() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def london_midnight(d: date) -> datetime:
    """The UTC instant at which a London calendar day begins (GMT or BST as the date requires)."""
    return datetime(d.year, d.month, d.day, tzinfo=tz()).astimezone(UTC)


def month_start(d: date) -> date:
    return d.replace(day=1)


def add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, 1)


@dataclass(frozen=True)
class Month:
    label: str  # "2026-10"
    start: datetime  # UTC instant of London midnight on the 1st
    end: datetime  # exclusive

    @property
    def title(self) -> str:
        return localtime.month_title(self.label)


def months_ending(last: date, count: int) -> list[Month]:
    """`count` London calendar months ending with the month that contains `last`, oldest first."""
    first = add_months(month_start(last), -(count - 1))
    out = []
    for i in range(count):
        m = add_months(first, i)
        out.append(Month(m.strftime("%Y-%m"), london_midnight(m), london_midnight(add_months(m, 1))))
    return out


def month_bucket(column: Any, months: Sequence[Month]) -> ColumnElement[Any]:
    """A CASE expression naming the month a timestamp falls in (NULL outside the months given).

    Compare with the column's own type so the UTC conversion of each dialect applies. Use it inside a
    subquery and group by the subquery's column: PostgreSQL will not match a GROUP BY expression that
    repeats bind parameters.

    The months are consecutive, so after ruling out what is before the first, each month is the first whose
    end is after the timestamp: one comparison a month instead of two, for the database and for building the
    expression (which the officer report does twice a request).
    """
    if not months:
        return sa.null()
    whens: list[tuple[Any, Any]] = [(column < months[0].start, sa.null())]
    # A label may already be an SQL expression (the officer report builds its statements once).
    whens += [
        (column < m.end, m.label if isinstance(m.label, sa.ColumnElement) else sa.literal(m.label)) for m in months
    ]
    return sa.case(*whens, else_=sa.null())


def seconds_between(dialect: str, later: Any, earlier: Any) -> ColumnElement[Any]:
    """Seconds from `earlier` to `later`, as a float (for medians of waits: no exact microseconds needed)."""
    if dialect == "postgresql":
        # date_part, not EXTRACT: since PostgreSQL 14 EXTRACT gives numeric, several times slower on a year's
        # clips (bench/reports.py); date_part still gives double precision.
        return sa.func.date_part("epoch", later - earlier, type_=sa.Float)
    return (sa.func.julianday(later) - sa.func.julianday(earlier)) * 86400.0


def percentiles(dialect: str, source: Any, value: str, ps: Sequence[float], group: str | None = None) -> Select[Any]:
    """A SELECT of [group,] p... over ``source.c[value]`` (NULLs ignored), like PostgreSQL's
    percentile_cont: linear interpolation between the closest ranks.

    On PostgreSQL an ordered-set aggregate; elsewhere ranks by window functions and interpolates."""
    v = source.c[value]
    g = source.c[group] if group else None
    if dialect == "postgresql":
        cols: list[Any] = [g] if g is not None else []
        cols += [sa.func.percentile_cont(p).within_group(v).label(f"p{int(round(p * 100))}") for p in ps]
        stmt = sa.select(*cols).select_from(source).where(v.isnot(None))
        return stmt.group_by(g) if g is not None else stmt
    part = [g] if g is not None else []
    ranked = (
        sa.select(
            *([g.label("g")] if g is not None else []),
            v.label("v"),
            (sa.func.row_number().over(partition_by=part or None, order_by=v) - 1).label("rn"),
            sa.func.count().over(partition_by=part or None).label("n"),
        )
        .select_from(source)
        .where(v.isnot(None))
        .subquery()
    )
    cols = [ranked.c.g.label(group)] if g is not None else []
    for p in ps:
        k = sa.literal(p) * (ranked.c.n - 1)
        lo = sa.cast(k, sa.Integer)
        frac = k - lo
        cols.append(
            sa.func.sum(
                sa.case(
                    (ranked.c.rn == lo, ranked.c.v * (1 - frac)),
                    (ranked.c.rn == lo + 1, ranked.c.v * frac),
                    else_=0.0,
                )
            ).label(f"p{int(round(p * 100))}")
        )
    stmt = sa.select(*cols).select_from(ranked)
    return stmt.group_by(ranked.c.g) if g is not None else stmt


def as_float(x: Any) -> float | None:
    return None if x is None else float(x)


def parse_day(text: str) -> date:
    """D/M/YYYY (the pages' date picker) or YYYY-MM-DD (links, the API)."""
    return localtime.parse_day(text)


def last_calendar_month(today: date) -> tuple[date, date]:
    first_this = month_start(today)
    first_prev = add_months(first_this, -1)
    return first_prev, first_this - timedelta(days=1)
