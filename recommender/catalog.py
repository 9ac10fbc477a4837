"""What the catalogue says about products: their kind, their role, what they fit.

Pure functions and one fitted :class:`Catalog` (no Flask, no database). A seller reads a
catalogue this way:

* **kind**: what a product *is*, from its name and its ``type`` attribute, brand, colours,
  sizes and model codes left out ("Lave-linge hublot Bosch Serie 6 9 kg" is a "lave-linge
  hublot"; on UCI Online Retail "LUNCH BAG RED RETROSPOT" is a "lunch bag"). Two products of
  one category whose kinds read alike (TF-IDF cosine of the kind words at or above a
  threshold), or two variants of one family, are the same kind: one may replace the other.
* **role**: a ``service`` (``"service": true``, e.g. a warranty extension), a ``consumable``
  (``"consommable": true``, or a kind word that is used up: descaler, tablets, detergent,
  refill, bags, filter, cartridge), an ``accessory`` (it declares what it goes with, or its
  name says so: "... pour lave-linge"), otherwise a ``product``.
* **fit**: how precisely an accessory is declared to go with a product. Attributes:
  ``compatible_avec`` (categories), ``marques`` (brands), ``modeles`` (model codes found in
  the product's SKU or name), ``prix_appareil_min``/``prix_appareil_max`` (a warranty's price
  band), ``diagonale_min``/``diagonale_max`` (inches, against the product's
  ``diagonale_pouces``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from recommender.base import ItemInfo

if TYPE_CHECKING:  # imported where used: store_api reads the rules without loading sklearn
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer

SERVICE = "service"
CONSUMABLE = "consumable"
ACCESSORY = "accessory"
PRODUCT = "product"
ROLES = (ACCESSORY, CONSUMABLE, SERVICE, PRODUCT)

#: Fit levels, most precise first: made for this model, for this brand, for this type.
FIT_MODEL = 3
FIT_BRAND = 2
FIT_TYPE = 1
NO_INFO = 0
DOES_NOT_FIT = -1

_TOKEN = re.compile(r"[a-z]+(?:-[a-z]+)*")

# Words that say nothing about what a product is: French and English fillers, units, sizes,
# colours and the patterns/colour words of UCI Online Retail's giftware.
STOP_WORDS = frozenset(
    """
    a au aux avec d de des du en et l la le les par pour sans sur un une x lot the of and
    with for in on to set pack kg l cm mm m g w v ml pouces pouce tr min bar litres litre
    blanc blanche noir noire gris grise anthracite inox argent argente rouge bleu bleue vert
    verte creme beige rose jaune marron or dore orange violet brun ivoire white black grey
    gray red pink blue green ivory cream gold silver orange purple yellow brown natural
    pastel bright colour colours color colors assorted retrospot polkadot polka dot dots
    spotty spot spots stripe stripes striped design designs floral paisley vintage small
    large medium mini jumbo big giant
    """.split()  # noqa: SIM905 (a word list reads better as text)
)

# Kind words of things that are used up and bought again (French, English).
CONSUMABLE_WORDS = frozenset(
    """
    detartrant detartrants tablettes lessive lessives recharge recharges sacs sac filtre
    filtres cartouche cartouches capsules dosettes sel liquide descaler tablets detergent
    refill refills bags filter filters cartridge cartridges pods
    """.split()  # noqa: SIM905 (a word list reads better as text)
)


def fold(text: str) -> str:
    """Lower case without accents: "Sèche-linge" -> "seche-linge"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(text: str) -> list[str]:
    """Letter words (hyphenated compounds kept whole) of a text, folded."""
    return _TOKEN.findall(fold(text))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "oui", "vrai"}
    return bool(value)


def _as_list(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)] if value not in (None, "") else []


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def kind_words(info: ItemInfo) -> list[str]:
    """The words that say what a product is (name and ``type`` attribute; no brand, colour,
    size, number or model code)."""
    brand = set(words(info.brand))
    type_attribute = info.attributes.get("type") if info.attributes else None
    text = f"{info.name or info.text} {type_attribute if isinstance(type_attribute, str) else ''}"
    return [w for w in words(text) if len(w) > 1 and w not in STOP_WORDS and w not in brand]


def kind_heads(info: ItemInfo) -> frozenset[str]:
    """The first kind word of the name and of the ``type`` attribute: in French the noun that
    says what a product is comes first ("Machine à café broyeur", "Réfrigérateur combiné")."""
    brand = set(words(info.brand))
    heads = set()
    type_attribute = info.attributes.get("type") if info.attributes else None
    for text in (info.name or info.text, type_attribute if isinstance(type_attribute, str) else ""):
        first = next(
            (w for w in words(text) if len(w) > 1 and w not in STOP_WORDS and w not in brand),
            None,
        )
        if first:
            heads.add(first)
    return frozenset(heads)


def singular(word: str) -> str:
    """Plural to singular, enough for category names: "refrigerateurs" -> "refrigerateur"."""
    if word.endswith(("s", "x")) and len(word) > 3:
        return word[:-1]
    return word


def role(info: ItemInfo, categories: Iterable[str] = ()) -> str:
    """service, consumable, accessory or product (see the module's docstring)."""
    attributes = info.attributes or {}
    if _truthy(attributes.get(SERVICE)):
        return SERVICE
    declared = bool(_as_list(attributes.get("compatible_avec")))
    meant_for_something = declared or bool(name_targets(info, categories))
    if _truthy(attributes.get("consommable")) or (
        meant_for_something and bool(CONSUMABLE_WORDS & set(kind_words(info)))
    ):
        return CONSUMABLE
    if meant_for_something:
        return ACCESSORY
    return PRODUCT


def name_targets(info: ItemInfo, categories: Iterable[str]) -> list[str]:
    """Categories an accessory's name says it is for ("Pieds ... pour lave-linge")."""
    name = f" {' '.join(words(info.name))} "
    own = fold(info.category)
    found = []
    for category in categories:
        folded = fold(category)
        if not folded or folded == own:
            continue
        forms = {" ".join(words(folded)), " ".join(singular(w) for w in words(folded))}
        if any(f" pour {form} " in name for form in forms if form):
            found.append(category)
    return found


def targets(info: ItemInfo, categories: Iterable[str] = ()) -> list[str]:
    """The categories an accessory goes with: declared, else read from its name."""
    declared = _as_list((info.attributes or {}).get("compatible_avec"))
    return declared or name_targets(info, categories)


def _model_codes(sku: str, info: ItemInfo) -> set[str]:
    return {part.upper() for part in re.split(r"[-\s/]+", f"{sku} {info.name}") if part}


def fit(
    accessory: ItemInfo,
    product_sku: str,
    product: ItemInfo,
    categories: Iterable[str] = (),
) -> int:
    """How an accessory goes with a product: FIT_MODEL, FIT_BRAND, FIT_TYPE, NO_INFO (the
    accessory says nothing) or DOES_NOT_FIT."""
    attributes = accessory.attributes or {}
    wanted = targets(accessory, categories)
    if not wanted:
        return NO_INFO
    if product.category not in wanted:
        return DOES_NOT_FIT
    level = FIT_TYPE
    brands = {fold(b) for b in _as_list(attributes.get("marques"))}
    if brands:
        if fold(product.brand) not in brands:
            return DOES_NOT_FIT
        level = FIT_BRAND
    models = {m.upper() for m in _as_list(attributes.get("modeles"))}
    if models:
        if not models & _model_codes(product_sku, product):
            return DOES_NOT_FIT
        level = FIT_MODEL
    price = product.price
    low, high = (
        _number(attributes.get("prix_appareil_min")),
        _number(attributes.get("prix_appareil_max")),
    )
    if price is not None and (
        (low is not None and price < low) or (high is not None and price > high)
    ):
        return DOES_NOT_FIT
    inches = _number((product.attributes or {}).get("diagonale_pouces"))
    smallest = _number(attributes.get("diagonale_min"))
    largest = _number(attributes.get("diagonale_max"))
    if inches is not None and (
        (smallest is not None and inches < smallest) or (largest is not None and inches > largest)
    ):
        return DOES_NOT_FIT
    return level


def co_fit(first: ItemInfo, second: ItemInfo, categories: Iterable[str] = ()) -> bool:
    """Two accessories meant for the same kind of product (and brand, when both say)."""
    shared = set(targets(first, categories)) & set(targets(second, categories))
    if not shared:
        return False
    brands_a = {fold(b) for b in _as_list((first.attributes or {}).get("marques"))}
    brands_b = {fold(b) for b in _as_list((second.attributes or {}).get("marques"))}
    return not (brands_a and brands_b) or bool(brands_a & brands_b)


class Catalog:
    """The fitted reading of a catalogue: kinds, roles and same-kind pairs.

    Parameters
    ----------
    kind_threshold : two products of one category are the same kind (substitutes, unless the
        data say otherwise) when their names start with the same kind word (see
        :func:`kind_heads`) or their kind words have a TF-IDF cosine at or above this.
    """

    def __init__(self, kind_threshold: float = 0.5) -> None:
        self.kind_threshold = kind_threshold

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {"kind_threshold": self.kind_threshold}

    def fit(self, items: Mapping[str, ItemInfo]) -> Catalog:
        import scipy.sparse as sp
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.items_ = dict(items)
        self.categories_ = sorted({info.category for info in items.values() if info.category})
        self.roles_ = {sku: role(info, self.categories_) for sku, info in items.items()}
        names = list(items)
        texts = [" ".join(kind_words(items[sku])) for sku in names]
        self.vectorizer_: TfidfVectorizer | None = TfidfVectorizer(
            analyzer=str.split, sublinear_tf=True
        )
        try:
            vectors = sp.csr_matrix(self.vectorizer_.fit_transform(texts))
        except ValueError:  # no kind words at all
            self.vectorizer_ = None
            vectors = sp.csr_matrix((len(names), 0))
        self.same_kind_ = self._same_kind(names, vectors, items)
        return self

    def _same_kind(
        self, names: list[str], vectors: sp.csr_matrix, items: Mapping[str, ItemInfo]
    ) -> dict[str, frozenset[str]]:
        import numpy as np

        groups: dict[str, list[int]] = {}
        for row, sku in enumerate(names):
            groups.setdefault(items[sku].category, []).append(row)
        same: dict[str, set[str]] = {sku: set() for sku in names}
        by_head: dict[tuple[str, str], list[str]] = {}
        for sku in names:
            if not items[sku].category:
                continue  # no catalogue structure (UCI): the text alone decides
            for head in kind_heads(items[sku]):
                by_head.setdefault((items[sku].category, head), []).append(sku)
        for members in by_head.values():
            for sku in members:
                same[sku].update(m for m in members if m != sku)
        for rows in groups.values():
            block = vectors[rows]
            # Blocks of rows keep the dense cosine small on a catalogue of thousands.
            for start in range(0, len(rows), 1024):
                part = (block[start : start + 1024] @ block.T).toarray()
                hits = np.argwhere(part >= self.kind_threshold)
                for a, b in hits:
                    first, second = names[rows[start + int(a)]], names[rows[int(b)]]
                    if first != second:
                        same[first].add(second)
        families: dict[str, list[str]] = {}
        for sku, info in items.items():
            if info.family:
                families.setdefault(info.family, []).append(sku)
        for members in families.values():
            for sku in members:
                same[sku].update(m for m in members if m != sku)
        return {sku: frozenset(others) for sku, others in same.items() if others}

    def info(self, sku: str) -> ItemInfo | None:
        return self.items_.get(sku)

    def role_of(self, sku: str, info: ItemInfo | None = None) -> str:
        known = self.roles_.get(sku)
        if known is not None:
            return known
        return role(info, self.categories_) if info is not None else PRODUCT

    def is_same_kind(
        self, first: str, second: str, infos: Mapping[str, ItemInfo] | None = None
    ) -> bool:
        """Same family, or same category with kinds that read alike."""
        if second in self.same_kind_.get(first, ()):
            return True
        if first in self.items_ and second in self.items_:
            return False
        # A product the fitted catalogue does not know (created since): compare its text.
        a = self.items_.get(first) or (infos or {}).get(first)
        b = self.items_.get(second) or (infos or {}).get(second)
        if a is None or b is None:
            return False
        if a.family and a.family == b.family:
            return True
        if a.category != b.category:
            return False
        if a.category and kind_heads(a) & kind_heads(b):
            return True
        if self.vectorizer_ is None:
            return False
        vectors = self.vectorizer_.transform([" ".join(kind_words(a)), " ".join(kind_words(b))])
        return float((vectors[0] @ vectors[1].T).toarray()[0, 0]) >= self.kind_threshold

    def fit_of(
        self,
        accessory: str,
        product: str,
        infos: Mapping[str, ItemInfo] | None = None,
    ) -> int:
        known = accessory in self.items_ and product in self.items_
        if known:
            # Remembered per pair: serving asks the same pairs again and again.
            cache: dict[tuple[str, str], int] = self.__dict__.setdefault("_fits", {})
            level = cache.get((accessory, product))
            if level is None:
                level = cache[(accessory, product)] = self._fit_of(accessory, product, infos)
            return level
        return self._fit_of(accessory, product, infos)

    def _fit_of(self, accessory: str, product: str, infos: Mapping[str, ItemInfo] | None) -> int:
        a = self.items_.get(accessory) or (infos or {}).get(accessory)
        p = self.items_.get(product) or (infos or {}).get(product)
        if a is None or p is None:
            return NO_INFO
        if self.role_of(product, p) != PRODUCT:
            # Accessory with accessory: both meant for the same kind of product. A service
            # (a warranty priced by the appliance) goes with the appliance only.
            if not targets(a, self.categories_):
                return NO_INFO
            if self.role_of(accessory, a) == SERVICE or self.role_of(product, p) == SERVICE:
                return DOES_NOT_FIT
            return FIT_TYPE if co_fit(a, p, self.categories_) else DOES_NOT_FIT
        return fit(a, product, p, self.categories_)
