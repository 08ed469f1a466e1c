"""The decoder skips non-reference frames; what it finds must match decoding every frame in full."""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.video.pipeline import analyse_file
from workers.video.synth import SynthClip, make_clip

# A scene only 1.2 s long (two cuts just above the 1 s merge gap), a 1 s freeze and a 1 s covered lens.
SCENES = [3.0, 4.2, 7.0]
FROZEN = [(5.0, 6.0)]
DARK = [(8.0, 9.0)]
MOMENTS = [(5.01, "force_started"), (6.53, "force_ended")]
TOL_S = 0.25


@pytest.fixture(scope="module", params=[8, 16], ids=lambda n: f"noise{n}")
def brief_events_clip(request: pytest.FixtureRequest, clip_dir: Path) -> SynthClip:
    return make_clip(
        clip_dir / f"brief_events_{request.param}.mp4",
        seconds=10,
        size=(320, 180),
        scenes=SCENES,
        frozen=FROZEN,
        dark=DARK,
        noise=request.param,
        seed=request.param + 3,
    )


def _analyse(clip: SynthClip, fast: bool):
    return analyse_file(
        clip.path, key_moments=MOMENTS, dark_min_s=0.6, frozen_min_s=0.6, interval_s=2.0, fast_decode=fast
    )


def test_skipping_frames_keeps_short_cuts_freezes_and_exact_keyframes(brief_events_clip: SynthClip) -> None:
    fast, full = _analyse(brief_events_clip, True), _analyse(brief_events_clip, False)

    # The fast path really skipped frames (libx264 writes non-reference B-frames), yet counts all of them.
    assert full.frames_decoded == full.frame_count == brief_events_clip.frame_count
    assert fast.frames_decoded < 0.8 * fast.frame_count
    assert fast.frame_count == brief_events_clip.frame_count
    assert fast.duration_s == pytest.approx(brief_events_clip.duration_s, abs=1e-3)
    assert fast.findings == [] and fast.truncated is False

    for result in (fast, full):
        cuts = [k["t"] for k in result.keyframes if k["reason"] == "scene_change"]
        assert cuts == pytest.approx(SCENES, abs=TOL_S)
        spans = sorted((s["kind"], s["start"], s["end"]) for s in result.segments)
        assert [s[0] for s in spans] == ["dark", "frozen"], spans
        assert spans[0][1:] == pytest.approx(DARK[0], abs=TOL_S)
        assert spans[1][1:] == pytest.approx(FROZEN[0], abs=TOL_S)

    # Interval and key-moment keyframes land on the very frame a full decode picks: the first at or after.
    times = brief_events_clip.frame_times

    def exact(res) -> list[tuple[str, float]]:
        return [(k["reason"], k["t"]) for k in res.keyframes if k["reason"] != "scene_change"]

    assert exact(fast) == exact(full)
    moments = {k["reason"]: k["t"] for k in fast.keyframes if k["reason"].startswith("force")}
    for t_m, label in MOMENTS:
        assert moments[label] == pytest.approx(min(t for t in times if t >= t_m - 1e-9), abs=1e-3)
    assert [t for reason, t in exact(fast) if reason == "interval"] == [0.0, 2.0, 4.0, 6.0, 8.0]
