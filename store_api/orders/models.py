from __future__ import annotations

import datetime as dt
import enum
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store_api.db import Base, utcnow


class OrderStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CANCELLED = "cancelled"


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        # The idempotency key is scoped to the client that sent it, like Stripe's.
        UniqueConstraint(
            "client_key_id", "idempotency_key", name="uq_orders_client_idempotency_key"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.CONFIRMED.value)
    channel: Mapped[str] = mapped_column(String(16))
    client_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of the canonical request body: the same key with another body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    # The order as first created, so a replay returns the original response exactly.
    snapshot: Mapped[dict[str, Any]]
    reference: Mapped[str | None] = mapped_column(String(255))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[dt.datetime | None]
    # The webshop's customer, when it passed one (reminders); events carry only this id.
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    # What the customer pays: the sum of the lines at the prices of the moment (migration 0015
    # filled older orders from the catalogue price of the day it ran: see price_estimated).
    total: Mapped[Decimal]

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.position", lazy="selectin"
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int]
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int]
    # Where the units came from: [{"location", "quantity", "reservation_id"?}], so that a
    # cancellation puts them back exactly where they were taken.
    allocations: Mapped[list[dict[str, Any]]]
    # The product's price when the order was placed; later price changes do not touch it.
    unit_price: Mapped[Decimal]
    line_total: Mapped[Decimal]
    # True for lines older than migration 0015, priced from the catalogue when it ran.
    price_estimated: Mapped[bool] = mapped_column(default=False)

    order: Mapped[Order] = relationship(back_populates="lines")
