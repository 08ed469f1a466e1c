"""Column types shared by every domain."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator
from sqlalchemy.engine import Dialect

# How far ahead of our clock a time that has happened may be (a camera's or a PC's clock running fast).
CLOCK_SKEW = timedelta(minutes=5)
YEARS = (1900, 2999)  # as `app.core.localtime.parse_day`: a typing slip outside these, not a real time


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out; a naive datetime is a bug and is refused.

    PostgreSQL stores `timestamptz`; SQLite stores the UTC wall time as text.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime: timestamps must carry a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def instant_problem(value: datetime) -> str | None:
    """Why a time sent to the service cannot be an instant of these times (None if it can): it has no offset
    from UTC (a time without a zone could be an hour out in summer), or its year is out of range (years 1
    and 9999 do not survive conversion to UTC)."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "must include a time zone offset, e.g. 2026-11-03T14:02:00+00:00"
    if not YEARS[0] <= value.year <= YEARS[1]:  # then its conversion to UTC cannot overflow
        return f"must be a time between the years {YEARS[0]} and {YEARS[1]}"
    return None


def _instant(value: datetime) -> datetime:
    if problem := instant_problem(value):
        raise ValueError(problem)
    return value


# A date and time in a query string or a body: with its offset, in range (else a 422, never a 500).
Instant = Annotated[datetime, AfterValidator(_instant)]
