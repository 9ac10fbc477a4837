"""Rollup tables of the browsing analytics, maintained by :mod:`store_api.analytics.rollup`.

Two layers, both derived from ``clickstream_events`` / ``clickstream_visits``:

* per-visit facts (``analytics_visits``, ``analytics_visit_products``, ``analytics_visit_searches``)
  hold what a visit did so far. A later event of the same visit (the purchase 20 minutes after
  the cart) updates them, and the daily rows the visit contributed to are corrected by taking
  its old contribution out and putting its new one in;
* daily aggregates (``analytics_daily_*``) and the few per-purchase rows
  (``analytics_visit_swaps``, ``analytics_purchase_times``) are what the reports read. Days are
  the shop's local days (``TIMEZONE``) of the visit's start.

Nothing here identifies a person either: a visit id, a device class, a traffic source.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow

_VISIT_ID = BigInteger()
# Reports scan daily rows by day: on SQLite the primary key (day first) is the table itself,
# so a scan reads the counters without a second lookup per row.
_CLUSTERED = {"sqlite_with_rowid": False}


class RollupState(Base):
    """Named counters of the rollup; ``events`` is the last folded clickstream event id."""

    __tablename__ = "analytics_rollup_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --- per-visit facts ----------------------------------------------------------------------


class VisitFacts(Base):
    """What one visit did so far: funnel steps, purchase, last delivery fee shown."""

    __tablename__ = "analytics_visits"
    __table_args__ = (Index("ix_analytics_visits_day", "day"),)

    visit_id: Mapped[int] = mapped_column(_VISIT_ID, primary_key=True, autoincrement=False)
    # Local date of the visit's start: every daily row of the visit is on this day.
    day: Mapped[dt.date]
    device: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(120))
    # "" when the visit has none (they are part of daily keys).
    medium: Mapped[str] = mapped_column(String(120))
    campaign: Mapped[str] = mapped_column(String(120))
    product_view: Mapped[bool]
    cart: Mapped[bool]
    checkout: Mapped[bool]
    shipping: Mapped[bool]
    purchase: Mapped[bool]
    # Transaction ids already counted: a reloaded confirmation page is not a second sale.
    transactions: Mapped[list[str]] = mapped_column(JSON)
    revenue: Mapped[Decimal]
    first_view_at: Mapped[dt.datetime | None]
    first_purchase_at: Mapped[dt.datetime | None]
    # page_view times (ms since the epoch), for "pages from first product view to purchase".
    page_times: Mapped[list[int]] = mapped_column(JSON)
    # The last delivery_fee_shown of the visit.
    fee_at: Mapped[dt.datetime | None]
    fee: Mapped[Decimal | None]
    cart_value: Mapped[Decimal | None]
    free_threshold: Mapped[Decimal | None]


class VisitProduct(Base):
    """One product within one visit: views, dwell, cart, bought."""

    __tablename__ = "analytics_visit_products"

    visit_id: Mapped[int] = mapped_column(_VISIT_ID, primary_key=True, autoincrement=False)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    variant: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(120))
    views: Mapped[int]
    # Sum of engaged_ms of the product's engagement events.
    dwell_ms: Mapped[int] = mapped_column(BigInteger)
    carted: Mapped[bool]
    bought: Mapped[bool]


class VisitSearch(Base):
    """One normalised search term within one visit."""

    __tablename__ = "analytics_visit_searches"

    visit_id: Mapped[int] = mapped_column(_VISIT_ID, primary_key=True, autoincrement=False)
    term: Mapped[str] = mapped_column(String(200), primary_key=True)
    searches: Mapped[int]
    no_result_searches: Mapped[int]


# --- what the reports read ----------------------------------------------------------------


class DailyVisits(Base):
    """Visits per day, device and traffic source: funnel steps, purchases, revenue."""

    __tablename__ = "analytics_daily_visits"
    __table_args__ = _CLUSTERED

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(120), primary_key=True)
    medium: Mapped[str] = mapped_column(String(120), primary_key=True)
    campaign: Mapped[str] = mapped_column(String(120), primary_key=True)
    visits: Mapped[int]
    product_view: Mapped[int]
    cart: Mapped[int]
    checkout: Mapped[int]
    shipping: Mapped[int]
    purchase_visits: Mapped[int]
    orders: Mapped[int]
    revenue: Mapped[Decimal]


# Dwell per visit of a product, as a histogram: bucket 0 is under a second, bucket b >= 1 holds
# [r^(b-1), r^b) seconds with r = 2^(1/3), the last one everything from about 1h50 on. Counts
# are columns of the product's daily row, so a report sums one row per product and day.
DWELL_BUCKETS = 40
DWELL_COLUMNS = tuple(f"dwell_{b:02d}" for b in range(DWELL_BUCKETS))


class _ProductCounters:
    """Views, and visits that viewed the product, carted it, bought it; dwell histogram."""

    views: Mapped[int]
    visits: Mapped[int]
    cart_visits: Mapped[int]
    purchase_visits: Mapped[int]


for _column in DWELL_COLUMNS:
    setattr(_ProductCounters, _column, mapped_column(Integer, nullable=False))


class DailyProduct(_ProductCounters, Base):
    """Per product, day, device and source (the reports' filters)."""

    __tablename__ = "analytics_daily_products"
    __table_args__ = _CLUSTERED

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(120), primary_key=True)


class DailyProductTotal(_ProductCounters, Base):
    """Per product and day, all devices and sources: what an unfiltered report reads."""

    __tablename__ = "analytics_daily_product_totals"
    __table_args__ = _CLUSTERED

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)


class DailySearch(Base):
    """Per normalised search term and day: searches, empty results, visits that bought."""

    __tablename__ = "analytics_daily_searches"
    __table_args__ = _CLUSTERED

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(200), primary_key=True)
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(120), primary_key=True)
    searches: Mapped[int]
    no_result_searches: Mapped[int]
    visits: Mapped[int]
    purchase_visits: Mapped[int]


class DailyFee(Base):
    """Visits that were shown a delivery fee, by fee bucket or distance-to-free bucket."""

    __tablename__ = "analytics_daily_fees"
    __table_args__ = _CLUSTERED

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    device: Mapped[str] = mapped_column(String(16), primary_key=True)
    source: Mapped[str] = mapped_column(String(120), primary_key=True)
    # "fee" | "distance_to_free"
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    visits: Mapped[int]
    abandoned: Mapped[int]


class VisitSwap(Base):
    """A visit that looked longest at ``viewed_sku`` and bought ``bought_sku`` instead."""

    __tablename__ = "analytics_visit_swaps"
    __table_args__ = (Index("ix_analytics_visit_swaps_day", "day"),)

    visit_id: Mapped[int] = mapped_column(_VISIT_ID, primary_key=True, autoincrement=False)
    viewed_sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    bought_sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[dt.date]
    device: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(120))
    viewed_variant: Mapped[str | None] = mapped_column(String(64))
    bought_variant: Mapped[str | None] = mapped_column(String(64))
    dwell_ms: Mapped[int] = mapped_column(BigInteger)
    colour_swap: Mapped[bool]


class PurchaseTime(Base):
    """From a visit's first product view to its purchase, per category bought."""

    __tablename__ = "analytics_purchase_times"
    __table_args__ = (Index("ix_analytics_purchase_times_day", "day"),)

    visit_id: Mapped[int] = mapped_column(_VISIT_ID, primary_key=True, autoincrement=False)
    category: Mapped[str] = mapped_column(String(120), primary_key=True)
    day: Mapped[dt.date]
    device: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(120))
    seconds: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int]
