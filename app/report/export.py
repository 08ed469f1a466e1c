"""The compliance summary as CSV: one figure a row (section, figure, group, value), easy to filter in a
spreadsheet and to check by machine. Shares are fractions (0.8 = 80%), lags in seconds, waits in hours."""

from __future__ import annotations

import csv
import io
from typing import Any

from app.core.csvsafe import safe_row
from app.report.schemas import ComplianceSummary
from app.report.sql import tz

CSV_COLUMNS = ["section", "figure", "group", "value"]


def officer_labels(summary: ComplianceSummary, anonymise: bool) -> list[str]:
    """How flagged officers are named: by name and staff number, or "Officer 1", "Officer 2"..."""
    if anonymise:
        return [f"Officer {i}" for i in range(1, len(summary.officers_flagged) + 1)]
    return [f"{o.name} ({o.staff_number})" for o in summary.officers_flagged]


def _v(x: Any) -> Any:
    if x is None:
        return ""
    if isinstance(x, float):
        return round(x, 6)
    return x


def summary_rows(summary: ComplianceSummary, anonymise: bool = False) -> list[list[Any]]:
    s = summary
    rows: list[list[Any]] = [
        ["summary", "establishment", "", s.establishment_name],
        ["summary", "period_from", "", s.period_from.isoformat()],
        ["summary", "period_to", "", s.period_to.isoformat()],
        ["summary", "incidents", "", s.incidents],
        ["summary", "incidents_with_footage", "", s.incidents_with_footage],
        ["summary", "share_with_footage", "", _v(s.share_with_footage)],
        ["summary", "incidents_with_officers", "", s.incidents_with_officers],
        ["summary", "incidents_all_on_before_force", "", s.incidents_all_on_before_force],
        ["summary", "share_all_on_before_force", "", _v(s.share_all_on_before_force)],
        ["summary", "officer_checks", "", s.officer_checks],
        ["summary", "median_lag_s", "", _v(s.median_lag_s)],
        ["summary", "p90_lag_s", "", _v(s.p90_lag_s)],
        ["summary", "mean_coverage", "", _v(s.mean_coverage)],
        ["summary", "backlog", "", s.backlog],
        ["summary", "median_hours_to_rating", "", _v(s.median_hours_to_rating)],
        ["summary", "unacknowledged", "", s.unacknowledged],
        ["summary", "unacknowledged_overdue", "", s.unacknowledged_overdue],
        ["summary", "officers_flagged", "", len(s.officers_flagged)],
    ]
    for k, v in s.activation.model_dump().items():
        rows.append(["activation", k, "", v])
    for k, v in s.rag.model_dump().items():
        rows.append(["rag", k, "", v])
    for b in s.breakdowns:
        for r in b.rows:
            rows.append([f"breakdown:{b.name}", "incidents", r.group, r.incidents])
            rows.append([f"breakdown:{b.name}", "share_of_incidents", r.group, _v(r.share_of_incidents)])
            rows.append([f"breakdown:{b.name}", "share_with_footage", r.group, _v(r.share_with_footage)])
            rows.append([f"breakdown:{b.name}", "share_all_on_before_force", r.group, _v(r.share_all_on_before_force)])
    for t in s.trend:
        rows.append(["trend", "incidents", t.month, t.incidents])
        rows.append(["trend", "share_with_footage", t.month, _v(t.share_with_footage)])
        rows.append(["trend", "share_all_on_before_force", t.month, _v(t.share_all_on_before_force)])
        rows.append(["trend", "median_lag_s", t.month, _v(t.median_lag_s)])
        for k, v in t.rag.model_dump().items():
            rows.append(["trend", f"rag_{k}", t.month, v])
    for label, o in zip(officer_labels(s, anonymise), s.officers_flagged, strict=True):
        rows.append(["officers_flagged", "non_green_after_guidance", label, o.non_green_after_guidance])
        rows.append(
            ["officers_flagged", "first_guidance_at", label, o.first_guidance_at.astimezone(tz()).date().isoformat()]
        )
    return rows


def to_csv(summary: ComplianceSummary, anonymise: bool = False) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_COLUMNS)
    w.writerows(safe_row(row) for row in summary_rows(summary, anonymise))
    return buf.getvalue()
