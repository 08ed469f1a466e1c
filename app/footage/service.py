"""Footage records: registering stored files, linking to incidents, queueing analysis."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.jobs import enqueue
from app.core.storage import get_storage, key_for
from app.core.types import utcnow
from app.footage.models import Footage, FootageIncident, FootageStatus
from app.incident.models import Incident

ANALYSE_TASK = "footage.analyse"


@dataclass
class NewFootage:
    establishment_id: int
    recording_started_at: datetime
    original_filename: str
    camera_id: int | None = None
    wearer_id: int | None = None
    activated_at: datetime | None = None
    prerecord_seconds: float = 0.0
    claimed_duration_s: float | None = None
    content_type: str = "video/mp4"
    container: str | None = "mp4"
    uploaded_by_user_id: int | None = None


def find_by_hash(session: Session, establishment_id: int, sha256: str) -> Footage | None:
    """The establishment's live clip of these bytes. A clip that retention has deleted is not one: the same
    bytes uploaded again are stored as a new clip (its tombstone and audit trail stay as they were)."""
    return session.exec(
        select(Footage).where(
            Footage.establishment_id == establishment_id,
            Footage.sha256 == sha256,
            col(Footage.status) != FootageStatus.purged,
        )
    ).first()


def find_purged(session: Session, establishment_id: int, sha256: str) -> list[Footage]:
    """The establishment's clips of these bytes that retention deleted, latest first."""
    return list(
        session.exec(
            select(Footage)
            .where(
                Footage.establishment_id == establishment_id,
                Footage.sha256 == sha256,
                col(Footage.status) == FootageStatus.purged,
            )
            .order_by(col(Footage.purged_at).desc(), col(Footage.id).desc())
        ).all()
    )


def hold_stored_object(session: Session, key: str) -> None:
    """Until the session's transaction ends, nobody else stores or deletes the object under `key`.

    Clips of the same bytes share one stored object (the key is the hash): in two establishments, or a clip
    uploaded again after retention deleted the first. Storing a clip (file in place, then its row committed)
    and retention's deletion of the object (no live clip on it? then delete) take this in turn, so a deletion
    can never remove the file of a clip that committed a moment later. PostgreSQL: an advisory lock on the
    key. SQLite: every transaction here holds the database's write lock from its start (BEGIN IMMEDIATE), so
    starting one is enough."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": key})
    else:
        session.execute(sa.text("SELECT 1"))


def register_footage(session: Session, meta: NewFootage, *, path: Path, sha256: str, size: int) -> Footage:
    """Store a verified file write-once and create its record with an analysis job (same transaction)."""
    key = key_for(sha256)
    hold_stored_object(session, key)  # held to the commit: retention's deletion of a purged clip waits
    storage = get_storage()
    adopt = getattr(storage, "adopt_file", None)
    if adopt is not None:
        adopt(path, key)
    else:
        storage.put_file(path, key)
    footage = Footage(
        establishment_id=meta.establishment_id,
        camera_id=meta.camera_id,
        wearer_id=meta.wearer_id,
        recording_started_at=meta.recording_started_at,
        activated_at=meta.activated_at,
        prerecord_seconds=meta.prerecord_seconds,
        claimed_duration_s=meta.claimed_duration_s,
        original_filename=meta.original_filename,
        content_type=meta.content_type,
        container=meta.container,
        size_bytes=size,
        sha256=sha256,
        storage_key=key,
        status=FootageStatus.queued,
        uploaded_by_user_id=meta.uploaded_by_user_id,
    )
    session.add(footage)
    session.flush()
    _retention.refresh_purge_due(session, footage)
    enqueue(session, ANALYSE_TASK, footage.id)
    return footage


def link(session: Session, footage: Footage, incident_id: int, *, user_id: int | None, source: str) -> bool:
    """Link footage to an incident; returns False if it already was."""
    assert footage.id is not None
    existing = session.get(FootageIncident, (footage.id, incident_id))
    if existing is not None:
        return False
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise LookupError(f"no incident {incident_id}")
    session.add(
        FootageIncident(
            footage_id=footage.id,
            incident_id=incident_id,
            linked_by_user_id=user_id,
            source=source,
            # Copies for the reports; `incident.service.update_incident` keeps them in step.
            establishment_id=incident.establishment_id,
            force_started_at=incident.force_started_at,
        )
    )
    session.flush()
    from app.core.hooks import footage_linked

    footage_linked(session, footage.id, incident_id)
    return True


def unlink(session: Session, footage: Footage, incident_id: int) -> bool:
    """Remove a link; returns False if there was none."""
    assert footage.id is not None
    existing = session.get(FootageIncident, (footage.id, incident_id))
    if existing is None:
        return False
    session.delete(existing)
    session.flush()
    still_linked = session.exec(
        select(FootageIncident.incident_id).where(FootageIncident.footage_id == footage.id).limit(1)
    ).first()
    if still_linked is None:
        # Its last link: a clip uploaded long ago must not become due the moment it is unlinked (by mistake,
        # perhaps): it is kept the unlinked period from now too.
        footage.unlinked_at = utcnow()
        session.add(footage)
        session.flush()
    from app.core.hooks import footage_linked

    footage_linked(session, footage.id, incident_id)
    return True


# Retention reacts to link and incident changes through the hooks (imported for its registrations).
from app.footage import retention as _retention  # noqa: E402,F401
