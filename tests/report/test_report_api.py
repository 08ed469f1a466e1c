"""The report JSON API: figures through HTTP, dates, and who may see what."""

from __future__ import annotations

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from tests.report.fixture import build

OCT = "from=2026-10-01&to=2026-10-31"


@pytest.fixture
def rw(session, world):  # type: ignore[no-untyped-def]
    return build(session, world)


def test_compliance_json_for_the_governor(as_user, rw, session):  # type: ignore[no-untyped-def]
    r = as_user("governor.a").get(f"/api/v1/reports/compliance?{OCT}")
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["incidents"], s["incidents_with_footage"], s["incidents_all_on_before_force"]) == (5, 4, 1)
    assert s["median_lag_s"] == pytest.approx(-5.0) and s["p90_lag_s"] == pytest.approx(22.8)
    assert s["rag"] == {"green": 1, "amber": 3, "red": 1}
    assert s["backlog"] == 1 and s["unacknowledged"] == 2
    assert [o["staff_number"] for o in s["officers_flagged"]] == ["A002"]
    assert s["period_from"] == "2026-10-01" and s["period_to"] == "2026-10-31"
    # The establishment by code gives the same; the coordinator may see it too.
    assert as_user("coordinator.a").get(f"/api/v1/reports/compliance?establishment=AAA&{OCT}").json()["incidents"] == 5
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "report_view")).all()
    assert any(e.object_type == "compliance_report" and e.detail["from"] == "2026-10-01" for e in events)


def test_compliance_default_period_is_last_calendar_month(as_user, rw):  # type: ignore[no-untyped-def]
    s = as_user("governor.a").get("/api/v1/reports/compliance").json()
    from datetime import date

    from app.report.service import Period

    p = Period.default()
    assert s["period_from"] == p.first.isoformat() and s["period_to"] == p.last.isoformat()
    assert p.first.day == 1 and p.last < date.today()


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01&to=2026-12-01",
        "from=2026-10-31&to=2026-10-01",
        "from=yesterday",
        "to=2026-02-30",
        "from=9999-12-01&to=9999-12-31",
        "from=0001-01-01",
        "from=1/10/2026&to=31/10/2026",  # the API takes YYYY-MM-DD only: 11/3/2026 is never guessed at
    ],
)
def test_bad_dates_are_a_clear_422(as_user, world, query):  # type: ignore[no-untyped-def]
    r = as_user("governor.a").get(f"/api/v1/reports/compliance?{query}")
    assert r.status_code == 422
    assert "YYYY-MM-DD" in r.text or "on or before" in r.text or "must be between" in r.text


def test_governors_cannot_see_another_establishment(as_user, rw, world):  # type: ignore[no-untyped-def]
    for est in ("BBB", str(world.est_b), "ZZZ"):
        r = as_user("governor.a").get(f"/api/v1/reports/compliance?establishment={est}&{OCT}")
        assert r.status_code == 404
    assert as_user("governor.b").get(f"/api/v1/reports/compliance?{OCT}").json()["incidents"] == 1
    assert as_user("governor.b").get("/api/v1/reports/officers/A002").status_code == 404
    # Admins choose; side by side for everyone.
    assert as_user("admin").get(f"/api/v1/reports/compliance?establishment=BBB&{OCT}").json()["incidents"] == 1
    assert as_user("admin").get(f"/api/v1/reports/compliance?{OCT}").status_code == 422
    both = as_user("admin").get(f"/api/v1/reports/compliance/compare?{OCT}").json()
    assert [(s["establishment_name"], s["incidents"]) for s in both] == [("HMP Alpha", 5), ("HMP Bravo", 1)]
    assert as_user("governor.a").get(f"/api/v1/reports/compliance/compare?{OCT}").status_code == 403


def test_staff_see_only_their_own_officer_report(as_user, rw):  # type: ignore[no-untyped-def]
    me = as_user("officer.a2")
    r = me.get("/api/v1/reports/officers/A002")
    assert r.status_code == 200 and r.json()["flagged"] is True
    assert r.json()["first_guidance_at"].startswith("2026-10-06T12:00:00")
    for other in ("A001", "A003", "B001", "NOPE"):
        r = me.get(f"/api/v1/reports/officers/{other}")
        assert r.status_code == 404 and "Officer a1" not in r.text
    assert me.get(f"/api/v1/reports/compliance?{OCT}").status_code == 403
    assert me.get("/api/v1/reports/officers").status_code == 403


def test_officer_report_for_the_coordinator_and_overview(as_user, rw):  # type: ignore[no-untyped-def]
    c = as_user("coordinator.a")
    r = c.get("/api/v1/reports/officers/A003").json()
    assert r["activation"]["no_footage"] == 1 and r["ratings"] == {"green": 0, "amber": 0, "red": 0}
    rows = c.get("/api/v1/reports/officers").json()
    assert {row["staff_number"]: row["flagged"] for row in rows} == {"A001": False, "A002": True, "A003": False}
    assert c.get("/api/v1/reports/officers/B001").status_code == 404
