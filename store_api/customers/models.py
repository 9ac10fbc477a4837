"""Customers (as little as a reminder needs), their consent history and stock alerts."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments a column typed INTEGER.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Purpose(enum.StrEnum):
    """What a customer agreed to receive: messages about their own hold or order, or offers."""

    SERVICE = "service"
    MARKETING = "marketing"


class ConsentMethod(enum.StrEnum):
    """How the consent (or its withdrawal) was collected."""

    IN_STORE = "in_store"  # asked by a seller, answered on the tablet
    WEBSHOP = "webshop"  # a box ticked at checkout or in the account
    PHONE = "phone"
    PAPER = "paper"
    EMAIL = "email"
    UNSUBSCRIBE_LINK = "unsubscribe_link"  # the one-click link of a message


class AlertStatus(enum.StrEnum):
    WAITING = "waiting"
    NOTIFIED = "notified"
    CANCELLED = "cancelled"


class Customer(Base):
    """A person who asked to be told something. Name, and an e-mail address and/or a mobile.

    Never linked to the webshop's anonymous visitor hash (docs/privacy.md).
    """

    __tablename__ = "customers"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(120))
    # Lower-case; unique, so one person is one customer (NULLs do not collide).
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    # E.164 ("+33612345678").
    phone: Mapped[str | None] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """One consent given or withdrawn: append-only, the latest row of a purpose is in force."""

    __tablename__ = "customer_consents"
    __table_args__ = (Index("ix_customer_consents_customer", "customer_id", "purpose", "id"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    granted: Mapped[bool]
    # When, how and by whom (the API key's name; the seller's own name when given).
    given_at: Mapped[dt.datetime]
    method: Mapped[str] = mapped_column(String(32))
    recorded_by: Mapped[str] = mapped_column(String(120))
    collected_by: Mapped[str | None] = mapped_column(String(120))
    # The sentence the customer agreed to, as it was shown.
    wording: Mapped[str | None] = mapped_column(Text)


class StockAlert(Base):
    """ "Tell me when it is back": notified once, on the next stock.back_in_stock."""

    __tablename__ = "stock_alerts"
    __table_args__ = (
        # One waiting alert per customer and product (open_sku is NULL once closed).
        UniqueConstraint("customer_id", "open_sku", name="uq_stock_alerts_customer_open_sku"),
        Index("ix_stock_alerts_sku_status", "sku", "status"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    customer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    open_sku: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=AlertStatus.WAITING.value)
    # "web" (asked on the webshop) or "store" (asked a seller).
    channel: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
