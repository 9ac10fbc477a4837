"""Incremental rollups: fold new clickstream events into the tables the reports read.

How a fold stays exact
----------------------
Each event is folded once, in id order, into the facts of its visit (``analytics_visits``,
``analytics_visit_products``, ``analytics_visit_searches``). Everything the reports read is a
sum over visits of what each visit contributes, computed by :func:`contributions` from those
facts alone. So for the visits a chunk touches, the rollup subtracts what the visit
contributed before the chunk and adds what it contributes after it, as increments
(``INSERT .. ON CONFLICT DO UPDATE SET n = n + :delta``). A purchase arriving 20 minutes after
the delivery fee was shown moves that visit from "abandoned" to "bought" in the fee report;
folding in one go or in many chunks gives the same tables (the tests check it).

The per-purchase rows (what was looked at instead, time to purchase) are few: they are
replaced for the visits a chunk touches.

The watermark (``analytics_rollup_state.events``) is the last folded event id. On
PostgreSQL, ids of concurrent ingest transactions can commit out of order (id 42 visible
before id 41), so the upper bound of a refresh is read under ``LOCK TABLE clickstream_events
IN SHARE MODE`` in a short transaction of its own: it waits for the inserts in flight, so
every id up to max(id) is committed, and new inserts get larger ids. SQLite has one writer
at a time: its max(id) is safe as is.

Changing :func:`contributions` (or the buckets) changes what a visit contributed in the past:
run ``flask analytics rollup --rebuild`` after such a change.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Table, delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store_api import config, db
from store_api.analytics.models import (
    DWELL_BUCKETS,
    DWELL_COLUMNS,
    DailyFee,
    DailyProduct,
    DailyProductTotal,
    DailySearch,
    DailyVisits,
    PurchaseTime,
    RollupState,
    VisitFacts,
    VisitProduct,
    VisitSearch,
    VisitSwap,
)
from store_api.catalog.models import Product
from store_api.clickstream.models import ClickEvent, Visit

WATERMARK = "events"
CHUNK_SIZE = 5000
ZERO = Decimal("0.00")

# --- buckets --------------------------------------------------------------------------------

# Dwell buckets (see models.DWELL_COLUMNS): r = 2^(1/3), three buckets per doubling.
DWELL_RATIO = 2 ** (1 / 3)


def dwell_bucket(dwell_ms: int) -> int:
    if dwell_ms < 1000:
        return 0
    bucket = 1 + math.floor(math.log(dwell_ms / 1000, DWELL_RATIO) + 1e-9)
    return min(bucket, DWELL_BUCKETS - 1)


def dwell_bucket_bounds(bucket: int) -> tuple[float, float]:
    """The bucket's [low, high) in seconds (the last one is open: high is its low x r)."""
    if bucket == 0:
        return 0.0, 1.0
    return DWELL_RATIO ** (bucket - 1), DWELL_RATIO**bucket


def histogram_median(counts: Sequence[int]) -> float | None:
    """Approximate median (seconds) of a dwell histogram.

    Each visit of a bucket is placed at its rank within the bucket on a log scale (a lone
    visit at the bucket's geometric middle), so a median is at most half a bucket (about
    12 %) off, usually much closer.
    """
    total = sum(n for n in counts if n > 0)
    if total == 0:
        return None
    if total % 2:
        return _value_at_rank(counts, (total + 1) // 2)
    return (_value_at_rank(counts, total // 2) + _value_at_rank(counts, total // 2 + 1)) / 2


def _value_at_rank(counts: Sequence[int], rank: int) -> float:
    seen = 0
    for bucket, n in enumerate(counts):
        if n <= 0:
            continue
        if seen + n >= rank:
            fraction = (rank - seen - 0.5) / n
            low, high = dwell_bucket_bounds(bucket)
            if bucket == 0:
                return low + (high - low) * fraction
            return float(low * (high / low) ** fraction)
        seen += n
    raise ValueError(f"rank {rank} beyond the histogram's {seen} values")


@dataclass(frozen=True)
class Bucket:
    order: int
    label: str
    low: Decimal | None  # included; None: open
    high: Decimal | None  # excluded; None: open


FEE_BUCKETS = (
    Bucket(0, "free", None, Decimal("0.01")),
    Bucket(1, "0.01-4.99", Decimal("0.01"), Decimal("5")),
    Bucket(2, "5-9.99", Decimal("5"), Decimal("10")),
    Bucket(3, "10-14.99", Decimal("10"), Decimal("15")),
    Bucket(4, "15-19.99", Decimal("15"), Decimal("20")),
    Bucket(5, "20-29.99", Decimal("20"), Decimal("30")),
    Bucket(6, "30 and more", Decimal("30"), None),
)
# free_threshold - cart_value when the fee was shown.
DISTANCE_BUCKETS = (
    Bucket(0, "free delivery reached", None, Decimal("0.01")),
    Bucket(1, "0.01-9.99", Decimal("0.01"), Decimal("10")),
    Bucket(2, "10-24.99", Decimal("10"), Decimal("25")),
    Bucket(3, "25-49.99", Decimal("25"), Decimal("50")),
    Bucket(4, "50-99.99", Decimal("50"), Decimal("100")),
    Bucket(5, "100-199.99", Decimal("100"), Decimal("200")),
    Bucket(6, "200 and more", Decimal("200"), None),
    Bucket(7, "no free delivery threshold", None, None),
)
NO_THRESHOLD = DISTANCE_BUCKETS[-1].order


def _bucket_of(value: Decimal, buckets: Sequence[Bucket]) -> int:
    for bucket in buckets:
        if bucket.low is None and bucket.high is None:
            continue
        if (bucket.low is None or value >= bucket.low) and (
            bucket.high is None or value < bucket.high
        ):
            return bucket.order
    raise AssertionError(f"no bucket for {value}")  # the buckets cover every value


def fee_bucket(fee: Decimal) -> int:
    return _bucket_of(fee, FEE_BUCKETS)


def distance_bucket(cart_value: Decimal | None, free_threshold: Decimal | None) -> int:
    if free_threshold is None or cart_value is None:
        return NO_THRESHOLD
    return _bucket_of(free_threshold - cart_value, DISTANCE_BUCKETS)


# --- names ----------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def normalise_term(term: str) -> str:
    """Lower case, no accents, single spaces: "Réfrigérateur  " and "refrigerateur" are one."""
    decomposed = unicodedata.normalize("NFKD", term)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _SPACES.sub(" ", plain).strip().lower()[:200]


_COLOUR_CODE = re.compile(r"^[A-Za-z]{1,3}$")


def sku_family(sku: str) -> str:
    """The SKU without its colour code: LL-SAM-WW90T534-NR -> LL-SAM-WW90T534."""
    parts = sku.split("-")
    if len(parts) >= 3 and _COLOUR_CODE.match(parts[-1]):
        return "-".join(parts[:-1])
    return sku


def _name_without(name: str, variant: str | None) -> str:
    plain = normalise_term(name)
    if variant:
        plain = plain.replace(normalise_term(variant), " ")
    return _SPACES.sub(" ", plain).strip()


def is_colour_swap(
    viewed_sku: str,
    viewed_variant: str | None,
    bought_sku: str,
    bought_variant: str | None,
    names: dict[str, str],
) -> bool:
    """The same product in another colour: same SKU family or same name once the colour is
    taken out, and a different variant."""
    if viewed_sku == bought_sku or not viewed_variant or not bought_variant:
        return False
    if normalise_term(viewed_variant) == normalise_term(bought_variant):
        return False
    if sku_family(viewed_sku) == sku_family(bought_sku) != viewed_sku:
        return True
    viewed_name, bought_name = names.get(viewed_sku), names.get(bought_sku)
    if not viewed_name or not bought_name:
        return False
    return _name_without(viewed_name, viewed_variant) == _name_without(bought_name, bought_variant)


# --- the state of one visit -----------------------------------------------------------------


@dataclass
class ProductFacts:
    variant: str | None = None
    category: str | None = None
    views: int = 0
    dwell_ms: int = 0
    carted: bool = False
    bought: bool = False


@dataclass
class SearchFacts:
    searches: int = 0
    no_result_searches: int = 0


@dataclass
class VisitState:
    """Everything :func:`contributions` needs about one visit, merged event by event."""

    visit_id: int
    day: dt.date
    device: str
    source: str
    medium: str = ""
    campaign: str = ""
    product_view: bool = False
    cart: bool = False
    checkout: bool = False
    shipping: bool = False
    purchase: bool = False
    transactions: list[str] = field(default_factory=list)
    revenue: Decimal = ZERO
    first_view_at: dt.datetime | None = None
    first_purchase_at: dt.datetime | None = None
    page_times: list[int] = field(default_factory=list)
    fee_at: dt.datetime | None = None
    fee: Decimal | None = None
    cart_value: Decimal | None = None
    free_threshold: Decimal | None = None
    products: dict[str, ProductFacts] = field(default_factory=dict)
    searches: dict[str, SearchFacts] = field(default_factory=dict)

    def product(self, sku: str, variant: Any = None, category: Any = None) -> ProductFacts:
        facts = self.products.setdefault(sku, ProductFacts())
        if facts.variant is None and isinstance(variant, str) and variant:
            facts.variant = variant[:64]
        if facts.category is None and isinstance(category, str) and category:
            facts.category = category[:120]
        return facts


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number.quantize(Decimal("0.01")) if number.is_finite() else None


def _ms(when: dt.datetime) -> int:
    return int(when.timestamp() * 1000)


def _min(a: dt.datetime | None, b: dt.datetime) -> dt.datetime:
    return b if a is None or b < a else a


def apply_event(state: VisitState, event: Any) -> None:
    """Fold one clickstream event (a row of ``clickstream_events``) into its visit."""
    name = event.name
    params = event.params if isinstance(event.params, dict) else {}
    when = event.occurred_at
    if name == "page_view":
        state.page_times.append(_ms(when))
    elif name == "view_item":
        state.product_view = True
        state.first_view_at = _min(state.first_view_at, when)
        if event.item_id:
            state.product(event.item_id, event.item_variant, event.item_category).views += 1
    elif name == "add_to_cart":
        state.cart = True
        if event.item_id:
            state.product(event.item_id, event.item_variant, event.item_category).carted = True
    elif name == "view_cart":
        # A cart kept from an earlier visit counts; an empty one does not.
        if (event.value or ZERO) > 0:
            state.cart = True
    elif name == "begin_checkout":
        state.checkout = True
    elif name == "add_shipping_info":
        state.shipping = True
    elif name == "purchase":
        _apply_purchase(state, event, params)
    elif name == "search":
        if event.search_term:
            term = normalise_term(event.search_term)
            if term:
                facts = state.searches.setdefault(term, SearchFacts())
                facts.searches += 1
                if event.search_results == 0:
                    facts.no_result_searches += 1
    elif name == "engagement":
        if event.item_id and event.engaged_ms and event.engaged_ms > 0:
            state.product(event.item_id, event.item_variant, event.item_category).dwell_ms += int(
                event.engaged_ms
            )
    elif name == "delivery_fee_shown":
        fee = event.shipping if event.shipping is not None else _decimal(params.get("fee"))
        if fee is not None and (state.fee_at is None or when >= state.fee_at):
            state.fee_at = when
            state.fee = fee
            state.cart_value = (
                event.value if event.value is not None else _decimal(params.get("cart_value"))
            )
            state.free_threshold = _decimal(params.get("free_threshold"))


def _apply_purchase(state: VisitState, event: Any, params: dict[str, Any]) -> None:
    state.purchase = True
    state.first_purchase_at = _min(state.first_purchase_at, event.occurred_at)
    transaction = params.get("transaction_id")
    key = str(transaction)[:64] if transaction not in (None, "") else f"event:{event.event_id}"
    if key not in state.transactions:
        state.transactions.append(key)
        state.revenue += event.value or ZERO
    items = params.get("items")
    for item in items if isinstance(items, list) else ():
        if isinstance(item, dict) and isinstance(item.get("item_id"), str) and item["item_id"]:
            facts = state.product(
                item["item_id"][:64], item.get("item_variant"), item.get("item_category")
            )
            facts.bought = True


# --- what a visit contributes ---------------------------------------------------------------

PRODUCT_COUNTERS = ("views", "visits", "cart_visits", "purchase_visits", *DWELL_COLUMNS)
_NO_DWELL = (0,) * DWELL_BUCKETS

# Aggregate tables: key columns and counters, in the order the contribution tuples use.
AGGREGATES: dict[str, tuple[Table, tuple[str, ...], tuple[str, ...]]] = {
    "visits": (
        cast(Table, DailyVisits.__table__),
        ("day", "device", "source", "medium", "campaign"),
        (
            "visits",
            "product_view",
            "cart",
            "checkout",
            "shipping",
            "purchase_visits",
            "orders",
            "revenue",
        ),
    ),
    "products": (
        cast(Table, DailyProduct.__table__),
        ("day", "sku", "device", "source"),
        PRODUCT_COUNTERS,
    ),
    "product_totals": (
        cast(Table, DailyProductTotal.__table__),
        ("day", "sku"),
        PRODUCT_COUNTERS,
    ),
    "searches": (
        cast(Table, DailySearch.__table__),
        ("day", "term", "device", "source"),
        ("searches", "no_result_searches", "visits", "purchase_visits"),
    ),
    "fees": (
        cast(Table, DailyFee.__table__),
        ("day", "device", "source", "dimension", "bucket"),
        ("visits", "abandoned"),
    ),
}

Contribution = tuple[str, tuple[Any, ...], tuple[Any, ...]]


def contributions(state: VisitState) -> Iterator[Contribution]:
    """(aggregate, key, counters) rows this visit adds to the daily tables."""
    day, device, source = state.day, state.device, state.source
    yield (
        "visits",
        (day, device, source, state.medium, state.campaign),
        (
            1,
            int(state.product_view),
            int(state.cart),
            int(state.checkout),
            int(state.shipping),
            int(state.purchase),
            len(state.transactions),
            state.revenue,
        ),
    )
    for sku, facts in state.products.items():
        if not facts.views:
            continue  # bought or carted without a product page view: not in the view rates
        dwell = list(_NO_DWELL)
        if facts.dwell_ms > 0:
            dwell[dwell_bucket(facts.dwell_ms)] = 1
        counters = (facts.views, 1, int(facts.carted), int(facts.bought), *dwell)
        yield "products", (day, sku, device, source), counters
        yield "product_totals", (day, sku), counters
    for term, search in state.searches.items():
        yield (
            "searches",
            (day, term, device, source),
            (search.searches, search.no_result_searches, 1, int(state.purchase)),
        )
    if state.fee is not None:
        abandoned = int(not state.purchase)
        yield "fees", (day, device, source, "fee", fee_bucket(state.fee)), (1, abandoned)
        distance = distance_bucket(state.cart_value, state.free_threshold)
        yield "fees", (day, device, source, "distance_to_free", distance), (1, abandoned)


def _same_kind(viewed: ProductFacts, bought: ProductFacts) -> bool:
    """A washing machine is not bought instead of a hose: same category (when known)."""
    return viewed.category is None or bought.category is None or viewed.category == bought.category


def swap_rows(state: VisitState, names: dict[str, str]) -> list[dict[str, Any]]:
    """For each product bought: the product(s) of its category looked at longest, not bought."""
    bought = {sku: f for sku, f in state.products.items() if f.bought}
    rows: list[dict[str, Any]] = []
    for bought_sku, bought_facts in sorted(bought.items()):
        candidates = {
            sku: f
            for sku, f in state.products.items()
            if not f.bought and f.dwell_ms > 0 and _same_kind(f, bought_facts)
        }
        if not candidates:
            continue
        longest = max(f.dwell_ms for f in candidates.values())
        for viewed_sku, viewed in sorted(candidates.items()):
            if viewed.dwell_ms != longest:
                continue
            rows.append(
                {
                    "visit_id": state.visit_id,
                    "viewed_sku": viewed_sku,
                    "bought_sku": bought_sku,
                    "day": state.day,
                    "device": state.device,
                    "source": state.source,
                    "viewed_variant": viewed.variant,
                    "bought_variant": bought_facts.variant,
                    "dwell_ms": viewed.dwell_ms,
                    "colour_swap": is_colour_swap(
                        viewed_sku, viewed.variant, bought_sku, bought_facts.variant, names
                    ),
                }
            )
    return rows


def purchase_time_rows(state: VisitState) -> list[dict[str, Any]]:
    """Minutes and pages from the first product view to the first purchase, per category.

    Pages: the first product page plus every page_view after it up to the purchase.
    """
    start, end = state.first_view_at, state.first_purchase_at
    if start is None or end is None or end < start:
        return []
    start_ms, end_ms = _ms(start), _ms(end)
    pages = 1 + sum(1 for t in state.page_times if start_ms < t <= end_ms)
    categories = {f.category or "" for f in state.products.values() if f.bought}
    return [
        {
            "visit_id": state.visit_id,
            "category": category,
            "day": state.day,
            "device": state.device,
            "source": state.source,
            "seconds": int((end - start).total_seconds()),
            "pages": pages,
        }
        for category in sorted(categories)
    ]


# --- loading and storing visit states -------------------------------------------------------

_visits = cast(Table, VisitFacts.__table__)
_visit_products = cast(Table, VisitProduct.__table__)
_visit_searches = cast(Table, VisitSearch.__table__)
_per_visit = (
    _visits,
    _visit_products,
    _visit_searches,
    cast(Table, VisitSwap.__table__),
    cast(Table, PurchaseTime.__table__),
)
_STATE_FIELDS = (
    "day",
    "device",
    "source",
    "medium",
    "campaign",
    "product_view",
    "cart",
    "checkout",
    "shipping",
    "purchase",
    "transactions",
    "revenue",
    "first_view_at",
    "first_purchase_at",
    "page_times",
    "fee_at",
    "fee",
    "cart_value",
    "free_threshold",
)


def _load_states(session: Session, visit_ids: list[int]) -> dict[int, VisitState]:
    states: dict[int, VisitState] = {}
    for row in session.execute(select(_visits).where(_visits.c.visit_id.in_(visit_ids))):
        values = row._mapping
        state = VisitState(
            visit_id=values["visit_id"], **{name: values[name] for name in _STATE_FIELDS}
        )
        state.transactions = list(state.transactions or [])
        state.page_times = list(state.page_times or [])
        states[state.visit_id] = state
    for row in session.execute(
        select(_visit_products).where(_visit_products.c.visit_id.in_(visit_ids))
    ):
        states[row.visit_id].products[row.sku] = ProductFacts(
            row.variant, row.category, row.views, row.dwell_ms, row.carted, row.bought
        )
    for row in session.execute(
        select(_visit_searches).where(_visit_searches.c.visit_id.in_(visit_ids))
    ):
        states[row.visit_id].searches[row.term] = SearchFacts(row.searches, row.no_result_searches)
    return states


def _copy(state: VisitState) -> VisitState:
    return VisitState(
        **{
            **{name: getattr(state, name) for name in ("visit_id", *_STATE_FIELDS)},
            "transactions": list(state.transactions),
            "page_times": list(state.page_times),
            "products": {sku: ProductFacts(**vars(f)) for sku, f in state.products.items()},
            "searches": {t: SearchFacts(**vars(s)) for t, s in state.searches.items()},
        }
    )


def _store_states(session: Session, states: Iterable[VisitState], names: dict[str, str]) -> None:
    visit_rows, product_rows, search_rows, swap_list, time_rows = [], [], [], [], []
    for state in states:
        visit_rows.append(
            {"visit_id": state.visit_id, **{n: getattr(state, n) for n in _STATE_FIELDS}}
        )
        product_rows += [
            {"visit_id": state.visit_id, "sku": sku, **vars(facts)}
            for sku, facts in state.products.items()
        ]
        search_rows += [
            {"visit_id": state.visit_id, "term": term, **vars(facts)}
            for term, facts in state.searches.items()
        ]
        if state.purchase:
            swap_list += swap_rows(state, names)
            time_rows += purchase_time_rows(state)
    for table, rows in zip(
        _per_visit, (visit_rows, product_rows, search_rows, swap_list, time_rows), strict=True
    ):
        if rows:
            session.execute(table.insert(), rows)


def _apply_deltas(session: Session, deltas: dict[str, dict[tuple[Any, ...], list[Any]]]) -> None:
    conn = session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for aggregate, by_key in deltas.items():
        table, key_columns, counters = AGGREGATES[aggregate]
        rows = [
            {**dict(zip(key_columns, key, strict=True)), **dict(zip(counters, v, strict=True))}
            for key, v in sorted(by_key.items())  # one lock order for every writer
            if any(v)
        ]
        if not rows:
            continue
        stmt = insert(table)
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key_columns),
            set_={c: table.c[c] + stmt.excluded[c] for c in counters},
        )
        conn.execute(stmt, rows)


def _add(deltas: dict[str, dict[tuple[Any, ...], list[Any]]], state: VisitState, sign: int) -> None:
    for aggregate, key, counters in contributions(state):
        current = deltas[aggregate].get(key)
        if current is None:
            deltas[aggregate][key] = [sign * c for c in counters]
        else:
            for i, c in enumerate(counters):
                current[i] += sign * c


# --- folding --------------------------------------------------------------------------------

_EVENT_COLUMNS = (
    ClickEvent.id,
    ClickEvent.event_id,
    ClickEvent.visit_id,
    ClickEvent.name,
    ClickEvent.occurred_at,
    ClickEvent.item_id,
    ClickEvent.item_variant,
    ClickEvent.item_category,
    ClickEvent.value,
    ClickEvent.shipping,
    ClickEvent.search_term,
    ClickEvent.search_results,
    ClickEvent.engaged_ms,
    ClickEvent.params,
)


def _fresh_state(
    visit_id: int, visit: Any, first_event_at: dt.datetime, tz: ZoneInfo
) -> VisitState:
    if visit is None:  # cannot happen with the ingest; keep the events anyway
        return VisitState(visit_id, first_event_at.astimezone(tz).date(), "unknown", "unknown")
    return VisitState(
        visit_id,
        visit.started_at.astimezone(tz).date(),
        visit.device,
        visit.source,
        visit.medium or "",
        visit.campaign or "",
    )


def fold_events(session: Session, events: Sequence[Any], *, tz: ZoneInfo) -> None:
    """Fold events (rows with the columns of ``_EVENT_COLUMNS``, in id order) into the
    rollups, in the caller's transaction."""
    if not events:
        return
    visit_ids = sorted({e.visit_id for e in events})
    visits = {
        v.id: v
        for v in session.execute(
            select(
                Visit.id, Visit.started_at, Visit.device, Visit.source, Visit.medium, Visit.campaign
            ).where(Visit.id.in_(visit_ids))
        )
    }
    before = _load_states(session, visit_ids)
    after = {visit_id: _copy(state) for visit_id, state in before.items()}
    first_at: dict[int, dt.datetime] = {}
    for event in events:
        first_at.setdefault(event.visit_id, event.occurred_at)
    for visit_id in visit_ids:
        fresh = _fresh_state(visit_id, visits.get(visit_id), first_at[visit_id], tz)
        state = after.get(visit_id)
        if state is None:
            after[visit_id] = fresh
        elif visits.get(visit_id) is not None:
            # Attribution is the ingest's (clickstream_visits); it may have changed.
            state.day, state.device, state.source = fresh.day, fresh.device, fresh.source
            state.medium, state.campaign = fresh.medium, fresh.campaign
    for event in events:
        apply_event(after[event.visit_id], event)

    deltas: dict[str, dict[tuple[Any, ...], list[Any]]] = defaultdict(dict)
    for state in before.values():
        _add(deltas, state, -1)
    for state in after.values():
        _add(deltas, state, +1)

    for table in _per_visit:
        session.execute(delete(table).where(table.c.visit_id.in_(visit_ids)))
    _store_states(session, after.values(), _product_names(session, after.values()))
    _apply_deltas(session, deltas)


def _product_names(session: Session, states: Iterable[VisitState]) -> dict[str, str]:
    skus = {sku for s in states if s.purchase for sku in s.products}
    if not skus:
        return {}
    rows = session.execute(select(Product.sku, Product.name).where(Product.sku.in_(skus)))
    return {sku: name for sku, name in rows}


def _watermark(session: Session) -> int:
    value = session.scalar(select(RollupState.value).where(RollupState.name == WATERMARK))
    return int(value or 0)


def _claim_watermark(session: Session, now: dt.datetime) -> int:
    """The watermark row, locked for this transaction (one folder at a time)."""
    conn = session.connection()
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    state = cast(Table, RollupState.__table__)
    conn.execute(
        insert(state)
        .values(name=WATERMARK, value=0, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
    )
    value = session.scalar(
        select(RollupState.value).where(RollupState.name == WATERMARK).with_for_update()
    )
    return int(value or 0)


def _max_event_id(session: Session) -> int:
    return int(session.scalar(select(func.max(ClickEvent.id))) or 0)


def _committed_bound(session: Session) -> int:
    """The largest event id below which every event is committed (see the module doc)."""
    if session.get_bind().dialect.name != "postgresql":
        return _max_event_id(session)
    session.execute(text("LOCK TABLE clickstream_events IN SHARE MODE"))
    return _max_event_id(session)


@dataclass(frozen=True)
class RollupStatus:
    watermark: int
    updated_at: dt.datetime | None
    pending: int


def state(session: Session) -> RollupStatus:
    """The watermark, when it last moved, and about how many events wait behind it."""
    row = session.execute(
        select(RollupState.value, RollupState.updated_at).where(RollupState.name == WATERMARK)
    ).first()
    watermark = int(row.value) if row else 0
    return RollupStatus(
        watermark, row.updated_at if row else None, max(0, _max_event_id(session) - watermark)
    )


def pending(session: Session) -> int:
    """About how many events are not folded yet (ids may have gaps)."""
    return max(0, _max_event_id(session) - _watermark(session))


def default_timezone() -> ZoneInfo:
    return ZoneInfo(str(config.load()["TIMEZONE"]))


def refresh(
    session: Session,
    *,
    now: dt.datetime,
    limit: int | None = None,
    tz: ZoneInfo | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> int:
    """Fold the events not folded yet (at most ``limit``); returns how many were folded.

    Idempotent: folded events are behind the watermark. Outside a transaction it frames its
    own: a short one for the upper bound, then one per chunk (a crash loses at most the chunk
    in progress, which the next run folds again). Inside the caller's transaction it folds
    everything there. ``tz`` defaults to the ``TIMEZONE`` setting.
    """
    zone = tz or default_timezone()
    if session.in_transaction():
        return _fold_until(session, _committed_bound(session), now, limit, zone, chunk_size)
    with db.read(session):
        nothing_new = _max_event_id(session) <= _watermark(session)
    if nothing_new:
        return 0  # no write at all: a report page load stays read-only
    with db.read(session):
        bound = _committed_bound(session)
    folded = 0
    while limit is None or folded < limit:
        with db.write(session):
            n = _fold_until(session, bound, now, limit and limit - folded, zone, chunk_size, 1)
        if n == 0:
            break
        folded += n
    return folded


def refresh_if_few(session: Session, *, now: dt.datetime, limit: int, tz: ZoneInfo) -> int:
    """Fold the pending events if there are at most ``limit`` (a report page load): a
    just-collected event shows at once, a backlog is left to the scheduled rollup."""
    with db.read(session):
        waiting = pending(session)
    if waiting == 0 or waiting > limit:
        return 0
    return refresh(session, now=now, limit=limit, tz=tz)


def _fold_until(
    session: Session,
    bound: int,
    now: dt.datetime,
    limit: int | None,
    tz: ZoneInfo,
    chunk_size: int,
    max_chunks: int | None = None,
) -> int:
    folded = 0
    chunks = 0
    watermark = _claim_watermark(session, now)
    while watermark < bound and (limit is None or folded < limit):
        if max_chunks is not None and chunks >= max_chunks:
            break
        size = chunk_size if limit is None else min(chunk_size, limit - folded)
        events = session.execute(
            select(*_EVENT_COLUMNS)
            .where(ClickEvent.id > watermark, ClickEvent.id <= bound)
            .order_by(ClickEvent.id)
            .limit(size)
        ).all()
        fold_events(session, events, tz=tz)
        watermark = events[-1].id if events else bound
        session.execute(
            update(RollupState)
            .where(RollupState.name == WATERMARK)
            .values(value=watermark, updated_at=now)
        )
        folded += len(events)
        chunks += 1
    return folded


def rebuild(session: Session) -> None:
    """Empty every rollup table and the watermark (the next refresh folds all raw events)."""
    for table in (*_per_visit, *(t for t, _k, _c in AGGREGATES.values())):
        session.execute(delete(table))
    session.execute(delete(RollupState))


def purge(session: Session, *, before: dt.date) -> int:
    """Delete the rollup rows of days before ``before`` (aggregates are kept 25 months)."""
    old_visits = select(VisitFacts.visit_id).where(VisitFacts.day < before)

    def deleted_by(stmt: Any) -> int:
        result: Any = session.execute(stmt)
        return int(result.rowcount or 0)

    deleted = 0
    for table in (_visit_products, _visit_searches):
        deleted += deleted_by(delete(table).where(table.c.visit_id.in_(old_visits)))
    for table in (
        _visits,
        cast(Table, VisitSwap.__table__),
        cast(Table, PurchaseTime.__table__),
        *(t for t, _k, _c in AGGREGATES.values()),
    ):
        deleted += deleted_by(delete(table).where(table.c.day < before))
    return deleted
