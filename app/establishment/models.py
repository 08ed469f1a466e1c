"""Establishments (prisons, YOIs, court custody, secure children's homes...) and their cameras."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.core.models import enum_field, utc_field


class EstablishmentKind(StrEnum):
    prison = "prison"
    yoi = "young_offender_institution"
    court_custody = "court_custody"
    secure_childrens_home = "secure_childrens_home"
    secure_hospital = "secure_hospital"
    irc = "immigration_removal_centre"

    @property
    def label(self) -> str:
        return {
            "prison": "Prison",
            "young_offender_institution": "Young offender institution",
            "court_custody": "Court custody",
            "secure_childrens_home": "Secure children's home",
            "secure_hospital": "Secure hospital",
            "immigration_removal_centre": "Immigration removal centre",
        }[self.value]


class EstablishmentBase(SQLModel):
    code: str = Field(
        min_length=2,
        max_length=10,
        schema_extra={"pattern": r"^[A-Z0-9]+$"},  # not regex=: SQLModel drops it
        description="e.g. LPI for HMP Liverpool",
    )
    name: str = Field(min_length=2, max_length=120)
    kind: EstablishmentKind = enum_field(EstablishmentKind, default=EstablishmentKind.prison)


class Establishment(EstablishmentBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=10, unique=True, index=True)
    # Share of footage that must be reviewed, and the seed that makes the sample reproducible.
    review_sample_percent: int = Field(default=100, ge=1, le=100)
    review_sample_seed: int = Field(default=0)
    created_at: datetime = utc_field(default_now=True)


class EstablishmentCreate(EstablishmentBase):
    @field_validator("name")
    @classmethod
    def _tidy(cls, value: str) -> str:
        """Stored as people see it: outer spaces off, runs of spaces as one ("HMP Beta " is "HMP Beta")."""
        return " ".join(value.split())


class EstablishmentUpdate(SQLModel):
    """An administrator's correction: the name (a renamed establishment) or the kind. The code stays: reports,
    CSV files and links name the establishment by it."""

    model_config = {"extra": "forbid"}  # type: ignore[assignment]
    name: str | None = Field(default=None, min_length=2, max_length=120)
    kind: EstablishmentKind | None = None


class EstablishmentPublic(EstablishmentBase):
    id: int
    review_sample_percent: int


class CameraBase(SQLModel):
    serial: str = Field(min_length=1, max_length=64, description="Serial number or device id of the camera")
    label: str | None = Field(default=None, max_length=120)


class Camera(CameraBase, table=True):
    __table_args__ = (sa.UniqueConstraint("establishment_id", "serial"),)
    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    active: bool = True
    created_at: datetime = utc_field(default_now=True)


class CameraCreate(CameraBase):
    pass


class CameraPublic(CameraBase):
    id: int
    establishment_id: int
    active: bool
