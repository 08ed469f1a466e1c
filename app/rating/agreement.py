"""Agreement between two raters on the same clips: share agreeing and Cohen's kappa. Pure: no database.

Cohen's kappa = (p_o - p_e) / (1 - p_e), where p_o is the share of clips both raters put in the same
category and p_e the agreement expected by chance from each rater's own mix of red / amber / green
(sum over categories of p_rater1(k) x p_rater2(k)). 1 is perfect agreement, 0 no better than chance,
below 0 worse than chance. When both raters used one and the same category for every clip, p_e = 1 and
kappa is undefined (None): the sample says nothing about agreement beyond chance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

CATEGORIES = ("green", "amber", "red")


@dataclass(frozen=True)
class Agreement:
    n: int
    agreed: int
    share_agreeing: float | None
    kappa: float | None


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> Agreement:
    """`pairs` are (first rater's category, second rater's category) for each clip both rated."""
    n = len(pairs)
    if n == 0:
        return Agreement(0, 0, None, None)
    agreed = sum(1 for a, b in pairs if a == b)
    p_o = agreed / n
    first = Counter(a for a, _ in pairs)
    second = Counter(b for _, b in pairs)
    cats = set(first) | set(second)
    p_e = sum((first[k] / n) * (second[k] / n) for k in cats)
    kappa = None if abs(1 - p_e) < 1e-12 else (p_o - p_e) / (1 - p_e)
    return Agreement(n=n, agreed=agreed, share_agreeing=p_o, kappa=None if kappa is None else round(kappa, 4))
