"""Activation check: table-driven cases against one force window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from workers.video.activation import Clip, ForceWindow, check_activation, roll_up

T0 = datetime(2026, 11, 3, 14, 2, 0, tzinfo=UTC)
WINDOW = ForceWindow(T0, T0 + timedelta(seconds=60))


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


CASES = {
    # name: (clips, status, lag_s, caught_by_prerecord, coverage, stopped_early, n_gaps, compliant)
    "before_force": ([Clip(at(-30), 120, at(-30))], "before_force", -30.0, False, 1.0, False, 0, True),
    "activated_exactly_at_start": ([Clip(at(0), 90, at(0))], "before_force", 0.0, False, 1.0, False, 0, True),
    "late": ([Clip(at(20), 100, at(20))], "late", 20.0, False, 0.6667, False, 1, False),
    "late_caught_by_prerecord": (
        [Clip(at(-10), 100, at(20), prerecord_s=30)],
        "late",
        20.0,
        True,
        1.0,
        False,
        0,
        False,
    ),
    "after_force": ([Clip(at(90), 30, at(90))], "after_force", 90.0, False, 0.0, False, 1, False),
    "after_force_caught_by_prerecord": (
        [Clip(at(-5), 200, at(70), prerecord_s=75)],
        "after_force",
        70.0,
        True,
        1.0,
        False,
        0,
        False,
    ),
    "activation_defaults_to_start_plus_prerecord": (
        [Clip(at(-40), 200, None, prerecord_s=30)],
        "before_force",
        -10.0,
        False,
        1.0,
        False,
        0,
        True,
    ),
    "two_clips_with_a_gap": (
        [Clip(at(-10), 30, at(-10), footage_id=1), Clip(at(35), 60, at(35), footage_id=2)],
        "before_force",
        -10.0,
        False,
        0.75,
        False,
        1,
        False,
    ),
    "stopped_early": ([Clip(at(-10), 50, at(-10))], "before_force", -10.0, False, 0.6667, True, 1, False),
    "stopped_before_force_began": (
        [Clip(at(-100), 50, at(-100))],
        "before_force",
        -100.0,
        False,
        0.0,
        True,
        1,
        False,
    ),
    "no_footage": ([], "no_footage", None, False, 0.0, False, 1, False),
}


@pytest.mark.parametrize("name", list(CASES))
def test_activation_cases(name: str) -> None:
    clips, status, lag, caught, coverage, stopped, n_gaps, compliant = CASES[name]
    r = check_activation(clips, WINDOW, officer=name)
    assert (r.status, r.lag_s, r.caught_by_prerecord) == (status, lag, caught)
    assert r.coverage == pytest.approx(coverage, abs=1e-3)
    assert (r.stopped_early, len(r.gaps), r.compliant) == (stopped, n_gaps, compliant)


def test_gap_is_listed_with_its_times() -> None:
    r = check_activation([Clip(at(-10), 30, at(-10)), Clip(at(35), 60, at(35))], WINDOW)
    assert r.gaps == [(at(20), at(35))]
    assert r.to_dict()["gaps"] == [[at(20).isoformat(), at(35).isoformat()]]


def test_measured_not_claimed_duration_decides_coverage() -> None:
    # The camera claimed 120 s but only 40 s decodes: the check must use what was measured.
    r = check_activation([Clip(at(-10), measured_duration_s=40, activated_at=at(-10))], WINDOW)
    assert r.stopped_early and r.coverage == pytest.approx(0.5) and not r.compliant
    assert r.gaps == [(at(30), at(60))]


@pytest.mark.parametrize(
    ("clips", "coverage", "status"),
    [
        ([Clip(at(-5), 10, at(-5))], 1.0, "before_force"),
        ([Clip(at(5), 10, at(5))], 0.0, "after_force"),  # an instant window: after it, never "late"
        ([Clip(at(-50), 10, at(-50))], 0.0, "before_force"),
    ],
)
def test_zero_length_window(clips: list[Clip], coverage: float, status: str) -> None:
    window = ForceWindow(T0, T0)
    r = check_activation(clips, window)
    assert r.coverage == coverage
    assert r.status == status


def test_window_must_be_aware_and_ordered() -> None:
    with pytest.raises(ValueError):
        ForceWindow(datetime(2026, 1, 1), datetime(2026, 1, 1, 0, 1))
    with pytest.raises(ValueError):
        ForceWindow(at(10), at(0))


def test_roll_up() -> None:
    results = {
        "A": check_activation([Clip(at(-30), 120, at(-30))], WINDOW, officer="A"),
        "B": check_activation([Clip(at(20), 100, at(20))], WINDOW, officer="B"),
        "C": check_activation([], WINDOW, officer="C"),
    }
    summary = roll_up(results)
    assert summary["all_compliant"] is False
    assert summary["non_compliant"] == ["B", "C"]
    assert summary["by_status"] == {"before_force": 1, "late": 1, "no_footage": 1}
    assert summary["worst_lag_s"] == 20.0
    assert roll_up([results["A"]])["all_compliant"] is True
    assert roll_up([])["all_compliant"] is False


def test_a_buffer_longer_than_the_clip_puts_the_press_no_later_than_its_end() -> None:
    """A 30 s pre-record said of a 15 s clip (the upload page's default) put the press 15 s after the last frame."""
    short = Clip(start=T0, measured_duration_s=15.0, prerecord_s=30.0)
    assert short.activation == T0 + timedelta(seconds=15)
    assert Clip(start=T0, measured_duration_s=60.0, prerecord_s=30.0).activation == T0 + timedelta(seconds=30)
    assert Clip(start=T0, measured_duration_s=0.0, prerecord_s=30.0).activation == T0 + timedelta(seconds=30)
    logged = Clip(start=T0, measured_duration_s=15.0, prerecord_s=30.0, activated_at=T0 + timedelta(seconds=5))
    assert logged.activation == T0 + timedelta(seconds=5)
