"""Typed models of the shelf domain: the planogram's lanes, alerts, labels, discrepancies."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Lane(Base):
    """One lane of a shelf: the product it holds, and how many units the scale sees."""

    __tablename__ = "shelf_lanes"
    __table_args__ = (
        UniqueConstraint("store", "shelf", "lane"),
        CheckConstraint("unit_weight_g > 0", name="unit_weight_positive"),
        CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        CheckConstraint("tolerance_g >= 0", name="tolerance_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store: Mapped[str] = mapped_column(String(64))
    shelf: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    unit_weight_g: Mapped[float] = mapped_column(Float)
    capacity: Mapped[int] = mapped_column(Integer)
    # A reading more than this far from a whole number of units is not this product.
    tolerance_g: Mapped[float] = mapped_column(Float)
    units_on_shelf: Mapped[int | None] = mapped_column(Integer)
    # The last reading of the scale (grams) and when the device took it.
    last_grams: Mapped[float | None] = mapped_column(Float)
    last_reading_at: Mapped[dt.datetime | None]
    # Set while the scale shows something that is not whole units of the product.
    wrong_item_since: Mapped[dt.datetime | None]
    # Since when units_on_shelf follows the lane (a person's count, or the scale's first whole
    # reading); the shelf vs system check compares only windows the count covers entirely.
    counting_since: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Zone(Base):
    """A presence sensor's zone, in front of one lane; a dwell past the threshold asks for help."""

    __tablename__ = "shelf_zones"
    __table_args__ = (
        UniqueConstraint("store", "zone"),
        CheckConstraint("dwell_threshold_s > 0", name="dwell_threshold_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    store: Mapped[str] = mapped_column(String(64))
    zone: Mapped[str] = mapped_column(String(64))
    shelf: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(64))
    dwell_threshold_s: Mapped[int] = mapped_column(Integer)
    # Device time of the first "occupied" reading of the current visit; None: nobody there.
    occupied_since: Mapped[dt.datetime | None]
    last_presence_at: Mapped[dt.datetime | None]


class HelpAlert(Base):
    """A customer lingered at a lane: sellers are asked to go; response times are kept."""

    __tablename__ = "help_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    store: Mapped[str] = mapped_column(String(64))
    zone: Mapped[str] = mapped_column(String(64), index=True)
    shelf: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str | None] = mapped_column(String(64))
    dwell_s: Mapped[float] = mapped_column(Float)
    raised_at: Mapped[dt.datetime] = mapped_column(index=True)
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    escalated_at: Mapped[dt.datetime | None]

    @property
    def status(self) -> str:
        if self.acknowledged_at is not None:
            return "acknowledged"
        return "escalated" if self.escalated_at is not None else "open"


class LabelState(Base):
    """What a lane's electronic shelf label should show; published (retained) when it changes."""

    __tablename__ = "shelf_labels"
    __table_args__ = (UniqueConstraint("store", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(64))
    shelf: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LabelFeed(Base):
    """How far the label publisher has read the outbox (events.seq)."""

    __tablename__ = "shelf_label_feed"

    store: Mapped[str] = mapped_column(String(64), primary_key=True)
    after_seq: Mapped[int] = mapped_column(BigInteger)


class ShelfMovement(Base):
    """Units that left (delta < 0) or came onto (delta > 0) a lane, as its scale saw it."""

    __tablename__ = "shelf_movements"
    __table_args__ = (Index("ix_shelf_movements_store_ts", "store", "ts"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    store: Mapped[str] = mapped_column(String(64))
    shelf: Mapped[str] = mapped_column(String(64))
    lane: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64))
    ts: Mapped[dt.datetime]  # device time of the reading that changed the count
    delta: Mapped[int] = mapped_column(Integer)
    units_after: Mapped[int] = mapped_column(Integer)


class ShelfDiscrepancy(Base):
    """Over one window, a product's shelves and the stock ledger of its floor disagree."""

    __tablename__ = "shelf_discrepancies"
    # One per product and window: evaluating a window again raises nothing new.
    __table_args__ = (UniqueConstraint("store", "sku", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(64), index=True)
    lanes: Mapped[list[str]] = mapped_column(JSON)  # labels such as "A-3"
    window_start: Mapped[dt.datetime] = mapped_column(index=True)
    window_end: Mapped[dt.datetime]
    taken: Mapped[int] = mapped_column(Integer)  # units that left the lanes
    put_back: Mapped[int] = mapped_column(Integer)  # units that came onto them
    accounted: Mapped[int] = mapped_column(Integer)  # floor units reserved, sold or written off
    # (taken - put_back) - accounted: > 0 units missing, < 0 a surplus on the shelf.
    difference: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[dt.datetime]
    resolved_at: Mapped[dt.datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(String(500))

    @property
    def kind(self) -> str:
        return "missing" if self.difference > 0 else "surplus"

    @property
    def status(self) -> str:
        return "open" if self.resolved_at is None else "resolved"


class DiscrepancyFeed(Base):
    """Windows up to ``evaluated_until`` were compared (the bridge's timer moves it on)."""

    __tablename__ = "shelf_discrepancy_feed"

    store: Mapped[str] = mapped_column(String(64), primary_key=True)
    evaluated_until: Mapped[dt.datetime]
