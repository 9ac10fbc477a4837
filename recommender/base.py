"""The contract between the recommender library, its evaluation and the API that serves it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Suggestion:
    """One suggested item, with how strongly and why (shown to sellers as is)."""

    item: str
    score: float
    reason: str


@dataclass(frozen=True)
class ItemInfo:
    """What the catalogue says about an item: used to keep substitutes out of complements
    and to find alternatives for items with no history."""

    category: str = ""
    # Family: the same model in another colour/variant (e.g. the SKU without its colour code).
    family: str = ""
    text: str = ""


@dataclass
class TrainingData:
    """Everything a model learns from; item ids are SKUs (strings).

    * ``baskets``: items bought together (an order, a store sale of one customer visit, an
      invoice), oldest first, with ``basket_times`` (Unix seconds) alongside.
    * ``sessions``: items viewed in one visit, in order (clickstream; may be empty), with the
      items finally bought in that visit in ``session_purchases`` (same length, may be empty).
    * ``items``: catalogue information for every known item.
    """

    baskets: Sequence[Sequence[str]] = ()
    basket_times: Sequence[float] = ()
    sessions: Sequence[Sequence[str]] = ()
    session_purchases: Sequence[Sequence[str]] = ()
    items: Mapping[str, ItemInfo] = field(default_factory=dict)
