"""Reasons a seller can repeat, in the caller's language (French by default).

The recommender returns a reason **code** and its **parameters** (``bought_together``,
``{"baskets": 34}``); this module renders them: "Souvent acheté avec (34 paniers)",
"Compatible avec ce lave-linge Bosch", "En stock au rayon B". The API keeps the code and the
parameters in its answer, so a client may render its own words.

Codes and parameters (docs/recommendations.md):

================== =====================================================================
``compatible``     accessory made for the product: ``category``, ``type``, ``brand``
                   (when made for that brand or model), ``for_sku``
``consumable``     consumable for it (same parameters)
``service``        service for it, e.g. a warranty extension (same parameters)
``same_appliance`` accessory for the same kind of product as an accessory: ``category``
``bought_together`` ``baskets`` (and ``with_sku``/``with_name`` for a basket)
``carted_together`` ``visits``: put in the cart together on the webshop
``viewed_together`` ``visits``: viewed together on the webshop
``bought_with_similar`` ``baskets``, ``with_sku``/``with_name``: a new product's neighbours
``viewed_instead`` ``visits``: bought instead of it by webshop visitors
``similar``        ``brand`` (same brand, or empty), ``traits`` (shared characteristics)
``viewed_next``    ``visits``: viewed next in similar visits
``best_seller``    ``category``
``on_shelf``       ``shelf``: in stock on this shelf of the store
================== =====================================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from recommender.catalog import fold, singular
from store_api import i18n

Phrase = Callable[[str, str], str]


def _washer(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s washing machine", brand=brand)
    return i18n.text(locale, "this washing machine")


def _dryer(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s tumble dryer", brand=brand)
    return i18n.text(locale, "this tumble dryer")


def _fridge(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s fridge", brand=brand)
    return i18n.text(locale, "this fridge")


def _dishwasher(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s dishwasher", brand=brand)
    return i18n.text(locale, "this dishwasher")


def _oven(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s oven", brand=brand)
    return i18n.text(locale, "this oven")


def _tv(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s TV", brand=brand)
    return i18n.text(locale, "this TV")


def _coffee(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s coffee machine", brand=brand)
    return i18n.text(locale, "this coffee machine")


def _vacuum(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s vacuum cleaner", brand=brand)
    return i18n.text(locale, "this vacuum cleaner")


def _kettle(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s kettle", brand=brand)
    return i18n.text(locale, "this kettle")


def _toaster(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s toaster", brand=brand)
    return i18n.text(locale, "this toaster")


def _iron(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s iron", brand=brand)
    return i18n.text(locale, "this iron")


def _kitchen_machine(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s kitchen machine", brand=brand)
    return i18n.text(locale, "this kitchen machine")


def _product(locale: str, brand: str) -> str:
    if brand:
        return i18n.text(locale, "this %(brand)s product", brand=brand)
    return i18n.text(locale, "this product")


#: What a product is, from the first word of its category or ``type`` attribute (folded).
APPLIANCES: dict[str, Phrase] = {
    "lave-linge": _washer,
    "seche-linge": _dryer,
    "refrigerateurs": _fridge,
    "refrigerateur": _fridge,
    "lave-vaisselle": _dishwasher,
    "fours": _oven,
    "four": _oven,
    "micro-ondes": _oven,
    "televiseurs": _tv,
    "televiseur": _tv,
    "machine": _coffee,
    "expresso": _coffee,
    "aspirateur": _vacuum,
    "bouilloire": _kettle,
    "grille-pain": _toaster,
    "fer": _iron,
    "centrale": _iron,
    "robot": _kitchen_machine,
}


def appliance(locale: str, category: str, kind: str = "", brand: str = "") -> str:
    """ "ce lave-linge Bosch", "cette machine à café", "ce produit" (by type, then category)."""
    for text in (kind, category):
        first = next(iter(fold(text).split()), "")
        phrase = APPLIANCES.get(first) or APPLIANCES.get(singular(first))
        if phrase is not None:
            return phrase(locale, brand)
    return _product(locale, brand)


def _count(params: Mapping[str, Any], key: str) -> int:
    value = params.get(key)
    return int(value) if isinstance(value, (int, float)) else 0


def render(code: str, params: Mapping[str, Any], locale: str) -> str:
    """The words for one reason code in ``locale`` ("fr" or "en")."""
    category = str(params.get("category") or "")
    if code in {"compatible", "consumable", "service"}:
        this = appliance(
            locale, category, str(params.get("type") or ""), str(params.get("brand") or "")
        )
        if code == "compatible":
            return i18n.text(locale, "Compatible with %(appliance)s", appliance=this)
        if code == "consumable":
            return i18n.text(locale, "Consumable for %(appliance)s", appliance=this)
        return i18n.text(locale, "Recommended service for %(appliance)s", appliance=this)
    if code == "same_appliance":
        return i18n.text(locale, "For the same appliances: %(category)s", category=category)
    name = str(params.get("with_name") or params.get("with_sku") or "")
    if code == "bought_together":
        n = _count(params, "baskets")
        if name:
            return i18n.plural(
                locale,
                "Often bought with %(name)s (%(num)s basket)",
                "Often bought with %(name)s (%(num)s baskets)",
                n,
                name=name,
            )
        return i18n.plural(
            locale,
            "Often bought with it (%(num)s basket)",
            "Often bought with it (%(num)s baskets)",
            n,
        )
    if code == "carted_together":
        return i18n.plural(
            locale,
            "Often put in the cart with it online (%(num)s visit)",
            "Often put in the cart with it online (%(num)s visits)",
            _count(params, "visits"),
        )
    if code == "viewed_together":
        return i18n.plural(
            locale,
            "Often viewed with it online (%(num)s visit)",
            "Often viewed with it online (%(num)s visits)",
            _count(params, "visits"),
        )
    if code == "bought_with_similar":
        return i18n.plural(
            locale,
            "Bought with a similar product, %(name)s (%(num)s basket)",
            "Bought with a similar product, %(name)s (%(num)s baskets)",
            _count(params, "baskets"),
            name=name,
        )
    if code == "viewed_instead":
        return i18n.plural(
            locale,
            "Chosen instead by %(num)s webshop visitor",
            "Chosen instead by %(num)s webshop visitors",
            _count(params, "visits"),
        )
    if code == "similar":
        traits = ", ".join(str(t) for t in params.get("traits") or ())
        brand = str(params.get("brand") or "")
        if brand and traits:
            return i18n.text(
                locale, "Same brand (%(brand)s) and same %(traits)s", brand=brand, traits=traits
            )
        if brand:
            return i18n.text(locale, "Same kind of product, same brand (%(brand)s)", brand=brand)
        if traits:
            return i18n.text(locale, "Same kind of product, same %(traits)s", traits=traits)
        return i18n.text(locale, "Same kind of product")
    if code == "viewed_next":
        return i18n.plural(
            locale,
            "Viewed next in %(num)s similar visit",
            "Viewed next in %(num)s similar visits",
            _count(params, "visits"),
        )
    if code == "best_seller":
        return i18n.text(locale, "Best seller in %(category)s", category=category)
    if code == "on_shelf":
        return i18n.text(locale, "In stock on shelf %(shelf)s", shelf=str(params.get("shelf")))
    return code
