"""The access rules: each role, each cross-establishment attempt. A forged id answers 404, never data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

T0 = datetime(2026, 10, 5, 14, 0, tzinfo=UTC)


def incident_body(ref: str, staff: list[str]) -> dict:
    return {
        "reference": ref,
        "location": "A wing",
        "planned": False,
        "force_types": ["guiding_hold"],
        "incident_started_at": T0.isoformat(),
        "force_started_at": (T0 + timedelta(minutes=1)).isoformat(),
        "force_ended_at": (T0 + timedelta(minutes=3)).isoformat(),
        "incident_ended_at": (T0 + timedelta(minutes=10)).isoformat(),
        "staff": [{"staff_number": s, "part": "Head"} for s in staff],
        "subjects": [{"reference": "A1234BC", "ethnicity": "White British", "age_band": "21-24"}],
    }


@pytest.fixture
def incidents(as_user):  # type: ignore[no-untyped-def]
    a = as_user("coordinator.a").post("/api/v1/incidents", json=incident_body("UOF-A-1", ["A001", "A002"]))
    b = as_user("coordinator.b").post("/api/v1/incidents", json=incident_body("UOF-B-1", ["B001"]))
    assert a.status_code == 201 and b.status_code == 201, (a.text, b.text)
    return a.json()["id"], b.json()["id"]


def test_signed_out_gets_401_on_the_api_and_a_redirect_for_pages(client, world):  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/incidents").status_code == 401
    r = client.get("/incidents")
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")


def test_other_establishment_records_answer_404(as_user, incidents):  # type: ignore[no-untyped-def]
    mine, theirs = incidents
    for who in ("coordinator.a", "governor.a"):
        c = as_user(who)
        assert c.get(f"/api/v1/incidents/{mine}").status_code == 200
        r = c.get(f"/api/v1/incidents/{theirs}")
        assert r.status_code == 404 and "UOF-B-1" not in r.text
        assert c.get("/api/v1/incidents/999999").status_code == 404
        page = c.get(f"/incidents/{theirs}")
        assert page.status_code == 404 and "UOF-B-1" not in page.text
    r = as_user("coordinator.a").patch(f"/api/v1/incidents/{theirs}", json={"location": "X", "reason": "forged"})
    assert r.status_code == 404
    listed = as_user("coordinator.a").get("/api/v1/incidents").json()
    assert [i["reference"] for i in listed["items"]] == ["UOF-A-1"]
    # Asking for another establishment's list is a 404 too.
    assert as_user("governor.a").get(f"/api/v1/incidents?establishment_id={world_b(as_user)}").status_code == 404


def world_b(as_user) -> int:  # type: ignore[no-untyped-def]
    return as_user("admin").get("/api/v1/establishments").json()[1]["id"]


def test_admin_sees_every_establishment(as_user, incidents):  # type: ignore[no-untyped-def]
    mine, theirs = incidents
    admin = as_user("admin")
    assert admin.get(f"/api/v1/incidents/{mine}").status_code == 200
    assert admin.get(f"/api/v1/incidents/{theirs}").status_code == 200


def test_roles(as_user, incidents):  # type: ignore[no-untyped-def]
    mine, _ = incidents
    # Governors read but do not change.
    assert as_user("governor.a").post("/api/v1/incidents", json=incident_body("G-1", [])).status_code == 403
    assert (
        as_user("governor.a").patch(f"/api/v1/incidents/{mine}", json={"location": "B", "reason": "move"}).status_code
        == 403
    )
    # Officers see neither incidents nor other people's records.
    assert as_user("officer.a1").get("/api/v1/incidents").status_code == 403
    assert as_user("officer.a1").get(f"/api/v1/incidents/{mine}").status_code == 403
    # Only admins manage users and establishments.
    for who in ("coordinator.a", "governor.a", "officer.a1"):
        assert as_user(who).get("/api/v1/users").status_code == 403
        assert as_user(who).post("/api/v1/establishments", json={"code": "ZZZ", "name": "HMP Z"}).status_code == 403
    # Coordinators change incidents, with a reason, and it is audited.
    r = as_user("coordinator.a").patch(f"/api/v1/incidents/{mine}", json={"location": "B wing", "reason": "typo"})
    assert r.status_code == 200 and r.json()["location"] == "B wing"


def test_access_denials_are_audited(as_user, incidents, session):  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from app.audit.models import AuditEvent

    as_user("officer.a1").get("/api/v1/incidents")
    denied = session.exec(select(AuditEvent).where(AuditEvent.action == "access_denied")).all()
    assert denied and denied[-1].actor_username == "officer.a1"


def test_bad_incident_input_is_a_clear_4xx(as_user, world):  # type: ignore[no-untyped-def]
    c = as_user("coordinator.a")
    body = incident_body("UOF-BAD", ["A001"])
    naive = dict(body, force_started_at="2026-10-05T14:01:00")
    r = c.post("/api/v1/incidents", json=naive)
    assert r.status_code == 422 and "time zone" in r.text
    backwards = dict(body, force_ended_at=(T0 - timedelta(hours=1)).isoformat())
    assert c.post("/api/v1/incidents", json=backwards).status_code == 422
    unknown = incident_body("UOF-BAD2", ["NOPE1"])
    r = c.post("/api/v1/incidents", json=unknown)
    assert r.status_code == 422 and "NOPE1" in r.text
    # Another establishment's officer is unknown here too.
    assert c.post("/api/v1/incidents", json=incident_body("UOF-BAD3", ["B001"])).status_code == 422
    assert c.post("/api/v1/incidents", json=body).status_code == 201
    assert c.post("/api/v1/incidents", json=body).status_code == 409
    assert c.get("/api/v1/incidents").json()["total"] == 1
