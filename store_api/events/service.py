"""Writing events into the outbox and reading them back in order."""

from __future__ import annotations

import datetime as dt
import enum
import functools
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, TextClause, func, insert, select, text
from sqlalchemy.orm import Session

from store_api.events.models import Event
from store_api.events.visibility import Reader, visible_payload


class EventType(enum.StrEnum):
    STOCK_CHANGED = "stock.changed"
    STOCK_LOW = "stock.low"
    STOCK_OUT = "stock.out"
    STOCK_BACK_IN_STOCK = "stock.back_in_stock"
    RESERVATION_CREATED = "reservation.created"
    RESERVATION_EXTENDED = "reservation.extended"
    RESERVATION_COMMITTED = "reservation.committed"
    RESERVATION_RELEASED = "reservation.released"
    RESERVATION_EXPIRED = "reservation.expired"
    ORDER_CREATED = "order.created"
    ORDER_CANCELLED = "order.cancelled"
    PRODUCT_CREATED = "product.created"
    PRODUCT_UPDATED = "product.updated"
    PRODUCT_DEACTIVATED = "product.deactivated"
    PRODUCT_PUBLISHED = "product.published"
    PRODUCT_UNPUBLISHED = "product.unpublished"
    HELP_REQUESTED = "help.requested"
    HELP_ACKNOWLEDGED = "help.acknowledged"
    HELP_ESCALATED = "help.escalated"
    SHELF_DISCREPANCY = "shelf.discrepancy"


@dataclass(frozen=True)
class NewEvent:
    type: str
    payload: dict[str, Any]
    sku: str | None = None
    key: str = ""
    id: uuid.UUID = field(default_factory=uuid.uuid4)


_events = cast(Table, Event.__table__)

# PostgreSQL: take the next seqs from the counter row and insert, in one statement. The row
# lock taken by the UPDATE is held until commit: seqs become visible strictly in order.
# ``companions`` are more data-modifying CTEs run by the same statement (the stock ledger),
# which saves a round trip per change.
_PG_INSERT = """
    WITH {companions}
    c AS (
        UPDATE event_counter SET value = value + :n WHERE id = 1 RETURNING value - :n AS base
    )
    INSERT INTO events (seq, id, type, sku, key, occurred_at, payload)
    SELECT c.base + e.ord, e.id, e.type, e.sku, e.key, e.occurred_at, e.payload
    FROM c, jsonb_to_recordset(CAST(:rows AS jsonb)) AS e(
        ord bigint, id uuid, type text, sku text, key text, occurred_at timestamptz, payload json
    )
"""


@functools.cache
def _pg_statement(companions: str) -> TextClause:
    return text(_PG_INSERT.format(companions=companions))


def emit(
    session: Session,
    events: Sequence[NewEvent],
    *,
    now: dt.datetime,
    pg_companions: str = "",
    pg_params: Mapping[str, Any] | None = None,
) -> None:
    """Append events to the outbox, in the caller's transaction: one statement.

    On PostgreSQL ``pg_companions`` ("name AS (INSERT …)," CTEs with ``pg_params``) run in the
    same statement; other databases ignore them, so callers run those inserts themselves.
    """
    if not events:
        return
    conn = session.connection()
    rows = [
        {
            "id": ev.id,
            "type": str(ev.type),
            "sku": ev.sku,
            "key": ev.key or ev.sku or str(ev.type),
            "occurred_at": now,
            "payload": ev.payload,
        }
        for ev in events
    ]
    if conn.dialect.name == "postgresql":
        packed = [
            {**row, "ord": i + 1, "id": str(row["id"]), "occurred_at": now.isoformat()}
            for i, row in enumerate(rows)
        ]
        params = {"n": len(rows), "rows": json.dumps(packed, default=str), **(pg_params or {})}
        conn.execute(_pg_statement(pg_companions), params)
    else:
        # SQLite: writers are serialised, the rowid is max(seq) + 1 in insertion order.
        conn.execute(insert(_events), rows)


@dataclass(frozen=True)
class Page:
    events: list[Event]
    next_after: int


def read(
    session: Session,
    *,
    after: int,
    limit: int,
    types: Sequence[str] = (),
    skus: Sequence[str] = (),
) -> Page:
    """Events with seq > after, in order; ``next_after`` is the cursor to continue from."""
    stmt = select(Event).where(Event.seq > after)
    if types:
        stmt = stmt.where(Event.type.in_(_expand(types)))
    if skus:
        stmt = stmt.where(Event.sku.in_(skus))
    found = list(session.scalars(stmt.order_by(Event.seq).limit(limit)))
    return Page(found, found[-1].seq if found else after)


def as_seen_by(event: Event, reader: Reader) -> dict[str, Any]:
    """An event as ``reader`` may see it (see ``visibility``), as plain data."""
    return {
        "seq": event.seq,
        "id": event.id,
        "type": event.type,
        "sku": event.sku,
        "occurred_at": event.occurred_at,
        "payload": visible_payload(event.type, event.payload, reader),
    }


def last_seq(session: Session) -> int:
    return session.scalar(select(func.max(Event.seq))) or 0


def _expand(types: Sequence[str]) -> list[str]:
    """``stock.*`` means every stock event."""
    wanted: list[str] = []
    for t in types:
        if t.endswith(".*"):
            wanted += [e.value for e in EventType if e.value.startswith(t[:-1])]
        else:
            wanted.append(t)
    return wanted
