"""Playback with HTTP Range (disk and S3), one audit entry per viewing, downloads with a reason."""

from __future__ import annotations

import socket

import pytest
from sqlmodel import select

from app.audit.models import AuditEvent
from tests.footage.conftest import mp4_bytes, post_footage

DATA = mp4_bytes(1_000_000, seed=21)


def _plays(session) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    return list(session.exec(select(AuditEvent).where(AuditEvent.action == "footage_play")).all())


def _check_ranges(c, fid: int) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/footage/{fid}/video"
    whole = c.get(url)
    assert whole.status_code == 200 and whole.content == DATA
    assert whole.headers["accept-ranges"] == "bytes" and whole.headers["content-type"] == "video/mp4"
    first = c.get(url, headers={"Range": "bytes=0-99"})
    assert first.status_code == 206 and first.content == DATA[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{len(DATA)}"
    assert first.headers["content-length"] == "100"
    middle = c.get(url, headers={"Range": "bytes=400000-400999"})
    assert middle.status_code == 206 and middle.content == DATA[400000:401000]
    open_end = c.get(url, headers={"Range": "bytes=999990-"})
    assert open_end.status_code == 206 and open_end.content == DATA[999990:]
    suffix = c.get(url, headers={"Range": "bytes=-500"})
    assert suffix.status_code == 206 and suffix.content == DATA[-500:]
    assert suffix.headers["content-range"] == f"bytes {len(DATA) - 500}-{len(DATA) - 1}/{len(DATA)}"
    clipped = c.get(url, headers={"Range": "bytes=999000-5000000"})
    assert clipped.status_code == 206 and clipped.content == DATA[999000:]
    for bad in ("bytes=2000000-", "bytes=500-100", "bytes=-0", "bytes=abc", "bytes=-"):
        r = c.get(url, headers={"Range": bad})
        assert r.status_code == 416, bad
        assert r.headers["content-range"] == f"bytes */{len(DATA)}"


@pytest.mark.usefixtures("storage_root")
def test_range_requests_from_disk(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    fid = post_footage(c, DATA).json()["id"]
    _check_ranges(c, fid)


@pytest.mark.usefixtures("storage_root")
def test_one_audit_entry_per_viewing(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    fid = post_footage(c, DATA).json()["id"]
    url = f"/api/v1/footage/{fid}/video?view=viewing-0001"
    for rng in ("bytes=0-", "bytes=500000-", "bytes=900000-", "bytes=0-"):
        assert c.get(url, headers={"Range": rng}).status_code == 206
    assert len(_plays(session)) == 1
    c.get(f"/api/v1/footage/{fid}/video?view=viewing-0002", headers={"Range": "bytes=0-"})
    assert len(_plays(session)) == 2
    # Without a viewing id: requests starting at byte 0 start a viewing, later ranges do not.
    c.get(f"/api/v1/footage/{fid}/video", headers={"Range": "bytes=700000-"})
    assert len(_plays(session)) == 2
    c.get(f"/api/v1/footage/{fid}/video", headers={"Range": "bytes=0-10"})
    assert len(_plays(session)) == 3


@pytest.mark.usefixtures("storage_root")
def test_playback_scope(as_user, world) -> None:
    fid = post_footage(as_user("coordinator.a"), DATA).json()["id"]
    assert as_user("coordinator.b").get(f"/api/v1/footage/{fid}/video").status_code == 404
    assert as_user("officer.a2").get(f"/api/v1/footage/{fid}/video").status_code == 404  # not their footage
    assert as_user("officer.a1").get(f"/api/v1/footage/{fid}/video", headers={"Range": "bytes=0-9"}).status_code == 206
    assert as_user("governor.a").get(f"/api/v1/footage/{fid}/video", headers={"Range": "bytes=0-9"}).status_code == 206


@pytest.mark.usefixtures("storage_root")
def test_download_needs_a_reason_and_is_audited(as_user, session, world) -> None:
    c = as_user("coordinator.a")
    fid = post_footage(c, DATA, filename="clip 1.mp4").json()["id"]
    assert c.get(f"/api/v1/footage/{fid}/download").status_code == 422
    r = c.get(f"/api/v1/footage/{fid}/download", params={"reason": "Requested by the police, ref 12/345"})
    assert r.status_code == 200 and r.content == DATA
    assert r.headers["content-disposition"].startswith("attachment;")
    ev = session.exec(select(AuditEvent).where(AuditEvent.action == "footage_download")).one()
    assert ev.reason == "Requested by the police, ref 12/345"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def s3_storage(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """A real S3 HTTP API (moto's server, tests only) on a free port; boto3 talks to it over HTTP."""
    import uuid

    from moto.server import ThreadedMotoServer

    from app.core.config import get_settings
    from app.core.storage import get_storage

    bucket = f"footage-{uuid.uuid4().hex[:12]}"  # moto keeps its buckets for the whole test process
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("BWV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("BWV_STORAGE_BACKEND", "s3")
    monkeypatch.setenv("BWV_S3_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("BWV_S3_BUCKET", bucket)
    monkeypatch.setenv("BWV_S3_ACCESS_KEY", "testing")
    monkeypatch.setenv("BWV_S3_SECRET_KEY", "testing")
    get_settings.cache_clear()
    get_storage.cache_clear()
    storage = get_storage()
    storage.client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})  # type: ignore[union-attr]
    yield storage
    get_settings.cache_clear()
    get_storage.cache_clear()
    server.stop()


def test_range_requests_from_s3(as_user, session, world, s3_storage) -> None:
    c = as_user("coordinator.a")
    r = post_footage(c, DATA)
    assert r.status_code == 201, r.text
    body = r.json()
    assert s3_storage.exists(
        body["storage_key"]
        if "storage_key" in body
        else f"sha256/{body['sha256'][:2]}/{body['sha256'][2:4]}/{body['sha256']}"
    )
    _check_ranges(c, body["id"])
    from app.core.storage import incoming_dir

    assert list(incoming_dir().iterdir()) == []


def test_s3_verify_and_purge(as_user, session, world, s3_storage) -> None:
    from datetime import timedelta

    from app.core.db import unit_of_work
    from app.core.types import utcnow
    from app.footage.integrity import verify_all
    from app.footage.models import Footage
    from app.footage.retention import purge_due

    c = as_user("coordinator.a")
    fid = post_footage(c, mp4_bytes(300_000, seed=77)).json()["id"]
    report = verify_all()
    assert report.checked == 1 and report.ok == 1
    with unit_of_work() as s:
        f = s.get(Footage, fid)
        assert f is not None
        f.uploaded_at = utcnow() - timedelta(days=60)
        key = f.storage_key
        s.add(f)
    assert s3_storage.exists(key)
    with unit_of_work() as s:
        assert purge_due(s).purged == [fid]
    assert not s3_storage.exists(key)
