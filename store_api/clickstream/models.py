"""Typed models of the clickstream: raw events, visits and the daily visitor salts.

Nothing here identifies a person: no IP address, no user agent, no customer id. A visitor is
an HMAC of (site, IP, user agent) under a salt that changes every day and is deleted after
48 hours, so the same browser is a new visitor tomorrow and nobody can recompute the hash.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, Numeric, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class VisitorSalt(Base):
    """The random salt of one UTC day; rows older than 48 hours are deleted."""

    __tablename__ = "clickstream_salts"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DailyCounter(Base):
    """Per UTC day, what was received but not stored: robots, opt-outs, rejected events.

    Names: ``bot_events``, ``opted_out_events``, ``rejected_events``. Aggregates: kept 25 months.
    """

    __tablename__ = "clickstream_counters"

    day: Mapped[dt.date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class Visit(Base):
    """A visitor's events with no gap longer than 30 minutes; attribution of its first event."""

    __tablename__ = "clickstream_visits"
    __table_args__ = (
        Index("ix_clickstream_visits_visitor_last_at", "visitor", "last_at"),
        Index("ix_clickstream_visits_started_at", "started_at"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    # Hex HMAC-SHA256 (first 128 bits) of site|ip|user agent under the day's salt.
    visitor: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[dt.datetime]
    last_at: Mapped[dt.datetime]
    # "direct", a search engine, a referring host, or utm_source when present.
    source: Mapped[str] = mapped_column(String(120))
    medium: Mapped[str | None] = mapped_column(String(120))
    campaign: Mapped[str | None] = mapped_column(String(120))
    referrer_host: Mapped[str | None] = mapped_column(String(255))
    landing_path: Mapped[str] = mapped_column(String(512))
    device: Mapped[str] = mapped_column(String(16))  # desktop | mobile | tablet
    browser: Mapped[str] = mapped_column(String(32))  # family only: chrome, firefox, ...


class ClickEvent(Base):
    """One GA4-named webshop event as received, minus anything that identifies a person.

    ``event_id`` is the browser's own id for the event: a retried batch stores it once.
    Columns hold what the reports group by; the rest of the params stay in ``params``.
    """

    __tablename__ = "clickstream_events"
    __table_args__ = (
        Index("ix_clickstream_events_event_id", "event_id", unique=True),
        Index("ix_clickstream_events_visit_id", "visit_id"),
        Index("ix_clickstream_events_occurred_at", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    visit_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(32))
    # The browser's clock, clamped to [received_at - 1 day, received_at + 5 min].
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Path only: the query string is dropped except utm_* parameters.
    page_path: Mapped[str | None] = mapped_column(String(512))
    # The single product of item events (view_item, add_to_cart, ...): our SKU.
    item_id: Mapped[str | None] = mapped_column(String(64))
    item_variant: Mapped[str | None] = mapped_column(String(64))
    item_category: Mapped[str | None] = mapped_column(String(120))
    # purchase / begin_checkout / view_cart: basket value; delivery_fee_shown: cart_value.
    value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    # purchase / add_shipping_info: shipping charged; delivery_fee_shown: the fee shown.
    shipping: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # search: the term, lower-cased, with emails and phone numbers scrubbed.
    search_term: Mapped[str | None] = mapped_column(String(200))
    search_results: Mapped[int | None] = mapped_column(Integer)
    # engagement: time the product page was visible and in focus, and scroll depth (%).
    engaged_ms: Mapped[int | None] = mapped_column(Integer)
    scroll_depth: Mapped[int | None] = mapped_column(SmallInteger)
    # The other parameters (items of a purchase, free_threshold, transaction_id, ...).
    params: Mapped[dict[str, Any]]
