"""Next items for a visit in progress: V-SKNN (Ludewig & Jannach, 2018).

Session-based kNN is simple and, on e-commerce clickstreams, as good as or better than the
neural models of its time. This follows session-rec's ``VMContextKNN``
(``algorithms/knn/vsknn.py``), the implementation behind its published V-SKNN numbers:

1. Candidate neighbours are the ``sample_size`` most recent past visits that share an item
   with the visit so far.
2. The visit so far is a vector whose weights grow with position (``weighting``); its
   similarity to a past visit (a binary set) is the sum of the weights of the shared items
   divided by the number of distinct items of the current visit (session-rec's ``vec``).
3. The ``k`` most similar vote for all their items with their similarity, times a decay
   (``weighting_score``) by how far back the latest click they share with the visit is,
   times ``1 + idf_weighting * idf(item)`` (idf = log(visits / clicks on the item)).
4. Items already viewed stay in the list by default (session-rec's ``remind=True``):
   shoppers go back to what they viewed, and the API leaves them out itself.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from recommender.base import Suggestion

IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]

#: Weight of the click at 1-based ``position`` of a visit of ``length`` clicks (session-rec's
#: ``weighting`` functions: the latest click weighs 1).
POSITION_WEIGHTS: dict[str, Callable[[int, int], float]] = {
    "same": lambda position, length: 1.0,
    "div": lambda position, length: position / length,
    "quadratic": lambda position, length: (position / length) ** 2,
    "log": lambda position, length: 1.0 / math.log10(length - position + 1.7),
}
#: Decay of a neighbour's vote by ``step``, the 1-based distance from the end of the visit of
#: the latest click it shares (session-rec's ``weighting_score`` functions).
STEP_DECAYS: dict[str, Callable[[int], float]] = {
    "same": lambda step: 1.0,
    "div": lambda step: 1.0 / step,
    "quadratic": lambda step: 1.0 / (step * step),
    "log": lambda step: 1.0 / math.log10(step + 1.7),
    "linear": lambda step: 1.0 - 0.1 * step if step <= 100 else 0.0,
}


class SessionKNN(BaseEstimator):
    """V-SKNN: vector-multiplication session kNN, as session-rec's ``VMContextKNN``.

    The defaults are session-rec's own V-SKNN configuration for this kind of clickstream
    (``conf/example_next.yml``, rsc15-100k), confirmed on the YooChoose validation split
    (docs/evaluation.md).

    Parameters
    ----------
    k : neighbouring visits that vote.
    sample_size : only the most recent visits sharing an item with the current one are
        compared (recency matters, and it bounds the cost of a call).
    remove_seen : leave out items already in the visit (session-rec's ``remind=False``).
    weighting : weight of a click of the current visit by its position: "div" (i/n),
        "quadratic" ((i/n)^2), "log" or "same".
    weighting_score : decay of a neighbour's vote by how far back the latest click it shares
        is: "div" (1/step), "quadratic", "log", "linear" or "same".
    idf_weighting : votes for an item are multiplied by ``1 + idf_weighting * idf``; 0 turns
        it off. Rare items a similar visit viewed say more than best-sellers.
    """

    def __init__(
        self,
        k: int = 500,
        sample_size: int = 5000,
        remove_seen: bool = False,
        weighting: str = "quadratic",
        weighting_score: str = "div",
        idf_weighting: float = 5.0,
    ):
        self.k = k
        self.sample_size = sample_size
        self.remove_seen = remove_seen
        self.weighting = weighting
        self.weighting_score = weighting_score
        self.idf_weighting = idf_weighting

    def fit(self, sessions: Sequence[Sequence[str]], y: None = None) -> SessionKNN:
        """Index past visits (lists of item ids, oldest visit first)."""
        if self.weighting not in POSITION_WEIGHTS:
            raise ValueError(f"weighting must be one of {tuple(POSITION_WEIGHTS)}")
        if self.weighting_score not in STEP_DECAYS:
            raise ValueError(f"weighting_score must be one of {tuple(STEP_DECAYS)}")
        vocabulary: dict[str, int] = {}
        session_items: list[IntArray] = []
        clicks: list[int] = []
        for session in sessions:
            for item in session:
                j = vocabulary.setdefault(item, len(vocabulary))
                if j == len(clicks):
                    clicks.append(0)
                clicks[j] += 1
            ids = {vocabulary[item] for item in session}
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
        # session-rec counts clicks (not visits) per item: log(visits / clicks).
        counts = np.asarray(clicks, dtype=np.float64)
        self.idf_ = np.log(max(len(sessions), 1) / np.maximum(counts, 1.0))
        return self

    def recommend(
        self, prefix: Sequence[str], k: int = 5, exclude: Collection[str] = ()
    ) -> list[Suggestion]:
        """The ``k`` likeliest next items after the visit ``prefix`` (oldest view first)."""
        weigh = POSITION_WEIGHTS[self.weighting]
        length = len(prefix)
        weights: dict[int, float] = {}
        steps: dict[int, int] = {}
        for position, item in enumerate(prefix, start=1):
            j = self.vocabulary_.get(item)
            if j is not None:
                # A repeated item keeps the weight and the step of its latest click.
                weights[j] = weigh(position, length)
                steps[j] = length - position + 1
        if not weights:
            return []
        distinct = len(dict.fromkeys(prefix))
        slices, dots, shared_steps = [], [], []
        for j, weight in weights.items():
            visits = self.item_sessions_[self.item_indptr_[j] : self.item_indptr_[j + 1]]
            visits = visits[-self.sample_size :]
            slices.append(visits)
            dots.append(np.full(len(visits), weight))
            shared_steps.append(np.full(len(visits), steps[j], dtype=np.int64))
        candidates, where = np.unique(np.concatenate(slices), return_inverse=True)
        similarity = np.bincount(where, weights=np.concatenate(dots)) / distinct
        step = np.full(len(candidates), length + 1, dtype=np.int64)
        np.minimum.at(step, where, np.concatenate(shared_steps))
        # The most recent visits (highest index) among those sharing an item.
        candidates = candidates[-self.sample_size :]
        similarity, step = similarity[-self.sample_size :], step[-self.sample_size :]
        if len(candidates) > self.k:
            # Ties go to the more recent visit.
            top = np.lexsort((-candidates, -similarity))[: self.k]
            candidates, similarity, step = candidates[top], similarity[top], step[top]
        decay = STEP_DECAYS[self.weighting_score]
        vote = similarity * np.fromiter((decay(int(s)) for s in step), np.float64, len(step))
        starts, ends = self.indptr_[candidates], self.indptr_[candidates + 1]
        counts = ends - starts
        voted = np.concatenate([self.indices_[s:e] for s, e in zip(starts, ends, strict=True)])
        scores = np.bincount(voted, weights=np.repeat(vote, counts)).astype(np.float64)
        if self.idf_weighting:
            scores = scores * (1.0 + self.idf_weighting * self.idf_[: len(scores)])
        votes = np.bincount(voted)
        ranked = np.flatnonzero(scores > 0)
        ranked = ranked[np.lexsort((ranked, -scores[ranked]))]
        out: list[Suggestion] = []
        for index in ranked.tolist():
            item = str(self.items_[index])
            if (self.remove_seen and index in weights) or item in exclude:
                continue
            out.append(
                Suggestion(item, float(scores[index]), "viewed_next", {"visits": int(votes[index])})
            )
            if len(out) == k:
                break
        return out
