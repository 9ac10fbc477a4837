"""Next items for a visit in progress: V-SKNN (Ludewig & Jannach, 2018).

Session-based kNN is simple and, on e-commerce clickstreams, as good as or better than the
neural models of its time. The visit so far is an item vector whose weights grow linearly
towards the latest item; past visits are binary vectors; among the most recent past visits
that share an item with it, the ``k`` most similar by cosine vote for their items.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from recommender.base import Suggestion
from recommender.complements import plural

IntArray = np.ndarray[Any, np.dtype[np.int64]]


class SessionKNN(BaseEstimator):
    """V-SKNN: vector-multiplication session kNN with linear position decay.

    Parameters
    ----------
    k : neighbouring visits that vote.
    sample_size : only the most recent visits sharing an item with the current one are
        compared (recency matters, and it bounds the cost of a call).
    remove_seen : leave out items already in the visit.
    """

    def __init__(self, k: int = 100, sample_size: int = 500, remove_seen: bool = True):
        self.k = k
        self.sample_size = sample_size
        self.remove_seen = remove_seen

    def fit(self, sessions: Sequence[Sequence[str]], y: None = None) -> SessionKNN:
        """Index past visits (lists of item ids, oldest visit first)."""
        vocabulary: dict[str, int] = {}
        session_items: list[IntArray] = []
        for session in sessions:
            ids = {vocabulary.setdefault(item, len(vocabulary)) for item in session}
            session_items.append(np.fromiter(sorted(ids), dtype=np.int64, count=len(ids)))
        lengths = np.fromiter((len(s) for s in session_items), dtype=np.int64, count=len(sessions))
        self.items_ = np.asarray(list(vocabulary), dtype=object)
        self.vocabulary_ = vocabulary
        # CSR (visit -> items) and its transpose (item -> visits, oldest first) as plain arrays:
        # a call then costs a few numpy operations on short slices, no sparse product.
        self.indptr_ = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
        self.indices_ = (
            np.concatenate(session_items) if session_items else np.zeros(0, dtype=np.int64)
        )
        owner = np.repeat(np.arange(len(sessions), dtype=np.int64), lengths)
        order = np.argsort(self.indices_, kind="stable")
        self.item_sessions_ = owner[order]
        self.item_indptr_ = np.concatenate(
            ([0], np.cumsum(np.bincount(self.indices_, minlength=len(vocabulary))))
        ).astype(np.int64)
        self.session_norms_ = np.sqrt(np.maximum(lengths, 1)).astype(np.float64)
        return self

    def recommend(
        self, prefix: Sequence[str], k: int = 5, exclude: Collection[str] = ()
    ) -> list[Suggestion]:
        """The ``k`` likeliest next items after the visit ``prefix`` (oldest view first)."""
        positions: dict[int, float] = {}
        for position, item in enumerate(prefix, start=1):
            j = self.vocabulary_.get(item)
            if j is not None:
                positions[j] = position / len(prefix)  # a repeated item keeps its latest weight
        if not positions:
            return []
        slices = []
        weights = []
        for j, weight in positions.items():
            visits = self.item_sessions_[self.item_indptr_[j] : self.item_indptr_[j + 1]]
            visits = visits[-self.sample_size :]
            slices.append(visits)
            weights.append(np.full(len(visits), weight))
        candidates, where = np.unique(np.concatenate(slices), return_inverse=True)
        dot = np.bincount(where, weights=np.concatenate(weights))
        # The most recent visits (highest index) among those sharing an item.
        candidates, dot = candidates[-self.sample_size :], dot[-self.sample_size :]
        query_norm = float(np.sqrt(sum(w * w for w in positions.values())))
        similarity = dot / (query_norm * self.session_norms_[candidates])
        if len(candidates) > self.k:
            top = np.argpartition(-similarity, self.k - 1)[: self.k]
            candidates, similarity = candidates[top], similarity[top]
        starts, ends = self.indptr_[candidates], self.indptr_[candidates + 1]
        counts = ends - starts
        voted = np.concatenate([self.indices_[s:e] for s, e in zip(starts, ends, strict=True)])
        scores = np.bincount(voted, weights=np.repeat(similarity, counts), minlength=0)
        votes = np.bincount(voted)
        ranked = np.flatnonzero(scores)
        ranked = ranked[np.lexsort((ranked, -scores[ranked]))]
        out: list[Suggestion] = []
        for index in ranked.tolist():
            item = str(self.items_[index])
            if (self.remove_seen and index in positions) or item in exclude:
                continue
            reason = f"viewed in {plural(int(votes[index]), 'similar visit')}"
            out.append(Suggestion(item, float(scores[index]), reason))
            if len(out) == k:
                break
        return out
