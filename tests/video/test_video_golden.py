"""Golden tests: clips with known cuts, dark and frozen stretches, at several sensor-noise levels."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from workers.video.pipeline import analyse_file
from workers.video.synth import SynthClip

TOL_S = 0.5
KEY_MOMENTS = [(12.5, "force_started"), (18.2, "force_ended"), (99.0, "after_the_end")]


@pytest.fixture(scope="session")
def golden_result(golden_clip: SynthClip, tmp_path_factory: pytest.TempPathFactory):
    thumbs = tmp_path_factory.mktemp(f"thumbs_{golden_clip.path.stem}")
    result = analyse_file(golden_clip.path, key_moments=KEY_MOMENTS, thumbs_dir=thumbs)
    return result, thumbs


def test_measures_duration_frames_and_size(golden_clip: SynthClip, golden_result) -> None:
    result, _ = golden_result
    assert result.frame_count == golden_clip.frame_count
    assert result.duration_s == pytest.approx(golden_clip.duration_s, abs=1 / golden_clip.fps)
    assert result.fps == pytest.approx(25.0, abs=0.01)
    assert (result.width, result.height, result.codec, result.container) == (320, 180, "h264", "mp4")
    assert result.truncated is False
    assert result.findings == []


def test_every_cut_found_and_no_false_cuts(golden_result, golden_truth) -> None:
    result, _ = golden_result
    found = [k["t"] for k in result.keyframes if k["reason"] == "scene_change"]
    assert len(found) == len(golden_truth["scenes"]), found
    for expected, got in zip(golden_truth["scenes"], found, strict=True):
        assert abs(got - expected) <= TOL_S, (expected, got)


def test_dark_and_frozen_segments(golden_result, golden_truth) -> None:
    result, _ = golden_result
    dark = [s for s in result.segments if s["kind"] == "dark"]
    frozen = [s for s in result.segments if s["kind"] == "frozen"]
    assert len(dark) == 1 and len(frozen) == 1, result.segments
    (d0, d1), (f0, f1) = golden_truth["dark"][0], golden_truth["frozen"][0]
    assert dark[0]["start"] == pytest.approx(d0, abs=TOL_S)
    assert dark[0]["end"] == pytest.approx(d1, abs=TOL_S)
    assert frozen[0]["start"] == pytest.approx(f0, abs=TOL_S)
    assert frozen[0]["end"] == pytest.approx(f1, abs=TOL_S)


def test_interval_and_key_moment_keyframes(golden_result) -> None:
    result, _ = golden_result
    interval = [k["t"] for k in result.keyframes if k["reason"] == "interval"]
    assert interval == [0.0, 10.0, 20.0]
    moments = {k["reason"]: k["t"] for k in result.keyframes if k["reason"].startswith("force")}
    assert moments == {"force_started": 12.52, "force_ended": 18.2}  # first frame at or after the moment
    assert any("after_the_end" in note for note in result.notes)
    assert not any(k["reason"] == "after_the_end" for k in result.keyframes)


def test_thumbnails_and_filmstrip_written(golden_result) -> None:
    result, thumbs = golden_result
    files = {k["file"] for k in result.keyframes}
    assert files and all((thumbs / f).is_file() for f in files)
    first = cv2.imread(str(thumbs / sorted(files)[0]))
    assert first.shape == (180, 320, 3)
    assert result.filmstrip == "filmstrip.jpg"
    strip = cv2.imread(str(thumbs / "filmstrip.jpg"))
    assert strip.shape[0] == 80 and strip.shape[1] > 80 * len(files)


def test_result_is_json(golden_result) -> None:
    result, _ = golden_result
    data = json.loads(json.dumps(result.to_dict()))
    assert {
        "duration_s",
        "frame_count",
        "fps",
        "width",
        "height",
        "codec",
        "container",
        "claimed",
        "truncated",
        "findings",
        "keyframes",
        "segments",
        "filmstrip",
        "decode_seconds",
    } <= set(data)
    assert set(data["claimed"]) == {"container_duration_s", "container_frames", "metadata_duration_s"}
    assert data["segments"][0].keys() == {"kind", "start", "end"}


def test_covered_lens_without_noise_is_dark_not_frozen(clip_dir: Path) -> None:
    from workers.video.synth import make_clip

    clip = make_clip(clip_dir / "covered.mp4", seconds=8, size=(320, 180), dark=[(2.0, 6.0)], noise=0)
    result = analyse_file(clip.path)
    assert [s["kind"] for s in result.segments] == ["dark"]
    assert not [k for k in result.keyframes if k["reason"] == "scene_change"]


def test_short_stretches_below_minimum_are_ignored(clip_dir: Path) -> None:
    from workers.video.synth import make_clip

    clip = make_clip(clip_dir / "brief.mp4", seconds=6, size=(320, 180), dark=[(1.0, 2.0)], frozen=[(3.0, 4.0)])
    assert analyse_file(clip.path).segments == []
    result = analyse_file(clip.path, dark_min_s=0.6, frozen_min_s=0.6)
    assert sorted(s["kind"] for s in result.segments) == ["dark", "frozen"]


def test_progress_is_monotonic_and_ends_at_one(short_clip: SynthClip) -> None:
    seen: list[float] = []
    analyse_file(short_clip.path, progress=seen.append)
    assert seen[-1] == 1.0
    assert all(0.0 <= a <= b <= 1.0 for a, b in zip(seen, seen[1:], strict=False))
    assert len(seen) > 1


def test_demo_clip_is_playable_h264_with_known_content(clip_dir: Path) -> None:
    from workers.video.synth import make_demo_clip

    clip = make_demo_clip(clip_dir / "demo.mp4", seconds=10)
    result = analyse_file(clip.path, dark_min_s=1.5)
    assert (result.codec, result.container, result.frame_count) == ("h264", "mp4", 250)
    assert [s["kind"] for s in result.segments] == ["dark"]
    assert len([k for k in result.keyframes if k["reason"] == "scene_change"]) == 2
