"""Small analysers fed by the one frame loop in :mod:`workers.video.pipeline`.

Like PySceneDetect's detectors they never open files: the loop hands each one a :class:`Sample` (a
downscaled grey picture plus statistics computed once and shared) and asks for the result at the end.
Thresholds are in 8-bit luma levels on the downscaled picture, where sensor noise has been averaged away.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

# Dark / obstructed lens: limited-range black is 16, so a mean below 40 is a covered lens or a dark
# pocket; a picture this uniform (std of the blurred picture) is a lens pressed against cloth or a wall.
DARK_MEAN_LUMA = 40.0
UNIFORM_STD = 4.0
# Frozen: share of pixels that changed by more than FROZEN_PIXEL_DELTA levels. A live picture, even a still
# scene, changes in far more pixels through sensor noise; a repeated frame changes only by re-encoding.
FROZEN_PIXEL_DELTA = 6
FROZEN_CHANGED_SHARE = 0.004
# Cuts: mean abs difference of the blurred picture, judged against the recent motion level.
CUT_MIN_DIFF = 14.0
CUT_MOTION_FACTOR = 3.0
CUT_MIN_GAP_S = 1.0


@dataclass(slots=True)
class Sample:
    """One analysed frame: clip time, the small grey picture and the shared statistics."""

    t: float
    grey: np.ndarray  # small grey, e.g. 160x90, for frozen detection (keeps the noise texture)
    blur: np.ndarray  # smaller, averaged grey, e.g. 40x23, for cuts/darkness (noise averaged away)
    mean: float
    std: float
    cut_diff: float | None  # mean abs diff of ``blur`` against the previous sample
    changed_share: float | None  # share of ``grey`` pixels that changed noticeably since the last sample
    dark: bool


def make_sample(t: float, grey: np.ndarray, blur: np.ndarray, prev: Sample | None) -> Sample:
    """Compute the statistics every analyser needs, once per analysed frame."""
    mean = float(blur.mean())
    std = float(blur.std())
    dark = mean < DARK_MEAN_LUMA or std < UNIFORM_STD
    if prev is None or prev.grey.shape != grey.shape:
        cut_diff = changed = None
    else:
        diff_blur = np.abs(blur.astype(np.int16) - prev.blur.astype(np.int16))
        cut_diff = float(diff_blur.mean())
        diff = np.abs(grey.astype(np.int16) - prev.grey.astype(np.int16))
        changed = float(np.count_nonzero(diff > FROZEN_PIXEL_DELTA)) / diff.size
    return Sample(t, grey, blur, mean, std, cut_diff, changed, dark)


class _SpanTracker:
    """Turns a per-sample yes/no into [start, end) spans of at least ``min_s`` seconds."""

    def __init__(self, kind: str, min_s: float) -> None:
        self.kind = kind
        self.min_s = min_s
        self.start: float | None = None
        self.spans: list[dict[str, float | str]] = []

    def update(self, on: bool, start_t: float, t: float) -> None:
        if on and self.start is None:
            self.start = start_t
        elif not on and self.start is not None:
            self._close(t)

    def _close(self, end: float) -> None:
        assert self.start is not None
        if end - self.start >= self.min_s:
            self.spans.append({"kind": self.kind, "start": round(self.start, 3), "end": round(end, 3)})
        self.start = None

    def finish(self, end_t: float) -> list[dict[str, float | str]]:
        if self.start is not None:
            self._close(end_t)
        return self.spans


class DarkDetector:
    """Covered lens, camera in a pocket or filming the floor: very dark or featureless picture."""

    def __init__(self, min_s: float = 2.0) -> None:
        self._spans = _SpanTracker("dark", min_s)

    def process_frame(self, s: Sample) -> None:
        self._spans.update(s.dark, s.t, s.t)

    def finish(self, end_t: float) -> list[dict[str, float | str]]:
        return self._spans.finish(end_t)


class FrozenDetector:
    """The picture stops changing (camera hang, a still re-encoded as video).

    A covered lens is both dark and nearly frozen; it is reported as dark only, so a frozen sample that is
    dark does not count.
    """

    def __init__(self, min_s: float = 2.0) -> None:
        self._spans = _SpanTracker("frozen", min_s)
        self._prev_t: float | None = None

    def process_frame(self, s: Sample) -> None:
        frozen = s.changed_share is not None and s.changed_share < FROZEN_CHANGED_SHARE and not s.dark
        # The picture froze at the previous sample: that is where the run starts.
        self._spans.update(frozen, self._prev_t if self._prev_t is not None else s.t, s.t)
        self._prev_t = s.t

    def finish(self, end_t: float) -> list[dict[str, float | str]]:
        return self._spans.finish(end_t)


class CutDetector:
    """Scene changes: a jump in the blurred picture well above the recent motion level.

    Blurring and downscaling average the sensor noise away; the adaptive threshold copes with a walking
    wearer; dark samples never produce cuts (noise in the dark made content detectors report dozens of
    false cuts); and cuts closer than ``min_gap_s`` are merged (flashes, a hand passing the lens).
    """

    def __init__(self, min_gap_s: float = CUT_MIN_GAP_S, window: int = 15) -> None:
        self.min_gap_s = min_gap_s
        self._recent: deque[float] = deque(maxlen=window)
        self._last_cut: float | None = None
        self._prev_dark = True

    def process_frame(self, s: Sample) -> bool:
        """Return True when a cut happened just before this sample."""
        prev_dark, self._prev_dark = self._prev_dark, s.dark
        if s.cut_diff is None or s.dark or prev_dark:
            return False
        level = float(np.median(self._recent)) if self._recent else 0.0
        is_cut = s.cut_diff > max(CUT_MIN_DIFF, CUT_MOTION_FACTOR * level)
        if is_cut and self._last_cut is not None and s.t - self._last_cut < self.min_gap_s:
            is_cut = False
        if is_cut:
            self._last_cut = s.t
        else:
            # Cuts do not raise the motion level, or the next cut would be missed.
            self._recent.append(s.cut_diff)
        return is_cut

    def finish(self, end_t: float) -> None:
        return None
