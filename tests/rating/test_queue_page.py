"""A page of the review queue (`service.queue_page`, what /review shows) worked out by the database: the same
incidents, clips, officers with no footage, figures and first clip to review as the whole queue worked out in
Python (`build_queue`) and sliced, under every filter, status, check and page, and with a sample below 100%."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event
from sqlmodel import Session

from app.establishment.models import Establishment
from app.footage.models import Footage
from app.rating import service
from tests.rating.conftest import T0
from tests.rating.test_queue_scale import _mixed_clips


def _groups(groups: list[service.IncidentGroup]) -> list[tuple[Any, ...]]:
    return [
        (
            g.key,
            g.incident.id if g.incident else None,
            [r.footage.id for r in g.clips],
            [(r.check, r.flagged, r.rating.version if r.rating else None, r.in_sample) for r in g.clips],
            [m.id for m in g.missing],
        )
        for g in groups
    ]


def _whole(session: Session, est: int, f: service.QueueFilters) -> tuple[service.Queue, dict[str, Any]]:
    q = service.build_queue(session, est, f, read_all=True, fill=True)
    figures = {
        "counts": q.counts,
        "check_counts": q.check_counts,
        "total_clips": q.total_clips,
        "sample_size": q.sample_size,
        "incidents": len([g for g in q.groups if g.key is not None]),
        "shown": sum(len(g.entries) for g in q.groups),
        "start": q.order[0] if q.order else None,
    }
    return q, figures


def _figures(p: service.QueuePage) -> dict[str, Any]:
    return {
        "counts": p.counts,
        "check_counts": p.check_counts,
        "total_clips": p.total_clips,
        "sample_size": p.sample_size,
        "incidents": p.incidents,
        "shown": p.shown,
        "start": p.start,
    }


def _layout(groups: list[service.IncidentGroup], per_page: int, loose_per_page: int) -> tuple[int, int]:
    """(pages of incidents, pages in all): the clips linked to no incident (the last group) `loose_per_page` a
    page, the first of them on the last page of incidents."""
    loose = groups[-1] if groups and groups[-1].key is None else None
    n = len(loose.entries) if loose is not None else 0
    base = max(1, -(-len(groups) // per_page))
    return base, base + max(0, -(-n // loose_per_page) - 1)


def _expected(
    groups: list[service.IncidentGroup], page: int, per_page: int, loose_per_page: int
) -> list[tuple[Any, ...]]:
    base, _pages = _layout(groups, per_page, loose_per_page)
    chunk = max(0, page - base)
    shown = groups[(page - 1) * per_page : page * per_page] if page <= base else [groups[-1]]
    out = _groups(shown)
    if shown and shown[-1].key is None:
        key, inc, ids, facts, missing = out[-1]
        at = slice(chunk * loose_per_page, (chunk + 1) * loose_per_page)
        out[-1] = (key, inc, ids[at], facts[at], missing)
    return out


def _every_page_agrees(
    session: Session, est: int, f: service.QueueFilters, per_page: int, loose_per_page: int = 100
) -> int:
    whole, figures = _whole(session, est, f)
    base, pages = _layout(whole.groups, per_page, loose_per_page)
    for page in range(1, pages + 1):
        got = service.queue_page(session, est, f, page=page, per_page=per_page, loose_per_page=loose_per_page)
        assert (got.page, got.pages) == (page, pages), (f, page)
        if page <= base:
            assert got.first == (page - 1) * per_page + 1, (f, page)
        assert _figures(got) == figures, (f, page)
        assert _groups(got.groups) == _expected(whole.groups, page, per_page, loose_per_page), (f, page)
        loose = whole.groups[-1] if whole.groups and whole.groups[-1].key is None else None
        assert got.loose == (len(loose.entries) if loose else 0), (f, page)
        if loose is not None and got.groups and got.groups[-1].key is None:
            assert got.loose_first == max(0, page - base) * loose_per_page + 1, (f, page)
        else:
            assert got.loose_first == 0, (f, page)
    # Past the last page: the last page.
    assert (
        service.queue_page(session, est, f, page=pages + 3, per_page=per_page).page
        == _layout(whole.groups, per_page, 100)[1]
    )
    return len(whole.groups)


def test_a_page_is_the_whole_queue_sliced(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    cases, _purged = _mixed_clips(session, world, make_incident, make_clip)
    listed = 0
    for n, f in enumerate(cases):
        # Every status and check with no filter and with all of them; some of each with one filter.
        every = n in (0, 5)
        for status in service.STATUSES if every else ("to_review", "rated", "all"):
            for check in (None, *service.CHECKS) if every else (None, "late", "flagged", "no_footage"):
                shown = service.QueueFilters(**{**f.__dict__, "status": status, "check": check})
                listed += _every_page_agrees(session, world.est_a, shown, per_page=50)
                if status in ("to_review", "all") and check in (None, "flagged", "no_footage"):
                    _every_page_agrees(session, world.est_a, shown, per_page=2, loose_per_page=1)
    assert listed  # something was listed
    every = service.queue_page(session, world.est_a, service.QueueFilters(status="all"), per_page=2, loose_per_page=1)
    assert every.loose > 1 and every.pages > -(
        -(every.incidents + 1) // 2
    )  # the clips of no incident had pages of their own


def test_a_sample_below_100_percent_pages_the_same(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    cases, _purged = _mixed_clips(session, world, make_incident, make_clip)
    est = session.get(Establishment, world.est_a)
    assert est is not None
    service.set_sample_percent(session, est, 40)
    session.commit()
    for f in cases[:3]:
        for status in ("to_review", "in_sample", "not_in_sample", "all"):
            shown = service.QueueFilters(**{**f.__dict__, "status": status})
            _every_page_agrees(session, world.est_a, shown, per_page=2, loose_per_page=1)


def test_back_from_a_clip_opens_the_page_it_is_on_or_was(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """`near`: the page of the incident holding that clip (of a clip linked to no incident, the page of those
    clips holding it); once rated (left the queue), the page of the first incident at or after where it stood;
    another establishment's clip, or none, changes nothing."""
    cases, purged = _mixed_clips(session, world, make_incident, make_clip)
    clips = session.exec(service.select(Footage.id, Footage.establishment_id)).all()
    per_page, loose_per_page = 2, 1
    for f in (service.QueueFilters(), service.QueueFilters(status="rated"), service.QueueFilters(check="late")):
        whole, _ = _whole(session, world.est_a, f)
        base, _pages = _layout(whole.groups, per_page, loose_per_page)
        for fid, est_id in [*clips, (10**6, world.est_a), (purged.id, world.est_a)]:
            holding = next((i for i, g in enumerate(whole.groups) if any(e.id == fid for e in g.entries)), None)
            listed = holding is not None
            if holding is None:
                holding = service._group_index(session, world.est_a, whole.groups, fid)
            if holding is None or not whole.groups:
                expected = 1
            elif whole.groups[holding].key is None:
                ids = [e.id for e in whole.groups[holding].entries]
                expected = base + (ids.index(fid) // loose_per_page if fid in ids else 0)
            else:
                expected = holding // per_page + 1
            got = service.queue_page(
                session, world.est_a, f, page=1, per_page=per_page, loose_per_page=loose_per_page, near=fid
            )
            assert got.page == expected, (f, fid, est_id)
            if listed:
                assert fid in [r.footage.id for g in got.groups for r in g.clips]


def test_a_page_reads_only_its_own_clips(engine, session: Session, world, make_incident, make_clip, monkeypatch):  # type: ignore[no-untyped-def]
    """Only the page's clips are read whole, by statements that do not grow with the queue's clips."""
    _mixed_clips(session, world, make_incident, make_clip)
    read: list[int] = []
    rows = service._clip_rows

    def counted(s: Session, est: int, entries: Any) -> Any:
        read.append(len(entries))
        return rows(s, est, entries)

    monkeypatch.setattr(service, "_clip_rows", counted)

    def statements() -> tuple[list[int], service.QueuePage]:
        sizes: list[int] = []

        def keep(_conn: Any, _cur: Any, _stmt: str, params: Any, _ctx: Any, _many: bool) -> None:
            sizes.append(len(params) if isinstance(params, (dict, list, tuple)) else 0)

        event.listen(engine, "before_cursor_execute", keep)
        try:
            return sizes, service.queue_page(session, world.est_a, service.QueueFilters(status="all"), per_page=1)
        finally:
            event.remove(engine, "before_cursor_execute", keep)

    few, got = statements()
    assert got.incidents > 1 and len(got.groups) == 1
    assert read == [len(got.groups[0].clips)] and 0 < read[0] < got.shown
    later = make_incident(at=T0 + timedelta(days=60), staff=("a1",))
    for _ in range(30):
        make_clip(later, "a1")
    more, again = statements()
    assert again.shown == got.shown + 30 and _groups(again.groups) == _groups(got.groups)
    assert few == more  # as many statements, with as many parameters


def test_back_from_a_clip_of_another_establishments_incident_or_none(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """A clip also linked to an earlier incident of another establishment is listed, and found, under its own
    establishment's incident; one linked only to another establishment's is among the clips linked to no
    incident, as is its page. A clip of those rated since opens the page of the one that followed it. (Found in a
    review: the page was worked out from any establishment's earliest incident.)"""
    from app.core.db import unit_of_work
    from app.footage.models import FootageIncident
    from app.rating.models import Rag

    def link(clip: Footage, inc: Any) -> None:
        session.add(
            FootageIncident(
                footage_id=clip.id,
                incident_id=inc.id,
                source="manual",
                establishment_id=inc.establishment_id,
                force_started_at=inc.force_started_at,
            )
        )
        session.commit()

    own = [make_incident(at=T0 + timedelta(days=d), staff=("a1",)) for d in range(1, 6)]
    clips = [make_clip(i, "a1") for i in own]
    theirs = make_incident("b", at=T0 - timedelta(days=1), staff=("b1",))
    link(clips[4], theirs)
    loose = {lead: make_clip(None, "a1", lead=lead) for lead in (300, 100, 200)}
    only_theirs = make_clip(None, "a1", lead=250)
    link(only_theirs, theirs)
    # 5 incidents and the clips of none: 3 pages of 2 groups; then 1 clip of none a page (4 of them).
    f = service.QueueFilters()

    def page_of(fid: int) -> int:
        got = service.queue_page(session, world.est_a, f, per_page=2, loose_per_page=1, near=fid)
        assert got.pages == 3 + got.loose - 1
        return got.page

    assert page_of(clips[4].id) == 3
    assert page_of(loose[300].id) == 3  # the first of them, on the last page of incidents
    assert page_of(only_theirs.id) == 4
    assert page_of(loose[200].id) == 5 and page_of(loose[100].id) == 6
    listed = service.queue_page(session, world.est_a, f, page=4, per_page=2, loose_per_page=1)
    assert [r.footage.id for g in listed.groups for r in g.clips] == [only_theirs.id]
    assert listed.groups[0].incident is None
    with unit_of_work() as s:
        data = service.RatingInput(rag=Rag.green, override_reason="Seen on the footage")
        service.create_rating(s, s.get(Footage, loose[200].id), data, user_id=world.users["coordinator_a"])
    session.expire_all()
    # Rated, it has left the queue: its page is the one where the clip after it now is.
    assert page_of(loose[200].id) == 5
    after = service.queue_page(session, world.est_a, f, page=5, per_page=2, loose_per_page=1)
    assert [r.footage.id for g in after.groups for r in g.clips] == [loose[100].id]


def test_a_clip_gone_between_the_outline_and_the_page_leaves_no_empty_group(  # type: ignore[no-untyped-def]
    session: Session, world, make_incident, make_clip, monkeypatch
):
    """The page's clips are read after its outline: an incident whose only clip was deleted in between is not
    shown as an empty group headed "Not linked to an incident" (found in a review)."""
    from app.core.db import unit_of_work
    from app.core.types import utcnow

    gone = make_clip(make_incident(at=T0, staff=()), "a1")
    kept = make_clip(make_incident(at=T0 + timedelta(days=1), staff=()), "a1")
    entries = service._queue_entries

    def deleted_meanwhile(*args: Any, **kwargs: Any) -> Any:
        with unit_of_work() as s:
            s.get(Footage, gone.id).purged_at = utcnow()  # type: ignore[union-attr]
        return entries(*args, **kwargs)

    monkeypatch.setattr(service, "_queue_entries", deleted_meanwhile)
    got = service.queue_page(session, world.est_a, service.QueueFilters())
    assert [(g.incident.id if g.incident else None, [r.footage.id for r in g.clips]) for g in got.groups] == [
        (kept_incident_id(session, kept), [kept.id])
    ]


def kept_incident_id(session: Session, clip: Footage) -> int | None:
    found = service.primary_incident(session, clip.id)  # type: ignore[arg-type]
    return found.id if found else None


def test_the_page_says_which_incidents_or_clips_it_shows(client, session, world, make_incident, make_clip, monkeypatch):  # type: ignore[no-untyped-def]
    """The clips linked to no incident are not counted as an incident: their pages say which of them they show."""
    from app.rating import views
    from tests.support import browser_sign_in

    monkeypatch.setattr(views, "QUEUE_PAGE", 1)
    monkeypatch.setattr(views, "LOOSE_PAGE", 1)
    browser_sign_in(client, "coordinator.a")
    for d in range(2):
        make_clip(make_incident(at=T0 + timedelta(days=d), staff=("a1",)), "a1")
    for lead in (200, 100):
        make_clip(None, "a1", lead=lead)
    said = {n: client.get(f"/review?page={n}").text for n in (1, 2, 3, 4)}
    assert "Incidents 1 to 1 of 2, oldest first" in said[1] and "Incidents 2 to 2 of 2" in said[2]
    assert "Clips not linked to an incident 1 to 1 of 2" in said[3] and "clips 1 to 1 of 2" in said[3]
    assert "Clips not linked to an incident 2 to 2 of 2" in said[4]
    assert all("of 3" not in text for text in said.values())
