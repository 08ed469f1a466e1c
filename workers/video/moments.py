"""Keyframes at given clip times without a full pass over the clip.

When a clip is linked to an incident after it was analysed, or the incident's force times are corrected,
its "force began" / "force ended" keyframes must follow. Decoding the whole clip again for two frames
would cost as much as the analysis; instead this seeks to the key frame before each moment and decodes
forward to the first frame at or after it: the same frame the full pass (``pipeline.analyse_file``)
chooses, with the same clip time (measured from the first frame) and the same thumbnail.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import av
import av.error

from .errors import VideoOpenFailure
from .pipeline import _open, write_thumbnail

EPS = 1e-6
# Decode on instead of seeking when the next moment is at most this far ahead of the last decoded frame.
SEEK_GAP_S = 2.0
# A seek may land after the wanted time (imprecise index): start this much earlier, doubling, and retry.
FIRST_BACKOFF_S = 1.0


class _Reader:
    """Decoded frames with clip times (seconds from the first frame), and seeking by clip time."""

    def __init__(self, container: Any, stream: Any) -> None:
        self.container = container
        self.stream = stream
        rate = stream.average_rate or stream.guessed_rate
        self.nominal_frame_s = float(1 / rate) if rate else 1 / 25
        self.frames: Iterator[Any] = container.decode(stream)
        self.count = 0
        first = self._next_raw()
        if first is None:
            raise VideoOpenFailure("no video frames could be decoded")
        self.t0 = first.time
        # Without timestamps (or a time base) clip time is the frame count at the nominal rate, as in the
        # full pass: then only reading on from the start gives the same times.
        self.can_seek = self.t0 is not None and stream.time_base is not None
        self.current: tuple[float, Any] | None = (0.0, first)

    def _next_raw(self) -> Any | None:
        try:
            frame = next(self.frames)
        except (StopIteration, av.error.FFmpegError, ValueError, OSError):  # end, or a cut-short file
            return None
        self.count += 1
        return frame

    def _t(self, frame: Any) -> float:
        if self.t0 is None or frame.time is None:
            return (self.count - 1) * self.nominal_frame_s
        return float(frame.time - self.t0)

    def next(self) -> tuple[float, Any] | None:
        frame = self._next_raw()
        self.current = None if frame is None else (self._t(frame), frame)
        return self.current

    def seek(self, t: float) -> tuple[float, Any] | None:
        """Position on the first decodable frame at or before clip time `t` (the clip's start if t <= 0)."""
        t0 = float(self.t0 or 0.0)
        offset = int((t0 + max(0.0, t)) / self.stream.time_base)
        self.container.seek(offset, stream=self.stream, backward=True, any_frame=False)
        self.frames = self.container.decode(self.stream)
        return self.next()


def _frame_at(reader: _Reader, target: float) -> tuple[float, Any] | None:
    """The first frame whose clip time is at or after `target` (within EPS), or None past the end.

    Invariant kept between calls (moments come in ascending order): every frame before
    `reader.current` is earlier than the previous target, hence than this one.
    """
    cur = reader.current
    if cur is not None and cur[0] + EPS >= target:
        return cur
    if reader.can_seek and (cur is None or target - cur[0] > SEEK_GAP_S):
        back = 0.0
        while True:
            cur = reader.seek(target - back)
            # Landed on or before the target, or at the clip's start: the answer is here or ahead.
            if cur is None or cur[0] <= target + EPS or target - back <= 0:
                break
            back = max(FIRST_BACKOFF_S, back * 2)
    while cur is not None and cur[0] + EPS < target:
        cur = reader.next()
    return cur


def frames_at(
    path: str | Path, moments: Sequence[tuple[float, str]], *, thumbs_dir: str | Path | None = None
) -> list[dict[str, Any]]:
    """Keyframe records ``{"t", "reason", "file"?}`` for (clip seconds, label) moments, as the full pass
    makes them: one per moment inside the clip, at the first frame at or after it; moments before the first
    frame or after the last are left out. With ``thumbs_dir``, one JPEG per distinct frame is written there.

    Raises :class:`VideoOpenFailure` when the file is not a readable video.
    """
    path = Path(path)
    thumbs = Path(thumbs_dir) if thumbs_dir is not None else None
    if thumbs is not None:
        thumbs.mkdir(parents=True, exist_ok=True)
    wanted = sorted((float(t), str(label)) for t, label in moments if t >= 0)
    container, stream = _open(path, path.name)
    try:
        if not wanted:
            return []
        try:
            reader = _Reader(container, stream)
        except VideoOpenFailure as exc:
            raise VideoOpenFailure(f"{path.name}: {exc}") from None
        records: list[dict[str, Any]] = []
        written: dict[float, str] = {}
        for target, label in wanted:
            found = _frame_at(reader, target)
            if found is None:
                break  # past the last frame: so are the later moments
            t, frame = found
            record: dict[str, Any] = {"t": round(t, 3), "reason": label}
            if thumbs is not None:
                name = written.get(t)
                if name is None:
                    name = f"km_{int(round(t * 1000)):08d}.jpg"
                    write_thumbnail(frame, thumbs / name)
                    written[t] = name
                record["file"] = name
            records.append(record)
        return records
    finally:
        container.close()


def frames_at_by_full_pass(
    path: str | Path, moments: Sequence[tuple[float, str]], *, thumbs_dir: str | Path | None = None
) -> list[dict[str, Any]]:
    """`frames_at` for a file whose clock jumps: the seeking above reads the file's own clock, the full pass
    takes the jumps out (pipeline.analyse_file), so the frame for a moment is found by a full pass like the
    one that first analysed the clip, keeping only the moments' keyframes. Slower; for such files only."""
    import shutil
    import tempfile

    from .pipeline import analyse_file

    wanted = {str(label) for _, label in moments}
    with tempfile.TemporaryDirectory(prefix="moments-") as scratch:
        result = analyse_file(
            path, interval_s=0, key_moments=moments, thumbs_dir=scratch if thumbs_dir is not None else None
        )
        records = [dict(r) for r in result.keyframes if r["reason"] in wanted]
        if thumbs_dir is not None:
            thumbs = Path(thumbs_dir)
            thumbs.mkdir(parents=True, exist_ok=True)
            for r in records:
                if "file" in r:
                    name = f"km_{int(round(float(r['t']) * 1000)):08d}.jpg"
                    if not (thumbs / name).exists():
                        shutil.copyfile(Path(scratch) / r["file"], thumbs / name)
                    r["file"] = name
    return records
