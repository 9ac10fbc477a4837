"""Alternatives: what to offer *instead* when the customer's choice is not on the shelf.

Two signals, blended per item: the clickstream's "looked at X, bought Y" (visits where X was
viewed, not bought, and Y was bought) and the similarity of the catalogue text, which is all
a new product has. Only products of the same kind are candidates (:mod:`recommender.catalog`):
the alternative to a washing machine is another washing machine, never its hose, and the
alternative to a kettle is a kettle, not a toaster. A "viewed instead" pair counts only when it
is significant: at least ``min_support`` visits and a Wilson lower bound of its share above
what chance gives (the share of all purchasing visits that bought Y).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender import catalog as cat
from recommender.base import ItemInfo, Suggestion
from recommender.pairs import incidence
from recommender.stats import wilson_lower_bound, z_score

#: Attributes shown as shared traits, and their units (language-neutral).
TRAIT_UNITS = (
    ("capacite_kg", "{} kg"),
    ("volume_l", "{} L"),
    ("diagonale_pouces", '{}"'),
    ("couverts", "{} couverts"),
    ("essorage_tr_min", "{} tr/min"),
    ("technologie", "{}"),
    ("installation", "{}"),
    ("nettoyage", "{}"),
    ("resolution", "{}"),
    ("capacite_l", "{} L"),
    ("puissance_w", "{} W"),
    ("pression_bar", "{} bar"),
)


def _format(value: Any, pattern: str) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return pattern.format(value)


def shared_traits(first: ItemInfo, second: ItemInfo, limit: int = 3) -> list[str]:
    """Attribute values the two products share, formatted ("9 kg", "1400 tr/min")."""
    a, b = first.attributes or {}, second.attributes or {}
    traits = []
    for key, pattern in TRAIT_UNITS:
        if key in a and a.get(key) == b.get(key) and isinstance(a[key], (str, int, float)):
            traits.append(_format(a[key], pattern))
        if len(traits) == limit:
            break
    return traits


class AlternativeRecommender(BaseEstimator):
    """Same-kind items viewed-and-bought-instead, falling back on similar product text.

    Parameters
    ----------
    history_shrinkage : how many "viewed, not bought" visits an item needs before its history
        weighs as much as its text: weight = n / (n + history_shrinkage).
    top_n : candidates kept per item from each signal at fit time.
    min_support, confidence : a "viewed instead" pair needs this many visits and (unless
        ``confidence`` is None) a Wilson lower bound above the chance share.
    stop_words : words TF-IDF ignores (e.g. "de", "avec" for a French catalogue).
    kind_threshold : see :class:`recommender.catalog.Catalog`.
    """

    def __init__(
        self,
        history_shrinkage: float = 5.0,
        top_n: int = 50,
        min_support: int = 3,
        confidence: float | None = 0.95,
        stop_words: list[str] | None = None,
        kind_threshold: float = 0.5,
    ) -> None:
        self.history_shrinkage = history_shrinkage
        self.top_n = top_n
        self.min_support = min_support
        self.confidence = confidence
        self.stop_words = stop_words
        self.kind_threshold = kind_threshold

    def fit(
        self,
        sessions: Sequence[Sequence[str]],
        session_purchases: Sequence[Sequence[str]] = (),
        items: Mapping[str, ItemInfo] | None = None,
    ) -> AlternativeRecommender:
        """Learn from visits (items viewed, items bought, aligned) and the catalogue."""
        items = items or {}
        if session_purchases and len(session_purchases) != len(sessions):
            raise ValueError("session_purchases must have one entry per session")
        purchases = session_purchases or [()] * len(sessions)
        vocabulary: dict[str, int] = {}
        for name in items:
            vocabulary.setdefault(name, len(vocabulary))
        for visit in (*sessions, *purchases):
            for item in visit:
                vocabulary.setdefault(item, len(vocabulary))
        names = list(vocabulary)
        self.catalog_ = cat.Catalog(kind_threshold=self.kind_threshold).fit(items)

        history = self._history(sessions, purchases, vocabulary, names)
        content = self._content(items, names)
        self.alternatives_: dict[str, list[tuple[str, float, str, dict[str, Any]]]] = {}
        for name in names:
            viewed_without_buying, instead = history.get(name, (0, {}))
            similar = content.get(name, {})
            weight = 0.0
            if viewed_without_buying:
                weight = viewed_without_buying / (viewed_without_buying + self.history_shrinkage)
            ranked: list[tuple[str, float, str, dict[str, Any]]] = []
            for other in instead.keys() | similar.keys():
                if not self._same_kind(name, other):
                    continue
                count = instead.get(other, 0)
                cosine = similar.get(other, 0.0)
                from_history = weight * count / max(viewed_without_buying, 1)
                from_text = (1.0 - weight) * cosine
                score = from_history + from_text
                if score <= 0.0:
                    continue
                if count and from_history >= from_text:
                    ranked.append((other, score, "viewed_instead", {"visits": count}))
                else:
                    ranked.append((other, score, "similar", self._similar_params(name, other)))
            ranked.sort(key=lambda t: (-t[1], t[0]))
            if ranked:
                self.alternatives_[name] = ranked[: self.top_n]
        return self

    def _similar_params(self, name: str, other: str) -> dict[str, Any]:
        a, b = self.catalog_.info(name), self.catalog_.info(other)
        if a is None or b is None:
            return {}
        same_brand = bool(a.brand) and cat.fold(a.brand) == cat.fold(b.brand)
        return {"brand": b.brand if same_brand else "", "traits": shared_traits(a, b)}

    def _same_kind(self, a: str, b: str) -> bool:
        """Same kind; an item the catalogue does not describe may go anywhere."""
        if self.catalog_.info(a) is None or self.catalog_.info(b) is None:
            return True
        return self.catalog_.is_same_kind(a, b)

    def _history(
        self,
        sessions: Sequence[Sequence[str]],
        purchases: Sequence[Sequence[str]],
        vocabulary: dict[str, int],
        names: list[str],
    ) -> dict[str, tuple[int, dict[str, int]]]:
        """Per item: visits where it was viewed and not bought, and what was bought instead
        (significant pairs only)."""
        if not sessions:
            return {}
        viewed = incidence(sessions, vocabulary)
        bought = incidence(purchases, vocabulary)
        viewed_only = (viewed - viewed.multiply(bought)).tocsr()
        viewed_only.eliminate_zeros()
        # Only visits that ended in a purchase say what was preferred.
        ended_in_purchase = np.asarray(bought.sum(axis=1)).ravel() > 0
        viewed_only = sp.csr_matrix(sp.diags(ended_in_purchase.astype(np.float64)) @ viewed_only)
        viewed_only.eliminate_zeros()
        n_viewed = np.asarray(viewed_only.sum(axis=0)).ravel()
        purchasing = max(int(ended_in_purchase.sum()), 1)
        base_rate = np.asarray(bought.sum(axis=0)).ravel() / purchasing
        z = z_score(self.confidence) if self.confidence is not None else None
        instead = (viewed_only.T @ bought).tocsr()
        result: dict[str, tuple[int, dict[str, int]]] = {}
        for i, name in enumerate(names):
            if n_viewed[i] == 0:
                continue
            lo, hi = instead.indptr[i], instead.indptr[i + 1]
            cols, counts = instead.indices[lo:hi], instead.data[lo:hi]
            keep = (cols != i) & (counts >= self.min_support)
            if z is not None:
                bounds = wilson_lower_bound(counts, np.full(len(counts), n_viewed[i]), z)
                keep &= bounds > base_rate[cols]
            result[name] = (
                int(n_viewed[i]),
                {names[int(j)]: int(c) for j, c in zip(cols[keep], counts[keep], strict=True)},
            )
        return result

    def _content(
        self, items: Mapping[str, ItemInfo], names: list[str]
    ) -> dict[str, dict[str, float]]:
        """Per item: cosine of TF-IDF text to the closest items of its category."""
        described = [n for n in names if n in items]
        texts = [f"{items[n].name} {items[n].text} {items[n].category}" for n in described]
        vectorizer = TfidfVectorizer(stop_words=self.stop_words)
        try:
            tfidf = sp.csr_matrix(vectorizer.fit_transform(texts))
        except ValueError:  # no catalogue text at all: nothing to compare
            return {}
        groups: dict[str, list[int]] = {}
        for row, name in enumerate(described):
            groups.setdefault(items[name].category, []).append(row)
        result: dict[str, dict[str, float]] = {}
        for rows in groups.values():
            block = tfidf[rows]
            cosine = (block @ block.T).toarray()  # rows are L2-normalised by TfidfVectorizer
            np.fill_diagonal(cosine, 0.0)
            for a, row_a in enumerate(rows):
                best = np.argsort(-cosine[a], kind="stable")[: self.top_n]
                result[described[row_a]] = {
                    described[rows[int(b)]]: float(cosine[a, b]) for b in best if cosine[a, b] > 0
                }
        return result

    def recommend(self, item: str, k: int = 5, exclude: Collection[str] = ()) -> list[Suggestion]:
        """The ``k`` closest same-kind alternatives to ``item`` (e.g. when it is out of stock)."""
        out: list[Suggestion] = []
        for other, score, reason, params in self.alternatives_.get(item, ()):
            if other in exclude:
                continue
            out.append(Suggestion(other, score, reason, params))
            if len(out) == k:
                break
        return out
