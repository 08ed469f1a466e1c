"""The compliance summary as a PDF pack for the monthly use-of-force meeting.

The pack is HTML and CSS (`report/compliance_pack.html`) laid out by WeasyPrint as a tagged PDF (PDF/UA-1):
headings, paragraphs and tables with header cells in the document's structure, the charts as figures with a
text alternative, the language (en-GB) and the title, so a screen reader reads it as it reads the page. Public
bodies' documents must be accessible; reportlab, used before, could not tag a PDF.

Optionally anonymised (officers as "Officer 1", "Officer 2"...) for packs shared with prisoner
representatives. The charts are SVG drawn here: nothing outside the process is fetched.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from html import escape
from math import ceil
from typing import Any
from zoneinfo import ZoneInfo

from app.core.config import get_settings
from app.core.localtime import month_title
from app.core.templates import percent, templates
from app.report.export import officer_labels
from app.report.schemas import ComplianceSummary, TrendMonth

GREEN, AMBER, RED, BLUE = "#00703c", "#f47738", "#d4351c", "#1d70b8"
INK, GREY, RULE = "#0b0c0c", "#505a5f", "#b1b4b6"
FONT = "Liberation Sans, Arial, Helvetica, sans-serif"

DEFINITIONS = [
    ("Incidents with force", "incidents whose force began in the period (London dates, both days included)."),
    ("With any footage", "at least one clip is linked to the incident."),
    (
        "Every camera on before force",
        "every involved officer's camera was switched on before force began. Incidents with no involved "
        "officer recorded are left out of this share.",
    ),
    (
        "Activation lag",
        "camera switched on minus force began, in seconds; negative means before force. Officers with no "
        "footage have no lag and are counted as 'no footage'.",
    ),
    ("Coverage", "the mean share of the force window on video per involved officer (no footage counts as 0)."),
    ("RAG mix", "current ratings (not superseded, not calibration) of clips linked to the period's incidents."),
    ("Backlog", "analysed clips linked to the period's incidents with no current rating."),
    ("Time to rating", "per clip, first rating minus the time force began; the median, in hours."),
    ("Unacknowledged", "current amber/red ratings the officer has not acknowledged."),
    (
        "Month by month",
        "incidents in the month their force began; each clip's current rating once, in the month of the "
        "first incident it is linked to.",
    ),
    (
        "Officers flagged",
        "at least 2 current non-green ratings of footage recorded after the officer's first guidance, one "
        "of them recorded in the period.",
    ),
]


def secs(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f} s"


def hours(x: float | None) -> str:
    return "–" if x is None else f"{x:.1f} h"


@dataclass
class Chart:
    """An SVG chart as an image for the pack: `src` (a data: URL), `alt` (what it shows, in words)."""

    title: str
    src: str
    alt: str


# ---------------------------------------------------------------- charts
W, H = 640, 180  # the drawing's own units; the pack scales it to the text width
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 26


def _svg(body: list[str]) -> str:
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" '
        f'font-family="{FONT}" font-size="11" fill="{INK}">' + "".join(body) + "</svg>"
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _axes(labels: list[str], ticks: list[tuple[float, str]]) -> tuple[list[str], list[float], float]:
    """Horizontal grid lines with their values on the left, month labels below; the x of each month's middle
    and the width of its slot."""
    body: list[str] = []
    plot_h = H - TOP - BOTTOM
    for frac, text in ticks:
        y = TOP + plot_h * (1 - frac)
        line = f'x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"'
        body.append(f'<line {line} stroke="{RULE}" stroke-width="0.6"/>')
        body.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="{GREY}">{escape(text)}</text>')
    slot = (W - LEFT - RIGHT) / max(len(labels), 1)
    xs = [LEFT + slot * (i + 0.5) for i in range(len(labels))]
    for x, text in zip(xs, labels, strict=True):
        body.append(f'<text x="{x:.1f}" y="{H - 8}" text-anchor="middle" fill="{GREY}">{escape(text)}</text>')
    return body, xs, slot


def _nice_max(n: int) -> tuple[int, int]:
    """An axis top at or above `n`, and its step, in 2 to 5 steps of 1, 2, 5, 10, 20, 50..."""
    if n <= 0:
        return 1, 1
    step = 1
    while ceil(n / step) > 5:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return ceil(n / step) * step, step


def ratings_chart(trend: list[TrendMonth]) -> Chart:
    """Green, amber and red ratings stacked, month by month."""
    labels = [month_title(t.month, "%b %y") for t in trend]  # "Nov 26", not "26-11"
    top, step = _nice_max(max((t.rag.green + t.rag.amber + t.rag.red for t in trend), default=0))
    ticks = [(v / top, str(v)) for v in range(0, top + 1, step)]
    body, xs, slot = _axes(labels, ticks)
    plot_h = H - TOP - BOTTOM
    bar = min(slot * 0.6, 36)
    for x, t in zip(xs, trend, strict=True):
        base = 0
        for value, colour in ((t.rag.green, GREEN), (t.rag.amber, AMBER), (t.rag.red, RED)):
            if value:
                y0 = TOP + plot_h * (1 - (base + value) / top)
                body.append(
                    f'<rect x="{x - bar / 2:.1f}" y="{y0:.1f}" width="{bar:.1f}" '
                    f'height="{plot_h * value / top:.1f}" fill="{colour}"/>'
                )
                base += value
    alt = (
        (
            f"Stacked bars of green, amber and red ratings for each month from {month_title(trend[0].month)} to "
            f"{month_title(trend[-1].month)}, by month of incident. The figures are in the table 'Last 12 months'."
        )
        if trend
        else "No months to show."
    )
    return Chart("Ratings by month of incident", _svg(body), alt)


def cameras_chart(trend: list[TrendMonth]) -> Chart | None:
    """Every officer's camera on before force, month by month, as on the page: a gap where a month had no
    incident with officers recorded. None with fewer than two months to join."""
    shares = [t.share_all_on_before_force for t in trend]
    if sum(s is not None for s in shares) < 2:
        return None
    labels = [month_title(t.month, "%b %y") for t in trend]
    body, xs, _slot = _axes(labels, [(v / 100, f"{v}%") for v in (0, 25, 50, 75, 100)])
    plot_h = H - TOP - BOTTOM
    points = [(x, TOP + plot_h * (1 - s)) if s is not None else None for x, s in zip(xs, shares, strict=True)]
    run: list[tuple[float, float]] = []
    for p in [*points, None]:
        if p is None:
            if len(run) > 1:
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in run)
                body.append(f'<polyline points="{path}" fill="none" stroke="{BLUE}" stroke-width="2"/>')
            run = []
        else:
            run.append(p)
    for p in points:
        if p is not None:
            body.append(f'<circle cx="{p[0]:.1f}" cy="{p[1]:.1f}" r="3.2" fill="{BLUE}"/>')
    alt = (
        f"A line of the share of incidents where every involved officer's camera was on before force, for each "
        f"month from {month_title(trend[0].month)} to {month_title(trend[-1].month)}; months with no incident "
        "with officers recorded are left as gaps. The figures are in the table 'Last 12 months'."
    )
    return Chart("Every officer's camera on before force, by month of incident", _svg(body), alt)


# ---------------------------------------------------------------- the pack
def pack_html(summary: ComplianceSummary, *, anonymise: bool = False, prepared_by: str = "") -> str:
    s = summary
    tz = ZoneInfo(get_settings().timezone)
    labels = officer_labels(s, anonymise)
    context: dict[str, Any] = {
        "s": s,
        "title": f"Use of force: body-worn video compliance - {s.establishment_name}",
        "produced": f"{s.generated_at.astimezone(tz):%-d %B %Y %H:%M}",
        "prepared_by": prepared_by,
        "anonymise": anonymise,
        "key_figures": [
            ("Incidents with force", str(s.incidents)),
            ("Incidents with any footage", f"{percent(s.share_with_footage)} ({s.incidents_with_footage})"),
            (
                "Every involved officer's camera on before force",
                f"{percent(s.share_all_on_before_force)} ({s.incidents_all_on_before_force} of "
                f"{s.incidents_with_officers})",
            ),
            ("Median activation lag", secs(s.median_lag_s)),
            ("90th percentile activation lag", secs(s.p90_lag_s)),
            ("Coverage of the force window", percent(s.mean_coverage)),
            ("Ratings green / amber / red", f"{s.rag.green} / {s.rag.amber} / {s.rag.red}"),
            ("Review backlog (clips)", str(s.backlog)),
            ("Median time from incident to rating", hours(s.median_hours_to_rating)),
            (
                "Guidance not acknowledged",
                f"{s.unacknowledged} ({s.unacknowledged_overdue} over {s.ack_overdue_days} days)",
            ),
            ("Officers flagged for follow-up", str(len(s.officers_flagged))),
            (
                "Camera checks: before / late / after force / no footage",
                f"{s.activation.before_force} / {s.activation.late} / {s.activation.after_force} / "
                f"{s.activation.no_footage}",
            ),
        ],
        "ratings_chart": ratings_chart(s.trend),
        "cameras_chart": cameras_chart(s.trend),
        "legend": [("Green", GREEN), ("Amber", AMBER), ("Red", RED)],
        "trend": [
            (
                month_title(t.month),
                t.incidents,
                percent(t.share_with_footage),
                percent(t.share_all_on_before_force),
                secs(t.median_lag_s),
                t.rag,
            )
            for t in s.trend
        ],
        "flagged": [
            (label, f"{o.first_guidance_at.astimezone(tz):%-d %b %Y}", o.non_green_after_guidance)
            for label, o in zip(labels, s.officers_flagged, strict=True)
        ],
        "definitions": DEFINITIONS,
        "percent": percent,
    }
    return templates.get_template("report/compliance_pack.html").render(context)


class PackUnavailable(RuntimeError):
    """WeasyPrint could not be loaded: the system's Pango library is missing (see the README)."""


def check_available() -> None:
    """Raise `PackUnavailable` unless a pack can be made here: before the summary is worked out for one."""
    try:
        import weasyprint  # noqa: F401  (loads Pango, a system library: only when a pack is asked for)
    except (OSError, ImportError) as exc:
        raise PackUnavailable(
            f"WeasyPrint cannot load Pango ({exc}): install libpango-1.0-0 and libpangoft2-1.0-0"
        ) from exc


def compliance_pdf(summary: ComplianceSummary, *, anonymise: bool = False, prepared_by: str = "") -> bytes:
    check_available()
    from weasyprint import HTML, URLFetcher

    html = pack_html(summary, anonymise=anonymise, prepared_by=prepared_by)
    # The charts are data: URLs, and nothing else is fetched: a name or a group in the summary cannot make
    # the server open a file or a URL.
    fetcher = URLFetcher(allowed_protocols={"data"})
    out = HTML(string=html, url_fetcher=fetcher).write_pdf(pdf_variant="pdf/ua-1", pdf_tags=True)
    assert out is not None
    return bytes(out)
