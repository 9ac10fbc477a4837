"""The stock journal: the ledger row and the outbox events of every stock change.

Every guarded UPDATE of a stock level returns, besides the new counters, the product's SKU,
its low-stock threshold and its total availability (one correlated subquery each), so the
ledger rows and the ``stock.*`` events of a change are written with two more INSERTs and no
extra read. ``record`` is the one place that writes them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, func, insert, literal_column, select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.events import service as events
from store_api.events.service import EventType, NewEvent
from store_api.stock.models import StockLevel, StockMovement

levels = cast(Table, StockLevel.__table__)
products = cast(Table, Product.__table__)
_ledger = cast(Table, StockMovement.__table__)
_others = levels.alias("other_levels")

LEVEL_RETURNING = (
    levels.c.id,
    levels.c.product_id,
    levels.c.location,
    levels.c.on_hand,
    levels.c.reserved,
    select(products.c.sku)
    .where(products.c.id == levels.c.product_id)
    .correlate(levels)
    .scalar_subquery()
    .label("sku"),
    select(products.c.low_stock_threshold)
    .where(products.c.id == levels.c.product_id)
    .correlate(levels)
    .scalar_subquery()
    .label("threshold"),
    # PostgreSQL evaluates this against the statement's snapshot (before the change); SQLite
    # after it. ``_totals`` turns either into before/after with the row's own delta.
    select(func.sum(_others.c.on_hand - _others.c.reserved))
    # Spelled out: SQLAlchemy renders RETURNING columns unqualified on SQLite, and an
    # unqualified product_id here would be the alias's own (every product's stock summed).
    .where(_others.c.product_id == literal_column("stock_levels.product_id"))
    .correlate(levels)
    .scalar_subquery()
    .label("product_available"),
)
_INSERT_LEDGER = insert(_ledger)


@dataclass(frozen=True)
class Change:
    """One stock level after a guarded UPDATE (a LEVEL_RETURNING row) and what moved."""

    level: Any
    d_on_hand: int
    d_reserved: int
    reference: str | None = None

    @property
    def d_available(self) -> int:
        return self.d_on_hand - self.d_reserved


def _totals(change: Change, dialect: str) -> tuple[int, int]:
    total = int(change.level.product_available or 0)
    if dialect == "postgresql":
        return total, total + change.d_available
    return total - change.d_available, total


def record(
    session: Session,
    changes: Sequence[Change],
    *,
    reason: str,
    actor: str,
    reference: str | None,
    now: dt.datetime,
    default_threshold: int,
    extra_events: Sequence[NewEvent] = (),
) -> None:
    """Write the ledger rows and the events of one operation.

    Two INSERTs on SQLite; one statement on PostgreSQL, where the ledger rows ride along as
    a CTE of the events INSERT (one round trip less on every stock change).
    """
    conn = session.connection()
    ledger = [
        {
            "product_id": c.level.product_id,
            "location": c.level.location,
            "delta_on_hand": c.d_on_hand,
            "delta_reserved": c.d_reserved,
            "on_hand_after": c.level.on_hand,
            "reserved_after": c.level.reserved,
            "reason": str(reason),
            "actor": actor,
            "reference": c.reference or reference,
            "created_at": now,
        }
        for c in changes
    ]
    stock_events = stock_events_for(
        changes,
        conn.dialect.name,
        reason=reason,
        reference=reference,
        default_threshold=default_threshold,
    )
    all_events = [*extra_events, *stock_events]
    if ledger and all_events and conn.dialect.name == "postgresql":
        packed = [{**row, "created_at": now.isoformat()} for row in ledger]
        events.emit(
            session,
            all_events,
            now=now,
            pg_companions=_PG_LEDGER_CTE,
            pg_params={"ledger": json.dumps(packed)},
        )
        return
    if ledger:
        conn.execute(_INSERT_LEDGER, ledger)
    events.emit(session, all_events, now=now)


_PG_LEDGER_CTE = """
    ledger AS (
        INSERT INTO stock_movements (product_id, location, delta_on_hand, delta_reserved,
                                     on_hand_after, reserved_after, reason, actor, reference,
                                     created_at)
        SELECT * FROM jsonb_to_recordset(CAST(:ledger AS jsonb)) AS l(
            product_id integer, location text, delta_on_hand integer, delta_reserved integer,
            on_hand_after integer, reserved_after integer, reason text, actor text,
            reference text, created_at timestamptz
        )
    ),
"""


def stock_events_for(
    changes: Sequence[Change],
    dialect: str,
    *,
    reason: str,
    reference: str | None,
    default_threshold: int,
) -> list[NewEvent]:
    """``stock.changed`` per product, plus ``stock.low|out|back_in_stock`` when crossed."""
    by_sku: dict[str, list[Change]] = {}
    for change in changes:
        by_sku.setdefault(change.level.sku, []).append(change)
    out: list[NewEvent] = []
    for sku, product_changes in by_sku.items():
        before = _totals(product_changes[0], dialect)[0]
        after = _totals(product_changes[-1], dialect)[1]
        locations = [
            {
                "location": c.level.location,
                "available_before": c.level.on_hand - c.level.reserved - c.d_available,
                "available_after": c.level.on_hand - c.level.reserved,
                "on_hand": c.level.on_hand,
                "reserved": c.level.reserved,
            }
            for c in product_changes
        ]
        out.append(
            NewEvent(
                EventType.STOCK_CHANGED,
                {
                    "sku": sku,
                    "reason": str(reason),
                    "reference": reference,
                    "available_before": before,
                    "available_after": after,
                    "locations": locations,
                },
                sku=sku,
            )
        )
        threshold = product_changes[0].level.threshold
        threshold = default_threshold if threshold is None else int(threshold)
        crossing = _crossing(before, after, threshold)
        if crossing is not None:
            out.append(
                NewEvent(
                    crossing,
                    {
                        "sku": sku,
                        "available_before": before,
                        "available_after": after,
                        "threshold": threshold,
                    },
                    sku=sku,
                )
            )
    return out


def _crossing(before: int, after: int, threshold: int) -> EventType | None:
    if before > 0 >= after:
        return EventType.STOCK_OUT
    if before <= 0 < after:
        return EventType.STOCK_BACK_IN_STOCK
    if before > threshold >= after > 0:
        return EventType.STOCK_LOW
    return None
