"""CSV cells that a spreadsheet will not run as formulas (CSV injection, OWASP).

Anything a person can type can end up in an export: a username tried at sign-in, a reason, a location.
Excel, LibreOffice and Google Sheets treat a cell that starts with = + - @ (or a tab or carriage return
in front of one) as a formula, which can fetch URLs or run commands. Such text is written with a leading
apostrophe, so it shows as the text it is. Numbers are left alone (a negative figure stays a number).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

# Written first in every CSV download: Excel opens a UTF-8 file without it in the computer's old code page,
# and "–" or "Siobhán" come out as "â€“" and "SiobhÃ¡n". LibreOffice, Google Sheets and pandas read past it;
# Python's csv module reads it with encoding="utf-8-sig".
BOM = "\ufeff"

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")  # and full-width


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(v) for v in values]
