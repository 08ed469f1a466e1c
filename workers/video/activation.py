"""Was each officer's camera running when force was used?  Pure logic, no database.

Policy reviewed here: body-worn video should be activated *before* force is used and keep recording
until it ends. A camera's pre-record buffer means the first frame of a clip is earlier than the moment
the wearer pressed record, so a late press can still have captured the start ("caught by pre-record").
Coverage always uses the *measured* duration of the footage (what actually decodes), never the duration
claimed by the camera's metadata, because a truncated file covers less than it claims.

Definitions:

- activation = ``activated_at``, or ``start + prerecord_s`` when the camera did not log the press (at most the
  clip's end when its length is known).
- the clips considered are those whose window [start, start + measured_duration_s] overlaps the force
  window; if none does, all the officer's clips are considered (so a clip that stopped before force began
  still counts as "activated before" but with zero coverage and ``stopped_early``).
- ``lag_s`` = earliest activation among those clips minus ``force_started_at`` (negative = before).
- status: ``before_force`` (lag <= 0), ``late`` (force_start < activation <= force_end), ``after_force``
  (activation after force ended), ``no_footage`` (no clips).
- ``caught_by_prerecord``: late or after force, but that clip's first frame is at or before force start.
- ``coverage``: share of [force_start, force_end] covered by the union of all clips' windows; a zero-length
  window counts 1.0 if some clip contains that instant, else 0.0.
- ``compliant``: status is ``before_force`` and coverage >= 0.999 (a millisecond's rounding is not a gap).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Status = Literal["before_force", "late", "after_force", "no_footage"]
COMPLIANT_COVERAGE = 0.999


@dataclass(frozen=True)
class Clip:
    """One piece of footage from one officer's camera."""

    start: datetime  # time of the first frame, including any pre-record buffer
    measured_duration_s: float  # what actually decodes (AnalysisResult.duration_s)
    activated_at: datetime | None = None  # when record was pressed, if the camera logged it
    prerecord_s: float = 0.0
    footage_id: int | None = None

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=max(0.0, self.measured_duration_s))

    @property
    def activation(self) -> datetime:
        """When record was pressed: logged by the camera, or the first frame plus the pre-record buffer, but
        never after the clip's last frame (a buffer said to be longer than the clip cannot have been full: a
        30 s default on a 15 s clip put the press 15 s after the recording ended)."""
        if self.activated_at is not None:
            return self.activated_at
        pressed = self.start + timedelta(seconds=self.prerecord_s)
        return min(pressed, self.end) if self.measured_duration_s > 0 else pressed


@dataclass(frozen=True)
class ForceWindow:
    """When force was used, from the incident record (timezone-aware datetimes)."""

    force_started_at: datetime
    force_ended_at: datetime

    def __post_init__(self) -> None:
        if self.force_started_at.tzinfo is None or self.force_ended_at.tzinfo is None:
            raise ValueError("force window times must be timezone-aware")
        if self.force_ended_at < self.force_started_at:
            raise ValueError("force ended before it started")

    @property
    def seconds(self) -> float:
        return (self.force_ended_at - self.force_started_at).total_seconds()


@dataclass
class ActivationResult:
    """The verdict for one officer in one incident."""

    officer: str | int | None
    status: Status
    lag_s: float | None
    caught_by_prerecord: bool
    coverage: float
    stopped_early: bool
    gaps: list[tuple[datetime, datetime]] = field(default_factory=list)
    compliant: bool = False
    footage_ids: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "officer": self.officer,
            "status": self.status,
            "lag_s": self.lag_s,
            "caught_by_prerecord": self.caught_by_prerecord,
            "coverage": self.coverage,
            "stopped_early": self.stopped_early,
            "gaps": [[a.isoformat(), b.isoformat()] for a, b in self.gaps],
            "compliant": self.compliant,
            "footage_ids": self.footage_ids,
        }


def _union(spans: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _coverage_and_gaps(clips: Sequence[Clip], window: ForceWindow) -> tuple[float, list[tuple[datetime, datetime]]]:
    ws, we = window.force_started_at, window.force_ended_at
    covered = _union((max(c.start, ws), min(c.end, we)) for c in clips if c.end >= ws and c.start <= we)
    if ws == we:
        hit = bool(covered)
        return (1.0 if hit else 0.0), ([] if hit else [(ws, we)])
    gaps: list[tuple[datetime, datetime]] = []
    cursor = ws
    total = 0.0
    for a, b in covered:
        if a > cursor:
            gaps.append((cursor, a))
        total += (b - a).total_seconds()
        cursor = max(cursor, b)
    if cursor < we:
        gaps.append((cursor, we))
    return min(1.0, total / window.seconds), gaps


def check_activation(
    clips: Sequence[Clip], window: ForceWindow, *, officer: str | int | None = None
) -> ActivationResult:
    """Judge one officer's clips against the force window (see the module docstring for definitions)."""
    if not clips:
        return ActivationResult(officer, "no_footage", None, False, 0.0, False, [(
            window.force_started_at, window.force_ended_at)])  # fmt: skip
    ws, we = window.force_started_at, window.force_ended_at
    overlapping = [c for c in clips if c.end >= ws and c.start <= we]
    considered = overlapping or list(clips)
    first = min(considered, key=lambda c: c.activation)
    lag_s = round((first.activation - ws).total_seconds(), 3)
    status: Status
    if first.activation <= ws:
        status = "before_force"
    elif first.activation <= we:
        status = "late"
    else:
        status = "after_force"
    caught = status != "before_force" and first.start <= ws
    coverage, gaps = _coverage_and_gaps(clips, window)
    stopped_early = max(c.end for c in considered) < we
    return ActivationResult(
        officer=officer,
        status=status,
        lag_s=lag_s,
        caught_by_prerecord=caught,
        coverage=round(coverage, 4),
        stopped_early=stopped_early,
        gaps=gaps,
        compliant=status == "before_force" and coverage >= COMPLIANT_COVERAGE,
        footage_ids=[c.footage_id for c in clips if c.footage_id is not None],
    )


def roll_up(results: Mapping[str | int, ActivationResult] | Sequence[ActivationResult]) -> dict[str, Any]:
    """The incident-level answer: was every officer's activation compliant, and who was not."""
    items = list(results.values()) if isinstance(results, Mapping) else list(results)
    lags = [r.lag_s for r in items if r.lag_s is not None]
    return {
        "officers": len(items),
        "all_compliant": bool(items) and all(r.compliant for r in items),
        "non_compliant": [r.officer for r in items if not r.compliant],
        "by_status": dict(Counter(r.status for r in items)),
        "caught_by_prerecord": [r.officer for r in items if r.caught_by_prerecord],
        "stopped_early": [r.officer for r in items if r.stopped_early],
        "worst_lag_s": max(lags) if lags else None,
        "min_coverage": min((r.coverage for r in items), default=None),
    }
