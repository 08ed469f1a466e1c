"""Lists that show what a single record's view shows (the incidents list carries each incident's officers
and the subject's characteristics; the footage lists the clips and wearers) are audited like that view:
who looked, at which establishment's list, with which filters. (Found unaudited in the review of 27 Nov 2026.)"""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from app.audit.models import AuditEvent
from tests.support import browser_sign_in


def _entries(session: Any, action: str) -> list[AuditEvent]:
    session.expire_all()
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all())


def test_list_views_are_audited_over_the_api(as_user: Any, session: Any, world: Any) -> None:
    c = as_user("governor.a")
    assert (
        c.get("/api/v1/incidents", params={"location": "A wing", "since": "2026-01-01T00:00:00+00:00"}).status_code
        == 200
    )
    assert c.get("/api/v1/footage").status_code == 200
    assert c.get("/api/v1/footage/missing").status_code == 200
    (inc,) = _entries(session, "incident_list_view")
    assert inc.actor_username == "governor.a" and inc.establishment_id == world.est_a
    assert inc.detail["via"] == "api" and inc.detail["location"] == "A wing" and "2026-01-01" in inc.detail["since"]
    assert [e.actor_username for e in _entries(session, "footage_list_view")] == ["governor.a"]
    assert [e.detail["via"] for e in _entries(session, "footage_missing_view")] == ["api"]


def test_list_pages_are_audited(client: Any, session: Any, world: Any) -> None:
    browser_sign_in(client, "coordinator.a")
    for url in ("/incidents?q=UOF", "/footage?status=analysed", "/footage/missing"):
        assert client.get(url).status_code == 200, url
    (inc,) = _entries(session, "incident_list_view")
    assert inc.detail == {"via": "page", "shown": 0, "q": "UOF"} and inc.establishment_id == world.est_a
    (clips,) = _entries(session, "footage_list_view")
    assert clips.detail["via"] == "page" and clips.detail["status"] == "analysed"
    assert [e.actor_username for e in _entries(session, "footage_missing_view")] == ["coordinator.a"]
