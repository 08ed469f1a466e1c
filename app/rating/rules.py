"""The suggested RAG rating of one clip, from what the automatic checks found. Pure: no database.

The suggestion is only ever shown next to the form; the coordinator chooses, and choosing differently
needs a reason. The rules follow the HMP Liverpool practice described in DOMAIN.md:

- **red** (poor or no evidence): switched on only after force had ended; or less than half of the force
  window on video; or the lens dark/covered for at least half of the force window.
- **amber** (usable, with faults): switched on after force began (even when the pre-record buffer caught
  the start); part of the force window missing or recording stopped before force ended; the lens covered
  or the picture frozen for any time during force, or for `LONG_SEGMENT_S` or more at other times; a
  problem with the file itself (truncated, shorter than claimed).
- **green** otherwise: on before force, whole force window captured, clear picture throughout.

A clip that has not been analysed gets no suggestion (None): the rules need measured facts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from app.rating.models import Rag
from workers.video.activation import Clip

ClipStatus = Literal["before_force", "late", "after_force"]
FULL_COVERAGE = 0.999
# Short of FULL_COVERAGE, to four places: less than 0.99895 of the force window on the clip, tested exactly on
# whole microseconds (covered * 20000 < 19979 * window) so that the queue's SQL answers the same.
SHORT_NUM, SHORT_DEN = 19979, 20000
MICROSECOND = timedelta(microseconds=1)
RED_COVERAGE = 0.5
LONG_SEGMENT_S = 5.0

FINDING_WORDS = {
    "truncated": "The file is damaged or cut short: the video stops before the end of the file",
    "truncated_or_edited": "The video is shorter than its file says: it may have been cut or edited",
    "duration_mismatch": "The video's length differs from what its file says",
    "frame_count_mismatch": "The number of frames differs from what the file says",
    "metadata_duration_mismatch": "The video's length differs from what the camera's upload said",
    "timestamp_jump": "The file's clock jumps: its times cannot be trusted, so its length is counted from its frames",
    "timestamp_gap": "The video has stretches with no frames, where the picture stands still",
    "frame_rate_implausible": "The file's frame times are impossible for a camera: its times cannot be trusted",
}


@dataclass(frozen=True)
class Span:
    """A stretch of the clip (seconds from its first frame)."""

    kind: str  # dark | frozen
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return max(0.0, self.end - self.start)


@dataclass(frozen=True)
class ClipFacts:
    """What is known about one clip against the incident's force window (times relative to force start)."""

    analysed: bool
    status: ClipStatus | None  # None when there is no force window to compare with (clip not linked)
    lag_s: float | None  # activation - force start; negative = before force
    caught_by_prerecord: bool = False
    coverage: float = 0.0  # share of the force window on this clip (to four places)
    short_of_window: bool = False  # less than FULL_COVERAGE of the force window on this clip
    stopped_early: bool = False
    force_s: float = 0.0  # length of the force window
    segments: Sequence[Span] = ()
    segments_in_force: Sequence[Span] = ()  # the same stretches clipped to the force window
    findings: Sequence[str] = ()  # Finding.kind values about the file itself

    @property
    def flagged(self) -> bool:
        """Anything the automatic checks want a person to look at (always in the review sample)."""
        return bool(
            self.status in ("late", "after_force")
            or (self.status is not None and (self.short_of_window or self.stopped_early))
            or self.segments
            or self.findings
        )


@dataclass
class Suggestion:
    rag: Rag | None
    reasons: list[str] = field(default_factory=list)  # plain words, worst first
    good: list[str] = field(default_factory=list)  # what the checks found right

    @property
    def flagged(self) -> bool:
        return bool(self.rag is not None and self.rag != Rag.green)


def _secs(value: float) -> str:
    value = abs(value)
    if value < 10:
        return f"{value:.0f} s" if value >= 1 else "under a second"
    if value < 120:
        return f"{value:.0f} s"
    m, s = divmod(int(round(value)), 60)
    return f"{m} min {s:02d} s"


def _total(spans: Sequence[Span], kind: str) -> float:
    return sum(s.seconds for s in spans if s.kind == kind)


def suggest(facts: ClipFacts) -> Suggestion:
    """The suggested rating with its reasons in plain words (see the module docstring for the rules)."""
    if not facts.analysed:
        return Suggestion(None, ["Not analysed yet: no suggestion until the checks have run"])
    red: list[str] = []
    amber: list[str] = []
    good: list[str] = []
    if facts.status is not None and facts.lag_s is not None:
        lag = facts.lag_s
        if facts.status == "after_force":
            red.append(f"Camera switched on {_secs(lag)} after force began, after force had ended")
        elif facts.status == "late":
            if facts.caught_by_prerecord:
                amber.append(
                    f"Camera switched on {_secs(lag)} after force began; the pre-record buffer caught the start"
                )
            else:
                amber.append(f"Camera switched on {_secs(lag)} after force began")
        else:
            good.append(
                f"Camera switched on {_secs(lag)} before force began" if lag < -0.5 else "Camera on as force began"
            )
        pct = f"{facts.coverage * 100:.0f}%"
        if facts.coverage < RED_COVERAGE:
            red.append(f"Only {pct} of the force window is on this clip")
        elif facts.short_of_window:
            amber.append(f"{pct} of the force window is on this clip")
        else:
            good.append("The whole force window is on this clip")
        if facts.stopped_early and facts.coverage > 0:
            amber.append("Recording stopped before force ended")
        dark_in = _total(facts.segments_in_force, "dark")
        frozen_in = _total(facts.segments_in_force, "frozen")
        if dark_in > 0:
            words = f"Lens covered or picture dark for {_secs(dark_in)} during the use of force"
            if facts.force_s > 0 and dark_in >= RED_COVERAGE * facts.force_s:
                red.append(words)
            else:
                amber.append(words)
        if frozen_in > 0:
            amber.append(f"Picture frozen for {_secs(frozen_in)} during the use of force")
    dark_all = _total(facts.segments, "dark")
    frozen_all = _total(facts.segments, "frozen")
    dark_in_all = _total(facts.segments_in_force, "dark")
    frozen_in_all = _total(facts.segments_in_force, "frozen")
    if dark_all - dark_in_all >= LONG_SEGMENT_S or (facts.status is None and dark_all > 0):
        amber.append(f"Lens covered or picture dark for {_secs(dark_all - dark_in_all)} outside the force window")
    if frozen_all - frozen_in_all >= LONG_SEGMENT_S or (facts.status is None and frozen_all > 0):
        amber.append(f"Picture frozen for {_secs(frozen_all - frozen_in_all)} outside the force window")
    if not facts.segments:
        good.append("Picture clear throughout: no dark, covered or frozen stretches")
    for kind in dict.fromkeys(facts.findings):
        amber.append(FINDING_WORDS.get(kind, kind.replace("_", " ").capitalize()))
    if red:
        return Suggestion(Rag.red, red + amber, good)
    if amber:
        return Suggestion(Rag.amber, amber, good)
    return Suggestion(Rag.green, [], good)


def clip_facts(
    *,
    analysed: bool,
    recording_started_at: datetime,
    duration_s: float | None,
    activated_at: datetime | None,
    prerecord_s: float,
    force_started_at: datetime | None,
    force_ended_at: datetime | None,
    segments: Sequence[Span] = (),
    findings: Sequence[str] = (),
) -> ClipFacts:
    """Place one clip against the force window (same definitions as workers.video.activation, per clip). The
    review queue works out its status and flag the same way in SQL (`app.rating.service._check_columns`)."""
    segs = [s for s in segments if s.seconds > 0]
    if force_started_at is None or force_ended_at is None:
        return ClipFacts(analysed=analysed, status=None, lag_s=None, segments=segs, findings=list(findings))
    start = recording_started_at
    length = max(0.0, duration_s or 0.0)
    end = start + timedelta(seconds=length)
    # The press as the incident's check works it out (never after the clip's last frame).
    activation = Clip(
        start=start, measured_duration_s=length, activated_at=activated_at, prerecord_s=prerecord_s
    ).activation
    lag = round((activation - force_started_at).total_seconds(), 3)
    status: ClipStatus
    if activation <= force_started_at:
        status = "before_force"
    elif activation <= force_ended_at:
        status = "late"
    else:
        status = "after_force"
    force_s = (force_ended_at - force_started_at).total_seconds()
    if force_s <= 0:
        coverage = 1.0 if start <= force_started_at <= end else 0.0
        short = coverage < 1
    else:
        a, b = max(start, force_started_at), min(end, force_ended_at)
        covered_us = max(0, (b - a) // MICROSECOND)
        force_us = (force_ended_at - force_started_at) // MICROSECOND
        coverage = covered_us / force_us
        short = covered_us * SHORT_DEN < SHORT_NUM * force_us
    fs = (force_started_at - start).total_seconds()
    fe = (force_ended_at - start).total_seconds()
    in_force = [Span(s.kind, max(s.start, fs), min(s.end, fe)) for s in segs if s.end > fs and s.start < fe]
    return ClipFacts(
        analysed=analysed,
        status=status,
        lag_s=lag,
        caught_by_prerecord=status != "before_force" and start <= force_started_at,
        coverage=round(min(1.0, coverage), 4),
        short_of_window=short,
        stopped_early=end < force_ended_at,
        force_s=force_s,
        segments=segs,
        segments_in_force=in_force,
        findings=list(findings),
    )
