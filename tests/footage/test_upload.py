"""Simple (multipart, streamed) uploads: the happy path, each bad input, duplicates, access."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from app.footage.models import Footage, FootageIncident
from tests.footage.conftest import incoming_files, meta, mp4_bytes, post_footage

pytestmark = pytest.mark.usefixtures("storage_root")


def _rows(session) -> list[Footage]:  # type: ignore[no-untyped-def]
    return list(session.exec(select(Footage)).all())


def test_upload_streams_hashes_and_stores_write_once(as_user, session, world, storage_root: Path) -> None:
    data = mp4_bytes(3 * 1024 * 1024 + 17)
    r = post_footage(as_user("coordinator.a"), data, filename="Clip 0001.MP4")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["sha256"] == hashlib.sha256(data).hexdigest()
    assert body["size_bytes"] == len(data)
    assert body["original_filename"] == "Clip 0001.MP4"
    assert body["wearer_staff_number"] == "A001" and body["camera_serial"] == "CAM-A1"
    assert body["status"] == "queued" and body["duplicate"] is False
    assert body["purge_due_at"] is not None
    stored = storage_root / "sha256" / body["sha256"][:2] / body["sha256"][2:4] / body["sha256"]
    assert stored.read_bytes() == data
    assert stored.stat().st_mode & 0o222 == 0  # read-only: write-once
    assert incoming_files() == []
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_upload")).one()
    assert ev.object_id == str(body["id"])


def test_same_bytes_twice_is_recognised(as_user, session, world) -> None:
    data = mp4_bytes(100_000, seed=2)
    c = as_user("coordinator.a")
    first = post_footage(c, data)
    assert first.status_code == 201
    again = post_footage(c, data, filename="renamed.mp4", staff_number="A002")
    assert again.status_code == 409
    assert again.json()["footage_id"] == first.json()["id"]
    assert len(_rows(session)) == 1
    assert incoming_files() == []


def test_upload_links_incident_reference(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    now = datetime.now(UTC)
    inc = c.post(
        "/api/v1/incidents",
        json={
            "reference": "UOF-1",
            "location": "A wing",
            "incident_started_at": (now - timedelta(hours=3)).isoformat(),
            "force_started_at": (now - timedelta(hours=3)).isoformat(),
            "force_ended_at": (now - timedelta(hours=2)).isoformat(),
            "incident_ended_at": (now - timedelta(hours=2)).isoformat(),
            "staff": [{"staff_number": "A001"}],
        },
    )
    assert inc.status_code == 201, inc.text
    r = post_footage(c, mp4_bytes(5000, seed=3), incident_reference="UOF-1")
    assert r.status_code == 201, r.text
    assert r.json()["incident_ids"] == [inc.json()["id"]]
    link = session.exec(select(FootageIncident)).one()
    assert link.source == "upload"


BAD = [
    ("not a video", dict(data=b"%PDF-1.7\n" + b"x" * 5000), 415, "not a video"),
    ("jpeg renamed", dict(data=b"\xff\xd8\xff\xe0" + b"x" * 5000), 415, "contents"),
    ("short text", dict(data=b"hello"), 415, "not a video"),
    ("empty", dict(data=b""), 422, "empty"),
    ("unknown camera", dict(camera_serial="CAM-ZZ"), 422, "Unknown camera"),
    ("camera of another prison", dict(camera_serial="CAM-B1"), 422, "Unknown camera"),
    ("unknown staff", dict(staff_number="Z999"), 422, "Unknown staff number"),
    ("staff of another prison", dict(staff_number="B001"), 422, "Unknown staff number"),
    ("missing staff", dict(staff_number=None), 422, "Missing metadata"),
    (
        "future",
        dict(recording_started_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat(), activated_at=None),
        422,
        "in the future",
    ),
    ("no time zone", dict(recording_started_at="2026-11-01T10:00:00", activated_at=None), 422, "no time zone"),
    ("not a time", dict(recording_started_at="yesterday", activated_at=None), 422, "not a date"),
    (
        "activated before start",
        dict(activated_at=(datetime.now(UTC) - timedelta(hours=5)).isoformat()),
        422,
        "before recording_started_at",
    ),
    ("prerecord nonsense", dict(prerecord_seconds="-4"), 422, "prerecord_seconds"),
    ("unknown incident", dict(incident_reference="NOPE-1"), 422, "No incident"),
    ("path in name", dict(filename="../../etc/passwd.mp4"), 422, "path parts"),
    ("windows path", dict(filename="C:\\Users\\x\\clip.mp4"), 422, "path parts"),
    ("absolute path", dict(filename="/tmp/clip.mp4"), 422, "path parts"),
    ("encoded dots", dict(filename="%2e%2e%2fclip.mp4"), 422, "path parts"),
    ("control char", dict(filename="clip\x07.mp4"), 422, "control characters"),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_input_answers_4xx_and_leaves_nothing(as_user, session, world, case) -> None:
    _name, over, status, text = case
    over = dict(over)
    data = over.pop("data", mp4_bytes(50_000, seed=9))
    filename = over.pop("filename", "clip.mp4")
    r = post_footage(as_user("coordinator.a"), data, filename=filename, **over)
    assert r.status_code == status, r.text
    assert text in r.json()["detail"], r.json()
    assert _rows(session) == []
    assert incoming_files() == []
    refused = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_upload_refused")).all()
    assert len(refused) == 1


def test_filename_with_nul_is_refused(as_user, session, world) -> None:
    from app.footage.upload import check_filename

    with pytest.raises(Exception) as exc:
        check_filename("clip\x00.mp4")
    assert "control characters" in str(exc.value.detail)  # type: ignore[attr-defined]


def test_over_the_limit_is_refused_up_front_and_while_streaming(as_user, session, world, monkeypatch) -> None:
    from app.core.config import get_settings

    monkeypatch.setattr(get_settings(), "max_upload_bytes", 64 * 1024)
    c = as_user("coordinator.a")
    r = post_footage(c, mp4_bytes(2 * 1024 * 1024))  # Content-Length known: refused before reading
    assert r.status_code == 413, r.text
    assert "limit" in r.json()["detail"]

    def chunked():  # no Content-Length: refused when the stream passes the limit
        import uuid

        boundary = uuid.uuid4().hex
        yield from ()
        return boundary

    boundary = "b0undary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in meta().items()
    ]

    def body():
        yield from parts
        yield f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\n\r\n'.encode()
        data = mp4_bytes(1024 * 1024)
        for i in range(0, len(data), 16384):
            yield data[i : i + 16384]
        yield f"\r\n--{boundary}--\r\n".encode()

    r = c.post("/api/v1/footage", content=body(), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert r.status_code == 413, r.text
    assert _rows(session) == [] and incoming_files() == []


def test_fields_after_the_file_are_accepted(as_user, world) -> None:
    boundary = "xyz123"
    data = mp4_bytes(20_000, seed=4)
    body = f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="late.mp4"\r\n'
    body += "Content-Type: video/mp4\r\n\r\n"
    raw = body.encode() + data + b"\r\n"
    for k, v in meta().items():
        raw += f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
    raw += f"--{boundary}--\r\n".encode()
    r = as_user("coordinator.a").post(
        "/api/v1/footage", content=raw, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(data).hexdigest()


def test_not_multipart_is_415(as_user, world) -> None:
    r = as_user("coordinator.a").post("/api/v1/footage", content=b"abc", headers={"Content-Type": "video/mp4"})
    assert r.status_code == 415


@pytest.mark.parametrize("username", ["governor.a", "officer.a1"])
def test_only_coordinators_upload(as_user, session, world, username) -> None:
    r = post_footage(as_user(username), mp4_bytes(5000))
    assert r.status_code == 403
    assert _rows(session) == []


def test_admin_must_name_the_establishment(as_user, world) -> None:
    c = as_user("admin")
    assert post_footage(c, mp4_bytes(5000)).status_code == 422
    r = c.post(
        f"/api/v1/footage?establishment_id={world.est_a}",
        data=meta(),
        files={"file": ("a.mp4", mp4_bytes(5000, seed=8), "video/mp4")},
    )
    assert r.status_code == 201, r.text


def test_malformed_multipart_is_400(as_user, session, world) -> None:
    raw = b'--abc\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\n' + mp4_bytes(5000)
    raw += b"\r\n--abc-X garbage"
    r = as_user("coordinator.a").post(
        "/api/v1/footage", content=raw, headers={"Content-Type": "multipart/form-data; boundary=abc"}
    )
    assert r.status_code in (400, 422), r.text
    assert _rows(session) == [] and incoming_files() == []


def test_a_duplicate_found_by_the_database_is_audited_like_any_other(as_user, session, world, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Two uploads of the same bytes at the same moment: the second's look-up finds nothing, the database's
    unique key stops it, and it answers as a duplicate. It is audited as every duplicate is (it was not)."""
    from app.footage import upload

    data = mp4_bytes(60_000, seed=9)
    c = as_user("coordinator.a")
    first = post_footage(c, data)
    assert first.status_code == 201
    real = upload.find_by_hash
    calls: list[int] = []

    def not_yet_seen(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)  # the other upload committed just after

    monkeypatch.setattr(upload, "find_by_hash", not_yet_seen)
    again = post_footage(c, data, filename="at-the-same-moment.mp4")
    assert again.status_code == 409 and again.json()["footage_id"] == first.json()["id"] and len(calls) == 2
    dup = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_upload_duplicate")).all()
    assert [(e.object_id, e.detail["filename"]) for e in dup] == [(str(first.json()["id"]), "at-the-same-moment.mp4")]
    assert len(_rows(session)) == 1 and incoming_files() == []
