"""Times people type as they read them off a clock, around the clock changes.

In the UK the clocks go forward an hour at 01:00 on the last Sunday of March (01:00 to 01:59 never happens)
and back at 02:00 BST on the last Sunday of October (01:00 to 01:59 happens twice, first in BST, then in GMT).
A prison's night shift can use force in either hour. Read naively, a time in the gap becomes a real instant an
hour off, and a time in the repeated hour silently becomes the first of the two: either way a camera switched
on in time could be judged an hour late. So a time that never happened is refused, and a time that happened
twice needs the person to say which (`fold`: 0 the first, 1 the second, as in `datetime.fold`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_DMY = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$")  # one separator throughout: 3/11/2026, 3-11-2026, 3.11.2026
_ISO_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_HMS = re.compile(r"^(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?$")


def parse_day(text: str) -> date:
    """A day as people type it in the UK, D/M/YYYY (what the MoJ date picker writes: 3/11/2026; its calendar
    also takes 3-11-2026 and 3.11.2026, and so does this), or as YYYY-MM-DD (links, the API). A year first
    means ISO, a day first means day-month-year; never M/D. A day that is not real raises ValueError."""
    text = text.strip()
    if m := _DMY.match(text):
        d, mo, y = int(m.group(1)), int(m.group(3)), int(m.group(4))
    elif m := _ISO_DAY.match(text):
        y, mo, d = (int(x) for x in m.groups())
    else:
        raise ValueError(f"not a date: {text[:20]!r}")
    if not 1900 <= y <= 2999:  # a typing slip, and room for "the day after" (31/12/9999 + 1 would not exist)
        raise ValueError(f"not a date of these times: {text[:20]!r}")
    return date(y, mo, d)


def day_range(
    first: str, last: str, tz: ZoneInfo, called: tuple[str, str] = ("The start date", "The end date")
) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """A list filter's two optional days, both included: from the first's midnight to the midnight after the
    last, in `tz` (an empty box leaves that end open), and what is wrong with them, keyed "from" and "to"."""
    days: dict[str, date | None] = {"from": None, "to": None}
    errors: dict[str, str] = {}
    for key, text, name in (("from", first, called[0]), ("to", last, called[1])):
        if text.strip():
            try:
                days[key] = parse_day(text)
            except ValueError:
                errors[key] = f"{name} must be a real date, for example 3/11/2026"
    start, end = days["from"], days["to"]
    if start and end and start > end:
        errors["from"] = f"{called[0]} must be on or before {called[1][0].lower()}{called[1][1:]}"
    since = datetime.combine(start, time.min, tzinfo=tz) if start else None
    until = datetime.combine(end + timedelta(days=1), time.min, tzinfo=tz) if end else None
    return since, until, errors


def day_text(value: date | None) -> str:
    """A day as the date picker shows it: 3/11/2026."""
    return f"{value.day}/{value.month}/{value.year}" if value else ""


def month_title(label: str, fmt: str = "%b %Y") -> str:
    """A month as people read it: "2026-11" -> "Nov 2026" (`fmt="%b %y"`: "Nov 26", where room is short).
    The CSV and JSON keep "2026-11", which sorts and parses."""
    return datetime.strptime(label, "%Y-%m").strftime(fmt)


def parse_clock(text: str) -> tuple[int, int, int]:
    """A 24-hour clock time, HH:MM or HH:MM:SS (a dot for the colon is fine): (hour, minute, second)."""
    m = _HMS.match(text.strip())
    if not m:
        raise ValueError(f"not a time: {text[:20]!r}")
    h, mi, sec = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if not (h < 24 and mi < 60 and sec < 60):
        raise ValueError(f"not a time: {text[:20]!r}")
    return h, mi, sec


def place_name(tz: ZoneInfo) -> str:
    """How a form names the zone: "UK time" for Europe/London, else the zone's own name."""
    return "UK" if tz.key == "Europe/London" else tz.key


def _day(naive: datetime) -> str:
    return f"{naive.day} {naive:%B %Y}"


@dataclass(frozen=True)
class Repeated:
    """A wall time that happened twice: `first` and `second` are the two instants, with their zones' names."""

    naive: datetime
    first: datetime
    second: datetime

    @property
    def names(self) -> tuple[str, str]:
        return (self.first.tzname() or "", self.second.tzname() or "")

    def message(self, what: str, tz: ZoneInfo) -> str:
        a, b = self.names
        return (
            f"{self.naive:%H:%M} on {_day(self.naive)} happened twice in {place_name(tz)} time: the clocks went back "
            f"an hour that night. Say whether {what} at the first {self.naive:%H:%M} ({a}) or the second ({b})"
        )


class LocalTimeProblem(ValueError):
    """The wall time never happened, or happened twice and `fold` did not say which."""

    def __init__(self, message: str, repeated: Repeated | None = None) -> None:
        super().__init__(message)
        self.repeated = repeated


def repeated(naive: datetime, tz: ZoneInfo) -> Repeated | None:
    """The two instants if `naive` happened twice on the clocks of `tz`, else None."""
    first, second = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset() or not _exists(naive, tz):
        return None
    return Repeated(naive, first, second)


def _exists(naive: datetime, tz: ZoneInfo) -> bool:
    """Whether the clocks of `tz` ever showed `naive` (not in the hour skipped when they go forward)."""
    aware = naive.replace(tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == naive


def to_instant(naive: datetime, tz: ZoneInfo, fold: int | None = None, what: str = "it happened") -> datetime:
    """The instant (in UTC) a clock in `tz` showed `naive`. Raises `LocalTimeProblem` for a time in the skipped hour,
    and for one in the repeated hour unless `fold` (0 or 1) says which of the two. `what` says in messages what
    happened then ("force began")."""
    if not _exists(naive, tz):
        raise LocalTimeProblem(
            f"There was no {naive:%H:%M} on {_day(naive)} in {place_name(tz)} time: the clocks went forward an hour "
            f"that night. Check when {what}"
        )
    twice = repeated(naive, tz)
    if twice is not None:
        if fold not in (0, 1):
            raise LocalTimeProblem(twice.message(what, tz), twice)
        chosen = twice.second if fold == 1 else twice.first
    else:
        chosen = naive.replace(tzinfo=tz)
    # In UTC: Python never finds a time in the repeated hour equal to one in another zone (PEP 495).
    return chosen.astimezone(UTC)


def is_repeated_hour(value: datetime, tz: ZoneInfo) -> bool:
    """Whether an instant falls in an hour the clocks of `tz` showed twice (shown with its zone's name)."""
    local = value.astimezone(tz)
    return local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset()
