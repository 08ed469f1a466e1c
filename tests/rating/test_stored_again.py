"""A file stored again after retention deleted its clip is the same recording: it counts once.

The deleted clip keeps its rating and links (what was recorded and judged stays on record). When the file is
stored again and linked to the same incident, the activation check lists the recording once (the live clip),
and rating the new clip supersedes the deleted clip's rating, so the reports and the officer's feedback count
the recording once, under its latest rating. Both were counted twice.
"""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.types import utcnow
from app.footage.models import FootageStatus
from app.rating.models import Rating
from tests.rating.conftest import rating_body

PERIOD = {"establishment": "AAA", "from": "2026-10-01", "to": "2026-10-31"}


def _rag(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    r = c.get("/api/v1/reports/compliance", params=PERIOD)
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.json()["rag"].items() if v}


def test_a_recording_stored_again_counts_once(as_user, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    c = as_user("coordinator.a")
    incident = make_incident()
    deleted = make_clip(incident, lead=5, press=12)  # late: suggested amber
    r = c.post(f"/api/v1/footage/{deleted.id}/ratings", json=rating_body("amber", guidance="Switch on sooner."))
    assert r.status_code == 201, r.text
    first_rating = r.json()["id"]
    deleted.status, deleted.purged_at = FootageStatus.purged, utcnow()  # as retention leaves it
    session.add(deleted)
    session.commit()

    again = make_clip(incident, lead=5, press=12)  # the same file, stored again and linked to the incident
    again.sha256, again.storage_key = deleted.sha256, deleted.storage_key
    session.add(again)
    session.commit()
    activation = c.get(f"/api/v1/incidents/{incident.id}/activation").json()
    assert [clip["footage_id"] for o in activation["officers"] for clip in o["clips"]] == [again.id]
    # Not rated again yet: the recording counts under the rating it was given.
    assert _rag(c) == {"amber": 1}

    r = c.post(f"/api/v1/footage/{again.id}/ratings", json=rating_body("green", override_reason="Seen in full."))
    assert r.status_code == 201, r.text
    session.expire_all()
    old = session.get(Rating, first_rating)
    assert old is not None and not old.is_current and old.superseded_by_id == r.json()["id"]
    assert r.json()["version"] == 1  # the new clip's own first rating
    entry = session.exec(
        select(AuditEvent).where(AuditEvent.action == "rating_create", AuditEvent.object_id == str(again.id))
    ).one()
    assert entry.detail["supersedes_deleted_copy_ratings"] == [first_rating]

    assert _rag(c) == {"green": 1}
    report = c.get("/api/v1/reports/officers/A001").json()
    assert report["ratings"] == {"green": 1, "amber": 0, "red": 0} and report["unacknowledged"] == 0
    assert [h["footage_id"] for h in report["history"]] == [again.id]
    mine = as_user("officer.a1").get("/api/v1/my/feedback").json()
    assert [i["footage_id"] for i in mine] == [again.id]


def test_only_the_same_files_deleted_copies_give_way(as_user, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    """Stored again for another wearer (the first was entered wrongly), the live clip stands for the recording:
    the deleted clip no longer counts for its first wearer. Other clips and their ratings are left alone."""
    c = as_user("coordinator.a")
    incident = make_incident(staff=("a1", "a2"))
    deleted = make_clip(incident, "a2")
    other = make_clip(incident)
    for clip in (deleted, other):
        assert c.post(f"/api/v1/footage/{clip.id}/ratings", json=rating_body()).status_code == 201
    deleted.status, deleted.purged_at = FootageStatus.purged, utcnow()
    session.add(deleted)
    session.commit()
    activation = c.get(f"/api/v1/incidents/{incident.id}/activation").json()
    clips = {o["staff_number"]: sorted(x["footage_id"] for x in o["clips"]) for o in activation["officers"]}
    assert clips == {"A001": [other.id], "A002": [deleted.id]}  # deleted, it still counts

    again = make_clip(incident)  # wearer a1
    again.sha256, again.storage_key = deleted.sha256, deleted.storage_key
    session.add(again)
    session.commit()
    activation = c.get(f"/api/v1/incidents/{incident.id}/activation").json()
    clips = {o["staff_number"]: sorted(x["footage_id"] for x in o["clips"]) for o in activation["officers"]}
    assert clips == {"A001": sorted([other.id, again.id]), "A002": []}
    assert c.post(f"/api/v1/footage/{again.id}/ratings", json=rating_body()).status_code == 201
    session.expire_all()
    current = set(session.exec(select(Rating.footage_id).where(Rating.is_current == True)).all())  # noqa: E712
    assert current == {other.id, again.id}
