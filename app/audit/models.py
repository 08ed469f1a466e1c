"""The append-only audit trail. Each entry carries the hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Field, SQLModel

from app.core.models import json_field, utc_field


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(default_now=True, index=True)
    actor_user_id: int | None = Field(default=None, index=True)
    actor_username: str | None = Field(default=None, max_length=64)
    actor_role: str | None = Field(default=None, max_length=32)
    establishment_id: int | None = Field(default=None, index=True)
    action: str = Field(max_length=64, index=True)
    object_type: str | None = Field(default=None, max_length=32)
    object_id: str | None = Field(default=None, max_length=64)
    outcome: str = Field(default="ok", max_length=16)
    reason: str | None = Field(default=None, max_length=1000)
    ip: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = json_field(dict)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)


class AuditHead(SQLModel, table=True):
    """One row: the end of the chain. Updating it serialises writers so the chain stays linear."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    last_id: int = 0
    last_hash: str = Field(max_length=64)
