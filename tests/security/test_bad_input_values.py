"""Values at the edges of what a type holds get a 4xx, never a 500: times without an offset or in year 1 or
9999 (which do not survive conversion to UTC), offsets and ids past what the database stores, NUL bytes.
(The review of 27 Nov 2026 found 500s for the first three.)"""

from __future__ import annotations

from typing import Any

import pytest

INC = {
    "reference": "UOF-1",
    "location": "A wing",
    "incident_started_at": "2026-10-05T14:00:00+00:00",
    "force_started_at": "2026-10-05T14:01:00+00:00",
    "force_ended_at": "2026-10-05T14:02:00+00:00",
    "incident_ended_at": "2026-10-05T14:03:00+00:00",
    "staff": [{"staff_number": "A001", "part": "head"}],
}


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_incident_times_out_of_range_are_refused(as_user: Any, when: str) -> None:
    body = dict(INC, incident_started_at=when) if when.startswith("0001") else dict(INC, incident_ended_at=when)
    r = as_user("coordinator.a").post("/api/v1/incidents", json=body)
    assert r.status_code == 422 and "between the years 1900 and 2999" in r.text, r.text


def test_list_filters_say_what_is_wrong_with_a_time(as_user: Any) -> None:
    c = as_user("coordinator.a")
    r = c.get("/api/v1/incidents", params={"since": "2026-01-01T00:00:00"})
    assert r.status_code == 422 and "time zone offset" in r.text
    r = c.get("/api/v1/footage", params={"until": "9999-12-31T23:59:59-01:00"})
    assert r.status_code == 422 and "between the years" in r.text
    assert c.get("/api/v1/incidents", params={"since": "2026-01-01T00:00:00+00:00"}).status_code == 200


URLS = [
    "/api/v1/footage?since=0001-01-01T00:00:00%2B01:00",
    "/api/v1/incidents?since=0001-01-01T00:00:00%2B01:00",
    "/api/v1/incidents?since=2026-01-01T00:00:00",
    "/api/v1/footage?until=2026-01-01T00:00:00",
    "/api/v1/incidents?q=%00abc",
    "/api/v1/incidents?location=%00abc",
    "/api/v1/footage?staff_number=%00abc",
    "/api/v1/audit/events?since=0001-01-01T00:00:00%2B01:00",
    "/api/v1/audit/events?since=2026-01-01T00:00:00",
    "/api/v1/audit/events?object_id=%00",
    "/api/v1/audit/events?action=%00",
    "/api/v1/footage/1/keyframes/99999999999.jpg",
    "/api/v1/footage?offset=99999999999999999999",
    "/api/v1/incidents?offset=99999999999999999999",
    "/api/v1/incidents?establishment_id=99999999999999999999",
    "/api/v1/footage/missing?establishment_id=99999999999999999999",
    "/api/v1/staff?establishment_id=99999999999999999999",
    "/api/v1/cameras?establishment_id=99999999999999999999",
    "/api/v1/incidents/99999999999999999999",
    "/api/v1/footage/99999999999999999999",
    "/api/v1/footage/99999999999999999999/video",
    "/api/v1/incidents/99999999999999999999/activation",
    "/api/v1/reports/compliance?from=2026-02-30",
    "/api/v1/reports/officers/A001?months=120",
]


@pytest.mark.parametrize("user", ["coordinator.a", "governor.a", "admin"])
def test_edge_values_in_queries_get_a_4xx(as_user: Any, user: str) -> None:
    c = as_user(user)
    answers = {url: c.get(url).status_code for url in URLS}
    assert not {url: code for url, code in answers.items() if code >= 500}


@pytest.mark.usefixtures("storage_root")
def test_an_upload_recorded_in_year_one_is_refused(as_user: Any) -> None:
    from tests.footage.conftest import mp4_bytes, post_footage

    r = post_footage(
        as_user("coordinator.a"), mp4_bytes(20_000, seed=5), recording_started_at="0001-01-01T00:00:00+01:00"
    )
    assert r.status_code == 422 and "between the years 1900 and 2999" in r.text, r.text
