"""The owner's browsing reports, read from the rollup tables (never from the raw events).

Each report is a :class:`ReportSpec` in :data:`REPORTS` (slug -> spec): a title, what it
answers, its columns and the function that reads its rows. :func:`run_report` validates a
:class:`ReportQuery` (local days, both included; ``device`` / ``source`` filters) and returns
a :class:`Report`; the API answers it as JSON or CSV (:func:`report_csv`) and the dashboard
renders it.

Values in rows: counts are ints, rates floats in [0, 1] (None when there is nothing to divide
by), money ``Decimal`` with 2 places (strings in JSON, see :func:`json_row`), durations numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from recommender.stats import wilson_lower_bound
from store_api import db, periods
from store_api.analytics import rollup
from store_api.analytics.models import (
    DailyFee,
    DailyProduct,
    DailyProductTotal,
    DailySearch,
    DailyVisits,
    PurchaseTime,
    VisitSwap,
)
from store_api.catalog.models import Product
from store_api.errors import ErrorCode, Invalid, NotFound
from store_api.i18n import N_
from store_api.recommendations import feedback
from store_api.search.models import SearchDay
from store_api.spreadsheet import csv_text

MAX_DAYS = 400
DEFAULT_DAYS = periods.DEFAULT_DAYS
# A report page folds the events collected since the last scheduled rollup when they are
# this few; more than that is the scheduled job's work (`flask analytics rollup --every`).
REFRESH_LIMIT = 2000
MAX_SEARCH_TERMS = 1000
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # text | integer | rate | money | seconds | minutes | number | boolean | date
    kind: str


@dataclass(frozen=True)
class ReportQuery:
    """Local (shop time zone) days, both included; filters: ``device``, ``source``, ``group``."""

    date_from: dt.date
    date_to: dt.date
    filters: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    description: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    date_from: dt.date
    date_to: dt.date
    filters: dict[str, str] = field(default_factory=dict)


ReportFunction = Callable[[Session, ReportQuery, ZoneInfo], list[dict[str, Any]]]


@dataclass(frozen=True)
class ReportSpec:
    slug: str
    title: str
    description: str
    columns: tuple[Column, ...]
    function: ReportFunction
    filters: tuple[str, ...] = ("device", "source")

    def columns_for(self, query: ReportQuery) -> list[Column]:
        if self.slug == "recommendations" and query.filters.get("group") == "day":
            return list(RECOMMENDATION_DAY_COLUMNS)
        return list(self.columns)


# --- helpers --------------------------------------------------------------------------------


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(value: Any) -> Decimal:
    return Decimal(value or 0).quantize(CENT)


def _where(table: Any, query: ReportQuery) -> list[ColumnElement[bool]]:
    conditions = [table.day >= query.date_from, table.day <= query.date_to]
    for name in ("device", "source"):
        if name in query.filters and hasattr(table, name):
            conditions.append(getattr(table, name) == query.filters[name])
    return conditions


def _products(session: Session, skus: set[str]) -> dict[str, Any]:
    if not skus:
        return {}
    rows = session.execute(
        select(Product.sku, Product.name, Product.category, Product.colour).where(
            Product.sku.in_(skus)
        )
    )
    return {row.sku: row for row in rows}


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


# --- 1. looked at a lot, rarely bought ------------------------------------------------------


def looked_not_bought(session: Session, query: ReportQuery, _tz: ZoneInfo) -> list[dict[str, Any]]:
    filtered = "device" in query.filters or "source" in query.filters
    p: Any = DailyProduct if filtered else DailyProductTotal
    counts = session.execute(
        select(p.sku, *(func.sum(getattr(p, c)) for c in rollup.PRODUCT_COUNTERS))
        .where(*_where(p, query))
        .group_by(p.sku)
        .having(func.sum(p.visits) > 0)
    ).all()
    products = _products(session, {row[0] for row in counts})
    rows: list[dict[str, Any]] = []
    for sku, views, visits, cart_visits, purchase_visits, *dwell in counts:
        product = products.get(sku)
        median = rollup.histogram_median([int(n) for n in dwell])
        rows.append(
            {
                "sku": sku,
                "name": product.name if product else None,
                "category": product.category if product else None,
                "views": int(views),
                "visits": int(visits),
                "median_dwell_s": round(median, 1) if median is not None else None,
                "cart_rate": _rate(int(cart_visits), int(visits)),
                "purchase_rate": _rate(int(purchase_visits), int(visits)),
            }
        )
    rows.sort(key=lambda r: (-int(r["views"]), float(r["purchase_rate"] or 0), str(r["sku"])))
    return rows


# --- 2. looked long at X, bought Y instead --------------------------------------------------

# A pair is shown when at least this many visits made it and the Wilson lower bound of its
# share beats chance: 2 visits "TV wall mount -> water filter" say nothing.
MIN_SWAP_VISITS = 3  # the report's description says "three": change both
SWAP_CONFIDENCE_Z = 1.96
EVIDENCE = ("significant", "all")


def viewed_instead(session: Session, query: ReportQuery, _tz: ZoneInfo) -> list[dict[str, Any]]:
    """Pairs (looked longest at X, bought Y instead), with the share of X's swaps that went
    to Y and its 95 % Wilson lower bound. By default only significant pairs: at least
    MIN_SWAP_VISITS visits and a lower bound above Y's share of all the swaps of X's category
    (``evidence=all`` lists every pair)."""
    s = VisitSwap
    pairs: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in session.execute(
        select(
            s.viewed_sku,
            s.bought_sku,
            s.viewed_variant,
            s.bought_variant,
            s.dwell_ms,
            s.colour_swap,
        ).where(*_where(s, query))
    ):
        pairs[(row.viewed_sku, row.bought_sku)].append(row)
    products = _products(session, {sku for pair in pairs for sku in pair})
    swaps_of: dict[str, int] = defaultdict(int)  # visits that looked longest at X, bought another
    to_in_category: dict[tuple[str, str], int] = defaultdict(int)  # (category, Y) -> visits
    in_category: dict[str, int] = defaultdict(int)
    for (viewed_sku, bought_sku), visits in pairs.items():
        category = products[viewed_sku].category if viewed_sku in products else ""
        swaps_of[viewed_sku] += len(visits)
        to_in_category[(category, bought_sku)] += len(visits)
        in_category[category] += len(visits)
    everything = query.filters.get("evidence") == "all"
    rows: list[dict[str, Any]] = []
    for (viewed_sku, bought_sku), visits in pairs.items():
        viewed, bought = products.get(viewed_sku), products.get(bought_sku)
        category = viewed.category if viewed else ""
        share_low = wilson_lower_bound(len(visits), swaps_of[viewed_sku], SWAP_CONFIDENCE_Z)
        chance = to_in_category[(category, bought_sku)] / in_category[category]
        significant = len(visits) >= MIN_SWAP_VISITS and share_low > chance
        if not (significant or everything):
            continue
        viewed_variant = next((v.viewed_variant for v in visits if v.viewed_variant), None)
        bought_variant = next((v.bought_variant for v in visits if v.bought_variant), None)
        rows.append(
            {
                "viewed_sku": viewed_sku,
                "viewed_name": viewed.name if viewed else None,
                "viewed_variant": viewed_variant or (viewed.colour if viewed else None) or None,
                "bought_sku": bought_sku,
                "bought_name": bought.name if bought else None,
                "bought_variant": bought_variant or (bought.colour if bought else None) or None,
                "visits": len(visits),
                "share": _rate(len(visits), swaps_of[viewed_sku]),
                "share_low": round(share_low, 4),
                "significant": significant,
                "median_dwell_s": round((_median([v.dwell_ms for v in visits]) or 0) / 1000, 1),
                "colour_swap": any(v.colour_swap for v in visits),
            }
        )
    rows.sort(
        key=lambda r: (
            -int(r["visits"]),
            -float(r["median_dwell_s"]),
            str(r["viewed_sku"]),
            str(r["bought_sku"]),
        )
    )
    return rows


# --- 3. funnel ------------------------------------------------------------------------------

FUNNEL_STEPS = ("visits", "product_view", "cart", "checkout", "shipping", "purchase")


def funnel(session: Session, query: ReportQuery, _tz: ZoneInfo) -> list[dict[str, Any]]:
    v = DailyVisits
    found = session.execute(
        select(
            v.device,
            v.source,
            func.sum(v.visits),
            func.sum(v.product_view),
            func.sum(v.cart),
            func.sum(v.checkout),
            func.sum(v.shipping),
            func.sum(v.purchase_visits),
        )
        .where(*_where(v, query))
        .group_by(v.device, v.source)
        .having(func.sum(v.visits) > 0)
    ).all()
    total = [0] * len(FUNNEL_STEPS)
    by_device: dict[str, list[int]] = defaultdict(lambda: [0] * len(FUNNEL_STEPS))
    by_source: dict[str, list[int]] = defaultdict(lambda: [0] * len(FUNNEL_STEPS))
    for device, source, *counts in found:
        for i, n in enumerate(counts):
            total[i] += int(n)
            by_device[device][i] += int(n)
            by_source[source][i] += int(n)

    def row(device: str, source: str, counts: list[int]) -> dict[str, Any]:
        return {"device": device, "source": source, **dict(zip(FUNNEL_STEPS, counts, strict=True))}

    def biggest_first(groups: dict[str, list[int]]) -> list[tuple[str, list[int]]]:
        return sorted(groups.items(), key=lambda item: (-item[1][0], item[0]))

    rows = [row("all", "all", total)]
    rows += [row(device, "all", counts) for device, counts in biggest_first(by_device)]
    rows += [row("all", source, counts) for source, counts in biggest_first(by_source)]
    return rows


# --- 4. delivery fee vs abandonment ---------------------------------------------------------


def delivery_fee(session: Session, query: ReportQuery, _tz: ZoneInfo) -> list[dict[str, Any]]:
    f = DailyFee
    found = {
        (dimension, bucket): (int(visits), int(abandoned))
        for dimension, bucket, visits, abandoned in session.execute(
            select(f.dimension, f.bucket, func.sum(f.visits), func.sum(f.abandoned))
            .where(*_where(f, query))
            .group_by(f.dimension, f.bucket)
        )
    }
    rows: list[dict[str, Any]] = []
    for dimension, buckets in (
        ("fee", rollup.FEE_BUCKETS),
        ("distance_to_free", rollup.DISTANCE_BUCKETS),
    ):
        for bucket in buckets:
            visits, abandoned = found.get((dimension, bucket.order), (0, 0))
            rows.append(
                {
                    "dimension": dimension,
                    "bucket": bucket.label,
                    "bucket_order": bucket.order,
                    "visits": visits,
                    "abandoned": abandoned,
                    "abandonment_rate": _rate(abandoned, visits),
                }
            )
    return rows


# --- 5. time to purchase by category --------------------------------------------------------


def time_to_purchase(session: Session, query: ReportQuery, _tz: ZoneInfo) -> list[dict[str, Any]]:
    t = PurchaseTime
    by_category: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for category, seconds, pages in session.execute(
        select(t.category, t.seconds, t.pages).where(*_where(t, query))
    ):
        by_category[category].append((seconds, pages))
    rows: list[dict[str, Any]] = [
        {
            "category": category or None,
            "purchases": len(found),
            "median_minutes": round((_median([s for s, _p in found]) or 0) / 60, 1),
            "median_pages": _median([p for _s, p in found]),
        }
        for category, found in by_category.items()
    ]
    rows.sort(key=lambda r: (-int(r["purchases"]), str(r["category"] or "")))
    return rows


# --- 6. sources and campaigns ---------------------------------------------------------------


def sources(session: Session, query: ReportQuery, _tz: ZoneInfo) -> list[dict[str, Any]]:
    v = DailyVisits
    found = session.execute(
        select(
            v.source,
            v.medium,
            v.campaign,
            func.sum(v.visits),
            func.sum(v.purchase_visits),
            func.sum(v.orders),
            func.sum(v.revenue),
        )
        .where(*_where(v, query))
        .group_by(v.source, v.medium, v.campaign)
        .having(func.sum(v.visits) > 0)
    ).all()
    rows: list[dict[str, Any]] = []
    for source, medium, campaign, visits, purchase_visits, orders, revenue in found:
        revenue = _money(revenue)
        rows.append(
            {
                "source": source,
                "medium": medium or None,
                "campaign": campaign or None,
                "visits": int(visits),
                "purchases": int(orders),
                "conversion_rate": _rate(int(purchase_visits), int(visits)),
                "revenue": revenue,
                "average_basket": (revenue / int(orders)).quantize(CENT) if orders else None,
            }
        )
    rows.sort(key=lambda r: (-int(r["visits"]), -Decimal(r["revenue"]), str(r["source"])))
    return rows


# --- 7. site search -------------------------------------------------------------------------


def site_search(session: Session, query: ReportQuery, _tz: ZoneInfo) -> list[dict[str, Any]]:
    """Webshop visitors' searches (from the tracker) next to the API's (tablets, webshop
    search box; store_api.search), by normalised term. API searches carry no device or
    traffic source, so a device or source filter shows the visitors' searches alone."""
    s = DailySearch
    searches = func.sum(s.searches)
    found = session.execute(
        select(
            s.term,
            searches,
            func.sum(s.no_result_searches),
            func.sum(s.visits),
            func.sum(s.purchase_visits),
        )
        .where(*_where(s, query))
        .group_by(s.term)
        .having(searches > 0)
        .order_by(searches.desc(), s.term)
        .limit(MAX_SEARCH_TERMS)
    ).all()
    rows: dict[str, dict[str, Any]] = {}
    for term, n, empty, visits, bought in found:
        rows[term] = {
            "term": term,
            "searches": int(n),
            "no_result_searches": int(empty),
            "purchase_visits": int(bought),
            "purchase_rate": _rate(int(bought), int(visits)),
            **_NO_API_SEARCHES,
        }
    if not {"device", "source"} & set(query.filters):
        _add_api_searches(session, query, rows)
    ordered = sorted(
        rows.values(), key=lambda r: (-(r["searches"] + r["api_searches"]), str(r["term"]))
    )
    return ordered[:MAX_SEARCH_TERMS]


_NO_API_SEARCHES = {
    "api_searches": 0,
    "api_no_result_searches": 0,
    "corrected_searches": 0,
    "correction": None,
}


def _add_api_searches(
    session: Session, query: ReportQuery, rows: dict[str, dict[str, Any]]
) -> None:
    d = SearchDay
    n = func.sum(d.searches)
    found = session.execute(
        select(d.term, n, func.sum(d.no_result_searches), func.sum(d.corrected_searches))
        .where(d.day >= query.date_from, d.day <= query.date_to)
        .group_by(d.term)
        .order_by(n.desc(), d.term)
        .limit(MAX_SEARCH_TERMS)
    ).all()
    corrections = dict(
        session.execute(
            select(d.term, d.correction)
            .where(d.day >= query.date_from, d.day <= query.date_to, d.correction.is_not(None))
            .order_by(d.day, d.role)
        ).all()
    )  # the latest day's correction of each term wins
    for term, searches, empty, corrected in found:
        row = rows.setdefault(
            term,
            {
                "term": term,
                "searches": 0,
                "no_result_searches": 0,
                "purchase_visits": 0,
                "purchase_rate": None,
            },
        )
        row["api_searches"] = int(searches)
        row["api_no_result_searches"] = int(empty)
        row["corrected_searches"] = int(corrected)
        row["correction"] = corrections.get(term)


# --- 8. in-store recommendations ------------------------------------------------------------


def recommendations(session: Session, query: ReportQuery, tz: ZoneInfo) -> list[dict[str, Any]]:
    group = query.filters.get("group", "product")
    found = feedback.report(
        session,
        date_from=query.date_from,
        date_to=query.date_to,
        group=group,
        channel=None,
        tz=tz,
    )
    keys = ("day",) if group == "day" else ("sku", "name")
    return [
        {
            **{key: getattr(row, key) for key in keys},
            "shown": row.shown,
            "accepted": row.accepted,
            "sold": row.sold,
            "revenue": _money(row.revenue),
        }
        for row in found.rows
    ]


# --- the registry ---------------------------------------------------------------------------

_SKU = Column("sku", N_("SKU"), "text")
_NAME = Column("name", N_("Product"), "text")
_VISITS = Column("visits", N_("Visits"), "integer")
RECOMMENDATION_COUNTS = (
    Column("shown", N_("Shown"), "integer"),
    Column("accepted", N_("Accepted"), "integer"),
    Column("sold", N_("Sold"), "integer"),
    Column("revenue", N_("Revenue"), "money"),
)
RECOMMENDATION_DAY_COLUMNS = (Column("day", N_("Day"), "date"), *RECOMMENDATION_COUNTS)

REPORTS: dict[str, ReportSpec] = {
    spec.slug: spec
    for spec in (
        ReportSpec(
            "looked-not-bought",
            N_("Looked at a lot, rarely bought"),
            N_(
                "Per product: views, visits that viewed it, median time on its page per visit, and "
                "how many of those visits put it in the cart or bought it."
            ),
            (
                _SKU,
                _NAME,
                Column("category", N_("Category"), "text"),
                Column("views", N_("Views"), "integer"),
                _VISITS,
                Column("median_dwell_s", N_("Median dwell (s)"), "seconds"),
                Column("cart_rate", N_("View → cart"), "rate"),
                Column("purchase_rate", N_("View → purchase"), "rate"),
            ),
            looked_not_bought,
        ),
        ReportSpec(
            "viewed-instead",
            N_("Looked long at X, bought Y instead"),
            N_(
                "Visits that bought a product after looking longest at another one of the same "
                "category; a colour swap is the same product in another colour. Only pairs seen in "
                "at least three visits whose share beats chance (95 % Wilson lower bound); "
                "evidence=all lists every pair."
            ),
            (
                Column("viewed_sku", N_("Looked at"), "text"),
                Column("viewed_name", N_("Looked-at product"), "text"),
                Column("viewed_variant", N_("Looked-at colour"), "text"),
                Column("bought_sku", N_("Bought"), "text"),
                Column("bought_name", N_("Bought product"), "text"),
                Column("bought_variant", N_("Bought colour"), "text"),
                _VISITS,
                Column("share", N_("Share of X's swaps"), "rate"),
                Column("share_low", N_("At least (95 %)"), "rate"),
                Column("significant", N_("Beats chance"), "boolean"),
                Column("median_dwell_s", N_("Median dwell on X (s)"), "seconds"),
                Column("colour_swap", N_("Colour swap"), "boolean"),
            ),
            viewed_instead,
            ("device", "source", "evidence"),
        ),
        ReportSpec(
            "funnel",
            N_("Funnel"),
            N_(
                "Visits reaching each step: product view, cart, checkout, shipping, purchase; for "
                "all visits, then by device, then by source."
            ),
            (
                Column("device", N_("Device"), "text"),
                Column("source", N_("Source"), "text"),
                _VISITS,
                Column("product_view", N_("Product view"), "integer"),
                Column("cart", N_("Cart"), "integer"),
                Column("checkout", N_("Checkout"), "integer"),
                Column("shipping", N_("Shipping"), "integer"),
                Column("purchase", N_("Purchase"), "integer"),
            ),
            funnel,
        ),
        ReportSpec(
            "delivery-fee",
            N_("Delivery fee vs abandonment"),
            N_(
                "Visits shown a delivery fee, by the last fee shown and by how far the cart was "
                "from free delivery; abandoned: no purchase in that visit."
            ),
            (
                Column("dimension", N_("By"), "text"),
                Column("bucket", N_("Bucket"), "text"),
                Column("bucket_order", N_("Rank"), "integer"),
                _VISITS,
                Column("abandoned", N_("Abandoned"), "integer"),
                Column("abandonment_rate", N_("Abandonment"), "rate"),
            ),
            delivery_fee,
        ),
        ReportSpec(
            "time-to-purchase",
            N_("Time to purchase by category"),
            N_(
                "From the first product view of a visit to its purchase: median minutes and pages, "
                "per category bought."
            ),
            (
                Column("category", N_("Category"), "text"),
                Column("purchases", N_("Purchases"), "integer"),
                Column("median_minutes", N_("Median minutes"), "minutes"),
                Column("median_pages", N_("Median pages"), "number"),
            ),
            time_to_purchase,
        ),
        ReportSpec(
            "sources",
            N_("Sources and campaigns"),
            N_(
                "Visits, orders, conversion (visits with a purchase), revenue and average basket "
                "per source, medium and campaign."
            ),
            (
                Column("source", N_("Source"), "text"),
                Column("medium", N_("Medium"), "text"),
                Column("campaign", N_("Campaign"), "text"),
                _VISITS,
                Column("purchases", N_("Orders"), "integer"),
                Column("conversion_rate", N_("Conversion"), "rate"),
                Column("revenue", N_("Revenue"), "money"),
                Column("average_basket", N_("Average basket"), "money"),
            ),
            sources,
        ),
        ReportSpec(
            "site-search",
            N_("Site search"),
            N_(
                "Search terms (normalised): how often webshop visitors searched them, how often "
                "with no result, and how many of those visits bought something; then the API's "
                "searches (tablets, webshop search box): how many, with no result, read through a "
                '"did you mean" correction, and that correction; top 1000 terms.'
            ),
            (
                Column("term", N_("Term"), "text"),
                Column("searches", N_("Searches"), "integer"),
                Column("no_result_searches", N_("No result"), "integer"),
                Column("purchase_visits", N_("Visits that bought"), "integer"),
                Column("purchase_rate", N_("Purchase rate"), "rate"),
                Column("api_searches", N_("API searches"), "integer"),
                Column("api_no_result_searches", N_("API: no result"), "integer"),
                Column("corrected_searches", N_("Did you mean"), "integer"),
                Column("correction", N_("Read as"), "text"),
            ),
            site_search,
        ),
        ReportSpec(
            "recommendations",
            N_("In-store recommendations"),
            N_(
                "Suggestions shown on the tablets, accepted by the customer, sold, and the revenue "
                "they brought; by product (or by day with group=day)."
            ),
            (_SKU, _NAME, *RECOMMENDATION_COUNTS),
            recommendations,
            filters=("group",),
        ),
    )
}

FILTER_VALUES = {"group": ("product", "day"), "evidence": EVIDENCE}


def _filter_errors(spec: ReportSpec, filters: dict[str, str]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name, value in filters.items():
        if name not in spec.filters:
            errors[name] = [f"Not a filter of the {spec.slug} report."]
        elif name in FILTER_VALUES and value not in FILTER_VALUES[name]:
            errors[name] = [f"Must be one of: {', '.join(FILTER_VALUES[name])}."]
    return errors


def run_report(
    session: Session,
    slug: str,
    query: ReportQuery,
    *,
    now: dt.datetime | None = None,
    tz: ZoneInfo | None = None,
    refresh_limit: int = REFRESH_LIMIT,
) -> Report:
    """Read one report. Called outside a transaction, it first folds the events collected
    since the last rollup when there are at most ``refresh_limit`` of them (0: never)."""
    spec = REPORTS.get(slug)
    if spec is None:
        raise NotFound(
            ErrorCode.NOT_FOUND,
            f"No report {slug!r}.",
            {"slug": [f"One of: {', '.join(REPORTS)}."]},
        )
    errors = {
        **periods.period_errors(query.date_from, query.date_to, max_days=MAX_DAYS),
        **_filter_errors(spec, query.filters),
    }
    if errors:
        raise Invalid(ErrorCode.VALIDATION_ERROR, "Invalid report query.", errors)
    zone = tz or rollup.default_timezone()
    if not session.in_transaction():
        if refresh_limit > 0 and spec.slug != "recommendations":
            rollup.refresh_if_few(session, now=now or db.utcnow(), limit=refresh_limit, tz=zone)
        with db.read(session):
            rows = spec.function(session, query, zone)
    else:
        rows = spec.function(session, query, zone)
    return Report(
        slug=spec.slug,
        title=spec.title,
        description=spec.description,
        columns=spec.columns_for(query),
        rows=rows,
        date_from=query.date_from,
        date_to=query.date_to,
        filters=dict(query.filters),
    )


# --- output ---------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """Money as a string with 2 decimals, days as YYYY-MM-DD, the rest as is."""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    return {key: json_value(value) for key, value in row.items()}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    # A search term like "=HYPERLINK(...)" must stay text in the owner's spreadsheet.
    return csv_text(text) if isinstance(value, str) else text


def report_csv(report: Report) -> str:
    """The report's rows as CSV, one header row of column keys."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    keys = [column.key for column in report.columns]
    writer.writerow(keys)
    for row in report.rows:
        writer.writerow([_cell(row.get(key)) for key in keys])
    return out.getvalue()
