"""What the recommender learns from: the shop's sales, webshop visits and catalogue."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from recommender.base import ItemInfo, TrainingData
from store_api.catalog.models import Product
from store_api.clickstream.models import ClickEvent
from store_api.orders.models import Order, OrderLine, OrderStatus
from store_api.stock.models import Reservation, ReservationStatus

# A seller's commits this close to the first one of a visit are one basket.
STORE_VISIT_SECONDS = 30 * 60


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
    """What the recommender reads of a product: its kind, role and fit come from the name, the
    category and the attributes; content similarity from all its text."""
    attributes = dict(product.attributes or {})
    compatible = [
        word
        for key in ("compatible_avec", "marques", "modeles")
        for word in _as_words(attributes.get(key))
    ]
    text = " ".join(
        part for part in (product.name, product.brand, product.description, *compatible) if part
    )
    return ItemInfo(
        category=product.category,
        family=family_of(product.sku),
        text=text,
        name=product.name,
        brand=product.brand or "",
        price=float(product.price) if product.price is not None else None,
        attributes=attributes,
    )


def _timestamp(when: dt.datetime) -> float:
    return when.timestamp()


def training_data(session: Session) -> TrainingData:
    """Baskets from confirmed orders and from store sales, webshop visits, the catalogue.

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
    visits = _browsing_sessions(session)
    return TrainingData(
        baskets=[list(dict.fromkeys(skus)) for _when, skus in baskets],
        basket_times=[when for when, _skus in baskets],
        sessions=[v.viewed for v in visits],
        session_purchases=[v.bought for v in visits],
        session_carts=[v.carted for v in visits],
        session_times=[v.started for v in visits],
        items=items,
    )


# The newest webshop events the models learn visits from: bounds memory and training time.
MAX_BROWSING_EVENTS = 500_000
BROWSING_EVENTS = ("view_item", "add_to_cart", "purchase")


@dataclass
class _Visit:
    started: float
    viewed: list[str] = field(default_factory=list)
    carted: list[str] = field(default_factory=list)
    bought: list[str] = field(default_factory=list)


def _browsing_sessions(session: Session) -> list[_Visit]:
    """Webshop visits from the clickstream: products viewed in order, put in the cart, bought.

    They teach "viewed instead" alternatives, what is looked at next, and (more weakly than
    sales) what goes together; visits that viewed no product teach nothing and are left out.
    """
    newest = (
        select(
            ClickEvent.id,
            ClickEvent.visit_id,
            ClickEvent.name,
            ClickEvent.item_id,
            ClickEvent.occurred_at,
        )
        .add_columns(ClickEvent.params)
        .where(ClickEvent.name.in_(BROWSING_EVENTS))
        .order_by(ClickEvent.id.desc())
        .limit(MAX_BROWSING_EVENTS)
        .subquery()
    )
    rows = session.execute(select(newest).order_by(newest.c.visit_id, newest.c.id)).all()
    visits: dict[int, _Visit] = {}
    for _id, visit_id, name, item_id, occurred_at, params in rows:
        visit = visits.setdefault(visit_id, _Visit(_timestamp(occurred_at)))
        if name == "view_item" and item_id:
            visit.viewed.append(item_id)
        elif name == "add_to_cart" and item_id:
            visit.carted.append(item_id)
        elif name == "purchase":
            for line in (params or {}).get("items") or []:
                if isinstance(line, dict) and isinstance(line.get("item_id"), str):
                    visit.bought.append(line["item_id"])
    found = [v for v in visits.values() if v.viewed]
    for v in found:
        v.carted = list(dict.fromkeys(v.carted))
        v.bought = list(dict.fromkeys(v.bought))
    found.sort(key=lambda v: v.started)
    return found
