"""Typed models of the sensor domain (written by the MQTT bridge)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow

_BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class SensorDevice(Base):
    """A device that has published at least once (or was registered)."""

    __tablename__ = "sensor_devices"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    store: Mapped[str] = mapped_column(String(64))
    last_seen: Mapped[dt.datetime | None]
    online: Mapped[bool] = mapped_column(default=False)
    battery: Mapped[float | None]
    # Highest sequence number stored so far; the next expected one is last_seq + 1.
    last_seq: Mapped[int | None] = mapped_column(BigInteger)


class SensorEvent(Base):
    """One device event, stored once: QoS 1 redeliveries hit the unique key."""

    __tablename__ = "sensor_events"
    __table_args__ = (
        UniqueConstraint("device_id", "event_id"),
        # The hourly footfall report reads a store's door counts by time. Partial: door events
        # are a few per minute, weight events thousands, and those pay nothing for it. Queries
        # must say kind = 'footfall' as a literal for the planner to match the predicate.
        Index(
            "ix_sensor_events_footfall",
            "store",
            "ts",
            sqlite_where=text("kind = 'footfall'"),
            postgresql_where=text("kind = 'footfall'"),
        ),
    )

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(16))  # weight | presence | footfall | status
    store: Mapped[str] = mapped_column(String(64))
    shelf: Mapped[str | None] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(64))
    zone: Mapped[str | None] = mapped_column(String(64))
    door: Mapped[str | None] = mapped_column(String(64))
    ts: Mapped[dt.datetime]  # device time
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]]


class SeqGap(Base):
    """The device skipped sequence numbers: events lost before they reached the broker."""

    __tablename__ = "sensor_seq_gaps"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    device_id: Mapped[str] = mapped_column(String(64), index=True)
    expected: Mapped[int] = mapped_column(BigInteger)
    got: Mapped[int] = mapped_column(BigInteger)
    detected_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DeadLetter(Base):
    """A message the bridge could not accept, kept byte for byte with the reason."""

    __tablename__ = "sensor_dead_letters"

    id: Mapped[int] = mapped_column(_BIG_ID, primary_key=True)
    topic: Mapped[str] = mapped_column(String(1024))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    reason: Mapped[str] = mapped_column(String(1000))
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
