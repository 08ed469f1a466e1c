"""The PDF pack's charts (SVG drawn in app.report.pdf): axes that fit the figures, gaps where a month has none."""

from __future__ import annotations

import base64
import re

from app.report.pdf import _nice_max, cameras_chart, ratings_chart
from app.report.schemas import RagMix, TrendMonth


def _month(i: int, share: float | None, rag: tuple[int, int, int] = (0, 0, 0)) -> TrendMonth:
    return TrendMonth(
        month=f"2026-{i:02d}",
        incidents=1,
        share_with_footage=None,
        share_all_on_before_force=share,
        median_lag_s=None,
        rag=RagMix(green=rag[0], amber=rag[1], red=rag[2]),
    )


def _svg(src: str) -> str:
    return base64.b64decode(src.split(",", 1)[1]).decode()


def test_the_value_axis_ends_on_a_round_number_at_or_above_the_highest_month() -> None:
    assert [_nice_max(n) for n in (0, 1, 5, 6, 11, 37, 240)] == [
        (1, 1),
        (1, 1),
        (5, 1),
        (6, 2),
        (15, 5),
        (40, 10),
        (250, 50),
    ]


def test_the_ratings_chart_stacks_each_months_ratings() -> None:
    chart = ratings_chart([_month(1, None, (3, 1, 1)), _month(2, None), _month(3, None, (0, 0, 2))])
    svg = _svg(chart.src)
    assert len(re.findall("<rect ", svg)) == 4  # no bar for a month, or a colour, with none
    assert ">Jan 26<" in svg and ">Mar 26<" in svg and ">5<" in svg  # months as people read them; the top
    assert "from Jan 2026 to Mar 2026" in chart.alt


def test_the_camera_line_leaves_a_gap_where_a_month_had_no_officers_recorded() -> None:
    assert cameras_chart([_month(1, 0.5), _month(2, None)]) is None  # one point is not a trend
    chart = cameras_chart([_month(1, 0.5), _month(2, 1.0), _month(3, None), _month(4, 0.25), _month(5, 0.0)])
    assert chart is not None
    svg = _svg(chart.src)
    assert len(re.findall("<polyline ", svg)) == 2 and len(re.findall("<circle ", svg)) == 4
    assert "left as gaps" in chart.alt
