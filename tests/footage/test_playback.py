"""Playback with HTTP Range (disk and S3), one audit entry per viewing token and one per request without a valid
token, downloads with a reason."""

from __future__ import annotations

import re
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


def _token(c, fid: int) -> str:  # type: ignore[no-untyped-def]
    """The viewing token the footage page gives its player."""
    page = c.get(f"/footage/{fid}")
    assert page.status_code == 200
    m = re.search(r'src="/api/v1/footage/(\d+)/video\?view=([A-Za-z0-9._-]+)"', page.text)
    assert m and int(m.group(1)) == fid, page.text
    return m.group(2)


@pytest.mark.usefixtures("storage_root")
def test_one_audit_entry_per_viewing(as_user, session, world) -> None:
    """The player's range requests with its page's token make one entry; the next page load is a new viewing."""
    c = as_user("coordinator.a")
    fid = post_footage(c, DATA).json()["id"]
    url = f"/api/v1/footage/{fid}/video?view={_token(c, fid)}"
    for rng in ("bytes=500000-", "bytes=0-", "bytes=900000-", "bytes=0-", "bytes=-100"):
        assert c.get(url, headers={"Range": rng}).status_code == 206
    assert c.get(url).status_code == 200
    [play] = _plays(session)
    assert (play.actor_username, play.object_id) == ("coordinator.a", str(fid))
    assert play.detail["purpose"] == "footage_page" and play.detail["token"] == "valid"
    assert play.detail["range"] == "bytes=500000-"  # the first request counts, whatever its range
    c.get(f"/api/v1/footage/{fid}/video?view={_token(c, fid)}", headers={"Range": "bytes=0-"})
    assert len(_plays(session)) == 2


@pytest.mark.usefixtures("storage_root")
def test_the_json_api_video_url_is_one_viewing_for_the_user_who_asked(as_user, session, world) -> None:
    """An API client playing the `video_url` it was given makes one entry (purpose "api"), however many ranges it
    asks for; the URL is that user's only. Seen failing before the fix: the URL had no token, so each of the 4
    range requests was audited as a tokenless viewing."""
    c = as_user("coordinator.a")
    fid = post_footage(c, DATA).json()["id"]
    urls = [
        c.get(f"/api/v1/footage/{fid}").json()["video_url"],
        next(i["video_url"] for i in c.get("/api/v1/footage").json()["items"] if i["id"] == fid),
    ]
    for url in urls:
        assert url.startswith(f"/api/v1/footage/{fid}/video?view=v1.{fid}.{world.users['coordinator_a']}.")
        before = len(_plays(session))
        for rng in ("bytes=0-99", "bytes=500000-", "bytes=900000-", "bytes=-100"):
            assert c.get(url, headers={"Range": rng}).status_code == 206
        new = _plays(session)[before:]
        assert [(p.detail["purpose"], p.detail["token"]) for p in new] == [("api", "valid")], url
    assert urls[0] != urls[1], "each answer is a viewing of its own"
    assert as_user("governor.a").get(urls[0]).status_code == 200
    assert _plays(session)[-1].detail["token"] == "other_user"


@pytest.mark.usefixtures("storage_root")
def test_every_request_without_a_token_is_audited(as_user, session, world) -> None:
    """No way round the audit: a Range not starting at byte 0 (`bytes=1-` is nearly the whole file) is a
    viewing of its own. Seen failing before the fix: `bytes=1-` and `bytes=700000-` made no entry."""
    c = as_user("coordinator.a")
    fid = post_footage(c, DATA).json()["id"]
    url = f"/api/v1/footage/{fid}/video"
    nearly_all = c.get(url, headers={"Range": "bytes=1-"})
    assert nearly_all.status_code == 206 and nearly_all.content == DATA[1:]
    for rng in ("bytes=700000-", "bytes=-500", "bytes=0-10"):
        assert c.get(url, headers={"Range": rng}).status_code == 206
    assert c.get(url).status_code == 200
    plays = _plays(session)
    assert [p.detail["range"] for p in plays] == ["bytes=1-", "bytes=700000-", "bytes=-500", "bytes=0-10", None]
    assert {p.detail["token"] for p in plays} == {"missing"} and {p.detail["view"] for p in plays} == {None}


def _forge(token: str, **change: str) -> str:
    """The token with some fields changed and its signature kept."""
    v, fid, uid, issued, purpose, nonce, sig = token.split(".")
    fields = {"fid": fid, "uid": uid, "issued": issued, "purpose": purpose, "nonce": nonce, "sig": sig, **change}
    return ".".join([v, *(fields[k] for k in ("fid", "uid", "issued", "purpose", "nonce", "sig"))])


@pytest.mark.usefixtures("storage_root")
def test_forged_expired_and_other_users_tokens_are_audited_every_time(as_user, session, world) -> None:
    """A made-up, reused-by-someone-else, tampered, re-signed, expired or other clip's token is no viewing:
    each request with it is audited. Seen failing before the fix: a made-up `view` id was audited only the
    first time (1 entry for 3 requests)."""
    import base64
    import hashlib
    import hmac
    import time

    from app.footage import viewing

    c = as_user("coordinator.a")
    fid = post_footage(c, DATA).json()["id"]
    other_fid = post_footage(c, mp4_bytes(200_000, seed=22)).json()["id"]
    me, governor = world.users["coordinator_a"], world.users["governor_a"]
    good = viewing.issue(fid, me, "review")
    payload = good.rsplit(".", 1)[0]
    resigned = hmac.new(b"not-the-secret-key", payload.encode(), hashlib.sha256).digest()
    twelve_hours = viewing.TTL_SECONDS
    cases = {
        "viewing-0001": "forged",  # made up
        _forge(good, fid=str(other_fid)): "forged",  # another clip's number, signature kept
        _forge(good, uid=str(governor)): "forged",  # another user's number, signature kept
        _forge(good, issued=str(int(time.time()) + 3600)): "forged",
        _forge(good, sig=good[-43:-1] + ("A" if good[-1] != "A" else "B")): "forged",
        _forge(good, sig=base64.urlsafe_b64encode(resigned).decode().rstrip("=")): "forged",
        viewing.issue(fid, governor, "review"): "other_user",  # the governor's own genuine token
        viewing.issue(other_fid, me, "review"): "other_footage",
        viewing.issue(fid, me, "review", now=time.time() - twelve_hours - 5): "expired",
        viewing.issue(fid, me, "review", now=time.time() + 3600): "expired",  # issued in the future
    }
    for token, why in cases.items():
        before = len(_plays(session))
        for rng in ("bytes=0-", "bytes=1-", "bytes=500000-"):
            assert (
                c.get(f"/api/v1/footage/{fid}/video", params={"view": token}, headers={"Range": rng}).status_code == 206
            )
        new = _plays(session)[before:]
        assert len(new) == 3, (token, why)
        assert {p.detail["token"] for p in new} == {why} and {p.detail["view"] for p in new} == {None}, token
    # The genuine token still counts once, and only for its own user.
    for _ in range(3):
        c.get(f"/api/v1/footage/{fid}/video", params={"view": good}, headers={"Range": "bytes=1-"})
    assert len(_plays(session)) == 3 * len(cases) + 1
    assert as_user("governor.a").get(f"/api/v1/footage/{fid}/video", params={"view": good}).status_code == 200
    assert _plays(session)[-1].detail["token"] == "other_user"


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
