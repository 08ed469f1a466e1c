"""One streaming pass over a clip: measure it, find cuts, dark and frozen stretches, save keyframes.

Why it looks like this (see /work/shared/VIDEO-NOTES.md): the decoder runs with frame threads
(``thread_type="AUTO"``, one per core) and is the only expensive part; analysis touches a sampled subset
of frames (about 5 per second), uses the Y plane as the grey picture without colour conversion, and
shrinks it before any arithmetic. OpenCV's own thread pool is switched off so it does not fight the
decoder. Memory stays flat in clip length: only the previous sample is kept; thumbnails go straight to disk.

Decoding less than everything: frames are counted and timed from the demuxed packets, so the decoder may
skip what analysis does not need: non-reference frames (nothing is predicted from them, so every other
frame decodes exactly as before; with B-frames that is a third or more of the frames, and samples land at
most a few frames later). A frame that must be exact, the first at or after an interval or key moment, is
always decoded. Skipping the deblocking filter as well was measured and rejected: its drift made the
re-encoding flicker of a frozen picture look like change (a frozen stretch was missed at noise 8).
"""

from __future__ import annotations

import array
import bisect
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import av.error
import cv2
import numpy as np

from .detectors import CutDetector, DarkDetector, FrozenDetector, Sample, make_sample
from .errors import VideoOpenFailure
from .probe import sniff_video_container

cv2.setNumThreads(1)

SAMPLE_HZ = 5.0
SMALL_WIDTH = 160
BLUR_WIDTH = 40
THUMB_WIDTH = 320
FILMSTRIP_HEIGHT = 80
FILMSTRIP_MAX_THUMBS = 40
PROGRESS_EVERY_FRAMES = 100
MAX_PIXELS = 7680 * 4320  # 8K: far beyond any body-worn camera; larger is refused before decoding
BIG_FRAME_PIXELS = 3840 * 2160  # above 4K, one decoder thread: memory grows with threads times frame size
# Timestamps: consecutive frames further apart than HOLE_S leave a stretch with no picture (the player shows
# the last frame standing still); further apart than JUMP_S, the file's clock has jumped (a broken or edited
# file), and clip time goes on from the frames instead, so no stretch without frames is counted as recorded.
HOLE_S = 2.0
MAX_FPS = 300.0  # body-worn cameras record 25-60 frames a second; a file claiming more has broken times
JUMP_S = 60.0
MAX_THUMBNAILS = 1000  # interval and scene-change keyframes stop here (frames far apart made one each)
# What the decoder may leave out when ``fast_decode`` is on (an FFmpeg AVDISCARD level, see module doc).
SKIP_FRAMES = "NONREF"


def decode_threads() -> int:
    """Frame threads for the decoder: one per core this process may use (the bench gives ffmpeg the same)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


# Demuxers that hold real video. Image demuxers (png_pipe, image2, jpeg_pipe...) also "open" a photo
# renamed .mp4, so the extension or a successful open proves nothing.
VIDEO_FORMATS = {
    "mov,mp4,m4a,3gp,3g2,mj2",
    "matroska,webm",
    "avi",
    "mpegts",
    "mpeg",
    "flv",
    "asf",
    "h264",
    "hevc",
}
IMAGE_CODECS = {"png", "apng", "bmp", "gif", "tiff", "webp", "jpegls", "qoi"}
# Pixel formats whose plane 0 is 8-bit luma: that plane is the grey picture, no conversion needed.
_LUMA_PLANE_FORMATS = {
    "yuv420p",
    "yuvj420p",
    "yuv422p",
    "yuvj422p",
    "yuv444p",
    "yuvj444p",
    "yuv411p",
    "yuv440p",
    "nv12",
    "nv21",
    "gray",
}


@dataclass
class AnalysisResult:
    """Everything one pass learned about a clip; ``to_dict()`` is what gets stored as JSON."""

    duration_s: float
    frame_count: int
    fps: float
    width: int
    height: int
    codec: str
    container: str
    claimed: dict[str, float | int | None]
    truncated: bool
    findings: list[dict[str, str]] = field(default_factory=list)
    keyframes: list[dict[str, Any]] = field(default_factory=list)
    segments: list[dict[str, Any]] = field(default_factory=list)
    filmstrip: str | None = None
    decode_seconds: float = 0.0
    frames_decoded: int = 0  # frames the decoder produced; fewer than frame_count when it skipped some
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _container_name(path: Path, format_name: str) -> str:
    with path.open("rb") as fh:
        sniffed = sniff_video_container(fh.read(4096))
    if sniffed:
        return sniffed
    return {"mov,mp4,m4a,3gp,3g2,mj2": "mp4", "matroska,webm": "mkv"}.get(format_name, format_name)


def _open(path: Path, name: str) -> tuple[Any, Any]:
    """Open and validate: a real video container with a video stream of a size a body-worn camera records,
    else VideoOpenFailure. `name`: how the file is called in messages."""
    if not path.is_file():
        raise VideoOpenFailure(f"{name}: no such file")
    if path.stat().st_size == 0:
        raise VideoOpenFailure(f"{name}: the file is empty")
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise VideoOpenFailure(f"{name}: not a readable video ({_short(exc)})") from exc
    try:
        fmt = container.format.name
        if fmt not in VIDEO_FORMATS:
            raise VideoOpenFailure(f"{name}: not a video container (detected '{fmt}')")
        if not container.streams.video:
            raise VideoOpenFailure(f"{name}: the file has no video stream")
        stream = _recording_stream(container.streams.video)
        codec = stream.codec_context.name
        if codec in IMAGE_CODECS:
            raise VideoOpenFailure(f"{name}: holds a still image ({codec}), not video")
        width, height = stream.codec_context.width or 0, stream.codec_context.height or 0
        if width * height > MAX_PIXELS:
            # Decoding one such frame takes gigabytes (each decoder thread holds frames of its own).
            raise VideoOpenFailure(
                f"{name}: its picture is {width}×{height}, larger than any body-worn camera records (8K at most)"
            )
    except BaseException:
        container.close()
        raise
    return container, stream


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


_STILL = av.stream.Disposition.attached_pic | av.stream.Disposition.still_image | av.stream.Disposition.timed_thumbnails


def _recording_stream(streams: Sequence[Any]) -> Any:
    """The recording among a file's video streams: not cover art, a thumbnail or a single picture (a still
    before the recording was taken for it), then the one marked default, else the largest picture (a small
    preview can come first). The first stream when none looks like a recording, so the still-image message
    names what the file holds."""
    moving = [
        s
        for s in streams
        if not (int(s.disposition) & int(_STILL)) and s.codec_context.name not in IMAGE_CODECS and (s.frames or 0) != 1
    ]
    if not moving:
        return streams[0]
    default = [s for s in moving if int(s.disposition) & int(av.stream.Disposition.default)]
    if len(default) == 1:
        return default[0]
    return max(moving, key=lambda s: (s.codec_context.width or 0) * (s.codec_context.height or 0))


def _short(exc: BaseException) -> str:
    """FFmpeg's own sentence (e.g. "Invalid data found when processing input"), without errno or path."""
    text = getattr(exc, "strerror", None) or str(exc).strip() or type(exc).__name__
    return str(text).splitlines()[0][:120]


def _grey(frame: Any) -> np.ndarray:
    """The luma plane as a 2-D uint8 array, without a copy when the pixel format allows it."""
    if frame.format.name in _LUMA_PLANE_FORMATS:
        plane = frame.planes[0]
        buf = np.frombuffer(plane, np.uint8)
        return buf.reshape(plane.height, plane.line_size)[:, : plane.width]
    return frame.to_ndarray(format="gray")


def _mismatch(claimed: float, measured: float, frame_s: float) -> bool:
    """More than 1 s or more than 2% apart; never flags a difference of two frames or less."""
    diff = abs(claimed - measured)
    return diff > 2 * frame_s + 1e-6 and (diff > 1.0 or diff > 0.02 * max(claimed, measured))


# The frame's display rotation (degrees, counter-clockwise, as FFmpeg's display matrix gives it) -> the turn
# that shows it the way players do (checked against `ffmpeg`'s own autorotated output).
_UPRIGHT = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


def rotation_of(frame: Any) -> int:
    """0, 90, 180 or 270: how far the camera's file says to turn the picture for showing."""
    try:
        return int(round(float(getattr(frame, "rotation", 0) or 0) / 90)) * 90 % 360
    except (TypeError, ValueError):
        return 0


def write_thumbnail(frame: Any, path: Path) -> None:
    """A keyframe's JPEG thumbnail, THUMB_WIDTH wide before it is turned upright as players show it (the
    decoder scales; only this frame is converted)."""
    h = max(2, int(round(THUMB_WIDTH * frame.height / frame.width / 2)) * 2)
    bgr = frame.to_ndarray(format="bgr24", width=THUMB_WIDTH, height=h)
    turn = _UPRIGHT.get(rotation_of(frame))
    if turn is not None:
        bgr = cv2.rotate(bgr, turn)
    cv2.imwrite(str(path), bgr, [cv2.IMWRITE_JPEG_QUALITY, 80])


class _Keyframes:
    """Decides which frames become keyframes and writes their thumbnails straight to disk."""

    def __init__(self, thumbs_dir: Path | None, interval_s: float, moments: Sequence[tuple[float, str]]) -> None:
        self.dir = thumbs_dir
        self.interval_s = interval_s
        self.next_interval = 0.0 if interval_s > 0 else math.inf
        self.moments = sorted((float(t), str(label)) for t, label in moments if t >= 0)
        self.ignored = [(float(t), str(label)) for t, label in moments if t < 0]
        self.records: list[dict[str, Any]] = []
        self.files: list[str] = []

    def next_due(self) -> float:
        """Clip time of the next interval or key moment: the first frame at or after it must be decoded."""
        return min(self.next_interval, self.moments[0][0] if self.moments else math.inf)

    def due(self, t: float) -> list[str]:
        reasons: list[str] = []
        if t + 1e-6 >= self.next_interval:
            reasons.append("interval")
            # The next boundary after t at once (a step at a time never ended across a jump of 10^11 s).
            self.next_interval = (math.floor((t + 1e-6) / self.interval_s) + 1) * self.interval_s
        while self.moments and self.moments[0][0] <= t + 1e-6:
            reasons.append(self.moments.pop(0)[1])
        return reasons

    def add(self, t: float, reasons: Iterable[str], frame: Any) -> None:
        if len(self.records) >= MAX_THUMBNAILS:  # past the cap, only the key moments (force began...)
            reasons = [r for r in reasons if r not in ("interval", "scene_change")]
            if not reasons:
                return
        name: str | None = None
        if self.dir is not None:
            name = f"kf_{len(self.files):04d}_{int(round(t * 1000)):08d}.jpg"
            write_thumbnail(frame, self.dir / name)
            self.files.append(name)
        for reason in reasons:
            record: dict[str, Any] = {"t": round(t, 3), "reason": reason}
            if name is not None:
                record["file"] = name
            self.records.append(record)

    def filmstrip(self) -> str | None:
        """A strip of small thumbnails, read back from disk so memory never grows with clip length."""
        if self.dir is None or not compose_filmstrip(
            [self.dir / name for name in self.files], self.dir / "filmstrip.jpg"
        ):
            return None
        return "filmstrip.jpg"


def compose_filmstrip(images: Sequence[Path], out: Path) -> bool:
    """Write `out`: the keyframe thumbnails `images` (in clip order) side by side, FILMSTRIP_HEIGHT high, at
    most FILMSTRIP_MAX_THUMBS of them evenly spread. Read one at a time. False when none could be read."""
    if len(images) > FILMSTRIP_MAX_THUMBS:
        step = len(images) / FILMSTRIP_MAX_THUMBS
        images = [images[int(i * step)] for i in range(FILMSTRIP_MAX_THUMBS)]
    tiles = []
    for path in images:
        img = cv2.imread(str(path))
        if img is None:
            continue
        w = max(1, int(round(img.shape[1] * FILMSTRIP_HEIGHT / img.shape[0])))
        tiles.append(cv2.resize(img, (w, FILMSTRIP_HEIGHT), interpolation=cv2.INTER_AREA))
    if not tiles:
        return False
    cv2.imwrite(str(out), cv2.hconcat(tiles), [cv2.IMWRITE_JPEG_QUALITY, 80])
    return True


def analyse_file(
    path: str | Path,
    *,
    interval_s: float = 10.0,
    key_moments: Sequence[tuple[float, str]] = (),
    claimed_duration_s: float | None = None,
    thumbs_dir: str | Path | None = None,
    progress: Callable[[float], None] | None = None,
    dark_min_s: float = 2.0,
    frozen_min_s: float = 2.0,
    sample_hz: float = SAMPLE_HZ,
    fast_decode: bool = True,
    name: str | None = None,
) -> AnalysisResult:
    """Analyse one clip in a single decoding pass.

    ``key_moments`` are (clip seconds, label) pairs, e.g. ``(12.5, "force_started")``, that get a keyframe;
    ``claimed_duration_s`` is the length the uploader's metadata states, checked against what decodes.
    ``fast_decode=False`` decodes every frame in full (the reference the fast path is tested against).
    ``name`` is how messages call the file (default: its file name; the worker gives the uploaded name, as
    stored files are named by their hash).
    Raises :class:`VideoOpenFailure` when the file is not a readable video with at least one frame.
    """
    started = time.perf_counter()
    path = Path(path)
    thumbs = Path(thumbs_dir) if thumbs_dir is not None else None
    if thumbs is not None:
        thumbs.mkdir(parents=True, exist_ok=True)
    name = name or path.name
    container, stream = _open(path, name)
    try:
        return _analyse(
            path, name, container, stream, started,
            interval_s=interval_s, key_moments=key_moments, claimed_duration_s=claimed_duration_s,
            thumbs=thumbs, progress=progress, dark_min_s=dark_min_s, frozen_min_s=frozen_min_s,
            sample_hz=sample_hz, fast_decode=fast_decode,
        )  # fmt: skip
    finally:
        container.close()


def _analyse(
    path: Path,
    name: str,
    container: Any,
    stream: Any,
    started: float,
    *,
    interval_s: float,
    key_moments: Sequence[tuple[float, str]],
    claimed_duration_s: float | None,
    thumbs: Path | None,
    progress: Callable[[float], None] | None,
    dark_min_s: float,
    frozen_min_s: float,
    sample_hz: float,
    fast_decode: bool,
) -> AnalysisResult:
    ctx = stream.codec_context
    stream.thread_type = "AUTO"
    big = (ctx.width or 0) * (ctx.height or 0) > BIG_FRAME_PIXELS
    ctx.thread_count = 1 if big else decode_threads()
    codec = stream.codec_context.name
    claimed_stream_s = None
    if stream.duration and stream.time_base:
        claimed_stream_s = float(stream.duration * stream.time_base)
    claimed_container_s = container.duration / av.time_base if container.duration else None
    claimed_s = claimed_stream_s or claimed_container_s
    claimed_frames = int(stream.frames or 0) or None
    rate = stream.average_rate or stream.guessed_rate
    # Within what a camera does: an MP4's average rate is its frames over its header's length, which a
    # clock jump stretches to hours a frame.
    nominal_frame_s = min(max(float(1 / rate) if rate else 1 / 25, 1 / MAX_FPS), 0.5)
    size_bytes = max(1, path.stat().st_size)

    dark = DarkDetector(dark_min_s)
    frozen = FrozenDetector(frozen_min_s)
    cuts = CutDetector()
    keyframes = _Keyframes(thumbs, interval_s, key_moments)
    sample_step = 1.0 / sample_hz

    time_base = float(stream.time_base) if stream.time_base else None
    count = 0  # frames in the clip: packets the decoder accepted, whether or not it skipped the frame
    decoded = 0
    t0: float | None = None  # stream time of the first decoded frame: clip time 0
    end_t: float | None = None  # stream time of the latest frame (packets come in decode order)
    end_frame_s: float | None = None  # its duration, or the gap from the one before it
    t_last = 0.0  # clip time of the latest decoded frame, kept monotonic
    next_sample = 0.0
    prev: Sample | None = None
    small_size: tuple[int, int] | None = None
    rotation = 0  # of the first frame: the size reported is the picture as players show it
    blur_size: tuple[int, int] | None = None
    decode_error: str | None = None
    last_progress = 0.0
    skipping = False
    # A forward jump of the file's clock (over JUMP_S) is taken out of every packet shown after it before it
    # is decoded, so the frames come out on one continuous clock. Which packets: those whose own time is past
    # a boundary half-way into the jump, whatever order they are decoded in (B-frames shown before the jump
    # can be decoded after its first packet). A clock set back is said, not re-timed: the frames after it
    # cannot be told from those before by their times. Stretches with no frames (2-60 s) and frames closer
    # than any camera records are found at the end from every frame's time in showing order.
    bounds: list[float] = []  # the file's own times past which a jump's shift applies, ascending
    shifts: list[int] = []  # the stream time units taken out past each bound (cumulative)
    end_raw: float | None = None  # latest time the file gives, before any shift
    end_adj: float | None = None  # latest time seen so far, re-timed
    last_adj: float | None = None  # the time of the packet before, re-timed
    jumps: list[tuple[float, float]] = []  # (clip time where the clock jumped, by how much; back < 0)
    times: array.array[float] = array.array("d")  # every counted frame's re-timed time

    def frame_step() -> float:
        """A frame's length: the smallest gap between the latest frames in showing order (B-frames fill in
        the gaps decode order leaves), or the nominal rate before there are two."""
        ordered = sorted(times[-32:])
        gaps = [b - a for a, b in zip(ordered, ordered[1:], strict=False) if b - a >= 1 / MAX_FPS]
        return min(gaps) if gaps and min(gaps) <= HOLE_S else nominal_frame_s

    def analyse_frame(frame: Any) -> None:
        nonlocal decoded, t0, t_last, next_sample, prev, small_size, blur_size, rotation
        if not decoded:
            rotation = rotation_of(frame)
        ft = frame.time
        if ft is None:  # no timestamps at all: fall back to the nominal rate
            ft = decoded * nominal_frame_s
        if t0 is None:
            t0 = ft
        # max(): an out-of-order timestamp from a broken muxer must not make time run backwards.
        t = ft - t0 if not decoded else max(ft - t0, t_last)
        decoded += 1
        t_last = t
        reasons = keyframes.due(t)
        if t + 1e-6 >= next_sample:
            next_sample = (math.floor((t + 1e-6) / sample_step) + 1) * sample_step
            grey = _grey(frame)
            if small_size is None or blur_size is None:
                h, w = grey.shape
                small_size = (SMALL_WIDTH, max(2, int(round(SMALL_WIDTH * h / w))))
                blur_size = (BLUR_WIDTH, max(2, int(round(BLUR_WIDTH * h / w))))
            small = cv2.resize(grey, small_size, interpolation=cv2.INTER_LINEAR)
            blur = cv2.resize(small, blur_size, interpolation=cv2.INTER_AREA)
            sample = make_sample(t, small, blur, prev)
            dark.process_frame(sample)
            frozen.process_frame(sample)
            if cuts.process_frame(sample):
                reasons.append("scene_change")
            prev = sample
        if reasons:
            keyframes.add(t, reasons, frame)

    try:
        for packet in container.demux(stream):
            if packet.size == 0:  # end of stream: drain the decoder
                for frame in stream.decode(packet):
                    analyse_frame(frame)
                continue
            pts = packet.pts if packet.pts is not None else packet.dts
            pt: float | None = None
            if pts is not None and time_base:
                raw = pts * time_base
                ticks = shifts[bisect.bisect_left(bounds, raw) - 1] if bounds and raw > bounds[0] else 0
                pt = (pts - ticks) * time_base
                if end_adj is not None and end_raw is not None and not packet.is_discard:
                    if pt - end_adj > JUMP_S:  # jumped on: go on a frame after the frames before it
                        step = frame_step()
                        # As many frames on as the decoder may still show before this one (B-frames).
                        lead = step * (1 + max(0, int(getattr(ctx, "reorder_depth", 0) or 0)))
                        at = end_adj + lead - step  # the last frame before the jump, as far as is known
                        jumps.append((at - (t0 if t0 is not None else end_adj), pt - end_adj))
                        bounds.append(end_raw + JUMP_S / 2)
                        shifts.append(ticks + int(round((pt - end_adj - lead) / time_base)))
                        ticks = shifts[-1]
                        pt = (pts - ticks) * time_base
                    elif last_adj is not None and last_adj - pt > JUMP_S:  # set back: said only (once)
                        jumps.append((last_adj - (t0 if t0 is not None else last_adj), pt - last_adj))
                if ticks:
                    if packet.pts is not None:
                        packet.pts -= ticks
                    if packet.dts is not None:
                        packet.dts -= ticks
                if not packet.is_discard:
                    last_adj = pt
                    end_raw = raw if end_raw is None else max(end_raw, raw)
                    end_adj = pt if end_adj is None else max(end_adj, pt)
                    times.append(pt)
            if fast_decode:
                # Until clip time 0 is known, and from the next interval or key moment on, decode in full.
                skip = t0 is not None and pt is not None and pt - t0 + 1e-6 < keyframes.next_due()
                if skip != skipping:
                    ctx.skip_frame = SKIP_FRAMES if skip else "DEFAULT"
                    skipping = skip
            for frame in stream.decode(packet):
                analyse_frame(frame)
            if packet.is_discard:  # before the edit list's start: not part of the clip
                continue
            count += 1
            if pt is None:
                pt = (count - 1) * nominal_frame_s
            pkt_s = packet.duration * time_base if packet.duration and time_base else None
            if end_t is None or pt > end_t:
                end_frame_s = pkt_s or (pt - end_t if end_t is not None else None)
                end_t = pt
            if progress is not None and t0 is not None and count % PROGRESS_EVERY_FRAMES == 0:
                # By time when the header gives a length, by bytes read in any case (a file with no length,
                # or a length a clock jump made absurd, still shows progress, and the stuck sweep sees it).
                by_time = (pt - t0) / claimed_s if claimed_s else 0.0
                by_bytes = packet.pos / size_bytes if packet.pos and packet.pos > 0 else 0.0
                fraction = min(1.0, max(last_progress, by_time, by_bytes))
                last_progress = fraction
                progress(fraction)
    except (av.error.FFmpegError, ValueError, OSError) as exc:
        decode_error = _short(exc)

    if decoded == 0 or t0 is None or end_t is None:
        raise VideoOpenFailure(f"{name}: no video frames could be decoded")

    # The last frame's own length, but never a stretch with no frames (one frame "lasting" 46 hours).
    frame_s = end_frame_s if end_frame_s and 0 < end_frame_s <= HOLE_S else min(frame_step(), HOLE_S)
    duration = max(end_t - t0, t_last) + frame_s
    segments = dark.finish(duration) + frozen.finish(duration)
    segments.sort(key=lambda s: (float(s["start"]), str(s["kind"])))
    cuts.finish(duration)

    notes: list[str] = []
    for t_m, label in keyframes.ignored + keyframes.moments:
        notes.append(f"key moment '{label}' at {t_m:.1f} s is outside the clip (0-{duration:.1f} s); ignored")

    findings: list[dict[str, str]] = []
    holes: list[tuple[float, float]] = []  # (clip time where it starts, seconds)
    crowded = 0
    ordered = sorted(times)
    set_back = any(g < 0 for _, g in jumps)  # then the times in order say nothing of stretches without frames
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b - a > HOLE_S and not set_back:
            holes.append((a - t0, b - a))
        elif b - a < 1 / MAX_FPS:  # two frames at one time, too (a clock set back over frames already shown)
            crowded += 1
    if jumps:
        back = sum(1 for _, g in jumps if g < 0)
        findings.append({
            "kind": "timestamp_jump",
            "detail": f"the file's clock jumps {_times(len(jumps))}"
            + (f" ({back} of them back)" if back and back < len(jumps) else " back" if back else "")
            + f", {sum(abs(g) for _, g in jumps):.0f} s in all, the first at {max(0.0, jumps[0][0]):.1f} s: "
            "the clip's length is counted from its frames",
        })  # fmt: skip
    if holes:
        longest = max(holes, key=lambda h: h[1])
        findings.append({
            "kind": "timestamp_gap",
            "detail": f"{len(holes)} {'stretch' if len(holes) == 1 else 'stretches'} with no frames, "
            f"{sum(h for _, h in holes):.1f} s in all (the longest {longest[1]:.1f} s, at {longest[0]:.1f} s): "
            "the picture stands still there",
        })  # fmt: skip
    if duration > 0 and count / duration > MAX_FPS:
        findings.append({
            "kind": "frame_rate_implausible",
            "detail": f"{count} frames in {duration:.3f} s ({count / duration:.0f} a second): no body-worn camera "
            "records that fast, so the file's times cannot be trusted",
        })  # fmt: skip
    elif crowded >= max(3, 0.01 * count):  # a stretch of them, not a muxer's rounding here and there
        findings.append({
            "kind": "frame_rate_implausible",
            "detail": f"{crowded} frames come less than {1000 / MAX_FPS:.1f} ms after the one before: no body-worn "
            "camera records that fast, so the file's times cannot be trusted",
        })  # fmt: skip
    truncated = decode_error is not None
    if truncated:
        findings.append({
            "kind": "truncated",
            "detail": f"decoding stopped at {duration:.1f} s ({decode_error}); analysed the part that reads",
        })  # fmt: skip
    if claimed_s is not None and _mismatch(claimed_s, duration, frame_s):
        if claimed_s > duration:
            kind = "truncated_or_edited"
            truncated = True
        else:
            kind = "duration_mismatch"
        findings.append({
            "kind": kind,
            "detail": f"the file's header claims {claimed_s:.2f} s but {duration:.2f} s of video decodes",
        })  # fmt: skip
    if claimed_frames is not None and abs(claimed_frames - count) > max(2, 0.02 * claimed_frames):
        findings.append({
            "kind": "frame_count_mismatch",
            "detail": f"the file's header claims {claimed_frames} frames but {count} decode",
        })  # fmt: skip
    if claimed_duration_s is not None and _mismatch(claimed_duration_s, duration, frame_s):
        findings.append({
            "kind": "metadata_duration_mismatch",
            "detail": f"the upload metadata states {claimed_duration_s:.2f} s but {duration:.2f} s of video "
            f"decodes ({'shorter' if duration < claimed_duration_s else 'longer'} than stated)",
        })  # fmt: skip

    film = keyframes.filmstrip()
    if progress is not None:
        progress(1.0)
    return AnalysisResult(
        duration_s=round(duration, 3),
        frame_count=count,
        fps=round(count / duration, 3) if duration > 0 else 0.0,
        # As shown: a portrait recording stored on its side (a display rotation of 90) is tall, not wide.
        width=int(stream.codec_context.height if rotation in (90, 270) else stream.codec_context.width),
        height=int(stream.codec_context.width if rotation in (90, 270) else stream.codec_context.height),
        codec=codec,
        container=_container_name(path, container.format.name),
        claimed={
            "container_duration_s": round(claimed_s, 3) if claimed_s is not None else None,
            "container_frames": claimed_frames,
            "metadata_duration_s": claimed_duration_s,
        },
        truncated=truncated,
        findings=findings,
        keyframes=keyframes.records,
        segments=segments,
        filmstrip=film,
        decode_seconds=round(time.perf_counter() - started, 3),
        frames_decoded=decoded,
        notes=notes,
    )
