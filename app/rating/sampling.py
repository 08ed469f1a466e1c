"""Which clips must be reviewed when an establishment reviews less than all of them. Pure: no database.

Rules (reproducible, fair, never hiding a problem):
- every clip the automatic checks flagged is always in the sample;
- every officer with footage has at least one clip in the sample;
- the rest is filled up to ceil(share x total) by taking, round-robin, one more clip from the officer with
  the fewest clips in the sample so far, so the reviewing effort is spread evenly across officers;
- within an officer, clips are taken in the order of sha256(seed:footage_id), and ties between officers are
  broken the same way, so the same seed and the same clips always give the same sample, while nobody can
  predict which of their clips will be looked at.
"""

from __future__ import annotations

import hashlib
import heapq
import math
from collections.abc import Hashable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class SampleItem:
    footage_id: int
    officer: Hashable  # the wearer (None for clips with no known wearer: they form one group)
    flagged: bool = False


def _rank(seed: int, key: object) -> str:
    return hashlib.sha256(f"{seed}:{key}".encode()).hexdigest()


def sample_size(total: int, percent: int) -> int:
    return min(total, math.ceil(total * max(0, min(100, percent)) / 100))


def select_sample(items: Iterable[SampleItem], *, percent: int, seed: int) -> set[int]:
    """The footage ids that must be reviewed (see the module docstring)."""
    pool = list({i.footage_id: i for i in items}.values())
    if percent >= 100:
        return {i.footage_id for i in pool}
    chosen: set[int] = {i.footage_id for i in pool if i.flagged}
    by_officer: dict[Hashable, list[int]] = {}
    for item in pool:
        by_officer.setdefault(item.officer, []).append(item.footage_id)
    counts: dict[Hashable, int] = {}
    queues: dict[Hashable, list[int]] = {}
    for officer, ids in by_officer.items():
        counts[officer] = sum(1 for f in ids if f in chosen)
        queues[officer] = sorted((f for f in ids if f not in chosen), key=lambda f: _rank(seed, f), reverse=True)
    # Every officer at least once.
    for officer, queue in queues.items():
        if counts[officer] == 0 and queue:
            chosen.add(queue.pop())
            counts[officer] += 1
    target = sample_size(len(pool), percent)
    # The officer with the fewest in the sample (then by their rank) gives the next clip: a heap of the
    # officers with clips left, by (count, rank). Only the officer just taken from changes, so popping and
    # pushing them back keeps it exact; a scan of every officer for every clip took seconds at 40% of a large
    # prison's 300,000 clips.
    ranks = {o: _rank(seed, f"officer:{o}") for o in queues}
    heap = [(counts[o], ranks[o], i, o) for i, (o, q) in enumerate(queues.items()) if q]
    heapq.heapify(heap)
    while len(chosen) < target and heap:
        n, rank, i, officer = heapq.heappop(heap)
        queue = queues[officer]
        chosen.add(queue.pop())
        if queue:
            heapq.heappush(heap, (n + 1, rank, i, officer))
    return chosen
