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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Engine, Table, any_, bindparam, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.errors import Conflict, ErrorCode, NotFound
from store_api.search import text
from store_api.search.index import Doc, ProductText, Ranked, SearchIndex, compile_synonym
from store_api.search.models import SearchDay, SearchState, Synonym
from store_api.stock.models import StockLevel

SORTS = ("relevance", "name", "price", "-price")

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
    parts = (product.sku, product.gtin, product.name, product.brand, product.category)
    product.search_text = text.fold(" ".join(p for p in (*parts, product.colour) if p))
    product.search_generation = next_generation(session)


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
    Product.name,
    Product.brand,
    Product.category,
    Product.colour,
    Product.description,
    Product.attributes,
    Product.active,
    Product.price,
    Product.image_url,
)


def _texts(session: Session, after: int | None) -> Iterator[ProductText]:
    stmt = select(*_PRODUCT_COLUMNS)
    if after is not None:
        stmt = stmt.where(Product.search_generation > after)
    for row in session.execute(stmt):
        yield ProductText(
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
        )


def _load_synonyms(session: Session, index: SearchIndex) -> None:
    rows = session.execute(select(Synonym.term, Synonym.synonyms)).all()
    index.set_synonyms(s for s in (compile_synonym(t, m) for t, m in rows) if s is not None)


@contextmanager
def current_index(session: Session) -> Iterator[SearchIndex]:
    """The index as of the caller's transaction, held for the caller alone (a lock)."""
    cache = _cache(session)
    generation = session.scalar(select(SearchState.generation).where(SearchState.id == 1)) or 0
    with cache.lock:
        index = cache.index
        if index is None or generation < index.generation:
            index = SearchIndex()  # first search here, or the tables were emptied: all again
            index.load(_texts(session, None))
            _load_synonyms(session, index)
            index.generation = generation
            cache.index = index
        elif generation > index.generation:
            for product in _texts(session, index.generation):
                index.put(product)
            _load_synonyms(session, index)
            index.generation = generation
        yield index


def reindex(session: Session) -> int:
    """Stamp every product with a new generation: each process reloads the whole catalogue.
    For products written around the catalog verbs (SQL by hand, a restore)."""
    generation = next_generation(session)
    session.execute(update(Product).values(search_generation=generation))
    count = session.scalar(select(Product.id).order_by(Product.id.desc()).limit(1))
    return int(count or 0)


# --- searching --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hits:
    ids: list[int]
    total: int
    correction: str | None


def _same(wanted: str | None) -> Callable[[str], bool] | None:
    if not wanted:
        return None
    key = text.fold(wanted.strip())
    return lambda value: text.fold(value) == key


def _keeper(
    include_inactive: bool, category: str | None, brand: str | None, colour: str | None
) -> Callable[[Doc], bool]:
    checks: list[Callable[[Doc], bool]] = []
    if not include_inactive:
        checks.append(lambda d: d.active)
    for attribute, wanted in (("category", category), ("brand", brand), ("colour", colour)):
        same = _same(wanted)
        if same is not None:
            checks.append(lambda d, a=attribute, s=same: s(getattr(d, a)))  # type: ignore[misc]
    return lambda doc: all(check(doc) for check in checks)


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
    keep = _keeper(include_inactive, category, brand, colour)
    only = (lambda ids: available_ids(session, ids)) if in_stock else None
    boost = (lambda ids: available_ids(session, ids)) if boost_in_stock and not in_stock else None
    with current_index(session) as index:
        ranked = index.search(
            q, keep=keep, limit=page * page_size, only=only, boost=boost, order=sort
        )
    return Hits(ranked.ids[(page - 1) * page_size :], ranked.total, ranked.correction)


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
        ranked: Ranked = index.search(q, keep=lambda d: d.active, limit=limit, facets=True)
        docs = [index.docs[i] for i in ranked.ids]
        categories: dict[str, int] = {}
        brands: dict[str, int] = {}
        for doc_id in ranked.matched:
            doc = index.docs[doc_id]
            if doc.category:
                categories[doc.category] = categories.get(doc.category, 0) + 1
            if doc.brand:
                brands[doc.brand] = brands.get(doc.brand, 0) + 1
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

    def top(counts: dict[str, int]) -> list[tuple[str, int]]:
        return sorted(counts.items(), key=lambda kv: (-kv[1], text.fold(kv[0])))[:facets]

    return Suggestions(q, products, top(categories), top(brands), ranked.correction)


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
    session: Session, *, term: str, source: str, found: int, correction: str | None, day: dt.date
) -> None:
    """Count one search in this process; :func:`flush_searches` writes the counts."""
    cache = _cache(session)
    with cache.lock:
        counts = cache.stats.setdefault((day, term, source), [0, 0, 0, None])
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
    for (day, term, source), (searches, empty, corrected, correction) in sorted(
        pending.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])
    ):
        stmt = upsert(table).values(
            day=day,
            term=term,
            source=source,
            searches=searches,
            no_result_searches=empty,
            corrected_searches=corrected,
            correction=correction,
        )
        excluded = stmt.excluded
        session.execute(
            stmt.on_conflict_do_update(
                index_elements=["day", "term", "source"],
                set_={
                    "searches": table.c.searches + excluded.searches,
                    "no_result_searches": table.c.no_result_searches + excluded.no_result_searches,
                    "corrected_searches": table.c.corrected_searches + excluded.corrected_searches,
                    "correction": excluded.correction
                    if correction is not None
                    else table.c.correction,
                },
            )
        )
    return len(pending)
