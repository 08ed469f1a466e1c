"""The compliance summary as a PDF pack for the monthly use-of-force meeting (reportlab).

Optionally anonymised (officers as "Officer 1", "Officer 2"...) for packs shared with prisoner
representatives. Charts are drawn with reportlab's own graphics, so nothing outside the process is needed.
"""

from __future__ import annotations

import io
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.core.config import get_settings
from app.core.localtime import month_title
from app.core.templates import percent
from app.report.export import officer_labels
from app.report.schemas import ComplianceSummary

GREEN = colors.HexColor("#00703c")
AMBER = colors.HexColor("#f47738")
RED = colors.HexColor("#d4351c")
GREY = colors.HexColor("#505a5f")
LIGHT = colors.HexColor("#f3f2f1")

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


def _table(data: list[list[Any]], widths: list[float] | None = None, numeric_from: int = 1) -> Table:
    t = Table(data, colWidths=widths, repeatRows=1, hAlign="LEFT")
    t.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("LINEBELOW", (0, 0), (-1, 0), 1, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#b1b4b6")),
                ("ALIGN", (numeric_from, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
            ]
        )
    )
    return t


def _trend_chart(summary: ComplianceSummary) -> Drawing:
    d = Drawing(170 * mm, 60 * mm)
    chart = VerticalBarChart()
    chart.x, chart.y = 12 * mm, 10 * mm
    chart.width, chart.height = 150 * mm, 42 * mm
    chart.data = [
        [t.rag.green for t in summary.trend],
        [t.rag.amber for t in summary.trend],
        [t.rag.red for t in summary.trend],
    ]
    chart.categoryAxis.style = "stacked"
    chart.categoryAxis.categoryNames = [month_title(t.month, "%b %y") for t in summary.trend]  # "Nov 26", not "26-11"
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    for i, colour in enumerate((GREEN, AMBER, RED)):
        chart.bars[i].fillColor = colour
        chart.bars[i].strokeColor = None
    d.add(chart)
    d.add(String(12 * mm, 55 * mm, "Ratings by month of incident", fontSize=9))
    legend = Legend()
    legend.x, legend.y, legend.alignment = 95 * mm, 57 * mm, "right"
    legend.columnMaximum, legend.fontSize, legend.dx, legend.dy, legend.deltax = 1, 8, 8, 8, 55
    legend.colorNamePairs = [(GREEN, "Green"), (AMBER, "Amber"), (RED, "Red")]
    d.add(legend)
    return d


def _cameras_chart(summary: ComplianceSummary) -> Drawing:
    """Every officer's camera on before force, month by month (a gap where a month had no incident with
    officers recorded), as on the page."""
    shares = [None if t.share_all_on_before_force is None else t.share_all_on_before_force * 100 for t in summary.trend]
    title = "Every officer's camera on before force, by month of incident"
    if sum(x is not None for x in shares) < 2:  # a line needs two points (reportlab refuses fewer)
        d = Drawing(170 * mm, 14 * mm)
        d.add(String(12 * mm, 9 * mm, title, fontSize=9))
        note = "Too few months with officers recorded to draw a trend."
        d.add(String(12 * mm, 3 * mm, note, fontSize=8, fillColor=GREY))
        return d
    d = Drawing(170 * mm, 55 * mm)
    chart = HorizontalLineChart()
    chart.x, chart.y = 12 * mm, 10 * mm
    chart.width, chart.height = 150 * mm, 36 * mm
    chart.data = [shares]
    chart.categoryAxis.categoryNames = [month_title(t.month, "%b %y") for t in summary.trend]
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin, chart.valueAxis.valueMax, chart.valueAxis.valueStep = 0, 100, 25
    chart.valueAxis.labelTextFormat = "%d%%"
    chart.lines[0].strokeColor, chart.lines[0].strokeWidth = colors.HexColor("#1d70b8"), 1.5
    chart.lines[0].symbol = makeMarker("FilledCircle", size=3)
    d.add(chart)
    d.add(String(12 * mm, 50 * mm, title, fontSize=9))
    return d


def compliance_pdf(summary: ComplianceSummary, *, anonymise: bool = False, prepared_by: str = "") -> bytes:
    s = summary
    tz = ZoneInfo(get_settings().timezone)
    buf = io.BytesIO()
    title = f"Use of force: body-worn video compliance - {s.establishment_name}"
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=title,
        author="bwv-review",
        subject=f"{s.period_from.isoformat()} to {s.period_to.isoformat()}",
    )
    styles = getSampleStyleSheet()
    h1, h2, body = styles["Heading1"], styles["Heading2"], styles["BodyText"]
    small = ParagraphStyle("small", parent=body, fontSize=8, textColor=GREY)
    story: list[Any] = [
        Paragraph(escape(title), h1),
        Paragraph(
            f"Period {s.period_from:%-d %B %Y} to {s.period_to:%-d %B %Y} (London). "
            f"Produced {s.generated_at.astimezone(tz):%-d %B %Y %H:%M}"
            + (f" by {escape(prepared_by)}" if prepared_by else "")
            + (". Officers anonymised." if anonymise else "."),
            small,
        ),
        Spacer(1, 4 * mm),
        Paragraph("Key figures", h2),
        _table(
            [
                ["Figure", "Value"],
                ["Incidents with force", str(s.incidents)],
                ["Incidents with any footage", f"{percent(s.share_with_footage)} ({s.incidents_with_footage})"],
                [
                    "Every involved officer's camera on before force",
                    f"{percent(s.share_all_on_before_force)} ({s.incidents_all_on_before_force} of "
                    f"{s.incidents_with_officers})",
                ],
                ["Median activation lag", secs(s.median_lag_s)],
                ["90th percentile activation lag", secs(s.p90_lag_s)],
                ["Coverage of the force window", percent(s.mean_coverage)],
                ["Ratings green / amber / red", f"{s.rag.green} / {s.rag.amber} / {s.rag.red}"],
                ["Review backlog (clips)", str(s.backlog)],
                ["Median time from incident to rating", hours(s.median_hours_to_rating)],
                [
                    "Guidance not acknowledged",
                    f"{s.unacknowledged} ({s.unacknowledged_overdue} over {s.ack_overdue_days} days)",
                ],
                ["Officers flagged for follow-up", str(len(s.officers_flagged))],
                [
                    "Camera checks: before / late / after force / no footage",
                    f"{s.activation.before_force} / {s.activation.late} / {s.activation.after_force} / "
                    f"{s.activation.no_footage}",
                ],
            ],
            widths=[110 * mm, 64 * mm],
        ),
        Spacer(1, 6 * mm),
        _trend_chart(s),
        _cameras_chart(s),
        # The month table is kept whole (it moved 5 rows on to a page of their own); the breakdowns follow
        # it on the same page, each kept whole, rather than after a page break.
        KeepTogether(
            [
                Paragraph("Last 12 months", h2),
                _table(
                    [["Month", "Incidents", "Footage", "All on", "Median lag", "G", "A", "R"]]
                    + [
                        [
                            month_title(t.month),
                            t.incidents,
                            percent(t.share_with_footage),
                            percent(t.share_all_on_before_force),
                            secs(t.median_lag_s),
                            t.rag.green,
                            t.rag.amber,
                            t.rag.red,
                        ]
                        for t in s.trend
                    ]
                ),
            ]
        ),
    ]
    for b in s.breakdowns:
        story.append(
            KeepTogether(
                [
                    Paragraph(b.title, h2),
                    _table(
                        [["Group", "Incidents", "Share", "With footage", "All cameras on"]]
                        + [
                            [
                                Paragraph(escape(r.group), body),
                                r.incidents,
                                percent(r.share_of_incidents),
                                percent(r.share_with_footage),
                                percent(r.share_all_on_before_force),
                            ]
                            for r in b.rows
                        ],
                        widths=[70 * mm, 24 * mm, 24 * mm, 28 * mm, 28 * mm],
                    ),
                    Spacer(1, 3 * mm),
                ]
            )
        )
    story.append(Paragraph("Officers flagged for follow-up", h2))
    if s.officers_flagged:
        labels = officer_labels(s, anonymise)
        story.append(
            _table(
                [["Officer", "First guidance", "Non-green after guidance"]]
                + [
                    [label, f"{o.first_guidance_at.astimezone(tz):%-d %b %Y}", o.non_green_after_guidance]
                    for label, o in zip(labels, s.officers_flagged, strict=True)
                ],
                widths=[80 * mm, 50 * mm, 44 * mm],
            )
        )
    else:
        story.append(Paragraph("No officer is flagged.", body))
    story.append(Paragraph("How these figures are worked out", h2))
    for name, text in DEFINITIONS:
        story.append(Paragraph(f"<b>{name}</b>: {text}", body))
    story.append(Spacer(1, 4 * mm))
    story.append(
        Paragraph(
            "OFFICIAL-SENSITIVE. This pack contains no names of people in custody"
            + (" and no names of staff." if anonymise else "; staff are named only where flagged for follow-up."),
            small,
        )
    )
    doc.build(story)
    return buf.getvalue()
