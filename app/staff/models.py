"""Staff members: the officers who wear cameras and are involved in incidents."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.models import utc_field


class StaffMemberBase(SQLModel):
    staff_number: str = Field(min_length=1, max_length=32, schema_extra={"pattern": r"^[A-Za-z0-9\-]+$"})  # not regex=
    name: str = Field(min_length=1, max_length=120)
    active: bool = True


class StaffMember(StaffMemberBase, table=True):
    __tablename__ = "staff_member"
    __table_args__ = (sa.UniqueConstraint("establishment_id", "staff_number"),)
    id: int | None = Field(default=None, primary_key=True)
    establishment_id: int = Field(foreign_key="establishment.id", index=True)
    created_at: datetime = utc_field(default_now=True)


class StaffMemberCreate(StaffMemberBase):
    pass


class StaffMemberPublic(StaffMemberBase):
    id: int
    establishment_id: int
