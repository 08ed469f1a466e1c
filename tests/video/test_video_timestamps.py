"""Files whose clocks lie: timestamps that jump, stretches with no frames, frames far apart, a small preview
stream before the recording, a picture larger than any body-worn camera's (found by an adversarial probe).

A jump of 10^11 s between two frames hung the worker for hours (keyframe and sample times were stepped
through one at a time), and one of 10^7 s made an 8-second clip count as covering an incident 30 minutes
later, with a green suggestion."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from app.rating.models import Rag
from app.rating.rules import clip_facts, suggest
from workers.video.errors import VideoOpenFailure
from workers.video.pipeline import MAX_THUMBNAILS, analyse_file


def _write(
    path: Path,
    times: list[float],
    *,
    size: tuple[int, int] = (160, 90),
    codec: str = "libx264",
    b_frames: int = 0,
) -> Path:
    """A clip with one frame at each of `times` (seconds, as the file's clock gives them), in the container
    its suffix names (.mkv, .mp4, .mov); `b_frames`: frames shown in another order than decoded."""
    w, h = size
    rng = np.random.default_rng(3)
    fmt = {".mkv": "matroska", ".mp4": "mp4", ".mov": "mov"}[path.suffix]
    with av.open(str(path), mode="w", format=fmt) as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p" if codec == "libx264" else "yuvj420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast", "bf": str(b_frames)} if b_frames else {"preset": "ultrafast"}
        stream.codec_context.time_base = Fraction(1, 1000)
        for i, t in enumerate(times):
            img = np.full((h, w, 3), 40 + (i * 7) % 180, np.uint8)
            img[: h // 2, : w // 3] = rng.integers(0, 255, size=(h // 2, w // 3, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = int(round(t * 1000))
            frame.time_base = Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def _frames(seconds: float, start: float = 0.0, fps: int = 25) -> list[float]:
    return [start + i / fps for i in range(int(seconds * fps))]


JUMPS = [
    (1e11, ".mkv", 0),
    (1e7, ".mkv", 0),
    (3600.0, ".mkv", 0),
    # An MP4's or MOV's average frame rate is its frames over its header's length, which the jump stretches:
    # going on "a frame" after the jump at that rate put the next frame hours on (found by review). (An MP4's
    # 1/16000 s clock cannot hold a jump of 10^7 s at all: see the crowded frames below.)
    (36000.0, ".mp4", 0),
    (3600.0, ".mov", 0),
    # With B-frames the first packet after the jump in decode order is shown after frames decoded later:
    # those stayed on the jumped clock (found by review).
    (1e7, ".mkv", 3),
    (36000.0, ".mp4", 3),
]


@pytest.mark.parametrize(("jump", "suffix", "b_frames"), JUMPS)
def test_a_jumping_clock_neither_hangs_nor_counts_time_with_no_frames(
    jump: float, suffix: str, b_frames: int, tmp_path: Path
) -> None:
    path = _write(tmp_path / f"jump{suffix}", _frames(4) + _frames(4, start=4 + jump), b_frames=b_frames)
    began = time.perf_counter()
    r = analyse_file(path, thumbs_dir=tmp_path / "thumbs", key_moments=[(6.0, "force_started")])
    assert time.perf_counter() - began < 60, "took as long as a hang"
    # 200 frames at 25 fps: the jump is not recorded time (B-frames shown before the jump's first packet may
    # land on the frames before it: a frame or two).
    assert 7.75 < r.duration_s < 8.2, r.duration_s
    assert r.frame_count == 200 and 24 < r.fps < 26
    kinds = [f["kind"] for f in r.findings]
    assert "timestamp_jump" in kinds, r.findings
    said = next(f["detail"] for f in r.findings if f["kind"] == "timestamp_jump")
    assert "the first at 3.9 s" in said or "the first at 4.0 s" in said, said
    # Keyframes on the frames' own clock: every 10 s (just the first here) and the moment at 6 s.
    marks = [(k["t"], k["reason"]) for k in r.keyframes if k["reason"] != "scene_change"]
    assert [m[1] for m in marks] == ["interval", "force_started"] and marks[0][0] == 0.0, marks
    assert 5.8 <= marks[1][0] <= 6.1, marks
    # Placed against an incident whose force began 30 minutes after the clip's first frame, it covers none
    # of it and is not suggested green (it was "The whole force window is on this clip").
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    facts = clip_facts(
        analysed=True, recording_started_at=start, duration_s=r.duration_s, activated_at=None, prerecord_s=0,
        force_started_at=start + timedelta(minutes=30), force_ended_at=start + timedelta(minutes=32),
        findings=kinds,
    )  # fmt: skip
    assert facts.coverage == 0 and suggest(facts).rag == Rag.red


def _set_back(tmp_path: Path, first: float, then: float, to: float) -> Path:
    """4 s of frames from `first`, 4 s from `then`, then the second Matroska cluster's time set to `to`."""
    ahead = _write(tmp_path / "ahead.mkv", _frames(4, start=first) + _frames(4, start=then))
    data = bytearray(ahead.read_bytes())
    ms = int(then * 1000)
    n = max(1, (ms.bit_length() + 7) // 8)
    cluster = bytes([0xE7, 0x80 | n]) + ms.to_bytes(n, "big")  # a Cluster Timestamp element, in ms
    at = data.find(cluster)
    assert at > 0
    data[at + 2 : at + 2 + n] = int(to * 1000).to_bytes(n, "big")
    back = tmp_path / "back.mkv"
    back.write_bytes(bytes(data))
    return back


SET_BACK = [(1000.0, 0.0, "timestamp_jump"), (0.0, 0.0, "frame_rate_implausible")]


@pytest.mark.parametrize(("first", "to", "said"), SET_BACK)
def test_a_clock_set_back_is_said(first: float, to: float, said: str, tmp_path: Path) -> None:
    """A clock set back (a Matroska cluster's time): 200 frames came out as a 4 s clip and nothing was said
    (found by review). The frames after such a jump cannot be told from those before by their times (taking it
    out went wrong with B-frames): the clip is flagged, and its length is never more than its frames. Set back
    over frames already shown, two frames share each time."""
    r = analyse_file(_set_back(tmp_path, first, 5000.0, to))
    assert r.duration_s <= 8.2 and r.frame_count == 200, r.duration_s
    assert said in [f["kind"] for f in r.findings], r.findings
    assert "timestamp_gap" not in [f["kind"] for f in r.findings]
    if said == "timestamp_jump":
        assert "jumps once back" in next(f["detail"] for f in r.findings if f["kind"] == said), r.findings


def test_frames_crowded_together_are_said(tmp_path: Path) -> None:
    """An MP4's clock (1/16000 s) cannot hold a jump of 10^7 s: its muxer wrote the 100 frames after it a tick
    apart, 100 frames in 6 ms, and nothing was flagged (the clip's average rate looked like 50 a second)."""
    r = analyse_file(_write(tmp_path / "crowded.mp4", _frames(4) + _frames(4, start=4 + 1e7)))
    assert "frame_rate_implausible" in [f["kind"] for f in r.findings], r.findings


@pytest.mark.parametrize("hole", [3.0, 30.0, 59.0])
def test_a_stretch_with_no_frames_and_b_frames_is_counted_once(hole: float, tmp_path: Path) -> None:
    """With B-frames, the frames decoded after the first one past a stretch with no frames are shown before
    it: they were taken for a clock set back, and the stretch was counted twice (found by re-review)."""
    r = analyse_file(_write(tmp_path / "hole.mp4", _frames(4) + _frames(4, start=4 + hole), b_frames=3))
    assert abs(r.duration_s - (8 + hole)) < 0.1, r.duration_s
    kinds = [f["kind"] for f in r.findings]
    assert kinds.count("timestamp_gap") == 1 and "timestamp_jump" not in kinds, r.findings


def test_a_slow_clip_with_b_frames_has_no_findings(tmp_path: Path) -> None:
    """A frame a second with B-frames: decode order alone puts frames more than 2 s apart (re-review)."""
    r = analyse_file(_write(tmp_path / "slow.mkv", [float(i) for i in range(40)], b_frames=3))
    assert 39 <= r.duration_s <= 40.1 and r.findings == [], (r.duration_s, r.findings)


def test_a_stretch_with_no_frames_is_kept_in_time_and_said(tmp_path: Path) -> None:
    """A few seconds with no frames (the player shows the last one standing still) keep their place in time,
    so the times after them still match the recording's clock, and the clip is flagged."""
    path = _write(tmp_path / "hole.mkv", _frames(4) + _frames(4, start=9.0))
    r = analyse_file(path)
    assert 12.9 < r.duration_s < 13.1, r.duration_s
    gap = next(f for f in r.findings if f["kind"] == "timestamp_gap")
    assert gap["detail"].startswith("1 stretch with no frames, 5.0 s in all"), gap["detail"]
    assert "timestamp_jump" not in [f["kind"] for f in r.findings]


def test_frames_far_apart_make_a_bounded_number_of_thumbnails(tmp_path: Path) -> None:
    """20,000 frames 10 s apart made 20,000 keyframe thumbnails (237 MB); interval keyframes stop at a cap."""
    n = MAX_THUMBNAILS + 150
    path = _write(tmp_path / "sparse.mkv", [i * 10.0 for i in range(n)], size=(64, 36))
    late = (n - 5) * 10.0  # a moment after the cap: still kept (force began must never be dropped)
    r = analyse_file(path, thumbs_dir=tmp_path / "thumbs", key_moments=[(late, "force_started")])
    assert len(r.keyframes) == MAX_THUMBNAILS + 1 and r.keyframes[-1] == {
        "t": late,
        "reason": "force_started",
        "file": r.keyframes[-1]["file"],
    }
    assert len(list((tmp_path / "thumbs").glob("kf_*.jpg"))) <= MAX_THUMBNAILS + 1
    assert any(f["kind"] == "timestamp_gap" for f in r.findings)


def test_impossible_frame_times_are_said_and_not_counted_as_time(tmp_path: Path) -> None:
    """125 frames a microsecond apart were a clip of 0.0 s with no finding; one frame "lasting" 46 hours was
    a 46-hour clip."""
    fast = analyse_file(_write(tmp_path / "fast.mkv", [i / 1e6 for i in range(125)]))
    assert [f["kind"] for f in fast.findings].count("frame_rate_implausible") == 1, fast.findings
    long = analyse_file(_write(tmp_path / "long.mkv", [0.0, 0.04, 0.08, 36000.0]))
    assert long.duration_s < 1, long.duration_s
    assert "timestamp_jump" in [f["kind"] for f in long.findings]


def test_the_recording_is_analysed_not_a_small_stream_before_it(tmp_path: Path) -> None:
    path = tmp_path / "two.mkv"
    with av.open(str(path), mode="w", format="matroska") as out:
        streams = []
        for w, h in ((160, 90), (640, 360)):
            s = out.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            s.options = {"preset": "ultrafast"}
            streams.append((s, w, h))
        for i in range(50):
            for s, w, h in streams:
                frame = av.VideoFrame.from_ndarray(np.full((h, w, 3), i * 4, np.uint8), format="bgr24")
                frame.pts = i
                for packet in s.encode(frame):
                    out.mux(packet)
        for s, _, _ in streams:
            for packet in s.encode(None):
                out.mux(packet)
    r = analyse_file(path)
    assert (r.width, r.height) == (640, 360)


def test_the_recording_is_analysed_not_a_still_before_it(tmp_path: Path) -> None:
    """A one-picture stream (a preview or cover) ahead of the recording: the recording is analysed."""
    path = tmp_path / "two.mp4"
    with av.open(str(path), mode="w", format="mp4") as out:
        still = out.add_stream("mjpeg", rate=25)
        still.width, still.height, still.pix_fmt = 1280, 720, "yuvj420p"
        video = out.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt = 640, 360, "yuv420p"
        video.options = {"preset": "ultrafast"}
        frame = av.VideoFrame.from_ndarray(np.full((720, 1280, 3), 90, np.uint8), format="bgr24")
        frame.pts = 0
        for packet in [*still.encode(frame), *still.encode(None)]:
            out.mux(packet)
        for i in range(50):
            frame = av.VideoFrame.from_ndarray(np.full((360, 640, 3), i * 4, np.uint8), format="bgr24")
            frame.pts = i
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
    r = analyse_file(path)
    assert (r.width, r.height, r.codec) == (640, 360, "h264") and 1.9 < r.duration_s < 2.1, r


def test_a_picture_larger_than_any_camera_records_is_refused_before_decoding(tmp_path: Path) -> None:
    """A 750 KB file of 16000x16000 frames took 1.9 GB to decode, more with each decoder thread."""
    path = _write(tmp_path / "huge.mkv", [0.0], size=(7696, 4320), codec="mjpeg")
    with pytest.raises(VideoOpenFailure, match=r"upload\.mp4: its picture is 7696×4320, larger than"):
        analyse_file(path, name="upload.mp4")


def test_messages_name_the_file_as_uploaded(tmp_path: Path) -> None:
    """The worker analyses a file stored under its hash: a failure said "bc4916d9…: the file has no video"."""
    stored = tmp_path / ("ab" * 32)
    stored.write_bytes(b"incident log: 14:02 restraint applied\n" * 60)
    with pytest.raises(VideoOpenFailure) as info:
        analyse_file(stored, name="BWV-0042_clip.mp4")
    assert str(info.value).startswith("BWV-0042_clip.mp4: ") and "abab" not in str(info.value)


def test_a_picture_stored_on_its_side_is_reported_and_shown_upright(tmp_path: Path) -> None:
    """A recording whose file says to turn it 90° was reported 640×360 with landscape thumbnails, while
    players show it portrait. The turn is FFmpeg's (counter-clockwise): a block at the stored picture's top
    left is at the bottom left as shown."""
    import cv2

    path = tmp_path / "turned.mp4"
    w, h = 320, 180
    with av.open(str(path), mode="w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.set_display_rotation(90)
        for i in range(25):
            img = np.zeros((h, w, 3), np.uint8)
            img[: h // 3, : w // 4] = (0, 0, 255)
            frame = av.VideoFrame.from_ndarray(img, format="bgr24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    r = analyse_file(path, thumbs_dir=tmp_path / "thumbs")
    assert (r.width, r.height) == (180, 320)
    thumb = cv2.imread(str(tmp_path / "thumbs" / r.keyframes[0]["file"]))
    th, tw = thumb.shape[:2]
    assert th > tw, thumb.shape
    red = thumb[:, :, 2].astype(int) - thumb[:, :, 1].astype(int)
    assert red[-th // 6 :, : tw // 6].mean() > 150 and red[: th // 6, : tw // 6].mean() < 50
