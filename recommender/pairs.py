"""Which items go together: co-occurrence counts, significance gates and pair scores.

Three kinds of evidence, strongest first: items **bought** in one basket, items put in the
**cart** in one webshop visit, items **viewed** in one visit. Each is a binary rows x items
matrix; their weighted sum (``cart_weight``, ``view_weight``; recent rows weigh more with a
half-life) is the Gram matrix the pair scores are computed from. A pair is kept only where
one kind of evidence alone is significant: seen at least ``min_support`` times, and the
Wilson lower bound of P(j | i) above j's base rate (``stats.significant_share``).

Scores (``similarity``): ``ease`` (Steck, 2019: a closed-form linear item-item model,
ridge ``l2``; the best on a validation month of UCI Online Retail, docs/evaluation.md),
``jaccard``, ``cosine``, ``lift`` or ``count`` of the weighted co-occurrences.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from recommender.stats import wilson_lower_bound

SIMILARITIES = ("ease", "jaccard", "cosine", "lift", "count")
SECONDS_PER_DAY = 86_400.0
#: Evidence kinds, strongest first; a pair's reason cites the strongest that is significant.
PURCHASE, CART, VIEW = "purchase", "cart", "view"

FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


def incidence(rows: Sequence[Iterable[str]], vocabulary: dict[str, int]) -> sp.csr_matrix:
    """Binary rows x items matrix (an item twice in a row counts once; unknown items skipped)."""
    r: list[int] = []
    c: list[int] = []
    for index, row in enumerate(rows):
        for j in {vocabulary[item] for item in row if item in vocabulary}:
            r.append(index)
            c.append(j)
    return sp.csr_matrix(
        (np.ones(len(r)), (np.asarray(r, dtype=np.int64), np.asarray(c, dtype=np.int64))),
        shape=(len(rows), len(vocabulary)),
    )


def decay_weights(times: Sequence[float], half_life_days: float | None) -> FloatArray:
    """Weight of each row: 1/2 per ``half_life_days`` of age before the newest, mean 1.

    The mean is kept at 1 so that the ridge of ``ease`` means the same with or without decay.
    """
    values = np.asarray(times, dtype=np.float64)
    if half_life_days is None or values.size == 0:
        return np.ones(values.size)
    age_days = (values.max() - values) / SECONDS_PER_DAY
    # The floor keeps very old rows in the sparsity pattern (0.5**2000 underflows).
    weights = np.maximum(0.5 ** (age_days / half_life_days), 1e-12)
    return np.asarray(weights / weights.mean(), dtype=np.float64)


@dataclass
class Evidence:
    """One kind of evidence: its rows x items matrix, row weights and relative weight."""

    kind: str
    matrix: sp.csr_matrix
    weights: FloatArray
    weight: float


def gram(evidence: Sequence[Evidence], dense: bool) -> Any:
    """Weighted item x item co-occurrences summed over the kinds of evidence."""
    total: Any = None
    for e in evidence:
        if e.weight <= 0 or e.matrix.shape[0] == 0:
            continue
        part = (e.matrix.T @ sp.diags(e.weights * e.weight) @ e.matrix).tocsr()
        total = part if total is None else total + part
    if total is None:
        size = evidence[0].matrix.shape[1] if evidence else 0
        total = sp.csr_matrix((size, size))
    return total.toarray() if dense else total.tocsr()


def ease(gram_matrix: FloatArray, l2: float) -> FloatArray:
    """EASE item-item weights: B = I - P diag(1/diag(P)), P = (G + l2 I)^-1, diagonal 0."""
    g = np.array(gram_matrix, dtype=np.float64)
    g[np.diag_indices_from(g)] += l2
    # G + l2 I is symmetric positive definite: a Cholesky inverse is twice as fast as LU.
    factor = scipy.linalg.cho_factor(g, overwrite_a=True, check_finite=False)
    p = scipy.linalg.cho_solve(factor, np.eye(len(g)), overwrite_b=True, check_finite=False)
    weights = -p / np.diag(p)[None, :]
    np.fill_diagonal(weights, 0.0)
    return np.asarray(weights, dtype=np.float64)


def similarity_of(
    kind: str, together: FloatArray, freq_i: FloatArray, freq_j: FloatArray, total: float
) -> FloatArray:
    """Popularity-corrected co-occurrence of weighted counts (not used for ``ease``)."""
    if kind == "count":
        return together
    if kind == "lift":
        return together * total / np.maximum(freq_i * freq_j, 1e-12)
    if kind == "jaccard":
        return together / np.maximum(freq_i + freq_j - together, 1e-12)
    return together / np.maximum(np.sqrt(freq_i * freq_j), 1e-12)


@dataclass
class SignificantPairs:
    """Pairs (i, j) where one kind of evidence is significant, with what it says.

    Arrays are aligned: ``rows`` (i), ``cols`` (j), ``kind`` (index into the evidence kinds,
    strongest significant one), ``support`` (rows of that kind holding both), ``strength``
    (Wilson lower bound of P(j | i) in purchases; 0 when purchases are not significant).
    """

    rows: IntArray
    cols: IntArray
    kind: IntArray
    support: IntArray
    strength: FloatArray


def significant_pairs(
    evidence: Sequence[Evidence], min_support: int, z: float | None
) -> SignificantPairs:
    """Every ordered pair that passes the gate for at least one kind of evidence."""
    parts: list[tuple[IntArray, IntArray, IntArray, IntArray, FloatArray]] = []
    size = evidence[0].matrix.shape[1] if evidence else 0
    for index, e in enumerate(evidence):
        if e.matrix.shape[0] == 0 or e.matrix.nnz == 0:
            continue
        counts = (e.matrix.T @ e.matrix).tocoo()
        n_rows = float(e.matrix.shape[0])
        item_rows = np.asarray(e.matrix.sum(axis=0)).ravel()
        keep = (counts.row != counts.col) & (counts.data >= min_support)
        i = counts.row[keep].astype(np.int64)
        j = counts.col[keep].astype(np.int64)
        together = counts.data[keep]
        share = together / np.maximum(item_rows[i], 1.0)
        if z is not None:
            bound = wilson_lower_bound(together, item_rows[i], z)
            passed = bound > item_rows[j] / n_rows
            i, j, together, share = i[passed], j[passed], together[passed], bound[passed]
        strength = share if index == 0 else np.zeros(len(i))
        kind = np.full(len(i), index, dtype=np.int64)
        parts.append((i, j, kind, together.astype(np.int64), strength.astype(np.float64)))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return SignificantPairs(empty, empty, empty, empty, np.zeros(0))
    rows, cols, kinds, support, strength = (
        np.concatenate(arrays) for arrays in zip(*parts, strict=True)
    )
    # The strongest kind of evidence comes first, and np.unique keeps first occurrences.
    _, first = np.unique(rows * max(size, 1) + cols, return_index=True)
    return SignificantPairs(rows[first], cols[first], kinds[first], support[first], strength[first])
