"""Alternatives: what to offer *instead* when the customer's choice is not on the shelf.

Two signals, blended per item: the clickstream's "looked at X, bought Y" (visits where X was
viewed, not bought, and Y was bought) and TF-IDF similarity of the catalogue text, which is
all a new product has. Only items of the same kind (category or family) are candidates: the
alternative to a washing machine is another washing machine, never its hose.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender.base import ItemInfo, Suggestion
from recommender.complements import plural


def binary_matrix(
    rows_of_items: Sequence[Collection[str]], vocabulary: dict[str, int]
) -> sp.csr_matrix:
    """Visits x items, 1 where the visit touched the item."""
    rows: list[int] = []
    cols: list[int] = []
    for r, row in enumerate(rows_of_items):
        for j in {vocabulary[item] for item in row}:
            rows.append(r)
            cols.append(j)
    return sp.csr_matrix(
        (np.ones(len(rows)), (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))),
        shape=(len(rows_of_items), len(vocabulary)),
    )


class AlternativeRecommender(BaseEstimator):
    """Same-kind items viewed-and-bought-instead, falling back on similar product text.

    Parameters
    ----------
    history_shrinkage : how many "viewed, not bought" visits an item needs before its history
        weighs as much as its text: weight = n / (n + history_shrinkage).
    top_n : candidates kept per item from each signal at fit time.
    max_words : shared words shown in a "similar: ..." reason.
    stop_words : words TF-IDF ignores (e.g. "de", "avec" for a French catalogue).
    """

    def __init__(
        self,
        history_shrinkage: float = 5.0,
        top_n: int = 50,
        max_words: int = 3,
        stop_words: list[str] | None = None,
    ) -> None:
        self.history_shrinkage = history_shrinkage
        self.top_n = top_n
        self.max_words = max_words
        self.stop_words = stop_words

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
        self.kind_ = {name: (info.category, info.family) for name, info in items.items()}

        history = self._history(sessions, purchases, vocabulary, names)
        content = self._content(items, names)
        self.alternatives_: dict[str, list[tuple[str, float, str]]] = {}
        for name in names:
            viewed_without_buying, instead = history.get(name, (0, {}))
            similar = content.get(name, {})
            weight = 0.0
            if viewed_without_buying:
                weight = viewed_without_buying / (viewed_without_buying + self.history_shrinkage)
            ranked: list[tuple[str, float, str]] = []
            for other in instead.keys() | similar.keys():
                if not self._same_kind(name, other):
                    continue
                count = instead.get(other, 0)
                cosine, words = similar.get(other, (0.0, ""))
                from_history = weight * count / max(viewed_without_buying, 1)
                from_text = (1.0 - weight) * cosine
                score = from_history + from_text
                if score <= 0.0:
                    continue
                if count and from_history >= from_text:
                    reason = f"viewed instead in {plural(count, 'visit')}"
                else:
                    reason = f"similar: {words}" if words else "similar product"
                ranked.append((other, score, reason))
            ranked.sort(key=lambda t: (-t[1], t[0]))
            if ranked:
                self.alternatives_[name] = ranked[: self.top_n]
        return self

    def _same_kind(self, a: str, b: str) -> bool:
        """Same category or family; an item the catalogue does not describe may go anywhere."""
        cat_a, fam_a = self.kind_.get(a, ("", ""))
        cat_b, fam_b = self.kind_.get(b, ("", ""))
        if not (cat_a or fam_a) or not (cat_b or fam_b):
            return True
        return bool(cat_a and cat_a == cat_b) or bool(fam_a and fam_a == fam_b)

    def _history(
        self,
        sessions: Sequence[Sequence[str]],
        purchases: Sequence[Sequence[str]],
        vocabulary: dict[str, int],
        names: list[str],
    ) -> dict[str, tuple[int, dict[str, int]]]:
        """Per item: visits where it was viewed and not bought, and what was bought instead."""
        if not sessions:
            return {}
        viewed = binary_matrix(sessions, vocabulary)
        bought = binary_matrix(purchases, vocabulary)
        viewed_only = (viewed - viewed.multiply(bought)).tocsr()
        viewed_only.eliminate_zeros()
        # Only visits that ended in a purchase say what was preferred.
        ended_in_purchase = np.asarray(bought.sum(axis=1)).ravel() > 0
        viewed_only = sp.csr_matrix(sp.diags(ended_in_purchase.astype(np.float64)) @ viewed_only)
        viewed_only.eliminate_zeros()
        n_viewed = np.asarray(viewed_only.sum(axis=0)).ravel()
        instead = (viewed_only.T @ bought).tocsr()
        result: dict[str, tuple[int, dict[str, int]]] = {}
        for i, name in enumerate(names):
            lo, hi = instead.indptr[i], instead.indptr[i + 1]
            cols, counts = instead.indices[lo:hi], instead.data[lo:hi]
            if n_viewed[i] == 0:
                continue
            result[name] = (
                int(n_viewed[i]),
                {names[int(j)]: int(c) for j, c in zip(cols, counts, strict=True) if j != i},
            )
        return result

    def _content(
        self, items: Mapping[str, ItemInfo], names: list[str]
    ) -> dict[str, dict[str, tuple[float, str]]]:
        """Per item: cosine of TF-IDF text to the top items of its category, with shared words."""
        described = [n for n in names if n in items]
        texts = [f"{items[n].text} {items[n].category}" for n in described]
        vectorizer = TfidfVectorizer(stop_words=self.stop_words)
        try:
            tfidf = sp.csr_matrix(vectorizer.fit_transform(texts))
        except ValueError:  # no catalogue text at all: nothing to compare
            return {}
        analyze = vectorizer.build_analyzer()
        terms = vectorizer.get_feature_names_out()
        groups: dict[str, list[int]] = {}
        for row, name in enumerate(described):
            groups.setdefault(items[name].category, []).append(row)
        result: dict[str, dict[str, tuple[float, str]]] = {}
        for category, rows in groups.items():
            block = tfidf[rows]
            cosine = (block @ block.T).toarray()  # rows are L2-normalised by TfidfVectorizer
            np.fill_diagonal(cosine, 0.0)
            category_words = set(analyze(category))
            for a, row_a in enumerate(rows):
                best = np.argsort(-cosine[a], kind="stable")[: self.top_n]
                similar: dict[str, tuple[float, str]] = {}
                for b in best:
                    if cosine[a, b] <= 0.0:
                        break
                    words = self._shared_words(tfidf, row_a, rows[b], terms, category_words)
                    similar[described[rows[b]]] = (float(cosine[a, b]), words)
                result[described[row_a]] = similar
        return result

    def _shared_words(
        self,
        tfidf: sp.csr_matrix,
        a: int,
        b: int,
        terms: np.ndarray,
        skip: set[str],
    ) -> str:
        row_a = dict(
            zip(
                tfidf.indices[tfidf.indptr[a] : tfidf.indptr[a + 1]],
                tfidf.data[tfidf.indptr[a] : tfidf.indptr[a + 1]],
                strict=True,
            )
        )
        shared = [
            (row_a[j] * w, str(terms[j]))
            for j, w in zip(
                tfidf.indices[tfidf.indptr[b] : tfidf.indptr[b + 1]],
                tfidf.data[tfidf.indptr[b] : tfidf.indptr[b + 1]],
                strict=True,
            )
            if j in row_a and str(terms[j]) not in skip
        ]
        shared.sort(key=lambda t: (-t[0], t[1]))
        return ", ".join(word for _, word in shared[: self.max_words])

    def recommend(self, item: str, k: int = 5, exclude: Collection[str] = ()) -> list[Suggestion]:
        """The ``k`` closest same-kind alternatives to ``item`` (e.g. when it is out of stock)."""
        out: list[Suggestion] = []
        for other, score, reason in self.alternatives_.get(item, ()):
            if other in exclude:
                continue
            out.append(Suggestion(other, score, reason))
            if len(out) == k:
                break
        return out
