"""Small statistics for pass rates: the Wilson score interval and McNemar's exact test."""

from __future__ import annotations

import math
from statistics import NormalDist

__all__ = ["mcnemar_p", "wilson_interval"]


def wilson_interval(passed: int, runs: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval of a pass rate ``passed / runs`` (``NaN``s for no runs).

    Unlike ``p ± z·sqrt(p(1-p)/n)`` it stays inside 0..1 and is not empty for 0 or n passes.
    """
    if runs <= 0:
        return math.nan, math.nan
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = passed / runs
    denominator = 1 + z * z / runs
    centre = (p + z * z / (2 * runs)) / denominator
    half = z * math.sqrt(p * (1 - p) / runs + z * z / (4 * runs * runs)) / denominator
    low = 0.0 if passed == 0 else max(0.0, centre - half)  # exact ends, not rounding noise
    high = 1.0 if passed == runs else min(1.0, centre + half)
    return low, high


def mcnemar_p(fixed: int, broke: int) -> float:
    """Two-sided exact McNemar p-value for paired runs: ``fixed`` runs went from failing to
    passing, ``broke`` the other way. 1.0 when nothing flipped."""
    flips = fixed + broke
    if flips == 0:
        return 1.0
    tail = sum(math.comb(flips, k) for k in range(min(fixed, broke) + 1)) / 2**flips
    return min(1.0, 2 * tail)
