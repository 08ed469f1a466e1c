"""Use-of-force incidents: the window, the force window, who was involved and who force was used on."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import field_validator, model_validator
from sqlmodel import Field, SQLModel

from app.core.models import enum_field, json_field, utc_field
from app.core.types import instant_problem


class ForceType(StrEnum):
    guiding_hold = "guiding_hold"
    control_and_restraint = "control_and_restraint"
    physical_intervention = "physical_intervention"
    handcuffs = "handcuffs"
    pava = "pava"
    baton = "baton"
    taser = "taser"
    shield = "shield"
    other = "other"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize().replace("Pava", "PAVA")


TIME_NAMES = ("incident_started_at", "force_started_at", "force_ended_at", "incident_ended_at")


def _check_instants(model: Any) -> None:
    for name in TIME_NAMES:
        value = getattr(model, name)
        if isinstance(value, datetime) and (problem := instant_problem(value)):
            raise ValueError(f"{name} {problem}")


class IncidentBase(SQLModel):
    # Letters, numbers and / - _ . : checked for new incidents by app.incident.service.reference_problem
    # (API, form, import), not here, so reading back an older record never fails validation.
    reference: str = Field(min_length=1, max_length=40)
    location: str = Field(min_length=1, max_length=120, description="Wing, cell, reception, yard...")
    incident_started_at: datetime = utc_field()
    force_started_at: datetime = utc_field()
    force_ended_at: datetime = utc_field()
    incident_ended_at: datetime = utc_field()
    planned: bool = False
    force_types: list[str] = json_field(list)
    description: str = Field(default="", max_length=5000)

    @model_validator(mode="after")
    def _times_in_order(self) -> Any:
        _check_instants(self)
        times = [self.incident_started_at, self.force_started_at, self.force_ended_at, self.incident_ended_at]
        if all(isinstance(t, datetime) for t in times) and not (times[0] <= times[1] <= times[2] <= times[3]):
            raise ValueError("times must be in order: incident start <= force started <= force ended <= incident end")
        return self


class Incident(IncidentBase, table=True):
    __table_args__ = (
        sa.UniqueConstraint("establishment_id", "reference"),
        # The reports read one establishment's incidents by when force began.
        sa.Index("ix_incident_establishment_id_force_started_at", "establishment_id", "force_started_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    force_started_at: datetime = utc_field(index=True)
    created_at: datetime = utc_field(default_now=True)
    created_by_user_id: int | None = Field(default=None, foreign_key="user.id")


class IncidentStaff(SQLModel, table=True):
    """An officer involved in an incident, with their part (e.g. head, left arm, supervisor)."""

    __tablename__ = "incident_staff"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    staff_member_id: int = Field(foreign_key="staff_member.id", primary_key=True, index=True)
    part: str = Field(default="", max_length=64)


class IncidentCamera(SQLModel, table=True):
    """A camera named on the incident report (used for suggested links)."""

    __tablename__ = "incident_camera"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    camera_id: int = Field(foreign_key="camera.id", primary_key=True, index=True)


class SubjectBase(SQLModel):
    """The person force was used on: a prison number or reference, never a name."""

    reference: str = Field(min_length=1, max_length=32)
    ethnicity: str | None = Field(default=None, max_length=64)
    age_band: str | None = Field(default=None, max_length=16)
    sex: str | None = Field(default=None, max_length=16)
    disability: str | None = Field(default=None, max_length=64)

    @field_validator("ethnicity", "age_band", "sex", "disability", mode="before")
    @classmethod
    def _blank_is_not_recorded(cls, value: object) -> object:
        """Blank means not recorded, stored as NULL as the pages and the CSV import store it."""
        if isinstance(value, str):
            return value.strip() or None
        return value


class IncidentSubject(SubjectBase, table=True):
    __tablename__ = "incident_subject"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True, ondelete="CASCADE")


class InvolvedStaffIn(SQLModel):
    staff_number: str = Field(min_length=1, max_length=32)
    part: str = Field(default="", max_length=64)


class IncidentCreate(IncidentBase):
    staff: list[InvolvedStaffIn] = Field(default_factory=list)
    subjects: list[SubjectBase] = Field(default_factory=list)
    camera_serials: list[str] = Field(default_factory=list)


class IncidentUpdate(SQLModel):
    location: str | None = Field(default=None, min_length=1, max_length=120)
    incident_started_at: datetime | None = None
    force_started_at: datetime | None = None
    force_ended_at: datetime | None = None
    incident_ended_at: datetime | None = None
    planned: bool | None = None
    force_types: list[str] | None = None
    description: str | None = Field(default=None, max_length=5000)
    staff: list[InvolvedStaffIn] | None = None
    reason: str = Field(min_length=3, max_length=500, description="Why the record is being changed")

    @model_validator(mode="after")
    def _instants(self) -> Any:
        _check_instants(self)
        return self


class InvolvedStaffPublic(SQLModel):
    staff_number: str
    name: str
    part: str


class IncidentPublic(IncidentBase):
    id: int
    establishment_id: int
    staff: list[InvolvedStaffPublic] = Field(default_factory=list)
    subjects: list[SubjectBase] = Field(default_factory=list)
    footage_ids: list[int] = Field(default_factory=list)


class ActivationStatus(StrEnum):
    before_force = "before_force"
    late = "late"
    after_force = "after_force"
    no_footage = "no_footage"


class ActivationResult(SQLModel, table=True):
    """The activation check for one officer in one incident; recomputed whenever times or links change."""

    __tablename__ = "activation_result"
    __table_args__ = (
        sa.Index("ix_activation_result_establishment_id_force_started_at", "establishment_id", "force_started_at"),
        # Each officer's checks, read from the index alone on PostgreSQL: the officers' list takes every
        # officer's median activation lag over all their checks (a heap read a check took 0.5 s of its 1.2 s
        # at 300,000 checks; bench/pages.py).
        sa.Index(
            "ix_activation_result_staff_member_id_lag_s", "staff_member_id", "lag_s", postgresql_include=["status"]
        ),
    )
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    staff_member_id: int = Field(foreign_key="staff_member.id", primary_key=True)
    # The incident's establishment and force start, copied by `recompute` (which runs in the same transaction
    # as every change to the incident, like the lag measured from that moment): the reports read a period's
    # checks by this index without joining the incidents.
    establishment_id: int = Field(foreign_key="establishment.id")
    force_started_at: datetime = utc_field()
    status: ActivationStatus = enum_field(ActivationStatus, index=True)
    lag_s: float | None = None
    activated_at: datetime | None = utc_field(nullable=True)
    caught_by_prerecord: bool = False
    coverage: float = 0.0
    stopped_early: bool = False
    gaps: list[dict[str, Any]] = json_field(list)
    compliant: bool = False
    computed_at: datetime = utc_field(default_now=True)


class NoFootageReason(StrEnum):
    """Why an officer involved in an incident has no footage of it, as the coordinator found out."""

    not_switched_on = "not_switched_on"
    no_camera = "no_camera"
    camera_fault = "camera_fault"
    footage_lost = "footage_lost"
    other = "other"

    @property
    def label(self) -> str:
        return {
            "not_switched_on": "Wearing a camera, but did not switch it on",
            "no_camera": "No camera was issued or worn",
            "camera_fault": "The camera failed (battery, fault, storage full)",
            "footage_lost": "Recorded, but the footage was not kept or was lost",
            "other": "Another reason",
        }[self.value]


class NoFootageExplanation(SQLModel, table=True):
    """Why an involved officer has no footage of an incident: recorded by a coordinator, changed in place
    (each change audited, with what it replaced). The officer's activation check stays "no footage": an
    explanation says why, it does not excuse it in the figures."""

    __tablename__ = "no_footage_explanation"
    incident_id: int = Field(foreign_key="incident.id", primary_key=True, ondelete="CASCADE")
    staff_member_id: int = Field(foreign_key="staff_member.id", primary_key=True, index=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    reason: NoFootageReason = enum_field(NoFootageReason)
    note: str = Field(default="", max_length=500)
    recorded_by_user_id: int | None = Field(default=None, foreign_key="user.id")
    recorded_at: datetime = utc_field(default_now=True)
