"""Write-once storage, both backends: a stored key is never replaced, not even by a writer that races past the
existence check. The S3 backend is exercised over HTTP against moto's S3 server (tests only).

Seen failing before the fix: without `If-None-Match: *` on the S3 writes, both racing-writer cases replaced the
stored object with the other bytes (`put_file` returned True and the key held `b"forged..."`)."""

from __future__ import annotations

import hashlib
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.storage import LocalStorage, S3Storage, key_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3(s3_endpoint: str) -> S3Storage:
    storage = S3Storage(
        endpoint_url=s3_endpoint,
        bucket=f"footage-{uuid.uuid4().hex[:12]}",
        access_key="testing",
        secret_key="testing",  # noqa: S106
        region="eu-west-2",
    )
    storage.client.create_bucket(Bucket=storage.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    return storage


def _file(path: Path, data: bytes) -> tuple[Path, str]:
    path.write_bytes(data)
    return path, key_for(hashlib.sha256(data).hexdigest())


def _read(storage: S3Storage | LocalStorage, key: str) -> bytes:
    return b"".join(storage.read_range(key, 0, storage.size(key) - 1))


@pytest.mark.parametrize("size", [64 * 1024, 9 * 1024 * 1024], ids=["single-part", "multipart"])
def test_s3_never_replaces_a_stored_object(s3: S3Storage, tmp_path: Path, size: int) -> None:
    original = hashlib.sha256(b"seed").digest() * (size // 32)
    src, key = _file(tmp_path / "clip.mp4", original)
    assert s3.put_file(src, key) is True
    assert s3.put_file(src, key) is False  # already there: nothing written
    assert s3.hash_key(key) == hashlib.sha256(original).hexdigest()

    # A writer that passed the existence check just before the object arrived (the race) is refused by the
    # store itself: the conditional write fails and the stored bytes stay as they were.
    forged, _ = _file(tmp_path / "forged.mp4", b"forged" + original[6:])
    s3.exists = lambda _key: False  # type: ignore[method-assign]
    assert s3.put_file(forged, key) is False
    assert _read(s3, key) == original
    assert s3.conditional_writes is True


def test_s3_stores_new_keys_with_the_condition(s3: S3Storage, tmp_path: Path) -> None:
    sent: list[dict[str, object]] = []
    s3.client.meta.events.register("before-call.s3.PutObject", lambda params, **_: sent.append(params["headers"]))
    src, key = _file(tmp_path / "a.mp4", b"\x00\x00\x00\x20ftypisom" + b"x" * 5000)
    assert s3.put_file(src, key) is True
    assert s3.exists(key) and s3.size(key) == src.stat().st_size
    assert [h.get("If-None-Match") for h in sent] == ["*"]  # type: ignore[union-attr]


def test_local_never_replaces_a_stored_file(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "footage")
    original = b"\x00\x00\x00\x20ftypisom" + b"y" * 5000
    src, key = _file(tmp_path / "clip.mp4", original)
    assert storage.put_file(src, key) is True
    assert storage.put_file(src, key) is False
    path = storage.local_path(key)
    assert path is not None and path.stat().st_mode & 0o222 == 0  # read-only
    forged, _ = _file(tmp_path / "forged.mp4", b"forged" + original[6:])
    assert storage.adopt_file(forged, key) is False
    assert _read(storage, key) == original


def test_s3_store_without_conditional_writes_is_written_with_the_check_alone(s3: S3Storage, tmp_path: Path) -> None:
    """An older S3-compatible store answers 501 to `If-None-Match`: the backend says so in the log once and
    stores without it (the existence check still stands) instead of refusing every upload."""
    from botocore.awsrequest import AWSResponse

    class _Raw:
        def stream(self, **_: object) -> Iterator[bytes]:
            yield b""

    def store_without_conditions(request, **_):  # type: ignore[no-untyped-def]
        if request.headers.get("If-None-Match"):
            body = b"<Error><Code>NotImplemented</Code><Message>If-None-Match</Message></Error>"
            response = AWSResponse(request.url, 501, {}, _Raw())
            response._content = body  # type: ignore[attr-defined]
            return response
        return None

    s3.client.meta.events.register("before-send.s3.PutObject", store_without_conditions)
    src, key = _file(tmp_path / "a.mp4", b"\x00\x00\x00\x20ftypisom" + b"z" * 5000)
    assert s3.put_file(src, key) is True
    assert s3.conditional_writes is False and _read(s3, key) == src.read_bytes()
    assert s3.put_file(src, key) is False


def _conflict_on_put(s3: S3Storage, then: object = None) -> None:
    """The store answers 409 ConditionalRequestConflict (another write of the key in flight); `then()` runs
    first, as the other writer would."""
    from botocore.awsrequest import AWSResponse

    class _Raw:
        def stream(self, **_: object) -> Iterator[bytes]:
            yield b""

    def conflict(request, **_):  # type: ignore[no-untyped-def]
        if callable(then):
            then()
        body = b"<Error><Code>ConditionalRequestConflict</Code><Message>in flight</Message></Error>"
        response = AWSResponse(request.url, 409, {}, _Raw())
        response._content = body  # type: ignore[attr-defined]
        return response

    s3.client.meta.events.register("before-send.s3.PutObject", conflict)


def test_s3_conflict_is_stored_only_once_the_other_write_lands(s3: S3Storage, tmp_path: Path) -> None:
    """409 means another write of the key is still in flight: the backend waits for the object to be there
    before answering "already stored" (it once took 409 for that at once, and a record could point at an
    object that never arrived)."""
    import boto3

    src, key = _file(tmp_path / "a.mp4", b"\x00\x00\x00\x20ftypisom" + b"c" * 4000)
    other = boto3.client(
        "s3", endpoint_url=s3.client.meta.endpoint_url, aws_access_key_id="testing",
        aws_secret_access_key="testing", region_name="eu-west-2",  # noqa: S106
    )  # fmt: skip
    _conflict_on_put(s3, then=lambda: other.put_object(Bucket=s3.bucket, Key=key, Body=src.read_bytes()))
    s3.conflict_waits = (0.0, 0.0)
    assert s3.put_file(src, key) is False
    assert _read(s3, key) == src.read_bytes()


def test_s3_conflict_that_never_lands_is_a_busy_store(s3: S3Storage, tmp_path: Path) -> None:
    from app.core.storage import StorageBusy

    src, key = _file(tmp_path / "a.mp4", b"\x00\x00\x00\x20ftypisom" + b"d" * 4000)
    _conflict_on_put(s3)
    s3.conflict_waits = (0.0, 0.0)
    with pytest.raises(StorageBusy):
        s3.put_file(src, key)
    assert not s3.exists(key)


def test_a_busy_store_answers_503_saying_nothing_was_saved(sqlite_engine) -> None:  # type: ignore[no-untyped-def]
    from app.core.storage import StorageBusy
    from app.main import create_app
    from tests.support import make_client

    app = create_app()

    def store() -> None:
        raise StorageBusy("another upload of ab/cd was in progress and did not complete")

    app.add_api_route("/api/v1/_busy_store", store)
    r = make_client(app).get("/api/v1/_busy_store", headers={"Accept": "application/json"})
    assert r.status_code == 503 and "nothing was saved" in r.json()["detail"] and r.headers["Retry-After"] == "5"
