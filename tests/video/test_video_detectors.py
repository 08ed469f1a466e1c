"""Each analyser alone, fed hand-made samples: no video decoding involved."""

from __future__ import annotations

import numpy as np
import pytest

from workers.video.detectors import CutDetector, DarkDetector, FrozenDetector, Sample, make_sample

RNG = np.random.default_rng(1)


def _picture(level: float, noise: float, seed: int, pattern: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.full((90, 160), level, np.float32)
    if pattern:
        base[:, : 40 * pattern] += 50
    return np.clip(base + rng.normal(0, noise, base.shape), 0, 255).astype(np.uint8)


def _samples(pictures: list[np.ndarray], hz: float = 5.0) -> list[Sample]:
    import cv2

    out: list[Sample] = []
    prev = None
    for i, grey in enumerate(pictures):
        blur = cv2.resize(grey, (40, 22), interpolation=cv2.INTER_AREA)
        prev = make_sample(i / hz, grey, blur, prev)
        out.append(prev)
    return out


def test_noisy_dark_never_cuts() -> None:
    samples = _samples([_picture(20, 12, seed=i) for i in range(50)])
    det = CutDetector()
    assert not any(det.process_frame(s) for s in samples)


def test_cut_in_noisy_light_material() -> None:
    pics = [_picture(120, 6, seed=i, pattern=1) for i in range(20)]
    pics += [_picture(120, 6, seed=100 + i, pattern=3) for i in range(20)]
    det = CutDetector()
    cuts = [s.t for s in _samples(pics) if det.process_frame(s)]
    assert cuts == [pytest.approx(20 / 5.0)]


def test_cuts_closer_than_min_gap_merge() -> None:
    pics = [_picture(120, 3, seed=i, pattern=(i // 2) % 2 + 1) for i in range(20)]  # flicker every 0.4 s
    det = CutDetector(min_gap_s=1.0)
    cuts = [s.t for s in _samples(pics) if det.process_frame(s)]
    assert all(b - a >= 1.0 for a, b in zip(cuts, cuts[1:], strict=False))


@pytest.mark.parametrize(
    ("pictures", "dark_spans", "frozen_spans"),
    [
        # 2 s live, 3 s exactly repeated, 2 s live
        (
            [_picture(120, 8, i, 1) for i in range(10)]
            + [_picture(120, 8, 999, 1)] * 15
            + [_picture(120, 8, 50 + i, 1) for i in range(10)],
            0,
            1,
        ),
        # a covered lens: dark and repeated -> dark only
        (
            [_picture(120, 8, i, 1) for i in range(10)]
            + [_picture(18, 0, 7)] * 15
            + [_picture(120, 8, 50 + i, 1) for i in range(10)],
            1,
            0,
        ),
        # noisy dark, changing every sample -> dark only
        ([_picture(18, 10, i) for i in range(20)], 1, 0),
        # a still but live (noisy) scene is not frozen
        ([_picture(120, 8, i, 2) for i in range(30)], 0, 0),
    ],
    ids=["frozen", "covered_lens", "noisy_dark", "live_still"],
)
def test_dark_and_frozen(pictures: list[np.ndarray], dark_spans: int, frozen_spans: int) -> None:
    samples = _samples(pictures)
    dark, frozen = DarkDetector(2.0), FrozenDetector(2.0)
    for s in samples:
        dark.process_frame(s)
        frozen.process_frame(s)
    end = samples[-1].t + 0.2
    assert len(dark.finish(end)) == dark_spans
    assert len(frozen.finish(end)) == frozen_spans
