"""Retention purge (links, legal holds, tombstones, idempotence) and integrity verification."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.core.db import unit_of_work
from app.core.storage import get_storage
from app.core.types import utcnow
from app.footage.models import Footage, FootageStatus, FootageTombstone, IntegrityStatus
from tests.footage.conftest import mp4_bytes, post_footage

pytestmark = pytest.mark.usefixtures("storage_root")


def _upload(c, seed: int, **kw) -> int:  # type: ignore[no-untyped-def]
    r = post_footage(c, mp4_bytes(30_000, seed=seed), **kw)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _incident(c, ref: str, ended_days_ago: float) -> int:  # type: ignore[no-untyped-def]
    end = utcnow() - timedelta(days=ended_days_ago)
    r = c.post(
        "/api/v1/incidents",
        json={
            "reference": ref,
            "location": "B wing",
            "incident_started_at": (end - timedelta(minutes=20)).isoformat(),
            "force_started_at": (end - timedelta(minutes=15)).isoformat(),
            "force_ended_at": (end - timedelta(minutes=10)).isoformat(),
            "incident_ended_at": end.isoformat(),
            "staff": [{"staff_number": "A001"}],
        },
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _age(fid: int, days: float) -> None:
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        assert f is not None
        f.uploaded_at = utcnow() - timedelta(days=days)
        s.add(f)


def test_purge_honours_links_and_holds(as_user, session, world, storage_root) -> None:
    from app.footage.retention import purge_due

    c = as_user("coordinator.a")
    old_unlinked = _upload(c, 1)
    young_unlinked = _upload(c, 2)
    old_linked = _upload(c, 3)
    old_held = _upload(c, 4)
    linked_long_ago = _upload(c, 5)
    for fid in (old_unlinked, old_linked, old_held, linked_long_ago):
        _age(fid, 40)
    _age(young_unlinked, 10)
    recent = _incident(c, "UOF-R", ended_days_ago=39)
    ancient = _incident(c, "UOF-A", ended_days_ago=7 * 366)
    assert c.put(f"/api/v1/incidents/{recent}/footage/{old_linked}").status_code == 200
    assert c.put(f"/api/v1/incidents/{ancient}/footage/{linked_long_ago}").status_code == 200
    assert c.put(f"/api/v1/footage/{old_held}/legal-hold", json={"reason": "Civil claim CC-99"}).status_code == 200
    stored = {fid: session.get(Footage, fid).storage_key for fid in (old_unlinked, old_held)}  # type: ignore[union-attr]
    derived = storage_root.parent / "derived" / str(old_unlinked)
    derived.mkdir(parents=True)
    (derived / "thumb-0001.jpg").write_bytes(b"jpeg")

    with unit_of_work() as s:
        report = purge_due(s)
    assert sorted(report.purged) == sorted([old_unlinked, linked_long_ago])
    session.expire_all()
    status = {fid: session.get(Footage, fid).status for fid in (old_unlinked, young_unlinked, old_linked, old_held)}  # type: ignore[union-attr]
    assert status[old_unlinked] == FootageStatus.purged
    assert status[young_unlinked] != FootageStatus.purged
    assert status[old_linked] != FootageStatus.purged
    assert status[old_held] != FootageStatus.purged
    assert not get_storage().exists(stored[old_unlinked])
    assert get_storage().exists(stored[old_held])
    assert not derived.exists()
    tomb = session.exec(select(FootageTombstone).where(FootageTombstone.footage_id == old_unlinked)).one()
    assert tomb.sha256 and tomb.size_bytes == 30_000 and tomb.purged_by == "system" and "not linked" in tomb.reason
    purges = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_purge")).all()
    assert len(purges) == 2
    # Purged footage is gone from playback.
    assert c.get(f"/api/v1/footage/{old_unlinked}/video").status_code == 410
    page = c.get(f"/footage/{old_unlinked}")
    assert page.status_code == 200 and "was deleted on" in page.text and "<video" not in page.text
    # Idempotent.
    with unit_of_work() as s:
        assert purge_due(s).purged == []
    # Releasing the hold makes the old clip due again.
    assert c.delete(f"/api/v1/footage/{old_held}/legal-hold", params={"reason": "Claim settled"}).status_code == 200
    with unit_of_work() as s:
        assert purge_due(s).purged == [old_held]
    actions = {e.action for e in session.exec(select(AuditEvent)).all()}
    assert {"footage_legal_hold_set", "footage_legal_hold_released"} <= actions


def test_purge_task_runs(as_user, world) -> None:
    from workers.footage_tasks import purge_due

    c = as_user("coordinator.a")
    fid = _upload(c, 7)
    _age(fid, 45)
    assert purge_due.run()["purged"] == [fid]


def test_shared_storage_key_is_not_deleted_while_referenced(as_user, world, session) -> None:
    """The same bytes in two establishments share one stored object: purging one keeps the other's file."""
    from app.footage.retention import purge_due

    data = mp4_bytes(20_000, seed=33)
    a = post_footage(as_user("coordinator.a"), data)
    b = post_footage(as_user("coordinator.b"), data, camera_serial="CAM-B1", staff_number="B001")
    assert a.status_code == 201 and b.status_code == 201
    _age(a.json()["id"], 40)
    with unit_of_work() as s:
        assert purge_due(s).purged == [a.json()["id"]]
    key = session.get(Footage, b.json()["id"]).storage_key  # type: ignore[union-attr]
    assert get_storage().exists(key)


def test_verify_records_mismatch_and_missing(as_user, session, world, storage_root) -> None:
    from workers.footage_tasks import verify_integrity

    c = as_user("coordinator.a")
    good, bad, gone = _upload(c, 11), _upload(c, 12), _upload(c, 13)
    path_bad = storage_root / session.get(Footage, bad).storage_key  # type: ignore[union-attr]
    os.chmod(path_bad, 0o644)
    with open(path_bad, "r+b") as fh:
        fh.seek(1000)
        fh.write(b"tampered")
    path_gone = storage_root / session.get(Footage, gone).storage_key  # type: ignore[union-attr]
    os.chmod(path_gone, 0o644)
    path_gone.unlink()
    result = verify_integrity.run()
    assert result["checked"] == 3 and result["ok"] == 1
    session.expire_all()
    assert session.get(Footage, good).integrity_status == IntegrityStatus.ok  # type: ignore[union-attr]
    assert session.get(Footage, bad).integrity_status == IntegrityStatus.mismatch  # type: ignore[union-attr]
    assert session.get(Footage, gone).integrity_status == IntegrityStatus.missing  # type: ignore[union-attr]
    alerts = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_integrity_alert")).all()
    assert sorted(a.object_id for a in alerts) == sorted([str(bad), str(gone)])
    # A second run does not repeat the alert.
    verify_integrity.run()
    assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "footage_integrity_alert")).all()) == 2


def test_a_stale_due_date_never_deletes_early(as_user, session, world) -> None:
    from app.footage.retention import purge_due

    c = as_user("coordinator.a")
    fid = _upload(c, 21)
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        assert f is not None
        f.purge_due_at = utcnow() - timedelta(days=1)  # wrong: uploaded today, unlinked -> 31 days
        s.add(f)
    with unit_of_work() as s:
        report = purge_due(s)
    assert report.purged == [] and report.refreshed == 1
    session.expire_all()
    f = session.get(Footage, fid)
    assert f is not None and f.status != FootageStatus.purged
    assert f.purge_due_at is not None and f.purge_due_at > utcnow() + timedelta(days=30)


def test_moving_the_incident_moves_the_due_date(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    fid = _upload(c, 22)
    inc = _incident(c, "UOF-M", ended_days_ago=10)
    assert c.put(f"/api/v1/incidents/{inc}/footage/{fid}").status_code == 200
    session.expire_all()
    before = session.get(Footage, fid).purge_due_at  # type: ignore[union-attr]
    end = utcnow() - timedelta(days=2)
    r = c.patch(
        f"/api/v1/incidents/{inc}",
        json={"incident_ended_at": end.isoformat(), "reason": "End time corrected from the report"},
    )
    assert r.status_code == 200, r.text
    session.expire_all()
    after = session.get(Footage, fid).purge_due_at  # type: ignore[union-attr]
    assert before is not None and after is not None and after - before > timedelta(days=7)


def test_purge_waits_for_a_refresh_saving_now(as_user, session, world) -> None:
    """A key-moment refresh (or an analysis) saving when the clip falls due holds the clip's row: the purge
    waits, then removes what the refresh stored too. Before, it removed the folders first and the refresh's
    thumbnails and filmstrip stayed after the purge."""
    import threading
    import time

    from sqlmodel import col

    from app.footage.key_moments import moments_dir
    from app.footage.retention import due_date, purge_due

    fid = _upload(as_user("coordinator.a"), 31)
    _age(fid, 400)
    with unit_of_work() as s:  # its due date already stored, so the purge has nothing to write before it
        f = s.get(Footage, fid)
        f.purge_due_at = due_date(uploaded_at=f.uploaded_at, latest_incident_end=None, legal_hold=False, purged=False)  # type: ignore[union-attr]
        s.add(f)
    outcome: list[Any] = []

    def purge() -> None:
        with unit_of_work() as s:
            outcome.append(purge_due(s).purged)

    with unit_of_work() as s:  # as `key_moments.save` does
        s.exec(select(Footage).where(col(Footage.id) == fid).with_for_update()).one()
        purger = threading.Thread(target=purge)
        purger.start()
        time.sleep(0.5)
        assert purger.is_alive()  # waiting for the clip's row, not removing files under the refresh
        moments_dir(fid).mkdir(parents=True, exist_ok=True)
        (moments_dir(fid) / "abc_filmstrip.jpg").write_bytes(b"\xff\xd8 refresh's filmstrip")
    purger.join(timeout=60)
    assert outcome == [[fid]]
    session.expire_all()
    assert session.get(Footage, fid).status == FootageStatus.purged  # type: ignore[union-attr]
    assert not moments_dir(fid).exists()


def _purged(c, seed: int) -> int:  # type: ignore[no-untyped-def]
    """A clip uploaded, then deleted by retention (40 days old, unlinked)."""
    from app.footage.retention import purge_due

    fid = _upload(c, seed)
    _age(fid, 40)
    with unit_of_work() as s:
        assert purge_due(s).purged == [fid]
    return fid


def _due_now(fid: int) -> None:
    """Uploaded 60 days ago and its due date stored, as the nightly run leaves a clip that is due."""
    from app.footage.retention import refresh_purge_due

    _age(fid, 60)
    with unit_of_work() as s:
        refresh_purge_due(s, s.get(Footage, fid))  # type: ignore[arg-type]


def test_a_hold_committed_during_a_purge_run_is_honoured(as_user, session, engine, monkeypatch) -> None:
    """The run reads every clip's hold and links first; a hold committed after that, before the run reaches
    the clip, must still keep it. (SQLite's run holds the write lock throughout: nothing commits meanwhile.)"""
    import threading

    from app.footage import retention

    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the run holds the database's write lock from its first statement")
    c = as_user("coordinator.a")
    fid = _upload(c, 41)
    _due_now(fid)
    original = retention.purge_footage

    def hold_arrives_first(s, footage, **kw):  # type: ignore[no-untyped-def]
        def put_hold() -> None:
            r = c.put(f"/api/v1/footage/{fid}/legal-hold", json={"reason": "Police investigation"})
            assert r.status_code == 200, r.text

        other = threading.Thread(target=put_hold)
        other.start()
        other.join()
        return original(s, footage, **kw)

    monkeypatch.setattr(retention, "purge_footage", hold_arrives_first)
    with unit_of_work() as s:
        report = retention.purge_due(s)
    assert report.purged == []
    f = session.get(Footage, fid)
    assert f is not None and f.legal_hold and f.status != FootageStatus.purged and f.purge_due_at is None
    assert get_storage().exists(f.storage_key)


def test_a_hold_that_waits_for_a_purge_is_refused_not_recorded(as_user, session, engine, monkeypatch) -> None:
    """The other order: the run has the clip locked and deletes it; a hold asked for meanwhile waits, then
    answers 409 (already deleted) and records nothing."""
    import threading
    import time

    from app.footage import retention

    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the run holds the database's write lock from its first statement")
    c = as_user("coordinator.a")
    fid = _upload(c, 42)
    _due_now(fid)
    answers: list[Any] = []
    original = retention.purge_footage

    def hold_asked_before_commit(s, footage, **kw):  # type: ignore[no-untyped-def]
        done = original(s, footage, **kw)  # purged, not committed: the clip's row is still locked
        asker = threading.Thread(
            target=lambda: answers.append(c.put(f"/api/v1/footage/{fid}/legal-hold", json={"reason": "Claim"}))
        )
        asker.start()
        time.sleep(0.5)
        assert asker.is_alive()  # waiting for the clip's row
        s.info["asker"] = asker
        return done

    monkeypatch.setattr(retention, "purge_footage", hold_asked_before_commit)
    with unit_of_work() as s:
        report = retention.purge_due(s)
        asker = s.info["asker"]
    asker.join(10)
    assert report.purged == [fid]
    assert answers[0].status_code == 409 and "already been deleted" in answers[0].text
    f = session.get(Footage, fid)
    assert f is not None and f.status == FootageStatus.purged and not f.legal_hold
    holds = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_legal_hold_set")).all()
    assert holds == []


def test_files_are_deleted_only_once_the_purge_has_committed(as_user, session, monkeypatch) -> None:
    """The run commits clip by clip. One that fails part way (here: the second clip, after it was marked and
    before its commit) rolls that clip back: it is not recorded as purged, and so it keeps its bytes and its
    thumbnails. The first clip's purge had committed: its files are gone."""
    import sqlalchemy as sa

    from app.core.config import get_settings
    from app.footage import retention

    c = as_user("coordinator.a")
    ids = [_upload(c, 43), _upload(c, 44)]
    for fid in ids:
        _due_now(fid)
    thumbs = {fid: get_settings().derived_dir / str(fid) for fid in ids}
    for folder in thumbs.values():
        folder.mkdir(parents=True)
        (folder / "thumb-0001.jpg").write_bytes(b"jpeg")
    original = retention.purge_footage
    calls: list[int] = []

    def second_fails(s, footage, **kw):  # type: ignore[no-untyped-def]
        calls.append(footage.id)
        done = original(s, footage, **kw)
        if len(calls) == 2:
            raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return done

    monkeypatch.setattr(retention, "purge_footage", second_fails)
    with pytest.raises(sa.exc.OperationalError), unit_of_work() as s:
        retention.purge_due(s)
    session.expire_all()
    first, second = session.get(Footage, ids[0]), session.get(Footage, ids[1])
    assert first is not None and first.status == FootageStatus.purged
    assert not get_storage().exists(first.storage_key) and not thumbs[ids[0]].exists()
    assert second is not None and second.status != FootageStatus.purged
    assert get_storage().exists(second.storage_key), "the bytes of a clip that was not purged were deleted"
    assert (thumbs[ids[1]] / "thumb-0001.jpg").exists()
    # The next run (nothing failing) purges the second, files and all.
    monkeypatch.setattr(retention, "purge_footage", original)
    with unit_of_work() as s:
        assert retention.purge_due(s).purged == [ids[1]]
    assert not get_storage().exists(second.storage_key) and not thumbs[ids[1]].exists()


def test_unlinking_an_old_clip_gives_it_the_unlinked_period_from_then(as_user, session) -> None:
    """A clip uploaded 60 days ago and unlinked today (by mistake, perhaps) is not due at once: it is kept
    31 days from the unlinking, so the next hourly run does not delete it before anyone can link it back."""
    from app.footage.retention import purge_due

    c = as_user("coordinator.a")
    fid = _upload(c, 45)
    inc = _incident(c, "UOF-U", ended_days_ago=50)
    assert c.put(f"/api/v1/incidents/{inc}/footage/{fid}").status_code == 200
    _age(fid, 60)
    r = c.delete(f"/api/v1/incidents/{inc}/footage/{fid}", params={"reason": "Linked to the wrong incident"})
    assert r.status_code in (200, 204), r.text
    with unit_of_work() as s:
        assert purge_due(s).purged == []
    f = session.get(Footage, fid)
    assert f is not None and f.unlinked_at is not None and f.status != FootageStatus.purged
    assert f.purge_due_at is not None
    assert abs((f.purge_due_at - f.unlinked_at) - timedelta(days=31)) < timedelta(seconds=1)
    # Linked again, then unlinked once more: the period counts from the latest unlinking.
    assert c.put(f"/api/v1/incidents/{inc}/footage/{fid}").status_code == 200
    session.refresh(f)
    assert f.purge_due_at is not None and f.purge_due_at > utcnow() + timedelta(days=365)


def test_the_bytes_of_a_purged_clip_are_stored_again_only_when_asked(as_user, session, world) -> None:
    """Retention deleted the clip. Its bytes sent again (a dock re-sending an old export) are refused with a
    409 that says so, not stored back unasked; asked for (a complaint came late), they are stored as a new
    clip, and each clip's page points to the other. They were refused as 'already stored', naming the
    deleted clip, even when asked."""

    c = as_user("coordinator.a")
    data = mp4_bytes(30_000, seed=41)
    first = _purged(c, 41)
    key = session.get(Footage, first).storage_key  # type: ignore[union-attr]
    assert not get_storage().exists(key)

    refused = post_footage(c, data)
    assert refused.status_code == 409, refused.text
    assert refused.headers["bwv-purged"] == "true" and refused.headers["bwv-footage-id"] == str(first)
    assert "deleted on" in refused.json()["detail"] and "restore_purged=true" in refused.json()["detail"]
    assert not get_storage().exists(key)
    said = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_upload_refused")).one()
    assert said.object_id == str(first) and said.detail["status"] == 409 and "deleted on" in said.detail["message"]
    assert post_footage(c, data, restore_purged="maybe").status_code == 422

    again = post_footage(c, data, restore_purged="true")
    assert again.status_code == 201, again.text
    second = again.json()["id"]
    assert second != first and get_storage().exists(key)
    assert c.get(f"/api/v1/footage/{second}/video", headers={"Range": "bytes=0-99"}).status_code == 206
    session.expire_all()
    assert session.get(Footage, first).status == FootageStatus.purged  # type: ignore[union-attr]
    assert session.exec(select(FootageTombstone).where(FootageTombstone.footage_id == first)).one()
    stored = session.exec(
        select(AuditEvent).where(AuditEvent.action == "footage_upload", AuditEvent.object_id == str(second))
    ).one()
    assert stored.detail["stored_again_after_purge"] == [first]
    old_page = c.get(f"/footage/{first}")  # the deleted clip's page points to the new one, and back
    assert old_page.status_code == 200 and f'href="/footage/{second}"' in old_page.text
    assert "uploaded again" in old_page.text
    new_page = c.get(f"/footage/{second}")
    assert new_page.status_code == 200 and f'href="/footage/{first}"' in new_page.text
    assert "after the retention policy deleted it as" in new_page.text
    # Once more: now these bytes are stored, as the new clip.
    dup = post_footage(c, data, restore_purged="true")
    assert dup.status_code == 409 and dup.json()["footage_id"] == second and "bwv-purged" not in dup.headers


def test_a_resumable_upload_of_a_purged_clips_bytes_is_refused_unless_asked(as_user, session, world) -> None:
    """The upload page sends files by tus: the completing PATCH says the bytes were deleted (409, Bwv-Purged),
    and the page offers to send them again with restore_purged."""
    import base64

    from tests.footage.conftest import meta

    c = as_user("coordinator.a")
    data = mp4_bytes(30_000, seed=43)
    first = _purged(c, 43)
    tus = {"Tus-Resumable": "1.0.0"}

    def send(**extra: str):  # type: ignore[no-untyped-def]
        fields = {"filename": "again.mp4", **meta(), **extra}
        header = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())
        made = c.post("/api/v1/uploads", headers={**tus, "Upload-Length": str(len(data)), "Upload-Metadata": header})
        assert made.status_code == 201, made.text
        return c.patch(
            made.headers["location"],
            content=data,
            headers={**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
        )

    refused = send()
    assert refused.status_code == 409, refused.text
    assert refused.headers["bwv-purged"] == "true" and refused.headers["bwv-footage-id"] == str(first)
    assert refused.headers["bwv-purged-on"] and refused.headers["tus-resumable"] == "1.0.0"
    said = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_upload_refused")).one()
    assert said.object_id == str(first) and said.detail["via"] == "tus"
    from app.footage.models import UploadSession

    session.expire_all()  # the upload was given up: no session left, no partial file
    assert session.exec(select(UploadSession).where(UploadSession.completed_footage_id.is_(None))).all() == []  # type: ignore[union-attr]
    stored = send(restore_purged="true")
    assert stored.status_code == 204, stored.text
    assert int(stored.headers["bwv-footage-id"]) != first and "bwv-duplicate" not in stored.headers


def test_a_late_deletion_of_a_purged_clip_keeps_the_file_of_a_clip_stored_meanwhile(
    as_user, session, world, tmp_path, monkeypatch
) -> None:
    """A purged clip's object is deleted after the purge commits. A clip of the same bytes being stored then
    (uploaded again, or in another establishment) holds the object until it commits: the deletion waits and
    then finds a live clip on it. Before, it counted no live clip and deleted the new clip's file."""
    import threading
    import time

    from app.footage import retention
    from app.footage.service import NewFootage, register_footage

    c = as_user("coordinator.a")
    data = mp4_bytes(30_000, seed=42)
    first = _upload(c, 42)
    _age(first, 40)
    late: list[tuple[int, str]] = []
    monkeypatch.setattr(retention, "delete_files", lambda fid, key: late.append((fid, key)))
    with unit_of_work() as s:
        assert retention.purge_due(s).purged == [first]
    monkeypatch.undo()
    [(fid, key)] = late
    assert fid == first and get_storage().exists(key)  # not deleted yet

    src = tmp_path / "again.mp4"
    src.write_bytes(data)
    f = session.get(Footage, first)
    assert f is not None
    with unit_of_work() as s:
        new = register_footage(
            s,
            NewFootage(
                establishment_id=f.establishment_id,
                recording_started_at=f.recording_started_at,
                original_filename="again.mp4",
            ),
            path=src,
            sha256=f.sha256,
            size=len(data),
        )
        deleter = threading.Thread(target=retention.delete_files, args=(fid, key))
        deleter.start()
        time.sleep(0.5)
        assert deleter.is_alive()  # waiting for the clip being stored to commit
    deleter.join(timeout=60)
    assert not deleter.is_alive()
    assert get_storage().exists(key)
    assert get_storage().hash_key(key) == f.sha256 and new.id != first


def test_the_purge_run_and_an_upload_of_a_due_clips_bytes_take_turns(as_user, session, world, engine) -> None:
    """An upload storing a due clip's bytes holds their stored object, then writes its audit entry; the purge
    run locks each clip's object before its entry. The run commits clip by clip, so it never holds the audit
    chain's end while it waits for the object: the upload finishes, then the run. In one transaction it held
    the chain's end from its first clip, and the two deadlocked (PostgreSQL rolled the whole run back)."""
    import threading
    import time

    from app.audit.service import SYSTEM, record
    from app.footage.retention import purge_due
    from app.footage.service import hold_stored_object

    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite every transaction holds the database's write lock: nothing runs beside another")
    c = as_user("coordinator.a")
    earlier, due = _upload(c, 44), _upload(c, 45)  # the run purges `earlier` first
    _due_now(earlier)
    _due_now(due)
    key = session.get(Footage, due).storage_key  # type: ignore[union-attr]
    outcome: list[Any] = []

    def purge() -> None:
        with unit_of_work() as s:
            outcome.append(purge_due(s).purged)

    with unit_of_work() as s:  # an upload of `due`'s bytes, between storing them and its audit entry
        hold_stored_object(s, key)
        purger = threading.Thread(target=purge)
        purger.start()
        time.sleep(1.5)  # the run has purged `earlier` and waits for the object
        record(s, SYSTEM, "footage_upload_duplicate", object_type="footage", object_id=due)
    purger.join(timeout=60)
    assert outcome == [[earlier, due]]


def test_an_upload_while_its_clip_is_being_purged_is_told_it_was_deleted(as_user, session, world, engine) -> None:
    """The purge of a clip and an upload of its bytes at the same moment: the upload waits for the purge and is
    answered that the clip was deleted. Before, it found the clip still live and was told 'already stored',
    as a clip deleted a moment later (even when it asked for the bytes to be stored again)."""
    import threading

    from app.footage import retention

    if engine.dialect.name != "postgresql":
        pytest.skip("on SQLite every transaction holds the database's write lock: nothing runs beside another")
    c = as_user("coordinator.a")
    data = mp4_bytes(30_000, seed=46)
    fid = _upload(c, 46)
    _due_now(fid)
    purging, go_on = threading.Event(), threading.Event()
    original = retention.purge_footage

    def slow_purge(s, footage, **kw):  # type: ignore[no-untyped-def]
        done = original(s, footage, **kw)
        purging.set()
        go_on.wait(timeout=30)
        return done

    outcome: list[Any] = []
    answers: list[Any] = []

    def purge() -> None:
        with unit_of_work() as s:
            outcome.append(retention.purge_due(s).purged)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(retention, "purge_footage", slow_purge)
        purger = threading.Thread(target=purge)
        purger.start()
        assert purging.wait(timeout=30)  # marked purged, not committed yet
        uploader = threading.Thread(target=lambda: answers.append(post_footage(c, data)))
        uploader.start()
        uploader.join(timeout=1.5)
        assert uploader.is_alive()  # waiting for the purge
        go_on.set()
        purger.join(timeout=60)
        uploader.join(timeout=60)
    assert outcome == [[fid]]
    [answer] = answers
    assert answer.status_code == 409 and answer.headers.get("bwv-purged") == "true", answer.text
    assert answer.headers["bwv-footage-id"] == str(fid)
