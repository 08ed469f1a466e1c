"""Resumable uploads: the tus 1.0.0 protocol (core + creation + termination).

1. `POST /api/v1/uploads` with `Upload-Length` and `Upload-Metadata` (base64 values: filename, camera_serial,
   staff_number, recording_started_at, prerecord_seconds, activated_at, incident_reference,
   claimed_duration_s, restore_purged). The metadata is checked here, before any bytes are sent. 201 + `Location`.
2. `PATCH <Location>` with `Upload-Offset` and `Content-Type: application/offset+octet-stream` appends bytes.
   An interrupted PATCH keeps what arrived; `HEAD <Location>` says where to continue.
3. The PATCH that completes the file runs the same checks and registration as a simple upload and answers
   with `Bwv-Footage-Id` (and `Bwv-Duplicate: true` when those bytes were already stored). The bytes of a clip
   that retention deleted answer 409 with `Bwv-Purged: true` and its id, unless the metadata has
   `restore_purged` true (then they are stored as a new clip).

The partial file lives in the storage's `.incoming` folder; its byte count is the offset. SHA-256 is
computed as bytes arrive (the hash state is kept in memory between PATCHes of the same process; after a
restart it is re-computed from the partial file once).
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import uuid
from collections import OrderedDict
from contextlib import ExitStack
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel
from sqlmodel import Session
from starlette.requests import ClientDisconnect

from app.audit.service import record_now
from app.core.deps import Coordinator, CurrentPrincipal, Principal, SessionDep, record_out_of_scope
from app.core.http import TUS_PATH, TUS_VERSION
from app.core.storage import incoming_dir, locked, try_lock
from app.core.types import utcnow
from app.footage import upload
from app.footage.models import UploadSession

router = APIRouter(prefix=TUS_PATH, tags=["resumable uploads (tus)"])

UploadId = Annotated[str, Path(min_length=32, max_length=32, pattern=r"^[0-9a-f]{32}$")]
# Declared for the OpenAPI document; checked by hand so the answers follow the tus protocol (412, 409...).
TusResumable = Annotated[str | None, Header(alias="Tus-Resumable", description="Must be 1.0.0")]

_hash_cache: OrderedDict[str, tuple[int, Any]] = OrderedDict()
_hash_lock = threading.Lock()


def _remember(upload_id: str, offset: int, sha: Any) -> None:
    with _hash_lock:
        _hash_cache[upload_id] = (offset, sha)
        _hash_cache.move_to_end(upload_id)
        while len(_hash_cache) > 256:
            _hash_cache.popitem(last=False)


def _recall(upload_id: str, offset: int) -> Any:
    with _hash_lock:
        got = _hash_cache.pop(upload_id, None)
    if got is not None and got[0] == offset:
        return got[1]
    return None


def forget_hash_state() -> None:
    """(Tests) as after a restart: the next PATCH re-hashes the partial file."""
    with _hash_lock:
        _hash_cache.clear()


def part_path(upload_id: str) -> Any:
    return incoming_dir() / f"tus-{upload_id}.part"


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store", **extra}


def _require_version(request: Request) -> None:
    if request.headers.get("tus-resumable") != TUS_VERSION:
        raise HTTPException(
            status_code=412, detail=f"Send Tus-Resumable: {TUS_VERSION}.", headers={"Tus-Version": TUS_VERSION}
        )


def parse_metadata(header: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (header or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, _, value = item.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8") if value.strip() else ""
        except (binascii.Error, UnicodeDecodeError):
            raise HTTPException(
                status_code=400, detail=f"Upload-Metadata value for {key!r} is not base64 of UTF-8 text."
            ) from None
    return out


class UploadStatus(BaseModel):
    id: str
    length: int
    offset: int
    filename: str | None
    completed_footage_id: int | None


def _own(session: Session, principal: Principal, upload_id: str) -> UploadSession:
    row = session.get(UploadSession, upload_id)
    if row is not None and row.user_id != principal.user.id and not principal.is_admin:
        record_out_of_scope(session, principal, row)  # someone else's upload: audited, and the same 404
        row = None
    if row is None:
        raise HTTPException(status_code=404, detail="upload not found", headers=_tus_headers())
    return row


@router.options("", status_code=204, include_in_schema=False)
def tus_options() -> Response:
    return Response(
        status_code=204,
        headers={
            "Tus-Resumable": TUS_VERSION,
            "Tus-Version": TUS_VERSION,
            "Tus-Extension": "creation,termination",
            "Tus-Max-Size": str(upload.max_upload_bytes()),
        },
    )


@router.post("", status_code=201, responses={400: {}, 412: {}, 413: {}, 422: {}})
def create_upload(
    request: Request,
    principal: Coordinator,
    session: SessionDep,
    establishment_id: int | None = None,
    tus_resumable: TusResumable = None,
    upload_length: Annotated[str | None, Header(alias="Upload-Length", description="File size in bytes")] = None,
    upload_metadata: Annotated[
        str | None,
        Header(
            alias="Upload-Metadata",
            description="Comma-separated `key base64(value)`: filename, camera_serial, staff_number, "
            "recording_started_at, prerecord_seconds, activated_at, incident_reference, claimed_duration_s",
        ),
    ] = None,
) -> Response:
    """Start a resumable upload: checks the metadata now, so a bad clip is refused before it is sent."""
    _require_version(request)
    from app.footage.api import _establishment_for_upload

    est = _establishment_for_upload(principal, establishment_id)
    length_h = request.headers.get("upload-length")
    if length_h is None or not (length_h.strip().isascii() and length_h.strip().isdigit()):
        raise HTTPException(status_code=400, detail="Send Upload-Length: the file's size in bytes.")
    length = int(length_h)
    limit = upload.max_upload_bytes()
    try:
        if length == 0:
            raise upload.problem(422, "The file is empty (0 bytes): export the clip again and send that file.")
        if length > limit:
            raise upload.problem(413, upload.too_large(limit))
        raw = parse_metadata(request.headers.get("upload-metadata"))
        filename = upload.check_filename(raw.get("filename") or raw.get("name"))
        meta = upload.parse_meta(raw)
        upload.resolve_meta(session, est, meta)
    except HTTPException as exc:
        session.rollback()
        record_now(
            principal.actor,
            "footage_upload_refused",
            outcome="refused",
            establishment_id=est,
            detail={"status": exc.status_code, "message": str(exc.detail)[:300], "via": "tus"},
        )
        raise
    upload_id = uuid.uuid4().hex
    part_path(upload_id).touch(exist_ok=False)
    session.add(
        UploadSession(
            id=upload_id,
            establishment_id=est,
            user_id=principal.user.id,  # type: ignore[arg-type]
            length=length,
            offset=0,
            metadata_={**meta.as_fields(), "filename": filename},
        )
    )
    session.flush()
    return Response(
        status_code=201,
        headers=_tus_headers(Location=f"/api/v1/uploads/{upload_id}", **{"Upload-Offset": "0"}),
    )


@router.head("/{upload_id}", responses={404: {}})
def head_upload(upload_id: UploadId, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """How many bytes have arrived (`Upload-Offset`): continue from there."""
    row = _own(session, principal, upload_id)
    headers = _tus_headers(**{"Upload-Length": str(row.length)})
    if row.completed_footage_id is not None:
        headers["Upload-Offset"] = str(row.length)
        headers["Bwv-Footage-Id"] = str(row.completed_footage_id)
    else:
        path = part_path(upload_id)
        headers["Upload-Offset"] = str(path.stat().st_size if path.exists() else 0)
    return Response(status_code=200, headers=headers)


@router.get("/{upload_id}", response_model=UploadStatus, responses={404: {}})
def get_upload(upload_id: UploadId, principal: CurrentPrincipal, session: SessionDep) -> UploadStatus:
    row = _own(session, principal, upload_id)
    path = part_path(upload_id)
    offset = row.length if row.completed_footage_id else (path.stat().st_size if path.exists() else 0)
    return UploadStatus(
        id=row.id,
        length=row.length,
        offset=offset,
        filename=row.metadata_.get("filename"),
        completed_footage_id=row.completed_footage_id,
    )


@router.patch(
    "/{upload_id}",
    status_code=204,
    responses={400: {}, 404: {}, 409: {}, 412: {}, 413: {}, 415: {}, 422: {}},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/offset+octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
)
async def patch_upload(
    upload_id: UploadId,
    request: Request,
    principal: Coordinator,
    session: SessionDep,
    tus_resumable: TusResumable = None,
    upload_offset: Annotated[str | None, Header(alias="Upload-Offset", description="Where these bytes start")] = None,
) -> Response:
    """Append bytes at `Upload-Offset`."""
    _require_version(request)
    row = await run_in_threadpool(_own, session, principal, upload_id)  # off the event loop: may write the audit
    if row.completed_footage_id is not None:
        return Response(
            status_code=204,
            headers=_tus_headers(**{"Upload-Offset": str(row.length), "Bwv-Footage-Id": str(row.completed_footage_id)}),
        )
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/offset+octet-stream":
        raise HTTPException(status_code=415, detail="Send Content-Type: application/offset+octet-stream.")
    offset_h = request.headers.get("upload-offset", "")
    if not (offset_h.isascii() and offset_h.isdigit()):
        raise HTTPException(status_code=400, detail="Send Upload-Offset: where these bytes start.")
    length, est, meta_fields = row.length, row.establishment_id, dict(row.metadata_)
    session.commit()  # no transaction (or SQLite write lock) held while bytes arrive
    path = part_path(upload_id)
    # One request at a time per upload, from the first byte to the end of its registration: a lock on a
    # descriptor of its own (the file's own closes when it is complete, before the footage is registered).
    with ExitStack() as stack:
        try:
            lock_fd = stack.enter_context(locked(path))
        except FileNotFoundError:
            return await run_in_threadpool(_gone, session, upload_id)
        if lock_fd is None:
            raise HTTPException(status_code=409, detail="Another request is already sending this upload.")
        if not path.exists():  # another request completed it (and removed the file) before we locked
            return await run_in_threadpool(_gone, session, upload_id)
        return await _append(request, session, principal, upload_id, path, lock_fd, offset_h, length, est, meta_fields)


def _gone(session: Session, upload_id: str) -> Response:
    """The partial file is gone: completed by another request (answer as for a completed upload), or not."""
    # A fresh read: the completing request may have committed since this request read the row.
    row = session.get(UploadSession, upload_id, populate_existing=True)
    if row is not None and row.completed_footage_id is not None:
        return Response(
            status_code=204,
            headers=_tus_headers(**{"Upload-Offset": str(row.length), "Bwv-Footage-Id": str(row.completed_footage_id)}),
        )
    raise HTTPException(status_code=404, detail="upload not found (its partial file is gone): start again")


async def _append(
    request: Request,
    session: Session,
    principal: Principal,
    upload_id: str,
    path: Any,
    lock_fd: int,
    offset_h: str,
    length: int,
    est: int,
    meta_fields: dict[str, Any],
) -> Response:
    current = path.stat().st_size
    if int(offset_h) != current:
        raise HTTPException(
            status_code=409,
            detail=f"Upload-Offset {offset_h} does not match the {current} bytes received: HEAD, then resume there.",
            headers=_tus_headers(**{"Upload-Offset": str(current)}),
        )
    try:
        incoming = upload.IncomingFile(length, path=path, sha=_recall(upload_id, current))
    except FileNotFoundError:  # cancelled or completed since we looked
        return await run_in_threadpool(_gone, session, upload_id)
    if os.fstat(incoming.fileno).st_ino != os.fstat(lock_fd).st_ino:  # not the file we locked
        incoming.close()
        raise HTTPException(status_code=409, detail="The upload moved on: HEAD, then resume there.")
    disconnected = False
    try:
        try:
            async for chunk in request.stream():
                incoming.write(chunk)
        except ClientDisconnect:
            disconnected = True
        except HTTPException as exc:
            if exc.status_code == 415:  # not a video: the whole upload is refused
                incoming.discard()
                await run_in_threadpool(_drop, session, upload_id)
                await run_in_threadpool(_refused, principal, est, exc)
                raise
            incoming.close()
            _remember(upload_id, incoming.size, incoming.sha_state())
            raise HTTPException(
                status_code=exc.status_code,
                detail=exc.detail,
                headers=_tus_headers(**{"Upload-Offset": str(incoming.size)}),
            ) from None
    except BaseException:
        incoming.close()
        raise
    if incoming.size < length or disconnected:
        incoming.close()
        _remember(upload_id, incoming.size, incoming.sha_state())
        await run_in_threadpool(_save_offset, session, upload_id, incoming.size)
        return Response(status_code=204, headers=_tus_headers(**{"Upload-Offset": str(incoming.size)}))
    # Complete: the same checks and registration as a simple upload.
    try:
        sha = incoming.finish()
        meta = upload.parse_meta(meta_fields)
        filename = meta_fields.get("filename") or "upload"

        def _finish() -> upload.Outcome:
            outcome = upload.finalize_upload(
                session,
                actor=principal.actor,
                establishment_id=est,
                meta=meta,
                path=path,
                sha256=sha,
                size=incoming.size,
                container=incoming.container,
                filename=filename,
                via="tus",
            )
            done = session.get(UploadSession, upload_id)
            if done is not None:
                done.offset = length
                done.completed_footage_id = outcome.footage.id
                done.updated_at = utcnow()
                session.add(done)
            # Committed before the partial file goes (below): a request that then finds it gone reads the
            # footage id here. The request's unit of work still runs the after-commit work at its end.
            session.commit()
            return outcome

        outcome = await run_in_threadpool(_finish)
    except HTTPException as exc:
        incoming.discard()
        await run_in_threadpool(_drop, session, upload_id)
        await run_in_threadpool(_refused, principal, est, exc)
        raise
    finally:
        incoming.discard()
    headers = _tus_headers(**{"Upload-Offset": str(length), "Bwv-Footage-Id": str(outcome.footage.id)})
    if outcome.duplicate:
        headers["Bwv-Duplicate"] = "true"
    return Response(status_code=204, headers=headers)


def _save_offset(session: Session, upload_id: str, offset: int) -> None:
    row = session.get(UploadSession, upload_id)
    if row is not None:
        row.offset = offset
        row.updated_at = utcnow()
        session.add(row)
        session.commit()  # while the upload's lock is held, so offsets are committed in order


def _drop(session: Session, upload_id: str) -> None:
    session.rollback()
    row = session.get(UploadSession, upload_id)
    if row is not None:
        session.delete(row)
        session.commit()
    part_path(upload_id).unlink(missing_ok=True)


def _refused(principal: Principal, est: int, exc: HTTPException) -> None:
    record_now(
        principal.actor,
        "footage_upload_refused",
        outcome="refused",
        establishment_id=est,
        detail={"status": exc.status_code, "message": str(exc.detail)[:300], "via": "tus"},
        **upload.refused_about(exc),
    )


@router.delete("/{upload_id}", status_code=204, responses={404: {}})
def delete_upload(upload_id: UploadId, principal: Coordinator, session: SessionDep) -> Response:
    """Give up an unfinished upload: its partial file is removed."""
    row = _own(session, principal, upload_id)
    with try_lock(part_path(upload_id)) as held:
        if not held:
            raise HTTPException(
                status_code=409,
                detail="A request is sending this upload now: stop it, then cancel.",
                headers=_tus_headers(),
            )
        if row.completed_footage_id is None:
            part_path(upload_id).unlink(missing_ok=True)
        session.delete(row)
        session.commit()  # before the lock goes, so a PATCH waiting for it finds neither file nor row
    return Response(status_code=204, headers=_tus_headers())
