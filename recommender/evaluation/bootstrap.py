"""Bootstrap confidence intervals: one model's mean, and two models compared on the same cases.

Percentile bootstrap, seeded. With ``groups`` (e.g. the session of each prefix) whole groups
are resampled, because the prefixes of one session are not independent cases.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class MeanCI:
    """Mean of a per-case metric with its percentile bootstrap interval."""

    mean: float
    low: float
    high: float
    confidence: float
    resamples: int


@dataclass(frozen=True)
class DifferenceCI:
    """``a`` against ``b`` on the same cases: mean(a) - mean(b) and mean(a) / mean(b), each
    with a paired percentile bootstrap interval (the cases are resampled as pairs)."""

    difference: float
    low: float
    high: float
    confidence: float
    resamples: int
    ratio: float = float("nan")
    ratio_low: float = float("nan")
    ratio_high: float = float("nan")

    @property
    def significant(self) -> bool:
        """True if the interval of the difference excludes zero (the ratio's excludes 1)."""
        return self.low > 0 or self.high < 0


def _resampled_sums(
    values: Sequence[NDArray[np.float64]],
    groups: Sequence[str] | None,
    resamples: int,
    seed: int,
) -> Iterator[tuple[list[NDArray[np.float64]], NDArray[np.float64]]]:
    """Chunks of (sums of each series over a resample, number of cases in it)."""
    sums = list(values)
    sizes: NDArray[np.float64] = np.ones_like(values[0])
    if groups is not None:
        if len(groups) != values[0].size:
            raise ValueError("one group per case")
        _, group_index = np.unique(np.asarray(groups, dtype=object), return_inverse=True)
        sums = [np.bincount(group_index, weights=v).astype(np.float64) for v in values]
        sizes = np.bincount(group_index).astype(np.float64)
    rng = np.random.default_rng(seed)
    # Chunks keep the index matrix small on ten thousand cases.
    for start in range(0, resamples, 100):
        stop = min(start + 100, resamples)
        picks = rng.integers(0, sizes.size, size=(stop - start, sizes.size))
        yield [s[picks].sum(axis=1) for s in sums], sizes[picks].sum(axis=1)


def _bounds(samples: NDArray[np.float64], confidence: float) -> tuple[float, float]:
    tail = (1.0 - confidence) / 2.0
    low, high = np.nanquantile(samples, [tail, 1.0 - tail])
    return float(low), float(high)


def bootstrap_mean(
    values: ArrayLike,
    groups: Sequence[str] | None = None,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> MeanCI:
    """Mean of ``values`` with its percentile bootstrap interval."""
    series = np.asarray(values, dtype=np.float64)
    if series.ndim != 1 or series.size == 0:
        raise ValueError("values must be a non-empty 1-d array")
    means = np.empty(resamples)
    done = 0
    for (total,), sizes in _resampled_sums([series], groups, resamples, seed):
        means[done : done + len(sizes)] = total / sizes
        done += len(sizes)
    low, high = _bounds(means, confidence)
    return MeanCI(float(series.mean()), low, high, confidence, resamples)


def paired_bootstrap(
    a: ArrayLike,
    b: ArrayLike,
    groups: Sequence[str] | None = None,
    resamples: int = RESAMPLES,
    confidence: float = CONFIDENCE,
    seed: int = 0,
) -> DifferenceCI:
    """CI of mean(a) - mean(b) and of mean(a) / mean(b), where ``a[i]`` and ``b[i]`` score
    the same test case.

    Resampling the *pairs* keeps the case difficulty shared by both models out of the noise.
    """
    first = np.asarray(a, dtype=np.float64)
    second = np.asarray(b, dtype=np.float64)
    if first.shape != second.shape or first.ndim != 1 or first.size == 0:
        raise ValueError("a and b must be non-empty and score the same cases")
    differences = np.empty(resamples)
    ratios = np.empty(resamples)
    done = 0
    for (sum_a, sum_b), sizes in _resampled_sums([first, second], groups, resamples, seed):
        n = len(sizes)
        differences[done : done + n] = (sum_a - sum_b) / sizes
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios[done : done + n] = np.where(sum_b > 0, sum_a / sum_b, np.nan)
        done += n
    low, high = _bounds(differences, confidence)
    mean_b = float(second.mean())
    ratio = float(first.mean()) / mean_b if mean_b > 0 else float("nan")
    ratio_low, ratio_high = (
        _bounds(ratios, confidence) if np.isfinite(ratios).any() else (float("nan"),) * 2
    )
    return DifferenceCI(
        float((first - second).mean()),
        low,
        high,
        confidence,
        resamples,
        ratio,
        ratio_low,
        ratio_high,
    )
