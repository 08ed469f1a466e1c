"""Every form that posts carries the page's CSRF token. `csrf_field` is an imported macro, which cannot see
the page's context: called without the token it used to write an empty one, and every submit was refused as
forged (officers could not acknowledge guidance, governors could not download the compliance pack)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from jinja2 import Template

from app.core.templates import TEMPLATES_DIR, templates


def test_every_template_passes_the_token_to_csrf_field() -> None:
    calls = {
        f"{path.relative_to(TEMPLATES_DIR)}: {call}"
        for path in Path(TEMPLATES_DIR).rglob("*.html")
        if path.relative_to(TEMPLATES_DIR).as_posix() != "macros/forms.html"  # where it is defined
        for call in re.findall(r"csrf_field\([^)]*\)", path.read_text(encoding="utf-8"))
    }
    assert len(calls) > 10, calls
    assert {c for c in calls if not c.endswith("csrf_field(csrf_token)")} == set()


def test_csrf_field_without_a_token_fails_to_render() -> None:
    page: Template = templates.env.from_string('{% from "macros/forms.html" import csrf_field %}{{ csrf_field(x) }}')
    assert page.render(x="tok-123") == '<input type="hidden" name="csrf_token" value="tok-123">'
    for missing in ({}, {"x": ""}, {"x": None}):
        with pytest.raises(ValueError, match="needs the page's csrf_token"):
            page.render(**missing)
