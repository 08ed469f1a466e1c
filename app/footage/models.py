"""Footage: write-once video files, what analysis found in them, their links to incidents, and retention."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import enum_field, json_field, utc_field


class FootageStatus(StrEnum):
    received = "received"
    queued = "queued"
    analysing = "analysing"
    analysed = "analysed"
    failed = "failed"
    purged = "purged"


class IntegrityStatus(StrEnum):
    unchecked = "unchecked"
    ok = "ok"
    mismatch = "mismatch"
    missing = "missing"


class Footage(SQLModel, table=True):
    __table_args__ = (
        # One live clip of the same bytes an establishment: a clip that retention deleted does not stop them
        # being uploaded again (as a new clip).
        sa.Index(
            "uq_footage_live_sha256",
            "establishment_id",
            "sha256",
            unique=True,
            postgresql_where=sa.text("status <> 'purged'"),
            sqlite_where=sa.text("status <> 'purged'"),
        ),
        # An establishment's live clips' ids from the index alone (PostgreSQL): the review queue looks among
        # them for those not rated yet, and counts those rated, on every view.
        sa.Index("ix_footage_establishment_id_id", "establishment_id", "id", postgresql_include=["purged_at"]),
    )
    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id")
    camera_id: int | None = Field(default=None, foreign_key="camera.id", index=True)
    wearer_id: int | None = Field(default=None, foreign_key="staff_member.id", index=True)
    # Time of the first frame (the pre-record buffer included) and when the wearer pressed record.
    recording_started_at: datetime = utc_field(index=True)
    activated_at: datetime | None = utc_field(nullable=True)
    prerecord_seconds: float = Field(default=0.0, ge=0, le=600)
    claimed_duration_s: float | None = Field(default=None, ge=0)
    original_filename: str = Field(max_length=255)
    content_type: str = Field(default="video/mp4", max_length=64)
    container: str | None = Field(default=None, max_length=16)
    size_bytes: int = Field(sa_type=sa.BigInteger())
    sha256: str = Field(max_length=64, index=True)
    storage_key: str = Field(max_length=255)
    status: FootageStatus = enum_field(FootageStatus, default=FootageStatus.received, index=True)
    status_detail: str | None = Field(default=None, max_length=1000)
    progress: float = 0.0
    analysis_attempts: int = 0
    # Last status change or progress report: the stuck-analysis sweep's heartbeat (None = uploaded_at).
    status_changed_at: datetime | None = utc_field(nullable=True)
    uploaded_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    uploaded_at: datetime = utc_field(default_now=True, index=True)
    # Measured by analysis (the frames themselves, not the container's claims).
    duration_s: float | None = None
    frame_count: int | None = None
    fps: float | None = None
    width: int | None = None
    height: int | None = None
    codec: str | None = Field(default=None, max_length=32)
    truncated: bool = False
    analysed_at: datetime | None = utc_field(nullable=True)
    filmstrip_key: str | None = Field(default=None, max_length=255)
    # Integrity and retention.
    integrity_status: IntegrityStatus = enum_field(IntegrityStatus, default=IntegrityStatus.unchecked)
    integrity_checked_at: datetime | None = utc_field(nullable=True)
    legal_hold: bool = False
    legal_hold_reason: str | None = Field(default=None, max_length=500)
    purge_due_at: datetime | None = utc_field(nullable=True, index=True)
    # When its last incident link was removed: unlinked footage is kept the unlinked period from then too.
    unlinked_at: datetime | None = utc_field(nullable=True)
    purged_at: datetime | None = utc_field(nullable=True)
    good_practice: bool = False


class FootageIncident(SQLModel, table=True):
    """Many-to-many: a clip can show several incidents, an incident can have many clips."""

    __tablename__ = "footage_incident"
    __table_args__ = (
        sa.Index(
            "ix_footage_incident_establishment_id_force_started_at",
            "establishment_id",
            "force_started_at",
            "incident_id",
            "footage_id",
        ),
    )
    footage_id: int = Field(foreign_key="footage.id", primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, index=True)
    # The incident's establishment and force start, copied when the link is made and again whenever the
    # incident's force start changes (same transaction): the reports read a period's links by this index,
    # with no join to the incidents.
    establishment_id: int = Field(foreign_key="establishment.id")
    force_started_at: datetime = utc_field()
    linked_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    linked_at: datetime = utc_field(default_now=True)
    source: str = Field(default="manual", max_length=16)  # manual | upload | suggestion | import


class LinkDismissal(SQLModel, table=True):
    """A suggested link the coordinator said was wrong; not suggested again."""

    __tablename__ = "link_dismissal"
    footage_id: int = Field(foreign_key="footage.id", primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    dismissed_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    dismissed_at: datetime = utc_field(default_now=True)


class Keyframe(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    footage_id: int = Field(foreign_key="footage.id", index=True)
    t: float
    reason: str = Field(max_length=32)
    image_key: str | None = Field(default=None, max_length=255)


class SegmentKind(StrEnum):
    dark = "dark"
    frozen = "frozen"


class Segment(SQLModel, table=True):
    """A stretch of a clip where the lens was dark/obstructed or the picture froze."""

    id: int | None = Field(default=None, primary_key=True)
    footage_id: int = Field(foreign_key="footage.id", index=True)
    kind: SegmentKind = enum_field(SegmentKind)
    start: float
    end: float


class Finding(SQLModel, table=True):
    """Something analysis noticed about the file itself (truncated, duration not as claimed...)."""

    id: int | None = Field(default=None, primary_key=True)
    footage_id: int = Field(foreign_key="footage.id", index=True)
    kind: str = Field(max_length=48)
    detail: str = Field(default="", max_length=1000)


class OutboxStatus(StrEnum):
    pending = "pending"
    sent = "sent"
    done = "done"


class OutboxJob(SQLModel, table=True):
    """A job written in the same transaction as the data it is about, published by the relay."""

    __tablename__ = "outbox_job"
    id: int | None = Field(default=None, primary_key=True)
    task_name: str = Field(max_length=64)
    args: list[Any] = json_field(list)
    status: OutboxStatus = enum_field(OutboxStatus, default=OutboxStatus.pending, index=True)
    created_at: datetime = utc_field(default_now=True)
    sent_at: datetime | None = utc_field(nullable=True)
    publish_attempts: int = 0
    last_error: str | None = Field(default=None, max_length=500)


class FootageTombstone(SQLModel, table=True):
    """What remains of purged footage: enough to prove what was held and why it went."""

    __tablename__ = "footage_tombstone"
    id: int | None = Field(default=None, primary_key=True)
    footage_id: int = Field(index=True)
    establishment_id: int = Field(index=True)
    sha256: str = Field(max_length=64)
    size_bytes: int = Field(sa_type=sa.BigInteger())
    original_filename: str = Field(max_length=255)
    purged_at: datetime = utc_field(default_now=True)
    purged_by: str = Field(max_length=64)
    reason: str = Field(max_length=500)


class UploadSession(SQLModel, table=True):
    """A resumable upload in progress (tus protocol): bytes so far and the metadata given at creation."""

    __tablename__ = "upload_session"
    id: str = Field(primary_key=True, max_length=64)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    length: int = Field(sa_type=sa.BigInteger())
    offset: int = Field(default=0, sa_type=sa.BigInteger())
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column("metadata", sa.JSON(), nullable=False))
    created_at: datetime = utc_field(default_now=True)
    updated_at: datetime = utc_field(default_now=True)
    completed_footage_id: int | None = Field(default=None, foreign_key="footage.id")
