"""Catalog verbs: create, change, find and retire products."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.errors import Conflict, ErrorCode, NotFound
from store_api.events import service as events
from store_api.events.service import EventType, NewEvent
from store_api.search import service as search
from store_api.stock.models import StockLevel


def product_payload(product: Product) -> dict[str, Any]:
    """A product as events carry it."""
    return {
        "sku": product.sku,
        "gtin": product.gtin,
        "name": product.name,
        "brand": product.brand,
        "category": product.category,
        "colour": product.colour,
        "price": str(product.price),
        "currency": "EUR",
        "image_url": product.image_url,
        "attributes": product.attributes,
        "active": product.active,
        "low_stock_threshold": product.low_stock_threshold,
    }


EDITABLE_FIELDS = (
    "gtin",
    "name",
    "description",
    "brand",
    "category",
    "colour",
    "price",
    "image_url",
    "attributes",
    "active",
    "low_stock_threshold",
)


def normalize(text: str) -> str:
    """Lower-case and strip accents, so that search ignores both."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def get_product(session: Session, sku: str) -> Product:
    product = session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    if product is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, f"No product with SKU {sku}.", {"sku": sku})
    return product


def _check_gtin_free(session: Session, gtin: str | None, sku: str) -> None:
    """A barcode names one product: refuse one that another SKU already carries."""
    if gtin is None:
        return
    owner = session.scalars(select(Product.sku).where(Product.gtin == gtin)).first()
    if owner is not None and owner != sku:
        raise Conflict(
            ErrorCode.GTIN_ALREADY_EXISTS,
            f"GTIN {gtin} already belongs to {owner}.",
            {"gtin": [f"Already used by {owner}."], "sku": owner},
        )


def create_product(
    session: Session, data: Mapping[str, Any], *, locations: Sequence[str], now: dt.datetime
) -> Product:
    """Create a product with an empty stock row at every location."""
    sku = data["sku"]
    if session.scalars(select(Product.id).where(Product.sku == sku)).first() is not None:
        raise Conflict(
            ErrorCode.SKU_ALREADY_EXISTS, f"A product with SKU {sku} already exists.", {"sku": sku}
        )
    _check_gtin_free(session, data.get("gtin"), sku)
    product = Product(sku=sku, created_at=now, updated_at=now)
    for field in EDITABLE_FIELDS:
        if field in data:
            setattr(product, field, data[field])
    session.add(product)
    search.index_product(session, product)
    session.flush()
    session.add_all(
        StockLevel(product_id=product.id, location=loc, on_hand=0, reserved=0, updated_at=now)
        for loc in locations
    )
    session.flush()
    events.emit(
        session,
        [NewEvent(EventType.PRODUCT_CREATED, product_payload(product), sku=sku)],
        now=now,
    )
    return product


def update_product(
    session: Session, sku: str, changes: Mapping[str, Any], *, now: dt.datetime
) -> Product:
    product = get_product(session, sku)
    changed = [f for f in EDITABLE_FIELDS if f in changes and getattr(product, f) != changes[f]]
    if "gtin" in changed:
        _check_gtin_free(session, changes["gtin"], sku)
    for field in changed:
        setattr(product, field, changes[field])
    if not changed:
        return product
    search.index_product(session, product)
    product.updated_at = now
    session.flush()
    kind = (
        EventType.PRODUCT_DEACTIVATED
        if changed == ["active"] and not product.active
        else EventType.PRODUCT_UPDATED
    )
    payload = {**product_payload(product), "changed": changed}
    events.emit(session, [NewEvent(kind, payload, sku=sku)], now=now)
    return product


def deactivate_product(session: Session, sku: str, *, now: dt.datetime) -> Product:
    """Retire a product: it stays in history and stock, but can no longer be sold."""
    return update_product(session, sku, {"active": False}, now=now)


def _spellings(session: Session, column: Any, wanted: str) -> list[str]:
    """The stored values equal to ``wanted`` ignoring case and accents ("ecrans" = "Écrans").

    Few distinct categories, brands and colours exist, so matching them in Python is cheap
    and behaves the same on SQLite and on PostgreSQL whatever its locale.
    """
    key = normalize(wanted.strip())
    return [v for v in session.scalars(select(column).distinct()) if normalize(v) == key]


@dataclass(frozen=True)
class SearchResult:
    items: list[Product]
    total: int
    correction: str | None = None


_LIST_ORDERS = {
    "name": (Product.name, Product.sku),
    "price": (Product.price, Product.category, Product.name, Product.sku),
    "-price": (Product.price.desc(), Product.category, Product.name, Product.sku),
}


def search_products(
    session: Session,
    *,
    q: str | None = None,
    gtin: str | None = None,
    category: str | None = None,
    brand: str | None = None,
    colour: str | None = None,
    include_inactive: bool = False,
    in_stock: bool = False,
    boost_in_stock: bool = False,
    sort: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> SearchResult:
    """Products matching ``q`` best first (see store_api.search), or the catalogue listed.

    ``sort`` (name, price, -price) orders the same matches otherwise; without ``q`` the list
    goes by category, name and SKU unless ``sort`` says otherwise.
    """
    if q and q.strip() and gtin is None:
        hits = search.search(
            session,
            q,
            category=category,
            brand=brand,
            colour=colour,
            include_inactive=include_inactive,
            in_stock=in_stock,
            boost_in_stock=boost_in_stock,
            sort=sort or "relevance",
            page=page,
            page_size=page_size,
        )
        rows = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(hits.ids)))}
        items = [rows[i] for i in hits.ids if i in rows]
        return SearchResult(items=items, total=hits.total, correction=hits.correction)
    stmt = select(Product)
    if gtin is not None:
        stmt = stmt.where(Product.gtin == gtin)
    for column, wanted in (
        (Product.category, category),
        (Product.brand, brand),
        (Product.colour, colour),
    ):
        if wanted:
            stmt = stmt.where(column.in_(_spellings(session, column, wanted)))
    if not include_inactive:
        stmt = stmt.where(Product.active.is_(True))
    if in_stock:
        in_stock_ids = select(StockLevel.product_id).where(StockLevel.on_hand > StockLevel.reserved)
        stmt = stmt.where(Product.id.in_(in_stock_ids))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = _LIST_ORDERS.get(sort or "", (Product.category, Product.name, Product.sku))
    page_items = session.scalars(
        stmt.order_by(*order).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return SearchResult(items=list(page_items), total=total)


def list_categories(session: Session) -> list[tuple[str, int]]:
    rows = session.execute(
        select(Product.category, func.count())
        .where(Product.active.is_(True))
        .group_by(Product.category)
        .order_by(Product.category)
    ).all()
    return [(category, count) for category, count in rows]


def count_products(session: Session) -> int:
    return session.scalar(select(func.count(Product.id))) or 0
