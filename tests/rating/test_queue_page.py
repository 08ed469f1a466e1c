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
        "incidents": len(q.groups),
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


def _every_page_agrees(session: Session, est: int, f: service.QueueFilters, per_page: int) -> int:
    whole, figures = _whole(session, est, f)
    pages = max(1, -(-len(whole.groups) // per_page))
    for page in range(1, pages + 1):
        got = service.queue_page(session, est, f, page=page, per_page=per_page)
        assert (got.page, got.pages, got.first) == (page, pages, (page - 1) * per_page + 1), (f, page)
        assert _figures(got) == figures, (f, page)
        assert _groups(got.groups) == _groups(whole.groups[(page - 1) * per_page : page * per_page]), (f, page)
    # Past the last page: the last page.
    assert service.queue_page(session, est, f, page=pages + 3, per_page=per_page).page == pages
    return len(whole.groups)


def test_a_page_is_the_whole_queue_sliced(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    cases, _purged = _mixed_clips(session, world, make_incident, make_clip)
    listed = 0
    for f in cases:
        for status in service.STATUSES:
            for check in (None, *service.CHECKS):
                shown = service.QueueFilters(**{**f.__dict__, "status": status, "check": check})
                listed += _every_page_agrees(session, world.est_a, shown, per_page=50)
        for status in ("to_review", "rated", "all"):
            for check in (None, "flagged", "no_footage"):
                shown = service.QueueFilters(**{**f.__dict__, "status": status, "check": check})
                _every_page_agrees(session, world.est_a, shown, per_page=2)
    assert listed  # something was listed


def test_a_sample_below_100_percent_pages_the_same(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    cases, _purged = _mixed_clips(session, world, make_incident, make_clip)
    est = session.get(Establishment, world.est_a)
    assert est is not None
    service.set_sample_percent(session, est, 40)
    session.commit()
    for f in cases[:3]:
        for status in ("to_review", "in_sample", "not_in_sample", "all"):
            shown = service.QueueFilters(**{**f.__dict__, "status": status})
            _every_page_agrees(session, world.est_a, shown, per_page=2)


def test_back_from_a_clip_opens_the_page_it_is_on_or_was(session: Session, world, make_incident, make_clip):  # type: ignore[no-untyped-def]
    """`near`: the page of the incident holding that clip; once rated (left the queue), the page of the first
    incident at or after where it stood; another establishment's clip, or none, changes nothing."""
    cases, purged = _mixed_clips(session, world, make_incident, make_clip)
    clips = session.exec(service.select(Footage.id, Footage.establishment_id)).all()
    for f in (service.QueueFilters(), service.QueueFilters(status="rated"), service.QueueFilters(check="late")):
        whole, _ = _whole(session, world.est_a, f)
        per_page = 2
        for fid, est_id in [*clips, (10**6, world.est_a), (purged.id, world.est_a)]:
            holding = next((i for i, g in enumerate(whole.groups) if any(e.id == fid for e in g.entries)), None)
            if holding is None:
                holding = service._group_index(session, world.est_a, whole.groups, fid)
            got = service.queue_page(session, world.est_a, f, page=1, per_page=per_page, near=fid)
            expected = 1 if holding is None else holding // per_page + 1
            assert got.page == expected, (f, fid, est_id)
            if (
                holding is not None
                and est_id == world.est_a
                and any(e.id == fid for g in whole.groups for e in g.entries)
            ):
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
