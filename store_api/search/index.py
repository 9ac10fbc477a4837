"""The in-memory index and its ranking (pure: no database, no Flask).

Documents are products (:mod:`store_api.search.documents` gives their terms and the rank of
the field each comes from: what the product *is*, its name, what it *mentions*). A query is
cut into *groups* (a word; two words also written as one, "wgg 244"; a phrase with synonyms,
"machine à laver"); a document must match every group, each through its best alternative.
Documents are then ordered by rules applied one after the other, as Meilisearch does:

1. typos: fewer typos first (1 allowed from 5 letters, 2 from 9; none in numbers; tried only
   for a word the catalogue does not know as typed);
2. attribute: the sum of the ranks of the fields that matched (what it *is* first), the
   first word counting twice (French names the thing first: "filtre frigo", "sacs aspirateur");
3. the optional in-stock boost;
4. exactness: whole words before prefixes of words (the last word is a prefix as you type);
5. accessories (products that fit others) after the rest, then category, name and SKU, so
   that equal documents always come in the same order.

Scores are computed over the whole catalogue with numpy arrays (one slot per product), so a
broad query ("tv", "sa" as you type) costs about as much as a narrow one.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from store_api.search import text
from store_api.search.documents import FITS_KEYS, ProductText, document_terms
from store_api.search.text import Word

WORDS, GLUED, SYNONYM = "words", "glued", "synonym"
MAX_QUERY_WORDS = 10
MAX_PREFIX_TERMS = 200
ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9

# One match quality as an int, so that a document's sum stays a single number to compare:
# typos weigh more than any sum of ranks, which weigh more than any sum of prefixes.
_TYPO, _RANK, _PREFIX = 10_000, 100, 1
_NONE = np.int64(1) << 40  # "does not match"

IntArray = npt.NDArray[np.int64]


@dataclass(slots=True)
class Doc:
    id: int
    sku: str
    name: str
    brand: str
    category: str
    colour: str
    active: bool
    price: str
    image_url: str | None
    order: tuple[bool, str, str, str]
    terms: dict[str, int]
    # The product as the API shows it (without stock), made from the same database row.
    payload: dict[str, Any] | None = None

    @property
    def price_cents(self) -> int:
        return int(self.price.replace(".", ""))


@dataclass(frozen=True, slots=True)
class Filters:
    """Which documents may be found: retired ones or not, a category, brand or colour."""

    include_inactive: bool = False
    category: str | None = None
    brand: str | None = None
    colour: str | None = None


def deletes(word: str, distance: int) -> set[str]:
    """Every string made by deleting up to ``distance`` letters (SymSpell's candidates)."""
    found = {word}
    frontier = {word}
    for _ in range(distance):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        found |= frontier
    return found


def osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insert, delete, substitute, swap two neighbours."""
    if a == b:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]


def typos_allowed(word: str) -> int:
    if not word.isalpha():
        return 0
    if len(word) >= TWO_TYPOS_FROM:
        return 2
    return 1 if len(word) >= ONE_TYPO_FROM else 0


@dataclass(frozen=True, slots=True)
class Synonym:
    """A phrase the shop floor uses (as stems) and what it means in the catalogue."""

    key: tuple[str, ...]
    meanings: tuple[tuple[str, ...], ...]


def compile_synonym(term: str, meanings: Iterable[str]) -> Synonym | None:
    key = tuple(w.term for w in text.words(term) if not w.stop)
    phrases = []
    for meaning in meanings:
        stems = tuple(w.term for w in text.words(meaning) if not w.stop)
        if stems and stems != key:
            phrases.append(stems)
    if not key or not phrases:
        return None
    return Synonym(key, tuple(phrases))


@dataclass(slots=True)
class Group:
    """Query words that match together; ``alternatives`` are term lists (all must match)."""

    start: int
    size: int
    words: list[Word]
    # (terms, kind): kind is WORDS (the words as typed), GLUED or SYNONYM.
    alternatives: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    prefix: bool = False


@dataclass(slots=True)
class Ranked:
    ids: list[int]
    total: int
    correction: str | None
    categories: list[tuple[str, int]] = field(default_factory=list)
    brands: list[tuple[str, int]] = field(default_factory=list)


class SearchIndex:
    """Documents by slot, postings (term -> {slot: rank}), sorted terms for prefixes, SymSpell
    keys for typos, synonyms; numpy arrays of the postings and per-slot values, made again
    lazily after a change."""

    def __init__(self) -> None:
        self.docs: dict[int, Doc] = {}  # product id -> document
        self.slot_of: dict[int, int] = {}
        self.ids: list[int] = []  # slot -> product id (-1: free)
        self.postings: dict[str, dict[int, int]] = {}
        self.sorted_terms: list[str] = []
        self.typo_keys: dict[str, set[str]] = {}
        self.surfaces: dict[str, str] = {}
        self.synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        self.longest_synonym = 0
        self.generation = 0
        self._bulk = False
        self._arrays: dict[str, tuple[IntArray, IntArray]] = {}
        self._slots_stale = True
        self._live: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._active: npt.NDArray[np.bool_] = np.zeros(0, dtype=bool)
        self._order: IntArray = np.zeros(0, dtype=np.int64)
        self._by_name: IntArray = np.zeros(0, dtype=np.int64)
        self._price: IntArray = np.zeros(0, dtype=np.int64)
        self._values: dict[str, tuple[list[str], IntArray]] = {}

    # --- building --------------------------------------------------------------------------

    def put(
        self,
        product: ProductText,
        terms: tuple[dict[str, int], dict[str, str]] | None = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Add or replace one product (``terms``: as stored with it, else analysed here)."""
        self.remove(product.id)
        found, surfaces = terms if terms is not None else document_terms(product)
        slot = len(self.ids)
        self.ids.append(product.id)
        self.slot_of[product.id] = slot
        self.docs[product.id] = Doc(
            id=product.id,
            sku=product.sku,
            name=product.name,
            brand=product.brand,
            category=product.category,
            colour=product.colour,
            active=product.active,
            price=product.price,
            image_url=product.image_url,
            order=(
                any(k in FITS_KEYS for k in product.attributes),
                text.fold(product.category),
                text.fold(product.name),
                product.sku,
            ),
            terms=found,
            payload=payload,
        )
        for term, rank in found.items():
            posting = self.postings.get(term)
            if posting is None:
                posting = self.postings[term] = {}
                self._new_term(term)
            posting[slot] = rank
            if not self._bulk:
                self._arrays.pop(term, None)
        for term, surface in surfaces.items():
            self.surfaces.setdefault(term, surface)
        self._slots_stale = True

    def load(self, products: Iterable[tuple[Any, ...]]) -> None:
        """Add many products at once (sorting the terms once, at the end): tuples of the
        arguments of :meth:`put`."""
        self._bulk = True
        try:
            for args in products:
                self.put(*args)
        finally:
            self._bulk = False
        self.sorted_terms = sorted(set(self.sorted_terms) | set(self.postings))

    def _new_term(self, term: str) -> None:
        if not self._bulk:
            at = bisect.bisect_left(self.sorted_terms, term)
            if at == len(self.sorted_terms) or self.sorted_terms[at] != term:
                self.sorted_terms.insert(at, term)
        if term.isalpha() and len(term) >= ONE_TYPO_FROM - 1:
            for key in deletes(term, 2 if len(term) >= TWO_TYPOS_FROM - 2 else 1):
                self.typo_keys.setdefault(key, set()).add(term)

    def remove(self, product_id: int) -> None:
        doc = self.docs.pop(product_id, None)
        if doc is None:
            return
        slot = self.slot_of.pop(product_id)
        self.ids[slot] = -1  # slots are not reused: arrays stay aligned until rebuilt
        for term in doc.terms:
            posting = self.postings.get(term)
            if posting is not None:
                posting.pop(slot, None)
                self._arrays.pop(term, None)
                if not posting:
                    del self.postings[term]  # sorted_terms and typo_keys skip it from now on
        self._slots_stale = True

    def set_synonyms(self, synonyms: Iterable[Synonym]) -> None:
        merged: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for synonym in synonyms:
            merged.setdefault(synonym.key, [])
            merged[synonym.key] += [m for m in synonym.meanings if m not in merged[synonym.key]]
        self.synonyms = merged
        self.longest_synonym = max((len(k) for k in merged), default=0)

    # --- arrays ----------------------------------------------------------------------------

    def _posting_arrays(self, term: str) -> tuple[IntArray, IntArray]:
        arrays = self._arrays.get(term)
        if arrays is None:
            posting = self.postings.get(term, {})
            slots = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
            ranks = np.fromiter(posting.values(), dtype=np.int64, count=len(posting))
            arrays = self._arrays[term] = (slots, ranks)
        return arrays

    def _refresh_slots(self) -> None:
        """Per-slot arrays: found at all, sort positions, prices, category/brand/colour ids."""
        if not self._slots_stale:
            return
        size = len(self.ids)
        live = [(slot, self.docs[pid]) for slot, pid in enumerate(self.ids) if pid >= 0]
        self._live = np.array([pid >= 0 for pid in self.ids], dtype=bool)
        self._active = np.zeros(size, dtype=bool)
        for slot, doc in live:
            self._active[slot] = doc.active
        self._order = np.full(size, size, dtype=np.int64)
        for position, (slot, _doc) in enumerate(sorted(live, key=lambda sd: sd[1].order)):
            self._order[slot] = position
        self._by_name = np.full(size, size, dtype=np.int64)
        by_name = sorted(live, key=lambda sd: (sd[1].order[2], sd[1].sku))
        for position, (slot, _doc) in enumerate(by_name):
            self._by_name[slot] = position
        self._price = np.zeros(size, dtype=np.int64)
        for slot, doc in live:
            self._price[slot] = doc.price_cents
        self._values = {}
        for attribute in ("category", "brand", "colour"):
            names: list[str] = []
            number: dict[str, int] = {}
            codes = np.full(size, -1, dtype=np.int64)
            for slot, doc in live:
                value = getattr(doc, attribute)
                if value not in number:
                    number[value] = len(names)
                    names.append(value)
                codes[slot] = number[value]
            self._values[attribute] = (names, codes)
        self._slots_stale = False

    def _allowed(self, filters: Filters) -> npt.NDArray[np.bool_]:
        allowed = self._live.copy()
        if not filters.include_inactive:
            allowed &= self._active
        for attribute in ("category", "brand", "colour"):
            wanted = getattr(filters, attribute)
            if wanted:
                key = text.fold(wanted.strip())
                names, codes = self._values[attribute]
                same = [i for i, name in enumerate(names) if text.fold(name) == key]
                allowed &= np.isin(codes, same)
        return allowed

    def counts(self, attribute: str, slots: IntArray, top: int) -> list[tuple[str, int]]:
        """Values of ``attribute`` among ``slots`` with how many, most first (ties by name)."""
        names, codes = self._values[attribute]
        if not len(slots):
            return []
        tally = np.bincount(codes[slots], minlength=len(names))
        found = [(names[i], int(n)) for i, n in enumerate(tally.tolist()) if n and names[i]]
        return sorted(found, key=lambda vn: (-vn[1], text.fold(vn[0])))[:top]

    # --- term look-ups ---------------------------------------------------------------------

    def prefixed(self, prefix: str) -> list[str]:
        """Known terms starting with ``prefix``: the MAX_PREFIX_TERMS most frequent of the
        first few thousand (a two-letter prefix of model numbers can start thousands)."""
        terms = self.sorted_terms
        at = bisect.bisect_left(terms, prefix)
        end = min(len(terms), at + 20 * MAX_PREFIX_TERMS)
        found: list[str] = []
        for i in range(at, end):
            term = terms[i]
            if not term.startswith(prefix):
                break
            if term in self.postings:
                found.append(term)
        if len(found) > MAX_PREFIX_TERMS:
            found = sorted(found, key=lambda t: -len(self.postings[t]))[:MAX_PREFIX_TERMS]
        return found

    def near(self, word: str) -> list[tuple[str, int]]:
        """Known terms within the typos ``word`` allows, with their distance, best first."""
        allowed = typos_allowed(word)
        if not allowed:
            return []
        candidates: set[str] = set()
        for key in deletes(word, allowed):
            candidates |= self.typo_keys.get(key, set())
        found = []
        for term in candidates:
            if term in self.postings:
                distance = osa_distance(word, term)
                if 0 < distance <= allowed:
                    found.append((term, distance))
        found.sort(key=lambda td: (td[1], -len(self.postings[td[0]]), td[0]))
        return found

    # --- queries ---------------------------------------------------------------------------

    def groups(self, query: str) -> list[Group]:
        """Cut a query into groups of words with their alternatives (see the module doc)."""
        items = text.words(query)
        as_you_type = bool(query) and not query[-1].isspace()
        kept = [(i, w) for i, w in enumerate(items) if not w.stop][:MAX_QUERY_WORDS]
        groups: list[Group] = []
        k = 0
        while k < len(kept):
            group = self._synonym_group(kept, k) or self._glued_group(items, kept, k, as_you_type)
            if group is None:
                index, word = kept[k]
                group = Group(k, 1, [word], [((word.term,), WORDS)])
                # "de longhi" -> "delonghi": a stop word right before glues to the word.
                if index > 0 and items[index - 1].stop and not word.joined:
                    glued = text.glue(items[index - 1].raw, word.raw)
                    if glued in self.postings:
                        group.alternatives.append(((glued,), GLUED))
            last = group.start + group.size == len(kept)
            group.prefix = as_you_type and last and kept[-1][0] == len(items) - 1
            groups.append(group)
            k += group.size
        return groups

    def _synonym_group(self, kept: list[tuple[int, Word]], k: int) -> Group | None:
        for size in range(min(self.longest_synonym, len(kept) - k), 0, -1):
            words = [w for _i, w in kept[k : k + size]]
            meanings = self.synonyms.get(tuple(w.term for w in words))
            if meanings:
                group = Group(k, size, words, [(tuple(w.term for w in words), WORDS)])
                group.alternatives += [(m, SYNONYM) for m in meanings]
                return group
        return None

    def _glued_group(
        self, items: Sequence[Word], kept: list[tuple[int, Word]], k: int, as_you_type: bool
    ) -> Group | None:
        if k + 1 >= len(kept):
            return None
        (i, left), (j, right) = kept[k], kept[k + 1]
        if j != i + 1:
            return None
        glued = text.glue(left.raw, right.raw)
        last = k + 2 == len(kept) and j == len(items) - 1
        if glued in self.postings or (as_you_type and last and self.prefixed(left.raw + right.raw)):
            alternatives = [((left.term, right.term), WORDS), ((glued,), GLUED)]
            return Group(k, 2, [left, right], alternatives)
        return None

    # --- matching ---------------------------------------------------------------------------

    def _word_matches(
        self, term: str, raw: str, prefix: bool, fuzzy: bool
    ) -> tuple[list[tuple[str, int]], str | None]:
        """(term, extra quality) pairs a query word matches, and the correction if a typo."""
        found: list[tuple[str, int]] = []
        if term in self.postings:
            found.append((term, 0))
        if prefix and len(raw) >= 2:
            found += [(t, _PREFIX) for t in self.prefixed(raw) if t != term]
        if found or not fuzzy:
            return found, None
        near = self.near(term)
        return [(t, d * _TYPO) for t, d in near], (near[0][0] if near else None)

    def _term_quality(self, matches: list[tuple[str, int]], size: int) -> IntArray:
        """Per slot: the best quality over ``matches`` (``_NONE`` where none matches)."""
        quality = np.full(size, _NONE, dtype=np.int64)
        for term, extra in matches:
            slots, ranks = self._posting_arrays(term)
            np.minimum.at(quality, slots, ranks * _RANK + extra)
        return quality

    def _alternative(
        self, group: Group, terms: tuple[str, ...], kind: str, *, fuzzy: bool, size: int
    ) -> tuple[IntArray | None, dict[int, str]]:
        """Per slot: the worst quality over ``terms`` (all must match); corrections by word."""
        worst: IntArray | None = None
        corrections: dict[int, str] = {}
        for n, term in enumerate(terms):
            if kind == WORDS:
                raw = group.words[n].raw
            elif kind == GLUED:
                raw = "".join(w.raw for w in group.words)
            else:
                raw = term
            prefix = group.prefix and n == len(terms) - 1
            matches, corrected = self._word_matches(term, raw, prefix, fuzzy and kind == WORDS)
            if not matches:
                return None, {}
            if corrected is not None:
                corrections[n] = corrected
            quality = self._term_quality(matches, size)
            worst = quality if worst is None else np.maximum(worst, quality)
        return worst, corrections

    def _group_quality(self, group: Group, size: int) -> tuple[IntArray, dict[int, str]]:
        """Per slot: the group's quality (per word, times the words it covers), and for each
        word found only through a typo, the term it was read as.

        Typos are tried only when no alternative matches as typed: a word of the catalogue
        is never "corrected" into another one.
        """
        best = np.full(size, _NONE, dtype=np.int64)
        for terms, kind in group.alternatives:
            quality, _fixed = self._alternative(group, terms, kind, fuzzy=False, size=size)
            if quality is not None:
                np.minimum(best, quality, out=best)
        if (best < _NONE).any():
            return _scaled(best, group.size), {}
        terms, kind = group.alternatives[0]
        quality, corrections = self._alternative(group, terms, kind, fuzzy=True, size=size)
        if quality is None:
            return best, {}
        return _scaled(quality, group.size), corrections

    def search(
        self,
        query: str,
        *,
        filters: Filters = Filters(),
        limit: int,
        only: Callable[[Sequence[int]], set[int]] | None = None,
        boost: Callable[[Sequence[int]], set[int]] | None = None,
        order: str = "relevance",
        facets: bool = False,
    ) -> Ranked:
        """Product ids of the first ``limit`` matches, best first; the total, a "did you mean"
        correction and, with ``facets``, the categories and brands of every match."""
        groups = self.groups(query)
        self._refresh_slots()
        size = len(self.ids)
        if not groups or not size:
            return Ranked([], 0, None)
        total = np.zeros(size, dtype=np.int64)
        matched = self._allowed(filters)
        corrections: dict[tuple[int, int], str] = {}
        for g, group in enumerate(groups):
            quality, fixed = self._group_quality(group, size)
            matched &= quality < _NONE
            if g == 0 and len(groups) > 1:
                # French puts the head noun first ("sacs aspirateur", "filtre frigo"): where
                # the first word matched counts twice in the attribute rule.
                quality = quality + (quality % _TYPO) // _RANK * _RANK
            total += np.where(quality < _NONE, quality, 0)
            for n, term in fixed.items():
                corrections[(g, n)] = term
        correction = self._correction(query, groups, corrections)
        slots = np.flatnonzero(matched)
        if only is not None and len(slots):
            allowed = only([self.ids[s] for s in slots])
            slots = np.array([s for s in slots if self.ids[s] in allowed], dtype=np.int64)
        if not len(slots):
            return Ranked([], 0, correction)
        key = self._keys(order, slots, total, boost)
        count = min(limit, len(slots))
        if count < len(slots):
            picked = np.argpartition(key, count - 1)[:count]
        else:
            picked = np.arange(len(slots))
        best = picked[np.argsort(key[picked], kind="stable")]
        ids = [self.ids[s] for s in slots[best]]
        ranked = Ranked(ids, len(slots), correction)
        if facets:
            ranked.categories = self.counts("category", slots, 5)
            ranked.brands = self.counts("brand", slots, 5)
        return ranked

    def _keys(
        self,
        order: str,
        slots: IntArray,
        total: IntArray,
        boost: Callable[[Sequence[int]], set[int]] | None,
    ) -> IntArray:
        """One int64 per match, smaller first, encoding the rules of the module doc."""
        positions = np.int64(len(self.ids) + 1)
        if order == "name":
            return self._by_name[slots]
        if order == "price":
            return self._price[slots] * positions + self._order[slots]
        if order == "-price":
            return -self._price[slots] * positions + self._order[slots]
        quality = total[slots]
        out_of_stock = np.ones(len(slots), dtype=np.int64)
        if boost is not None:
            available = boost([self.ids[s] for s in slots])
            out_of_stock = np.array(
                [0 if self.ids[s] in available else 1 for s in slots], dtype=np.int64
            )
        key = ((quality // _RANK) * 2 + out_of_stock) * _RANK + quality % _RANK
        return key * positions + self._order[slots]

    def _correction(
        self, query: str, groups: list[Group], corrections: dict[tuple[int, int], str]
    ) -> str | None:
        """The query with each word found only through a typo replaced by what it matched."""
        if not corrections:
            return None
        replaced: dict[str, str] = {}
        for (g, n), term in corrections.items():
            replaced[groups[g].words[n].raw] = self.surfaces.get(term, term)
        out = [replaced.get(w.raw, w.raw) for w in text.words(query)]
        return " ".join(out)


def _scaled(quality: IntArray, size: int) -> IntArray:
    return np.where(quality < _NONE, quality * size, _NONE)
