"""Paired bootstrap confidence interval for the difference of two models on the same cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray


@dataclass(frozen=True)
class DifferenceCI:
    """Mean of ``a - b`` over the cases, with a percentile bootstrap interval."""

    difference: float
    low: float
    high: float
    confidence: float
    resamples: int

    @property
    def significant(self) -> bool:
        """True if the interval excludes zero."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(
    a: ArrayLike,
    b: ArrayLike,
    groups: Sequence[str] | None = None,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> DifferenceCI:
    """CI of mean(a) - mean(b) where ``a[i]`` and ``b[i]`` score the same test case.

    Resampling the *pairs* keeps the case difficulty shared by both models out of the noise.
    With ``groups`` (e.g. the session of each prefix) whole groups are resampled, because
    the prefixes of one session are not independent cases.
    """
    first = np.asarray(a, dtype=np.float64)
    second = np.asarray(b, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError("a and b must be non-empty and score the same cases")
    diff = first - second
    sums: NDArray[np.float64] = diff
    sizes: NDArray[np.float64] = np.ones_like(diff)
    if groups is not None:
        if len(groups) != diff.size:
            raise ValueError("one group per case")
        _, group_index = np.unique(np.asarray(groups, dtype=object), return_inverse=True)
        sums = np.bincount(group_index, weights=diff).astype(np.float64)
        sizes = np.bincount(group_index).astype(np.float64)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # Chunks keep the index matrix small on ten thousand cases.
    for start in range(0, resamples, 100):
        stop = min(start + 100, resamples)
        picks = rng.integers(0, sums.size, size=(stop - start, sums.size))
        means[start:stop] = sums[picks].sum(axis=1) / sizes[picks].sum(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return DifferenceCI(float(diff.mean()), float(low), float(high), confidence, resamples)
