"""Search tables: the index generation, the shop's synonyms, daily search counts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from store_api.db import Base, utcnow


class SearchState(Base):
    """One row: the generation of the search index, raised by every change to what search
    reads (a product, a synonym) in the same transaction as the change.

    Each process keeps its index in memory and, before a search, reads this number in the
    search's own transaction: a higher one means "load the products stamped after mine"."""

    __tablename__ = "search_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(BigInteger)


class Synonym(Base):
    """What the shop floor says (``term``) and the catalogue words it means (``synonyms``)."""

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    term: Mapped[str] = mapped_column(String(100))
    # The term as the analyser reads it ("Machine à laver" -> "machine laver"): unique.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    synonyms: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class SearchDay(Base):
    """API searches per day, normalised term and caller role: how many, how many found
    nothing, how many were read through a "did you mean" correction. Nothing else: no key,
    no address, no time of day."""

    __tablename__ = "search_days"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    term: Mapped[str] = mapped_column(String(200), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    searches: Mapped[int]
    no_result_searches: Mapped[int]
    corrected_searches: Mapped[int]
    correction: Mapped[str | None] = mapped_column(String(200))
