"""Serving the recommender: training data from the shop, in-stock answers with reasons.

The model is trained on the shop's own sales (webshop orders, store sales) and webshop visits
(views, carts, purchases), fitted with ``ShopModel()``'s defaults, the configuration that
``python -m recommender evaluate`` reports first. Artifacts and the per-worker holder are in
:mod:`store_api.recommendations.holder` (loaded when a worker starts, swapped whole after a
retrain). Every suggestion is an active product with units available now, or a service
(warranty), which needs no stock; each has a reason code and parameters, rendered in the
caller's language by :mod:`store_api.recommendations.reasons`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, func, literal, or_, select
from sqlalchemy.orm import Session

from recommender import catalog as catalogue
from recommender.base import ItemInfo, Suggestion
from store_api.catalog.models import Product
from store_api.errors import ErrorCode, Invalid, NotFound
from store_api.orders.models import Order, OrderLine, OrderStatus
from store_api.recommendations import reasons as wording
from store_api.recommendations.data import family_of, item_info, training_data
from store_api.recommendations.holder import (
    ARTIFACT,
    CURRENT,
    FALLBACK_FILE,
    KEEP_VERSIONS,
    NOTHING_SERVED,
    VERSIONS,
    ModelHolder,
    Recommender,
    Served,
    artifact_path,
    current_version,
    holder_for,
    publish,
)
from store_api.shelves.models import Lane
from store_api.stock.models import Channel, Reservation, ReservationStatus, StockLevel
from store_api.stock.service import StockPolicy

__all__ = [
    "ARTIFACT",
    "CURRENT",
    "FALLBACK_FILE",
    "KEEP_VERSIONS",
    "NOTHING_SERVED",
    "VERSIONS",
    "Fallback",
    "ModelHolder",
    "Reason",
    "Recommendation",
    "Recommendations",
    "Recommender",
    "Served",
    "TrainReport",
    "artifact_path",
    "consumables_for",
    "current_version",
    "family_of",
    "holder_for",
    "item_info",
    "publish",
    "recommend_for_context",
    "recommend_for_product",
    "train",
    "training_data",
]

# Ask the model for this many candidates per wanted result: some are filtered out (inactive,
# out of stock, already in the basket).
OVERFETCH = 4
KINDS = ("complements", "alternatives", "next")


# --- best-sellers (the fallback) -----------------------------------------------------


def _sales_by_product(session: Session) -> Any:
    """Units sold per SKU: confirmed order lines plus store sales that are not order lines."""
    ordered = (
        select(OrderLine.sku.label("sku"), OrderLine.quantity.label("units"))
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == OrderStatus.CONFIRMED.value)
    )
    sold_in_store = select(Reservation.sku.label("sku"), Reservation.quantity.label("units")).where(
        Reservation.status == ReservationStatus.COMMITTED.value, Reservation.order_id.is_(None)
    )
    return ordered.union_all(sold_in_store).subquery()


def best_sellers(session: Session, category: str | None = None) -> dict[str, list[str]]:
    """Per category, the SKUs sold, most units first (one aggregate query)."""
    sales = _sales_by_product(session)
    units = func.sum(sales.c.units).label("units")
    stmt = (
        select(Product.category, sales.c.sku, units)
        .join(Product, Product.sku == sales.c.sku)
        .group_by(Product.category, sales.c.sku)
        .order_by(Product.category, units.desc(), sales.c.sku)
    )
    if category is not None:
        stmt = stmt.where(Product.category == category)
    ranked: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row_category, sku, n in session.execute(stmt):
        ranked[row_category].append((sku, int(n)))
    return {c: [sku for sku, _n in rows] for c, rows in ranked.items()}


def fits(accessory: Product, product: Product) -> int:
    """How an accessory's attributes say it goes with a product (recommender.catalog.fit)."""
    return catalogue.fit(item_info(accessory), product.sku, item_info(product))


@dataclass(frozen=True)
class Fallback:
    """Best-sellers ready to serve, computed with each training (or live when untrained).

    ``by_category``: SKUs of each category, most sold first. ``fitting``: for a product, the
    accessories, consumables and services whose attributes say they fit it (for an accessory,
    the others for the same kind of product), as ``[sku, tier, fit level, reason code, reason
    parameters, kinds]``, in the order a seller brings them up (tier, fit, sales), never the
    same kind as the product nor dearer than 3 times its price (one of each kind is chosen
    among those in stock).
    """

    accessory_category: str
    by_category: dict[str, list[str]]
    fitting: dict[str, list[list[Any]]]

    def candidates(
        self, kind: str, products: Sequence[Product]
    ) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(sku, reason code, tier, reason parameters), in the order to offer them."""
        if kind == "complements":
            entries = sorted(
                (e for p in products for e in self.fitting.get(p.sku, ())),
                key=lambda e: (_TIER_RANK.get(str(e[1]), 9), -int(e[2])),
            )
            seen: dict[str, tuple[str, str, dict[str, Any]]] = {}
            for sku, tier, _level, code, params, kinds in entries:
                seen.setdefault(str(sku), (str(code), str(tier), {**params, "_kinds": kinds}))
            return [(sku, code, tier, params) for sku, (code, tier, params) in seen.items()]
        # Alternatives and next: the category of the product seen last.
        category = next((p.category for p in reversed(products) if p.category), "")
        return [
            (sku, "best_seller", "", {"category": category})
            for sku in self.by_category.get(category, ())
        ]


_TIER_RANK = {"compatible": 0, "consumable": 1, "service": 2}
_TIER_OF_ROLE = {
    catalogue.ACCESSORY: "compatible",
    catalogue.CONSUMABLE: "consumable",
    catalogue.SERVICE: "service",
}


# The model's own price rule (ComplementRecommender.price_ratio; a test keeps them equal):
# nothing dearer than 3 x the product it goes with.
PRICE_RATIO = 3.0


def _substitute_or_too_dear(extra: ItemInfo, anchor: ItemInfo) -> bool:
    """What the fallback never offers: the same kind of product (two stacking kits), or a
    big-ticket item next to a cheap one."""
    same_kind = extra.category == anchor.category and bool(
        catalogue.kind_heads(extra) & catalogue.kind_heads(anchor)
    )
    dearer = (
        extra.price is not None
        and anchor.price is not None
        and extra.price > PRICE_RATIO * anchor.price
    )
    return same_kind or dearer


def _heads(info: ItemInfo) -> frozenset[str]:
    return catalogue.kind_heads(info)


def _fit_params(product: Product, info: ItemInfo, level: int) -> dict[str, Any]:
    return {
        "for_sku": product.sku,
        "category": product.category,
        "type": str((product.attributes or {}).get("type") or ""),
        "brand": info.brand if level >= catalogue.FIT_BRAND else "",
    }


def build_fallback(
    session: Session,
    accessory_category: str,
    products: Sequence[Product] | None = None,
    ranked: dict[str, list[str]] | None = None,
) -> Fallback:
    """Best-sellers per category and, for ``products`` (default: all), what fits them: for a
    product the accessories, consumables and services made for it; for an accessory the
    others made for the same kind of product."""
    ranked = best_sellers(session) if ranked is None else ranked
    everything = list(session.scalars(select(Product).where(Product.active.is_(True))))
    categories = sorted({p.category for p in everything if p.category})
    infos = {p.sku: item_info(p) for p in everything}
    roles = {sku: catalogue.role(info, categories) for sku, info in infos.items()}
    extras = [sku for sku, r in roles.items() if r != catalogue.PRODUCT]
    sold = {sku: rank for rows in ranked.values() for rank, sku in enumerate(rows)}
    if products is None:
        products = everything
    fitting: dict[str, list[list[Any]]] = {}
    for product in products:
        info = infos.get(product.sku) or item_info(product)
        anchor_role = roles.get(product.sku) or catalogue.role(info, categories)
        found: list[tuple[str, str, int, str, dict[str, Any]]] = []
        for sku in extras:
            extra = infos[sku]
            if sku == product.sku or _substitute_or_too_dear(extra, info):
                continue
            if anchor_role == catalogue.PRODUCT:
                level = catalogue.fit(extra, product.sku, info, categories)
                code, params = _TIER_OF_ROLE[roles[sku]], _fit_params(product, info, level)
            elif roles[sku] != catalogue.SERVICE and anchor_role != catalogue.SERVICE:
                # Next to an accessory: the others for the same kind of product.
                shared = set(catalogue.targets(extra, categories))
                shared &= set(catalogue.targets(info, categories))
                same = shared and catalogue.co_fit(extra, info, categories)
                level = catalogue.FIT_TYPE if same else catalogue.DOES_NOT_FIT
                code = "same_appliance"
                params = {"for_sku": product.sku, "category": min(shared) if shared else ""}
            else:
                continue
            if level >= catalogue.FIT_TYPE:
                found.append((sku, _TIER_OF_ROLE[roles[sku]], level, code, params))
        found.sort(key=lambda e: (_TIER_RANK[e[1]], -e[2], sold.get(e[0], len(sold)), e[0]))
        fitting[product.sku] = [
            [*entry, sorted(f"{infos[entry[0]].category}|{h}" for h in _heads(infos[entry[0]]))]
            for entry in found
        ]
    return Fallback(accessory_category, ranked, fitting)


# --- training ------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainReport:
    baskets: int
    items: int
    items_sold: int
    version: str
    path: Path
    seconds: float
    visits: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)


def train(
    session: Session, directory: Path, *, now: dt.datetime, accessory_category: str
) -> TrainReport:
    """Fit the served model (``ShopModel()``) on the shop's own data and make it the served
    one (atomically); this process's holder loads it at once, other workers in the background.

    Reads only; the caller frames the (read) transaction. The version directory holds the
    model pair and the best-sellers of the same snapshot (``fallback.json``).
    """
    from recommender.evaluation.holdout import holdout_metrics
    from recommender.model import ShopModel

    started = time.perf_counter()
    data = training_data(session)
    fallback = build_fallback(session, accessory_category)
    model = ShopModel().fit(data)
    metrics = holdout_metrics(data)
    version = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:6]}"
    path = artifact_path(directory, version)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path, metrics=metrics)
    (path.parent / FALLBACK_FILE).write_text(json.dumps(asdict(fallback), ensure_ascii=False))
    publish(directory, version)
    holder_for(directory).refresh()
    metadata = json.loads(path.with_name(ARTIFACT + ".json").read_text())
    return TrainReport(
        baskets=len(data.baskets),
        items=len(data.items),
        items_sold=len({sku for basket in data.baskets for sku in basket}),
        visits=len(data.sessions),
        version=version,
        path=path,
        seconds=time.perf_counter() - started,
        metadata=metadata,
    )


# --- serving -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    """Why, as a code and its parameters (for clients) and in words (the caller's language)."""

    code: str
    params: dict[str, Any]
    text: str


@dataclass(frozen=True)
class Recommendation:
    sku: str
    name: str
    category: str
    price: Decimal
    score: float
    reason: str  # the first reason in words (kept for clients that show one line)
    available: int
    available_at: dict[str, int]
    available_here: bool
    reason_code: str = ""
    reason_params: dict[str, Any] = field(default_factory=dict)
    reasons: list[Reason] = field(default_factory=list)
    tier: str = ""


@dataclass(frozen=True)
class Recommendations:
    items: list[Recommendation]
    model_version: str | None


@dataclass(frozen=True)
class _Candidate:
    sku: str
    name: str
    category: str
    price: Decimal
    available_at: dict[str, int]
    shelf: str | None = None

    @property
    def available(self) -> int:
        return sum(self.available_at.values())


def _sellable_statement(with_shelf: bool) -> Any:
    """Built once: the recommendation read path runs it on every call (a statement built per
    call costs more CPU than the query itself)."""
    wanted: Any = bindparam("skus", expanding=True)
    shelf: Any = None
    if with_shelf:
        shelf = (
            select(Lane.sku.label("sku"), func.min(Lane.shelf).label("shelf"))
            .where(
                Lane.store == bindparam("store"),
                Lane.sku.in_(wanted),
                or_(Lane.units_on_shelf.is_(None), Lane.units_on_shelf > 0),
            )
            .group_by(Lane.sku)
            .subquery()
        )
    stmt = (
        select(
            Product.sku,
            Product.name,
            Product.category,
            Product.price,
            StockLevel.location,
            StockLevel.on_hand - StockLevel.reserved,
            shelf.c.shelf if shelf is not None else literal(None),
        )
        .outerjoin(
            StockLevel,
            and_(StockLevel.product_id == Product.id, StockLevel.on_hand > StockLevel.reserved),
        )
        .where(Product.sku.in_(wanted), Product.active.is_(True))
    )
    return stmt.outerjoin(shelf, shelf.c.sku == Product.sku) if shelf is not None else stmt


_SELLABLE = _sellable_statement(with_shelf=False)
_SELLABLE_ON_SHELVES = _sellable_statement(with_shelf=True)
_PRODUCT = select(Product).where(Product.sku == bindparam("sku"))
_PRODUCTS = select(Product).where(Product.sku.in_(bindparam("skus", expanding=True)))


def _sellable(
    session: Session,
    skus: Iterable[str],
    order: Sequence[str],
    *,
    services: Collection[str] = (),
    store: str | None = None,
) -> dict[str, _Candidate]:
    """Active products with units available (``services``: whatever their stock), with
    availability per location and, with ``store``, the shelf of the store they are on (a
    lane with units, or not counted by its sensor): one query for everything."""
    wanted: list[str] = sorted(set(skus))
    if not wanted:
        return {}
    if store is None:
        rows = session.execute(_SELLABLE, {"skus": wanted})
    else:
        rows = session.execute(_SELLABLE_ON_SHELVES, {"skus": wanted, "store": store})
    levels: dict[str, dict[str, int]] = defaultdict(dict)
    products: dict[str, Any] = {}
    for sku, name, category, price, location, available, on_shelf in rows:
        products[sku] = (name, category, price, on_shelf)
        if location is not None:
            levels[sku][location] = int(available)
    found = {}
    for sku, (name, category, price, on_shelf) in products.items():
        if not levels[sku] and sku not in services:
            continue
        at = {loc: levels[sku][loc] for loc in order if loc in levels[sku]}
        at.update((loc, n) for loc, n in sorted(levels[sku].items()) if loc not in order)
        found[sku] = _Candidate(sku, name, category, price, at, on_shelf)
    return found


def _known_products(session: Session, skus: Sequence[str], field_name: str) -> list[Product]:
    products = {p.sku: p for p in session.scalars(_PRODUCTS, {"skus": list(skus)})}
    unknown = [sku for sku in skus if sku not in products]
    if unknown:
        raise Invalid(
            ErrorCode.PRODUCT_NOT_FOUND,
            f"Unknown SKU(s): {', '.join(unknown)}.",
            {field_name: [f"Unknown SKU {sku!r}." for sku in unknown]},
        )
    return [products[sku] for sku in skus]


def _fallback_for(
    session: Session,
    served: Served,
    kind: str,
    products: Sequence[Product],
    accessory_category: str,
) -> list[tuple[str, str, str, dict[str, Any]]]:
    """Candidates (sku, reason code, tier, parameters) from the trained snapshot; computed live
    when there is no model (a product created since the training is the model's job: it
    reads the product's catalogue information)."""
    fallback = served.fallback
    category = next((p.category for p in reversed(products) if p.category), "")
    if fallback is None:
        # No training yet: ask the database (a few ms).
        fallback = build_fallback(
            session,
            accessory_category,
            products,
            best_sellers(session, None if kind == "complements" else category),
        )
    return fallback.candidates(kind, products)


@dataclass
class _Ask:
    """One request: what it is for and how to answer it."""

    products: Sequence[Product]
    kind: str
    limit: int
    served: Served
    policy: StockPolicy
    channel: str
    accessory_category: str
    locale: str
    store: str | None
    tiers: frozenset[str] | None = None


def _model_suggestions(ask: _Ask, k: int, exclude: set[str]) -> list[Suggestion]:
    model = ask.served.model
    if model is None:
        return []
    skus = [p.sku for p in ask.products]
    if ask.kind == "complements":
        unknown = {p.sku: item_info(p) for p in ask.products if not model.knows(p.sku)}
        # One product of each kind is chosen among those in stock (_serve).
        return model.complements(skus, k, exclude, infos=unknown, one_per_kind=False)
    if ask.kind == "alternatives":
        found: list[Suggestion] = []
        for sku in skus:
            found.extend(model.alternatives(sku, k, exclude))
        return found
    return model.next_items(skus, k, exclude)


def _serve(session: Session, ask: _Ask) -> Recommendations:
    skus = [p.sku for p in ask.products]
    exclude = set(skus)
    k = ask.limit * OVERFETCH + len(skus)
    best: dict[str, Suggestion] = {}
    for s in _model_suggestions(ask, k, exclude):
        if s.item not in exclude and (s.item not in best or s.score > best[s.item].score):
            best[s.item] = s
    # The model may know too little (new product, few sales): best-sellers fill in. Not for
    # complements when a model answers: it read the catalogue already, and left out what it
    # left out (substitutes, a second product of a kind) on purpose.
    backups: list[tuple[str, str, str, dict[str, Any]]] = []
    if ask.kind != "complements" or ask.served.model is None:
        fallback = _fallback_for(
            session, ask.served, ask.kind, ask.products, ask.accessory_category
        )
        backups = [c for c in fallback if c[0] not in exclude and c[0] not in best]
        backups = backups[: k + ask.limit]
    if ask.tiers is not None:
        best = {sku: s for sku, s in best.items() if s.tier in ask.tiers}
        backups = [c for c in backups if c[2] in ask.tiers]
    order = ask.policy.location_order(ask.channel)
    here = order[0] if order else None
    # One query for everything in stock; services (no stock) need only be active.
    services = {sku for sku, s in best.items() if s.tier == "service"}
    services |= {c[0] for c in backups if c[2] == "service"}
    sellable = _sellable(
        session,
        [*best, *(c[0] for c in backups)],
        order,
        services=services,
        store=ask.store if ask.channel == Channel.STORE else None,
    )

    offered = [s for s in best.values() if s.item in sellable]
    if ask.kind == "complements" and ask.served.model is not None:
        offered.sort(key=lambda s: (-s.score, not _here(sellable[s.item], here), s.item))
        unknown = {p.sku: item_info(p) for p in ask.products if not ask.served.model.knows(p.sku)}
        offered = ask.served.model.one_per_kind(offered, unknown)
    chosen: list[tuple[_Candidate, float, str, dict[str, Any], str]] = [
        (sellable[s.item], s.score, s.reason, dict(s.params), s.tier) for s in offered
    ]
    # Among equally good suggestions, what can be handed over at once comes first.
    chosen.sort(key=lambda c: (-c[1], not _here(c[0], here), c[0].sku))
    chosen = chosen[: ask.limit]
    # Fallback suggestions come after the model's: their scores stay below the last one and
    # halve down the list, so scores always decrease.
    floor = min((c[1] for c in chosen), default=1.0)
    first = 1 if chosen else 0
    in_stock = []
    kinds: set[str] = set()
    for sku, code, tier, params in backups:
        own = set(params.pop("_kinds", ()))
        if sku in sellable and not own & kinds:  # one of each kind, among what is in stock
            in_stock.append((sku, code, tier, params))
            kinds |= own
    for rank, (sku, code, tier, params) in enumerate(
        in_stock[: ask.limit - len(chosen)], start=first
    ):
        chosen.append((sellable[sku], floor / 2**rank, code, params, tier))
    return Recommendations(
        items=_with_reasons(session, chosen, ask, here),
        model_version=ask.served.version,
    )


def _here(candidate: _Candidate, here: str | None) -> bool:
    return here is not None and candidate.available_at.get(here, 0) > 0


def _with_reasons(
    session: Session,
    chosen: list[tuple[_Candidate, float, str, dict[str, Any], str]],
    ask: _Ask,
    here: str | None,
) -> list[Recommendation]:
    """Reasons in words: the main one, the data behind a catalogue one, where it is."""
    names = {p.sku: p.name for p in ask.products}
    cited = {str(p["with_sku"]) for _, _, _, p, _ in chosen if p.get("with_sku")}
    if cited - names.keys():
        names.update(
            (sku, name)
            for sku, name in session.execute(
                select(Product.sku, Product.name).where(Product.sku.in_(cited - names.keys()))
            ).all()
        )
    found = []
    for candidate, score, code, params, tier in chosen:
        if params.get("with_sku"):
            params["with_name"] = names.get(str(params["with_sku"]), params["with_sku"])
        codes = [(code, params)]
        if tier and params.get("baskets"):
            extra = {"baskets": params["baskets"]}
            codes.append(("bought_together", extra))
        if candidate.shelf is not None and _here(candidate, here):
            codes.append(("on_shelf", {"shelf": candidate.shelf}))
        said = [Reason(c, p, wording.render(c, p, ask.locale)) for c, p in codes]
        found.append(
            Recommendation(
                sku=candidate.sku,
                name=candidate.name,
                category=candidate.category,
                price=candidate.price,
                score=round(float(score), 4),
                reason=said[0].text,
                available=candidate.available,
                available_at=candidate.available_at,
                available_here=_here(candidate, here),
                reason_code=code,
                reason_params=params,
                reasons=said,
                tier=tier,
            )
        )
    return found


def recommend_for_product(
    session: Session,
    sku: str,
    *,
    kind: str,
    limit: int,
    policy: StockPolicy,
    holder: ModelHolder | None,
    channel: str = Channel.STORE,
    accessory_category: str = "Accessoires",
    locale: str = "fr",
    store: str | None = None,
) -> Recommendations:
    """Complements or alternatives of one product, sellable now, best first, with reasons in
    ``locale`` ("fr" or "en"); ``store`` (its id) adds "in stock on shelf X" for sellers."""
    product = session.scalars(_PRODUCT, {"sku": sku}).one_or_none()
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, f"No product with SKU {sku}.", {"sku": sku})
    return _serve(
        session,
        _Ask(
            [product],
            kind,
            limit,
            holder.get() if holder else NOTHING_SERVED,
            policy,
            channel,
            accessory_category,
            locale,
            store,
        ),
    )


def recommend_for_context(
    session: Session,
    skus: Sequence[str],
    *,
    kind: str,
    limit: int,
    policy: StockPolicy,
    holder: ModelHolder | None,
    channel: str = Channel.STORE,
    accessory_category: str = "Accessoires",
    locale: str = "fr",
    store: str | None = None,
) -> Recommendations:
    """For a basket (complements, alternatives) or a visit's viewed products in order (next).

    Unknown SKUs are a 422 naming them; products already in the context are never suggested.
    """
    products = _known_products(session, list(dict.fromkeys(skus)), "skus")
    return _serve(
        session,
        _Ask(
            products,
            kind,
            limit,
            holder.get() if holder else NOTHING_SERVED,
            policy,
            channel,
            accessory_category,
            locale,
            store,
        ),
    )


def consumables_for(
    session: Session,
    sku: str,
    *,
    limit: int,
    policy: StockPolicy,
    holder: ModelHolder | None,
    channel: str = Channel.STORE,
    accessory_category: str = "Accessoires",
    locale: str = "fr",
) -> Recommendations:
    """The consumables that go with a product (water filter, descaler, detergent), best
    first, in stock: what to remind its buyer of after the usual interval."""
    product = session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, f"No product with SKU {sku}.", {"sku": sku})
    return _serve(
        session,
        _Ask(
            [product],
            "complements",
            limit,
            holder.get() if holder else NOTHING_SERVED,
            policy,
            channel,
            accessory_category,
            locale,
            None,
            frozenset({"consumable"}),
        ),
    )
