"""A tablet is a seller API key with a device name, paired once with a short code."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from store_api.db import Base, utcnow
from store_api.keys.models import ApiKey


class Tablet(Base):
    """A paired device. Revoked through its key (``api_keys.revoked_at``): one source of truth,
    so ``flask keys revoke`` logs a tablet out as surely as the owner's page does."""

    __tablename__ = "tablets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), unique=True)
    # What the tablet said it is ("Chrome 131 on Android 14"), for the owner's list.
    device: Mapped[str | None] = mapped_column(String(255))
    paired_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Updated when the tablet checks in (GET /me, its live stream), at most once a minute.
    last_seen_at: Mapped[dt.datetime | None]

    key: Mapped[ApiKey] = relationship(lazy="joined")


class PairingCode(Base):
    """A 6-digit code the owner shows; only its keyed hash is stored. Single use, short-lived."""

    __tablename__ = "tablet_pairing_codes"
    __table_args__ = (Index("ix_tablet_pairing_codes_code_hash", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    created_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    used_at: Mapped[dt.datetime | None]
    tablet_id: Mapped[int | None] = mapped_column(ForeignKey("tablets.id"))


class PairingAttempt(Base):
    """A failed pairing attempt, counted per client address to stop guessing."""

    __tablename__ = "tablet_pairing_attempts"
    __table_args__ = (Index("ix_tablet_pairing_attempts_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(index=True)
