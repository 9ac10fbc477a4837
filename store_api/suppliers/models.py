"""Suppliers, what each offers for a product, and every feed file read from them."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow


class Availability(enum.StrEnum):
    """What the supplier says about a product it lists."""

    IN_STOCK = "in_stock"
    ON_ORDER = "on_order"  # orderable, longer lead time (made or shipped to order)
    OUT_OF_STOCK = "out_of_stock"
    DISCONTINUED = "discontinued"


ORDERABLE = (Availability.IN_STOCK, Availability.ON_ORDER)


class Supplier(Base):
    __tablename__ = "suppliers"
    __table_args__ = (CheckConstraint("default_lead_days >= 0", name="lead_days_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    contact: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    default_lead_days: Mapped[int] = mapped_column(default=3)
    # The saved mapping profile (docs/suppliers.md): columns, units, categories, missing policy.
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SupplierOffer(Base):
    """A product as one supplier sells it to the shop."""

    __tablename__ = "supplier_offers"
    __table_args__ = (
        UniqueConstraint("supplier_id", "supplier_sku", name="uq_supplier_offers_supplier_sku"),
        CheckConstraint("purchase_price >= 0", name="purchase_price_not_negative"),
        CheckConstraint("lead_days >= 0", name="lead_days_not_negative"),
        Index("ix_supplier_offers_product_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    supplier_sku: Mapped[str] = mapped_column(String(64))
    gtin: Mapped[str | None] = mapped_column(String(14))
    mpn: Mapped[str | None] = mapped_column(String(64))
    purchase_price: Mapped[Decimal | None]
    availability: Mapped[str] = mapped_column(String(16), default=Availability.IN_STOCK)
    supplier_stock: Mapped[int | None]
    # None: the supplier's default lead time.
    lead_days: Mapped[int | None]
    # False once a feed of this supplier no longer lists it (see the mapping's "missing").
    listed: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class FeedStatus(enum.StrEnum):
    DRY_RUN = "dry_run"  # read and compared; nothing applied yet
    APPLIED = "applied"
    REFUSED = "refused"  # the file itself is unreadable (encoding, truncated, too large...)
    SUPERSEDED = "superseded"  # a newer dry run of the same supplier replaced it


class FeedImport(Base):
    """One supplier file: what was read, the diff it gives, and whether it was applied."""

    __tablename__ = "feed_imports"
    __table_args__ = (Index("ix_feed_imports_supplier_id", "supplier_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    format: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16), default="upload")
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    # The file as received, so applying reads exactly what the dry run read.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    detected: Mapped[dict[str, Any]] = mapped_column(default=dict)
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The lines as read at the dry run (feeds.mapping.line_to_json) and the file's own
    # problems: applying compares them with the catalog again without reading the file again.
    lines: Mapped[dict[str, Any]] = mapped_column(default=dict, deferred=True)
    # Every entry of the diff except "unchanged" lines (see feeds.diff.Entry.as_dict).
    entries: Mapped[list[dict[str, Any]]] = mapped_column(default=list, deferred=True)
    # What the dry run computed; applying refuses if the catalog changed it meanwhile.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default=FeedStatus.DRY_RUN)
    # File-level problem (code + params, rendered in the reader's language).
    problem: Mapped[dict[str, Any] | None]
    created_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    applied_at: Mapped[dt.datetime | None]
    applied_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str] = mapped_column(Text, default="")
