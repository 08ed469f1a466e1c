"""Users, their sessions (browser cookies and API bearer tokens) and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.models import enum_field, utc_field


class Role(StrEnum):
    admin = "admin"
    coordinator = "coordinator"
    staff = "staff"
    governor = "governor"

    @property
    def label(self) -> str:
        return {
            "admin": "Administrator",
            "coordinator": "Use of force coordinator",
            "staff": "Officer",
            "governor": "Governor",
        }[self.value]


# SQLModel passes `regex=` nowhere (pydantic 2 calls it `pattern`): patterns go in schema_extra.
USERNAME_PATTERN = r"^[a-z0-9._\-]{3,64}$"
PASSWORD_MIN = 12
PASSWORD_MAX = 256  # the sign-in form takes up to 1,024


class UserBase(SQLModel):
    username: str = Field(min_length=3, max_length=64, schema_extra={"pattern": USERNAME_PATTERN})
    display_name: str = Field(min_length=1, max_length=120)
    role: Role = enum_field(Role)
    establishment_id: int | None = Field(default=None, foreign_key="establishment.id", index=True)
    staff_member_id: int | None = Field(default=None, foreign_key="staff_member.id", index=True)


class User(UserBase, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    password_hash: str = Field(max_length=255)
    active: bool = True
    created_at: datetime = utc_field(default_now=True)
    last_sign_in_at: datetime | None = utc_field(nullable=True)


class UserCreate(UserBase):
    password: str = Field(min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class UserUpdate(SQLModel):
    """An administrator's change to a user: turn their sign-in off or on, give them a new password. Either ends
    their sessions and API tokens (turning on ends none)."""

    model_config = {"extra": "forbid"}  # type: ignore[assignment]
    active: bool | None = None
    password: str | None = Field(default=None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)


class UserPublic(UserBase):
    id: int
    active: bool


class SessionKind(StrEnum):
    browser = "browser"
    api = "api"


class UserSession(SQLModel, table=True):
    """A signed-in browser session or an API token. Only the SHA-256 of the secret is stored."""

    __tablename__ = "user_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    kind: SessionKind = enum_field(SessionKind)
    user_id: int = Field(foreign_key="user.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime = utc_field(default_now=True)
    last_seen_at: datetime = utc_field(default_now=True)
    ended_at: datetime | None = utc_field(nullable=True)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=255)


class SignInAttempt(SQLModel, table=True):
    __tablename__ = "sign_in_attempt"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = utc_field(default_now=True, index=True)
    username: str = Field(max_length=255, index=True)
    ip: str | None = Field(default=None, max_length=64, index=True)
    succeeded: bool = False
