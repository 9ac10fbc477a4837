"""Complements: what is bought *with* an item (the stacking kit and the hose for a washer).

Co-occurrence of items in baskets, corrected for popularity, optionally weighted so that
recent baskets count more, with substitutes (same category or family as the item already
chosen) kept out: a seller selling a washing machine wants the accessories, not three other
washing machines.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator

from recommender.base import ItemInfo, Suggestion

SIMILARITIES = ("lift", "jaccard", "cosine", "count")
SECONDS_PER_DAY = 86_400.0
WORD = re.compile(r"[^\W\d_]{3,}")


def name_words(text: str) -> frozenset[str]:
    """Words of three letters or more in a product's text, lower-cased (no numbers, sizes)."""
    return frozenset(word.lower() for word in WORD.findall(text))


def basket_matrix(baskets: Sequence[Sequence[str]], vocabulary: dict[str, int]) -> sp.csr_matrix:
    """Binary baskets x items matrix; an item twice in a basket still counts once."""
    rows: list[int] = []
    cols: list[int] = []
    for b, basket in enumerate(baskets):
        for j in {vocabulary[item] for item in basket}:
            rows.append(b)
            cols.append(j)
    data = np.ones(len(rows), dtype=np.float64)
    return sp.csr_matrix(
        (data, (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(baskets), len(vocabulary)),
    )


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class ComplementRecommender(BaseEstimator):
    """Items bought together, scored by a popularity-corrected co-occurrence.

    Parameters
    ----------
    similarity : "jaccard" (default), "lift", "cosine" or "count". Raw counts favour
        best-sellers (everyone buys batteries); the others divide by how often each item sells.
        Jaccard (together / either) was the best on a validation month of UCI Online Retail;
        lift over-rewards items sold once or twice (docs/evaluation.md).
    min_support : pairs seen together in fewer baskets than this are ignored (lift on one
        basket is noise).
    half_life_days : if set, a basket this many days older than the newest one weighs half;
        support and reasons still count real baskets.
    top_n : neighbours kept per item at fit time, so recommending is a dictionary walk. Few
        and strong is better: a large basket sums the scores of all its items, and long tails
        of weak pairs then outvote the strong ones (7 to 10 were the best on a validation month
        of UCI Online Retail; 50 lost about 7 points of HR@20).
    allow_substitutes : keep items of the same category/family as the context items. Even
        without it, two items of one category that are bought together more often than chance
        (lift > 1, at least ``min_support`` baskets) and whose texts share no word are not
        substitutes: a stacking kit and a hose both in a broad "accessories" category. Being
        bought together is not enough on its own: a wholesaler buys the same lunch bag in
        three colours, and those stay substitutes.
    """

    def __init__(
        self,
        similarity: str = "jaccard",
        min_support: int = 2,
        half_life_days: float | None = None,
        top_n: int = 10,
        allow_substitutes: bool = False,
    ) -> None:
        self.similarity = similarity
        self.min_support = min_support
        self.half_life_days = half_life_days
        self.top_n = top_n
        self.allow_substitutes = allow_substitutes

    def fit(
        self,
        baskets: Sequence[Sequence[str]],
        basket_times: Sequence[float] | None = None,
        items: Mapping[str, ItemInfo] | None = None,
    ) -> ComplementRecommender:
        """Count pairs over ``baskets`` (oldest first; ``basket_times`` in Unix seconds)."""
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, not {self.similarity!r}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        items = items or {}
        vocabulary: dict[str, int] = {}
        for basket in baskets:
            for item in basket:
                vocabulary.setdefault(item, len(vocabulary))
        names = list(vocabulary)
        x = basket_matrix(baskets, vocabulary)
        weights = self._basket_weights(len(baskets), basket_times)

        counts = (x.T @ x).tocsr()
        weighted = (x.T @ sp.diags(weights) @ x).tocsr() if weights is not None else counts
        frequency = np.asarray(weighted.diagonal(), dtype=np.float64)
        total = float(weights.sum()) if weights is not None else float(len(baskets))

        coo = counts.tocoo()
        keep = (coo.row != coo.col) & (coo.data >= self.min_support)
        rows, cols, support = coo.row[keep], coo.col[keep], coo.data[keep]
        together = np.asarray(weighted[rows, cols]).ravel() if len(rows) else np.zeros(0)
        scores = self._similarity(together, frequency[rows], frequency[cols], total)

        self.kind_ = {name: (info.category, info.family) for name, info in items.items()}
        category = np.asarray([self.kind_.get(n, ("", ""))[0] for n in names], dtype=object)
        lift = together * total / (frequency[rows] * frequency[cols])
        same_category = (category[rows] == category[cols]) & (category[rows] != "")
        companions = same_category & (lift > 1.0)
        words = [name_words(items[n].text) if n in items else frozenset() for n in names]
        for p in np.flatnonzero(companions):
            # Shared words ("lunch bag") mean the same product in another variant.
            companions[p] = not (words[int(rows[p])] & words[int(cols[p])])
        self.companions_ = {
            (names[int(a)], names[int(b)])
            for a, b in zip(rows[companions], cols[companions], strict=True)
        }

        self.neighbours_: dict[str, list[tuple[str, float, int]]] = {}
        order = np.lexsort((cols, -scores, rows))
        rows, cols, support, scores = rows[order], cols[order], support[order], scores[order]
        starts = np.searchsorted(rows, np.arange(len(names) + 1))
        for i, name in enumerate(names):
            lo, hi = int(starts[i]), min(int(starts[i + 1]), int(starts[i]) + self.top_n)
            self.neighbours_[name] = [
                (names[int(cols[p])], float(scores[p]), int(support[p])) for p in range(lo, hi)
            ]
        self.n_baskets_ = len(baskets)
        self.item_counts_ = {
            name: int(n) for name, n in zip(names, np.asarray(counts.diagonal()), strict=True)
        }
        return self

    def _basket_weights(
        self, n: int, basket_times: Sequence[float] | None
    ) -> np.ndarray[Any, np.dtype[np.float64]] | None:
        if self.half_life_days is None:
            return None
        if basket_times is None or len(basket_times) != n:
            raise ValueError("half_life_days needs one time per basket (basket_times)")
        times = np.asarray(basket_times, dtype=np.float64)
        if n == 0:
            return times
        age_days = (times.max() - times) / SECONDS_PER_DAY
        # The floor keeps very old baskets in the sparsity pattern (0.5**2000 underflows).
        return np.maximum(0.5 ** (age_days / self.half_life_days), np.finfo(np.float64).tiny)

    def _similarity(
        self,
        together: np.ndarray[Any, np.dtype[np.float64]],
        freq_a: np.ndarray[Any, np.dtype[np.float64]],
        freq_b: np.ndarray[Any, np.dtype[np.float64]],
        total: float,
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        if self.similarity == "count":
            return together
        if self.similarity == "lift":
            return together * total / (freq_a * freq_b)
        if self.similarity == "jaccard":
            return together / (freq_a + freq_b - together)
        return together / np.sqrt(freq_a * freq_b)

    def recommend(
        self,
        items: Iterable[str],
        k: int = 5,
        exclude: Collection[str] = (),
        allow_substitutes: bool | None = None,
    ) -> list[Suggestion]:
        """The ``k`` best complements of the items already chosen (scores summed over them).

        An item sharing a category with a context item is a substitute, and left out, unless it
        is bought together with every such context item (see ``allow_substitutes``).
        """
        context = list(dict.fromkeys(items))
        substitutes = self.allow_substitutes if allow_substitutes is None else allow_substitutes
        categories: dict[str, list[str]] = {}
        for source in context:
            categories.setdefault(self.kind_.get(source, ("", ""))[0], []).append(source)
        categories.pop("", None)
        families = {self.kind_.get(i, ("", ""))[1] for i in context} - {""}
        scores: dict[str, float] = {}
        best: dict[str, tuple[float, str, int]] = {}
        for source in context:
            for item, score, support in self.neighbours_.get(source, ()):
                if item in exclude or item in context:
                    continue
                if not substitutes:
                    category, family = self.kind_.get(item, ("", ""))
                    if family in families or not all(
                        (same, item) in self.companions_ for same in categories.get(category, ())
                    ):
                        continue
                scores[item] = scores.get(item, 0.0) + score
                if item not in best or score > best[item][0]:
                    best[item] = (score, source, support)
        ranked = sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))[:k]
        return [
            Suggestion(item, score, self._reason(best[item][1], best[item][2], len(context)))
            for item, score in ranked
        ]

    @staticmethod
    def _reason(source: str, support: int, n_context: int) -> str:
        baskets = plural(support, "basket")
        if n_context == 1:
            return f"bought together in {baskets}"
        return f"bought together with {source} in {baskets}"
