"""The review queue and the coordinator's home page on many clips (bench/pages.py measures them on five years
of a large prison): the queue's statements do not grow with the clips, and the home page's "No footage" card
counted by the database agrees with the queue's own list in every case."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.core.types import utcnow
from app.footage.models import Finding, FootageIncident, FootageStatus
from app.incident.models import IncidentStaff
from app.rating import service
from tests.rating.conftest import T0


def test_queue_statements_do_not_list_every_clip(
    engine, session: Session, world, make_incident, make_clip, monkeypatch
):  # type: ignore[no-untyped-def]
    """Listed as one parameter a clip, the queue's statements failed past PostgreSQL's 65,535 parameters
    (a 503 on the review queue and the review screen of a large prison). The queue is worked out by statements
    that do not grow with the clips; the clips a page shows are read by their ids, ROWS_CHUNK at a time."""
    monkeypatch.setattr(service, "ROWS_CHUNK", 5)

    def some_clips(first_day: int) -> None:
        for day in range(first_day, first_day + 12):
            inc = make_incident(at=T0 + timedelta(days=day), staff=("a1", "a2"))
            make_clip(inc, "a1", segments=(("dark", 1, 3),))
            make_clip(inc, "a2")
        make_clip(None, "a1")

    def statements(work: Any) -> tuple[list[int], Any]:
        sizes: list[int] = []

        def keep(_conn: Any, _cur: Any, _stmt: str, params: Any, _ctx: Any, _many: bool) -> None:
            sizes.append(len(params) if isinstance(params, (dict, list, tuple)) else 0)

        event.listen(engine, "before_cursor_execute", keep)
        try:
            return sizes, work()
        finally:
            event.remove(engine, "before_cursor_execute", keep)

    every = service.QueueFilters(status="all")
    some_clips(0)
    few, queue = statements(lambda: service.build_queue(session, world.est_a, every, fill=False))
    assert sum(len(g.entries) for g in queue.groups) == 25 and not any(g.clips for g in queue.groups)
    some_clips(20)
    more, queue = statements(lambda: service.build_queue(session, world.est_a, every, fill=False))
    assert sum(len(g.entries) for g in queue.groups) == 50
    assert few == more  # as many statements, with as many parameters, for twice the clips
    filling, _ = statements(lambda: service.fill_groups(session, world.est_a, queue.groups))
    assert sum(len(g.clips) for g in queue.groups) == 50
    assert filling and max(filling) < 10, filling
    # Only some columns of each clip and incident are read: nothing loads the rest clip by clip.
    assert len(filling) <= 6 * 10 + 2, f"{len(filling)} statements for 10 chunks of clips"
    rows = [r for g in queue.groups for r in g.clips]
    assert sum(1 for r in rows if r.facts.segments) == 24  # segments still reach their clips
    assert sum(1 for r in rows if r.flagged) == 24  # the clips with a dark stretch, and only those


def test_home_no_footage_count_agrees_with_the_queue(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    def both() -> tuple[int, int]:
        listed = service.missing_count(service.missing_footage(session, world.est_a)[1])
        return service.missing_footage_counts(session, world.est_a)[0], listed

    assert both() == (0, 0)
    bare = make_incident(at=T0, staff=())  # nothing linked, nobody recorded: 1
    assert both() == (1, 1)
    two = make_incident(at=T0 + timedelta(days=1), staff=("a1", "a2"))  # nothing linked: each officer, 2
    assert both() == (3, 3)
    half = make_incident(at=T0 + timedelta(days=2), staff=("a1", "a2"))
    make_clip(half, "a1")  # a2 has none: 1
    assert both() == (4, 4)
    covered = make_incident(at=T0 + timedelta(days=3), staff=("a1",))
    clip = make_clip(covered, "a1")
    assert both() == (4, 4)
    clip.purged_at = utcnow()  # the footage was there before retention deleted it: not missing
    clip.status = FootageStatus.purged
    session.add(clip)
    session.commit()
    assert both() == (4, 4)
    make_incident(at=T0 + timedelta(days=3, hours=1), staff=("a1",))  # nothing linked: 1
    assert both() == (5, 5)
    # An officer of another establishment recorded on this one's incident is not listed; the incident, with
    # nothing linked, counts once. An unrelated clip of the officer's (another incident) changes nothing.
    other = make_incident(at=T0 + timedelta(days=4), staff=())
    session.add(IncidentStaff(incident_id=other.id, staff_member_id=world.staff["b1"], part="Head"))
    session.commit()
    make_clip(make_incident("b", at=T0, staff=("b1",)), "b1")
    assert both() == (6, 6)
    # Another establishment's incidents never count here.
    make_incident("b", at=T0 + timedelta(days=5), staff=("b1",))
    assert both() == (6, 6)
    assert bare.id and two.id
    assert session.exec(sa.select(sa.func.count()).select_from(IncidentStaff)).one()[0] >= 6  # type: ignore[call-overload]


def test_queue_lists_a_page_of_incidents_at_a_time(client, session, world, make_incident, make_clip, monkeypatch):  # type: ignore[no-untyped-def]
    from app.rating import views
    from tests.support import browser_sign_in

    monkeypatch.setattr(views, "QUEUE_PAGE", 2)
    browser_sign_in(client, "coordinator.a")
    incs = [make_incident(at=T0 + timedelta(days=d), staff=("a1",)) for d in range(5)]
    clips = [make_clip(inc, "a1") for inc in incs]
    first = client.get("/review").text
    assert incs[0].reference in first and incs[1].reference in first and incs[2].reference not in first
    assert "<strong>5</strong> clips in all" in first  # the figures count every page
    assert "Incidents 1 to 2 of 5, oldest first" in first
    assert 'href="/review?page=2"' in first and 'href="/review?page=3"' in first
    assert f'/review/{clips[0].id}" data-bwv-start-review' in first
    last = client.get("/review?status=all&page=3").text
    session.expire_all()
    views = session.exec(select(AuditEvent).where(AuditEvent.action == "review_queue_view")).all()
    assert [v.detail.get("page") for v in views][-2:] == [None, 3]  # which page was seen is audited
    assert incs[4].reference in last and incs[0].reference not in last
    assert "Incidents 5 to 5 of 5, oldest first" in last and 'href="/review?status=all&amp;page=2"' in last
    # A page past the end shows the last; a page that is not a number, the first.
    assert incs[4].reference in client.get("/review?page=99").text
    assert incs[0].reference in client.get("/review?page=x").text
    assert client.get("/review?page=-1").status_code == 200
    # A clip opened from page 2 goes back to page 2, by its link and after it is saved.
    second = client.get("/review?page=2").text
    assert f'href="/review/{clips[2].id}?page=2"' in second and f'href="/review/{clips[0].id}?' not in second
    screen = client.get(f"/review/{clips[2].id}?page=2").text
    assert f'href="/review?page=2&amp;near={clips[2].id}">Back to queue' in screen
    assert client.get(f"/review/{clips[2].id}?page=abc").text.count("page=abc") == 0
    for c in clips:
        form = client.get(f"/review/{c.id}?page=2")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        saved = client.post(
            f"/review/{c.id}",
            data={"csrf_token": token, "rag": "green", "queue": "page=2", "override_reason": "Seen on the footage"},
            follow_redirects=False,
        )
        assert saved.status_code == 303, saved.text[:500]
    assert saved.headers["location"].startswith("/review?page=2&saved=")  # none left: the page it came from
    assert saved.headers["location"].endswith(f"&near={clips[-1].id}")


def test_back_to_the_queue_opens_the_page_where_the_clip_is_now(client, world, make_incident, make_clip, monkeypatch):  # type: ignore[no-untyped-def]
    """A clip opened from page 4 carries page=4. Once the coordinator has rated the clips of earlier incidents
    they drop out of the queue, and page 4 is past this clip: "Back to queue" opens the page it is on now,
    or, once it has been rated too, the page where it stood."""
    from app.rating import views
    from tests.support import browser_sign_in

    monkeypatch.setattr(views, "QUEUE_PAGE", 2)
    browser_sign_in(client, "coordinator.a")
    incs = [make_incident(at=T0 + timedelta(days=d), staff=("a1",)) for d in range(12)]
    clips = [make_clip(inc, "a1") for inc in incs]
    opened = client.get(f"/review/{clips[6].id}?page=4").text
    back = opened.split('">Back to queue')[0].rsplit('href="', 1)[1].replace("&amp;", "&")
    assert back == f"/review?page=4&near={clips[6].id}"
    assert "Incidents 7 to 8 of 12" in client.get(back).text  # nothing rated yet: page 4 still

    def rate(clip):  # type: ignore[no-untyped-def]
        form = client.get(f"/review/{clip.id}")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        data = {"csrf_token": token, "rag": "green", "override_reason": "Seen on the footage"}
        r = client.post(f"/review/{clip.id}", data=data, follow_redirects=False)
        assert r.status_code == 303, r.text[:300]

    for c in clips[:4]:
        rate(c)
    assert "Incidents 7 to 8 of 8" in client.get("/review?page=4").text  # page 4 is now incidents 11 and 12
    now = client.get(back).text  # incident 7 is the third of the eight left: page 2
    assert "Incidents 3 to 4 of 8" in now and incs[6].reference in now
    rate(clips[6])
    after = client.get(back).text  # rated, it has left: page 2 holds where it stood, before incident 8
    assert "Incidents 3 to 4 of 7" in after and incs[7].reference in after
    # A clip of another establishment, or none, changes nothing: the page asked for.
    assert "Incidents 1 to 2 of 7" in client.get("/review?near=999999").text
    theirs = make_clip(make_incident("b", at=T0 + timedelta(days=9), staff=("b1",)), "b1")
    assert "Incidents 1 to 2 of 7" in client.get(f"/review?near={theirs.id}").text


def test_review_order_from_the_unrated_alone_is_the_queues(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """The review screen's "clip N of M" and "next" read only the unrated clips when every clip is in the
    sample: the same clips in the same order as the whole queue, ties in force time included."""
    from app.core.db import unit_of_work
    from app.establishment.models import Establishment
    from app.footage.models import Footage
    from app.rating.models import Rag

    user_id = world.users["coordinator_a"]
    same_moment = [make_incident(at=T0, staff=("a1", "a2")) for _ in range(3)]
    later = make_incident(at=T0 + timedelta(days=2), staff=("a1",), location="B wing")
    clips = [make_clip(inc, w) for inc in [*same_moment, later] for w in ("a1", "a2")]
    clips.append(make_clip(None, "a2"))
    # A clip of the last of the same-moment incidents, linked to the first too: it belongs to the first
    # (the lower id), whatever order the database returns its links in, as on its review screen.
    both = make_clip(same_moment[2], "a1")
    session.add(
        FootageIncident(
            footage_id=both.id,
            incident_id=same_moment[0].id,
            source="manual",
            establishment_id=world.est_a,
            force_started_at=same_moment[0].force_started_at,
        )
    )
    session.commit()
    clips.append(both)
    for c in clips[1::3]:
        with unit_of_work() as s:
            service.create_rating(s, s.get(Footage, c.id), service.RatingInput(rag=Rag.green), user_id=user_id)
    session.expire_all()
    est = session.get(Establishment, world.est_a)
    for percent in (100, 40):
        est.review_sample_percent = percent
        session.add(est)
        session.commit()
        for f in (
            service.QueueFilters(),
            service.QueueFilters(location="B wing"),
            service.QueueFilters(officer=world.staff["a2"]),
            service.QueueFilters(check="before_force"),
        ):
            whole = service.build_queue(session, world.est_a, f, fill=True).order
            assert whole == service.build_queue(session, world.est_a, f, order_only=True).order, (percent, f)
            assert service.next_in(service.review_order(session, world.est_a, f), None) == (whole[0] if whole else None)
    est.review_sample_percent = 100
    session.add(est)
    session.commit()
    queue = service.build_queue(session, world.est_a, service.QueueFilters(), fill=True)
    assert len(queue.order) == len(clips) - 3
    first = next(g for g in queue.groups if g.incident and g.incident.id == same_moment[0].id)
    assert both.id in [r.footage.id for r in first.clips]
    assert service.primary_incident(session, both.id).id == same_moment[0].id  # type: ignore[union-attr]
    unrated = service.load_clips(session, world.est_a, unrated_only=True)
    assert sorted(r.footage.id for r in unrated) == sorted(c.id for i, c in enumerate(clips) if i % 3 != 1)


def _mixed_clips(session: Session, world, make_incident, make_clip) -> tuple[list[service.QueueFilters], Any]:  # type: ignore[no-untyped-def]
    """Clips in every state the queue meets (rated, re-rated, purged, processing, failed, with no incident,
    linked to two incidents, to two at the same moment, to another establishment's incident, worn by either
    officer, another establishment's), and the filters to look at them by. Returns the filters and the purged
    clip."""
    import random

    from app.core.db import unit_of_work
    from app.footage.models import Footage, FootageStatus
    from app.rating.models import Rag

    rnd = random.Random(7)
    user_id = world.users["coordinator_a"]
    # Incidents recorded out of time order (ids do not follow force times), two of them at the same moment.
    days = [T0 + timedelta(days=d, hours=h) for d, h in ((8, 0), (0, 23), (3, 5), (0, 0), (3, 5), (1, 12))]
    incs = [make_incident(at=at, staff=("a1", "a2"), location=rnd.choice(("A wing", "B wing"))) for at in days]
    elsewhere = make_incident("b", at=T0 - timedelta(days=1), staff=("b1",))
    clips = []
    for _ in range(40):
        inc = rnd.choice([*incs, None])
        status = rnd.choice([FootageStatus.analysed] * 4 + [FootageStatus.failed, FootageStatus.queued])
        clips.append(make_clip(inc, rnd.choice(("a1", "a2")), lead=rnd.choice((5, 10, 30)), status=status))
    clips.append(make_clip(elsewhere, "b1"))
    # Of two incidents at the same moment, a clip belongs to the first recorded, whichever it was filed under.
    for own, also in ((incs[4], incs[2]), (incs[2], incs[4]), (incs[4], incs[2])):
        both = make_clip(own, "a1")
        session.add(
            FootageIncident(
                footage_id=both.id,
                incident_id=also.id,
                source="manual",
                establishment_id=world.est_a,
                force_started_at=also.force_started_at,
            )
        )
    for c in rnd.sample(clips[:40], 12):  # a second incident: an earlier, a later, or another establishment's
        other = rnd.choice([*incs, elsewhere])
        if any(link.incident_id == other.id for link in session.exec(
            select(FootageIncident).where(FootageIncident.footage_id == c.id)
        )):  # fmt: skip
            continue
        session.add(
            FootageIncident(
                footage_id=c.id,
                incident_id=other.id,
                source="manual",
                establishment_id=other.establishment_id,
                force_started_at=other.force_started_at,
            )
        )
    session.commit()
    for c in rnd.sample([c for c in clips[:40] if c.status == FootageStatus.analysed], 10):
        for rag in rnd.sample([Rag.green, Rag.amber], rnd.choice((1, 2))):
            with unit_of_work() as s:
                data = service.RatingInput(
                    rag=rag, guidance="Switch on sooner next time, please.", override_reason="Seen on the footage"
                )
                current = service.current_rating(s, c.id)
                if current is not None:
                    data.rerating_reason = "Looked again at the start"
                service.create_rating(s, s.get(Footage, c.id), data, user_id=user_id)
    with unit_of_work() as s:  # a rated clip of two incidents at the same moment
        data = service.RatingInput(rag=Rag.green, override_reason="Seen on the footage")
        service.create_rating(s, s.get(Footage, both.id), data, user_id=user_id)
    unrated = [c for c in clips if c.status == FootageStatus.analysed and service.current_rating(session, c.id) is None]
    purged = unrated[0]
    session.execute(sa.update(Footage).where(Footage.id == purged.id).values(purged_at=utcnow()))  # type: ignore[arg-type]
    session.commit()
    session.expire_all()
    day = days[3].date()
    cases = [
        service.QueueFilters(),
        service.QueueFilters(location="B wing"),
        service.QueueFilters(officer=world.staff["a2"]),
        service.QueueFilters(date_from=day),
        service.QueueFilters(date_to=day),
        service.QueueFilters(date_from=day, date_to=day, location="A wing", officer=world.staff["a1"]),
        service.QueueFilters(date_from=T0.date() - timedelta(days=30)),
    ]
    return cases, purged


def test_review_order_read_by_the_database_is_the_queues(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """With every clip in the sample and no check asked for, the review screen's order comes from one
    statement of the clips' ids. It is the whole queue's order under every filter, whatever state the clips
    are in: rated, re-rated, purged, processing, failed, with no incident, linked to two incidents, linked to
    another establishment's incident, worn by another officer, or in another establishment."""
    cases, purged = _mixed_clips(session, world, make_incident, make_clip)
    statements: list[str] = []
    engine = session.get_bind()
    listen = lambda _c, _cur, stmt, *_a: statements.append(stmt)  # noqa: E731
    for f in cases:
        whole = service.build_queue(session, world.est_a, f, read_all=True, fill=True).order
        event.listen(engine, "before_cursor_execute", listen)
        try:
            by_sql = service.review_order(session, world.est_a, f)
        finally:
            event.remove(engine, "before_cursor_execute", listen)
        assert by_sql == whole, f
        assert purged.id not in by_sql
        assert service.next_in(service.review_order(session, world.est_a, f), by_sql[0] if by_sql else None) == (
            service.next_in(whole, whole[0] if whole else None)
        )
        # One statement for the order, beside reading the establishment's own row.
        assert sum(1 for st in statements if "first_incident" in st) == 1
        assert len(statements) <= 2, statements
        statements.clear()
    assert service.review_order(session, world.est_a, service.QueueFilters())  # the case is not empty


def _missing_read_whole(session: Session, est: int, f: service.QueueFilters) -> dict[int, list[int]]:
    """What the queue listed as "No footage" when it read every incident, involvement and link into Python:
    the reference the database's own answer is held to."""
    from zoneinfo import ZoneInfo

    from app.core.config import get_settings
    from app.footage.models import Footage
    from app.incident.models import Incident
    from app.staff.models import StaffMember

    tz = ZoneInfo(get_settings().timezone)
    staff = {s.id for s in session.exec(select(StaffMember).where(StaffMember.establishment_id == est))}
    worn: dict[int, set[int | None]] = {}
    for iid, wearer in session.exec(
        select(FootageIncident.incident_id, Footage.wearer_id)
        .join(Footage, Footage.id == FootageIncident.footage_id)  # type: ignore[arg-type]
        .where(Footage.establishment_id == est)  # purged clips too: the footage was there
    ):
        worn.setdefault(iid, set()).add(wearer)
    out: dict[int, list[int]] = {}
    for inc in session.exec(select(Incident).where(Incident.establishment_id == est)):
        local = inc.force_started_at.astimezone(tz).date()
        if (f.date_from and local < f.date_from) or (f.date_to and local > f.date_to):
            continue
        if f.location and inc.location != f.location:
            continue
        involved = session.exec(select(IncidentStaff.staff_member_id).where(IncidentStaff.incident_id == inc.id))
        miss = [s for s in involved if s in staff and s not in worn.get(inc.id, set()) and f.officer in (None, s)]  # type: ignore[arg-type]
        if miss or (inc.id not in worn and f.officer is None):
            out[inc.id] = sorted(miss)  # type: ignore[index]
    return out


def test_no_footage_found_by_the_database_is_what_reading_everything_found(
    session: Session, world, make_incident, make_clip
):  # type: ignore[no-untyped-def]
    """The queue's "No footage" list, worked out by the database, against reading every incident, officer and
    link: on random incidents, officers (of this establishment and another), clips (live, purged, linked to two
    incidents) and every filter. A purged clip counts as footage: it was there before retention deleted it."""
    import random

    from app.footage.models import Footage

    rnd = random.Random(11)
    incs = []
    for i in range(30):
        staff = tuple(rnd.sample(("a1", "a2"), rnd.choice((0, 1, 1, 2))))
        at = T0 + timedelta(days=i % 6, hours=rnd.choice((0, 23)))
        incs.append(make_incident(at=at, staff=staff, location=rnd.choice(("A wing", "B wing"))))
    session.add(IncidentStaff(incident_id=incs[3].id, staff_member_id=world.staff["b1"], part="Head"))
    make_incident("b", at=T0, staff=("b1",))
    for _ in range(25):
        clip = make_clip(rnd.choice(incs), rnd.choice(("a1", "a2")))
        if rnd.random() < 0.2:
            clip.purged_at = utcnow()
            session.add(clip)
        if rnd.random() < 0.2:
            other = rnd.choice(incs)
            session.add(
                FootageIncident(
                    footage_id=clip.id,
                    incident_id=other.id,
                    source="manual",
                    establishment_id=world.est_a,
                    force_started_at=other.force_started_at,
                )
            )
            session.commit()
    session.commit()
    session.expire_all()
    day = (T0 + timedelta(days=2)).date()
    cases = [
        service.QueueFilters(),
        service.QueueFilters(location="B wing"),
        service.QueueFilters(officer=world.staff["a2"]),
        service.QueueFilters(officer=world.staff["b1"]),
        service.QueueFilters(date_from=day),
        service.QueueFilters(date_to=day),
        service.QueueFilters(date_from=day, date_to=day, location="A wing", officer=world.staff["a1"]),
    ]
    for f in cases:
        incidents, missing = service.missing_footage(session, world.est_a, f)
        assert {k: sorted(s.id for s in v) for k, v in missing.items()} == _missing_read_whole(
            session, world.est_a, f
        ), f
        assert [i.id for i in incidents] == list(missing)  # the incidents listed, in force-start order
        starts = [(i.force_started_at, i.id) for i in incidents]
        assert starts == sorted(starts)
    everything = service.missing_footage(session, world.est_a)[1]
    assert any(v == [] for v in everything.values()) and any(len(v) > 1 for v in everything.values())
    assert service.missing_count(everything) == service.missing_footage_counts(session, world.est_a)[0]
    assert Footage  # (imported for the purge above)


def test_queue_as_it_opens_reads_the_unrated_and_counts_the_rated(
    session: Session, world, make_incident, make_clip, monkeypatch
):  # type: ignore[no-untyped-def]
    """With every clip in the sample, the queue as it opens (the unrated, no check or "No footage") reads only
    the unrated clips and has the database count the rated. Every figure, group and clip is as when it reads
    every clip, under every filter."""
    cases, _purged = _mixed_clips(session, world, make_incident, make_clip)

    def seen(q: service.Queue) -> tuple[Any, ...]:
        groups = [
            (g.incident.id if g.incident else None, [r.footage.id for r in g.clips], [m.id for m in g.missing])
            for g in q.groups
        ]
        return groups, q.counts, q.check_counts, q.order, q.total_clips, q.sample_size

    checked = 0
    for f in cases:
        for status in ("to_review", "unrated"):
            for check in (None, "no_footage"):
                shown = service.QueueFilters(**{**f.__dict__, "status": status, "check": check})
                quick = service.build_queue(session, world.est_a, shown, fill=True)
                assert seen(quick) == seen(
                    service.build_queue(session, world.est_a, shown, read_all=True, fill=True)
                ), shown
                checked += quick.counts["rated"]
        rated = service.build_queue(
            session, world.est_a, service.QueueFilters(**{**f.__dict__, "status": "rated"}), fill=True
        )
        assert service.rated_count(session, world.est_a, f) == len([r for g in rated.groups for r in g.clips]), f
    assert checked  # rated clips were counted
    # The quick way reads only the unrated clips; reading every clip reads the rated too.
    read: list[int] = []
    index = service._queue_index

    def counted(*args: Any, **kwargs: Any) -> Any:
        got = index(*args, **kwargs)
        read.append(len(got))
        return got

    monkeypatch.setattr(service, "_queue_index", counted)
    quick_queue = service.build_queue(session, world.est_a, service.QueueFilters(), fill=True)
    service.build_queue(session, world.est_a, service.QueueFilters(), read_all=True, fill=True)
    assert read == [quick_queue.counts["unrated"], quick_queue.total_clips]
    assert quick_queue.counts["rated"] > 0


def test_queue_check_and_flag_agree_with_the_whole_facts(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """The database works out each clip's check and flag for the queue (`rules.clip_facts` and
    `ClipFacts.flagged` in SQL); the whole facts, worked out in Python for the clips a page shows, say the same
    of every clip."""
    inc = make_incident(at=T0, staff=("a1", "a2"))  # force for 30 s
    clips = {
        "on before force": make_clip(inc, "a1"),
        "file problem": make_clip(inc, "a1"),
        "late": make_clip(inc, "a1", lead=10, press=15),
        "stopped early": make_clip(inc, "a2", lead=0, press=0, length=5),
        "after force": make_clip(inc, "a2", lead=-1000, press=1),
        "no-length stretch": make_clip(inc, "a1", segments=(("frozen", 3, 3),)),
        "dark": make_clip(inc, "a1", segments=(("dark", 3, 9),)),
        "no incident": make_clip(None, "a1"),
        "no incident, dark": make_clip(None, "a1", segments=(("dark", 1, 2),)),
        "failed": make_clip(inc, "a2", status=FootageStatus.failed),
        # No press logged: the first frame plus the buffer, here the very moment force began (2.5 s)...
        "buffer to the moment": make_clip(inc, "a2", lead=2.5, press=2.5),
        # ... and a buffer longer than the clip, which ended before force began: pressed at its last frame.
        "buffer past the end": make_clip(inc, "a2", lead=10, press=30, length=5),
        "buffer, late": make_clip(inc, "a2", lead=2.5, press=3.75),
        # Ends exactly as force ends (in floating point, -2.3 + 32.3 falls short of 30).
        "ends as force ends": make_clip(inc, "a1", lead=2.3, press=0, length=32.3),
        # Switched on 0.4 ms after force began: late (SQLite's julianday() alone cannot tell).
        "0.4 ms late": make_clip(inc, "a1", lead=-0.0004, press=0),
        # 29.96985 s of the 30 s window, 0.998995: 0.999 to four places, so the whole of it.
        "all but 30.15 ms": make_clip(inc, "a2", lead=-0.03015, press=-1),
        # 29.96835 s, 0.998945: 0.9989, part of it missing.
        "all but 31.65 ms": make_clip(inc, "a2", lead=-0.03165, press=-1),
    }
    for name in ("buffer to the moment", "buffer past the end", "buffer, late"):
        clips[name].activated_at = None
        session.add(clips[name])
    session.add(Finding(footage_id=clips["file problem"].id, kind="truncated"))
    session.commit()
    rows = {r.footage.id: r for r in service.load_clips(session, world.est_a)}
    got = {name: (rows[f.id].check, rows[f.id].flagged) for name, f in clips.items()}
    assert got == {
        "on before force": ("before_force", False),
        "file problem": ("before_force", True),
        "late": ("late", True),
        "stopped early": ("before_force", True),
        "after force": ("after_force", True),
        "no-length stretch": ("before_force", False),
        "dark": ("before_force", True),
        "no incident": (None, False),
        "no incident, dark": (None, True),
        "failed": ("before_force", True),
        "buffer to the moment": ("before_force", False),
        "buffer past the end": ("before_force", True),
        "buffer, late": ("late", True),
        "ends as force ends": ("before_force", False),
        "0.4 ms late": ("late", True),
        "all but 30.15 ms": ("before_force", False),
        "all but 31.65 ms": ("before_force", True),
    }
    for r in rows.values():
        assert r.check == r.facts.status
        assert r.flagged == (r.facts.flagged or r.footage.status == FootageStatus.failed)


def test_the_queue_sees_its_own_transactions_links(engine, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    """Built in a transaction that has just linked a clip (not committed), the queue counts the officer as
    having footage. A second connection (`side_connection`, for a page's GET) would see only what is committed."""
    from app.core.db import unit_of_work
    from app.footage.models import FootageIncident
    from tests.rating.conftest import T0

    inc = make_incident(at=T0, staff=("a1",))
    clip = make_clip(None, "a1")
    with unit_of_work(engine) as s:
        link = FootageIncident(
            footage_id=clip.id,
            incident_id=inc.id,
            source="manual",
            establishment_id=inc.establishment_id,
            force_started_at=inc.force_started_at,
        )
        s.add(link)
        s.flush()
        queue = service.build_queue(s, world.est_a, service.QueueFilters(status="all"))
        assert queue.check_counts["no_footage"] == 0
        assert [(len(g.entries), g.missing) for g in queue.groups if g.key == inc.id] == [(1, [])]
        s.rollback()
