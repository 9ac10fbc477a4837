"""What the tablets and the webshop report back about the suggestions they showed."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import BigInteger, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow


class FeedbackEvent(enum.StrEnum):
    """Stored names; clients send them as ``reco_shown`` / ``reco_accepted``."""

    SHOWN = "shown"
    ACCEPTED = "accepted"


class RecommendationEvent(Base):
    """One suggestion of one recommendation answer, shown to or accepted by a customer.

    A client retrying a batch sends the same rows again: the unique constraint keeps one.
    """

    __tablename__ = "recommendation_events"
    __table_args__ = (
        UniqueConstraint(
            "recommendation_id", "event", "suggested_sku", name="uq_recommendation_events_once"
        ),
        Index("ix_recommendation_events_occurred_at", "occurred_at"),
    )

    # BIGINT on PostgreSQL; SQLite only auto-increments a column typed INTEGER.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    # The ``recommendation_id`` of the answer that carried the suggestion.
    recommendation_id: Mapped[uuid.UUID]
    event: Mapped[str] = mapped_column(String(16))
    # The product the suggestion was for (null for a basket or a visit).
    context_sku: Mapped[str | None] = mapped_column(String(64))
    suggested_sku: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(120))
    # The client's clock (a tablet may send a batch later); received_at is ours.
    occurred_at: Mapped[dt.datetime]
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
