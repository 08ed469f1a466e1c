"""RAG ratings (versioned, never edited), guidance, acknowledgements, templates and calibration."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import enum_field, json_field, utc_field


class Rag(StrEnum):
    green = "green"
    amber = "amber"
    red = "red"

    @property
    def severity(self) -> int:
        return {"green": 0, "amber": 1, "red": 2}[self.value]


GUIDANCE_GIVEN = "is_current AND NOT is_calibration AND rag IN ('amber', 'red')"
CURRENT = "is_current AND NOT is_calibration"


class Rating(SQLModel, table=True):
    """One version of a clip's rating. A re-rating is a new row that supersedes the old one."""

    __table_args__ = (
        sa.UniqueConstraint("footage_id", "version", "is_calibration"),
        # Every officer's guidance (current amber/red ratings) in one index: the reports' follow-up flags
        # read it without touching the table.
        sa.Index(
            "ix_rating_guidance_given",
            "establishment_id",
            "wearer_id",
            "rated_at",
            "recorded_at",
            postgresql_where=sa.text(GUIDANCE_GIVEN),
            sqlite_where=sa.text(GUIDANCE_GIVEN),
        ),
        # Which of an establishment's clips have a current rating, from the index alone: the review queue
        # reads the clips without one, and counts those with one, on every view.
        sa.Index(
            "ix_rating_current_footage",
            "establishment_id",
            "footage_id",
            postgresql_where=sa.text(CURRENT),
            sqlite_where=sa.text(CURRENT),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    footage_id: int = Field(foreign_key="footage.id", index=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    wearer_id: int | None = Field(default=None, foreign_key="staff_member.id", index=True)
    # The clip's `recording_started_at`, copied when the rating is written (a clip's recording time never
    # changes): "recorded after the first guidance" is then read from the rating alone.
    recorded_at: datetime = utc_field()
    version: int = 1
    rag: Rag = enum_field(Rag, index=True)
    criteria: dict[str, Any] = json_field(dict)
    guidance: str = Field(default="", max_length=5000)
    suggested_rag: Rag | None = enum_field(Rag, nullable=True)
    override_reason: str | None = Field(default=None, max_length=1000)
    rerating_reason: str | None = Field(default=None, max_length=1000)
    rated_by_user_id: int = Field(foreign_key="user.id", index=True)
    rated_at: datetime = utc_field(default_now=True, index=True)
    # The current rating of a clip is the one not superseded; calibration ratings never count as current.
    superseded_by_id: int | None = Field(default=None, foreign_key="rating.id")
    is_current: bool = Field(default=True, index=True)
    is_calibration: bool = False
    calibration_id: int | None = Field(default=None, index=True)


class Acknowledgement(SQLModel, table=True):
    """An officer's acknowledgement of the guidance in a rating, with an optional reply."""

    id: int | None = Field(default=None, primary_key=True)
    rating_id: int = Field(foreign_key="rating.id", unique=True, index=True)
    staff_member_id: int = Field(foreign_key="staff_member.id", index=True)
    acknowledged_at: datetime = utc_field(default_now=True)
    reply: str = Field(default="", max_length=2000)


class GuidanceTemplate(SQLModel, table=True):
    __tablename__ = "guidance_template"
    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int | None = Field(default=None, foreign_key="establishment.id", index=True)
    title: str = Field(max_length=120)
    text: str = Field(max_length=2000)
    rag: Rag | None = enum_field(Rag, nullable=True)
    # What the automatic checks found that this guidance is about (`rating.service.TEMPLATE_FINDINGS`), or None:
    # the rating form lists first the templates that fit the clip, and marks those about what it did not find.
    addresses: str | None = Field(default=None, max_length=24)


class CalibrationAssignment(SQLModel, table=True):
    """A clip sent for a blind second rating by another coordinator."""

    __tablename__ = "calibration_assignment"
    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    footage_id: int = Field(foreign_key="footage.id", index=True)
    first_rating_id: int = Field(foreign_key="rating.id")
    assigned_to_user_id: int = Field(foreign_key="user.id", index=True)
    requested_by_user_id: int = Field(foreign_key="user.id")
    requested_at: datetime = utc_field(default_now=True)
    completed_at: datetime | None = utc_field(nullable=True)
    note: str = Field(default="", max_length=500)
    extra: dict[str, Any] = json_field(dict)
