"""Generate realistic-looking test footage with known ground truth.

Golden tests, the benchmark and the product demo all need clips whose cuts, dark stretches and frozen
stretches are known exactly. Clips are H.264 yuv420p in MP4 (browsers play them), with sensor noise so the
detectors face the same trouble as real body-worn video.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

DEFAULT_CLOCK_START = datetime(2026, 11, 3, 14, 2, 11)
_NOISE_BANK = 12


@dataclass
class SynthClip:
    """What was written, so tests can compare the analyser with the truth."""

    path: Path
    fps: float
    frame_count: int
    duration_s: float
    cuts: list[float]
    dark: list[tuple[float, float]]
    frozen: list[tuple[float, float]]
    frame_times: list[float] = field(repr=False, default_factory=list)


def _inside(t: float, spans: Sequence[tuple[float, float]]) -> int | None:
    for i, (a, b) in enumerate(spans):
        if a <= t < b:
            return i
    return None


def _frame_times(seconds: float, fps: float, vfr: bool) -> list[float]:
    """Frame timestamps in seconds (millisecond resolution for VFR, exact for CFR)."""
    if not vfr:
        return [i / fps for i in range(int(round(seconds * fps)))]
    # Full rate for the first and last third, a third of the rate in the middle: the average fps is then
    # wrong for every frame after the first third, which is the trap VFR sets for index/fps arithmetic.
    times: list[float] = []
    t_ms = 0
    step = 1000.0 / fps
    while t_ms < seconds * 1000.0 - 0.5:
        times.append(t_ms / 1000.0)
        slow = seconds / 3 <= t_ms / 1000.0 < 2 * seconds / 3
        t_ms = int(round(t_ms + (3 * step if slow else step)))
    return times


class _SceneRenderer:
    """Draws a corridor-like scene per index: distinct layout and brightness, shapes that move every frame."""

    def __init__(self, size: tuple[int, int], seed: int) -> None:
        self.w, self.h = size
        self.seed = seed
        self._backgrounds: dict[int, np.ndarray] = {}

    def background(self, scene: int) -> np.ndarray:
        if scene in self._backgrounds:
            return self._backgrounds[scene]
        rng = np.random.default_rng(self.seed * 1000 + scene)
        w, h = self.w, self.h
        # Alternate bright and dim scenes and vary the layout so that consecutive scenes differ in luma.
        base = 150 + rng.integers(0, 50) if scene % 2 == 0 else 55 + rng.integers(0, 30)
        tint = rng.integers(-30, 30, size=3)
        ramp = np.linspace(-40, 40, w if scene % 3 != 1 else h, dtype=np.float32)
        grad = ramp[None, :] if scene % 3 != 1 else ramp[:, None]
        img = np.clip(base + grad[..., None] + tint[None, None, :], 0, 255).astype(np.uint8)
        img = np.ascontiguousarray(np.broadcast_to(img, (h, w, 3)))
        # Corridor: floor trapezoid, doors and lights at scene-specific places.
        vx = int(w * (0.3 + 0.4 * rng.random()))
        vy = int(h * (0.35 + 0.2 * rng.random()))
        floor = np.array([[0, h], [w, h], [vx + w // 10, vy], [vx - w // 10, vy]], np.int32)
        cv2.fillPoly(img, [floor], tuple(int(c) for c in rng.integers(20, 235, size=3)))
        for _ in range(4 + int(rng.integers(0, 4))):
            x = int(rng.integers(0, w - w // 8))
            y = int(rng.integers(0, max(1, vy - h // 6)))
            colour = tuple(int(c) for c in rng.integers(0, 255, size=3))
            cv2.rectangle(img, (x, y), (x + w // 10, y + h // 3), colour, -1)
        for _ in range(3):
            x = int(rng.integers(0, w))
            cv2.line(img, (x, 0), (vx, vy), (230, 230, 230), max(1, w // 200))
        self._backgrounds[scene] = img
        return img

    def render(self, scene: int, t: float) -> np.ndarray:
        img = self.background(scene).copy()
        rng = np.random.default_rng(self.seed * 7919 + scene)
        w, h = self.w, self.h
        for k in range(3):
            # Each shape moves on its own path so that the picture changes in every frame.
            px, py = rng.random(2)
            vx, vy = (rng.random(2) - 0.5) * 0.6
            x = int(abs(((px + vx * t) % 2.0) - 1.0) * w)
            y = int(abs(((py + vy * t) % 2.0) - 1.0) * h)
            r = max(4, int(h * (0.06 + 0.03 * k)))
            colour = (int(40 + 70 * k), int(200 - 60 * k), int(120 + 40 * (k % 2)))
            if k == 1:
                cv2.rectangle(img, (x - r, y - 2 * r), (x + r, y + 2 * r), colour, -1)
            else:
                cv2.circle(img, (x, y), r, colour, -1)
        return img


def _draw_overlay(img: np.ndarray, text: str) -> None:
    h, w = img.shape[:2]
    scale = max(0.35, w / 1280.0)
    thick = max(1, int(round(2 * scale)))
    org = (int(10 * scale) + 4, h - int(18 * scale) - 4)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)


def make_clip(
    path: str | Path,
    *,
    seconds: float,
    fps: float = 25,
    size: tuple[int, int] = (640, 360),
    scenes: Sequence[float] = (),
    dark: Sequence[tuple[float, float]] = (),
    frozen: Sequence[tuple[float, float]] = (),
    noise: float = 8,
    vfr: bool = False,
    overlay_text: str | None = None,
    clock_start: datetime | None = None,
    faststart: bool = True,
    preset: str = "veryfast",
    crf: int = 23,
    seed: int = 0,
) -> SynthClip:
    """Write an H.264 MP4 clip with known cuts, dark and frozen stretches.

    ``scenes`` are the times (s) at which a new scene starts, i.e. the cuts; time 0 always starts scene 0.
    ``dark`` spans show a near-black noisy picture (covered lens); ``frozen`` spans repeat the frame shown
    at their start. ``overlay_text`` burns in a BWV-style caption with a running clock, e.g.
    ``overlay_text="BWV 0042"`` renders ``BWV 0042  2026-11-03 14:02:11``.
    """
    path = Path(path)
    w, h = size
    if w % 2 or h % 2:
        raise ValueError("width and height must be even for yuv420p")
    cuts = sorted(float(c) for c in scenes if 0 < c < seconds)
    dark_spans = [(float(a), float(b)) for a, b in dark]
    frozen_spans = [(float(a), float(b)) for a, b in frozen]
    times = _frame_times(seconds, fps, vfr)
    renderer = _SceneRenderer(size, seed)
    rng = np.random.default_rng(seed + 17)
    sigma = float(noise)
    bank = [
        np.clip(rng.normal(0, sigma, size=(h, w, 1)), -127, 127).astype(np.int16) if sigma > 0 else None
        for _ in range(_NOISE_BANK)
    ]
    clock0 = clock_start or DEFAULT_CLOCK_START

    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), mode="w", format="mp4", options=options) as out:
        rate = Fraction(fps).limit_denominator(1001)
        stream = out.add_stream("libx264", rate=rate)
        stream.width = w
        stream.height = h
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = max(1, int(round(2 * fps)))
        stream.options = {"preset": preset, "crf": str(crf)}
        time_base = Fraction(1, 1000) if vfr else Fraction(1) / rate
        stream.codec_context.time_base = time_base

        frozen_frame: dict[int, np.ndarray] = {}
        for i, t in enumerate(times):
            fz = _inside(t, frozen_spans)
            if fz is not None and fz in frozen_frame:
                img = frozen_frame[fz]
            else:
                if _inside(t, dark_spans) is not None:
                    img = np.full((h, w, 3), 14, np.uint8)
                else:
                    scene = sum(1 for c in cuts if c <= t + 1e-9)
                    img = renderer.render(scene, t)
                    if overlay_text:
                        stamp = (clock0 + timedelta(seconds=int(t))).strftime("%Y-%m-%d %H:%M:%S")
                        _draw_overlay(img, f"{overlay_text}  {stamp}")
                noise_img = bank[int(rng.integers(0, _NOISE_BANK))]
                if noise_img is not None:
                    img = np.clip(img.astype(np.int16) + noise_img, 0, 255).astype(np.uint8)
                if fz is not None:
                    frozen_frame[fz] = img
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = int(round(t * 1000)) if vfr else i
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)

    last_gap = (times[-1] - times[-2]) if vfr and len(times) > 1 else 1.0 / fps
    duration = (times[-1] + last_gap) if times else 0.0
    return SynthClip(
        path=path,
        fps=float(fps),
        frame_count=len(times),
        duration_s=duration,
        cuts=cuts,
        dark=dark_spans,
        frozen=frozen_spans,
        frame_times=times,
    )


def make_demo_clip(
    path: str | Path,
    *,
    seconds: float = 12.0,
    camera: str = "BWV 0042",
    clock_start: datetime | None = None,
    size: tuple[int, int] = (640, 360),
    seed: int = 0,
) -> SynthClip:
    """Demo footage: a corridor walk with two cuts and a briefly covered lens, caption and running clock.

    Deterministic for a given seed, so demo data and screenshots stay stable between runs.
    """
    return make_clip(
        path,
        seconds=seconds,
        size=size,
        scenes=[seconds * 0.3, seconds * 0.7],
        dark=[(seconds * 0.45, seconds * 0.45 + min(2.5, seconds * 0.2))],
        noise=6,
        overlay_text=camera,
        clock_start=clock_start,
        seed=seed,
    )


def truncate_file(src: str | Path, dst: str | Path, fraction: float) -> Path:
    """Copy the first ``fraction`` of ``src`` to ``dst``: an interrupted upload or a cut-short export."""
    src, dst = Path(src), Path(dst)
    data_len = src.stat().st_size
    keep = int(data_len * fraction)
    with src.open("rb") as fin, dst.open("wb") as fout:
        fout.write(fin.read(keep))
    return dst


def copy_clip(src: str | Path, dst: str | Path) -> Path:
    """Copy a clip unchanged (e.g. a PNG renamed to ``.mp4`` for bad-file tests)."""
    return Path(shutil.copyfile(src, dst))


def make_zero_frame_clip(path: str | Path, *, size: tuple[int, int] = (320, 180)) -> Path:
    """An MP4 with a video track and no frames at all (a camera that crashed on start)."""
    path = Path(path)
    out = av.open(str(path), mode="w", format="mp4")
    stream = out.add_stream("libx264", rate=25)
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    out.start_encoding()
    out.close()
    return path


def mdat_offset(path: str | Path) -> int:
    """Byte offset where the media data box starts: cut just after it for a header-only file."""
    data = Path(path).read_bytes()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "big")
        if data[pos + 4 : pos + 8] == b"mdat":
            return pos
        if size == 1:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
        if size < 8:
            break
        pos += size
    raise ValueError("no mdat box")
