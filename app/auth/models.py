"""Users, their sessions (browser cookies and API bearer tokens) and sign-in attempts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import field_validator, model_validator
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
# Passwords long enough that no shorter list is of use, and among the first that are tried (the NCSC advises
# refusing the most common ones). Compared in lower case, spaces ignored.
COMMON_PASSWORDS = frozenset(
    """password1234 password12345 password123456 passwordpassword password123! p@ssword1234
    p@ssw0rd1234 passw0rd1234 123456789012 1234567890123 12345678901234 123456123456 098765432109 012345678901
    qwertyuiop12 qwerty123456 qwertyuiopas qwertyuiopasdf 1q2w3e4r5t6y 1qaz2wsx3edc q1w2e3r4t5y6 asdfghjkl123
    abcdefghijkl abc123456789 abcd12345678 iloveyou1234 welcome12345 welcome123456 changeme1234 letmein12345
    administrator administrator1 admin1234567 adminadmin12 trustno11234 football1234 sunshine1234 monkey123456
    princess1234 starwars1234 superman1234 baseball1234 dragon123456 master123456 liverpool123 liverpoolfc1
    chelsea12345 arsenal12345 manchester12 unitedkingdom england12345 london123456 prison123456
    prisonofficer bodyworncamera bodyworn1234 useofforce12 hmprison1234 summer123456 winter123456""".split()
)


def password_problem(password: str, username: str | None = None) -> str | None:
    """Why a new password cannot be used, to follow "The password " (None if it can): its length, only spaces,
    fewer than 4 different characters, the username inside it, or one of the most common passwords."""
    if len(password) < PASSWORD_MIN:
        return f"must be at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"must be {PASSWORD_MAX} characters or fewer"
    if not password.strip():
        return "cannot be only spaces"
    plain = "".join(password.lower().split())
    if len(set(plain)) < 4:
        return "is too easy to guess: it repeats a few characters. Three random words make a strong password"
    if username and len(username) >= 3 and username.lower() in plain:
        return "must not contain the username"
    if plain in COMMON_PASSWORDS:
        return "is one of the most common passwords. Three random words make a strong password"
    return None


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

    @model_validator(mode="after")
    def _strong_enough(self) -> UserCreate:
        problem = password_problem(self.password, self.username)
        if problem:
            raise ValueError(f"the password {problem}")
        return self


class UserUpdate(SQLModel):
    """An administrator's change to a user: turn their sign-in off or on, give them a new password. Either ends
    their sessions and API tokens (turning on ends none)."""

    model_config = {"extra": "forbid"}  # type: ignore[assignment]
    active: bool | None = None
    password: str | None = Field(default=None, min_length=PASSWORD_MIN, max_length=PASSWORD_MAX)

    @field_validator("password")
    @classmethod
    def _strong_enough(cls, value: str | None) -> str | None:
        problem = None if value is None else password_problem(value)
        if problem:
            raise ValueError(f"the password {problem}")
        return value


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
