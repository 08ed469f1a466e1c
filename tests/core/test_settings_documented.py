""".env.example documents every setting of app/core/config.py, with the defaults it claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import AliasChoices

from app.core.config import Settings

ENV_EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
# `NAME=value`, or commented out as `# NAME=value`.
ASSIGNMENT = re.compile(r"^(#\s*)?([A-Z][A-Z0-9_]*)=(.*)$")


def _env_names(name: str) -> list[str]:
    """The environment variables that set one field (its alias choices, else BWV_<NAME>)."""
    alias = Settings.model_fields[name].validation_alias
    if isinstance(alias, AliasChoices):
        return [str(a) for a in alias.choices]
    if isinstance(alias, str):
        return [alias]
    prefix = Settings.model_config.get("env_prefix") or ""
    return [f"{prefix}{name}".upper()]


def _blocks() -> list[list[str]]:
    """Lines of .env.example in blank-line separated blocks."""
    blocks: list[list[str]] = [[]]
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _assignments() -> dict[str, tuple[bool, str]]:
    """NAME -> (active, value) for every NAME=value line, commented out or not."""
    found: dict[str, tuple[bool, str]] = {}
    for block in _blocks():
        for line in block:
            m = ASSIGNMENT.match(line)
            if m:
                found[m.group(2)] = (m.group(1) is None, m.group(3))
    return found


def test_every_setting_is_in_env_example() -> None:
    documented = _assignments()
    missing = [
        _env_names(name)[0] for name in Settings.model_fields if not any(n in documented for n in _env_names(name))
    ]
    assert missing == [], f"settings missing from .env.example (add each with a comment): {missing}"


def test_env_example_names_only_real_settings() -> None:
    known = {n for name in Settings.model_fields for n in _env_names(name)}
    unknown = sorted(set(_assignments()) - known)
    assert unknown == [], f".env.example names settings that app/core/config.py does not read: {unknown}"


def test_every_setting_in_env_example_has_a_comment() -> None:
    """Each NAME=value sits in a block with at least one explanatory comment line."""
    bare = []
    for block in _blocks():
        prose = [line for line in block if line.startswith("#") and not ASSIGNMENT.match(line)]
        if not prose:
            bare += [m.group(2) for line in block if (m := ASSIGNMENT.match(line))]
    assert bare == [], f"settings in .env.example without a comment: {bare}"


def test_env_example_values_are_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """The file says its values are the defaults; copying it unchanged must not change behaviour
    (apart from the secret key, which has to be set)."""
    for name in Settings.model_fields:
        for env in _env_names(name):
            monkeypatch.delenv(env, raising=False)  # the test run's own settings would win over the file
    active = {name for name, (on, _) in _assignments().items() if on}
    from_file = Settings(_env_file=ENV_EXAMPLE)  # type: ignore[call-arg]
    differ = {}
    for name, info in Settings.model_fields.items():
        if name == "secret_key" or not any(n in active for n in _env_names(name)):
            continue
        if getattr(from_file, name) != info.get_default(call_default_factory=True):
            differ[name] = (getattr(from_file, name), info.get_default(call_default_factory=True))
    assert differ == {}, f".env.example value != default (value, default): {differ}"
    assert len(active) >= 30  # the file was read, not silently ignored
