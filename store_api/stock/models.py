from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow


class Channel(enum.StrEnum):
    STORE = "store"
    WEB = "web"


class ReservationStatus(enum.StrEnum):
    ACTIVE = "active"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"


class Reason(enum.StrEnum):
    """Why a ledger row exists. The first group can be given to an adjustment."""

    DELIVERY = "delivery"
    RETURN = "return"
    DAMAGE = "damage"
    LOSS = "loss"
    CORRECTION = "correction"
    IMPORT = "import"
    COUNT = "count"
    RESERVATION = "reservation"
    RELEASE = "release"
    EXPIRY = "expiry"
    SALE = "sale"
    ORDER = "order"
    ORDER_CANCEL = "order_cancel"


ADJUSTMENT_REASONS = (
    Reason.DELIVERY,
    Reason.RETURN,
    Reason.DAMAGE,
    Reason.LOSS,
    Reason.CORRECTION,
    Reason.IMPORT,
)


# The most units one location may hold: what an inventory count may set, and the ceiling every
# other path (adjustments, imports) respects too, far below the 32-bit integer limit.
MAX_ON_HAND = 1_000_000


class StockLevel(Base):
    """Units of one product at one location. ``available = on_hand - reserved``."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        UniqueConstraint("product_id", "location", name="uq_stock_levels_product_location"),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint(f"on_hand <= {MAX_ON_HAND}", name="on_hand_within_max"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location: Mapped[str] = mapped_column(String(32))
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StockMovement(Base):
    """Append-only ledger: every change of on_hand or reserved, with values after it."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_product_location", "product_id", "location"),)

    # BIGINT on PostgreSQL; SQLite only auto-increments a column typed INTEGER.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    location: Mapped[str] = mapped_column(String(32))
    delta_on_hand: Mapped[int]
    delta_reserved: Mapped[int]
    on_hand_after: Mapped[int]
    reserved_after: Mapped[int]
    reason: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))
    reference: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Reservation(Base):
    """A hold on units at one location: a seller's agreed sale or a webshop checkout."""

    __tablename__ = "reservations"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_reservations_product_status_expires", "product_id", "status", "expires_at"),
        Index("ix_reservations_status_expires", "status", "expires_at"),
        Index("ix_reservations_recommendation_id", "recommendation_id"),
        # "My holds" on a tablet: ?mine=true.
        Index("ix_reservations_created_by_key_status", "created_by_key_id", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    # Copied from the product (SKUs never change) so listings need no join.
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(32))
    quantity: Mapped[int]
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=ReservationStatus.ACTIVE.value)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(120))
    # The API key that made the hold (None for holds made by the system or before 0011).
    created_by_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    expires_at: Mapped[dt.datetime]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[dt.datetime | None]
    reference: Mapped[str | None] = mapped_column(String(255))
    order_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("orders.id"))
    # The recommendation answer that led to this hold, so its sale counts as the suggestion's.
    recommendation_id: Mapped[uuid.UUID | None]
