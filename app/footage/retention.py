"""Retention: when footage is due for deletion, legal holds, and the purge itself.

- Not linked to any incident: deleted `retention_unlinked_days` (default 31) after it was uploaded, or after
  its last link was removed if that is later (a clip unlinked by mistake is not deleted within the hour).
- Linked to incidents: kept `retention_linked_years` after the end of the latest linked incident.
- On legal hold: never deleted until the hold is released.

`Footage.purge_due_at` is kept up to date whenever links, holds or incident times change, and the purge
recomputes it before deleting anything, so a stale value can never delete footage early.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlmodel import Session, col, func, select

from app.audit.service import SYSTEM, Actor, record
from app.core.config import get_settings
from app.core.db import after_commit, commit_now, unit_of_work
from app.core.hooks import on_footage_linked, on_incident_changed
from app.core.logging import get_logger
from app.core.storage import get_storage, incoming_dir, try_lock
from app.core.types import utcnow
from app.footage.models import Footage, FootageIncident, FootageStatus, FootageTombstone, UploadSession
from app.footage.service import hold_stored_object
from app.incident.models import Incident

log = get_logger("bwv.retention")


def _add_years(value: datetime, years: int) -> datetime:
    try:
        return value.replace(year=value.year + years)
    except ValueError:  # 29 February
        return value.replace(year=value.year + years, day=28)


def due_date(
    *,
    uploaded_at: datetime,
    latest_incident_end: datetime | None,
    legal_hold: bool,
    purged: bool,
    unlinked_at: datetime | None = None,
) -> datetime | None:
    """The retention rule itself: when footage may be deleted; None while on legal hold (or purged).
    Unlinked footage is kept the unlinked period from its upload, or from when its last link was removed
    if that is later."""
    if legal_hold or purged:
        return None
    s = get_settings()
    if latest_incident_end is not None:
        if latest_incident_end.tzinfo is None:  # an aggregate that bypassed the column type (SQLite)
            latest_incident_end = latest_incident_end.replace(tzinfo=UTC)
        return _add_years(latest_incident_end, s.retention_linked_years)
    since = max(uploaded_at, unlinked_at) if unlinked_at is not None else uploaded_at
    return since + timedelta(days=s.retention_unlinked_days)


def compute_purge_due(session: Session, footage: Footage) -> datetime | None:
    """When this footage may be deleted; None while it is on legal hold (or already purged)."""
    latest_end = session.exec(
        select(func.max(Incident.incident_ended_at))
        .join(FootageIncident, col(FootageIncident.incident_id) == Incident.id)
        .where(FootageIncident.footage_id == footage.id)
    ).one()
    return due_date(
        uploaded_at=footage.uploaded_at,
        latest_incident_end=latest_end,
        legal_hold=footage.legal_hold,
        purged=footage.status == FootageStatus.purged,
        unlinked_at=footage.unlinked_at,
    )


def refresh_purge_due(session: Session, footage: Footage) -> None:
    due = compute_purge_due(session, footage)
    if footage.purge_due_at != due:
        footage.purge_due_at = due
        session.add(footage)
        session.flush()


def warning_due(footage: Footage, *, now: datetime | None = None) -> bool:
    """True within `retention_warning_days` of the purge (the pages flag it)."""
    if footage.purge_due_at is None or footage.status == FootageStatus.purged:
        return False
    now = now or utcnow()
    return footage.purge_due_at <= now + timedelta(days=get_settings().retention_warning_days)


@on_footage_linked
def _on_link(session: Session, footage_id: int, _incident_id: int) -> None:
    footage = session.get(Footage, footage_id)
    if footage is not None:
        refresh_purge_due(session, footage)


@on_incident_changed
def _on_incident(session: Session, incident_id: int) -> None:
    ids = session.exec(select(FootageIncident.footage_id).where(FootageIncident.incident_id == incident_id)).all()
    for fid in ids:
        footage = session.get(Footage, fid)
        if footage is not None:
            refresh_purge_due(session, footage)


class AlreadyPurged(Exception):
    """The clip was deleted (by retention) before this change could be made to it."""


def set_legal_hold(session: Session, footage: Footage, *, actor: Actor, hold: bool, reason: str) -> None:
    """Set or release the hold. The clip's row is locked first, so a purge run that is deleting this clip
    right now either finishes first (AlreadyPurged: the hold is refused, not recorded on a deleted clip)
    or waits for the hold and then finds it (`purge_footage` re-reads the rule under the same lock)."""
    session.refresh(footage, with_for_update=True)
    if footage.status == FootageStatus.purged:
        raise AlreadyPurged(footage.id)
    footage.legal_hold = hold
    footage.legal_hold_reason = reason if hold else None
    session.add(footage)
    session.flush()
    refresh_purge_due(session, footage)
    record(
        session,
        actor,
        "footage_legal_hold_set" if hold else "footage_legal_hold_released",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        reason=reason,
    )


@dataclass
class PurgeReport:
    purged: list[int] = field(default_factory=list)
    refreshed: int = 0
    abandoned_uploads: int = 0


def purge_footage(session: Session, footage: Footage, *, actor: Actor, reason: str, now: datetime) -> bool:
    """Mark one clip purged, keep a tombstone, audit; its file and thumbnails are deleted once that has
    committed. False if it is not due after all (or already purged)."""
    # Locked first (PostgreSQL; SQLite's transaction already is): an analysis or key-moment refresh saving
    # now finishes before the files go, and one that comes after finds the clip purged and stores nothing.
    session.refresh(footage, with_for_update=True)
    if footage.status == FootageStatus.purged:
        return False
    # An upload of the same bytes waits, then finds this clip purged (and its bytes refused unless asked for).
    # Taken before the audit entry: an upload holding it writes one too, and this transaction must not hold the
    # audit chain's end while it waits (purge_due commits clip by clip for the same reason).
    hold_stored_object(session, footage.storage_key)
    assert footage.id is not None
    # The run read every clip's hold and links before it got here; a legal hold or a link committed since
    # then counts. Read again under the lock (a hold being set now waits for it, and the other way round).
    due = compute_purge_due(session, footage)
    if due is None or due > now:
        footage.purge_due_at = due
        session.add(footage)
        return False
    _delete_files_after_commit(session, footage)
    footage.status = FootageStatus.purged
    footage.purged_at = utcnow()
    footage.purge_due_at = None
    session.add(footage)
    session.add(
        FootageTombstone(
            footage_id=footage.id,
            establishment_id=footage.establishment_id,
            sha256=footage.sha256,
            size_bytes=footage.size_bytes,
            original_filename=footage.original_filename,
            purged_by=actor.username or "system",
            reason=reason,
        )
    )
    record(
        session,
        actor,
        "footage_purge",
        object_type="footage",
        object_id=footage.id,
        establishment_id=footage.establishment_id,
        reason=reason,
        detail={"sha256": footage.sha256, "size": footage.size_bytes, "filename": footage.original_filename},
    )
    session.flush()
    return True


def purge_due(session: Session, *, now: datetime | None = None, actor: Actor = SYSTEM) -> PurgeReport:
    """Recompute due dates and purge what is due (legal holds and linked footage honoured).

    One query reads every live clip's upload time, hold and latest linked incident end; only clips whose
    due date changed are written, and only clips that are due are loaded and purged."""
    now = now or utcnow()
    report = PurgeReport()
    latest = (
        select(
            col(FootageIncident.footage_id).label("footage_id"),
            func.max(Incident.incident_ended_at).label("latest_end"),
        )
        .join(Incident, col(Incident.id) == FootageIncident.incident_id)
        .group_by(col(FootageIncident.footage_id))
        .subquery()
    )
    rows = session.execute(
        sa_select(
            col(Footage.id),
            col(Footage.uploaded_at),
            col(Footage.legal_hold),
            col(Footage.purge_due_at),
            col(Footage.unlinked_at),
            latest.c.latest_end,
        )
        .outerjoin(latest, latest.c.footage_id == Footage.id)
        .where(col(Footage.status) != FootageStatus.purged)
        .order_by(col(Footage.id))
    ).all()
    due_ids: list[tuple[int, bool]] = []
    for fid, uploaded_at, hold, stored, unlinked_at, latest_end in rows:
        due = due_date(
            uploaded_at=uploaded_at,
            latest_incident_end=latest_end,
            legal_hold=hold,
            purged=False,
            unlinked_at=unlinked_at,
        )
        if due != stored:
            session.execute(sa_update(Footage).where(col(Footage.id) == fid).values(purge_due_at=due))
            report.refreshed += 1
        if due is not None and due <= now:
            due_ids.append((fid, latest_end is not None))
    s = get_settings()
    # One clip a transaction, each deleted as soon as it is committed. A run in one transaction held the audit
    # chain's end from its first clip to its last, while it locked each next clip's row and stored object:
    # a legal hold being placed (the row, then its audit entry) or an upload of the same bytes (the object,
    # then its audit entry) deadlocked with it, and PostgreSQL rolled the whole run back.
    commit_now(session)
    for fid, linked in due_ids:
        footage = session.get(Footage, fid)
        if footage is None:
            continue
        why = (
            f"retention: linked footage kept {s.retention_linked_years} years after the incident"
            if linked
            else f"retention: not linked to any incident within {s.retention_unlinked_days} days"
        )
        if purge_footage(session, footage, actor=actor, reason=why, now=now):
            report.purged.append(fid)
        commit_now(session)
    report.abandoned_uploads = _expire_uploads(session, now)
    return report


def _delete_files_after_commit(session: Session, footage: Footage) -> None:
    """The bytes go only once the purge (status, tombstone, audit entry) has committed: a run that fails
    later, or a commit that fails, leaves the clip as it was, with its file. A file whose deletion fails
    after the commit is logged (the clip is recorded as purged and can no longer be played)."""
    assert footage.id is not None
    after_commit(session, partial(delete_files, footage.id, footage.storage_key))


def delete_files(footage_id: int, key: str) -> None:
    """Delete a purged clip's stored object, unless a live clip shares it (the same bytes in another
    establishment, or uploaded again since), and its analysis folders. Under `hold_stored_object`: a clip of
    these bytes being stored now either committed first (then its file stays) or stores its file after."""
    try:
        with unit_of_work() as s:
            hold_stored_object(s, key)
            shared = s.exec(
                select(func.count())
                .select_from(Footage)
                .where(Footage.storage_key == key, Footage.id != footage_id, Footage.status != FootageStatus.purged)
            ).one()
            if not shared:
                get_storage().delete(key)
        derived = get_settings().derived_dir
        for folder in (derived / str(footage_id), derived / f"{footage_id}-moments"):  # analysis, key moments
            shutil.rmtree(folder, ignore_errors=True)
    except Exception:
        log.exception("purge_files_left", footage_id=footage_id, storage_key=key)


def _expire_uploads(session: Session, now: datetime, days: int = 7) -> int:
    """Resumable uploads untouched for a week are given up: their partial files are removed."""
    stale = session.exec(
        select(UploadSession).where(
            col(UploadSession.completed_footage_id).is_(None),
            col(UploadSession.updated_at) < now - timedelta(days=days),
        )
    ).all()
    expired = 0
    for up in stale:
        path = incoming_dir() / f"tus-{up.id}.part"
        with try_lock(path) as held:
            if not held:  # being sent right now after all: not abandoned
                continue
            path.unlink(missing_ok=True)
            session.delete(up)
            expired += 1
    session.flush()
    return expired
