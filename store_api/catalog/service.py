"""Catalog verbs: create, change, find and retire products."""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import String, Table, func, insert, literal, select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.db import UTCDateTime
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
        "mpn": product.mpn,
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
    "mpn",
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


# Bulk verbs (supplier feeds): the same rows, checks and events as create_product and
# update_product, in a few statements instead of a few per product.

_CHUNK = 900  # bound parameters per IN (SQLite allows 32766; psycopg is faster with fewer)


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + _CHUNK] for i in range(0, len(values), _CHUNK)]


def _gtin_owners(session: Session, gtins: Sequence[str]) -> dict[str, str]:
    owners: dict[str, str] = {}
    for part in _chunks(list(gtins)):
        rows = session.execute(select(Product.gtin, Product.sku).where(Product.gtin.in_(part)))
        owners.update({gtin: sku for gtin, sku in rows if gtin is not None})
    return owners


def _check_gtins_free(session: Session, wanted: Mapping[str, str]) -> None:
    """``wanted`` is sku -> gtin: each gtin must be free or already that sku's, and unique."""
    seen: dict[str, str] = {}
    for sku, gtin in wanted.items():
        if gtin in seen:
            raise Conflict(
                ErrorCode.GTIN_ALREADY_EXISTS,
                f"GTIN {gtin} given to both {seen[gtin]} and {sku}.",
                {"gtin": [f"Already used by {seen[gtin]}."], "sku": seen[gtin]},
            )
        seen[gtin] = sku
    for gtin, owner in _gtin_owners(session, list(seen)).items():
        if owner != seen[gtin]:
            raise Conflict(
                ErrorCode.GTIN_ALREADY_EXISTS,
                f"GTIN {gtin} already belongs to {owner}.",
                {"gtin": [f"Already used by {owner}."], "sku": owner},
            )


_products = cast(Table, Product.__table__)
# What create_product leaves in a new product's fields when the data does not say.
_NEW_PRODUCT: dict[str, Any] = {
    "gtin": None,
    "mpn": None,
    "description": "",
    "brand": "",
    "category": "",
    "colour": "",
    "image_url": None,
    "attributes": {},
    "active": True,
    "low_stock_threshold": None,
}


def create_products(
    session: Session,
    items: Sequence[Mapping[str, Any]],
    *,
    locations: Sequence[str],
    now: dt.datetime,
) -> dict[str, int]:
    """Create many products, each with empty stock everywhere and its product.created event.

    Returns sku -> id. All or nothing: a taken SKU or GTIN raises before anything is written.
    """
    if not items:
        return {}
    skus = [d["sku"] for d in items]
    taken = [
        sku
        for part in _chunks(skus)
        for sku in session.scalars(select(Product.sku).where(Product.sku.in_(part)))
    ]
    if taken or len(set(skus)) != len(skus):
        sku = taken[0] if taken else next(s for s in skus if skus.count(s) > 1)
        raise Conflict(
            ErrorCode.SKU_ALREADY_EXISTS, f"A product with SKU {sku} already exists.", {"sku": sku}
        )
    _check_gtins_free(session, {d["sku"]: d["gtin"] for d in items if d.get("gtin")})
    rows, new_events = [], []
    for data in items:
        values: dict[str, Any] = {**_NEW_PRODUCT, "created_at": now, "updated_at": now}
        values["sku"] = data["sku"]
        values.update({f: data[f] for f in EDITABLE_FIELDS if f in data})
        # Plain objects, not ORM instances: a feed creates tens of thousands at once.
        product = SimpleNamespace(**values)
        search.index_product(session, product)  # type: ignore[arg-type]
        values["search_text"] = product.search_text
        values["search_generation"] = product.search_generation
        rows.append(values)
        payload = product_payload(product)  # type: ignore[arg-type]
        new_events.append(NewEvent(EventType.PRODUCT_CREATED, payload, sku=values["sku"]))
    # Plain executemany (RETURNING would send one row per statement on SQLite), then the ids.
    session.connection().execute(insert(_products), rows)
    ids: dict[str, int] = {}
    for part in _chunks(skus):
        found = session.execute(select(Product.sku, Product.id).where(Product.sku.in_(part)))
        ids.update({sku: pid for sku, pid in found})
    # Empty stock rows made by the database from the new ids: a few statements, not one
    # parameter set per product and location.
    columns = ["product_id", "location", "on_hand", "reserved", "updated_at"]
    new_ids = list(ids.values())
    for location in locations:
        for part in _chunks(new_ids):
            rows_of = select(
                Product.id,
                literal(location, String()),
                literal(0),
                literal(0),
                literal(now, UTCDateTime()),
            ).where(Product.id.in_(part))
            session.execute(insert(StockLevel).from_select(columns, rows_of))
    events.emit(session, new_events, now=now)
    return ids


def update_products(
    session: Session, changes: Mapping[str, Mapping[str, Any]], *, now: dt.datetime
) -> list[str]:
    """Apply ``changes`` (sku -> field -> value) like update_product; returns the SKUs changed."""
    if not changes:
        return []
    skus = list(changes)
    products = {
        p.sku: p
        for part in _chunks(skus)
        for p in session.scalars(select(Product).where(Product.sku.in_(part)))
    }
    missing = [sku for sku in skus if sku not in products]
    if missing:
        sku = missing[0]
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, f"No product with SKU {sku}.", {"sku": sku})
    todo: dict[str, list[str]] = {}
    for sku, wanted in changes.items():
        product = products[sku]
        changed = [f for f in EDITABLE_FIELDS if f in wanted and getattr(product, f) != wanted[f]]
        if changed:
            todo[sku] = changed
    _check_gtins_free(
        session,
        {
            sku: changes[sku]["gtin"]
            for sku, f in todo.items()
            if "gtin" in f and changes[sku]["gtin"]
        },
    )
    new_events = []
    for sku, changed in todo.items():
        product = products[sku]
        for field in changed:
            setattr(product, field, changes[sku][field])
        search.index_product(session, product)
        product.updated_at = now
        kind = (
            EventType.PRODUCT_DEACTIVATED
            if changed == ["active"] and not product.active
            else EventType.PRODUCT_UPDATED
        )
        new_events.append(NewEvent(kind, {**product_payload(product), "changed": changed}, sku=sku))
    session.flush()
    events.emit(session, new_events, now=now)
    return list(todo)


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
