"""Keyframes at chosen clip times by seeking (workers.video.moments): the same frames and clip times as the
full pass picks for the same moments, on constant and variable frame rate clips, and a few frames decoded
rather than the whole clip."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest

import workers.video.moments as moments_mod
from workers.video.errors import VideoOpenFailure
from workers.video.moments import frames_at
from workers.video.pipeline import analyse_file
from workers.video.synth import SynthClip

# Exact frame times, between frames, both at one frame, before the clip, past its end.
MOMENTS = [
    (0.0, "force_started"),
    (0.9, "force_ended"),
    (2.5, "force_started"),
    (2.51, "force_ended"),
    (6.03, "force_started"),
    (7.96, "force_ended"),
    (-1.0, "force_started"),
    (50.0, "force_ended"),
]


def _full_pass(path: Path, moments: list[tuple[float, str]]) -> list[tuple[float, str]]:
    result = analyse_file(path, key_moments=moments, interval_s=0)
    return sorted((k["t"], k["reason"]) for k in result.keyframes if k["reason"].startswith("force"))


@pytest.mark.parametrize("name", ["short_clip", "vfr_clip"])
def test_same_frames_as_the_full_pass(name: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    clip: SynthClip = request.getfixturevalue(name)
    moments = [(t, label) for t, label in MOMENTS if t < clip.duration_s or t > 40]
    records = frames_at(clip.path, moments, thumbs_dir=tmp_path)
    got = sorted((r["t"], r["reason"]) for r in records)
    assert got == _full_pass(clip.path, moments)
    assert len(got) == len([m for m in moments if 0 <= m[0] < clip.duration_s])  # before / past the end: none
    for r in records:
        assert min(abs(r["t"] - ft) for ft in clip.frame_times) < 0.0015  # a real frame's time
    # One thumbnail per distinct frame, a real JPEG.
    files = {r["file"] for r in records}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)
    img = cv2.imread(str(tmp_path / sorted(files)[0]))
    assert img is not None and img.shape[1] == 320


def test_seeks_instead_of_decoding_the_whole_clip(short_clip: SynthClip, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = {"n": 0}
    real = moments_mod._Reader._next_raw

    def counting(self):  # type: ignore[no-untyped-def]
        frame = real(self)
        decoded["n"] += frame is not None
        return frame

    monkeypatch.setattr(moments_mod._Reader, "_next_raw", counting)
    records = frames_at(short_clip.path, [(6.95, "force_started")])
    assert [r["t"] for r in records] == [6.96]
    # The first frame (clip time zero), then on from the key frame before 6.95 s (one every 2 s or at a cut):
    # well under the 175 frames a decode from the start needs.
    assert decoded["n"] < 0.6 * short_clip.frame_count, decoded


def test_no_moments_and_bad_files(short_clip: SynthClip, tmp_path: Path) -> None:
    assert frames_at(short_clip.path, []) == []
    assert frames_at(short_clip.path, [(-3.0, "force_started")]) == []
    bogus = tmp_path / "statement.mp4"
    bogus.write_bytes(b"%PDF-1.7\n" + b"not a video " * 100)
    with pytest.raises(VideoOpenFailure):
        frames_at(bogus, [(1.0, "force_started")])
