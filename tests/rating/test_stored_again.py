"""A file stored again after retention deleted its clip is the same recording: rated again, it counts once.

The deleted clip keeps its rating and links (what was recorded and judged stays on record). Rating the new
clip supersedes the deleted clip's rating when it takes its place: the same officer's recording, linked to
every incident the deleted clip was. The reports and the officer's feedback then count the recording once,
under its latest rating; both were counted. Where the new clip does not take its place (another wearer
entered, or an incident it is not linked to), the old rating would drop out of figures the new one does not
enter: both stay, as before.
"""

from __future__ import annotations

from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.types import utcnow
from app.footage.models import Footage, FootageIncident, FootageStatus
from app.rating.models import Rating
from tests.rating.conftest import rating_body

PERIOD = {"establishment": "AAA", "from": "2026-10-01", "to": "2026-10-31"}


def _rag(c) -> dict[str, int]:  # type: ignore[no-untyped-def]
    r = c.get("/api/v1/reports/compliance", params=PERIOD)
    assert r.status_code == 200, r.text
    return {k: v for k, v in r.json()["rag"].items() if v}


def _delete(session, clip: Footage) -> None:  # type: ignore[no-untyped-def]
    clip.status, clip.purged_at = FootageStatus.purged, utcnow()  # as retention leaves it
    session.add(clip)
    session.commit()


def _same_file(session, clip: Footage, deleted: Footage) -> Footage:  # type: ignore[no-untyped-def]
    clip.sha256, clip.storage_key = deleted.sha256, deleted.storage_key
    session.add(clip)
    session.commit()
    return clip


def _details(session, action: str, clip: Footage, key: str) -> list[object]:  # type: ignore[no-untyped-def]
    """`key` of each audit entry `action` about `clip`, oldest first."""
    entries = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == action, AuditEvent.object_id == str(clip.id))
        .order_by(AuditEvent.id)  # type: ignore[arg-type]
    ).all()
    return [e.detail.get(key) for e in entries]


def test_a_recording_stored_again_and_rated_counts_once(as_user, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    c = as_user("coordinator.a")
    incident = make_incident()
    deleted = make_clip(incident, lead=5, press=12)  # late: suggested amber
    r = c.post(f"/api/v1/footage/{deleted.id}/ratings", json=rating_body("amber", guidance="Switch on sooner."))
    assert r.status_code == 201, r.text
    first_rating = r.json()["id"]
    _delete(session, deleted)
    again = _same_file(session, make_clip(incident, lead=5, press=12), deleted)  # linked to the incident too
    assert _rag(c) == {"amber": 1}  # not rated again yet: it counts under the rating it was given

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


def test_a_copy_not_in_its_place_leaves_the_old_rating(as_user, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    """Not linked to the deleted clip's incident, or entered for another wearer: the old rating stays current
    (it would otherwise drop out of that incident's figures, or move to another officer). Other clips'
    ratings are never touched."""
    c = as_user("coordinator.a")
    incident = make_incident(staff=("a1", "a2"))
    other, first, second = make_clip(incident), make_clip(incident), make_clip(incident)
    for clip in (other, first, second):
        assert c.post(f"/api/v1/footage/{clip.id}/ratings", json=rating_body()).status_code == 201
    _delete(session, first)
    _delete(session, second)
    unlinked = _same_file(session, make_clip(None), first)
    wrong_wearer = _same_file(session, make_clip(incident, "a2"), second)
    for clip in (unlinked, wrong_wearer):
        assert c.post(f"/api/v1/footage/{clip.id}/ratings", json=rating_body()).status_code == 201
    session.expire_all()
    current = set(session.exec(select(Rating.footage_id).where(Rating.is_current == True)).all())  # noqa: E712
    assert current == {other.id, first.id, second.id, unlinked.id, wrong_wearer.id}
    entries = session.exec(select(AuditEvent).where(AuditEvent.action == "rating_create")).all()
    assert not [e for e in entries if "supersedes_deleted_copy_ratings" in e.detail]


def test_an_unlinked_deleted_clip_gives_way_to_its_copy(as_user, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    """Unlinked clips are deleted 31 days after upload: rated before, then stored again and linked to its
    incident, the recording counted twice in the officer's report."""
    c = as_user("coordinator.a")
    deleted = make_clip(None)
    assert c.post(f"/api/v1/footage/{deleted.id}/ratings", json=rating_body()).status_code == 201
    _delete(session, deleted)
    again = _same_file(session, make_clip(make_incident()), deleted)
    assert session.exec(select(FootageIncident).where(FootageIncident.footage_id == again.id)).one()
    assert c.post(f"/api/v1/footage/{again.id}/ratings", json=rating_body()).status_code == 201
    report = c.get("/api/v1/reports/officers/A001").json()
    assert report["ratings"] == {"green": 1, "amber": 0, "red": 0}
    assert [h["footage_id"] for h in report["history"]] == [again.id]


def test_a_copy_rated_before_it_is_linked_takes_the_place_when_linked(  # type: ignore[no-untyped-def]
    as_user, session, world, make_incident, make_clip
) -> None:
    """Stored again, rated while it was linked to nothing, then linked to the deleted clip's incident: the
    link puts it in the deleted clip's place, so the recording counts once from then, not only once it is
    rated again. Linked to another incident first, it does not: the deleted clip's incident is not yet
    covered."""
    c = as_user("coordinator.a")
    incident, elsewhere = make_incident(), make_incident()
    deleted = make_clip(incident, lead=5, press=12)  # late: suggested amber
    r = c.post(f"/api/v1/footage/{deleted.id}/ratings", json=rating_body("amber", guidance="Switch on sooner."))
    assert r.status_code == 201, r.text
    first_rating = r.json()["id"]
    _delete(session, deleted)
    again = _same_file(session, make_clip(None), deleted)
    r = c.post(f"/api/v1/footage/{again.id}/ratings", json=rating_body())
    assert r.status_code == 201, r.text
    new_rating = r.json()["id"]
    assert c.get("/api/v1/reports/officers/A001").json()["ratings"] == {"green": 1, "amber": 1, "red": 0}

    r = c.put(f"/api/v1/incidents/{elsewhere.id}/footage/{again.id}", json={"reason": "Seen in the footage."})
    assert r.status_code == 200, r.text
    session.expire_all()
    assert session.get(Rating, first_rating).is_current  # type: ignore[union-attr]

    r = c.put(f"/api/v1/incidents/{incident.id}/footage/{again.id}", json={"reason": "Seen in the footage."})
    assert r.status_code == 200 and r.json()["changed"], r.text
    session.expire_all()
    old = session.get(Rating, first_rating)
    assert old is not None and not old.is_current and old.superseded_by_id == new_rating
    assert _details(session, "footage_link", again, "supersedes_deleted_copy_ratings") == [None, [first_rating]]
    report = c.get("/api/v1/reports/officers/A001").json()
    assert report["ratings"] == {"green": 1, "amber": 0, "red": 0}
    assert [h["footage_id"] for h in report["history"]] == [again.id]
    # Linking again changes nothing and supersedes nothing more.
    r = c.put(f"/api/v1/incidents/{incident.id}/footage/{again.id}", json={"reason": "Seen in the footage."})
    assert r.status_code == 200 and not r.json()["changed"]


def test_recordings_counted_twice_before_the_rule_are_counted_once_by_the_command(  # type: ignore[no-untyped-def]
    as_user, session, world, make_incident, make_clip
) -> None:
    """`bwv-review ratings-stored-again`: for data from before the rule (both ratings current), the same
    supersession, audited as the system's; --dry-run changes nothing; a second run finds nothing to do. A copy
    not in the deleted clip's place keeps both ratings."""
    from click.testing import CliRunner

    from app.cli import main

    c = as_user("coordinator.a")
    incident = make_incident(staff=("a1", "a2"))
    deleted, other = make_clip(incident), make_clip(incident)
    ratings = {}
    for clip in (deleted, other):
        r = c.post(f"/api/v1/footage/{clip.id}/ratings", json=rating_body())
        assert r.status_code == 201, r.text
        ratings[clip.id] = r.json()["id"]
        _delete(session, clip)
    in_place = _same_file(session, make_clip(incident), deleted)
    elsewhere = _same_file(session, make_clip(incident, "a2"), other)  # another wearer entered
    for clip in (in_place, elsewhere):
        assert c.post(f"/api/v1/footage/{clip.id}/ratings", json=rating_body()).status_code == 201
    session.expire_all()
    old = session.get(Rating, ratings[deleted.id])
    assert old is not None and old.superseded_by_id is not None
    new_rating = old.superseded_by_id
    old.is_current, old.superseded_by_id = True, None  # as the data stood before the rule
    session.add(old)
    session.commit()
    assert c.get("/api/v1/reports/officers/A001").json()["ratings"]["green"] == 3  # deleted, other, in_place

    dry = CliRunner().invoke(main, ["ratings-stored-again", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"clip {in_place.id}: its rating {new_rating} would supersede {old.id}" in dry.output
    session.expire_all()
    assert session.get(Rating, old.id).is_current  # type: ignore[union-attr]

    done = CliRunner().invoke(main, ["ratings-stored-again"])
    assert done.exit_code == 0, done.output
    assert "1 clip(s); 1 rating(s) superseded." in done.output
    session.expire_all()
    old = session.get(Rating, ratings[deleted.id])
    assert old is not None and not old.is_current and old.superseded_by_id == new_rating
    assert session.get(Rating, ratings[other.id]).is_current  # type: ignore[union-attr]
    entry = session.exec(select(AuditEvent).where(AuditEvent.action == "rating_supersede")).one()
    assert entry.actor_username == "system" and entry.object_id == str(in_place.id)
    assert entry.detail["supersedes_deleted_copy_ratings"] == [old.id]
    assert c.get("/api/v1/reports/officers/A001").json()["ratings"]["green"] == 2

    again = CliRunner().invoke(main, ["ratings-stored-again"])
    assert again.exit_code == 0 and "0 clip(s); 0 rating(s) superseded." in again.output


def test_unlinked_from_the_deleted_clips_incident_the_copy_gives_the_place_back(  # type: ignore[no-untyped-def]
    as_user, session, world, make_incident, make_clip
) -> None:
    """The copy no longer takes the deleted clip's place once unlinked from its incident: the deleted clip's
    rating is current again (audited on the unlink), so that incident keeps a rating in its figures. Linked
    again, the copy takes the place again."""
    c = as_user("coordinator.a")
    incident, other = make_incident(), make_incident()
    deleted = make_clip(incident, lead=5, press=12)  # late: suggested amber
    r = c.post(f"/api/v1/footage/{deleted.id}/ratings", json=rating_body("amber", guidance="Switch on sooner."))
    first_rating = r.json()["id"]
    _delete(session, deleted)
    again = _same_file(session, make_clip(incident, lead=5, press=12), deleted)
    assert c.put(f"/api/v1/incidents/{other.id}/footage/{again.id}", json={"reason": "Also there."}).status_code == 200
    r = c.post(f"/api/v1/footage/{again.id}/ratings", json=rating_body("green", override_reason="Seen in full."))
    new_rating = r.json()["id"]
    session.expire_all()
    assert session.get(Rating, first_rating).superseded_by_id == new_rating  # type: ignore[union-attr]

    r = c.delete(f"/api/v1/incidents/{other.id}/footage/{again.id}", params={"reason": "Not this one."})
    assert r.status_code == 200 and r.json()["changed"]
    session.expire_all()
    assert not session.get(Rating, first_rating).is_current  # type: ignore[union-attr]  # still in its place

    r = c.delete(f"/api/v1/incidents/{incident.id}/footage/{again.id}", params={"reason": "Linked by mistake."})
    assert r.status_code == 200 and r.json()["changed"]
    session.expire_all()
    old = session.get(Rating, first_rating)
    assert old is not None and old.is_current and old.superseded_by_id is None
    assert _details(session, "footage_unlink", again, "restores_deleted_copy_ratings") == [None, [first_rating]]
    report = c.get("/api/v1/reports/officers/A001").json()
    assert report["ratings"] == {"green": 1, "amber": 1, "red": 0}  # the incident's rating and the copy's

    assert c.put(f"/api/v1/incidents/{incident.id}/footage/{again.id}", json={"reason": "Back."}).status_code == 200
    session.expire_all()
    old = session.get(Rating, first_rating)
    assert old is not None and not old.is_current and old.superseded_by_id == new_rating


def test_unlinking_the_deleted_clip_can_put_its_copy_in_its_place(  # type: ignore[no-untyped-def]
    as_user, session, world, make_incident, make_clip
) -> None:
    """The deleted clip's link to an incident its copy is not linked to is removed (a wrong link): the copy
    now covers every incident the deleted clip is linked to, and takes its place, as on linking."""
    c = as_user("coordinator.a")
    incident, wrong = make_incident(), make_incident()
    deleted = make_clip(incident)
    assert c.put(f"/api/v1/incidents/{wrong.id}/footage/{deleted.id}", json={"reason": "Also."}).status_code == 200
    r = c.post(f"/api/v1/footage/{deleted.id}/ratings", json=rating_body())
    first_rating = r.json()["id"]
    _delete(session, deleted)
    again = _same_file(session, make_clip(incident), deleted)
    new_rating = c.post(f"/api/v1/footage/{again.id}/ratings", json=rating_body()).json()["id"]
    session.expire_all()
    assert session.get(Rating, first_rating).is_current  # type: ignore[union-attr]  # not in its place yet

    r = c.delete(f"/api/v1/incidents/{wrong.id}/footage/{deleted.id}", params={"reason": "Not at this incident."})
    assert r.status_code == 200 and r.json()["changed"], r.text
    session.expire_all()
    old = session.get(Rating, first_rating)
    assert old is not None and not old.is_current and old.superseded_by_id == new_rating
    entry = session.exec(
        select(AuditEvent).where(AuditEvent.action == "footage_unlink", AuditEvent.object_id == str(deleted.id))
    ).one()
    assert entry.detail["supersedes_deleted_copy_ratings"] == [first_rating]
    assert c.get("/api/v1/reports/officers/A001").json()["ratings"]["green"] == 1


def test_the_command_follows_a_chain_of_copies(as_user, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    """Deleted, stored again and rated in its place (before the rule), then deleted again: the second
    clip's rating still counts, and the first's gives way to it; the chain is followed oldest first."""
    from click.testing import CliRunner

    from app.cli import main

    c = as_user("coordinator.a")
    incident = make_incident()
    first = make_clip(incident)
    first_rating = c.post(f"/api/v1/footage/{first.id}/ratings", json=rating_body()).json()["id"]
    _delete(session, first)
    second = _same_file(session, make_clip(incident), first)
    second_rating = c.post(f"/api/v1/footage/{second.id}/ratings", json=rating_body()).json()["id"]
    session.expire_all()
    old = session.get(Rating, first_rating)
    assert old is not None and old.superseded_by_id == second_rating
    old.is_current, old.superseded_by_id = True, None  # as the data stood before the rule
    session.add(old)
    session.commit()
    _delete(session, session.get(Footage, second.id))
    assert c.get("/api/v1/reports/officers/A001").json()["ratings"]["green"] == 2

    done = CliRunner().invoke(main, ["ratings-stored-again"])
    assert (
        done.exit_code == 0 and f"clip {second.id}: its rating {second_rating} superseded {first_rating}" in done.output
    )
    session.expire_all()
    assert session.get(Rating, first_rating).superseded_by_id == second_rating  # type: ignore[union-attr]
    assert session.get(Rating, second_rating).is_current  # type: ignore[union-attr]
    assert c.get("/api/v1/reports/officers/A001").json()["ratings"]["green"] == 1


def test_rating_and_linking_the_copy_at_the_same_moment_take_turns(  # type: ignore[no-untyped-def]
    as_user, session, world, make_incident, make_clip
) -> None:
    """A coordinator rates the copy while another links it to the deleted clip's incident: the rating waits for
    the link's transaction (the copy's row is held), then sees the link and takes the place. Each used to miss
    the other's uncommitted write, and the recording counted twice."""
    import threading
    import time

    from app.audit.service import Actor
    from app.core.db import unit_of_work
    from app.footage.linking import make_link
    from app.incident.models import Incident
    from app.rating.models import Rag
    from app.rating.service import RatingInput, create_rating

    c = as_user("coordinator.a")
    incident = make_incident()
    deleted = make_clip(incident)
    first_rating = c.post(f"/api/v1/footage/{deleted.id}/ratings", json=rating_body()).json()["id"]
    _delete(session, deleted)
    again = _same_file(session, make_clip(None), deleted)
    done: list[int] = []

    def rate() -> None:
        with unit_of_work() as s:
            clip = s.get(Footage, again.id)
            assert clip is not None
            data = RatingInput(rag=Rag.green, criteria={"switched_on_before_force": True}, override_reason="Seen.")
            done.append(create_rating(s, clip, data, user_id=world.users["coordinator_a"]).id)  # type: ignore[arg-type]

    actor = Actor(user_id=world.users["coordinator_a"], username="coordinator.a", role="coordinator")
    with unit_of_work() as s:
        make_link(s, s.get(Footage, again.id), s.get(Incident, incident.id), actor=actor)  # type: ignore[arg-type]
        rater = threading.Thread(target=rate)
        rater.start()
        time.sleep(0.5)
        assert rater.is_alive()  # waiting for the link's transaction
    rater.join(timeout=60)
    assert len(done) == 1
    session.expire_all()
    old = session.get(Rating, first_rating)
    assert old is not None and not old.is_current and old.superseded_by_id == done[0]


def test_a_rating_that_waited_for_a_purge_is_refused(as_user, session, world, make_incident, make_clip) -> None:  # type: ignore[no-untyped-def]
    """Retention deletes the clip (holding its row) while a coordinator's rating of it is being saved: the
    rating waits for the purge, then sees the clip deleted and is refused (409). It used to be saved on the
    deleted clip, read as it was before the purge committed."""
    import threading
    import time

    from sqlmodel import col

    from app.core.db import unit_of_work
    from app.rating.models import Rag
    from app.rating.service import RatingInput, RatingRejected, create_rating

    clip = make_clip(make_incident())
    outcome: list[object] = []
    loaded = threading.Event()

    def rate() -> None:
        with unit_of_work() as s:
            footage = s.get(Footage, clip.id)  # read before the purge commits (PostgreSQL)
            loaded.set()
            try:
                create_rating(s, footage, RatingInput(rag=Rag.green, criteria={}), user_id=world.users["coordinator_a"])  # type: ignore[arg-type]
            except RatingRejected as exc:
                outcome.append(exc.status_code)
            else:
                outcome.append("saved")

    with unit_of_work() as s:  # as `retention.purge_footage` does
        held = s.exec(select(Footage).where(col(Footage.id) == clip.id).with_for_update()).one()
        rater = threading.Thread(target=rate)
        rater.start()
        if s.get_bind().dialect.name == "postgresql":  # (on SQLite it waits for this transaction to start)
            assert loaded.wait(timeout=10)
        time.sleep(0.3)  # the rating is now waiting for the clip's row
        held.status, held.purged_at = FootageStatus.purged, utcnow()
        s.add(held)
    rater.join(timeout=60)
    assert outcome == [409]
    assert not session.exec(select(Rating).where(Rating.footage_id == clip.id)).all()
