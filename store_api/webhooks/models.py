"""Webhook subscriptions, one delivery row per (subscription, event), and the attempt log."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow

# BIGINT on PostgreSQL; SQLite only auto-increments a column typed INTEGER.
_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookSubscription(Base):
    """An endpoint that receives signed POSTs for the events it subscribed to."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(255), default="")
    # Empty: every event. Items are event types or families such as "stock.*".
    event_types: Mapped[list[str]] = mapped_column(JSON(), default=list)
    # Standard Webhooks format: "whsec_" + base64 of the HMAC key. Needed to sign, so kept,
    # encrypted with a key derived from SECRET_KEY (store_api/webhooks/secrets.py).
    secret: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Customer fields of payloads (hold notes...) leave the machine only if the owner says so.
    include_customer_data: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The last event seq fanned out into deliveries; starts at the newest seq at creation.
    cursor_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # First failure since the last success; the subscription is disabled when it gets old.
    failing_since: Mapped[dt.datetime | None]
    disabled_at: Mapped[dt.datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(String(500))


class WebhookDelivery(Base):
    """One event for one subscription: its state, lease and retry schedule."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint(
            "subscription_id", "event_seq", name="uq_webhook_deliveries_subscription_event"
        ),
        # What is due: pending rows by next attempt.
        Index("ix_webhook_deliveries_status_next_attempt", "status", "next_attempt_at"),
        # Per-product order: "is there an earlier pending delivery with the same key?"
        Index("ix_webhook_deliveries_queue", "subscription_id", "event_key", "status", "event_seq"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_seq: Mapped[int] = mapped_column(BigInteger)
    # Copy of events.key: deliveries with the same key go out in event_seq order.
    event_key: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime]
    # A worker owns the delivery until then; after that another may take it over.
    lease_until: Mapped[dt.datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(120))
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    # First failure of the current retry run; the delivery is given up when it gets old.
    retrying_since: Mapped[dt.datetime | None]
    delivered_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: the delivery log an owner reads when debugging."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery", "delivery_id", "attempted_at"),)

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        _BIG_ID, ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempted_at: Mapped[dt.datetime]
    # None when no HTTP response came back (connection refused, timeout).
    status_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
