"""Receiving footage: streamed to disk in chunks with SHA-256 computed on the way, checked, then registered.

Memory stays flat whatever the file size: the request body is read chunk by chunk (never `request.form()`),
each chunk goes straight to a temporary file under the storage's `.incoming` folder and into the hash. Any
refusal removes the temporary file and writes no row. The stored file's key is derived from its hash, so a
filename can never choose where anything is written.

The same checks serve the simple upload (`POST /api/v1/footage`), resumable uploads (tus) and bulk import.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi import HTTPException
from python_multipart import MultipartParser
from python_multipart.exceptions import ParseError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.audit.service import Actor, record
from app.core.config import get_settings
from app.core.storage import incoming_dir, key_for
from app.core.types import CLOCK_SKEW, instant_problem, utcnow
from app.establishment.models import Camera
from app.footage.models import Footage
from app.footage.service import NewFootage, find_by_hash, find_purged, hold_stored_object, link, register_footage
from app.incident.models import Incident
from app.staff.models import StaffMember
from workers.video.probe import content_type_for, sniff_video_container

SNIFF_BYTES = 4096
# A wearer may press record a while after the first frame only within the pre-record buffer and the clip:
# without a claimed duration, anything later than this is not plausible.
MAX_ACTIVATION_DELAY = timedelta(hours=12)
MAX_PRERECORD_S = 600.0
META_FIELDS = (
    "camera_serial",
    "staff_number",
    "recording_started_at",
    "prerecord_seconds",
    "activated_at",
    "incident_reference",
    "claimed_duration_s",
    "restore_purged",
)
# Accepted spellings for the same field (the docking systems' exports differ).
ALIASES = {
    "camera": "camera_serial",
    "camera_id": "camera_serial",
    "serial": "camera_serial",
    "wearer": "staff_number",
    "wearer_staff_number": "staff_number",
    "prerecord_s": "prerecord_seconds",
    "pre_record_seconds": "prerecord_seconds",
    "incident": "incident_reference",
    "duration_s": "claimed_duration_s",
}


def problem(status: int, message: str) -> HTTPException:
    return HTTPException(status_code=status, detail=message)


# ---------------------------------------------------------------- metadata
def normalise_fields(raw: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in raw.items():
        k = key.strip().lower()
        k = ALIASES.get(k, k)
        if k in META_FIELDS or k == "filename":
            v = value.strip()
            if v:
                out[k] = v
    return out


def parse_time(name: str, value: str) -> datetime:
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise problem(
            422, f"{name} is not a date and time: give ISO 8601 with an offset, e.g. 2026-11-03T14:02:00+00:00."
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise problem(
            422,
            f"{name} has no time zone: add the offset the camera recorded in, e.g. {text}+00:00 "
            "(a time without a zone could be an hour out in summer).",
        )
    if why := instant_problem(parsed):
        raise problem(422, f"{name} {why}.")
    return parsed


def _number(name: str, value: str | None, *, lo: float, hi: float) -> float | None:
    if value is None:
        return None
    try:
        n = float(value)
    except ValueError:
        raise problem(422, f"{name} must be a number of seconds, got {value!r}.") from None
    if not (lo <= n <= hi) or n != n:
        raise problem(422, f"{name} must be between {lo:g} and {hi:g} seconds, got {value}.")
    return n


@dataclass
class UploadMeta:
    """Metadata of one clip, checked for shape (not yet against the database)."""

    staff_number: str
    recording_started_at: datetime
    camera_serial: str | None = None
    prerecord_seconds: float = 0.0
    activated_at: datetime | None = None
    incident_reference: str | None = None
    claimed_duration_s: float | None = None
    # Store the bytes of a clip that retention deleted as a new clip (asked for, never assumed: a docking
    # export sent again must not bring back what retention deleted).
    restore_purged: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def as_fields(self) -> dict[str, str]:
        out = {
            "staff_number": self.staff_number,
            "recording_started_at": self.recording_started_at.isoformat(),
            "prerecord_seconds": str(self.prerecord_seconds),
        }
        if self.camera_serial:
            out["camera_serial"] = self.camera_serial
        if self.activated_at:
            out["activated_at"] = self.activated_at.isoformat()
        if self.incident_reference:
            out["incident_reference"] = self.incident_reference
        if self.claimed_duration_s is not None:
            out["claimed_duration_s"] = str(self.claimed_duration_s)
        if self.restore_purged:
            out["restore_purged"] = "true"
        return out


def parse_meta(raw: dict[str, str], *, now: datetime | None = None) -> UploadMeta:
    """Check the metadata's shape: required fields, times with a zone and not in the future, plausible order."""
    fields = normalise_fields(raw)
    now = now or utcnow()
    missing = [f for f in ("camera_serial", "staff_number", "recording_started_at") if not fields.get(f)]
    if missing:
        raise problem(
            422,
            f"Missing metadata: {', '.join(missing)}. Every clip needs the camera serial, the wearer's staff "
            "number and the time of its first frame.",
        )
    started = parse_time("recording_started_at", fields["recording_started_at"])
    if started > now + CLOCK_SKEW:
        raise problem(
            422,
            f"recording_started_at ({started.isoformat()}) is in the future: check the camera's clock and the "
            "time zone offset.",
        )
    prerecord = _number("prerecord_seconds", fields.get("prerecord_seconds"), lo=0, hi=MAX_PRERECORD_S) or 0.0
    duration = _number("claimed_duration_s", fields.get("claimed_duration_s"), lo=0, hi=7 * 24 * 3600)
    activated = None
    if fields.get("activated_at"):
        activated = parse_time("activated_at", fields["activated_at"])
        if activated < started:
            raise problem(
                422,
                "activated_at is before recording_started_at: the first frame (pre-record buffer included) "
                "cannot come after the wearer pressed record. Check both times and their offsets.",
            )
        if activated > now + CLOCK_SKEW:
            raise problem(422, "activated_at is in the future: check the camera's clock and the offset.")
        latest = started + (timedelta(seconds=duration) if duration is not None else MAX_ACTIVATION_DELAY)
        if activated > latest:
            raise problem(
                422,
                "activated_at is after the end of the clip: the wearer must have pressed record during the "
                "recording. Check the times.",
            )
    return UploadMeta(
        staff_number=fields["staff_number"],
        camera_serial=fields.get("camera_serial"),
        recording_started_at=started,
        prerecord_seconds=prerecord,
        activated_at=activated,
        incident_reference=fields.get("incident_reference"),
        claimed_duration_s=duration,
        restore_purged=yes_no("restore_purged", fields.get("restore_purged")),
    )


def yes_no(name: str, value: str | None) -> bool:
    if value is None:
        return False
    text = value.strip().lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise problem(422, f"{name} is true or false, not {value[:40]!r}.")


def refused_about(exc: HTTPException) -> dict[str, Any]:
    """For a refusal's audit entry: the deleted clip whose bytes were refused (`purged_problem`), if that."""
    headers = exc.headers or {}
    if headers.get("Bwv-Purged") != "true":
        return {}
    return {"object_type": "footage", "object_id": headers["Bwv-Footage-Id"]}


def deleted_on(gone: Footage) -> str:
    """The London day retention deleted a clip, as the refusals of its bytes say it."""
    from app.core.templates import london

    assert gone.purged_at is not None
    return london(gone.purged_at, "%-d %B %Y")


def purged_problem(gone: Footage) -> HTTPException:
    """409 for the bytes of a clip that retention deleted, uploaded without `restore_purged`."""
    when = deleted_on(gone)
    return HTTPException(
        status_code=409,
        detail=(
            f"This file was footage {gone.id}, deleted on {when} under the retention policy: it is not stored "
            "again unless you ask. To store it again (for example, a complaint came after it was deleted), "
            "upload it with restore_purged=true."
        ),
        headers={"Bwv-Footage-Id": str(gone.id), "Bwv-Purged": "true", "Bwv-Purged-On": when},
    )


@dataclass
class Resolved:
    camera_id: int | None
    wearer_id: int
    incident: Incident | None


def resolve_meta(session: Session, establishment_id: int, meta: UploadMeta) -> Resolved:
    """Check the metadata against the establishment's cameras, staff and incidents."""
    camera_id = None
    if meta.camera_serial:
        cam = session.exec(
            select(Camera).where(Camera.establishment_id == establishment_id, Camera.serial == meta.camera_serial)
        ).first()
        if cam is None:
            raise problem(
                422,
                f"Unknown camera {meta.camera_serial!r} at this establishment: register the camera first or "
                "correct the serial.",
            )
        camera_id = cam.id
    wearer = session.exec(
        select(StaffMember).where(
            StaffMember.establishment_id == establishment_id, StaffMember.staff_number == meta.staff_number
        )
    ).first()
    if wearer is None or wearer.id is None:
        raise problem(
            422,
            f"Unknown staff number {meta.staff_number!r} at this establishment: add the officer first or correct "
            "the number.",
        )
    incident = None
    if meta.incident_reference:
        incident = session.exec(
            select(Incident).where(
                Incident.establishment_id == establishment_id, Incident.reference == meta.incident_reference
            )
        ).first()
        if incident is None:
            raise problem(
                422,
                f"No incident with reference {meta.incident_reference!r} at this establishment: record the incident "
                "first or leave incident_reference out and link the footage later.",
            )
    return Resolved(camera_id=camera_id, wearer_id=wearer.id, incident=incident)


# ---------------------------------------------------------------- filenames
_BIDI_CONTROLS = {"LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"}
_BAD_NAME = re.compile(r"[/\\]|^\.\.|\.\.$|%2e%2e|%2f|%5c", re.IGNORECASE)
# Browsers and HTTP clients percent-encode control characters in a multipart filename (%0A, %00...).
_ENCODED_CONTROL = re.compile(r"%(?:[01][0-9a-f]|7f)", re.IGNORECASE)


def check_filename(name: str | None) -> str:
    """The display name of an upload: a plain file name. Path parts are refused, not silently stripped."""
    if name is None or not name.strip():
        raise problem(422, "The file has no name: send it as a file part with a filename.")
    if len(name) > 255:
        raise problem(422, "The file name is longer than 255 characters: rename the file.")
    # Bidirectional overrides would make "clip\u202egpj.mp4" display as "clipmp4.jpg": refused like controls.
    if any(unicodedata.category(c) == "Cc" or unicodedata.bidirectional(c) in _BIDI_CONTROLS for c in name) or (
        _ENCODED_CONTROL.search(name)
    ):
        raise problem(422, "The file name contains control characters: rename the file to a plain name.")
    if _BAD_NAME.search(name) or name.strip() in (".", ".."):
        raise problem(
            422,
            f"The file name {name!r} contains path parts (/, \\ or ..): send only the file's own name, e.g. "
            "clip_0001.mp4.",
        )
    return name.strip()


# ---------------------------------------------------------------- writing
class IncomingFile:
    """A temporary file being filled with an upload, hashed as it is written. Remove with `discard()`."""

    def __init__(self, limit: int, *, path: Path | None = None, sha: Any = None) -> None:
        """A new temporary file, or (`path`) an existing partial upload to append to (FileNotFoundError when it
        is not there); `sha` is the hash state of the bytes already there (re-computed from the file when not
        given)."""
        self.limit = limit
        self.path = path or incoming_dir() / f"{uuid.uuid4().hex}.part"
        if path is not None:  # appending: FileNotFoundError if it has gone (never made again, empty)
            self._fh = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND), "ab")
        else:
            self._fh = open(self.path, "xb")  # noqa: SIM115 - closed in finish()/discard()
        self.size = self._fh.tell()
        self._head = b""
        self._sniff = True
        self.container: str | None = None
        if sha is None:
            sha = hashlib.sha256()
            if self.size:
                with open(self.path, "rb") as f:
                    for chunk in iter(lambda: f.read(1024 * 1024), b""):
                        sha.update(chunk)
        self._sha = sha
        if self.size:
            with open(self.path, "rb") as f:
                self._head = f.read(SNIFF_BYTES)
            # A partial upload past the sniff window was sniffed when those bytes arrived.
            self._sniff = len(self._head) < SNIFF_BYTES
            if not self._sniff:
                self.container = sniff_video_container(self._head)

    @property
    def fileno(self) -> int:
        return self._fh.fileno()

    def sha_state(self) -> Any:
        return self._sha.copy()

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            self._fh.close()

    def write(self, data: bytes | memoryview) -> None:
        if not data:
            return
        if self.size + len(data) > self.limit:
            raise problem(413, too_large(self.limit))
        if self._sniff and len(self._head) < SNIFF_BYTES:
            self._head += bytes(data[: SNIFF_BYTES - len(self._head)])
            if len(self._head) >= SNIFF_BYTES:
                self.check_sniff()
        self._fh.write(data)
        self._sha.update(data)
        self.size += len(data)

    def check_sniff(self) -> None:
        self._sniff = False
        self.container = sniff_video_container(self._head)
        if self.container is None:
            raise problem(
                415,
                "This file is not a video we accept (checked from its contents, not its name): send the MP4, MOV, "
                "MKV, WebM or AVI file exported from the camera.",
            )

    def finish(self) -> str:
        """Close the file and return its SHA-256 (hex). Refuses empty and non-video files."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        if self.size == 0:
            raise problem(422, "The file is empty (0 bytes): export the clip again and send that file.")
        if self._sniff:
            self.check_sniff()
        return self._sha.hexdigest()

    def discard(self) -> None:
        try:
            self._fh.close()
        finally:
            self.path.unlink(missing_ok=True)


def too_large(limit: int) -> str:
    from app.core.templates import filesize

    return f"The file is larger than the limit of {filesize(limit)} ({limit} bytes): split or trim the export."


# ---------------------------------------------------------------- multipart (streamed)
_PARAM = re.compile(r';\s*([A-Za-z0-9_\-*]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def parse_disposition(value: str) -> dict[str, str]:
    """Content-Disposition parameters, unaltered (no path stripping, so path parts can be refused)."""
    params: dict[str, str] = {}
    for key, raw in _PARAM.findall(value):
        v = raw.strip()
        if v.startswith('"') and v.endswith('"') and len(v) >= 2:
            v = re.sub(r"\\(.)", r"\1", v[1:-1])
        key = key.lower()
        if key == "filename*":
            _charset, _, rest = v.partition("'")
            _lang, _, encoded = rest.partition("'")
            v = unquote(encoded, encoding="utf-8", errors="strict")
            key = "filename"
        params[key] = v
    return params


@dataclass
class Received:
    fields: dict[str, str]
    file: IncomingFile
    filename: str
    sha256: str


async def receive_multipart(
    content_type: str,
    chunks: AsyncIterator[bytes],
    *,
    limit: int,
    on_file_start: Callable[[dict[str, str]], None] | None = None,
) -> Received:
    """Parse a multipart/form-data body as it arrives: small fields in memory, the one file part to disk."""
    m = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not (content_type or "").lower().startswith("multipart/form-data") or m is None:
        raise problem(415, "Send the upload as multipart/form-data: the metadata fields and the file part.")
    fields: dict[str, str] = {}
    state: dict[str, Any] = {"headers": {}, "hname": b"", "hvalue": b"", "name": None, "buf": b"", "in_file": False}
    holder: dict[str, Any] = {"file": None, "filename": None}

    def on_part_begin() -> None:
        state.update(headers={}, hname=b"", hvalue=b"", name=None, buf=b"", in_file=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["hname"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["hvalue"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["hname"].decode("latin-1").lower()] = state["hvalue"].decode("utf-8", "replace")
        state["hname"] = b""
        state["hvalue"] = b""

    def on_headers_finished() -> None:
        params = parse_disposition(state["headers"].get("content-disposition", ""))
        state["name"] = params.get("name")
        if "filename" in params:
            if holder["file"] is not None:
                raise problem(422, "Send one file per upload request.")
            name = check_filename(params["filename"])
            if on_file_start is not None:
                on_file_start(fields)
            holder["filename"] = name
            holder["file"] = IncomingFile(limit)
            state["in_file"] = True

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if state["in_file"]:
            holder["file"].write(memoryview(data)[start:end])  # no copy of the chunk
        else:
            state["buf"] += data[start:end]
            if len(state["buf"]) > 10_000:
                raise problem(422, f"The field {state['name']!r} is too long.")

    def on_part_end() -> None:
        if state["in_file"]:
            holder["file_complete"] = True  # the boundary after the file was seen: it arrived whole
        elif state["name"]:
            fields[state["name"]] = state["buf"].decode("utf-8", "replace")

    parser = MultipartParser(
        m.group(1),
        {  # type: ignore[arg-type]
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_headers_finished": on_headers_finished,
        },
    )
    try:
        try:
            async for chunk in chunks:
                if chunk:
                    parser.write(chunk)
            parser.finalize()
        except ParseError as exc:
            raise problem(400, f"The multipart body is malformed ({exc}): send it as multipart/form-data.") from None
        if holder["file"] is None:
            raise problem(422, "No file in the upload: send the video as a file part named 'file'.")
        if not holder.get("file_complete"):
            # The parser does not check the end of the body itself: without this, a body cut short would be
            # stored as if it were the whole file.
            raise problem(400, "The upload was cut short before the end of the file: send the whole file again.")
        sha = holder["file"].finish()
    except BaseException:
        if holder["file"] is not None:
            holder["file"].discard()
        raise
    return Received(fields=fields, file=holder["file"], filename=holder["filename"], sha256=sha)


# ---------------------------------------------------------------- registering
@dataclass
class Outcome:
    footage: Footage
    duplicate: bool


def finalize_upload(
    session: Session,
    *,
    actor: Actor,
    establishment_id: int,
    meta: UploadMeta,
    path: Path,
    sha256: str,
    size: int,
    container: str | None,
    filename: str,
    via: str,
) -> Outcome:
    """Register a fully received file (or recognise it as already stored). The caller removes `path`."""
    resolved = resolve_meta(session, establishment_id, meta)
    # Before looking: a purge of a clip of these bytes committing now is seen whole (then it is a deleted clip).
    hold_stored_object(session, key_for(sha256))
    existing = find_by_hash(session, establishment_id, sha256)

    def duplicate(of: Footage) -> Outcome:
        record(
            session,
            actor,
            "footage_upload_duplicate",
            object_type="footage",
            object_id=of.id,
            establishment_id=establishment_id,
            detail={"sha256": sha256, "filename": filename, "via": via},
        )
        return Outcome(of, True)

    if existing is not None:
        return duplicate(existing)
    deleted_before = find_purged(session, establishment_id, sha256)
    if deleted_before and not meta.restore_purged:
        raise purged_problem(deleted_before[0])
    new = NewFootage(
        establishment_id=establishment_id,
        recording_started_at=meta.recording_started_at,
        original_filename=filename,
        camera_id=resolved.camera_id,
        wearer_id=resolved.wearer_id,
        activated_at=meta.activated_at,
        prerecord_seconds=meta.prerecord_seconds,
        claimed_duration_s=meta.claimed_duration_s,
        content_type=content_type_for(container),
        container=container,
        uploaded_by_user_id=actor.user_id,
    )
    try:
        with session.begin_nested():
            footage = register_footage(session, new, path=path, sha256=sha256, size=size)
    except IntegrityError:
        # Someone stored the same bytes a moment ago.
        existing = find_by_hash(session, establishment_id, sha256)
        if existing is None:
            raise
        return duplicate(existing)  # audited as the other duplicates are
    from app.footage.retention import refresh_purge_due

    if resolved.incident is not None:
        source = "import" if via == "import" else "upload"
        link(session, footage, resolved.incident.id, user_id=actor.user_id, source=source)  # type: ignore[arg-type]
    refresh_purge_due(session, footage)
    record(
        session,
        actor,
        "footage_upload",
        object_type="footage",
        object_id=footage.id,
        establishment_id=establishment_id,
        detail={
            "sha256": sha256,
            "size": size,
            "filename": filename,
            "via": via,
            "incident": meta.incident_reference,
            **({"stored_again_after_purge": [f.id for f in deleted_before]} if deleted_before else {}),
        },
    )
    return Outcome(footage, False)


def max_upload_bytes() -> int:
    return get_settings().max_upload_bytes
