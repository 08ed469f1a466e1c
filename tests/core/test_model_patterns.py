"""Pattern constraints on the model families are enforced. SQLModel's `Field(regex=...)` is silently dropped
(pydantic 2 calls it `pattern`, and SQLModel's Field has no such argument): it must not come back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.auth.models import UserCreate
from app.establishment.models import EstablishmentCreate
from app.staff.models import StaffMemberCreate

APP = Path(__file__).resolve().parents[2] / "app"


@pytest.mark.parametrize(
    ("model", "good", "bad"),
    [
        (UserCreate, {"username": "officer.a-1_b"}, {"username": "Not A Name!"}),
        (UserCreate, {"username": "officer.a-1_b"}, {"username": "../etc"}),
        (EstablishmentCreate, {"code": "LPI"}, {"code": "l p"}),
        (StaffMemberCreate, {"staff_number": "A-001"}, {"staff_number": "A 001/.."}),
    ],
)
def test_patterns_are_enforced(model, good, bad) -> None:  # type: ignore[no-untyped-def]
    base = {
        UserCreate: {"display_name": "X", "role": "admin", "password": "long-enough-password"},
        EstablishmentCreate: {"name": "HMP Example"},
        StaffMemberCreate: {"name": "Officer"},
    }[model]
    model(**base, **good)
    with pytest.raises(ValidationError, match="pattern"):
        model(**base, **bad)
    field = next(iter(bad))
    assert "pattern" in model.model_json_schema()["properties"][field], "the OpenAPI schema says so too"


def test_no_field_uses_regex() -> None:
    offenders = [
        str(path.relative_to(APP))
        for path in APP.rglob("*.py")
        if re.search(r"\bregex\s*=\s*r?[\"']", path.read_text())
    ]
    assert offenders == [], f"Field(regex=...) is ignored by SQLModel; use schema_extra={{'pattern': ...}}: {offenders}"
