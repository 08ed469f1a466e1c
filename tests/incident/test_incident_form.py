"""The browser form that records an incident (`/incidents/new`), as a coordinator uses it.

Times typed in UK local time are stored in UTC (summer and winter); each officer's part and the cameras named on
the report are kept; every problem is shown at once, next to its field and in the GOV.UK error summary, with what
was typed kept; an unknown officer or camera stores nothing; the form needs the session's CSRF token. SQLite and
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.db import unit_of_work
from app.core.types import utcnow
from app.footage.service import NewFootage, register_footage
from app.incident.models import Incident, IncidentCamera, IncidentStaff, IncidentSubject
from app.staff.models import StaffMember
from tests.support import browser_sign_in


@pytest.fixture
def browser(client, world):  # type: ignore[no-untyped-def]
    """A coordinator of HMP Alpha signed in through the form, and their CSRF token."""
    return client, browser_sign_in(client, "coordinator.a")


def form(csrf: str, day: str = "2026-07-01", **over: Any) -> dict[str, Any]:
    """A complete, valid entry: force began 14:02:30 local time on `day`."""
    data: dict[str, Any] = {
        "csrf_token": csrf,
        "reference": "UOF-2026-0301",
        "location": "B wing, landing 2",
        "incident_started_at": f"{day}T14:00",
        "force_started_at": f"{day}T14:02:30",
        "force_ended_at": f"{day}T14:05",
        "incident_ended_at": f"{day}T14:20",
        "planned": "spontaneous",
        "force_types": ["guiding_hold", "handcuffs"],
        "officer_rows": "4",
        "officer-1-staff_number": "A001",
        "officer-1-part": "head",
        "officer-2-staff_number": "A002",
        "officer-2-part": "left arm",
        "officer-3-staff_number": "",
        "officer-3-part": "",
        "officer-4-staff_number": "",
        "officer-4-part": "",
        "cameras": "CAM-A1",
        "subject_reference": "A1234BC",
        "subject_age_band": "21-24",
        "description": "Refused to return to cell; guided back by two officers.",
    }
    data.update(over)
    return _split_times(data)


TIMES = ("incident_started_at", "force_started_at", "force_ended_at", "incident_ended_at")


def _split_times(data: dict[str, Any]) -> dict[str, Any]:
    """The form has a day (D/M/YYYY, as the date picker writes it) and a clock time for each time: tests
    write "YYYY-MM-DDTHH:MM[:SS]" for short."""
    for name in TIMES:
        if name in data:
            day, clock = data.pop(name).split("T")
            y, m, d = day.split("-")
            data[f"{name}_date"], data[f"{name}_time"] = f"{int(d)}/{int(m)}/{y}", clock
    return data


def _incidents(session) -> list[Incident]:
    return list(session.exec(select(Incident)).all())


def _nothing_stored(session) -> None:
    assert _incidents(session) == []
    assert session.exec(select(IncidentStaff)).all() == []
    assert session.exec(select(IncidentCamera)).all() == []
    assert session.exec(select(IncidentSubject)).all() == []
    assert "incident_create" not in session.exec(select(AuditEvent.action)).all()


def _summary_links(html: str) -> list[tuple[str, str]]:
    summary = html.split('class="govuk-error-summary"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)


@pytest.mark.parametrize(
    ("day", "utc_hour", "season"),
    [("2026-07-01", 13, "BST, UTC+1"), ("2025-12-01", 14, "GMT, UTC+0")],
    ids=["summer", "winter"],
)
def test_valid_entry_is_stored_with_times_in_utc(browser, session, world, day, utc_hour, season) -> None:
    client, csrf = browser
    r = client.post("/incidents/new", data=form(csrf, day=day))
    assert r.status_code == 303, r.text[:2000]
    (inc,) = _incidents(session)
    assert r.headers["location"] == f"/incidents/{inc.id}?recorded=1"
    y, m, d = (int(x) for x in day.split("-"))
    assert inc.incident_started_at == datetime(y, m, d, utc_hour, 0, tzinfo=UTC), season
    assert inc.force_started_at == datetime(y, m, d, utc_hour, 2, 30, tzinfo=UTC), season  # seconds kept
    assert inc.force_ended_at == datetime(y, m, d, utc_hour, 5, tzinfo=UTC)
    assert inc.incident_ended_at == datetime(y, m, d, utc_hour, 20, tzinfo=UTC)
    assert (inc.reference, inc.location, inc.establishment_id) == ("UOF-2026-0301", "B wing, landing 2", world.est_a)
    assert inc.force_types == ["guiding_hold", "handcuffs"] and inc.planned is False
    parts = {
        number: part
        for number, part in session.exec(
            select(StaffMember.staff_number, IncidentStaff.part)
            .join(IncidentStaff, IncidentStaff.staff_member_id == StaffMember.id)  # type: ignore[arg-type]
            .where(IncidentStaff.incident_id == inc.id)
        ).all()
    }
    assert parts == {"A001": "head", "A002": "left arm"}
    cams = session.exec(select(IncidentCamera.camera_id).where(IncidentCamera.incident_id == inc.id)).all()
    assert cams == [world.cameras["a"]]
    (subject,) = session.exec(select(IncidentSubject).where(IncidentSubject.incident_id == inc.id)).all()
    assert (subject.reference, subject.age_band, subject.ethnicity) == ("A1234BC", "21-24", None)
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "incident_create")).one()
    assert event.detail == {"reference": "UOF-2026-0301", "via": "browser"}
    page = client.get(r.headers["location"])
    assert page.status_code == 200 and "Incident UOF-2026-0301 recorded." in page.text  # a success banner
    assert "recorded." not in client.get(f"/incidents/{inc.id}").text
    # Shown back in London time, as typed, whatever the season (stored in UTC above).
    shown = datetime(y, m, d).strftime("%-d %b %Y")
    assert f"{shown} 14:02:30" in page.text and f"{shown} 14:20:00" in page.text, season
    if utc_hour != 14:
        assert f"{shown} {utc_hour}:02:30" not in page.text


def test_camera_named_on_the_form_brings_its_footage_as_a_suggestion(browser, as_user, session, world, tmp_path):
    """Footage from a named camera is suggested even when whoever wore it is not listed (issue 3)."""
    client, csrf = browser
    r = client.post("/incidents/new", data=form(csrf, **{"officer-1-staff_number": "", "officer-1-part": ""}))
    assert r.status_code == 303, r.text[:2000]
    (inc,) = _incidents(session)
    data = b"clip worn by someone not on the report" * 10
    path = tmp_path / "clip.bin"
    path.write_bytes(data)
    with unit_of_work() as s:
        f = register_footage(
            s,
            NewFootage(
                establishment_id=world.est_a,
                camera_id=world.cameras["a"],
                wearer_id=None,
                recording_started_at=datetime(2026, 7, 1, 13, 1, tzinfo=UTC),
                claimed_duration_s=300,
                original_filename="clip.mp4",
            ),
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )
        fid = f.id
    got = as_user("coordinator.a").get(f"/api/v1/incidents/{inc.id}/footage-suggestions").json()
    assert [(s["footage_id"], s["why"]) for s in got] == [(fid, "camera named on the incident")]


def test_every_problem_is_shown_with_what_was_typed_kept(browser, session) -> None:
    client, csrf = browser
    r = client.post(
        "/incidents/new",
        data=form(
            csrf,
            reference="",
            incident_started_at="2026-07-01T25:61",  # not a time
            force_ended_at="2026-07-01T14:01",  # before force began: not checked until every time reads
            **{"officer-3-part": "legs"},  # a part with no officer
        ),
    )
    assert r.status_code == 400
    html = r.text
    assert "<title>Error: Record an incident" in html
    assert _summary_links(html) == [
        ("reference", "Enter the incident reference"),
        (
            "incident_started_at_time",
            "The time the incident began must be a real time on the 24-hour clock, for example 14:02:30",
        ),
        ("officer-3-staff_number", "Choose the officer for officer 3, or clear their part"),
    ]
    # Each message also next to its field, which is marked and described by it.
    assert 'id="reference-error"' in html and 'aria-describedby="reference-hint reference-error"' in html
    assert 'id="officer-3-staff_number-error"' in html
    # What was typed is still there.
    assert 'value="B wing, landing 2"' in html
    assert 'value="1/7/2026"' in html and 'value="25:61"' in html
    assert 'value="14:02:30"' in html and 'value="14:01"' in html
    assert re.search(r'<option value="A002" selected>Officer a2 \(A002\)</option>', html)
    assert 'id="officer-2-part" name="officer-2-part" type="text" value="left arm"' in html
    assert 'id="officer-3-part" name="officer-3-part" type="text" value="legs"' in html
    assert 'value="CAM-A1"' in html and 'value="handcuffs" checked' in html
    assert "Refused to return to cell" in html
    _nothing_stored(session)

    # Times out of order, a repeated officer and a reference with spaces: all reported together.
    r = client.post(
        "/incidents/new",
        data=form(
            csrf,
            reference="UOF 12",
            force_ended_at="2026-07-01T14:01",
            **{"officer-4-staff_number": "A001"},
        ),
    )
    assert r.status_code == 400
    assert _summary_links(r.text) == [
        ("reference", "Incident reference must only include letters, numbers, and / - _ ."),
        ("force_ended_at_date", "Force cannot end before it began"),  # the whole time's day
        ("officer-4-staff_number", "Officer a1 is already listed as officer 1: list each officer once"),
    ]
    _nothing_stored(session)


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        (
            {"officer-2-staff_number": "Z999"},
            "officer-2-staff_number",
            "Officer 2: staff number Z999 is not an officer at this establishment",
        ),
        (  # an officer of another prison is unknown here
            {"officer-1-staff_number": "B001"},
            "officer-1-staff_number",
            "Officer 1: staff number B001 is not an officer at this establishment",
        ),
        (
            {"cameras": "CAM-A1, CAM-ZZ9"},
            "cameras",
            "Camera CAM-ZZ9 is not registered at this establishment: check the serial on the report, or add the "
            "camera on the Officers and cameras page",
        ),
        (
            {"cameras": "CAM-B1;CAM-Q"},
            "cameras",
            "Cameras CAM-B1, CAM-Q are not registered at this establishment: check the serial on the report, or add "
            "the camera on the Officers and cameras page",
        ),
    ],
    ids=["unknown-officer", "officer-elsewhere", "unknown-camera", "cameras-elsewhere"],
)
def test_unknown_officer_or_camera_is_refused_and_nothing_stored(browser, session, over, field, message) -> None:
    client, csrf = browser
    r = client.post("/incidents/new", data=form(csrf, **over))
    assert r.status_code == 400
    assert _summary_links(r.text) == [(field, message)]
    if field == "cameras":
        assert f'value="{over["cameras"]}"' in r.text
    else:
        number = over[field]
        assert f'<option value="{number}" selected>{number} (not found at this establishment)</option>' in r.text
    _nothing_stored(session)


def test_reference_already_recorded_is_refused(browser, session) -> None:
    client, csrf = browser
    assert client.post("/incidents/new", data=form(csrf)).status_code == 303
    r = client.post("/incidents/new", data=form(csrf, location="Reception"))
    assert r.status_code == 400
    assert _summary_links(r.text) == [("reference", "An incident with reference UOF-2026-0301 already exists.")]
    assert 'value="Reception"' in r.text
    (inc,) = _incidents(session)
    assert inc.location == "B wing, landing 2"
    assert len(session.exec(select(IncidentStaff)).all()) == 2


def test_add_another_officer_keeps_everything_and_stores_nothing(browser, session) -> None:
    client, csrf = browser
    page = client.get("/incidents/new")
    assert page.status_code == 200
    assert page.text.count('class="govuk-fieldset bwv-officer-row"') == 4
    r = client.post("/incidents/new", data=form(csrf, action="add_officer", reference=""))
    assert r.status_code == 200
    html = r.text
    assert html.count('class="govuk-fieldset bwv-officer-row"') == 5
    assert 'name="officer_rows" value="5"' in html
    assert 'id="officer-5-staff_number" name="officer-5-staff_number" autofocus' in html
    assert "govuk-error-summary" not in html  # nothing is checked until the incident is saved
    assert 'value="left arm"' in html and 'value="CAM-A1"' in html
    _nothing_stored(session)
    # A clock-change choice already made stays on show and chosen.
    night = form(csrf, action="add_officer", **_night("2025-10-26", "01:30:20"), force_started_at_fold="1")
    html = client.post("/incidents/new", data=night).text
    assert re.search(r'id="force_started_at_fold-2" name="force_started_at_fold" type="radio" value="1" checked', html)
    assert "govuk-error-summary" not in html
    # The fifth officer is saved with the rest.
    data = form(csrf, officer_rows="5", **{"officer-5-staff_number": "A002", "officer-2-staff_number": ""})
    data["officer-5-part"] = "legs"
    data["officer-2-part"] = ""
    assert client.post("/incidents/new", data=data).status_code == 303
    parts = set(session.exec(select(IncidentStaff.part)).all())
    assert parts == {"head", "legs"}


def test_csrf_token_is_required(browser, session) -> None:
    client, csrf = browser
    data = form(csrf)
    del data["csrf_token"]
    r = client.post("/incidents/new", data=data)
    assert r.status_code == 403
    r = client.post("/incidents/new", data={**data, "csrf_token": "x" * len(csrf)})
    assert r.status_code == 403
    _nothing_stored(session)
    assert session.exec(select(AuditEvent.action).where(AuditEvent.action == "csrf_refused")).all() == [
        "csrf_refused",
        "csrf_refused",
    ]
    assert client.post("/incidents/new", data=form(csrf)).status_code == 303  # the same form with its token


def _night(day: str, force: str) -> dict[str, str]:
    """Times of an incident on the night the clocks change: force began at `force` (HH:MM:SS)."""
    return {
        "incident_started_at": f"{day}T00:50",
        "force_started_at": f"{day}T{force}",
        "force_ended_at": f"{day}T02:10",
        "incident_ended_at": f"{day}T02:30",
    }


def test_a_time_in_the_hour_the_clocks_skip_is_refused(browser, session) -> None:
    """29 March 2026: 01:00 became 02:00, so no clock showed 01:30. Read naively it would become 02:30 BST."""
    client, csrf = browser
    r = client.post("/incidents/new", data=form(csrf, **_night("2026-03-29", "01:30:00")))
    assert r.status_code == 400
    message = (
        "There was no 01:30 on 29 March 2026 in UK time: the clocks went forward an hour that night. "
        "Check when force began"
    )
    assert ("force_started_at_date", message) in _summary_links(r.text)
    assert 'id="force_started_at-error"' in r.text  # beside the time, which is marked
    assert 'value="29/3/2026"' in r.text and 'value="01:30:00"' in r.text  # what was typed is kept
    _nothing_stored(session)


def test_a_time_the_clocks_showed_twice_asks_which_and_stores_the_one_chosen(browser, session) -> None:
    """26 October 2025: 01:00-01:59 happened in BST, then again in GMT. Force at 01:30:20 is asked about;
    once the second is chosen it is stored as 01:30:20 UTC (not 00:30:20, the first), and shown with GMT."""
    client, csrf = browser
    data = form(csrf, **_night("2025-10-26", "01:30:20"))
    r = client.post("/incidents/new", data=data)
    assert r.status_code == 400
    links = dict(_summary_links(r.text))
    assert links["force_started_at_fold"] == (
        "01:30 on 26 October 2025 happened twice in UK time: the clocks went back an hour that night. "
        "Say whether force began at the first 01:30 (BST) or the second (GMT)"
    )
    assert set(links) == {
        "force_started_at_fold"
    }  # the link goes to the choice; 00:50, 02:10 and 02:30 happened once each
    assert 'name="force_started_at_fold" type="radio" value="0"' in r.text
    assert "The first, BST" in r.text and "The second, GMT" in r.text and "Which 01:30?" in r.text
    assert 'name="incident_started_at_fold"' not in r.text
    _nothing_stored(session)

    r = client.post("/incidents/new", data={**data, "force_started_at_fold": "1"})
    assert r.status_code == 303, r.text[:2000]
    (inc,) = _incidents(session)
    assert inc.incident_started_at == datetime(2025, 10, 25, 23, 50, tzinfo=UTC)  # 00:50 BST
    assert inc.force_started_at == datetime(2025, 10, 26, 1, 30, 20, tzinfo=UTC)  # the second 01:30:20, GMT
    assert inc.force_ended_at == datetime(2025, 10, 26, 2, 10, tzinfo=UTC)
    page = client.get(r.headers["location"]).text
    assert "26 Oct 2025 01:30:20 GMT" in page


def test_the_first_of_a_repeated_hour_can_be_chosen_and_order_is_checked_in_real_time(browser, session) -> None:
    """The first 01:40 (BST) is before the second 01:10 (GMT): force 'began' at 01:40 BST and 'ended' at the
    second 01:10 is in order, though 01:10 < 01:40 on the clock; the other way round it is refused."""
    client, csrf = browser
    times = {
        "incident_started_at": "2025-10-26T01:35",
        "force_started_at": "2025-10-26T01:40",
        "force_ended_at": "2025-10-26T01:10",
        "incident_ended_at": "2025-10-26T02:00",
        "incident_started_at_fold": "0",
        "force_started_at_fold": "0",
        "force_ended_at_fold": "1",
    }
    r = client.post("/incidents/new", data=form(csrf, **{**times, "force_ended_at_fold": "0"}))
    assert r.status_code == 400
    assert ("force_ended_at_date", "Force cannot end before it began") in _summary_links(r.text)
    assert 'id="force_ended_at_fold" name="force_ended_at_fold" type="radio" value="0" checked' in r.text
    _nothing_stored(session)
    r = client.post("/incidents/new", data=form(csrf, **times))
    assert r.status_code == 303, r.text[:2000]
    (inc,) = _incidents(session)
    assert inc.force_started_at == datetime(2025, 10, 26, 0, 40, tzinfo=UTC)
    assert inc.force_ended_at == datetime(2025, 10, 26, 1, 10, tzinfo=UTC)


def test_a_day_written_month_first_is_refused_not_swapped(browser, session) -> None:
    """The day is read D/M/YYYY whatever the browser's language: 7/13/2026 (13 July written the American
    way) is not a day, and 3/4/2026 is the 3rd of April, never the 4th of March."""
    client, csrf = browser
    data = form(csrf)
    r = client.post("/incidents/new", data={**data, "incident_started_at_date": "7/13/2026"})
    assert r.status_code == 400
    assert _summary_links(r.text) == [
        ("incident_started_at_date", "The day the incident began must be a real date, for example 3/11/2026")
    ]
    _nothing_stored(session)
    april = {f"{name}_date": "3/4/2026" for name in TIMES}
    assert client.post("/incidents/new", data={**data, **april}).status_code == 303
    (inc,) = _incidents(session)
    assert inc.force_started_at == datetime(2026, 4, 3, 13, 2, 30, tzinfo=UTC)  # 14:02:30 BST


def test_times_in_the_future_are_refused_on_the_form_and_the_api(browser, session, as_user) -> None:
    """An incident is recorded after it happened: a date a year ahead (a slip for this year) is refused, on
    the form against the times that are ahead, and by the API; nothing is stored."""
    client, csrf = browser
    data = form(csrf)
    ahead = (utcnow() + timedelta(days=370)).astimezone(ZoneInfo("Europe/London"))
    later = {f"{n}_date": f"{ahead.day}/{ahead.month}/{ahead.year}" for n in ("force_ended_at", "incident_ended_at")}
    r = client.post("/incidents/new", data={**data, **later})
    assert r.status_code == 400
    assert _summary_links(r.text) == [  # in the page's order: the incident's times, then force's
        ("incident_ended_at_date", "The time the incident ended must be in the past"),
        ("force_ended_at_date", "The time force ended must be in the past"),
    ]
    _nothing_stored(session)
    body = {
        "reference": "UOF-FUTURE",
        "location": "A wing",
        "incident_started_at": "2026-10-05T14:00:00+00:00",
        "force_started_at": "2026-10-05T14:01:00+00:00",
        "force_ended_at": "2026-10-05T14:02:00+00:00",
        "incident_ended_at": ahead.isoformat(),
        "staff": [{"staff_number": "A001"}],
    }
    r = as_user("coordinator.a").post("/api/v1/incidents", json=body)
    assert r.status_code == 422 and "incident_ended_at is in the future" in r.text, r.text
    _nothing_stored(session)


def test_planned_or_spontaneous_is_asked_not_assumed(browser, session) -> None:  # type: ignore[no-untyped-def]
    """GOV.UK radios start with nothing chosen: 'Spontaneous' was chosen for the coordinator before."""
    client, csrf = browser
    blank = client.get("/incidents/new").text
    assert 'value="spontaneous" checked' not in blank and 'value="planned" checked' not in blank
    data = form(csrf)
    del data["planned"]
    r = client.post("/incidents/new", data=data)
    assert r.status_code == 400
    assert ("planned", "Choose whether the use of force was planned or spontaneous") in _summary_links(r.text)
    assert session.exec(select(Incident)).all() == []
