"""Simple baselines every learned model has to beat, in the scikit-learn estimator style.

All rank the full catalogue seen in training. Scores tie-break by popularity, then by item
id, so results are deterministic and a context with no known items gets the best sellers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy import sparse


class Popularity:
    """The items in most training baskets, whatever the context."""

    def __init__(self, exclude_context: bool = True) -> None:
        self.exclude_context = exclude_context

    def fit(self, baskets: Sequence[Sequence[str]]) -> Popularity:
        """Count, for each item, the baskets it occurs in."""
        items = sorted({item for basket in baskets for item in basket})
        self.items_ = np.array(items, dtype=object)
        self.index_ = {item: i for i, item in enumerate(items)}
        rows, cols = [], []
        for row, basket in enumerate(baskets):
            for item in set(basket):
                rows.append(row)
                cols.append(self.index_[item])
        self.baskets_ = sparse.csr_matrix(
            (np.ones(len(rows)), (rows, cols)), shape=(len(baskets), len(items))
        )
        self.counts_ = np.asarray(self.baskets_.sum(axis=0)).ravel()
        # Position of each item in the popularity order: the tie-breaker for every model.
        order = np.lexsort((np.arange(len(items)), -self.counts_))
        self.popularity_rank_ = np.empty(len(items), dtype=np.int64)
        self.popularity_rank_[order] = np.arange(len(items))
        return self

    def _scores(self, context: list[int]) -> NDArray[np.float64]:
        return np.zeros(len(self.items_))

    def recommend(self, context: Sequence[str], k: int) -> list[str]:
        """Top ``k`` item ids for the context (context items left out unless configured)."""
        known = [self.index_[item] for item in dict.fromkeys(context) if item in self.index_]
        scores = self._scores(known).astype(np.float64, copy=True)
        if self.exclude_context and known:
            scores[known] = -np.inf
        # lexsort: the last key is the primary one.
        order = np.lexsort((self.popularity_rank_, -scores))
        if self.exclude_context and known:
            order = order[: len(order) - len(known)]
        return [str(item) for item in self.items_[order[:k]]]


class CooccurrenceCount(Popularity):
    """Sum over context items of how many training baskets held both items."""

    def fit(self, baskets: Sequence[Sequence[str]]) -> CooccurrenceCount:
        """Learn the item-item co-occurrence counts (diagonal removed)."""
        super().fit(baskets)
        together = (self.baskets_.T @ self.baskets_).toarray()
        np.fill_diagonal(together, 0.0)
        self.similarity_ = self._similarity(together, self.counts_)
        return self

    def _similarity(
        self, together: NDArray[np.float64], counts: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        return together

    def _scores(self, context: list[int]) -> NDArray[np.float64]:
        if not context:
            return np.zeros(len(self.items_))
        return np.asarray(self.similarity_[context].sum(axis=0), dtype=np.float64)


class ItemKNNCosine(CooccurrenceCount):
    """Cosine of the items' basket vectors: together / sqrt(count_i * count_j)."""

    def _similarity(
        self, together: NDArray[np.float64], counts: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        norm = np.sqrt(np.outer(counts, counts))
        return np.divide(together, norm, out=np.zeros_like(together), where=norm > 0)


class SARJaccard(CooccurrenceCount):
    """SAR with Jaccard similarity: together / (count_i + count_j - together)."""

    def _similarity(
        self, together: NDArray[np.float64], counts: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        union = counts[:, None] + counts[None, :] - together
        return np.divide(together, union, out=np.zeros_like(together), where=union > 0)


class SARLift(CooccurrenceCount):
    """SAR with lift: together / (count_i * count_j); favours rare items that co-occur."""

    def _similarity(
        self, together: NDArray[np.float64], counts: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        product = np.outer(counts, counts)
        return np.divide(together, product, out=np.zeros_like(together), where=product > 0)


def all_baselines() -> dict[str, Popularity]:
    """The five baselines of the UCI comparison, by display name."""
    return {
        "popularity": Popularity(),
        "cooccurrence": CooccurrenceCount(),
        "itemknn-cosine": ItemKNNCosine(),
        "sar-jaccard": SARJaccard(),
        "sar-lift": SARLift(),
    }
