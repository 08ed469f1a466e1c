"""Resumable uploads (tus 1.0): create, upload half, "interrupt", HEAD for the offset, resume, identical hash."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from sqlmodel import select

from app.footage.models import Footage, UploadSession
from tests.footage.conftest import incoming_files, meta, mp4_bytes

pytestmark = pytest.mark.usefixtures("storage_root")
TUS = {"Tus-Resumable": "1.0.0"}


def _metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def _create(client, size: int, **over) -> str:  # type: ignore[no-untyped-def]
    fields = {"filename": "long clip.mp4", **meta(), **over}
    r = client.post(
        "/api/v1/uploads", headers={**TUS, "Upload-Length": str(size), "Upload-Metadata": _metadata(**fields)}
    )
    assert r.status_code == 201, r.text
    return r.headers["location"]


def _patch(client, url: str, offset: int, data: bytes):  # type: ignore[no-untyped-def]
    return client.patch(
        url,
        content=data,
        headers={**TUS, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
    )


@pytest.mark.parametrize("forget", [False, True], ids=["same-process", "after-restart"])
def test_resume_after_interruption_gives_identical_hash(as_user, session, world, forget) -> None:
    from app.footage import api_tus

    c = as_user("coordinator.a")
    data = mp4_bytes(5 * 1024 * 1024 + 123, seed=11)
    url = _create(c, len(data))
    half = len(data) // 2 - 77
    r = _patch(c, url, 0, data[:half])
    assert r.status_code == 204 and r.headers["upload-offset"] == str(half)
    if forget:
        api_tus.forget_hash_state()
    head = c.head(url, headers=TUS)
    assert head.status_code == 200
    offset = int(head.headers["upload-offset"])
    assert offset == half and head.headers["upload-length"] == str(len(data))
    wrong = _patch(c, url, 0, data[:10])
    assert wrong.status_code == 409
    r = _patch(c, url, offset, data[offset:])
    assert r.status_code == 204, r.text
    fid = int(r.headers["bwv-footage-id"])
    f = session.get(Footage, fid)
    assert f is not None and f.sha256 == hashlib.sha256(data).hexdigest() and f.size_bytes == len(data)
    assert f.original_filename == "long clip.mp4"
    assert session.get(UploadSession, url.rsplit("/", 1)[1]).completed_footage_id == fid  # type: ignore[union-attr]
    assert incoming_files() == []
    # A retry of the last PATCH after completion is answered, not re-registered.
    again = _patch(c, url, offset, data[offset:])
    assert again.status_code == 204 and again.headers["bwv-footage-id"] == str(fid)


def test_bad_metadata_is_refused_before_any_bytes(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    base = {"filename": "a.mp4", **meta()}
    cases = [
        ({**base, "staff_number": "NOPE"}, 422),
        ({**base, "filename": "../a.mp4"}, 422),
        ({**base, "recording_started_at": "2026-01-01T10:00:00"}, 422),
    ]
    for fields, status in cases:
        r = c.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "1000", "Upload-Metadata": _metadata(**fields)})
        assert r.status_code == status, r.text
    r = c.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "0", "Upload-Metadata": _metadata(**base)})
    assert r.status_code == 422 and "empty" in r.json()["detail"]
    r = c.post("/api/v1/uploads", headers={"Upload-Length": "10", "Upload-Metadata": _metadata(**base)})
    assert r.status_code == 412
    assert session.exec(select(UploadSession)).all() == []
    assert incoming_files() == []


def test_over_the_limit_unknown_camera_and_future_time_are_refused_at_creation(
    as_user, session, world, monkeypatch
) -> None:
    """The resumable route refuses what the simple upload refuses, before any bytes: each a clear 4xx, audited,
    no upload session and no file."""
    from datetime import UTC, datetime, timedelta

    from app.audit.models import AuditEvent
    from app.core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_upload_bytes", 64 * 1024)
    c = as_user("coordinator.a")
    base = {"filename": "a.mp4", **meta()}
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    cases = [
        ("65537", base, 413, "limit"),
        ("1000", {**base, "camera_serial": "CAM-B1"}, 422, "Unknown camera"),
        ("1000", {**base, "recording_started_at": future, "activated_at": future}, 422, "in the future"),
        ("1000", {**base, "filename": "C:\\clips\\a.mp4"}, 422, "path parts"),
    ]
    for length, fields, status, text in cases:
        r = c.post("/api/v1/uploads", headers={**TUS, "Upload-Length": length, "Upload-Metadata": _metadata(**fields)})
        assert r.status_code == status, (fields, r.text)
        assert text in r.json()["detail"], r.json()
    assert session.exec(select(UploadSession)).all() == []
    assert incoming_files() == []
    refused = session.exec(
        select(AuditEvent).where(AuditEvent.action == "footage_upload_refused").order_by(AuditEvent.id)  # type: ignore[arg-type]
    ).all()
    assert [e.detail["status"] for e in refused] == [413, 422, 422, 422]


def test_non_video_bytes_end_the_upload(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    url = _create(c, 10_000)
    r = _patch(c, url, 0, b"%PDF-1.7" + b"x" * 9992)
    assert r.status_code == 415
    assert session.exec(select(UploadSession)).all() == []
    assert session.exec(select(Footage)).all() == []
    assert incoming_files() == []


def test_bytes_beyond_the_declared_length_are_refused(as_user, world) -> None:
    c = as_user("coordinator.a")
    data = mp4_bytes(8000)
    url = _create(c, 5000)
    r = _patch(c, url, 0, data)
    assert r.status_code == 413


def test_duplicate_completion_points_to_existing(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    data = mp4_bytes(9000, seed=5)
    first = _patch(c, _create(c, len(data)), 0, data)
    second = _patch(c, _create(c, len(data)), 0, data)
    assert second.status_code == 204 and second.headers["bwv-duplicate"] == "true"
    assert second.headers["bwv-footage-id"] == first.headers["bwv-footage-id"]
    assert len(session.exec(select(Footage)).all()) == 1


def test_uploads_are_private_to_their_creator_and_can_be_cancelled(as_user, world) -> None:
    url = _create(as_user("coordinator.a"), 9000)
    assert as_user("coordinator2.a").head(url, headers=TUS).status_code == 404
    assert as_user("coordinator.b").patch(url, content=b"x", headers=TUS).status_code == 404
    c = as_user("coordinator.a")
    assert c.delete(url, headers=TUS).status_code == 204
    assert c.head(url, headers=TUS).status_code == 404
    assert incoming_files() == []


def test_every_answer_names_the_protocol_version(client, as_user, world) -> None:
    """tus: Tus-Resumable on every answer but OPTIONS's, errors included (from the route, from validation,
    from the sign-in check, and a clip's own refusal as in test_retention)."""
    c = as_user("coordinator.a")
    url = _create(c, 10_000)
    answers = {
        "created and sent": _patch(c, _create(c, 9000, filename="sent.mp4"), 0, mp4_bytes(9000, seed=71)),
        "offset": c.head(url, headers=TUS),
        "wrong offset": _patch(c, url, 5, b"x"),
        "not a video": _patch(c, _create(c, 10_000), 0, b"%PDF-1.7" + b"x" * 9992),
        "no version": c.patch(url, content=b"x", headers={"Upload-Offset": "0"}),
        "bad id": c.head("/api/v1/uploads/not-an-id", headers=TUS),
        "unknown": c.head("/api/v1/uploads/" + "0" * 32, headers=TUS),
        "not signed in": client.post("/api/v1/uploads", headers={**TUS, "Upload-Length": "10"}),
        "cancelled": c.delete(url, headers=TUS),
    }
    assert [a.status_code for a in answers.values()] == [204, 200, 409, 415, 412, 422, 404, 401, 204]
    assert {name: a.headers.get("tus-resumable") for name, a in answers.items()} == dict.fromkeys(answers, "1.0.0")
    assert "tus-resumable" not in client.get("/api/v1/me").headers  # only the uploads' answers


def test_options_advertises_tus(client) -> None:
    r = client.options("/api/v1/uploads")
    assert r.status_code == 204 and r.headers["tus-version"] == "1.0.0" and "creation" in r.headers["tus-extension"]


def test_abandoned_uploads_are_cleared_by_the_purge(as_user, session, world) -> None:
    from datetime import timedelta

    from app.core.db import unit_of_work
    from app.core.types import utcnow
    from app.footage.api_tus import part_path
    from app.footage.retention import purge_due

    c = as_user("coordinator.a")
    old_url, new_url = _create(c, 10_000), _create(c, 10_000)
    _patch(c, old_url, 0, mp4_bytes(5000))
    old_id, new_id = old_url.rsplit("/", 1)[1], new_url.rsplit("/", 1)[1]
    with unit_of_work() as s:
        up = s.get(UploadSession, old_id)
        assert up is not None
        up.updated_at = utcnow() - timedelta(days=8)
        s.add(up)
    with unit_of_work() as s:
        assert purge_due(s).abandoned_uploads == 1
    assert session.get(UploadSession, old_id) is None and not part_path(old_id).exists()
    assert session.get(UploadSession, new_id) is not None and part_path(new_id).exists()


def test_a_second_request_waits_out_the_completing_one(as_user, session, world, monkeypatch) -> None:
    """The PATCH that completes an upload keeps it to itself until the footage is registered: a second PATCH
    sent meanwhile (a client retrying the last chunk) is told another request is sending it, and one that
    arrives after gets the footage id, not "start again"."""
    import fcntl
    import os

    from app.footage import api_tus, upload

    c = as_user("coordinator.a")
    data = mp4_bytes(9000, seed=21)
    url = _create(c, len(data))
    upload_id = url.rsplit("/", 1)[1]
    original = upload.finalize_upload
    during: list[int] = []

    def finalize_while_another_arrives(*args, **kwargs):  # type: ignore[no-untyped-def]
        fd = os.open(api_tus.part_path(upload_id), os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):  # the completing request still holds the upload
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(fd)
        during.append(_patch(as_user("coordinator.a"), url, len(data), b"").status_code)
        return original(*args, **kwargs)

    monkeypatch.setattr(upload, "finalize_upload", finalize_while_another_arrives)
    done = _patch(c, url, 0, data)
    assert done.status_code == 204, done.text
    assert during == [409]
    assert len(session.exec(select(Footage)).all()) == 1 and incoming_files() == []


@pytest.mark.parametrize("stale_row", [False, True], ids=["reads-after-commit", "read-before-commit"])
def test_a_request_arriving_as_the_upload_completes_gets_its_footage(as_user, session, world, monkeypatch, stale_row):  # type: ignore[no-untyped-def]
    """Another PATCH that runs just after the completing one removed the partial file (and before that
    request ends) is answered with the footage id, not "start again": the completion is committed before the
    file goes, and a row read before that commit is read again."""
    from app.footage import api_tus, upload

    c = as_user("coordinator.a")
    data = mp4_bytes(9000, seed=22)
    url = _create(c, len(data))
    upload_id = url.rsplit("/", 1)[1]
    before = session.get(UploadSession, upload_id)
    session.expunge(before)  # the row as a request that read it before the completion would hold it
    own = api_tus._own
    if stale_row:
        monkeypatch.setattr(api_tus, "_own", lambda s, *_a: s.merge(before, load=False))
    discard = upload.IncomingFile.discard
    late: list[Any] = []

    def discard_then_another_arrives(self):  # type: ignore[no-untyped-def]
        discard(self)
        if self.path == api_tus.part_path(upload_id) and not late:
            late.append(_patch(as_user("coordinator.a"), url, len(data), b""))

    monkeypatch.setattr(upload.IncomingFile, "discard", discard_then_another_arrives)
    done = _patch(c, url, 0, data)
    monkeypatch.setattr(api_tus, "_own", own)
    assert done.status_code == 204, done.text
    assert [(r.status_code, r.headers.get("bwv-footage-id")) for r in late] == [(204, done.headers["bwv-footage-id"])]
    assert len(session.exec(select(Footage)).all()) == 1 and incoming_files() == []


def test_cancel_and_the_purge_leave_an_upload_being_sent_alone(as_user, session, world) -> None:
    from datetime import timedelta

    from app.core.db import unit_of_work
    from app.core.storage import try_lock
    from app.core.types import utcnow
    from app.footage.api_tus import part_path
    from app.footage.retention import purge_due

    c = as_user("coordinator.a")
    url = _create(c, 10_000)
    upload_id = url.rsplit("/", 1)[1]
    _patch(c, url, 0, mp4_bytes(5000, seed=23))
    with unit_of_work() as s:
        up = s.get(UploadSession, upload_id)
        up.updated_at = utcnow() - timedelta(days=8)  # type: ignore[union-attr]
        s.add(up)
    with try_lock(part_path(upload_id)) as held:  # as a PATCH sending bytes holds it
        assert held
        r = c.delete(url, headers=TUS)
        assert r.status_code == 409 and "sending this upload" in r.json()["detail"]
        with unit_of_work() as s:
            assert purge_due(s).abandoned_uploads == 0
        assert part_path(upload_id).exists() and session.get(UploadSession, upload_id) is not None
    assert c.delete(url, headers=TUS).status_code == 204
    assert not part_path(upload_id).exists()


def test_a_partial_file_removed_under_a_patch_is_not_made_again(as_user, session, world, monkeypatch) -> None:
    """Cancelled between the PATCH's checks and its opening the file: 404, and no empty file is left."""
    from app.footage import api_tus

    c = as_user("coordinator.a")
    data = mp4_bytes(9000, seed=24)
    url = _create(c, len(data))
    upload_id = url.rsplit("/", 1)[1]
    assert _patch(c, url, 0, data[:4000]).status_code == 204
    recall = api_tus._recall

    def removed_meanwhile(uid, offset):  # type: ignore[no-untyped-def]
        api_tus.part_path(uid).unlink()
        return recall(uid, offset)

    monkeypatch.setattr(api_tus, "_recall", removed_meanwhile)
    r = _patch(c, url, 4000, data[4000:])
    assert r.status_code == 404 and "start again" in r.json()["detail"]
    assert not api_tus.part_path(upload_id).exists() and incoming_files() == []
