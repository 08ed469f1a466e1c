"""The stored activation check: each status, pre-record, gaps, claimed vs measured length, recompute
triggers, the API and the incident page. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.db import unit_of_work
from app.footage.models import Footage, FootageStatus
from app.footage.service import link
from app.incident.activation import clip_length, incident_activation, recompute, recompute_for_footage
from app.incident.models import ActivationResult, IncidentCreate, InvolvedStaffIn
from app.incident.service import create_incident
from tests.support import browser_sign_in, make_client

FORCE = datetime(2026, 11, 3, 14, 2, 0, tzinfo=UTC)
FORCE_END = FORCE + timedelta(seconds=20)
_seq = count(1)


def _incident(world, officers=("A001", "A002")) -> int:
    with unit_of_work() as s:
        inc = create_incident(
            s,
            establishment_id=world.est_a,
            user_id=None,
            data=IncidentCreate(
                reference=f"UOF-{next(_seq)}",
                location="A wing",
                incident_started_at=FORCE - timedelta(minutes=1),
                force_started_at=FORCE,
                force_ended_at=FORCE_END,
                incident_ended_at=FORCE_END + timedelta(minutes=1),
                staff=[InvolvedStaffIn(staff_number=n) for n in officers],
            ),
        )
        return inc.id  # type: ignore[return-value]


def _clip(
    world,
    incident_id: int,
    officer: str,
    *,
    start_s: float,
    length: float,
    activated_s: float | None = None,
    prerecord: float = 0.0,
    status: FootageStatus = FootageStatus.analysed,
    measured: float | None = None,
) -> int:
    """A clip whose first frame is `start_s` seconds from force start, linked to the incident."""
    n = next(_seq)
    sha = hashlib.sha256(f"clip-{n}".encode()).hexdigest()
    first = FORCE + timedelta(seconds=start_s)
    with unit_of_work() as s:
        f = Footage(
            establishment_id=world.est_a,
            wearer_id=world.staff[officer],
            recording_started_at=first,
            activated_at=None if activated_s is None else first + timedelta(seconds=activated_s),
            prerecord_seconds=prerecord,
            claimed_duration_s=length,
            original_filename=f"clip{n}.mp4",
            size_bytes=1000,
            sha256=sha,
            storage_key=f"sha256/{sha[:2]}/{sha[2:4]}/{sha}",
            status=status,
            duration_s=(measured if measured is not None else length) if status == FootageStatus.analysed else None,
        )
        s.add(f)
        s.flush()
        link(s, f, incident_id, user_id=None, source="manual")
        return f.id  # type: ignore[return-value]


def _result(session, incident_id: int, staff_id: int) -> ActivationResult:
    r = session.get(ActivationResult, (incident_id, staff_id))
    assert r is not None
    session.refresh(r)
    return r


def test_each_status_and_roll_up(engine, world, session) -> None:
    inc = _incident(world, ("A001", "A002"))
    # A001: on 10 s before force, records 40 s: compliant.
    _clip(world, inc, "a1", start_s=-10, length=40, activated_s=0)
    r = _result(session, inc, world.staff["a1"])
    assert (r.status, r.compliant, r.coverage, r.lag_s) == ("before_force", True, 1.0, -10.0)
    # A002 has no footage yet.
    r2 = _result(session, inc, world.staff["a2"])
    assert (r2.status, r2.compliant, r2.coverage) == ("no_footage", False, 0.0)
    with unit_of_work() as s:
        from app.incident.models import Incident

        view = incident_activation(s, s.get(Incident, inc))
        assert (view.compliant_count, len(view.officers), view.all_compliant) == (1, 2, False)
        assert view.summary == "1 of 2 officers compliant."
    # A002 switched on 5 s into force (no pre-record): late.
    _clip(world, inc, "a2", start_s=5, length=40, activated_s=0)
    r2 = _result(session, inc, world.staff["a2"])
    assert (r2.status, r2.lag_s, r2.caught_by_prerecord) == ("late", 5.0, False)
    assert r2.coverage == pytest.approx(0.75)
    assert [g["seconds"] for g in r2.gaps] == [5.0]
    assert r2.activated_at == FORCE + timedelta(seconds=5)


def test_after_force(engine, world, session) -> None:
    inc = _incident(world, ("A001",))
    _clip(world, inc, "a1", start_s=30, length=20, activated_s=0)
    r = _result(session, inc, world.staff["a1"])
    assert (r.status, r.lag_s, r.coverage, r.compliant) == ("after_force", 30.0, 0.0, False)


def test_prerecord_buffer_catches_a_late_press(engine, world, session) -> None:
    inc = _incident(world, ("A001",))
    # First frame 10 s before force, the press not logged, 12 s pre-record: pressed at force + 2 s (late),
    # but the buffer holds the start of force.
    _clip(world, inc, "a1", start_s=-10, length=60, activated_s=None, prerecord=12)
    r = _result(session, inc, world.staff["a1"])
    assert (r.status, r.lag_s, r.caught_by_prerecord) == ("late", 2.0, True)
    assert r.coverage == 1.0 and r.gaps == []


def test_two_clips_with_a_gap(engine, world, session) -> None:
    inc = _incident(world, ("A001",))
    _clip(world, inc, "a1", start_s=-5, length=10, activated_s=0)  # covers force 0..5
    _clip(world, inc, "a1", start_s=12, length=20, activated_s=0)  # covers 12..20
    r = _result(session, inc, world.staff["a1"])
    assert r.status == "before_force"
    assert r.coverage == pytest.approx(13 / 20)
    assert not r.compliant and not r.stopped_early
    assert [(g["start"], g["seconds"]) for g in r.gaps] == [((FORCE + timedelta(seconds=5)).isoformat(), 7.0)]


def test_claimed_longer_than_real_uses_measured_once_analysed(engine, world, session) -> None:
    inc = _incident(world, ("A001",))
    fid = _clip(world, inc, "a1", start_s=-5, length=60, activated_s=0, status=FootageStatus.queued)
    r = _result(session, inc, world.staff["a1"])
    assert r.compliant and r.coverage == 1.0  # provisional: the claim says it covers everything
    with unit_of_work() as s:
        from app.incident.models import Incident

        view = incident_activation(s, s.get(Incident, inc))
        assert view.provisional and view.officers[0].clips[0].basis == "claimed"
    # Analysis finds only 15 s of video: recording stopped 10 s into force.
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        f.status, f.duration_s = FootageStatus.analysed, 15.0
        s.add(f)
        assert clip_length(f) == (15.0, "measured")
        assert recompute_for_footage(s, fid) == [inc]
    r = _result(session, inc, world.staff["a1"])
    assert (r.status, r.compliant, r.stopped_early) == ("before_force", False, True)
    assert r.coverage == pytest.approx(0.5)
    assert r.gaps[0]["seconds"] == 10.0
    # A clip whose analysis failed covers nothing.
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        f.status = FootageStatus.failed
        s.add(f)
        recompute_for_footage(s, fid)
    r = _result(session, inc, world.staff["a1"])
    assert r.coverage == 0.0 and r.stopped_early


def test_recompute_replaces_and_follows_officer_changes(engine, world, session, as_user) -> None:
    inc = _incident(world, ("A001", "A002"))
    _clip(world, inc, "a1", start_s=-10, length=40, activated_s=0)
    c = as_user("coordinator.a")
    # Times change: force now starts 15 s later, still covered; officers change: A002 removed.
    r = c.patch(
        f"/api/v1/incidents/{inc}",
        json={
            "force_started_at": (FORCE + timedelta(seconds=15)).isoformat(),
            "force_ended_at": (FORCE + timedelta(seconds=45)).isoformat(),
            "incident_ended_at": (FORCE + timedelta(minutes=2)).isoformat(),
            "staff": [{"staff_number": "A001"}],
            "reason": "corrected from CCTV",
        },
    )
    assert r.status_code == 200, r.text
    rows = session.exec(select(ActivationResult).where(ActivationResult.incident_id == inc)).all()
    assert [(x.staff_member_id, x.lag_s, x.stopped_early) for x in rows] == [(world.staff["a1"], -25.0, True)]
    # The copies the reports read by index follow the incident in the same transaction.
    assert [(x.establishment_id, x.force_started_at) for x in rows] == [(world.est_a, FORCE + timedelta(seconds=15))]
    with unit_of_work() as s:
        assert len(recompute(s, inc)) == 1  # rerun: still one row per officer


def test_activation_api_and_access(engine, world, as_user) -> None:
    inc = _incident(world, ("A001", "A002"))
    _clip(world, inc, "a1", start_s=-10, length=40, activated_s=0)
    _clip(world, inc, "a2", start_s=-3, length=8, activated_s=None, prerecord=5)
    r = as_user("governor.a").get(f"/api/v1/incidents/{inc}/activation")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["officer_count"] == 2 and body["compliant_count"] == 1 and body["all_compliant"] is False
    by = {o["staff_number"]: o for o in body["officers"]}
    assert by["A001"]["status"] == "before_force" and by["A001"]["compliant"] is True
    a2 = by["A002"]
    assert (a2["status"], a2["caught_by_prerecord"], a2["stopped_early"]) == ("late", True, True)
    assert a2["clips"][0]["basis"] == "measured" and a2["clips"][0]["activated_logged"] is False
    assert a2["gaps"][0]["seconds"] == 15.0
    assert as_user("officer.a1").get(f"/api/v1/incidents/{inc}/activation").status_code == 403
    assert as_user("coordinator.b").get(f"/api/v1/incidents/{inc}/activation").status_code == 404
    assert as_user("coordinator.a").get("/api/v1/incidents/999999/activation").status_code == 404


def test_incident_without_footage_is_checked_on_creation_and_on_view(engine, world, session, as_user) -> None:
    inc = _incident(world, ("A001",))
    rows = session.exec(select(ActivationResult).where(ActivationResult.incident_id == inc)).all()
    assert [(r.status, r.compliant) for r in rows] == [("no_footage", False)]
    with unit_of_work() as s:  # e.g. recorded before the check existed
        for r in s.exec(select(ActivationResult).where(ActivationResult.incident_id == inc)).all():
            s.delete(r)
    r = as_user("coordinator.a").get(f"/api/v1/incidents/{inc}/activation")
    assert r.json()["officers"][0]["status"] == "no_footage"
    actions = session.exec(select(AuditEvent.action).where(AuditEvent.object_id == str(inc))).all()
    assert "incident_activation_view" in actions


def test_incident_page_shows_roll_up_and_notes(engine, world, app) -> None:
    inc = _incident(world, ("A001", "A002"))
    _clip(world, inc, "a1", start_s=-10, length=40, activated_s=0)
    _clip(world, inc, "a2", start_s=-3, length=8, activated_s=None, prerecord=5)
    client = make_client(app)
    browser_sign_in(client, "coordinator.a")
    page = client.get(f"/incidents/{inc}")
    assert page.status_code == 200
    text = page.text
    assert "1 of 2 officers compliant" in text
    assert "pre-record buffer caught the start of force" in text
    assert "Recording stopped before force ended" in text
    assert "Switched on late" in text and "On before force" in text
    assert "10s before force began" in text
