"""The metadata every table shares, with stable constraint names so Alembic diffs stay clean."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from app.core.db import NAMING_CONVENTION
from app.core.types import UTCDateTime, utcnow

SQLModel.metadata.naming_convention = NAMING_CONVENTION


def utc_field(*, nullable: bool = False, index: bool = False, default_now: bool = False, **kw: Any) -> Any:
    """A timezone-aware UTC timestamp column."""
    if default_now:
        kw["default_factory"] = utcnow
    elif nullable:
        kw.setdefault("default", None)
    return Field(sa_type=UTCDateTime(), nullable=nullable, index=index, **kw)


def json_field(default_factory: Any = list) -> Any:
    return Field(default_factory=default_factory, sa_type=sa.JSON(), nullable=False)


def enum_field(enum_cls: Any, *, default: Any = None, nullable: bool = False, index: bool = False) -> Any:
    """Enums are stored as short strings (portable across SQLite and PostgreSQL, easy to extend)."""
    kwargs: dict[str, Any] = {"nullable": nullable, "index": index}
    if default is not None:
        kwargs["default"] = default
    return Field(
        sa_type=sa.Enum(enum_cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e]),
        **kwargs,
    )


__all__ = ["SQLModel", "Field", "utc_field", "json_field", "enum_field", "datetime"]
