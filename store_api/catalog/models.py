from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        # Supplier feeds match a product on brand + manufacturer reference when no GTIN.
        Index("ix_products_mpn", "mpn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    # The barcode (GTIN-8/12/13/14, digits only, check digit verified); unique when set.
    gtin: Mapped[str | None] = mapped_column(String(14), unique=True)
    name: Mapped[str]
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str] = mapped_column(String(120), default="")
    category: Mapped[str] = mapped_column(String(120), default="", index=True)
    colour: Mapped[str] = mapped_column(String(60), default="")
    # The manufacturer's reference ("WGG244A9FF"), as on the box and in supplier feeds.
    mpn: Mapped[str | None] = mapped_column(String(64))
    price: Mapped[Decimal]
    image_url: Mapped[str | None] = mapped_column(String(1024))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    # stock.low fires when total availability falls to this; None: the shop's default.
    low_stock_threshold: Mapped[int | None]
    # Lower-case, accent-free copy of the searchable fields: a seller typing
    # "refrigerateur" on a tablet finds "Réfrigérateur" on SQLite and PostgreSQL alike.
    search_text: Mapped[str] = mapped_column(Text, default="")
    # The search index generation of the last change (store_api.search.service.index_product).
    search_generation: Mapped[int] = mapped_column(BigInteger, default=0, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SheetState(enum.StrEnum):
    DRAFT = "draft"
    READY = "ready"
    PUBLISHED = "published"


class ProductSheet(Base):
    """Where a product's sheet stands on its way to the webshop (no row: draft)."""

    __tablename__ = "product_sheets"

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default=SheetState.DRAFT, index=True)
    published_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(120), default="")


class CategorySheet(Base):
    """Per category: what a complete sheet needs on each channel, and its description template."""

    __tablename__ = "category_sheets"

    category: Mapped[str] = mapped_column(String(120), primary_key=True)
    # {"webshop": ["name", "price", "attr:capacite_kg", ...], "tablet": [...]}
    required: Mapped[dict[str, Any]] = mapped_column(default=dict)
    template: Mapped[str] = mapped_column(Text, default="")
    # Google's product taxonomy path or id for the Merchant Center feed ("" when unknown).
    google_category: Mapped[str] = mapped_column(String(255), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
