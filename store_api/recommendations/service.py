"""Serving the recommender: training data from the shop, atomic model swaps, in-stock answers.

Artifacts live in one directory (``RECOMMENDER_DIR``, default ``<instance>/recommender``)::

    versions/20261127T093000123456-1a2b/model.joblib   a trained model (ShopModel.save)
    versions/20261127T093000123456-1a2b/model.json     its metadata
    versions/20261127T093000123456-1a2b/fallback.json  best-sellers of the same data
    current -> versions/20261127T093000123456-1a2b     symlink, replaced atomically

Training writes a whole new version directory first and only then replaces the ``current``
symlink with ``os.replace`` (atomic on POSIX), so a reader resolves either the old pair or the
new pair, never half of one. Each worker's :class:`ModelHolder` reads the link (one cheap
syscall) per request and loads the new model when the target changed: no restart needed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommender.base import ItemInfo, Suggestion, TrainingData
from store_api.catalog.models import Product
from store_api.clickstream.models import ClickEvent
from store_api.errors import ErrorCode, Invalid, NotFound
from store_api.orders.models import Order, OrderLine, OrderStatus
from store_api.stock.models import Channel, Reservation, ReservationStatus, StockLevel
from store_api.stock.service import StockPolicy

log = logging.getLogger(__name__)

CURRENT = "current"
VERSIONS = "versions"
ARTIFACT = "model"  # ShopModel.save(<version>/model) writes model.joblib + model.json
FALLBACK_FILE = "fallback.json"
KEEP_VERSIONS = 3
# A seller's commits this close to the first one of a visit are one basket.
STORE_VISIT_SECONDS = 30 * 60
# Ask the model for this many candidates per wanted result: some are filtered out (inactive,
# out of stock, already in the basket).
OVERFETCH = 4
KINDS = ("complements", "alternatives", "next")
FALLBACK_REASON = "best seller in {category}"


class Recommender(Protocol):
    """What serving needs from ``recommender.model.ShopModel``."""

    def complements(
        self, skus: Sequence[str], k: int = ..., exclude: Collection[str] = ...
    ) -> list[Suggestion]: ...

    def alternatives(
        self, sku: str, k: int = ..., exclude: Collection[str] = ...
    ) -> list[Suggestion]: ...

    def next_items(
        self, session: Sequence[str], k: int = ..., exclude: Collection[str] = ...
    ) -> list[Suggestion]: ...


# --- training data -------------------------------------------------------------------


def family_of(sku: str) -> str:
    """The same model in another colour: the SKU without a trailing two-letter colour code."""
    head, sep, last = sku.rpartition("-")
    if sep and head and len(last) == 2 and last.isalpha():
        return head
    return sku


def _as_words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)] if value not in (None, "") else []


def item_info(product: Product) -> ItemInfo:
    attributes = product.attributes or {}
    compatible = [
        word
        for key in ("compatible_avec", "marques", "modeles")
        for word in _as_words(attributes.get(key))
    ]
    text = " ".join(
        part for part in (product.name, product.brand, product.description, *compatible) if part
    )
    return ItemInfo(category=product.category, family=family_of(product.sku), text=text)


def _timestamp(when: dt.datetime) -> float:
    return when.timestamp()


def training_data(session: Session) -> TrainingData:
    """Baskets from confirmed orders and from store sales, plus the whole catalogue.

    A store sale is a committed reservation that did not become an order line (those are
    counted with their order); a seller's commits within 30 minutes of the first one of a
    visit make one basket.
    """
    baskets: list[tuple[float, list[str]]] = []

    lines = session.execute(
        select(OrderLine.order_id, OrderLine.sku, Order.created_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status == OrderStatus.CONFIRMED.value)
        .order_by(Order.created_at, OrderLine.order_id, OrderLine.position)
    ).all()
    by_order: dict[uuid.UUID, tuple[float, list[str]]] = {}
    for order_id, sku, created_at in lines:
        by_order.setdefault(order_id, (_timestamp(created_at), []))[1].append(sku)
    baskets.extend(by_order.values())

    commits = session.execute(
        select(
            Reservation.created_by,
            Reservation.sku,
            func.coalesce(Reservation.closed_at, Reservation.created_at),
        )
        .where(
            Reservation.status == ReservationStatus.COMMITTED.value,
            Reservation.order_id.is_(None),
        )
        .order_by(Reservation.created_by, Reservation.closed_at, Reservation.created_at)
    ).all()
    visit: tuple[float, list[str]] | None = None
    seller = None
    for created_by, sku, closed_at in commits:
        when = _timestamp(closed_at)
        if visit is None or created_by != seller or when - visit[0] > STORE_VISIT_SECONDS:
            visit = (when, [])
            seller = created_by
            baskets.append(visit)
        visit[1].append(sku)

    baskets.sort(key=lambda basket: basket[0])
    items = {product.sku: item_info(product) for product in session.scalars(select(Product))}
    sessions, session_purchases = _browsing_sessions(session)
    return TrainingData(
        baskets=[list(dict.fromkeys(skus)) for _when, skus in baskets],
        basket_times=[when for when, _skus in baskets],
        sessions=sessions,
        session_purchases=session_purchases,
        items=items,
    )


# The newest webshop events the models learn visits from: bounds memory and training time.
MAX_BROWSING_EVENTS = 500_000


def _browsing_sessions(session: Session) -> tuple[list[list[str]], list[list[str]]]:
    """Webshop visits from the clickstream: products viewed in order, and those bought.

    They teach "viewed instead" alternatives and what is looked at next; visits that viewed
    no product teach nothing and are left out.
    """
    newest = (
        select(ClickEvent.id, ClickEvent.visit_id, ClickEvent.name, ClickEvent.item_id)
        .add_columns(ClickEvent.params)
        .where(ClickEvent.name.in_(("view_item", "purchase")))
        .order_by(ClickEvent.id.desc())
        .limit(MAX_BROWSING_EVENTS)
        .subquery()
    )
    rows = session.execute(select(newest).order_by(newest.c.visit_id, newest.c.id)).all()
    views: dict[int, list[str]] = {}
    bought: dict[int, list[str]] = defaultdict(list)
    for _id, visit_id, name, item_id, params in rows:
        if name == "view_item" and item_id:
            views.setdefault(visit_id, []).append(item_id)
        elif name == "purchase":
            for line in (params or {}).get("items") or []:
                if isinstance(line, dict) and isinstance(line.get("item_id"), str):
                    bought[visit_id].append(line["item_id"])
    visits = [visit_id for visit_id, viewed in views.items() if viewed]
    return [views[v] for v in visits], [list(dict.fromkeys(bought.get(v, []))) for v in visits]


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


def fits(accessory: Mapping[str, Any], product: Product) -> bool:
    """What an accessory's attributes say it goes with: category, brands, model codes."""
    compatible = _as_words(accessory.get("compatible_avec"))
    if compatible and product.category not in compatible:
        return False
    brands = _as_words(accessory.get("marques"))
    if brands and product.brand not in brands:
        return False
    models = _as_words(accessory.get("modeles"))
    return not models or any(code in product.sku or code in product.name for code in models)


@dataclass(frozen=True)
class Fallback:
    """Best-sellers ready to serve, computed with each training (or live when untrained).

    ``by_category``: SKUs of each category, most sold first. ``fitting``: for a product, the
    sold accessories whose attributes say they fit it, most sold first.
    """

    accessory_category: str
    by_category: dict[str, list[str]]
    fitting: dict[str, list[str]]

    def candidates(self, kind: str, products: Sequence[Product]) -> tuple[str, list[str]]:
        """(the category named in the reason, SKUs most sold first)."""
        if kind == "complements":
            merged = [sku for p in products for sku in self.fitting.get(p.sku, ())]
            order = self.by_category.get(self.accessory_category, [])
            rank = {sku: i for i, sku in enumerate(order)}
            return self.accessory_category, sorted(set(merged), key=lambda s: rank.get(s, 0))
        # Alternatives and next: the category of the product seen last.
        category = next((p.category for p in reversed(products) if p.category), "")
        return category, list(self.by_category.get(category, ()))


def build_fallback(
    session: Session,
    accessory_category: str,
    products: Sequence[Product] | None = None,
    ranked: dict[str, list[str]] | None = None,
) -> Fallback:
    """Best-sellers per category and, for ``products`` (default: all), the ones that fit."""
    ranked = best_sellers(session) if ranked is None else ranked
    sold_accessories = ranked.get(accessory_category, [])
    attributes: dict[str, dict[str, Any]] = dict(
        session.execute(
            select(Product.sku, Product.attributes).where(Product.sku.in_(sold_accessories))
        ).all()
    )
    if products is None:
        products = list(
            session.scalars(select(Product).where(Product.category != accessory_category))
        )
    fitting = {
        p.sku: [sku for sku in sold_accessories if fits(attributes.get(sku) or {}, p)]
        for p in products
    }
    return Fallback(accessory_category, ranked, fitting)


# --- training and the artifact directory ---------------------------------------------


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


def artifact_path(directory: Path, version: str) -> Path:
    return directory / VERSIONS / version / ARTIFACT


def train(
    session: Session, directory: Path, *, now: dt.datetime, accessory_category: str
) -> TrainReport:
    """Fit a model on the shop's own data and make it the served one (atomically).

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


def publish(directory: Path, version: str) -> None:
    """Point ``current`` at a complete version directory: one atomic rename."""
    link = directory / CURRENT
    temporary = directory / f".{CURRENT}-{uuid.uuid4().hex}"
    os.symlink(Path(VERSIONS) / version, temporary)
    os.replace(temporary, link)
    _prune(directory, keep=version)


def _prune(directory: Path, keep: str) -> None:
    """Old versions go, except the newest few (a worker may still be loading one)."""
    versions = sorted(p for p in (directory / VERSIONS).iterdir() if p.is_dir())
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_version(directory: Path) -> str | None:
    try:
        return Path(os.readlink(directory / CURRENT)).name
    except OSError:
        return None


@dataclass(frozen=True)
class Served:
    """One consistent snapshot: a request uses one model and its best-sellers throughout."""

    version: str | None
    model: Recommender | None
    fallback: Fallback | None


NOTHING_SERVED = Served(None, None, None)


class ModelHolder:
    """The served model of one artifact directory, reloaded when ``current`` moves.

    One per process (per worker); requests share it. Each call reads the ``current`` link
    (one syscall) and loads a new version when it changed. A version that cannot be loaded
    (missing, foreign or incompatible artifact) is logged once and served as "no model", so
    the shop falls back to best-sellers instead of failing.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._link: str | None = None
        self._served = NOTHING_SERVED

    def get(self) -> Served:
        wanted = current_version(self.directory)
        if wanted != self._link:
            with self._lock:
                if wanted != self._link:
                    self._served = self._load(wanted)
                    self._link = wanted
        return self._served

    def forget(self) -> None:
        """Load again on the next call (after repairing an artifact in place)."""
        with self._lock:
            self._link = None
            self._served = NOTHING_SERVED

    def _load(self, version: str | None) -> Served:
        if version is None:
            return NOTHING_SERVED
        path = artifact_path(self.directory, version)
        try:
            from recommender.model import ShopModel

            model: Recommender = ShopModel.load(path)
            fallback = Fallback(**json.loads((path.parent / FALLBACK_FILE).read_text()))
        except (OSError, ValueError, TypeError, ImportError) as exc:
            log.warning("recommender model %s not loaded: %s", path, exc)
            return NOTHING_SERVED
        log.info("recommender model %s loaded", version)
        return Served(version, model, fallback)


_holders: dict[Path, ModelHolder] = {}
_holders_lock = threading.Lock()


def holder_for(directory: Path) -> ModelHolder:
    """The process-wide holder of a directory."""
    key = directory.resolve()
    with _holders_lock:
        if key not in _holders:
            _holders[key] = ModelHolder(key)
        return _holders[key]


# --- serving -------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommendation:
    sku: str
    name: str
    category: str
    price: Decimal
    score: float
    reason: str
    available: int
    available_at: dict[str, int]
    available_here: bool


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

    @property
    def available(self) -> int:
        return sum(self.available_at.values())


def _sellable(session: Session, skus: Iterable[str], order: Sequence[str]) -> dict[str, _Candidate]:
    """Active products with units available, with availability per location: one query."""
    wanted = set(skus)
    if not wanted:
        return {}
    rows = session.execute(
        select(
            Product.sku,
            Product.name,
            Product.category,
            Product.price,
            StockLevel.location,
            StockLevel.on_hand - StockLevel.reserved,
        )
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(
            Product.sku.in_(wanted),
            Product.active.is_(True),
            StockLevel.on_hand > StockLevel.reserved,
        )
    ).all()
    levels: dict[str, dict[str, int]] = defaultdict(dict)
    products: dict[str, Any] = {}
    for sku, name, category, price, location, available in rows:
        products[sku] = (name, category, price)
        levels[sku][location] = int(available)
    found = {}
    for sku, (name, category, price) in products.items():
        at = {loc: levels[sku][loc] for loc in order if loc in levels[sku]}
        at.update((loc, n) for loc, n in sorted(levels[sku].items()) if loc not in order)
        found[sku] = _Candidate(sku, name, category, price, at)
    return found


def _recommendation(
    candidate: _Candidate, score: float, reason: str, here: str | None
) -> Recommendation:
    return Recommendation(
        sku=candidate.sku,
        name=candidate.name,
        category=candidate.category,
        price=candidate.price,
        score=round(float(score), 4),
        reason=reason,
        available=candidate.available,
        available_at=candidate.available_at,
        available_here=here is not None and candidate.available_at.get(here, 0) > 0,
    )


def _known_products(session: Session, skus: Sequence[str], field_name: str) -> list[Product]:
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
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
) -> tuple[str, list[str]]:
    """Best-sellers from the trained snapshot; computed live for what it does not know."""
    fallback = served.fallback
    known = fallback is not None and (
        kind != "complements" or all(p.sku in fallback.fitting for p in products)
    )
    if fallback is None or not known:
        # No training yet, or a product created since: ask the database (a few ms).
        category = (
            accessory_category
            if kind == "complements"
            else next((p.category for p in reversed(products) if p.category), "")
        )
        fallback = build_fallback(
            session, accessory_category, products, best_sellers(session, category)
        )
    return fallback.candidates(kind, products)


def _serve(
    session: Session,
    *,
    products: Sequence[Product],
    kind: str,
    limit: int,
    served: Served,
    policy: StockPolicy,
    channel: str,
    accessory_category: str,
) -> Recommendations:
    skus = [p.sku for p in products]
    exclude = set(skus)
    k = limit * OVERFETCH + len(skus)
    suggestions: list[Suggestion] = []
    model = served.model
    if model is not None:
        if kind == "complements":
            suggestions = model.complements(skus, k, exclude)
        elif kind == "alternatives":
            for sku in skus:
                suggestions.extend(model.alternatives(sku, k, exclude))
        else:
            suggestions = model.next_items(skus, k, exclude)
    best: dict[str, Suggestion] = {}
    for s in suggestions:
        if s.item not in exclude and (s.item not in best or s.score > best[s.item].score):
            best[s.item] = s
    # The model may know too little (new product, few sales): best-sellers fill in.
    pool, sold = _fallback_for(session, served, kind, products, accessory_category)
    backups = [sku for sku in sold if sku not in exclude and sku not in best][: k + limit]
    order = policy.location_order(channel)
    here = order[0] if order else None
    sellable = _sellable(session, [*best, *backups], order)  # one query for everything

    items = [
        _recommendation(sellable[s.item], s.score, s.reason, here)
        for s in best.values()
        if s.item in sellable
    ]
    # Among equally good suggestions, what can be handed over at once comes first.
    items.sort(key=lambda r: (-r.score, not r.available_here, r.sku))
    items = items[:limit]
    reason = FALLBACK_REASON.format(category=pool)
    in_stock_backups = [sku for sku in backups if sku in sellable]
    # Best-sellers come after the model's suggestions: their scores stay below the last one
    # and halve down the sales rank, so scores always decrease down the list.
    floor = min((r.score for r in items), default=1.0)
    first = 1 if items else 0
    for rank, sku in enumerate(in_stock_backups[: limit - len(items)], start=first):
        items.append(_recommendation(sellable[sku], floor / 2**rank, reason, here))
    return Recommendations(items=items, model_version=served.version)


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
) -> Recommendations:
    """Complements or alternatives of one product, sellable now, best first."""
    product = session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, f"No product with SKU {sku}.", {"sku": sku})
    return _serve(
        session,
        products=[product],
        kind=kind,
        limit=limit,
        served=holder.get() if holder else NOTHING_SERVED,
        policy=policy,
        channel=channel,
        accessory_category=accessory_category,
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
) -> Recommendations:
    """For a basket (complements, alternatives) or a visit's viewed products in order (next).

    Unknown SKUs are a 422 naming them; products already in the context are never suggested.
    """
    products = _known_products(session, list(dict.fromkeys(skus)), "skus")
    return _serve(
        session,
        products=products,
        kind=kind,
        limit=limit,
        served=holder.get() if holder else NOTHING_SERVED,
        policy=policy,
        channel=channel,
        accessory_category=accessory_category,
    )
