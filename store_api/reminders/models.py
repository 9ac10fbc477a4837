"""The reminder outbox, the owner's settings and templates, and the planner's cursor."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class MessageStatus(enum.StrEnum):
    PENDING = "pending"  # due at next_attempt_at
    PARKED = "parked"  # waiting for the product to be available again (back in stock)
    SENT = "sent"
    FAILED = "failed"  # the server refused it for good, or it kept failing too long
    CANCELLED = "cancelled"  # no longer relevant or not allowed: ``outcome`` says why


class ReminderMessage(Base):
    """One reminder for one customer: planned, then sent at most once (per Message-ID)."""

    __tablename__ = "reminder_messages"
    __table_args__ = (
        # Never twice: one message per customer, reminder kind and subject (a hold, an alert).
        UniqueConstraint(
            "customer_id", "kind", "subject_key", name="uq_reminder_messages_customer_kind_subject"
        ),
        Index("ix_reminder_messages_status_next_attempt", "status", "next_attempt_at"),
        Index("ix_reminder_messages_customer_day", "customer_id", "cap_day"),
        Index("ix_reminder_messages_kind_sent", "kind", "sent_at"),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    # NULL once the customer is erased (the row stays for the counts, nothing personal).
    customer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32))
    subject_key: Mapped[str] = mapped_column(String(160))
    # The RFC 5322 Message-ID, fixed at planning: a resend after a crash carries the same one.
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=MessageStatus.PENDING.value)
    outcome: Mapped[str | None] = mapped_column(String(40))
    due_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[dt.datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(120))
    # "email" or "sms", chosen when it is sent.
    channel: Mapped[str | None] = mapped_column(String(8))
    sku: Mapped[str | None] = mapped_column(String(64))
    reservation_id: Mapped[uuid.UUID | None]
    order_id: Mapped[uuid.UUID | None]
    alert_id: Mapped[int | None] = mapped_column(_BIG_ID)
    # Plain values the template needs besides the customer and the product (no personal data).
    context: Mapped[dict[str, Any]] = mapped_column(JSON(), default=dict)
    # The shop's local day this message counts against the customer's daily cap.
    cap_day: Mapped[dt.date | None] = mapped_column(Date())
    last_error: Mapped[str | None] = mapped_column(String(500))
    sent_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReminderSetting(Base):
    """The owner's switch and delay for one reminder kind (defaults in ``kinds.py``)."""

    __tablename__ = "reminder_settings"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    enabled: Mapped[bool]
    delay_minutes: Mapped[int]
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ReminderTemplate(Base):
    """The owner's version of a message; without a row the built-in French text is used."""

    __tablename__ = "reminder_templates"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), default="")
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(120))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PlannerCursor(Base):
    """The last event seq the planner has read (one row)."""

    __tablename__ = "reminder_planner_cursor"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)


def new_message_id(domain: str) -> str:
    return f"<reminder.{uuid.uuid4().hex}@{domain}>"
