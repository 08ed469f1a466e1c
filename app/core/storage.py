"""Write-once footage storage: one interface, a local-disk backend and an S3-compatible backend.

Files are stored under a key derived from their SHA-256, never overwritten and never edited. Putting
the same content twice is a no-op. Deleting is only done by the retention purge.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO, Protocol

from app.core.config import get_settings
from app.core.logging import get_logger

CHUNK = 1024 * 1024
log = get_logger("bwv.storage")


class StorageError(Exception):
    pass


class StorageBusy(StorageError):
    """The store could not take the file just now (answered 503 with nothing saved; try again)."""


def key_for(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise StorageError("storage keys are made from a lowercase hex SHA-256")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class Storage(Protocol):
    def put_file(self, src: Path, key: str) -> bool:
        """Store `src` under `key` unless already there. Returns True if it was newly stored."""

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int: ...

    def read_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        """Bytes start..end inclusive, in chunks."""

    def delete(self, key: str) -> None: ...

    def local_path(self, key: str) -> Path | None:
        """A path the worker can read directly, if this backend has one."""

    def hash_key(self, key: str) -> str:
        """Re-read a stored object and return its SHA-256 (integrity checks)."""


def incoming_dir() -> Path:
    """Where uploads are written while they arrive (same filesystem as local storage, so finishing an
    upload is a hard link, not a copy). Never served; cleaned up on every error."""
    path = get_settings().footage_dir / ".incoming"
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def locked(path: Path) -> Iterator[int | None]:
    """The lock a resumable upload's PATCH holds on its partial file, for the block: an exclusive `flock` on
    a descriptor of its own (yielded), or None when another request holds it. FileNotFoundError when there
    is no file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        yield fd
    finally:
        os.close(fd)


@contextmanager
def try_lock(path: Path) -> Iterator[bool]:
    """`locked` for those who only remove the file: True when held or when there is no file, False when a
    request is sending it now."""
    with ExitStack() as stack:
        try:
            held = stack.enter_context(locked(path)) is not None
        except FileNotFoundError:
            held = True
        yield held


def _hash_chunks(chunks: Iterator[bytes]) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def hash_stream(stream: BinaryIO) -> str:
    h = hashlib.sha256()
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        h.update(chunk)
    return h.hexdigest()


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise StorageError("key escapes the storage root")
        return path

    def put_file(self, src: Path, key: str) -> bool:
        dest = self._path(key)
        if dest.exists():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        shutil.copyfile(src, tmp)
        os.chmod(tmp, 0o444)
        try:
            # link() refuses to replace an existing file: a racing writer of the same content wins.
            os.link(tmp, dest)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def adopt_file(self, src: Path, key: str) -> bool:
        """Move a finished upload into place without copying (same filesystem)."""
        dest = self._path(key)
        if dest.exists():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(src, 0o444)
        try:
            os.link(src, dest)
        except FileExistsError:
            return False
        except OSError:
            return self.put_file(src, key)
        return True

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def read_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        with open(self._path(key), "rb") as f:
            f.seek(start)
            remaining = end - start + 1
            while remaining > 0:
                chunk = f.read(min(CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk

    def delete(self, key: str) -> None:
        path = self._path(key)
        if path.exists():
            os.chmod(path, 0o644)
            path.unlink()

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def hash_key(self, key: str) -> str:
        with open(self._path(key), "rb") as f:
            return hash_stream(f)


class S3Storage:
    """Any S3-compatible store (AWS S3, MinIO, Ceph...). Write-once: a key already there is never written
    again (checked first), and every write, single-part or the completion of a multipart upload, carries
    `If-None-Match: *`, so a writer racing between the check and the write cannot replace what another stored.
    A store that does not implement conditional writes (answers 501) is written with the check alone."""

    def __init__(
        self, *, endpoint_url: str | None, bucket: str, access_key: str | None, secret_key: str | None, region: str
    ) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            region_name=region,
            config=Config(retries={"max_attempts": 3}, s3={"addressing_style": "path"}),
        )
        self.conditional_writes = True
        self.conflict_waits: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0)  # seconds, for a 409 (below)
        # upload_file() sends PutObject (small files) or a multipart upload (large): both final requests are
        # made conditional here, as the transfer manager does not pass IfNoneMatch through.
        for operation in ("PutObject", "CompleteMultipartUpload"):
            self.client.meta.events.register(f"before-parameter-build.s3.{operation}", self._write_once)

    def _write_once(self, params: dict[str, object], **_: object) -> None:
        if self.conditional_writes:
            params.setdefault("IfNoneMatch", "*")

    def put_file(self, src: Path, key: str) -> bool:
        if self.exists(key):
            return False
        try:
            self.client.upload_file(str(src), self.bucket, key)
        except Exception as exc:
            code = _s3_error_code(exc)
            if code in ("PreconditionFailed", "412"):
                return False  # stored by someone else meanwhile: the same content, as the key is its hash
            if code in ("ConditionalRequestConflict", "409"):
                # Another write of this key is still in flight and may yet fail: only "already stored" once
                # the object is there.
                for wait in self.conflict_waits:
                    time.sleep(wait)
                    if self.exists(key):
                        return False
                raise StorageBusy(f"another upload of {key} was in progress and did not complete") from exc
            if code in ("NotImplemented", "501") and self.conditional_writes:
                log.warning("s3_conditional_writes_unsupported", bucket=self.bucket)
                self.conditional_writes = False
                return self.put_file(src, key)
            raise
        return True

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def size(self, key: str) -> int:
        return int(self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def read_range(self, key: str, start: int, end: int) -> Iterator[bytes]:
        obj = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end}")
        body = obj["Body"]
        try:
            yield from body.iter_chunks(CHUNK)
        finally:
            body.close()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def local_path(self, key: str) -> Path | None:
        return None

    def hash_key(self, key: str) -> str:
        obj = self.client.get_object(Bucket=self.bucket, Key=key)
        body = obj["Body"]
        try:
            return _hash_chunks(body.iter_chunks(CHUNK))
        finally:
            body.close()


def _s3_error_code(exc: BaseException) -> str | None:
    """The S3 error code of a failed call, also when boto3's transfer wrapped it (S3UploadFailedError)."""
    seen: BaseException | None = exc
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            error = response.get("Error", {})
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            return str(error.get("Code") or status or "") or None
        seen = seen.__cause__ or seen.__context__
    return None


@lru_cache
def get_storage() -> LocalStorage | S3Storage:
    s = get_settings()
    if s.storage_backend == "s3":
        return S3Storage(
            endpoint_url=s.s3_endpoint_url,
            bucket=s.s3_bucket,
            access_key=s.s3_access_key,
            secret_key=s.s3_secret_key,
            region=s.s3_region,
        )
    s.footage_dir.mkdir(parents=True, exist_ok=True)
    return LocalStorage(s.footage_dir)
