"""What the index reads of a product, and the terms it is findable by (pure functions).

Each term carries the *rank* of the best field it comes from:

* ``IS`` (0): what the product is: the first word of its name (with the words joined to it),
  its category, brand, model codes, SKU, GTIN, and its own specifications (type, technology,
  "9 kg", "55 pouces");
* ``NAME`` (1): the rest of the name and the colour;
* ``MENTION`` (2): what it mentions: the description and what it fits (compatible
  categories, brands and models).

The terms are computed when the product is written (``store_api.search.service``) and kept
with it (``products.search_text``, JSON), so a process loads its index without analysing
the catalogue again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from store_api.search import text
from store_api.search.text import Word

IS, NAME, MENTION = 0, 1, 2

# Attribute keys that say what a product fits, not what it is.
MENTION_KEYS = frozenset({"compatible_avec", "marques", "modeles", "filtre"})
# A product with one of these is an accessory: it comes after what it fits when all else ties.
FITS_KEYS = frozenset({"compatible_avec", "modeles"})
# A numeric attribute whose key ends in a unit is indexed with it: capacite_kg=9 -> "9 kg".
UNIT_KEYS = {"couverts": "couverts", "fentes": "fentes", "personnes": "personnes"}
UNITS = frozenset({"kg", "l", "cm", "mm", "m", "w", "bar", "db", "hz", "min", "pouces", "g"})
MAX_TERM = 64


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
    if len(term) > MAX_TERM:
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


def encode_terms(best: Mapping[str, int], surfaces: Mapping[str, str]) -> str:
    """The terms as stored with the product: ``{"t": {term: rank}, "s": {term: written}}``
    (a written form only where it differs from the term)."""
    written = {t: s for t, s in surfaces.items() if s != t}
    return json.dumps({"t": best, "s": written}, ensure_ascii=False, separators=(",", ":"))


def decode_terms(stored: str) -> tuple[dict[str, int], dict[str, str]] | None:
    """The terms stored by :func:`encode_terms`, or None for anything else (not indexed yet)."""
    if not stored.startswith('{"t":'):
        return None
    try:
        data = json.loads(stored)
    except ValueError:
        return None
    return data["t"], data.get("s", {})
