"""Times read off a UK clock around the clock changes (`app.core.localtime`) and how pages show them."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from app.core import localtime
from app.core.templates import london, london_input

UK = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("wall", "utc"),
    [
        (datetime(2026, 7, 1, 14, 2, 30), datetime(2026, 7, 1, 13, 2, 30)),  # BST
        (datetime(2026, 12, 1, 14, 2, 30), datetime(2026, 12, 1, 14, 2, 30)),  # GMT
        (datetime(2026, 3, 29, 0, 59, 59), datetime(2026, 3, 29, 0, 59, 59)),  # just before the clocks go forward
        (datetime(2026, 3, 29, 2, 0), datetime(2026, 3, 29, 1, 0)),  # just after
        (datetime(2025, 10, 26, 0, 59, 59), datetime(2025, 10, 25, 23, 59, 59)),  # before the repeated hour
        (datetime(2025, 10, 26, 2, 0), datetime(2025, 10, 26, 2, 0)),  # after it
    ],
)
def test_ordinary_times_need_no_choice(wall: datetime, utc: datetime) -> None:
    assert localtime.repeated(wall, UK) is None
    assert localtime.to_instant(wall, UK) == utc.replace(tzinfo=UTC)


@pytest.mark.parametrize("minute", [0, 30, 59])
def test_a_time_in_the_hour_the_clocks_skip_is_refused(minute: int) -> None:
    wall = datetime(2026, 3, 29, 1, minute)
    assert localtime.repeated(wall, UK) is None
    with pytest.raises(localtime.LocalTimeProblem) as exc:
        localtime.to_instant(wall, UK, fold=0, what="force began")
    assert str(exc.value) == (
        f"There was no 01:{minute:02d} on 29 March 2026 in UK time: the clocks went forward an hour that night. "
        "Check when force began"
    )


def test_a_time_the_clocks_showed_twice_needs_saying_which() -> None:
    wall = datetime(2025, 10, 26, 1, 30, 15)
    twice = localtime.repeated(wall, UK)
    assert twice is not None and twice.names == ("BST", "GMT")
    with pytest.raises(localtime.LocalTimeProblem) as exc:
        localtime.to_instant(wall, UK, what="force began")
    assert exc.value.repeated == twice
    assert str(exc.value) == (
        "01:30 on 26 October 2025 happened twice in UK time: the clocks went back an hour that night. "
        "Say whether force began at the first 01:30 (BST) or the second (GMT)"
    )
    assert localtime.to_instant(wall, UK, fold=0) == datetime(2025, 10, 26, 0, 30, 15, tzinfo=UTC)
    assert localtime.to_instant(wall, UK, fold=1) == datetime(2025, 10, 26, 1, 30, 15, tzinfo=UTC)


def test_another_zone_is_named_by_its_key() -> None:
    ny = ZoneInfo("America/New_York")
    with pytest.raises(localtime.LocalTimeProblem, match="in America/New_York time"):
        localtime.to_instant(datetime(2026, 3, 8, 2, 30), ny)


def test_pages_name_the_zone_only_in_the_repeated_hour() -> None:
    first, second = datetime(2025, 10, 26, 0, 30, tzinfo=UTC), datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert london(first) == "26 Oct 2025 01:30 BST" and london(second) == "26 Oct 2025 01:30 GMT"
    assert london(first, "%H:%M:%S") == "01:30:00 BST"
    assert london(first, "%-d %b %Y") == "26 Oct 2025"  # a day has no hour to tell apart
    assert london(datetime(2025, 10, 26, 2, 0, tzinfo=UTC)) == "26 Oct 2025 02:00"
    assert london(datetime(2026, 7, 1, 13, 0, tzinfo=UTC)) == "1 Jul 2026 14:00"
    assert london_input(first) == london_input(second) == "2025-10-26T01:30"  # an input's value never has it


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("3/11/2026", date(2026, 11, 3)),  # what the MoJ date picker writes
        ("03/11/2026", date(2026, 11, 3)),
        (" 31/12/2026 ", date(2026, 12, 31)),
        ("2026-11-03", date(2026, 11, 3)),  # links and the API
        ("29/2/2028", date(2028, 2, 29)),
        ("3-11-2026", date(2026, 11, 3)),  # what the date picker's calendar also takes: still day first
        ("3.11.2026", date(2026, 11, 3)),
    ],
)
def test_days_are_read_day_first_or_iso(text: str, day: date) -> None:
    assert localtime.parse_day(text) == day
    assert localtime.parse_day(localtime.day_text(day)) == day


@pytest.mark.parametrize(
    "text",
    ["11/31/2026", "12/13/2026", "29/2/2026", "3/11/26", "2026-11-3", "3/11-2026", "3 11 2026", "", "x", "31/12/9999"],
)
def test_days_that_are_not_real_or_not_day_first_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        localtime.parse_day(text)


@pytest.mark.parametrize(
    ("text", "hms"), [("14:02", (14, 2, 0)), ("14:02:30", (14, 2, 30)), ("9.05", (9, 5, 0)), ("00:00:00", (0, 0, 0))]
)
def test_clock_times_are_24_hour(text: str, hms: tuple[int, int, int]) -> None:
    assert localtime.parse_clock(text) == hms


@pytest.mark.parametrize("text", ["24:00", "12:60", "12:30:60", "2pm", "1430", ""])
def test_clock_times_that_are_not_real_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        localtime.parse_clock(text)
