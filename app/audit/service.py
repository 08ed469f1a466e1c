"""Writing and checking the hash-chained audit trail.

Every entry's hash covers its own fields and the previous entry's hash, so editing or deleting any row
breaks the chain from that point on. Writers take the one `audit_head` row first (a row lock on
PostgreSQL, the write lock on SQLite), which keeps the chain linear under concurrency.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent, AuditHead
from app.core.csvsafe import safe_row
from app.core.db import unit_of_work
from app.core.types import utcnow

GENESIS = "0" * 64
EVENTS: sa.Table = sa.inspect(AuditEvent).local_table  # type: ignore[assignment]
HEAD: sa.Table = sa.inspect(AuditHead).local_table  # type: ignore[assignment]


@dataclass(frozen=True)
class Actor:
    """Who did it and from where; `None` fields for the system itself (beat tasks, CLI)."""

    user_id: int | None = None
    username: str | None = None
    role: str | None = None
    establishment_id: int | None = None
    ip: str | None = None


SYSTEM = Actor(username="system", role="system")


def _canonical(event: AuditEvent) -> bytes:
    at = event.at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = {
        "id": event.id,
        "at": at,
        "actor_user_id": event.actor_user_id,
        "actor_username": event.actor_username,
        "actor_role": event.actor_role,
        "establishment_id": event.establishment_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "reason": event.reason,
        "ip": event.ip,
        "detail": event.detail,
        "prev_hash": event.prev_hash,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode()


def compute_hash(event: AuditEvent) -> str:
    return hashlib.sha256(_canonical(event)).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    object_type: str | None = None,
    object_id: Any = None,
    establishment_id: int | None = None,
    reason: str | None = None,
    outcome: str = "ok",
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one entry in the caller's transaction (it is kept only if the change is). Returns the entry
    as written (not attached to the session)."""
    # One statement takes the chain's end and moves it on. From here to the commit the head row is locked
    # (PostgreSQL) or the database write-locked (SQLite), so entries are numbered without gaps or forks.
    # This runs on every view, so it is kept to two round trips on PostgreSQL: this, then the entry and the
    # new end's hash in one statement. Core statements built once, not the ORM's unit of work: building
    # them on each call took longer than PostgreSQL took to run them.
    next_id, prev_hash = session.execute(_TAKE_END).one()
    event = AuditEvent(
        id=next_id,
        at=utcnow(),
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        actor_role=actor.role,
        establishment_id=establishment_id if establishment_id is not None else actor.establishment_id,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        outcome=outcome,
        reason=reason,
        ip=actor.ip,
        detail=detail or {},
        prev_hash=prev_hash,
        hash="",
    )
    event.hash = compute_hash(event)
    values = {f"e_{name}": getattr(event, name) for name in _COLUMNS}
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_WRITE_ENTRY_AND_END, {**values, "end_hash": event.hash})
    else:
        session.execute(_INSERT_ENTRY, values)
        session.execute(_MOVE_END, {"end_hash": event.hash})
    return event


_COLUMNS = tuple(c.name for c in EVENTS.columns)
_TAKE_END = (
    sa.update(HEAD).where(HEAD.c.id == 1).values(last_id=HEAD.c.last_id + 1).returning(HEAD.c.last_id, HEAD.c.last_hash)
)
_INSERT_ENTRY = sa.insert(EVENTS).values({c.name: sa.bindparam(f"e_{c.name}", type_=c.type) for c in EVENTS.columns})
_MOVE_END = sa.update(HEAD).where(HEAD.c.id == 1).values(last_hash=sa.bindparam("end_hash"))
# A data-modifying WITH runs whether or not the statement refers to it.
_WRITE_ENTRY_AND_END = _MOVE_END.add_cte(_INSERT_ENTRY.cte("entry"))


def record_now(actor: Actor, action: str, **kwargs: Any) -> None:
    """Append an entry in a transaction of its own: for failures whose request is about to roll back."""
    with unit_of_work() as session:
        record(session, actor, action, **kwargs)


@dataclass
class ChainProblem:
    event_id: int
    problem: str


def verify_chain(session: Session, *, batch: int = 5000) -> tuple[int, list[ChainProblem]]:
    """Walk the whole chain; report edited entries, removed entries and a head that does not match."""
    problems: list[ChainProblem] = []
    prev_hash = GENESIS
    expected_id = 1
    checked = 0
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEvent).where(col(AuditEvent.id) > last_id).order_by(col(AuditEvent.id)).limit(batch)
        ).all()
        if not rows:
            break
        for event in rows:
            assert event.id is not None
            if event.id != expected_id:
                problems.append(ChainProblem(expected_id, f"entries {expected_id}..{event.id - 1} are missing"))
            if event.prev_hash != prev_hash:
                problems.append(ChainProblem(event.id, "does not follow the entry before it (removed or reordered)"))
            if compute_hash(event) != event.hash:
                problems.append(ChainProblem(event.id, "has been altered: its contents do not match its hash"))
            prev_hash = event.hash
            expected_id = event.id + 1
            last_id = event.id
            checked += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != last_id or head.last_hash != prev_hash):
        problems.append(ChainProblem(head.last_id, "the newest entries have been removed (chain end does not match)"))
    return checked, problems


AUDIT_CSV_COLUMNS = [
    "id",
    "at",
    "actor_username",
    "actor_role",
    "establishment_id",
    "action",
    "object_type",
    "object_id",
    "outcome",
    "reason",
    "ip",
    "detail",
    "hash",
]


def to_csv_rows(events: Iterable[AuditEvent]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(AUDIT_CSV_COLUMNS)
    yield buf.getvalue()
    for e in events:
        buf.seek(0)
        buf.truncate()
        writer.writerow(
            safe_row(
                [
                    e.id,
                    e.at.isoformat(),
                    e.actor_username,
                    e.actor_role,
                    e.establishment_id,
                    e.action,
                    e.object_type,
                    e.object_id,
                    e.outcome,
                    e.reason,
                    e.ip,
                    json.dumps(e.detail, sort_keys=True),
                    e.hash,
                ]
            )
        )
        yield buf.getvalue()


def search_events(
    session: Session,
    *,
    establishment_id: int | None,
    action: str | None = None,
    username: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 200,
    offset: int = 0,
) -> list[AuditEvent]:
    """Newest first. `establishment_id=None` means every establishment (admins only)."""
    q = select(AuditEvent)
    if establishment_id is not None:
        q = q.where(AuditEvent.establishment_id == establishment_id)
    if action:
        q = q.where(AuditEvent.action == action)
    if username:
        q = q.where(AuditEvent.actor_username == username)
    if object_type:
        q = q.where(AuditEvent.object_type == object_type)
    if object_id:
        q = q.where(AuditEvent.object_id == object_id)
    if since:
        q = q.where(col(AuditEvent.at) >= since)
    if until:
        q = q.where(col(AuditEvent.at) < until)
    q = q.order_by(col(AuditEvent.id).desc()).offset(offset)
    if limit is not None:
        q = q.limit(limit)
    return list(session.exec(q).all())
