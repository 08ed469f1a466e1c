"""Footage JSON routes: upload (streamed), list, details, playback with Range, download, legal hold.

Playback audit rule (one entry per viewing, not per range request; app/footage/viewing.py):
- Pages that embed the player give it a signed viewing token (`/api/v1/footage/{id}/video?view=<token>`,
  bound to the clip, the user, the issue time and the page's purpose, valid 12 h). The first request carrying
  a valid token is audited as `footage_play`; the player's later range requests (seeking, buffering) carry
  the same token and are not.
- A request without a token, or with a forged, expired, another user's or another clip's token, is audited
  every time (each is its own viewing), whatever its Range: no bytes leave unrecorded.
Downloads are always audited and need a reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlmodel import Session, col, func, select

from app.audit.models import AuditEvent, AuditHead
from app.audit.service import record, record_now
from app.auth.models import Role
from app.core.deps import (
    Coordinator,
    CoordinatorOrGovernor,
    CurrentPrincipal,
    Principal,
    SessionDep,
    get_viewable_footage,
    get_visible,
    scope_establishment,
)
from app.core.http import paged_headers, set_page_headers
from app.core.storage import get_storage
from app.core.types import Instant
from app.establishment.models import Camera
from app.footage import linking, upload
from app.footage import viewing as viewing_tokens
from app.footage.api_analysis import FootageAnalysis, footage_analysis
from app.footage.models import Footage, FootageIncident, FootageStatus, IntegrityStatus
from app.footage.retention import AlreadyPurged, set_legal_hold
from app.incident.models import Incident
from app.staff.models import StaffMember

router = APIRouter(prefix="/api/v1/footage", tags=["footage"])

MULTIPART_OVERHEAD = 1024 * 1024  # field parts and boundaries around the file


class FootagePublic(BaseModel):
    id: int
    establishment_id: int
    camera_serial: str | None
    wearer_staff_number: str | None
    recording_started_at: datetime
    activated_at: datetime | None
    prerecord_seconds: float
    claimed_duration_s: float | None
    duration_s: float | None
    original_filename: str
    content_type: str
    size_bytes: int
    sha256: str
    status: FootageStatus
    integrity_status: IntegrityStatus
    integrity_checked_at: datetime | None
    legal_hold: bool
    legal_hold_reason: str | None = Field(
        description="Why the footage is held (a claim or investigation reference); null for officers, whose page "
        "does not show it"
    )
    purge_due_at: datetime | None
    purged_at: datetime | None
    uploaded_at: datetime
    incident_ids: list[int]
    video_url: str
    analysis: FootageAnalysis | None = Field(
        default=None,
        description="GET /api/v1/footage/{id} only: measured facts, findings, dark/frozen segments, keyframes, "
        "and the wearer's activation check in each linked incident",
    )


class UploadResult(FootagePublic):
    duplicate: bool = Field(description="True when these exact bytes were already stored (nothing new stored)")


class Duplicate(BaseModel):
    detail: str
    footage_id: int


class Problem(BaseModel):
    detail: str


class FootagePage(BaseModel):
    total: int
    items: list[FootagePublic]


class HoldIn(BaseModel):
    reason: str = Field(min_length=3, max_length=500, description="Why the footage must be kept (e.g. claim ref)")


def to_public(session: Session, f: Footage, *, viewer: Principal) -> dict[str, Any]:
    """The clip as the API shows it to `viewer`: its video_url carries that user's viewing token."""
    assert f.id is not None and viewer.user.id is not None
    cam = session.get(Camera, f.camera_id) if f.camera_id else None
    wearer = session.get(StaffMember, f.wearer_id) if f.wearer_id else None
    incident_ids = list(session.exec(select(FootageIncident.incident_id).where(FootageIncident.footage_id == f.id)))
    out = {
        **f.model_dump(),
        "camera_serial": cam.serial if cam else None,
        "wearer_staff_number": wearer.staff_number if wearer else None,
        "incident_ids": incident_ids,
        "video_url": viewing_tokens.video_url(f.id, viewer.user.id, "api"),
    }
    if viewer.role == Role.staff:  # an officer's own clip: what their page shows, not the coordinators' notes
        out["legal_hold_reason"] = None
    return out


def _establishment_for_upload(principal: Principal, requested: int | None) -> int:
    est = scope_establishment(principal, requested)
    if est is None:
        raise HTTPException(status_code=422, detail="Give establishment_id: admins upload for one establishment.")
    return est


UPLOAD_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["camera_serial", "staff_number", "recording_started_at", "file"],
                    "properties": {
                        "camera_serial": {"type": "string", "description": "Serial of a camera at this establishment"},
                        "staff_number": {"type": "string", "description": "The wearer's staff number"},
                        "recording_started_at": {
                            "type": "string",
                            "format": "date-time",
                            "description": "Time of the first frame (pre-record included), with offset",
                        },
                        "prerecord_seconds": {"type": "number", "minimum": 0, "maximum": 600},
                        "activated_at": {
                            "type": "string",
                            "format": "date-time",
                            "description": "When the wearer pressed record, with offset",
                        },
                        "incident_reference": {"type": "string", "description": "Link to this incident"},
                        "claimed_duration_s": {"type": "number", "minimum": 0},
                        "restore_purged": {
                            "type": "boolean",
                            "description": "Store again the bytes of a clip that retention deleted (otherwise 409)",
                        },
                        "file": {"type": "string", "format": "binary", "description": "Send it after the fields"},
                    },
                }
            }
        },
    }
}


@router.post(
    "",
    status_code=201,
    response_model=UploadResult,
    openapi_extra=UPLOAD_DOC,
    responses={
        400: {"model": Problem, "description": "Malformed multipart body"},
        409: {
            "model": Duplicate,
            "description": "These exact bytes are already stored: the existing footage id. Or they were a clip "
            "that retention deleted (header `Bwv-Purged: true`, its id in `Bwv-Footage-Id`): send "
            "`restore_purged=true` to store them again",
        },
        411: {"model": Problem},
        413: {"model": Problem, "description": "Larger than BWV_MAX_UPLOAD_BYTES"},
        415: {"model": Problem, "description": "Not multipart, or the file is not a video (sniffed)"},
        422: {"model": Problem, "description": "Metadata or filename to fix, or an empty file"},
    },
)
async def upload_footage(
    request: Request,
    principal: Coordinator,
    session: SessionDep,
    establishment_id: Annotated[int | None, Query(description="Admins only: which establishment")] = None,
) -> Response:
    """Upload one clip: multipart fields (metadata) then the file part, streamed to disk and hashed.

    The same bytes uploaded again answer **409** with the existing footage id; nothing new is stored. The bytes
    of a clip that retention deleted answer **409** too (`Bwv-Purged: true`), unless `restore_purged=true`: then
    they are stored as a new clip, and the audit entry names the deleted one."""
    est = _establishment_for_upload(principal, establishment_id)
    limit = upload.max_upload_bytes()
    session.commit()  # do not hold a database transaction (SQLite: the write lock) while bytes arrive
    received = None
    filename = None
    try:
        length = request.headers.get("content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
            raise upload.problem(413, upload.too_large(limit))

        def early(fields: dict[str, str]) -> None:
            norm = upload.normalise_fields(fields)
            if all(norm.get(f) for f in ("camera_serial", "staff_number", "recording_started_at")):
                upload.parse_meta(fields)

        received = await upload.receive_multipart(
            request.headers.get("content-type", ""), request.stream(), limit=limit, on_file_start=early
        )
        filename = received.filename
        meta = upload.parse_meta(received.fields)
        rec = received

        def _finish() -> upload.Outcome:
            return upload.finalize_upload(
                session,
                actor=principal.actor,
                establishment_id=est,
                meta=meta,
                path=rec.file.path,
                sha256=rec.sha256,
                size=rec.file.size,
                container=rec.file.container,
                filename=rec.filename,
                via="api",
            )

        outcome = await run_in_threadpool(_finish)
    except HTTPException as exc:
        await run_in_threadpool(_refused, session, principal, est, exc, filename)
        raise
    finally:
        if received is not None:
            received.file.discard()
    body = {**to_public(session, outcome.footage, viewer=principal), "duplicate": outcome.duplicate}
    if outcome.duplicate:
        return JSONResponse(
            {
                "detail": "These exact bytes are already stored (same SHA-256): nothing new was stored.",
                "footage_id": outcome.footage.id,
            },
            status_code=409,
        )
    return JSONResponse(UploadResult(**body).model_dump(mode="json"), status_code=201)


def _refused(session: Session, principal: Principal, est: int, exc: HTTPException, filename: str | None) -> None:
    session.rollback()
    record_now(
        principal.actor,
        "footage_upload_refused",
        outcome="refused",
        establishment_id=est,
        detail={"status": exc.status_code, "message": str(exc.detail)[:300], "filename": filename},
        **upload.refused_about(exc),
    )


@router.get("", response_model=FootagePage)
def list_footage(
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    status: FootageStatus | None = None,
    staff_number: Annotated[str | None, Query(max_length=32)] = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    establishment_id: int | None = None,
) -> FootagePage:
    est = scope_establishment(principal, establishment_id)
    rows, total = search(
        session, est, status=status, staff_number=staff_number, since=since, until=until, limit=limit, offset=offset
    )
    filters = {"status": status, "staff_number": staff_number, "since": since, "until": until, "offset": offset}
    detail = {"via": "api", "shown": len(rows), **{k: str(v) for k, v in filters.items() if v}}
    record(session, principal.actor, "footage_list_view", establishment_id=est, detail=detail)
    return FootagePage(total=total, items=[FootagePublic(**to_public(session, f, viewer=principal)) for f in rows])


def search(
    session: Session,
    est: int | None,
    *,
    status: FootageStatus | None = None,
    staff_number: str | None = None,
    since: Instant | None = None,
    until: Instant | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Footage], int]:
    stmt = select(Footage)
    if est is not None:
        stmt = stmt.where(Footage.establishment_id == est)
    if status is not None:
        stmt = stmt.where(Footage.status == status)
    if staff_number:
        stmt = stmt.join(StaffMember, col(StaffMember.id) == Footage.wearer_id).where(
            StaffMember.staff_number == staff_number
        )
    if since:
        stmt = stmt.where(col(Footage.recording_started_at) >= since)
    if until:
        stmt = stmt.where(col(Footage.recording_started_at) < until)
    total = int(session.exec(select(func.count()).select_from(stmt.subquery())).one())
    rows = session.exec(stmt.order_by(col(Footage.recording_started_at).desc()).offset(offset).limit(limit)).all()
    return list(rows), total


class MissingOfficer(BaseModel):
    staff_number: str
    name: str
    suggested: bool = Field(description="A clip was found that may be theirs: a suggestion waits to be reviewed")


class MissingIncident(BaseModel):
    incident_id: int
    reference: str
    force_started_at: datetime
    officers: list[MissingOfficer]


MISSING_HEADERS = paged_headers("incidents")


@router.get("/missing", response_model=list[MissingIncident], responses={200: {"headers": MISSING_HEADERS}, 422: {}})
def incidents_without_footage(
    request: Request,
    response: Response,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    establishment_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=500, description="At most this many incidents, newest first")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Skip this many")] = 0,
) -> list[MissingIncident]:
    """Incidents where an involved officer has no footage linked, newest first, each with those officers (and
    whether a clip was found that may be theirs), a page at a time; and incidents with no footage linked and no
    officer recorded, with no officers. `X-Total-Count` says how many incidents
    there are in all, and a `Link` header with rel="next" gives the next page while there is one."""
    est = scope_establishment(principal, establishment_id)
    rows, total = linking.incidents_missing_footage(session, est, offset=offset, limit=limit)
    more = bool(rows) and offset + len(rows) < total
    nxt = request.url.include_query_params(offset=offset + len(rows), limit=limit) if more else None
    set_page_headers(response, total, nxt)
    detail: dict[str, Any] = {"via": "api", "shown": len(rows), **({"offset": offset} if offset else {})}
    record(session, principal.actor, "footage_missing_view", establishment_id=est, detail=detail)
    return [
        MissingIncident(
            incident_id=i.id,  # type: ignore[arg-type]
            reference=i.reference,
            force_started_at=i.force_started_at,
            officers=[
                MissingOfficer(staff_number=o.staff.staff_number, name=o.staff.name, suggested=o.suggested)
                for o in missing
            ],
        )
        for i, missing in rows
    ]


@router.get("/{footage_id}", response_model=FootagePublic, responses={404: {}})
def get_footage(
    footage_id: Annotated[int, Path(ge=1)], principal: CurrentPrincipal, session: SessionDep
) -> FootagePublic:
    f = get_visible(session, principal, Footage, footage_id)
    record(
        session,
        principal.actor,
        "footage_view",
        object_type="footage",
        object_id=f.id,
        establishment_id=f.establishment_id,
        detail={"via": "api"},
    )
    return FootagePublic(**to_public(session, f, viewer=principal), analysis=footage_analysis(session, f, principal))


# ---------------------------------------------------------------- playback
_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end) inclusive for a single byte range; None to send the whole file."""
    if header is None or not header.strip():
        return None
    if not header.strip().lower().startswith("bytes"):
        return None  # another unit: ignore the header (RFC 9110)
    if "," in header:
        return None  # several ranges: answer with the whole file rather than multipart/byteranges
    m = _RANGE.match(header)
    if m is None:
        raise RangeNotSatisfiable()
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        raise RangeNotSatisfiable()
    if first == "":
        n = int(last)
        if n == 0:
            raise RangeNotSatisfiable()
        return max(0, size - n), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        raise RangeNotSatisfiable()
    return start, min(end, size - 1)


def _already_played(session: Session, principal: Principal, footage_id: int, view: str) -> bool:
    # Take the audit chain's lock first so two concurrent requests of one viewing write one entry.
    session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
    found = session.exec(
        select(AuditEvent.id)
        .where(
            AuditEvent.action == "footage_play",
            AuditEvent.object_id == str(footage_id),
            AuditEvent.actor_user_id == principal.user.id,
            col(AuditEvent.detail)["view"].as_string() == view,
        )
        .limit(1)
    ).first()
    return found is not None


def _serve(f: Footage, request: Request, *, attachment: bool = False) -> Response:
    storage = get_storage()
    size = f.size_bytes
    etag = f'"{f.sha256}"'
    headers = {"Accept-Ranges": "bytes", "ETag": etag, "Cache-Control": "private, no-store"}
    if attachment:
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", f.original_filename) or "footage"
        headers["Content-Disposition"] = (
            f"attachment; filename=\"{safe}\"; filename*=UTF-8''{quote(f.original_filename)}"
        )
    try:
        rng = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        return Response(
            status_code=416,
            headers={**headers, "Content-Range": f"bytes */{size}"},
            content=b"",
        )
    if rng is None:
        start, end, status = 0, size - 1, 200
    else:
        start, end = rng
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(end - start + 1)
    return StreamingResponse(
        storage.read_range(f.storage_key, start, end), status_code=status, headers=headers, media_type=f.content_type
    )


def _playable(f: Footage) -> None:
    if f.status == FootageStatus.purged:
        raise HTTPException(status_code=410, detail="This footage was deleted under the retention policy.")


@router.get(
    "/{footage_id}/video",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "The whole file"},
        206: {"content": {"video/mp4": {}}, "description": "The requested byte range"},
        404: {},
        410: {"description": "Purged"},
        416: {"description": "Range not satisfiable (Content-Range: bytes */size)"},
    },
)
def play_video(
    footage_id: Annotated[int, Path(ge=1)],
    request: Request,
    principal: CurrentPrincipal,
    session: SessionDep,
    view: Annotated[
        str | None,
        Query(max_length=200, description="Viewing token from the page that embeds the player (see the rule above)"),
    ] = None,
) -> Response:
    """The clip with HTTP Range support (seeking in the browser's player). One audit entry per viewing token;
    every request without a valid one is audited. Staff may also watch their establishment's good-practice
    examples (`can_view_footage`)."""
    f = get_viewable_footage(session, principal, footage_id)
    _playable(f)
    header = request.headers.get("range")
    assert f.id is not None and principal.user.id is not None
    try:
        viewing: viewing_tokens.Viewing | None = viewing_tokens.check(view, footage_id=f.id, user_id=principal.user.id)
        verdict = "valid"
    except viewing_tokens.ViewTokenRefused as refused:
        viewing, verdict = None, refused.why
    if viewing is None or not _already_played(session, principal, f.id, viewing.nonce):
        record(
            session,
            principal.actor,
            "footage_play",
            object_type="footage",
            object_id=f.id,
            establishment_id=f.establishment_id,
            detail={
                "view": viewing.nonce if viewing else None,
                "purpose": viewing.purpose if viewing else None,
                "token": verdict,
                "range": header,
            },
        )
    return _serve(f, request)


@router.get(
    "/{footage_id}/download",
    response_class=StreamingResponse,
    responses={200: {"content": {"video/mp4": {}}}, 404: {}, 410: {}, 416: {}, 422: {}},
)
def download_video(
    footage_id: Annotated[int, Path(ge=1)],
    request: Request,
    principal: CoordinatorOrGovernor,
    session: SessionDep,
    reason: Annotated[str, Query(min_length=3, max_length=500, description="Why the file leaves the service")],
) -> Response:
    """Download the original file as an attachment; audited with the reason given."""
    f = get_visible(session, principal, Footage, footage_id)
    _playable(f)
    record(
        session,
        principal.actor,
        "footage_download",
        object_type="footage",
        object_id=f.id,
        establishment_id=f.establishment_id,
        reason=reason.strip(),
        detail={"range": request.headers.get("range")},
    )
    return _serve(f, request, attachment=True)


# ---------------------------------------------------------------- legal hold
@router.put("/{footage_id}/legal-hold", response_model=FootagePublic, responses={404: {}, 409: {}, 422: {}})
def put_legal_hold(
    footage_id: Annotated[int, Path(ge=1)], data: HoldIn, principal: Coordinator, session: SessionDep
) -> FootagePublic:
    """Keep this footage (whatever the retention policy says) until the hold is released."""
    f = get_visible(session, principal, Footage, footage_id)
    _playable_for_hold(f)
    _set_hold(session, principal, f, hold=True, reason=data.reason.strip())
    return FootagePublic(**to_public(session, f, viewer=principal))


@router.delete("/{footage_id}/legal-hold", response_model=FootagePublic, responses={404: {}, 409: {}, 422: {}})
def delete_legal_hold(
    footage_id: Annotated[int, Path(ge=1)],
    principal: Coordinator,
    session: SessionDep,
    reason: Annotated[str, Query(min_length=3, max_length=500)],
) -> FootagePublic:
    """Release a legal hold: the retention policy applies again."""
    f = get_visible(session, principal, Footage, footage_id)
    _playable_for_hold(f)
    if not f.legal_hold:
        raise HTTPException(status_code=409, detail="This footage is not on legal hold.")
    _set_hold(session, principal, f, hold=False, reason=reason.strip())
    return FootagePublic(**to_public(session, f, viewer=principal))


def _playable_for_hold(f: Footage) -> None:
    if f.status == FootageStatus.purged:
        raise HTTPException(status_code=409, detail="This footage has already been deleted.")


def _set_hold(session: Session, principal: Principal, f: Footage, *, hold: bool, reason: str) -> None:
    try:
        set_legal_hold(session, f, actor=principal.actor, hold=hold, reason=reason)
    except AlreadyPurged:  # by a retention run that finished while this request waited for the clip
        raise HTTPException(status_code=409, detail="This footage has already been deleted.") from None


def _incident(session: Session, principal: Principal, incident_id: int) -> Incident:
    return get_visible(session, principal, Incident, incident_id)
