"""Small statistics shared by the models and the reports: Wilson bounds, association tests.

A pair seen in 2 visits says little; the same share seen in 200 says a lot. The Wilson score
interval (Wilson, 1927; Agresti & Coull, 1998) gives a lower bound on a proportion that is
honest on small counts, without the normal approximation's nonsense at 0 and 1. A pair is
shown only if that lower bound beats what chance alone would give.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any, overload

import numpy as np

FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def z_score(confidence: float) -> float:
    """Two-sided normal quantile: 0.95 -> 1.96."""
    if not 0.0 < confidence < 1.0:
        raise ValueError("confidence must be between 0 and 1")
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


@overload
def wilson_lower_bound(successes: float, trials: float, z: float = ...) -> float: ...


@overload
def wilson_lower_bound(successes: FloatArray, trials: FloatArray, z: float = ...) -> FloatArray: ...


def wilson_lower_bound(successes: Any, trials: Any, z: float = 1.96) -> Any:
    """Lower end of the Wilson score interval of ``successes / trials`` (0 when trials is 0).

    Scalars or numpy arrays (element-wise).
    """
    if np.ndim(successes) == 0 and np.ndim(trials) == 0:
        total = float(trials)
        if total <= 0:
            return 0.0
        share = float(successes) / total
        middle = share + z * z / (2 * total)
        width = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total))
        return max(0.0, (middle - width) / (1 + z * z / total))
    s = np.asarray(successes, dtype=np.float64)
    n = np.asarray(trials, dtype=np.float64)
    safe = np.maximum(n, 1.0)
    p = s / safe
    centre = p + z * z / (2 * safe)
    spread = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe))
    bound = (centre - spread) / (1 + z * z / safe)
    return np.where(n > 0, np.maximum(bound, 0.0), 0.0)


def significant_share(
    together: Any, trials: Any, base_rate: Any, *, min_support: int, z: float | None
) -> Any:
    """``together`` of ``trials`` cases beat ``base_rate`` (what chance alone gives): at
    least ``min_support`` cases and, with ``z``, a Wilson lower bound above the base rate.

    Scalars or numpy arrays (element-wise).
    """
    enough = np.asarray(together) >= min_support
    if z is None:
        return enough if np.ndim(enough) else bool(enough)
    beats = wilson_lower_bound(together, trials, z) > np.asarray(base_rate)
    result = enough & beats
    return result if np.ndim(result) else bool(result)
