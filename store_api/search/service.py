"""Search verbs: index a product, search, suggest, synonyms, search counts (no Flask).

The index lives in memory, one per process and database (:class:`SearchIndex`); the database
holds what it is made of (products, synonyms) and a generation number that every change
raises in its own transaction (:func:`index_product`, the synonym verbs). A search reads the
generation in its transaction first and loads what changed since its copy, so a product is
findable as soon as its transaction commits, by every process, on SQLite and PostgreSQL
alike, and both give the same results: ranking is the same Python code (docs/search.md).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine, Table, any_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.errors import Conflict, ErrorCode, NotFound
from store_api.search import text
from store_api.search.documents import ProductText, decode_terms, document_terms, encode_terms
from store_api.search.index import Filters, SearchIndex, compile_synonym
from store_api.search.models import SearchDay, SearchState, Synonym
from store_api.stock.models import StockLevel

SORTS = ("relevance", "name", "price", "-price")
# More changed products than this (or than a quarter of the catalogue): build anew, faster.
REBUILD_FROM = 500

# --- the generation, raised by every change search reads ------------------------------------


def next_generation(session: Session) -> int:
    """The generation of the current transaction's changes (raised once per transaction).

    The UPDATE locks the one row until commit, so generations commit in their order: a reader
    that sees generation G also sees every change stamped G or less.
    """
    transaction = session.get_transaction()
    memo = session.info.get("search_generation")
    if memo is not None and memo[0] is transaction:
        generation: int = memo[1]
        return generation
    # No autoflush: the caller's pending product changes are flushed once, by the caller
    # (flushing them here, then the generation, would be two UPDATEs and a wrong updated_at).
    with session.no_autoflush:
        raised = session.execute(
            update(SearchState)
            .where(SearchState.id == 1)
            .values(generation=SearchState.generation + 1)
            .returning(SearchState.generation)
        ).scalar_one_or_none()
        if raised is None:  # the migration makes the row; an emptied table gets it back
            session.execute(insert(SearchState).values(id=1, generation=1))
            raised = 1
    session.info["search_generation"] = (transaction, raised)
    return raised


def index_product(session: Session, product: Product) -> None:
    """Make the product's current fields what search finds, in the caller's transaction.

    Every change to a product goes through here: the catalog verbs (create, update,
    deactivate), the CSV import and supplier feeds call it, never the index directly.
    """
    generation = next_generation(session)
    product.search_text = encode_terms(*document_terms(_text_of(product)))
    product.search_generation = generation


def _text_of(product: Product) -> ProductText:
    return ProductText(
        id=getattr(product, "id", None) or 0,  # a feed indexes products before their insert
        sku=product.sku,
        gtin=product.gtin,
        name=product.name,
        brand=product.brand or "",
        category=product.category or "",
        colour=product.colour or "",
        description=product.description or "",
        attributes=product.attributes if isinstance(product.attributes, dict) else {},
        active=product.active if product.active is not None else True,
        price=f"{product.price:.2f}",
        image_url=product.image_url,
    )


# --- the per-process index ------------------------------------------------------------------


@dataclass
class _Cache:
    lock: threading.RLock = field(default_factory=threading.RLock)
    index: SearchIndex | None = None
    stats: dict[tuple[dt.date, str, str], list[Any]] = field(default_factory=dict)
    stats_since: float = field(default_factory=time.monotonic)


_CACHES: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def _cache(session: Session) -> _Cache:
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    cache = _CACHES.get(engine)
    if cache is None:
        with _CACHES_LOCK:
            cache = _CACHES.setdefault(engine, _Cache())
    return cache


_PRODUCT_COLUMNS = (
    Product.id,
    Product.sku,
    Product.gtin,
    Product.mpn,
    Product.name,
    Product.brand,
    Product.category,
    Product.colour,
    Product.description,
    Product.attributes,
    Product.active,
    Product.price,
    Product.image_url,
    Product.low_stock_threshold,
    Product.created_at,
    Product.updated_at,
)


Indexed = tuple[ProductText, tuple[dict[str, int], dict[str, str]] | None, dict[str, Any]]


def _payload(row: Any) -> dict[str, Any]:
    """The product as GET /api/v1/products shows it (catalog.schemas.ProductSchema), but
    its stock: search results come from here, not from a query per page."""
    return {
        "sku": row.sku,
        "gtin": row.gtin,
        "mpn": row.mpn,
        "name": row.name,
        "description": row.description,
        "brand": row.brand,
        "category": row.category,
        "colour": row.colour,
        "price": f"{row.price:.2f}",
        "currency": "EUR",
        "image_url": row.image_url,
        "attributes": row.attributes,
        "active": row.active,
        "low_stock_threshold": row.low_stock_threshold,
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


def _texts(
    session: Session, after: int | None, ids: Sequence[int] | None = None
) -> Iterator[Indexed]:
    """Products with their stored terms (None: written before search stored them)."""
    stmt = select(*_PRODUCT_COLUMNS, Product.search_text)
    if after is not None:
        stmt = stmt.where(Product.search_generation > after)
    if ids is not None:
        stmt = stmt.where(Product.id.in_(ids))
    for row in session.execute(stmt):
        yield (
            ProductText(
                id=row.id,
                sku=row.sku,
                gtin=row.gtin,
                name=row.name,
                brand=row.brand,
                category=row.category,
                colour=row.colour,
                description=row.description,
                attributes=row.attributes if isinstance(row.attributes, dict) else {},
                active=row.active,
                price=f"{row.price:.2f}",
                image_url=row.image_url,
            ),
            decode_terms(row.search_text or ""),
            _payload(row),
        )


def _load_synonyms(session: Session, index: SearchIndex) -> None:
    rows = session.execute(select(Synonym.term, Synonym.synonyms)).all()
    index.set_synonyms(s for s in (compile_synonym(t, m) for t, m in rows) if s is not None)


_GENERATION_SQL = "SELECT generation FROM search_state WHERE id = 1"
_STOCK_TOTALS = (
    select(
        StockLevel.product_id,
        func.sum(StockLevel.on_hand),
        func.sum(StockLevel.reserved),
    )
    .where(StockLevel.product_id.in_(bindparam("ids", expanding=True)))
    .group_by(StockLevel.product_id)
)


def stock_totals(session: Session, ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """(on hand, reserved) over every location, by product id, in one statement."""
    if not ids:
        return {}
    rows = session.connection().execute(_STOCK_TOTALS, {"ids": list(ids)})
    return {pid: (int(on_hand), int(reserved)) for pid, on_hand, reserved in rows}


@contextmanager
def current_index(session: Session) -> Iterator[SearchIndex]:
    """The index as of the caller's transaction, held for the caller alone (a lock)."""
    cache = _cache(session)
    # Straight to the driver: this runs before every search, the ORM's overhead is not needed.
    row = session.connection().exec_driver_sql(_GENERATION_SQL).first()
    generation = int(row[0]) if row else 0
    with cache.lock:
        index = cache.index
        changed: list[Indexed] = []
        if index is not None and generation > index.generation:
            changed = list(_texts(session, index.generation))
        if (
            index is None
            or generation < index.generation  # the tables were emptied and filled again
            or len(changed) > max(REBUILD_FROM, len(index.docs) // 4)  # a reindex, an import
        ):
            index = SearchIndex()
            index.load(_texts(session, None))
            _load_synonyms(session, index)
            index.generation = generation
            cache.index = index
        elif generation > index.generation:
            for product, terms, payload in changed:
                index.put(product, terms, payload)
            _load_synonyms(session, index)
            index.generation = generation
        yield index


def reindex(session: Session, batch: int = 500) -> int:
    """Analyse every product again and stamp it with a new generation: each process reloads
    the whole catalogue. For products written around the catalog verbs (SQL by hand, a
    restore, a bulk load) and after a change to the analyser."""
    generation = next_generation(session)
    products = cast(Table, Product.__table__)
    ids = list(session.scalars(select(Product.id).order_by(Product.id)))
    for start in range(0, len(ids), batch):
        chunk = ids[start : start + batch]
        rows = [
            {"pid": product.id, "terms": encode_terms(*document_terms(product))}
            for product, _terms, _payload in _texts(session, None, chunk)
        ]
        # Core, so that updated_at stays what it was (the product itself did not change).
        session.execute(
            products.update()
            .where(products.c.id == bindparam("pid"))
            .values(
                search_text=bindparam("terms"),
                search_generation=generation,
                updated_at=products.c.updated_at,
            ),
            rows,
        )
    return len(ids)


# --- searching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hits:
    ids: list[int]
    total: int
    correction: str | None


def available_ids(session: Session, ids: Sequence[int]) -> set[int]:
    """Which of these products have a unit available somewhere (one statement)."""
    if not ids:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        param = bindparam(
            "ids", value=list(ids), type_=postgresql.ARRAY(StockLevel.product_id.type)
        )
        where = StockLevel.product_id == any_(param)
    else:
        where = StockLevel.product_id.in_(ids)
    found = session.scalars(
        select(StockLevel.product_id).where(where, StockLevel.on_hand > StockLevel.reserved)
    )
    return set(found)


def search(
    session: Session,
    q: str,
    *,
    category: str | None = None,
    brand: str | None = None,
    colour: str | None = None,
    include_inactive: bool = False,
    in_stock: bool = False,
    boost_in_stock: bool = False,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 20,
) -> Hits:
    """Product ids of one page of results for ``q``, best first, the total and a correction."""
    filters = Filters(include_inactive, category, brand, colour)
    with current_index(session) as index:
        return _search(index, session, q, filters, in_stock, boost_in_stock, sort, page, page_size)


def _search(
    index: SearchIndex,
    session: Session,
    q: str,
    filters: Filters,
    in_stock: bool,
    boost_in_stock: bool,
    sort: str,
    page: int,
    page_size: int,
) -> Hits:
    only = (lambda ids: available_ids(session, ids)) if in_stock else None
    boost = (lambda ids: available_ids(session, ids)) if boost_in_stock and not in_stock else None
    ranked = index.search(
        q, filters=filters, limit=page * page_size, only=only, boost=boost, order=sort
    )
    return Hits(ranked.ids[(page - 1) * page_size :], ranked.total, ranked.correction)


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]  # as the API shows products, with their stock totals
    total: int
    correction: str | None


def search_page(
    session: Session,
    q: str,
    *,
    category: str | None = None,
    brand: str | None = None,
    colour: str | None = None,
    include_inactive: bool = False,
    in_stock: bool = False,
    boost_in_stock: bool = False,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 20,
) -> Page:
    """Like :func:`search`, with the products of the page as the API shows them, read from
    the index (made from the same rows, as of this transaction's generation)."""
    with current_index(session) as index:
        hits = _search(
            index,
            session,
            q,
            Filters(include_inactive, category, brand, colour),
            in_stock,
            boost_in_stock,
            sort,
            page,
            page_size,
        )
        items = [dict(index.docs[i].payload or {}) for i in hits.ids if i in index.docs]
        ids = [i for i in hits.ids if i in index.docs]
    totals = stock_totals(session, ids)
    for product_id, item in zip(ids, items, strict=True):
        on_hand, reserved = totals.get(product_id, (0, 0))
        item["stock"] = {"on_hand": on_hand, "reserved": reserved, "available": on_hand - reserved}
    return Page(items, hits.total, hits.correction)


@dataclass(frozen=True)
class Suggestions:
    query: str
    products: list[dict[str, Any]]
    categories: list[tuple[str, int]]
    brands: list[tuple[str, int]]
    correction: str | None


def suggest(session: Session, q: str, *, limit: int = 5, facets: int = 5) -> Suggestions:
    """Products, categories and brands for what has been typed so far (the last word is a
    prefix). Categories and brands are those of the matching products, with how many."""
    with current_index(session) as index:
        ranked = index.search(q, limit=limit, facets=True)
        docs = [index.docs[i] for i in ranked.ids]
    products = [
        {
            "sku": d.sku,
            "name": d.name,
            "brand": d.brand,
            "category": d.category,
            "price": d.price,
            "image_url": d.image_url,
        }
        for d in docs
    ]
    return Suggestions(
        q, products, ranked.categories[:facets], ranked.brands[:facets], ranked.correction
    )


# --- synonyms ---------------------------------------------------------------------------------


def synonym_key(term: str) -> str:
    """How the analyser reads a term: two spellings of one key are the same synonym."""
    return " ".join(w.term for w in text.words(term) if not w.stop)


def list_synonyms(session: Session) -> list[Synonym]:
    return list(session.scalars(select(Synonym).order_by(Synonym.key, Synonym.id)))


def get_synonym(session: Session, synonym_id: int) -> Synonym:
    found = session.get(Synonym, synonym_id)
    if found is None:
        raise NotFound(
            ErrorCode.SYNONYM_NOT_FOUND, f"No synonym with id {synonym_id}.", {"id": synonym_id}
        )
    return found


def _check_key_free(session: Session, key: str, term: str, synonym_id: int | None) -> None:
    taken = session.scalars(select(Synonym).where(Synonym.key == key)).first()
    if taken is not None and taken.id != synonym_id:
        raise Conflict(
            ErrorCode.SYNONYM_ALREADY_EXISTS,
            f"'{term}' is already a synonym (id {taken.id}, '{taken.term}').",
            {"term": [f"Already defined as '{taken.term}'."], "id": taken.id},
        )


def create_synonym(
    session: Session, term: str, synonyms: Sequence[str], *, now: dt.datetime
) -> Synonym:
    key = synonym_key(term)
    _check_key_free(session, key, term, None)
    row = Synonym(
        term=term.strip(), key=key, synonyms=list(synonyms), created_at=now, updated_at=now
    )
    session.add(row)
    next_generation(session)
    session.flush()
    return row


def update_synonym(
    session: Session,
    synonym_id: int,
    *,
    term: str | None,
    synonyms: Sequence[str] | None,
    now: dt.datetime,
) -> Synonym:
    row = get_synonym(session, synonym_id)
    if term is not None:
        key = synonym_key(term)
        _check_key_free(session, key, term, row.id)
        row.term, row.key = term.strip(), key
    if synonyms is not None:
        row.synonyms = list(synonyms)
    row.updated_at = now
    next_generation(session)
    session.flush()
    return row


def delete_synonym(session: Session, synonym_id: int) -> None:
    row = get_synonym(session, synonym_id)
    session.delete(row)
    next_generation(session)
    session.flush()


def replace_synonyms(session: Session, entries: Sequence[tuple[str, Sequence[str]]]) -> int:
    """Make ``entries`` the whole list (the demo seed); returns how many."""
    session.execute(delete(Synonym))
    now = dt.datetime.now(dt.UTC)
    for term, meanings in entries:
        create_synonym(session, term, meanings, now=now)
    return len(entries)


# --- search counts for the owner's Site search report ----------------------------------------


def record_search(
    session: Session, *, term: str, role: str, found: int, correction: str | None, day: dt.date
) -> None:
    """Count one search in this process; :func:`flush_searches` writes the counts."""
    cache = _cache(session)
    with cache.lock:
        counts = cache.stats.setdefault((day, term, role), [0, 0, 0, None])
        counts[0] += 1
        counts[1] += 0 if found else 1
        if correction is not None:
            counts[2] += 1
            counts[3] = correction


def searches_waiting(session: Session, older_than_s: float) -> bool:
    cache = _cache(session)
    return bool(cache.stats) and time.monotonic() - cache.stats_since >= older_than_s


def flush_searches(session: Session) -> int:
    """Add this process's counted searches to ``search_days`` (caller's write transaction)."""
    cache = _cache(session)
    with cache.lock:
        pending, cache.stats = cache.stats, {}
        cache.stats_since = time.monotonic()
    if not pending:
        return 0
    table = cast(Table, SearchDay.__table__)
    upsert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = upsert(table)
    excluded = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["day", "term", "role"],
        set_={
            "searches": table.c.searches + excluded.searches,
            "no_result_searches": table.c.no_result_searches + excluded.no_result_searches,
            "corrected_searches": table.c.corrected_searches + excluded.corrected_searches,
            "correction": func.coalesce(excluded.correction, table.c.correction),
        },
    )
    rows = [
        {
            "day": day,
            "term": term,
            "role": role,
            "searches": searches,
            "no_result_searches": empty,
            "corrected_searches": corrected,
            "correction": correction,
        }
        for (day, term, role), (searches, empty, corrected, correction) in sorted(
            pending.items(), key=lambda kv: kv[0]
        )
    ]
    session.execute(stmt, rows)  # one statement, every row (executemany)
    return len(pending)
