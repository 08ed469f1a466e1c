"""Review-queue filters by date and officer, through the page (/review: parsing, then service.build_queue).

Dates are days in London time, inclusive at both ends. The incidents sit on the bounds in British Summer Time,
where the London day starts at 23:00 UTC the day before: a filter comparing UTC dates, or treating `date_to`
as exclusive, or dropping a bound, puts a clip on the wrong side and fails here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import browser_sign_in

SECOND = timedelta(seconds=1)
# London midnight at the start of 10 July 2026 (BST) is 9 July 23:00 UTC; of 12 July, 11 July 23:00 UTC.
MIDNIGHT_10 = datetime(2026, 7, 9, 23, 0, tzinfo=UTC)
MIDNIGHT_12 = datetime(2026, 7, 11, 23, 0, tzinfo=UTC)


@pytest.fixture
def web(client, world):  # type: ignore[no-untyped-def]
    browser_sign_in(client, "coordinator.a")
    return client


@pytest.fixture
def bounds(make_incident, make_clip):  # type: ignore[no-untyped-def]
    """Four incidents whose force began just either side of the London days 10-11 July, each with a clip from
    officer a1 and officer a2 involved (a2 with a clip on two of them only); and a clip linked to nothing."""

    def incident(force_at: datetime, *, a2_clip: bool):  # type: ignore[no-untyped-def]
        inc = make_incident(at=force_at - timedelta(seconds=60), staff=("a1", "a2"))  # force = at + 60 s
        assert inc.force_started_at == force_at
        clips = {"a1": make_clip(inc, "a1").id}
        if a2_clip:
            clips["a2"] = make_clip(inc, "a2").id
        return inc, clips

    return {
        # 9 July 23:59:59 London (UTC date 9 July)
        "before": incident(MIDNIGHT_10 - SECOND, a2_clip=True),
        # 10 July 00:00:00 London exactly (UTC date still 9 July)
        "first": incident(MIDNIGHT_10, a2_clip=False),
        # 11 July 23:59:59 London (UTC date 11 July)
        "last": incident(MIDNIGHT_12 - SECOND, a2_clip=True),
        # 12 July 00:00:00 London exactly (UTC date 11 July)
        "after": incident(MIDNIGHT_12, a2_clip=False),
        "unlinked": (None, {"a1": make_clip(None, "a1").id}),
    }


def _shown(web, query: str) -> tuple[set[int], set[str], set[str]]:  # type: ignore[no-untyped-def]
    """(clip ids listed, incident references listed, staff numbers listed as "No footage") on /review?query."""
    page = web.get(f"/review?status=all&{query}")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    clips = {int(i) for i in re.findall(r'data-bwv-queue-row="(\d+)"', html)}
    refs = set(re.findall(r'id="inc-\d+">\s*<a class="govuk-link" href="/incidents/\d+">([^<]+)</a>', html))
    missing = set(
        re.findall(
            r'bwv-queue__missing">\s*<td class="govuk-table__cell">[^<]*<br><span class="bwv-meta">([^<]+)<', html
        )
    )
    return clips, refs, missing


def _clips(bounds, *names: str, officer: str | None = None) -> set[int]:  # type: ignore[no-untyped-def]
    return {cid for n in names for who, cid in bounds[n][1].items() if officer in (None, who)}


def _refs(bounds, *names: str) -> set[str]:  # type: ignore[no-untyped-def]
    return {bounds[n][0].reference for n in names}


def test_without_filters_everything_is_listed(web, bounds) -> None:  # type: ignore[no-untyped-def]
    clips, refs, missing = _shown(web, "")
    assert clips == _clips(bounds, "before", "first", "last", "after", "unlinked")
    assert refs == _refs(bounds, "before", "first", "last", "after")
    assert missing == {"A002"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("date_from=2026-07-10&date_to=2026-07-11", ("first", "last")),
        ("date_from=2026-07-10", ("first", "last", "after")),
        ("date_to=2026-07-11", ("before", "first", "last")),
        ("date_from=2026-07-10&date_to=2026-07-10", ("first",)),  # one day
        ("date_from=2026-07-12&date_to=2026-07-12", ("after",)),
        ("date_from=2026-07-09&date_to=2026-07-09", ("before",)),
        ("date_from=2026-07-11&date_to=2026-07-10", ()),  # the wrong way round: nothing, not everything
        ("date_from=10/7/2026&date_to=11/07/2026", ("first", "last")),  # as the date picker writes them: D/M/YYYY
    ],
)
def test_date_filter_uses_whole_london_days(web, bounds, query, expected) -> None:  # type: ignore[no-untyped-def]
    clips, refs, _ = _shown(web, query)
    # A clip linked to no incident has no incident date: a date filter leaves it out.
    assert clips == _clips(bounds, *expected), query
    reversed_range = "Incidents to must be the same as or after incidents from"
    explained = reversed_range in web.get(f"/review?status=all&{query}").text
    assert explained is query.startswith("date_from=2026-07-11&")
    assert refs == _refs(bounds, *expected), query


def test_officer_filter_shows_that_officer_only(web, bounds, world) -> None:  # type: ignore[no-untyped-def]
    everything = ("before", "first", "last", "after", "unlinked")
    clips, refs, missing = _shown(web, f"officer={world.staff['a1']}")
    assert clips == _clips(bounds, *everything, officer="a1")
    assert missing == set(), "a2's missing footage is not a1's"
    assert refs == _refs(bounds, "before", "first", "last", "after")

    clips, refs, missing = _shown(web, f"officer={world.staff['a2']}")
    assert clips == _clips(bounds, *everything, officer="a2")
    assert clips and not clips & _clips(bounds, *everything, officer="a1")
    # a2 was involved in "first" and "after" with no clip: those incidents are listed for them, as missing.
    assert missing == {"A002"}
    assert refs == _refs(bounds, "before", "first", "last", "after")


def test_officer_and_dates_together(web, bounds, world) -> None:  # type: ignore[no-untyped-def]
    a2 = world.staff["a2"]
    clips, refs, missing = _shown(web, f"officer={a2}&date_from=2026-07-10&date_to=2026-07-11")
    assert clips == _clips(bounds, "last", officer="a2")
    assert refs == _refs(bounds, "first", "last")  # "first": a2 involved, no clip
    assert missing == {"A002"}
    clips, refs, _ = _shown(web, f"officer={world.staff['a1']}&date_from=2026-07-12")
    assert clips == _clips(bounds, "after", officer="a1") and refs == _refs(bounds, "after")


def test_another_establishments_officer_shows_nothing(web, bounds, world) -> None:  # type: ignore[no-untyped-def]
    page = web.get("/review?status=all")
    assert f'value="{world.staff["b1"]}"' not in page.text, "the officer list is this establishment's"
    clips, refs, missing = _shown(web, f"officer={world.staff['b1']}")
    assert (clips, refs, missing) == (set(), set(), set())


@pytest.mark.parametrize(
    "query",
    ["date_from=2026-02-30", "date_to=yesterday", "date_from=7/13/2026", "date_to=10/7/26", "officer=abc", "officer=²"],
)
def test_a_bad_filter_is_explained_and_ignored(web, bounds, query) -> None:  # type: ignore[no-untyped-def]
    page = web.get(f"/review?status=all&{query}")
    assert page.status_code == 200
    assert "govuk-error-summary" in page.text
    assert re.search(r"Enter a real date|Choose an officer from the list", page.text)
    clips, _, _ = _shown(web, query)
    assert clips == _clips(bounds, "before", "first", "last", "after", "unlinked")


def test_an_empty_list_says_why(web) -> None:  # type: ignore[no-untyped-def]
    """'Every clip in the sample has been rated' only when nothing narrows the list (a walk-through found it under
    a date filter that matched nothing, with 14 clips waiting)."""
    narrowed = web.get("/review?date_from=2020-01-01&date_to=2020-01-02").text
    assert "Nothing matches these filters." in narrowed and "Every clip in the sample has been rated" not in narrowed
    assert "Sample to review" in narrowed and "Sample reviewed" not in narrowed
