from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base


class Event(Base):
    """One business event. ``seq`` is global, gapless and committed in increasing order.

    On PostgreSQL ``seq`` comes from the ``event_counter`` row, whose lock is held until
    commit, so a reader never sees seq N+1 before N. On SQLite writers are serialised and
    ``seq`` is the rowid (max + 1), with the same guarantee.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_type_seq", "type", "seq"),
        Index("ix_events_sku_seq", "sku", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[uuid.UUID] = mapped_column(unique=True)
    type: Mapped[str] = mapped_column(String(40))
    # The product the event is about (None for order events, which name theirs in the payload).
    sku: Mapped[str | None] = mapped_column(String(64))
    # Events with the same key are delivered to webhooks in seq order: the SKU, or the order.
    key: Mapped[str] = mapped_column(String(80))
    occurred_at: Mapped[dt.datetime]
    payload: Mapped[dict[str, Any]]


class EventCounter(Base):
    """The last seq handed out (PostgreSQL); its row lock orders concurrent writers."""

    __tablename__ = "event_counter"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    value: Mapped[int] = mapped_column(BigInteger)
