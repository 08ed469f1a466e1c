"""Linking footage to incidents: manual links, suggested links on crafted windows, "no footage found"."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.db import unit_of_work
from app.footage.models import Footage, FootageIncident, LinkDismissal
from app.footage.service import NewFootage, register_footage
from app.incident.models import IncidentCreate, InvolvedStaffIn
from app.incident.service import create_incident

T0 = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)  # incident 12:00-12:20, force 12:05-12:10


@pytest.fixture(autouse=True)
def _storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from app.core.config import get_settings
    from app.core.storage import get_storage

    monkeypatch.setenv("BWV_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    get_storage.cache_clear()
    yield
    get_settings.cache_clear()
    get_storage.cache_clear()


def _incident(world, ref: str = "UOF-10", staff=("A001", "A002"), cameras=(), at: datetime = T0) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work() as s:
        inc = create_incident(
            s,
            establishment_id=world.est_a,
            data=IncidentCreate(
                reference=ref,
                location="A wing",
                incident_started_at=at,
                force_started_at=at + timedelta(minutes=5),
                force_ended_at=at + timedelta(minutes=10),
                incident_ended_at=at + timedelta(minutes=20),
                staff=[InvolvedStaffIn(staff_number=n) for n in staff],
                camera_serials=list(cameras),
            ),
            user_id=None,
        )
        return inc.id  # type: ignore[return-value]


def _clip(
    world,
    tmp_path: Path,
    *,
    wearer: str | None,
    start: datetime,
    seconds: float | None,
    n: int,  # type: ignore[no-untyped-def]
    camera: bool = True,
    est: str = "a",
) -> int:
    import hashlib

    data = f"clip-{n}".encode() * 10
    path = tmp_path / f"c{n}.bin"
    path.write_bytes(data)
    with unit_of_work() as s:
        f = register_footage(
            s,
            NewFootage(
                establishment_id=world.est_a if est == "a" else world.est_b,
                recording_started_at=start,
                original_filename=f"c{n}.mp4",
                camera_id=world.cameras[est] if camera else None,
                wearer_id=world.staff[wearer] if wearer else None,
                claimed_duration_s=seconds,
            ),
            path=path,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
        )
        return f.id  # type: ignore[return-value]


def test_suggestions_on_crafted_windows(as_user, world, tmp_path) -> None:
    inc = _incident(world)
    m = timedelta(minutes=1)
    cases = {
        "inside": _clip(world, tmp_path, wearer="a1", start=T0 + 2 * m, seconds=600, n=1),
        "starts before, runs into": _clip(world, tmp_path, wearer="a2", start=T0 - 30 * m, seconds=35 * 60, n=2),
        "ends within margin": _clip(world, tmp_path, wearer="a1", start=T0 - 20 * m, seconds=11 * 60, n=3),
        "starts within margin after": _clip(world, tmp_path, wearer="a2", start=T0 + 29 * m, seconds=60, n=4),
    }
    not_suggested = {
        "ended before margin": _clip(world, tmp_path, wearer="a1", start=T0 - 40 * m, seconds=20 * 60, n=5),
        "starts after margin": _clip(world, tmp_path, wearer="a1", start=T0 + 31 * m, seconds=60, n=6),
        "officer not involved": _clip(world, tmp_path, wearer=None, start=T0 + 2 * m, seconds=60, n=7, camera=False),
        "other establishment": _clip(world, tmp_path, wearer="b1", start=T0 + 2 * m, seconds=60, n=8, est="b"),
    }
    c = as_user("coordinator.a")
    r = c.get(f"/api/v1/incidents/{inc}/footage-suggestions")
    assert r.status_code == 200, r.text
    got = {s["footage_id"] for s in r.json()}
    assert got == set(cases.values()), (got, cases, not_suggested)
    # A narrower margin drops the clips that only touch the margin.
    r = c.get(f"/api/v1/incidents/{inc}/footage-suggestions", params={"margin_minutes": 0})
    assert {s["footage_id"] for s in r.json()} == {cases["inside"], cases["starts before, runs into"]}


def test_camera_named_on_incident_is_suggested(as_user, world, tmp_path) -> None:
    inc = _incident(world, staff=(), cameras=("CAM-A1",))
    fid = _clip(world, tmp_path, wearer=None, start=T0, seconds=60, n=1)
    r = as_user("coordinator.a").get(f"/api/v1/incidents/{inc}/footage-suggestions")
    assert [(s["footage_id"], s["why"]) for s in r.json()] == [(fid, "camera named on the incident")]


def test_accept_dismiss_link_unlink(as_user, session, world, tmp_path) -> None:
    inc = _incident(world)
    f1 = _clip(world, tmp_path, wearer="a1", start=T0, seconds=300, n=1)
    f2 = _clip(world, tmp_path, wearer="a2", start=T0, seconds=300, n=2)
    c = as_user("coordinator.a")
    assert c.post(f"/api/v1/incidents/{inc}/footage-suggestions/{f1}/accept").json()["changed"] is True
    assert (
        c.post(f"/api/v1/incidents/{inc}/footage-suggestions/{f2}/dismiss", json={"reason": "wrong day"}).status_code
        == 200
    )
    assert c.get(f"/api/v1/incidents/{inc}/footage-suggestions").json() == []
    assert session.get(FootageIncident, (f1, inc)).source == "suggestion"  # type: ignore[union-attr]
    assert session.get(LinkDismissal, (f2, inc)) is not None
    # Linked footage is kept years, not days.
    f = session.get(Footage, f1)
    assert f is not None and f.purge_due_at is not None and f.purge_due_at > T0 + timedelta(days=365)
    # Unlink needs a reason.
    assert c.delete(f"/api/v1/incidents/{inc}/footage/{f1}").status_code == 422
    r = c.delete(f"/api/v1/incidents/{inc}/footage/{f1}", params={"reason": "linked by mistake"})
    assert r.status_code == 200 and r.json()["changed"] is True
    session.expire_all()
    assert session.get(FootageIncident, (f1, inc)) is None
    f = session.get(Footage, f1)
    assert f is not None and f.purge_due_at is not None and f.purge_due_at < f.uploaded_at + timedelta(days=40)
    # Manual link (also of a dismissed suggestion) works and is idempotent.
    assert c.put(f"/api/v1/incidents/{inc}/footage/{f2}").json()["changed"] is True
    assert c.put(f"/api/v1/incidents/{inc}/footage/{f2}").json()["changed"] is False
    session.expire_all()
    assert session.get(LinkDismissal, (f2, inc)) is None
    actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()]  # type: ignore[arg-type]
    for a in ("footage_suggestion_accept", "footage_suggestion_dismiss", "footage_unlink", "footage_link"):
        assert a in actions
    unlink = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_unlink")).one()
    assert unlink.reason == "linked by mistake"


def test_link_access_and_scope(as_user, world, tmp_path) -> None:
    inc = _incident(world)
    fb = _clip(world, tmp_path, wearer="b1", start=T0, seconds=60, n=1, est="b")
    fa = _clip(world, tmp_path, wearer="a1", start=T0, seconds=60, n=2)
    assert as_user("coordinator.a").put(f"/api/v1/incidents/{inc}/footage/{fb}").status_code == 404
    assert as_user("governor.a").put(f"/api/v1/incidents/{inc}/footage/{fa}").status_code == 403
    assert as_user("coordinator.b").put(f"/api/v1/incidents/{inc}/footage/{fa}").status_code == 404


def _listed(body):  # type: ignore[no-untyped-def]
    return [(m["reference"], [(o["staff_number"], o["suggested"]) for o in m["officers"]]) for m in body]


def test_officers_with_no_footage_are_listed(as_user, world, tmp_path) -> None:
    """Listed until a clip of theirs is linked; a clip found that may be theirs shows as suggested."""
    inc = _incident(world)
    c = as_user("coordinator.a")
    f1 = _clip(world, tmp_path, wearer="a1", start=T0, seconds=60, n=1)
    r = c.get("/api/v1/footage/missing")
    assert r.status_code == 200
    assert _listed(r.json()) == [("UOF-10", [("A001", True), ("A002", False)])]
    assert r.headers["X-Total-Count"] == "1" and "Link" not in r.headers
    f2 = _clip(world, tmp_path, wearer="a2", start=T0 + timedelta(minutes=3), seconds=60, n=2)
    assert _listed(c.get("/api/v1/footage/missing").json()) == [("UOF-10", [("A001", True), ("A002", True)])]
    for f in (f1, f2):
        assert c.put(f"/api/v1/incidents/{inc}/footage/{f}").status_code == 200
    r = c.get("/api/v1/footage/missing")
    assert r.json() == [] and r.headers["X-Total-Count"] == "0"


def test_officers_with_no_footage_across_incidents_most_recent_first(as_user, session, world, tmp_path) -> None:
    """Each incident keeps its own officers, newest incident first; every incident counts, a page at a time
    (it was the 200 most recent, so at a large prison an incident a few days old dropped off the list)."""
    from app.footage import linking

    day = timedelta(days=1)
    c = as_user("coordinator.a")
    partly = _incident(world, "UOF-1", staff=("A001", "A002"), at=T0)
    assert c.put(f"/api/v1/incidents/{partly}/footage/{_clip(world, tmp_path, wearer='a1', start=T0, seconds=60, n=1)}")
    linked = _incident(world, "UOF-2", staff=("A001",), at=T0 + day)
    f2 = _clip(world, tmp_path, wearer="a1", start=T0 + day, seconds=60, n=2)
    assert c.put(f"/api/v1/incidents/{linked}/footage/{f2}").status_code == 200
    suggested = _incident(world, "UOF-3", staff=("A002", "A001"), at=T0 + 2 * day)
    _clip(world, tmp_path, wearer="a1", start=T0 + 2 * day, seconds=60, n=3)
    none = _incident(world, "UOF-4", staff=("A002", "A001"), at=T0 + 3 * day)
    bare = _incident(world, "UOF-5", staff=(), at=T0 + 4 * day)  # nothing linked, nobody recorded: listed bare
    r = c.get("/api/v1/footage/missing")
    assert _listed(r.json()) == [
        ("UOF-5", []),
        ("UOF-4", [("A001", False), ("A002", False)]),
        ("UOF-3", [("A001", True), ("A002", False)]),
        ("UOF-1", [("A002", False)]),
    ]
    assert [m["incident_id"] for m in r.json()] == [bare, none, suggested, partly]
    assert r.headers["X-Total-Count"] == "4"
    # A page at a time, the next page linked while there is one.
    r = c.get("/api/v1/footage/missing?limit=2")
    assert [m["reference"] for m in r.json()] == ["UOF-5", "UOF-4"] and r.headers["X-Total-Count"] == "4"
    nxt = r.headers["Link"].split(">")[0].lstrip("<")
    r = c.get(nxt)
    assert [m["reference"] for m in r.json()] == ["UOF-3", "UOF-1"] and "Link" not in r.headers
    assert c.get("/api/v1/footage/missing?limit=0").status_code == 422
    page, total = linking.incidents_missing_footage(session, world.est_a, offset=3, limit=2)
    assert [(i.reference, [o.staff.staff_number for o in m]) for i, m in page] == [("UOF-1", ["A002"])]
    assert total == 4
    assert linking.incidents_missing_footage(session, world.est_b) == ([], 0)


def test_the_page_of_officers_with_no_footage_goes_page_by_page(app, world, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.footage import linking
    from tests.support import browser_sign_in, make_client

    monkeypatch.setattr(linking, "MISSING_PAGE", 2)
    day = timedelta(days=1)
    for n in range(3):
        _incident(world, f"UOF-{n + 1}", staff=("A001",), at=T0 + n * day)
    _clip(world, tmp_path, wearer="a1", start=T0, seconds=60, n=1)  # may be A001's on UOF-1
    web = make_client(app)
    browser_sign_in(web, "coordinator.a")
    first = web.get("/footage/missing")
    assert first.status_code == 200
    assert "Incidents 1 to 2 of 3" in first.text and "UOF-3" in first.text and "UOF-1" not in first.text
    assert 'href="/footage/missing?page=2"' in first.text
    second = web.get("/footage/missing?page=2")
    assert "Incidents 3 to 3 of 3" in second.text and "UOF-1" in second.text
    assert "a clip was found that may be theirs" in second.text
    assert 'href="/incidents/' in second.text and '/footage-suggestions">Review the suggestion' in second.text
    zero = web.get("/footage/missing?page=0")
    # Said for people, not in the validator's words (a walk-through saw "Input should be greater than or equal to 1").
    assert zero.status_code == 422 and "The address has a value this page cannot use" in zero.text
    assert "Enter 1 or more" in zero.text and "Input should be" not in zero.text
    assert "No incidents on this page" in web.get("/footage/missing?page=9").text


def test_links_carry_the_incidents_force_start(as_user, session, world, tmp_path) -> None:
    """The reports read a period's links by the incident's establishment and force start copied onto the
    link: the copy is made with the link, follows a change of force start, and goes with the link."""
    from app.report.service import Period, compliance_summary

    inc = _incident(world)
    other = _incident(world, ref="UOF-11")
    f1 = _clip(world, tmp_path, wearer="a1", start=T0, seconds=600, n=1)
    f2 = _clip(world, tmp_path, wearer="a2", start=T0, seconds=600, n=2)
    c = as_user("coordinator.a")
    for fid, iid in ((f1, inc), (f2, inc), (f2, other)):
        assert c.put(f"/api/v1/incidents/{iid}/footage/{fid}").json()["changed"] is True

    def copies() -> dict[tuple[int, int], tuple[int, datetime]]:
        session.expire_all()
        rows = session.exec(select(FootageIncident)).all()
        return {(r.footage_id, r.incident_id): (r.establishment_id, r.force_started_at) for r in rows}

    force = T0 + timedelta(minutes=5)
    assert copies() == {
        (f1, inc): (world.est_a, force),
        (f2, inc): (world.est_a, force),
        (f2, other): (world.est_a, force),
    }

    # The incident's times are corrected to a month later: its links move with it, the other incident's stay.
    later = timedelta(days=31)
    r = c.patch(
        f"/api/v1/incidents/{inc}",
        json={
            "incident_ended_at": (T0 + later + timedelta(minutes=20)).isoformat(),
            "force_ended_at": (T0 + later + timedelta(minutes=10)).isoformat(),
            "force_started_at": (T0 + later + timedelta(minutes=5)).isoformat(),
            "incident_started_at": (T0 + later).isoformat(),
            "reason": "wrong month typed",
        },
    )
    assert r.status_code == 200, r.text
    moved = force + later
    assert copies() == {
        (f1, inc): (world.est_a, moved),
        (f2, inc): (world.est_a, moved),
        (f2, other): (world.est_a, force),
    }
    # A change that leaves force start alone leaves the copies alone.
    assert c.patch(f"/api/v1/incidents/{inc}", json={"location": "B wing", "reason": "typo"}).status_code == 200
    assert copies()[(f1, inc)] == (world.est_a, moved)
    # The summary follows: October keeps only the other incident; November has the moved one, with footage.
    with unit_of_work() as s:
        october = compliance_summary(s, world.est_a, Period(date(2026, 10, 1), date(2026, 10, 31)))
        november = compliance_summary(s, world.est_a, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert (october.incidents, october.incidents_with_footage) == (1, 1)
    assert (november.incidents, november.incidents_with_footage) == (1, 1)

    # Unlinking takes the copy away; linking again copies the force start as it is now.
    assert c.delete(f"/api/v1/incidents/{inc}/footage/{f1}", params={"reason": "wrong clip"}).json()["changed"]
    assert (f1, inc) not in copies()
    with unit_of_work() as s:
        assert (
            compliance_summary(s, world.est_a, Period(date(2026, 11, 1), date(2026, 11, 30))).incidents_with_footage
            == 1
        )
    assert c.delete(f"/api/v1/incidents/{inc}/footage/{f2}", params={"reason": "wrong clip"}).json()["changed"]
    with unit_of_work() as s:
        assert (
            compliance_summary(s, world.est_a, Period(date(2026, 11, 1), date(2026, 11, 30))).incidents_with_footage
            == 0
        )
    assert c.put(f"/api/v1/incidents/{inc}/footage/{f1}").json()["changed"] is True
    assert copies()[(f1, inc)] == (world.est_a, moved)


def test_migration_backfills_the_link_copies(engine, session, world, tmp_path) -> None:
    """0004 adds the copies to links made before it, on SQLite and PostgreSQL alike. On the way down and up
    again, SQLite builds the footage table anew (0008) while links and keyframes refer to it: the migrations
    run with its foreign keys off (alembic/env.py), or dropping the old table fails."""
    from alembic import command
    from app.cli import _alembic_config
    from app.footage.service import link

    inc = _incident(world)
    fid = _clip(world, tmp_path, wearer="a1", start=T0, seconds=600, n=1)
    with unit_of_work() as s:
        assert link(s, s.get(Footage, fid), inc, user_id=None, source="manual")  # type: ignore[arg-type]
    cfg = _alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        try:
            command.downgrade(cfg, "0003_report_indexes")
            conn.commit()
            columns = {c["name"] for c in sa.inspect(conn).get_columns("footage_incident")}
            conn.commit()  # migrations on SQLite start outside a transaction (env.py turns foreign keys off)
            assert "force_started_at" not in columns
        finally:
            command.upgrade(cfg, "head")
            conn.commit()
    session.expire_all()
    row = session.get(FootageIncident, (fid, inc))
    assert row is not None and (row.establishment_id, row.force_started_at) == (world.est_a, T0 + timedelta(minutes=5))


def test_no_footage_means_the_same_on_the_list_the_queue_and_the_home_card(as_user, session, world, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """One definition of footage missing. An officer whose clip retention has since deleted had footage (the
    activation check measured it): not listed. Another establishment's officer on this one's incident is not
    listed either: their clips belong to their establishment and could never be linked here."""
    from app.core.types import utcnow
    from app.footage import linking
    from app.footage.models import FootageStatus
    from app.incident.models import IncidentStaff
    from app.rating import service

    c = as_user("coordinator.a")
    inc = _incident(world, "UOF-20", staff=("A001", "A002"))
    f1 = _clip(world, tmp_path, wearer="a1", start=T0, seconds=60, n=1)
    assert c.put(f"/api/v1/incidents/{inc}/footage/{f1}").status_code == 200
    session.add(IncidentStaff(incident_id=inc, staff_member_id=world.staff["b1"], part="Assisting"))
    clip = session.get(Footage, f1)
    assert clip is not None
    clip.status, clip.purged_at = FootageStatus.purged, utcnow()
    session.add(clip)
    session.commit()

    listed = _listed(c.get("/api/v1/footage/missing").json())
    assert [(ref, [n for n, _ in officers]) for ref, officers in listed] == [("UOF-20", ["A002"])]
    incidents, missing = service.missing_footage(session, world.est_a)
    assert {i.reference: [s.staff_number for s in missing[i.id]] for i in incidents} == {"UOF-20": ["A002"]}
    assert service.missing_footage_counts(session, world.est_a)[0] == 1
    page, total = linking.incidents_missing_footage(session, world.est_a)
    assert total == 1 and [o.staff.staff_number for o in page[0][1]] == ["A002"]


def test_the_incident_page_leaves_out_another_establishments_officer_as_the_list_does(as_user, session, world) -> None:  # type: ignore[no-untyped-def]
    from app.footage import linking
    from app.incident.models import Incident, IncidentStaff

    inc = _incident(world, "UOF-30", staff=("A001",))
    session.add(IncidentStaff(incident_id=inc, staff_member_id=world.staff["b1"], part="Assisting"))
    session.commit()
    incident = session.get(Incident, inc)
    assert [s.staff_number for s in linking.officers_without_footage(session, incident)] == ["A001"]


def test_an_incident_with_no_footage_and_no_officer_recorded_is_listed_as_counted(as_user, session, world) -> None:  # type: ignore[no-untyped-def]
    """Nothing linked and nobody of this establishment recorded (nobody at all, or only another establishment's
    officer): the queue and the home card count it once; the list shows it too, asking who was involved."""
    from app.footage import linking
    from app.incident.models import IncidentStaff
    from app.rating import service

    nobody = _incident(world, "UOF-40", staff=())
    theirs = _incident(world, "UOF-41", staff=(), at=T0 + timedelta(days=1))
    session.add(IncidentStaff(incident_id=theirs, staff_member_id=world.staff["b1"], part="Head"))
    session.commit()
    queue = service.missing_count(service.missing_footage(session, world.est_a)[1])
    home = service.missing_footage_counts(session, world.est_a)[0]
    page, total = linking.incidents_missing_footage(session, world.est_a)
    assert queue == home == total == 2
    assert [(i.id, officers) for i, officers in page] == [(theirs, []), (nobody, [])]
    r = as_user("coordinator.a").get("/api/v1/footage/missing")
    assert _listed(r.json()) == [("UOF-41", []), ("UOF-40", [])] and r.headers["X-Total-Count"] == "2"
