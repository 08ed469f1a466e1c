"""Sampling: reproducible, covers every officer, always includes flagged clips, reaches the share."""

from __future__ import annotations

import math

from app.rating.sampling import SampleItem, select_sample


def items(n_officers: int = 5, per: int = 20, flagged: set[int] = frozenset()) -> list[SampleItem]:  # type: ignore[assignment]
    out = []
    fid = 1
    for o in range(n_officers):
        for _ in range(per):
            out.append(SampleItem(fid, f"officer-{o}", fid in flagged))
            fid += 1
    return out


def test_full_review_by_default() -> None:
    pool = items()
    assert select_sample(pool, percent=100, seed=1) == {i.footage_id for i in pool}


def test_reproducible_and_seed_dependent() -> None:
    pool = items()
    a = select_sample(pool, percent=20, seed=42)
    assert a == select_sample(list(reversed(pool)), percent=20, seed=42)
    assert a != select_sample(pool, percent=20, seed=43)


def test_reaches_the_share_and_spreads_evenly() -> None:
    pool = items(n_officers=4, per=25)
    chosen = select_sample(pool, percent=20, seed=7)
    assert len(chosen) == math.ceil(0.2 * 100)
    per_officer = [sum(1 for i in pool if i.officer == f"officer-{o}" and i.footage_id in chosen) for o in range(4)]
    assert per_officer == [5, 5, 5, 5]


def test_every_officer_even_with_a_tiny_share() -> None:
    pool = items(n_officers=6, per=10)
    chosen = select_sample(pool, percent=1, seed=3)
    officers = {i.officer for i in pool if i.footage_id in chosen}
    assert officers == {f"officer-{o}" for o in range(6)}


def test_flagged_always_included_and_count_towards_the_officer() -> None:
    flagged = {1, 2, 3, 57}
    pool = items(n_officers=3, per=20, flagged=flagged)
    for seed in range(20):
        chosen = select_sample(pool, percent=10, seed=seed)
        assert flagged <= chosen
        assert len(chosen) >= math.ceil(0.1 * 60)
    # Officer 0 already has 3 flagged clips in; the fill-up goes to the others first.
    chosen = select_sample(pool, percent=10, seed=5)
    by = {o: sum(1 for i in pool if i.officer == f"officer-{o}" and i.footage_id in chosen) for o in range(3)}
    assert by[0] == 3 and by[1] >= 1 and by[2] >= 1


def test_officer_with_unknown_wearer_is_a_group() -> None:
    pool = [SampleItem(1, None), SampleItem(2, None), SampleItem(3, "x"), SampleItem(4, "x")]
    chosen = select_sample(pool, percent=50, seed=0)
    assert len(chosen) == 2 and {1, 2} & chosen and {3, 4} & chosen
