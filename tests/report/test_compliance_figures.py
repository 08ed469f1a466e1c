"""Every figure of the compliance summary and the officer report against the hand-computed fixture
(tests/report/fixture.py explains each number), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest

from app.report import service
from app.report.service import Period
from tests.report.fixture import build, utc

OCTOBER = Period(date(2026, 10, 1), date(2026, 10, 31))


@pytest.fixture
def rw(session, world):  # type: ignore[no-untyped-def]
    return build(session, world)


def breakdown(summary, name):  # type: ignore[no-untyped-def]
    b = next(b for b in summary.breakdowns if b.name == name)
    return {r.group: (r.incidents, r.share_with_footage, r.share_all_on_before_force) for r in b.rows}


def test_compliance_summary_every_figure(session, world, rw):  # type: ignore[no-untyped-def]
    s = service.compliance_summary(session, world.est_a, OCTOBER)
    assert s.establishment_name == "HMP Alpha"
    # I1, I2 (1 Oct 00:30 London), I3, I4 (31 Oct 23:30 GMT), I8; not I5 (1 Nov), I6 (Sep) nor BBB's.
    assert s.incidents == 5
    assert s.incidents_with_footage == 4 and s.share_with_footage == pytest.approx(0.8)
    # Officers recorded on 4 incidents (not I4); every camera on before force only on I2.
    assert s.incidents_with_officers == 4
    assert s.incidents_all_on_before_force == 1 and s.share_all_on_before_force == pytest.approx(0.25)
    assert s.officer_checks == 6
    assert s.activation.model_dump() == {"before_force": 3, "late": 2, "after_force": 0, "no_footage": 1}
    # Lags -20, -10, -5, 12, 30 (a3 has none): median -5; p90 = 12 + 0.6 * (30 - 12) = 22.8.
    assert s.median_lag_s == pytest.approx(-5.0)
    assert s.p90_lag_s == pytest.approx(22.8)
    # Coverage (1 + 0.75 + 1 + 0 + 1 + 0.9) / 6.
    assert s.mean_coverage == pytest.approx(4.65 / 6)
    # Current ratings: F1 amber (re-rated from red), F2 amber, F3 green, F8 red, F9 amber; F4 calibration only.
    assert s.rag.model_dump() == {"green": 1, "amber": 3, "red": 1}
    assert s.backlog == 1  # F4
    # First ratings: F1 24h (the superseded red), F2 26h, F3 48h, F8 24h, F9 96h -> median 26h.
    assert s.median_hours_to_rating == pytest.approx(26.0)
    assert s.unacknowledged == 2 and s.unacknowledged_overdue == 2  # F1 v2 and F8
    # a2: first guidance 6 Oct (F2), then F8 red and F9 amber recorded after it -> flagged. a1 is not.
    assert [(o.staff_number, o.non_green_after_guidance) for o in s.officers_flagged] == [("A002", 2)]
    assert s.officers_flagged[0].first_guidance_at == utc(2026, 10, 6, 12)

    assert breakdown(s, "location") == {
        "A wing": (2, 1.0, 0.0),
        "B wing": (2, 1.0, 0.5),
        "Reception": (1, 0.0, None),
    }
    assert breakdown(s, "planned") == {"Planned": (1, 1.0, 1.0), "Spontaneous": (4, 0.75, 0.0)}
    assert breakdown(s, "ethnicity") == {
        "White British": (1, 1.0, 0.0),
        "Black British": (2, 0.5, 1.0),
        "Not recorded": (2, 1.0, 0.0),
    }
    assert breakdown(s, "sex") == {"Male": (2, 1.0, 0.5), "Female": (1, 0.0, None), "Not recorded": (2, 1.0, 0.0)}
    assert breakdown(s, "disability") == {
        "None": (1, 1.0, 0.0),
        "Yes": (1, 0.0, None),
        "Not recorded": (3, 1.0, 1 / 3),
    }
    assert breakdown(s, "age_band") == {
        "21-24": (1, 1.0, 0.0),
        "18-20": (1, 1.0, 1.0),
        "25-29": (1, 0.0, None),
        "Not recorded": (2, 1.0, 0.0),
    }
    shares = {r.group: r.share_of_incidents for r in next(b for b in s.breakdowns if b.name == "ethnicity").rows}
    assert shares["Black British"] == pytest.approx(0.4)

    assert [t.month for t in s.trend][0] == "2025-11" and s.trend[-1].month == "2026-10" and len(s.trend) == 12
    sep, octo = s.trend[-2], s.trend[-1]
    assert (sep.incidents, sep.share_with_footage, sep.share_all_on_before_force, sep.median_lag_s) == (1, 1.0, 0.0, 40)
    assert sep.rag.model_dump() == {"green": 1, "amber": 0, "red": 0}
    assert (octo.incidents, octo.share_with_footage, octo.share_all_on_before_force) == (5, 0.8, 0.25)
    assert octo.median_lag_s == pytest.approx(-5.0)
    assert octo.rag.model_dump() == {"green": 1, "amber": 3, "red": 1}
    assert all(t.incidents == 0 and t.median_lag_s is None for t in s.trend[:-2])


def test_empty_period_has_no_divisions_by_zero(session, world, rw):  # type: ignore[no-untyped-def]
    s = service.compliance_summary(session, world.est_a, Period(date(2025, 1, 1), date(2025, 1, 31)))
    assert s.incidents == 0 and s.share_with_footage is None and s.median_lag_s is None
    assert s.mean_coverage is None and s.median_hours_to_rating is None and s.rag.total == 0


def test_other_establishment_sees_only_its_own(session, world, rw):  # type: ignore[no-untyped-def]
    s = service.compliance_summary(session, world.est_b, OCTOBER)
    assert s.incidents == 1 and s.rag.model_dump() == {"green": 0, "amber": 0, "red": 1}
    assert s.median_lag_s == pytest.approx(100.0)


def test_officer_report_before_and_after_guidance(session, world, rw):  # type: ignore[no-untyped-def]
    a2 = service.find_officer(session, world.est_a, "A002")
    r = service.officer_report(session, a2, today=date(2026, 11, 26), months=3)
    assert r.ratings.model_dump() == {"green": 0, "amber": 2, "red": 1}
    assert r.first_guidance_at == utc(2026, 10, 6, 12)
    assert (r.before.ratings, r.before.share_green, r.before.checks, r.before.median_lag_s) == (1, 0.0, 1, 30.0)
    assert (r.after.ratings, r.after.share_green, r.after.checks) == (2, 0.0, 2)
    assert r.after.median_lag_s == pytest.approx(3.5)  # -5 and +12
    assert r.non_green_after_guidance == 2 and r.flagged is True
    assert r.unacknowledged == 1
    assert [m.month for m in r.months] == ["2026-09", "2026-10", "2026-11"]
    octo = r.months[1]
    assert octo.rag.model_dump() == {"green": 0, "amber": 2, "red": 1} and octo.checks == 3
    assert octo.median_lag_s == pytest.approx(12.0)  # 30, -5, 12
    assert [h.rag for h in r.history] == ["amber", "red", "amber"]  # F9, F8, F2 newest recording first


def test_officer_report_leaves_out_hidden_clips_and_reuses_its_statements(session, world, rw):  # type: ignore[no-untyped-def]
    """The report's statements are built once and reused with new parameters: what one call hides (a blind
    second rating the viewer owes) must not leak into the next, nor one officer's figures into another's."""
    a1 = service.find_officer(session, world.est_a, "A001")
    a2 = service.find_officer(session, world.est_a, "A002")
    day = date(2026, 11, 26)
    hidden = service.officer_report(session, a2, today=day, months=3, hide_footage={rw.footage["F9"]})
    assert hidden.ratings.model_dump() == {"green": 0, "amber": 1, "red": 1}
    assert [h.rag for h in hidden.history] == ["red", "amber"]
    assert (hidden.after.ratings, hidden.non_green_after_guidance, hidden.flagged) == (1, 1, False)
    both = service.officer_report(session, a2, today=day, months=3, hide_footage={rw.footage["F9"], rw.footage["F8"]})
    assert both.ratings.model_dump() == {"green": 0, "amber": 1, "red": 0} and len(both.history) == 1
    again = service.officer_report(session, a2, today=day, months=3)
    assert again.ratings.model_dump() == {"green": 0, "amber": 2, "red": 1} and again.flagged is True
    other = service.officer_report(session, a1, today=day, months=3)
    assert other.ratings.model_dump() == {"green": 2, "amber": 1, "red": 1}
    assert other.first_guidance_at == utc(2026, 10, 7, 10)
    one = service.officer_report(session, a2, today=day, months=1)
    assert [m.month for m in one.months] == ["2026-11"] and one.ratings.total == 3
    assert service.officer_report(session, a2, today=day, months=0).months == []


def test_officer_report_superseded_rating_is_not_the_first_guidance(session, world, rw):  # type: ignore[no-untyped-def]
    a1 = service.find_officer(session, world.est_a, "A001")
    r = service.officer_report(session, a1, today=date(2026, 11, 26), months=3)
    assert r.ratings.model_dump() == {"green": 2, "amber": 1, "red": 1}
    assert r.first_guidance_at == utc(2026, 10, 7, 10)  # F1 v2; v1 red was superseded
    assert (r.before.ratings, r.before.share_green) == (3, pytest.approx(2 / 3))
    assert r.before.median_lag_s == pytest.approx(-10.0)  # -20, -10, 40
    assert (r.after.ratings, r.after.share_green, r.after.median_lag_s) == (1, 0.0, -1.0)
    assert r.non_green_after_guidance == 1 and r.flagged is False
    # London months: F6 (15 Sep) green; F3 (30 Sep 23:29 UTC = 1 Oct 00:29 BST) green and F1 amber in October.
    assert r.months[0].share_green == 1.0 and r.months[1].share_green == 0.5
    assert r.months[1].median_lag_s == pytest.approx(-15.0)  # I1 -20, I2 -10


def test_officer_with_no_footage(session, world, rw):  # type: ignore[no-untyped-def]
    a3 = service.find_officer(session, world.est_a, "A003")
    r = service.officer_report(session, a3, today=date(2026, 11, 26), months=3)
    assert r.ratings.total == 0 and r.share_green is None and r.first_guidance_at is None
    assert r.activation.no_footage == 1 and r.median_lag_s is None and r.flagged is False
    assert r.before.checks == 1 and r.after.checks == 0 and r.history == []


def test_officers_overview(session, world, rw):  # type: ignore[no-untyped-def]
    rows = {r.staff_number: r for r in service.officers_overview(session, world.est_a, today=date(2026, 11, 26))}
    assert set(rows) == {"A001", "A002", "A003"}
    assert rows["A002"].flagged and not rows["A001"].flagged and not rows["A003"].flagged
    assert rows["A001"].rated == 4 and rows["A001"].share_green == 0.5
    assert rows["A003"].incidents == 1 and rows["A003"].no_footage == 1 and rows["A003"].rated == 0
    assert rows["A002"].median_lag_s == pytest.approx(12.0)
    assert rows["A002"].unacknowledged == 1
    assert rows["A001"].sparkline[-3:] == [1.0, 0.5, 0.0]  # Sep, Oct, Nov (London months)


def test_flagged_list_belongs_to_the_period(session, world, rw):  # type: ignore[no-untyped-def]
    # a2 is still flagged in November, but none of their non-green clips after guidance was recorded then.
    nov = service.compliance_summary(session, world.est_a, Period(date(2026, 11, 1), date(2026, 11, 30)))
    assert nov.officers_flagged == []
    # In September a2 had had no guidance yet.
    sep = service.compliance_summary(session, world.est_a, Period(date(2026, 9, 1), date(2026, 9, 30)))
    assert sep.officers_flagged == [] and sep.incidents == 1


def test_people_not_recorded_count_their_incident_once(session, world) -> None:  # type: ignore[no-untyped-def]
    """Two people on one incident, one with no ethnicity recorded (NULL, as the pages store it) and one with ""
    (as an API client may send it): one incident "not recorded", not two (a 200% share before the fix)."""
    from datetime import timedelta

    from app.incident.models import Incident, IncidentSubject

    force = utc(2026, 10, 5, 10)
    minute = timedelta(minutes=1)
    inc = Incident(establishment_id=world.est_a, reference="NR-1", location="A wing", planned=False,
                   incident_started_at=force - minute, force_started_at=force, force_ended_at=force + minute,
                   incident_ended_at=force + 2 * minute)  # fmt: skip
    session.add(inc)
    session.flush()
    session.add(IncidentSubject(incident_id=inc.id, reference="P1", ethnicity=None, sex="Male"))
    session.add(IncidentSubject(incident_id=inc.id, reference="P2", ethnicity="", sex="Male"))
    session.commit()
    summary = service.compliance_summary(session, world.est_a, Period(date(2026, 10, 1), date(2026, 10, 31)))
    assert summary.incidents == 1
    by = {b.name: [(r.group, r.incidents, r.share_of_incidents) for r in b.rows] for b in summary.breakdowns}
    assert by["ethnicity"] == [("Not recorded", 1, 1.0)]
    assert by["sex"] == [("Male", 1, 1.0)]


def test_blank_characteristics_sent_to_the_api_are_stored_as_not_recorded(world, as_user, session) -> None:  # type: ignore[no-untyped-def]
    """The pages and the CSV import store a blank characteristic as NULL; the API stored "" as sent."""
    from app.incident.models import IncidentSubject
    from tests.security.conftest import incident_body

    body = incident_body("BLANK-1", ["A001"])
    body["subjects"] = [{"reference": "A1234BC", "ethnicity": "", "age_band": "  ", "sex": "Male"}]
    r = as_user("coordinator.a").post("/api/v1/incidents", json=body)
    assert r.status_code == 201, r.text
    row = session.query(IncidentSubject).filter(IncidentSubject.incident_id == r.json()["id"]).one()
    assert (row.ethnicity, row.age_band, row.sex, row.disability) == (None, None, "Male", None)


def test_a_clip_of_two_incidents_counts_in_the_month_of_the_first(session, world) -> None:  # type: ignore[no-untyped-def]
    """A clip linked to incidents in January and September counts in January's RAG mix, the earlier month.
    The statements name the trend's months 'm<i>': unpadded, 'm10' sorted before 'm2' and put it in September."""
    import hashlib
    from datetime import timedelta

    from app.footage.models import Footage, FootageIncident, FootageStatus
    from app.incident.models import Incident
    from app.rating.models import Rag, Rating

    a1 = world.staff["a1"]
    minute = timedelta(minutes=1)
    incidents = []
    for ref, force in (("JAN-1", utc(2026, 1, 14, 10)), ("SEP-1", utc(2026, 9, 14, 10))):
        inc = Incident(establishment_id=world.est_a, reference=ref, location="A wing", planned=False,
                       incident_started_at=force - minute, force_started_at=force, force_ended_at=force + minute,
                       incident_ended_at=force + 2 * minute)  # fmt: skip
        session.add(inc)
        session.flush()
        incidents.append(inc)
    recorded = utc(2026, 1, 14, 9, 59)
    digest = hashlib.sha256(b"two-incidents").hexdigest()
    clip = Footage(establishment_id=world.est_a, wearer_id=a1, recording_started_at=recorded, activated_at=recorded,
                   original_filename="two.mp4", size_bytes=1000, sha256=digest, storage_key=digest,
                   status=FootageStatus.analysed, duration_s=600.0)  # fmt: skip
    session.add(clip)
    session.flush()
    for inc in incidents:
        session.add(FootageIncident(footage_id=clip.id, incident_id=inc.id, establishment_id=world.est_a,
                                    force_started_at=inc.force_started_at))  # fmt: skip
    session.add(Rating(footage_id=clip.id, establishment_id=world.est_a, wearer_id=a1, recorded_at=recorded,
                       rag=Rag.green, rated_at=utc(2026, 1, 20, 10), rated_by_user_id=world.users["coordinator_a"],
                       guidance=""))  # fmt: skip
    session.commit()
    summary = service.compliance_summary(session, world.est_a, Period(date(2025, 11, 1), date(2026, 10, 31)))
    greens = {m.month: m.rag.green for m in summary.trend if m.rag.green}
    assert greens == {"2026-01": 1}
    assert summary.rag.green == 1


def _clip_of(session, world, key: str, forces, rated_at, rag="green"):  # type: ignore[no-untyped-def]
    """An analysed clip of a1's linked to one new incident per force start (UTC), with one current rating."""
    import hashlib
    from datetime import timedelta

    from app.footage.models import Footage, FootageIncident, FootageStatus
    from app.incident.models import Incident
    from app.rating.models import Rag, Rating

    a1 = world.staff["a1"]
    minute = timedelta(minutes=1)
    recorded = forces[0] - minute
    digest = hashlib.sha256(key.encode()).hexdigest()
    clip = Footage(establishment_id=world.est_a, wearer_id=a1, recording_started_at=recorded, activated_at=recorded,
                   original_filename=f"{key}.mp4", size_bytes=1000, sha256=digest, storage_key=digest,
                   status=FootageStatus.analysed, duration_s=600.0)  # fmt: skip
    session.add(clip)
    session.flush()
    for i, force in enumerate(forces):
        inc = Incident(establishment_id=world.est_a, reference=f"{key}-{i}", location="A wing", planned=False,
                       incident_started_at=force - minute, force_started_at=force, force_ended_at=force + minute,
                       incident_ended_at=force + 2 * minute)  # fmt: skip
        session.add(inc)
        session.flush()
        session.add(FootageIncident(footage_id=clip.id, incident_id=inc.id, establishment_id=world.est_a,
                                    force_started_at=force))  # fmt: skip
    session.add(Rating(footage_id=clip.id, establishment_id=world.est_a, wearer_id=a1, recorded_at=recorded,
                       rag=Rag(rag), rated_at=rated_at, rated_by_user_id=world.users["coordinator_a"],
                       guidance="" if rag == "green" else "Switch on sooner"))  # fmt: skip
    session.commit()
    return clip.id


def test_a_clip_counts_in_the_month_of_its_first_incident_even_before_the_trend(session, world) -> None:  # type: ignore[no-untyped-def]
    """A clip of incidents at 31 Oct 2025 23:55 and 1 Nov 2025 00:05 belongs to October 2025: a trend that
    starts in November leaves it out, as one that starts in October counts it there. It used to count in
    November, as the October link lay outside the months read."""
    _clip_of(session, world, "EDGE", [utc(2025, 10, 31, 23, 55), utc(2025, 11, 1, 0, 5)], utc(2025, 11, 2, 10))
    from_nov = service.compliance_summary(session, world.est_a, Period(date(2026, 10, 1), date(2026, 10, 31)))
    assert from_nov.trend[0].month == "2025-11"
    assert {m.month: m.rag.total for m in from_nov.trend if m.rag.total} == {}
    from_oct = service.compliance_summary(session, world.est_a, Period(date(2026, 9, 1), date(2026, 9, 30)))
    assert {m.month: m.rag.total for m in from_oct.trend if m.rag.total} == {"2025-10": 1}
    # The period's RAG mix counts the clip in the period of either incident.
    nov = service.compliance_summary(session, world.est_a, Period(date(2025, 11, 1), date(2025, 11, 30)))
    assert nov.rag.green == 1 and nov.backlog == 0


def test_a_clip_rated_long_before_a_later_incident_is_rated_not_backlog(session, world) -> None:  # type: ignore[no-untyped-def]
    """A clip linked to an incident in January 2025 and rated then, later linked (Link anyway) to one in
    October 2026: October's summary counts its rating in the RAG mix, not the clip in the backlog."""
    _clip_of(session, world, "LATE-LINK", [utc(2025, 1, 10, 10), utc(2026, 10, 12, 10)], utc(2025, 1, 11, 10), "amber")
    s = service.compliance_summary(session, world.est_a, Period(date(2026, 10, 1), date(2026, 10, 31)))
    assert s.rag.amber == 1 and s.backlog == 0
    # Rated 21 months before the October incident: no wait for it (it was -15,336 hours).
    assert s.median_hours_to_rating is None


def test_the_summary_hides_clips_the_viewer_owes_a_blind_rating(session, world, app, as_user) -> None:  # type: ignore[no-untyped-def]
    """A coordinator who owes a blind second rating of F9 must not learn its first rating from the summary:
    not from the RAG mix, the trend, the unacknowledged count nor the officers flagged (a2 is flagged for
    F8 and F9 together). Other viewers see it."""
    from app.rating.models import CalibrationAssignment

    rw = build(session, world)
    coordinator = world.users["coordinator_a"]
    session.add(CalibrationAssignment(establishment_id=world.est_a, footage_id=rw.footage["F9"],
                                      first_rating_id=rw.ratings["F9"], assigned_to_user_id=coordinator,
                                      requested_by_user_id=coordinator))  # fmt: skip
    session.commit()
    hidden = service.compliance_summary(session, world.est_a, OCTOBER, hide_footage={rw.footage["F9"]})
    assert hidden.rag.model_dump() == {"green": 1, "amber": 2, "red": 1}
    assert hidden.trend[-1].rag.model_dump() == {"green": 1, "amber": 2, "red": 1}
    assert hidden.officers_flagged == []
    shown = service.compliance_summary(session, world.est_a, OCTOBER)
    assert shown.rag.amber == 3 and [o.staff_number for o in shown.officers_flagged] == ["A002"]
    assert hidden.backlog == shown.backlog == 1  # F9 is rated, if hidden: no backlog

    r = as_user("coordinator.a").get("/api/v1/reports/compliance", params={"from": "2026-10-01", "to": "2026-10-31"})
    assert r.status_code == 200, r.text
    assert r.json()["rag"] == {"green": 1, "amber": 2, "red": 1} and r.json()["officers_flagged"] == []
    from tests.support import browser_sign_in, make_client

    c = make_client(app)
    browser_sign_in(c, "coordinator.a")
    page = c.get("/reports/compliance", params={"from": "2026-10-01", "to": "2026-10-31"})
    assert page.status_code == 200 and "A002" not in page.text
