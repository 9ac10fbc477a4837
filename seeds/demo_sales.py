"""Synthetic sales history for the demo shop, so the recommender has something to learn.

Deterministic (seeded): a few hundred customer visits over the last 90 days, each buying an
appliance with some of the accessories that fit it (same brand/model codes, the right
category, warranty by price band), plus a few accessory-only visits. About two thirds are store
sales (a seller's reservations committed a few minutes apart, as a tablet does), one third
webshop orders. In the store, the accessories sold with an appliance were suggested by the
tablet: the seed records what it showed (``reco_shown``, a few more than were taken), what the
customer took (``reco_accepted``) and tags those reservations with the recommendation, so the
in-store recommendations report has a history too. Everything goes through the stock
services, so the ledger stays exact and stock goes down as it would have.

Used by ``flask --app store_api seed-sales`` (only when the shop has no sales yet).
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.errors import DomainError
from store_api.keys import service as keys
from store_api.keys.models import Role
from store_api.orders import service as orders
from store_api.orders.models import Order
from store_api.recommendations import feedback
from store_api.stock import service as stock
from store_api.stock.models import Channel, Reservation, ReservationStatus, StockLevel

SELLERS = ("demo seller - Tablet 1", "demo seller - Tablet 2", "demo seller - Tablet 3")
HISTORY_KEY_NAME = "sales history import"
ACCESSORIES = "Accessoires"


@dataclass
class SalesReport:
    store_visits: int = 0
    web_orders: int = 0
    units: int = 0
    skipped: int = 0
    skus: set[str] = field(default_factory=set)


@dataclass
class _Item:
    sku: str
    brand: str
    category: str
    price: float
    attributes: dict[str, Any]
    available: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.available.values())


def has_sales(session: Session) -> bool:
    orders_count = session.scalar(select(func.count(Order.id))) or 0
    committed = (
        session.scalar(
            select(func.count(Reservation.id)).where(
                Reservation.status == ReservationStatus.COMMITTED.value
            )
        )
        or 0
    )
    return orders_count + committed > 0


def _items(session: Session) -> list[_Item]:
    rows = session.execute(
        select(
            Product.sku,
            Product.brand,
            Product.category,
            Product.price,
            Product.attributes,
            StockLevel.location,
            StockLevel.on_hand - StockLevel.reserved,
        )
        .join(StockLevel, StockLevel.product_id == Product.id)
        .where(Product.active.is_(True))
        .order_by(Product.sku, StockLevel.location)
    ).all()
    items: dict[str, _Item] = {}
    for sku, brand, category, price, attributes, location, available in rows:
        item = items.setdefault(
            sku, _Item(sku, brand, category, float(price), attributes or {}, {})
        )
        item.available[location] = int(available)
    return list(items.values())


def _words(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def fits(accessory: _Item, appliance: _Item) -> bool:
    """The accessory's attributes say it goes with this appliance."""
    attrs = accessory.attributes
    if appliance.category not in _words(attrs.get("compatible_avec")):
        return False
    brands = _words(attrs.get("marques"))
    if brands and appliance.brand not in brands:
        return False
    models = _words(attrs.get("modeles"))
    if models and not any(f"-{code}" in appliance.sku for code in models):
        return False
    if "prix_appareil_min" in attrs and appliance.price < float(attrs["prix_appareil_min"]):
        return False
    if "prix_appareil_max" in attrs and appliance.price > float(attrs["prix_appareil_max"]):
        return False
    inches = appliance.attributes.get("diagonale_pouces")
    if inches is not None:
        if "diagonale_min" in attrs and inches < attrs["diagonale_min"]:
            return False
        if "diagonale_max" in attrs and inches > attrs["diagonale_max"]:
            return False
    return True


def _affinity(accessory: _Item) -> float:
    """How often an accessory that fits is taken: made-for-this-model ones most often."""
    attrs = accessory.attributes
    if attrs.get("modeles"):
        return 0.7
    if attrs.get("marques"):
        return 0.45
    if attrs.get("service"):
        return 0.35
    return 0.25


def plan(items: Sequence[_Item], visits: int, rng: random.Random) -> list[list[str]]:
    """The baskets: SKUs bought together, appliance first."""
    appliances = [i for i in items if i.category != ACCESSORIES and i.total > 0]
    accessories = [i for i in items if i.category == ACCESSORIES and i.total > 0]
    fitting = {a.sku: [x for x in accessories if fits(x, a)] for a in appliances}
    baskets = []
    for _ in range(visits):
        if rng.random() < 0.12 and accessories:
            first = rng.choice(accessories)
            similar = [
                x
                for x in accessories
                if x.sku != first.sku
                and set(_words(x.attributes.get("compatible_avec")))
                & set(_words(first.attributes.get("compatible_avec")))
            ]
            basket = [first.sku] + [x.sku for x in rng.sample(similar, min(1, len(similar)))]
            baskets.append(basket)
            continue
        appliance = rng.choice(appliances)
        basket = [appliance.sku]
        for accessory in fitting[appliance.sku]:
            if rng.random() < _affinity(accessory):
                basket.append(accessory.sku)
        baskets.append(basket[:5])
    return baskets


def generate(
    session: Session,
    *,
    policy: stock.StockPolicy,
    now: dt.datetime,
    visits: int = 400,
    days: int = 90,
    seed: int = 20261127,
) -> SalesReport:
    """Record ``visits`` past customer visits as store sales and web orders (caller commits)."""
    rng = random.Random(seed)
    items = _items(session)
    by_sku = {item.sku: item for item in items}
    baskets = plan(items, visits, rng)
    start = now - dt.timedelta(days=days)
    times = sorted(
        start + dt.timedelta(seconds=rng.uniform(0, days * 86400 - 3600)) for _ in baskets
    )
    key, _secret = keys.create_key(session, name=HISTORY_KEY_NAME, role=Role.WEBSHOP, now=start)
    report = SalesReport()
    # Its own stream, so the sales themselves stay what they were before suggestions existed.
    reco_rng = random.Random(seed + 1)
    for number, (basket, when) in enumerate(zip(baskets, times, strict=True)):
        in_stock = [sku for sku in basket if by_sku[sku].total > 0]
        report.skipped += len(basket) - len(in_stock)
        if not in_stock:
            continue
        if rng.random() < 0.65:
            seller = rng.choice(SELLERS)
            suggestion = _suggest(session, in_stock, items, when, seller, reco_rng)
            _store_visit(session, in_stock, by_sku, when, seller, policy, suggestion)
            report.store_visits += 1
        else:
            _web_order(session, in_stock, by_sku, when, key.id, number, policy)
            report.web_orders += 1
        report.units += len(in_stock)
        report.skus.update(in_stock)
    keys.revoke(session, key.id, now)
    return report


def _take(item: _Item, order: Sequence[str]) -> str:
    """Where the unit comes from: big appliances from the deepest stock, so the floor keeps
    its display models; accessories from the first location that has one."""
    if item.category != ACCESSORIES:
        return max(order, key=lambda loc: (item.available.get(loc, 0), order.index(loc)))
    return next(loc for loc in order if item.available.get(loc, 0) > 0)


def _store_visit(
    session: Session,
    skus: Sequence[str],
    by_sku: dict[str, _Item],
    when: dt.datetime,
    seller: str,
    policy: stock.StockPolicy,
    suggestion: uuid.UUID | None = None,
) -> None:
    for offset, sku in enumerate(skus):
        item = by_sku[sku]
        location = _take(item, policy.location_order(Channel.STORE))
        moment = when + dt.timedelta(minutes=2 * offset)
        reservation = stock.reserve(
            session,
            sku=sku,
            quantity=1,
            channel=Channel.STORE,
            location=location,
            ttl_seconds=3600,
            note=None,
            actor=seller,
            now=moment,
            policy=policy,
            recommendation_id=suggestion if offset > 0 else None,
        )
        stock.commit_reservation(
            session,
            reservation.id,
            actor=seller,
            reference=f"ticket {when:%Y%m%d}-{offset}",
            now=moment + dt.timedelta(minutes=1),
            policy=policy,
        )
        item.available[location] -= 1


def _suggest(
    session: Session,
    skus: Sequence[str],
    items: Sequence[_Item],
    when: dt.datetime,
    seller: str,
    rng: random.Random,
) -> uuid.UUID | None:
    """The tablet's suggestions for the appliance of a store sale: the accessories bought with
    it were among them (accepted), with up to two others that fit (shown only)."""
    by_sku = {item.sku: item for item in items}
    appliance = by_sku[skus[0]]
    if appliance.category == ACCESSORIES or rng.random() < 0.3:
        return None
    taken = [sku for sku in skus[1:] if by_sku[sku].category == ACCESSORIES]
    others = [
        item.sku
        for item in items
        if item.category == ACCESSORIES and item.sku not in taken and fits(item, appliance)
    ]
    shown = taken + rng.sample(others, min(len(others), 2))
    if not shown:
        return None
    recommendation_id = uuid.UUID(int=rng.getrandbits(128), version=4)
    raw = [
        {
            "event": "reco_shown",
            "recommendation_id": str(recommendation_id),
            "suggested_sku": sku,
            "context_sku": appliance.sku,
            "kind": "complements",
            "occurred_at": when.isoformat(),
        }
        for sku in shown
    ] + [
        {
            "event": "reco_accepted",
            "recommendation_id": str(recommendation_id),
            "suggested_sku": sku,
            "context_sku": appliance.sku,
            "kind": "complements",
            "occurred_at": (when + dt.timedelta(minutes=1)).isoformat(),
        }
        for sku in taken
    ]
    feedback.record_events(session, raw, channel=Channel.STORE, actor=seller, now=when)
    return recommendation_id if taken else None


def _web_order(
    session: Session,
    skus: Sequence[str],
    by_sku: dict[str, _Item],
    when: dt.datetime,
    key_id: int,
    number: int,
    policy: stock.StockPolicy,
) -> None:
    body = {"lines": [{"sku": sku, "quantity": 1} for sku in skus], "number": number}
    try:
        order, _replayed = orders.place_order(
            session,
            lines=[orders.LineRequest(sku, 1) for sku in skus],
            reservation_ids=[],
            client_key_id=key_id,
            idempotency_key=f"demo-history-{number}",
            body_hash=orders.request_hash(body),
            actor=HISTORY_KEY_NAME,
            reference=f"WEB-{number:05d}",
            now=when,
            policy=policy,
        )
    except DomainError:  # cannot happen with the availability tracked here; skip if it does
        return
    for line in order.lines:
        for allocation in line.allocations:
            by_sku[line.sku].available[allocation["location"]] -= allocation["quantity"]
