"""The in-memory index and its ranking (pure: no database, no Flask).

Each product becomes a document: its terms (see :mod:`store_api.search.text`), each with the
*rank* of the best field it comes from:

* ``IS`` (0): what the product is: the first word of its name, its category, brand, model
  codes, SKU, GTIN, and its own specifications (type, technology, "9 kg", "55 pouces");
* ``NAME`` (1): the rest of the name and the colour;
* ``MENTION`` (2): what it mentions: the description and what it fits (compatible
  categories, brands and models).

A query is cut into *groups* (a word; two words also written as one, "wgg 244"; a phrase with
synonyms, "machine à laver"); each group matches a document through its best alternative.
Documents are ordered by rules applied one after the other, as Meilisearch does:

1. words: a document must match every word of the query (stop words aside);
2. typos: fewer typos first (1 allowed from 5 letters, 2 from 9; none in numbers);
3. attribute: the sum of the ranks of the fields that matched (what it *is* first);
4. the optional in-stock boost;
5. exactness: whole words before prefixes of words (the last word is a prefix as you type);
6. category, name and SKU, so that equal documents always come in the same order.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from store_api.search import text
from store_api.search.text import Word

IS, NAME, MENTION = 0, 1, 2

# Attribute keys that say what a product fits, not what it is.
MENTION_KEYS = frozenset({"compatible_avec", "marques", "modeles", "filtre"})
# A numeric attribute whose key ends in a unit is indexed with it: capacite_kg=9 -> "9 kg".
UNIT_KEYS = {"couverts": "couverts", "fentes": "fentes", "personnes": "personnes"}
UNITS = frozenset({"kg", "l", "cm", "mm", "m", "w", "bar", "db", "hz", "min", "pouces", "g"})

WORDS, GLUED, SYNONYM = "words", "glued", "synonym"
MAX_QUERY_WORDS = 10
MAX_PREFIX_TERMS = 200
ONE_TYPO_FROM = 5
TWO_TYPOS_FROM = 9

# One match quality as an int, so that a document's sum stays a single number to compare:
# typos weigh more than any sum of ranks, which weigh more than any sum of prefixes.
_TYPO, _RANK, _PREFIX = 10_000, 100, 1


@dataclass(frozen=True, slots=True)
class ProductText:
    """What the index reads of a product."""

    id: int
    sku: str
    gtin: str | None
    name: str
    brand: str
    category: str
    colour: str
    description: str
    attributes: Mapping[str, Any]
    active: bool
    price: str
    image_url: str | None


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
    order: tuple[str, str, str]
    terms: dict[str, int]

    @property
    def price_cents(self) -> int:
        return int(self.price.replace(".", ""))


def _attribute_text(key: str, value: Any) -> tuple[int, str]:
    """(rank, text) of one attribute."""
    rank = MENTION if key in MENTION_KEYS else IS
    if isinstance(value, bool):
        return rank, key.replace("_", " ") if value else ""
    if isinstance(value, int | float):
        unit = UNIT_KEYS.get(key) or key.rsplit("_", 1)[-1]
        number = f"{value:g}".replace(".", ",")
        return rank, f"{number} {unit}" if unit in UNITS or key in UNIT_KEYS else ""
    if isinstance(value, str):
        return rank, value
    if isinstance(value, list):
        return rank, " ; ".join(str(v) for v in value if isinstance(v, str | int | float))
    return rank, ""


def document_terms(product: ProductText) -> tuple[dict[str, int], dict[str, str]]:
    """term -> best rank, and term -> a surface form (lower case, accents kept) for display."""
    best: dict[str, int] = {}
    surfaces: dict[str, str] = {}

    def add(source: str, rank: int, head_rank: int | None = None) -> None:
        items = text.words(source)
        written: dict[str, str] | None = None
        head_end = _head_end(items) if head_rank is not None else -1
        for i, word in enumerate(items):
            if word.stop:
                continue
            term = word.term
            word_rank = head_rank if i <= head_end and head_rank is not None else rank
            if head_rank is not None and text.has_digit(term) and not text.is_number(term):
                word_rank = IS  # a model code in the name ("FAB28", "OLED808") names it
            _keep(best, term, word_rank)
            if term not in surfaces and term.isalpha():
                if written is None:
                    written = _written_forms(source)
                surfaces[term] = written.get(word.raw, word.raw)
        for first, _last, term in text.compounds(items):
            word_rank = head_rank if first <= head_end and head_rank is not None else rank
            _keep(best, term, word_rank)

    add(product.name, NAME, head_rank=IS)
    add(product.brand, IS)
    add(product.category, IS)
    add(product.colour, NAME)
    add(product.description, MENTION)
    for key, value in product.attributes.items():
        rank, words = _attribute_text(str(key), value)
        if words:
            add(words, rank)
    sku = text.fold(product.sku)
    parts = text.words(sku)
    _keep(best, "".join(p.raw for p in parts), IS)
    for part in parts:
        _keep(best, part.raw, IS)
    if product.gtin:
        _keep(best, product.gtin, IS)
    return best, surfaces


def _head_end(items: Sequence[Word]) -> int:
    """Index of the last word of the name's head: its first word with the words joined to it."""
    first = next((i for i, w in enumerate(items) if not w.stop), None)
    if first is None:
        return -1
    end = first
    while end + 1 < len(items) and items[end + 1].joined:
        end += 1
    return end


def _keep(best: dict[str, int], term: str, rank: int) -> None:
    if len(term) > 64:
        return
    old = best.get(term)
    if old is None or rank < old:
        best[term] = rank


def _written_forms(source: str) -> dict[str, str]:
    """folded word -> the word as written (lower case, accents kept), for corrections."""
    forms: dict[str, str] = {}
    for token in source.lower().replace("-", " ").replace("'", " ").split():
        token = token.strip('.,;:()!?"')
        forms.setdefault(text.fold(token), token)
    return forms


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


@dataclass(frozen=True, slots=True)
class Ranked:
    ids: list[int]
    total: int
    correction: str | None
    words: int
    matched: list[int] = field(default_factory=list)


class SearchIndex:
    """Documents, postings (term -> {doc id: rank}), sorted terms, typo candidates, synonyms."""

    def __init__(self) -> None:
        self.docs: dict[int, Doc] = {}
        self.postings: dict[str, dict[int, int]] = {}
        self.sorted_terms: list[str] = []
        self.typo_keys: dict[str, set[str]] = {}
        self.surfaces: dict[str, str] = {}
        self.synonyms: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        self.longest_synonym = 0
        self.generation = 0
        self._bulk = False

    # --- building --------------------------------------------------------------------------

    def put(self, product: ProductText) -> None:
        """Add or replace one product."""
        self.remove(product.id)
        found, surfaces = document_terms(product)
        doc = Doc(
            id=product.id,
            sku=product.sku,
            name=product.name,
            brand=product.brand,
            category=product.category,
            colour=product.colour,
            active=product.active,
            price=product.price,
            image_url=product.image_url,
            order=(text.fold(product.category), text.fold(product.name), product.sku),
            terms=found,
        )
        self.docs[product.id] = doc
        for term, rank in found.items():
            posting = self.postings.get(term)
            if posting is None:
                posting = self.postings[term] = {}
                self._new_term(term)
            posting[product.id] = rank
        for term, surface in surfaces.items():
            self.surfaces.setdefault(term, surface)

    def load(self, products: Iterable[ProductText]) -> None:
        """Add many products at once (sorting the terms once, at the end)."""
        self._bulk = True
        try:
            for product in products:
                self.put(product)
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

    def remove(self, doc_id: int) -> None:
        doc = self.docs.pop(doc_id, None)
        if doc is None:
            return
        for term in doc.terms:
            posting = self.postings.get(term)
            if posting is not None:
                posting.pop(doc_id, None)
                if not posting:
                    del self.postings[term]  # sorted_terms and typo_keys skip it from now on

    def set_synonyms(self, synonyms: Iterable[Synonym]) -> None:
        merged: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
        for synonym in synonyms:
            merged.setdefault(synonym.key, [])
            merged[synonym.key] += [m for m in synonym.meanings if m not in merged[synonym.key]]
        self.synonyms = merged
        self.longest_synonym = max((len(k) for k in merged), default=0)

    # --- term look-ups ---------------------------------------------------------------------

    def prefixed(self, prefix: str) -> list[str]:
        """Known terms starting with ``prefix`` (at most MAX_PREFIX_TERMS, shortest first)."""
        at = bisect.bisect_left(self.sorted_terms, prefix)
        found: list[str] = []
        for term in self.sorted_terms[at:]:
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

    def _word_matches(
        self, term: str, raw: str, prefix: bool, fuzzy: bool
    ) -> tuple[dict[int, int], str | None]:
        """doc -> quality for one term of a query, and the correction used if any."""
        found: dict[int, int] = {}
        posting = self.postings.get(term)
        if posting:
            found = {doc: rank * _RANK for doc, rank in posting.items()}
        if prefix and len(raw) >= 2:
            for other in self.prefixed(raw):
                if other == term:
                    continue
                for doc, rank in self.postings[other].items():
                    quality = rank * _RANK + _PREFIX
                    if quality < found.get(doc, 1 << 30):
                        found[doc] = quality
        if found or not fuzzy:
            return found, None
        near = self.near(term)
        for other, distance in near:
            for doc, rank in self.postings[other].items():
                quality = distance * _TYPO + rank * _RANK
                if quality < found.get(doc, 1 << 30):
                    found[doc] = quality
        return found, (near[0][0] if near else None)

    def _group_matches(self, group: Group) -> tuple[dict[int, int], dict[int, str]]:
        """doc -> quality of the group (per word, times the words it covers), and for each
        word found only through a typo, the term it was read as.

        Typos are tried only when no alternative matches as typed: a word of the catalogue
        is never "corrected" into another one.
        """
        best: dict[int, int] = {}
        for terms, kind in group.alternatives:
            _merge(best, self._alternative(group, terms, kind, fuzzy=False)[0], group.size)
        if best:
            return best, {}
        terms, kind = group.alternatives[0]
        found, corrections = self._alternative(group, terms, kind, fuzzy=True)
        _merge(best, found, group.size)
        return best, corrections if best else {}

    def _alternative(
        self, group: Group, terms: tuple[str, ...], kind: str, *, fuzzy: bool
    ) -> tuple[dict[int, int], dict[int, str]]:
        """doc -> worst quality over ``terms`` (all must match), and corrections by word."""
        per_term = []
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
                return {}, {}
            if corrected is not None:
                corrections[n] = corrected
            per_term.append(matches)
        per_term.sort(key=len)
        common = per_term[0]
        for other in per_term[1:]:
            common = {d: max(q, other[d]) for d, q in common.items() if d in other}
        return common, corrections

    def search(
        self,
        query: str,
        *,
        keep: Callable[[Doc], bool],
        limit: int,
        only: Callable[[Sequence[int]], set[int]] | None = None,
        boost: Callable[[Sequence[int]], set[int]] | None = None,
        order: str = "relevance",
        facets: bool = False,
    ) -> Ranked:
        """The first ``limit`` documents ``keep`` (and ``only``) accept, best first; the total,
        a "did you mean" correction and, with ``facets``, every match (unordered)."""
        groups = self.groups(query)
        if not groups:
            return Ranked([], 0, None, 0)
        matched = []
        corrections: dict[tuple[int, int], str] = {}
        for g, group in enumerate(groups):
            docs, fixed = self._group_matches(group)
            matched.append({d: q for d, q in docs.items() if keep(self.docs[d])})
            for n, term in fixed.items():
                corrections[(g, n)] = term
        scores = _combine(matched, [g.size for g in groups])
        if only is not None and scores:
            allowed = only(list(scores))
            scores = {d: s for d, s in scores.items() if d in allowed}
        correction = self._correction(query, groups, corrections)
        if not scores:
            return Ranked([], 0, correction, 0)
        in_stock = boost(list(scores)) if boost is not None else set()
        ranked = heapq.nsmallest(limit, scores, key=self._sort_key(order, scores, in_stock))
        best_words = max(w for w, _q in scores.values())
        return Ranked(ranked, len(scores), correction, best_words, list(scores) if facets else [])

    def _sort_key(
        self, order: str, scores: dict[int, tuple[int, int]], in_stock: set[int]
    ) -> Callable[[int], Any]:
        docs = self.docs
        if order == "name":
            return lambda d: docs[d].order[1:]
        if order == "price":
            return lambda d: (docs[d].price_cents, docs[d].order)
        if order == "-price":
            return lambda d: (-docs[d].price_cents, docs[d].order)

        def relevance(doc_id: int) -> tuple[int, int, int, int, tuple[str, str, str]]:
            words, quality = scores[doc_id]
            return (
                -words,
                quality // _RANK,
                0 if doc_id in in_stock else 1,
                quality % _RANK,
                docs[doc_id].order,
            )

        return relevance

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


def _merge(best: dict[int, int], found: dict[int, int], size: int) -> None:
    for doc, quality in found.items():
        total = quality * size
        if total < best.get(doc, 1 << 30):
            best[doc] = total


def _combine(matched: list[dict[int, int]], sizes: list[int]) -> dict[int, tuple[int, int]]:
    """doc -> (words matched, summed quality) for the documents that match every group."""
    order = sorted(range(len(matched)), key=lambda g: len(matched[g]))
    full = dict(matched[order[0]])
    for g in order[1:]:
        other = matched[g]
        full = {d: q + other[d] for d, q in full.items() if d in other}
        if not full:
            return {}
    total_words = sum(sizes)
    return {d: (total_words, q) for d, q in full.items()}
