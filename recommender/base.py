"""The contract between the recommender library, its evaluation and the API that serves it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Suggestion:
    """One suggested item, how strongly, and why.

    ``reason`` is a code (``bought_together``, ``compatible``, ...) and ``params`` its values
    (``{"baskets": 34}``): the API renders them in the caller's language, clients may render
    their own. ``tier`` says what the suggestion is to the context: ``compatible`` (an
    accessory declared to fit it), ``consumable``, ``service``, or ``""`` (from the data only).
    """

    item: str
    score: float
    reason: str
    params: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    tier: str = ""


@dataclass(frozen=True)
class ItemInfo:
    """What the catalogue says about an item: used to tell substitutes from complements, to
    find what fits it, and to find similar items when it has no history.

    ``family``: the same model in another colour/variant (e.g. the SKU without its colour
    code). ``text``: everything descriptive (name, description, attributes). ``name``: the
    product's name, which says what kind of product it is. ``attributes``: the catalogue's
    attributes (``type``, ``compatible_avec``, ``marques``, ``modeles``, ``service``, ...; see
    :mod:`recommender.catalog`). ``price``: the current price, for the price sanity rule.
    """

    category: str = ""
    family: str = ""
    text: str = ""
    name: str = ""
    brand: str = ""
    price: float | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass
class TrainingData:
    """Everything a model learns from; item ids are SKUs (strings).

    * ``baskets``: items bought together (an order, a store sale of one customer visit, an
      invoice), oldest first, with ``basket_times`` (Unix seconds) alongside.
    * ``sessions``: items viewed in one visit, in order (clickstream; may be empty), with the
      items finally bought in that visit in ``session_purchases``, the items put in the cart
      in ``session_carts`` and the visit's start in ``session_times`` (each the same length
      as ``sessions``, or empty).
    * ``items``: catalogue information for every known item.
    """

    baskets: Sequence[Sequence[str]] = ()
    basket_times: Sequence[float] = ()
    sessions: Sequence[Sequence[str]] = ()
    session_purchases: Sequence[Sequence[str]] = ()
    items: Mapping[str, ItemInfo] = field(default_factory=dict)
    session_carts: Sequence[Sequence[str]] = ()
    session_times: Sequence[float] = ()
