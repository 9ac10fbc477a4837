"""Complements: what to sell *with* what the customer has chosen, as a good seller would.

1. **Candidates** come from the data (items bought together, and more weakly put in the
   cart or viewed in one webshop visit: :mod:`recommender.pairs`), from the catalogue
   (accessories, consumables and services declared to fit: :mod:`recommender.catalog`), and,
   for a product with no history of its own, from the history of the most similar products.
2. **Filters**: no substitute (a product of the same kind, unless the data show the two
   bought together: colours of a giftware item bought by the dozen are complements, a second
   washing machine is not); nothing the catalogue says does not fit; no big-ticket item for a
   cheap one (more than ``price_ratio`` times the dearest item of the context) unless more
   than ``overwhelming`` of that item's baskets hold it (Wilson lower bound).
3. **Order**: compatible accessories first (made for this model, then this brand, then this
   type of product), then consumables, then other complements from the data, then services;
   within each, the data's score.

Every suggestion carries a reason code and its parameters (``bought_together`` with the
number of baskets, ``compatible`` with the product's category and brand, ...).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer

from recommender import catalog as cat
from recommender.base import ItemInfo, Suggestion
from recommender.pairs import (
    CART,
    PURCHASE,
    SIMILARITIES,
    VIEW,
    Evidence,
    decay_weights,
    ease,
    gram,
    incidence,
    significant_pairs,
    similarity_of,
)
from recommender.stats import z_score

__all__ = ["SIMILARITIES", "ComplementRecommender", "plural"]

KINDS = (PURCHASE, CART, VIEW)
#: Reason codes of complements, by the evidence that made the pair.
REASON_OF_KIND = {PURCHASE: "bought_together", CART: "carted_together", VIEW: "viewed_together"}
COUNT_OF_KIND = {PURCHASE: "baskets", CART: "visits", VIEW: "visits"}
#: Tiers, in the order a seller brings them up: compatible accessories, consumables, other
#: complements the sales (or carts) show, services, then what webshop views alone suggest.
TIERS = ("compatible", "consumable", "", "service", "viewed")
TIER_OF_ROLE = {cat.ACCESSORY: "compatible", cat.CONSUMABLE: "consumable", cat.SERVICE: "service"}


def plural(n: int, word: str) -> str:
    """``1 basket``, ``3 baskets`` (English, for logs and the command line)."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class _Neighbour:
    item: str
    score: float
    kind: str
    support: int
    strength: float


@dataclass(frozen=True)
class _Placed:
    """Where a candidate goes: its score (tier first), tier, fit level and what it fits."""

    score: float
    tier: str
    fit: int
    fitted_to: str | None


def _squash(value: float) -> float:
    return value / (1.0 + value) if value > 0 else 0.0


class ComplementRecommender(BaseEstimator):
    """Items that go with the context: data, catalogue and a seller's order (module docstring).

    Parameters (the defaults are what the shop serves; docs/evaluation.md says how they were
    chosen on a validation month of UCI Online Retail)
    ----------
    similarity : "ease" (default), "jaccard", "cosine", "lift" or "count".
    l2 : ridge of ``ease``; larger shrinks rare pairs more.
    half_life_days : a row this many days older than the newest weighs half (None: no decay).
    top_n : neighbours kept per item, so that recommending is a dictionary walk; a large
        basket sums the neighbours of all its items, and long tails of weak pairs would
        outvote the strong ones.
    min_support, confidence : a pair needs ``min_support`` rows of one kind of evidence and
        (unless ``confidence`` is None) a Wilson lower bound of P(j | i) above j's base rate.
    allow_substitutes : keep same-kind items the data do not show bought together.
    price_ratio, overwhelming : nothing dearer than ``price_ratio`` x the context's dearest
        item unless the Wilson lower bound of P(j | i) in purchases reaches ``overwhelming``
        (None: no price rule).
    cart_weight, view_weight : weight of a webshop visit's carts and views against a basket.
    kind_threshold : text similarity from which two products of one category are the same
        kind (:class:`recommender.catalog.Catalog`).
    similar_items, similar_threshold : a product without history borrows the neighbours of
        up to this many products of its category whose text is at least this similar.
    max_dense_items : ``ease`` inverts an items x items matrix; with more items than this,
        ``jaccard`` is used instead (memory).
    variant_share : two products of the same kind are complements, not substitutes, only
        when the data show them bought together often: significantly, and in at least this
        share of the baskets of the first (Wilson lower bound). A wholesaler's colours of one
        lunch bag qualify; two brands of dishwasher tablets bought together now and then do
        not.
    """

    def __init__(
        self,
        similarity: str = "ease",
        l2: float = 20.0,
        half_life_days: float | None = 180.0,
        top_n: int = 10,
        min_support: int = 3,
        confidence: float | None = 0.95,
        allow_substitutes: bool = False,
        price_ratio: float | None = 3.0,
        overwhelming: float = 0.7,
        cart_weight: float = 0.5,
        view_weight: float = 0.1,
        kind_threshold: float = 0.5,
        similar_items: int = 3,
        similar_threshold: float = 0.2,
        max_dense_items: int = 12_000,
        variant_share: float = 0.2,
    ) -> None:
        self.similarity = similarity
        self.l2 = l2
        self.half_life_days = half_life_days
        self.top_n = top_n
        self.min_support = min_support
        self.confidence = confidence
        self.allow_substitutes = allow_substitutes
        self.price_ratio = price_ratio
        self.overwhelming = overwhelming
        self.cart_weight = cart_weight
        self.view_weight = view_weight
        self.kind_threshold = kind_threshold
        self.similar_items = similar_items
        self.similar_threshold = similar_threshold
        self.max_dense_items = max_dense_items
        self.variant_share = variant_share

    # --- fitting ----------------------------------------------------------------------

    def fit(
        self,
        baskets: Sequence[Sequence[str]],
        basket_times: Sequence[float] | None = None,
        items: Mapping[str, ItemInfo] | None = None,
        *,
        sessions: Sequence[Sequence[str]] = (),
        session_carts: Sequence[Sequence[str]] = (),
        session_times: Sequence[float] = (),
    ) -> ComplementRecommender:
        """Learn from baskets (oldest first; ``basket_times`` in Unix seconds), webshop visits
        (items viewed, items put in the cart) and the catalogue."""
        self._check_params(baskets, basket_times, sessions, session_carts, session_times)
        items = dict(items or {})
        vocabulary: dict[str, int] = {}
        for row in (*baskets, *session_carts, *sessions):
            for item in row:
                vocabulary.setdefault(item, len(vocabulary))
        names = list(vocabulary)
        visit_times = list(session_times) or [0.0] * len(sessions)
        evidence = [
            Evidence(
                PURCHASE,
                incidence(baskets, vocabulary),
                decay_weights(basket_times or [0.0] * len(baskets), self.half_life_days),
                1.0,
            ),
            Evidence(
                CART,
                incidence(session_carts, vocabulary),
                decay_weights(visit_times[: len(session_carts)], self.half_life_days),
                self.cart_weight,
            ),
            Evidence(
                VIEW,
                incidence(sessions, vocabulary),
                decay_weights(visit_times, self.half_life_days),
                self.view_weight,
            ),
        ]
        z = z_score(self.confidence) if self.confidence is not None else None
        pairs = significant_pairs(evidence, self.min_support, z)
        scores = self._pair_scores(evidence, pairs, len(names))
        keep = scores > 0
        self.neighbours_: dict[str, list[_Neighbour]] = {}
        order = np.lexsort((pairs.cols[keep], -scores[keep], pairs.rows[keep]))
        rows, cols = pairs.rows[keep][order], pairs.cols[keep][order]
        kinds, support = pairs.kind[keep][order], pairs.support[keep][order]
        strength, kept_scores = pairs.strength[keep][order], scores[keep][order]
        starts = np.searchsorted(rows, np.arange(len(names) + 1))
        for i, name in enumerate(names):
            lo, hi = int(starts[i]), min(int(starts[i + 1]), int(starts[i]) + self.top_n)
            if hi > lo:
                self.neighbours_[name] = [
                    _Neighbour(
                        names[int(cols[p])],
                        float(kept_scores[p]),
                        KINDS[int(kinds[p])],
                        int(support[p]),
                        float(strength[p]),
                    )
                    for p in range(lo, hi)
                ]
        purchase_counts = np.asarray(evidence[0].matrix.sum(axis=0)).ravel()
        self.item_counts_ = {
            name: int(n) for name, n in zip(names, purchase_counts, strict=True) if n
        }
        self.n_baskets_ = len(baskets)
        self.catalog_ = cat.Catalog(kind_threshold=self.kind_threshold).fit(items)
        self.co_bought_ = self._co_bought(pairs, names, vocabulary)
        self._fit_fitting(items)
        self._fit_similar(items)
        return self

    def _check_params(
        self,
        baskets: Sequence[Sequence[str]],
        basket_times: Sequence[float] | None,
        sessions: Sequence[Sequence[str]],
        session_carts: Sequence[Sequence[str]],
        session_times: Sequence[float],
    ) -> None:
        if self.similarity not in SIMILARITIES:
            raise ValueError(f"similarity must be one of {SIMILARITIES}, not {self.similarity!r}")
        if self.half_life_days is not None and self.half_life_days <= 0:
            raise ValueError("half_life_days must be positive")
        if self.half_life_days is not None and (
            basket_times is None or len(basket_times) != len(baskets)
        ):
            raise ValueError("half_life_days needs one time per basket (basket_times)")
        if self.min_support < 1 or self.top_n < 1:
            raise ValueError("min_support and top_n must be at least 1")
        if session_carts and len(session_carts) != len(sessions):
            raise ValueError("session_carts must have one entry per session")
        if session_times and len(session_times) != len(sessions):
            raise ValueError("session_times must have one entry per session")

    def _pair_scores(
        self, evidence: list[Evidence], pairs: Any, n_items: int
    ) -> np.ndarray[Any, np.dtype[np.float64]]:
        if len(pairs.rows) == 0:
            return np.zeros(0)
        similarity = self.similarity
        if similarity == "ease" and n_items > self.max_dense_items:
            similarity = "jaccard"
        if similarity == "ease":
            weights = ease(gram(evidence, dense=True), self.l2)
            return np.asarray(weights[pairs.rows, pairs.cols], dtype=np.float64)
        weighted = gram(evidence, dense=False)
        frequency = np.asarray(weighted.diagonal(), dtype=np.float64)
        together = np.asarray(weighted[pairs.rows, pairs.cols]).ravel()
        total = float(sum(float((e.weights * e.weight).sum()) for e in evidence))
        return similarity_of(
            similarity, together, frequency[pairs.rows], frequency[pairs.cols], total
        )

    def _co_bought(
        self, pairs: Any, names: list[str], vocabulary: dict[str, int]
    ) -> dict[str, frozenset[str]]:
        """Same-kind items that are significantly bought together: not substitutes."""
        purchase = pairs.kind == KINDS.index(PURCHASE)
        if self.confidence is not None:
            purchase &= pairs.strength >= self.variant_share
        size = max(len(names), 1)
        bought = pairs.rows[purchase] * size + pairs.cols[purchase]
        sources: list[int] = []
        others: list[int] = []
        for sku, same in self.catalog_.same_kind_.items():
            i = vocabulary.get(sku)
            if i is None:
                continue
            for other in same:
                j = vocabulary.get(other)
                if j is not None:
                    sources.append(i)
                    others.append(j)
        if not sources:
            return {}
        first, second = np.asarray(sources), np.asarray(others)
        hit = np.isin(first * size + second, bought)
        result: dict[str, set[str]] = {}
        for i, j in zip(first[hit].tolist(), second[hit].tolist(), strict=True):
            result.setdefault(names[i], set()).add(names[j])
        return {sku: frozenset(found) for sku, found in result.items()}

    def _fit_fitting(self, items: Mapping[str, ItemInfo]) -> None:
        """Per category, the accessories, consumables and services meant for it."""
        self.meant_for_: dict[str, list[str]] = {}
        for sku, info in items.items():
            if self.catalog_.role_of(sku) == cat.PRODUCT:
                continue
            for category in cat.targets(info, self.catalog_.categories_):
                self.meant_for_.setdefault(category, []).append(sku)

    def _fit_similar(self, items: Mapping[str, ItemInfo]) -> None:
        """For catalogue items without neighbours: the most similar items that have some."""
        self.text_vectorizer_: TfidfVectorizer | None = None
        self.similar_: dict[str, list[tuple[str, float]]] = {}
        self.with_history_: dict[str, tuple[list[str], sp.csr_matrix]] = {}
        if not items or self.similar_items <= 0:
            return
        names = list(items)
        vectorizer = TfidfVectorizer(analyzer=cat.words, sublinear_tf=True)
        try:
            vectors = sp.csr_matrix(
                vectorizer.fit_transform([_content_text(items[n]) for n in names])
            )
        except ValueError:  # no text at all
            return
        self.text_vectorizer_ = vectorizer
        row_of = {name: row for row, name in enumerate(names)}
        groups: dict[str, list[str]] = {}
        for name in names:
            if name in self.neighbours_:
                groups.setdefault(items[name].category, []).append(name)
        self.with_history_ = {
            category: (members, vectors[[row_of[m] for m in members]])
            for category, members in groups.items()
        }
        for name in names:
            if name not in self.neighbours_:
                found = self._most_similar(vectors[row_of[name]], items[name].category, name)
                if found:
                    self.similar_[name] = found

    def _most_similar(
        self, vector: sp.csr_matrix, category: str, name: str
    ) -> list[tuple[str, float]]:
        members, matrix = self.with_history_.get(category, ([], None))
        if matrix is None or vector.nnz == 0:
            return []
        cosine = np.asarray((matrix @ vector.T).toarray()).ravel()
        best = np.argsort(-cosine, kind="stable")[: self.similar_items]
        return [
            (members[int(b)], float(cosine[b]))
            for b in best
            if cosine[b] >= self.similar_threshold and members[int(b)] != name
        ]

    # --- recommending -----------------------------------------------------------------

    def known(self, item: str) -> bool:
        """The model has history (neighbours) for this item."""
        return item in self.neighbours_

    def recommend(
        self,
        items: Iterable[str],
        k: int = 5,
        exclude: Collection[str] = (),
        allow_substitutes: bool | None = None,
        infos: Mapping[str, ItemInfo] | None = None,
        one_per_kind: bool = True,
    ) -> list[Suggestion]:
        """The ``k`` best complements of the items already chosen (the context).

        ``infos`` describes context items the model was not trained with (products created
        since): their catalogue information finds what fits them and similar products.
        ``one_per_kind=False`` keeps every candidate (a caller that filters the list further,
        e.g. by stock, then applies :meth:`one_per_kind` itself).
        """
        context = _Context(self.catalog_, list(dict.fromkeys(items)), dict(infos or {}))
        substitutes = self.allow_substitutes if allow_substitutes is None else allow_substitutes
        found: dict[str, _Candidate] = {}
        for source in context.items:
            for neighbour, weight, borrowed_from in self._neighbours_of(source, context.infos):
                candidate = found.setdefault(neighbour.item, _Candidate(neighbour.item))
                candidate.add_data(source, neighbour, weight, borrowed_from)
            for sku in self._meant_for(source, context.infos):
                found.setdefault(sku, _Candidate(sku))
        ranked: list[tuple[float, str, _Placed]] = []
        for sku, candidate in found.items():
            if sku in context.members or sku in exclude:
                continue
            if not substitutes and self._substitute(sku, context, candidate):
                continue
            placed = self._place(sku, context, candidate)
            if placed is not None:
                ranked.append((-placed.score, sku, placed))
        ranked.sort(key=lambda entry: (entry[0], entry[1]))
        suggestions: list[Suggestion] = []
        shown: list[str] = []
        for _, sku, placed in ranked:
            if len(suggestions) == k:
                break
            if one_per_kind and not substitutes and self._repeats_a_kind(sku, shown, context):
                continue  # one HDMI cable is enough: the best of each kind
            shown.append(sku)
            reason, params = self._reason(
                placed.tier, placed.fitted_to, placed.fit, found[sku], context
            )
            suggestions.append(Suggestion(sku, placed.score, reason, params, placed.tier))
        return suggestions

    def _neighbours_of(
        self, source: str, infos: Mapping[str, ItemInfo]
    ) -> Iterable[tuple[_Neighbour, float, str | None]]:
        own = self.neighbours_.get(source)
        if own:
            for neighbour in own:
                yield neighbour, 1.0, None
            return
        # No history: what was bought with the most similar products.
        similar = self.similar_.get(source)
        if similar is None and source in infos and self.text_vectorizer_ is not None:
            vector = sp.csr_matrix(self.text_vectorizer_.transform([_content_text(infos[source])]))
            similar = self._most_similar(vector, infos[source].category, source)
        for other, cosine in similar or ():
            for neighbour in self.neighbours_.get(other, ()):
                yield neighbour, cosine, other

    def _meant_for(self, source: str, infos: Mapping[str, ItemInfo]) -> list[str]:
        info = self.catalog_.info(source) or infos.get(source)
        if info is None or not self.meant_for_:
            return []
        if self.catalog_.role_of(source, info) == cat.PRODUCT:
            return self.meant_for_.get(info.category, [])
        # An accessory: the others meant for the same kind of product.
        return [
            sku
            for category in cat.targets(info, self.catalog_.categories_)
            for sku in self.meant_for_.get(category, [])
        ]

    def one_per_kind(
        self, suggestions: Sequence[Suggestion], infos: Mapping[str, ItemInfo] | None = None
    ) -> list[Suggestion]:
        """The best suggestion of each kind (one HDMI cable, one stacking kit), in order."""
        kept: list[Suggestion] = []
        context = _Context(self.catalog_, [], dict(infos or {}))
        for suggestion in suggestions:
            if not self._repeats_a_kind(suggestion.item, [s.item for s in kept], context):
                kept.append(suggestion)
        return kept

    def _repeats_a_kind(self, sku: str, shown: list[str], context: _Context) -> bool:
        """Same kind as a suggestion already in the list, and not bought with it."""
        return any(
            self.catalog_.is_same_kind(other, sku, context.infos)
            and sku not in self.co_bought_.get(other, ())
            for other in shown
        )

    def _substitute(self, sku: str, context: _Context, candidate: _Candidate) -> bool:
        """Same kind as a context item that the data do not show it bought with."""
        return any(
            sku not in self.co_bought_.get(source, ()) for source in context.same_kind_sources(sku)
        )

    def _place(self, sku: str, context: _Context, candidate: _Candidate) -> _Placed | None:
        """Fit, price sanity, tier, score and reason of one candidate (None: left out)."""
        info = self.catalog_.info(sku) or context.infos.get(sku)
        role = self.catalog_.role_of(sku, info) if info is not None else cat.PRODUCT
        best_fit, fitted_to = cat.NO_INFO, None
        declared = False
        # A product only meets fit rules next to accessories (a Bosch washer is left out for
        # a Samsung stacking kit); an accessory, consumable or service next to anything.
        for source in context.items if role != cat.PRODUCT else context.accessories:
            level = self._fit(sku, source, role, context.infos)
            if level != cat.NO_INFO:
                declared = True
            if level > best_fit:
                best_fit, fitted_to = level, source
        if declared and best_fit < cat.FIT_TYPE:
            return None  # the catalogue says it does not go with anything chosen
        if (
            self.price_ratio is not None
            and info is not None
            and info.price is not None
            and context.max_price is not None
            and info.price > self.price_ratio * context.max_price
            and candidate.strength < self.overwhelming
        ):
            return None  # a big-ticket item next to a cheap one, without overwhelming data
        tier = TIER_OF_ROLE.get(role, "") if best_fit >= cat.FIT_TYPE else ""
        if not tier and candidate.best is None:
            return None  # neither the catalogue nor the data: nothing to say
        rank = TIERS.index(tier)
        if not tier and candidate.best is not None and candidate.best.kind == VIEW:
            rank = TIERS.index("viewed")  # a weaker signal: after everything else
        score = (len(TIERS) - 1 - rank) + 0.2 * max(best_fit, 0) + 0.15 * _squash(candidate.score)
        return _Placed(score, tier, best_fit, fitted_to)

    def _fit(self, sku: str, source: str, role: str, infos: Mapping[str, ItemInfo]) -> int:
        if role != cat.PRODUCT:
            return self.catalog_.fit_of(sku, source, infos)
        # A product next to an accessory made for its kind of product but not for it (a Bosch
        # washer next to a Samsung stacking kit); about other products the accessory says
        # nothing (a carry bag next to the kit).
        if self.catalog_.fit_of(source, sku, infos) != cat.DOES_NOT_FIT:
            return cat.NO_INFO
        accessory = self.catalog_.info(source) or infos.get(source)
        product = self.catalog_.info(sku) or infos.get(sku)
        if accessory is None or product is None:
            return cat.NO_INFO
        about = cat.targets(accessory, self.catalog_.categories_)
        return cat.DOES_NOT_FIT if product.category in about else cat.NO_INFO

    def _reason(
        self,
        tier: str,
        fitted_to: str | None,
        level: int,
        candidate: _Candidate,
        context: _Context,
    ) -> tuple[str, dict[str, Any]]:
        params: dict[str, Any] = {}
        best = candidate.best
        if best is not None:
            params[COUNT_OF_KIND[best.kind]] = best.support
            if len(context.items) > 1 or candidate.borrowed_from:
                params["with_sku"] = candidate.borrowed_from or candidate.best_source
        if tier and fitted_to is not None:
            anchor = self.catalog_.info(fitted_to) or context.infos.get(fitted_to) or ItemInfo()
            if self.catalog_.role_of(fitted_to, anchor) != cat.PRODUCT:
                # Next to an accessory: both are for the same kind of product.
                own = self.catalog_.info(candidate.item) or context.infos.get(candidate.item)
                shared = [
                    c
                    for c in cat.targets(anchor, self.catalog_.categories_)
                    if own is not None and c in cat.targets(own, self.catalog_.categories_)
                ]
                params.update(for_sku=fitted_to, category=shared[0] if shared else "")
                return "same_appliance", params
            params.update(
                for_sku=fitted_to,
                category=anchor.category,
                type=str((anchor.attributes or {}).get("type") or ""),
                brand=anchor.brand if level >= cat.FIT_BRAND else "",
            )
            return tier, params
        if best is None:
            return "bought_together", params
        if candidate.borrowed_from:
            return "bought_with_similar", params
        return REASON_OF_KIND[best.kind], params


class _Context:
    """The items already chosen, read once per call."""

    __slots__ = (
        "_catalog",
        "_same_kind",
        "_unknown",
        "accessories",
        "infos",
        "items",
        "max_price",
        "members",
    )

    def __init__(self, catalog: cat.Catalog, items: list[str], infos: dict[str, ItemInfo]):
        self.items = items
        self.members = set(items)
        self.infos = infos
        described = [(s, catalog.info(s) or infos.get(s)) for s in items]
        self.accessories = [
            s
            for s, info in described
            if info is not None and catalog.role_of(s, info) != cat.PRODUCT
        ]
        prices = [i.price for _, i in described if i is not None and i.price is not None]
        self.max_price = max(prices) if prices else None
        # Candidate -> the context items of its kind (catalogue pairs of known products).
        self._same_kind: dict[str, list[str]] = {}
        self._catalog = catalog
        for source in items:
            for other in catalog.same_kind_.get(source, ()):
                self._same_kind.setdefault(other, []).append(source)
        self._unknown = [s for s in items if catalog.info(s) is None]

    def same_kind_sources(self, sku: str) -> list[str]:
        """The context items of the same kind as ``sku``."""
        found = self._same_kind.get(sku, [])
        if not self._unknown and self._catalog.info(sku) is not None:
            return found
        # Products the fitted catalogue does not know (created since): compare their text.
        unknown_sku = self._catalog.info(sku) is None
        return found + [
            s
            for s in self.items
            if s != sku
            and s not in found
            and (unknown_sku or s in self._unknown)
            and self._catalog.is_same_kind(s, sku, self.infos)
        ]


class _Candidate:
    """What the data say about one candidate, summed over the context."""

    __slots__ = ("best", "best_source", "borrowed_from", "item", "score", "strength")

    def __init__(self, item: str) -> None:
        self.item = item
        self.score = 0.0
        self.best: _Neighbour | None = None
        self.best_source: str | None = None
        self.borrowed_from: str | None = None
        self.strength = 0.0

    def add_data(
        self, source: str, neighbour: _Neighbour, weight: float, borrowed_from: str | None
    ) -> None:
        self.score += neighbour.score * weight
        if borrowed_from is None:
            self.strength = max(self.strength, neighbour.strength)
        rank = (KINDS.index(neighbour.kind), -neighbour.support)
        if self.best is None or rank < (KINDS.index(self.best.kind), -self.best.support):
            self.best = neighbour
            self.best_source = source
            self.borrowed_from = borrowed_from


def _content_text(info: ItemInfo) -> str:
    """Name, brand, text and attribute values: what content similarity compares."""
    values = " ".join(
        str(v) for v in (info.attributes or {}).values() if isinstance(v, (str, int, float))
    )
    return f"{info.name} {info.brand} {info.text} {values}"
