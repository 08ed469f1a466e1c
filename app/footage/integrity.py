"""Integrity: re-hash stored footage and raise an alert when a file no longer matches what was uploaded."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from app.audit.service import SYSTEM, Actor, record
from app.core.db import unit_of_work
from app.core.logging import get_logger
from app.core.storage import get_storage
from app.core.types import utcnow
from app.footage.models import Footage, FootageStatus, IntegrityStatus

log = get_logger("bwv.integrity")


@dataclass
class VerifyReport:
    checked: int = 0
    ok: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)


def measure(storage_key: str, sha256: str) -> tuple[IntegrityStatus, str | None]:
    """Re-hash one stored object (no database work: can take minutes for a large file)."""
    storage = get_storage()
    try:
        if not storage.exists(storage_key):
            return IntegrityStatus.missing, None
        actual = storage.hash_key(storage_key)
    except FileNotFoundError:
        return IntegrityStatus.missing, None
    return (IntegrityStatus.ok if actual == sha256 else IntegrityStatus.mismatch), actual


def check_one(session: Session, footage: Footage, *, actor: Actor = SYSTEM) -> IntegrityStatus:
    status, actual = measure(footage.storage_key, footage.sha256)
    return apply(session, footage, status, actual, actor=actor)


def apply(
    session: Session, footage: Footage, status: IntegrityStatus, actual: str | None, *, actor: Actor = SYSTEM
) -> IntegrityStatus:
    previous = footage.integrity_status
    footage.integrity_status = status
    footage.integrity_checked_at = utcnow()
    session.add(footage)
    session.flush()
    if status != IntegrityStatus.ok and previous != status:
        log.warning("footage_integrity_alert", footage=footage.id, status=status.value)
        record(
            session,
            actor,
            "footage_integrity_alert",
            object_type="footage",
            object_id=footage.id,
            establishment_id=footage.establishment_id,
            outcome="failed",
            detail={"status": status.value, "expected_sha256": footage.sha256, "actual_sha256": actual},
        )
    elif status == IntegrityStatus.ok and previous in (IntegrityStatus.mismatch, IntegrityStatus.missing):
        record(
            session,
            actor,
            "footage_integrity_restored",
            object_type="footage",
            object_id=footage.id,
            establishment_id=footage.establishment_id,
        )
    return status


def verify_all(*, footage_ids: list[int] | None = None, actor: Actor = SYSTEM) -> VerifyReport:
    """Check every stored clip, one short transaction each (re-hashing is slow; locks are not held)."""
    with unit_of_work() as session:
        q = select(Footage.id).where(Footage.status != FootageStatus.purged).order_by(col(Footage.id))
        if footage_ids:
            q = q.where(col(Footage.id).in_(footage_ids))
        ids = list(session.exec(q).all())
    report = VerifyReport()
    for fid in ids:
        with unit_of_work() as session:
            footage = session.get(Footage, fid)
            if footage is None or footage.status == FootageStatus.purged:
                continue
            key, sha = footage.storage_key, footage.sha256
        status, actual = measure(key, sha)
        with unit_of_work() as session:
            footage = session.get(Footage, fid)
            if footage is None or footage.status == FootageStatus.purged:
                continue
            status = apply(session, footage, status, actual, actor=actor)
        report.checked += 1
        if status == IntegrityStatus.ok:
            report.ok += 1
        else:
            report.problems.append((fid, status.value))  # type: ignore[arg-type]
    return report
