"""Cohen's kappa against examples computed by hand."""

from __future__ import annotations

import pytest

from app.rating.agreement import cohen_kappa


def test_hand_computed_example() -> None:
    # 10 clips rated by two coordinators:
    #                  B green  B amber  B red
    #   A green           4        1       0     (5)
    #   A amber           1        2       0     (3)
    #   A red             0        1       1     (2)
    #                    (5)      (4)     (1)
    # p_o = (4 + 2 + 1) / 10 = 0.70
    # p_e = 0.5*0.5 + 0.3*0.4 + 0.2*0.1 = 0.25 + 0.12 + 0.02 = 0.39
    # kappa = (0.70 - 0.39) / (1 - 0.39) = 0.31 / 0.61 = 0.508196...
    pairs = (
        [("green", "green")] * 4
        + [("green", "amber")]
        + [("amber", "green")]
        + [("amber", "amber")] * 2
        + [("red", "amber")]
        + [("red", "red")]
    )
    a = cohen_kappa(pairs)
    assert a.n == 10 and a.agreed == 7
    assert a.share_agreeing == pytest.approx(0.7)
    assert a.kappa == pytest.approx(0.31 / 0.61, abs=1e-4)


def test_perfect_and_chance() -> None:
    assert cohen_kappa([("green", "green"), ("red", "red")]).kappa == 1.0
    # Agreement exactly at chance: kappa 0.
    pairs = [("green", "green"), ("green", "red"), ("red", "green"), ("red", "red")]
    assert cohen_kappa(pairs).kappa == pytest.approx(0.0)


def test_undefined_when_one_category_only_and_empty() -> None:
    assert cohen_kappa([("green", "green")] * 3).kappa is None
    empty = cohen_kappa([])
    assert empty.n == 0 and empty.share_agreeing is None and empty.kappa is None
