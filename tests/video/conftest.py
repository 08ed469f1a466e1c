"""Clips generated once per session: encoding is the slow part of the video tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # lets `pytest tests/video` work without an installed package
    sys.path.insert(0, str(ROOT))

from workers.video.synth import SynthClip, make_clip  # noqa: E402

# Ground truth for the golden clip: cuts, a noisy covered-lens stretch and a frozen stretch.
GOLDEN = {
    "seconds": 24.0,
    "scenes": [3.0, 6.0, 15.0, 21.0],
    "dark": [(8.0, 10.5)],
    "frozen": [(11.5, 14.0)],
}


@pytest.fixture(scope="session")
def golden_truth() -> dict:
    return GOLDEN


@pytest.fixture(scope="session")
def clip_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session", params=[0, 8, 16], ids=lambda n: f"noise{n}")
def golden_clip(request: pytest.FixtureRequest, clip_dir: Path) -> SynthClip:
    noise = request.param
    return make_clip(
        clip_dir / f"golden_{noise}.mp4",
        seconds=GOLDEN["seconds"],
        size=(320, 180),
        scenes=GOLDEN["scenes"],
        dark=GOLDEN["dark"],
        frozen=GOLDEN["frozen"],
        noise=noise,
        overlay_text="BWV 0042",
        seed=noise,
    )


@pytest.fixture(scope="session")
def short_clip(clip_dir: Path) -> SynthClip:
    return make_clip(clip_dir / "short.mp4", seconds=8, size=(320, 180), scenes=[4.0], noise=8)


@pytest.fixture(scope="session")
def short_clip_moov_at_end(clip_dir: Path) -> SynthClip:
    return make_clip(clip_dir / "short_nofs.mp4", seconds=8, size=(320, 180), noise=8, faststart=False)


@pytest.fixture(scope="session")
def vfr_clip(clip_dir: Path) -> SynthClip:
    return make_clip(clip_dir / "vfr.mp4", seconds=9, size=(320, 180), vfr=True, scenes=[4.0], noise=8)
