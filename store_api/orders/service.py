"""Placing and cancelling webshop orders.

An order takes all its lines or none. Stock rows are locked in key order (SELECT ... FOR
UPDATE ordered by id on PostgreSQL; SQLite's write transaction is already exclusive), the
allocation is computed, then each row changes with a guarded UPDATE and a ledger row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.errors import Conflict, ErrorCode, Invalid, NotFound, OnHandLimit
from store_api.events.service import EventType, NewEvent
from store_api.orders.models import Order, OrderLine, OrderStatus
from store_api.stock import journal
from store_api.stock import service as stock
from store_api.stock.models import (
    MAX_ON_HAND,
    Channel,
    Reason,
    Reservation,
    ReservationStatus,
    StockLevel,
)


@dataclass(frozen=True)
class LineRequest:
    sku: str
    quantity: int


def request_hash(body: Mapping[str, Any]) -> str:
    """Fingerprint of a request body, insensitive to key order and whitespace."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def find_by_idempotency_key(session: Session, client_key_id: int, key: str) -> Order | None:
    return session.scalars(
        select(Order).where(Order.client_key_id == client_key_id, Order.idempotency_key == key)
    ).one_or_none()


def replay(order: Order, body_hash: str) -> Order:
    """The same key again: same body gives the original order, another body is refused."""
    if order.request_hash != body_hash:
        raise Invalid(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This Idempotency-Key was already used with a different request body.",
            {"Idempotency-Key": ["Already used with a different body; use a new key."]},
        )
    return order


def place_order(
    session: Session,
    *,
    lines: Sequence[LineRequest],
    reservation_ids: Sequence[uuid.UUID],
    client_key_id: int,
    idempotency_key: str,
    body_hash: str,
    actor: str,
    reference: str | None,
    now: dt.datetime,
    policy: stock.StockPolicy,
    channels: Collection[str] | None = None,
) -> tuple[Order, bool]:
    """Place an order, or return the one already placed with this key (``replayed=True``)."""
    existing = find_by_idempotency_key(session, client_key_id, idempotency_key)
    if existing is not None:
        return replay(existing, body_hash), True

    skus = [line.sku for line in lines]
    _reject_duplicate_skus(skus)
    product_ids = select(Product.id).where(Product.sku.in_(skus))
    stock.expire_due(
        session, now=now, policy=policy, product_filter=Reservation.product_id.in_(product_ids)
    )

    levels = session.execute(
        select(
            StockLevel.id,
            StockLevel.location,
            StockLevel.on_hand,
            StockLevel.reserved,
            Product.id.label("product_id"),
            Product.sku,
            Product.active,
        )
        .join(Product, Product.id == StockLevel.product_id)
        .where(Product.sku.in_(skus))
        .order_by(StockLevel.id)
        .with_for_update(of=StockLevel)
    ).all()
    by_sku: dict[str, dict[str, Any]] = defaultdict(dict)
    product_of: dict[str, tuple[int, bool]] = {}
    for row in levels:
        by_sku[row.sku][row.location] = row
        product_of[row.sku] = (row.product_id, row.active)
    _reject_unknown_or_inactive(session, lines, product_of)

    held = _consumable_reservations(session, reservation_ids, lines, product_of, now, channels)
    allocations, shortages = _allocate(lines, by_sku, held, policy)
    if shortages:
        raise Conflict(
            ErrorCode.INSUFFICIENT_STOCK,
            f"{len(shortages)} line(s) cannot be served; nothing was ordered.",
            {"lines": shortages},
        )

    order_id = uuid.uuid4()
    changes = []
    per_level: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # level id -> [on_hand, reserved]
    for line_allocs in allocations:
        for alloc in line_allocs:
            level = by_sku[alloc["sku"]][alloc["location"]]
            per_level[level.id][0] += alloc["quantity"]
            if alloc.get("reservation_id"):
                per_level[level.id][1] += alloc["quantity"]
    for level_id in sorted(per_level):
        take, from_reserved = per_level[level_id]
        free_take = take - from_reserved
        after = stock.guarded_update(
            session,
            [
                StockLevel.id == level_id,
                StockLevel.reserved >= from_reserved,
                StockLevel.on_hand - StockLevel.reserved >= free_take,
            ],
            {
                "on_hand": StockLevel.on_hand - take,
                "reserved": StockLevel.reserved - from_reserved,
                "updated_at": now,
            },
        )
        if after is None:  # locks make this unreachable; refuse rather than oversell
            raise RuntimeError(f"stock level {level_id} changed under lock")
        changes.append(journal.Change(after, -take, -from_reserved))

    for res in held.values():
        res.status = ReservationStatus.COMMITTED
        res.closed_at = now
        res.updated_at = now
        res.order_id = order_id

    line_rows = [
        {
            "order_id": order_id,
            "position": i,
            "product_id": product_of[line.sku][0],
            "sku": line.sku,
            "quantity": line.quantity,
            "allocations": [{k: v for k, v in a.items() if k != "sku"} for a in allocations[i]],
        }
        for i, line in enumerate(lines)
    ]
    order = Order(
        id=order_id,
        status=OrderStatus.CONFIRMED,
        channel=Channel.WEB,
        client_key_id=client_key_id,
        idempotency_key=idempotency_key,
        request_hash=body_hash,
        reference=reference,
        created_by=actor,
        created_at=now,
        snapshot=_snapshot(order_id, OrderStatus.CONFIRMED, reference, now, None, line_rows),
    )
    session.add(order)
    session.flush()
    # One multi-row INSERT without RETURNING (the ORM would insert lines one by one on SQLite).
    session.execute(insert(OrderLine), line_rows)
    stock.record(
        session,
        changes,
        reason=Reason.ORDER,
        actor=actor,
        reference=str(order_id),
        now=now,
        policy=policy,
        extra_events=[
            NewEvent(EventType.ORDER_CREATED, order.snapshot, key=f"order:{order_id}"),
            *(
                NewEvent(EventType.RESERVATION_COMMITTED, stock.reservation_payload(r), sku=r.sku)
                for r in held.values()
            ),
        ],
    )
    return order, False


def snapshot(order: Order) -> dict[str, Any]:
    """The order as it is now, in the same shape as the stored creation snapshot."""
    lines = [
        {"sku": ln.sku, "quantity": ln.quantity, "allocations": ln.allocations}
        for ln in order.lines
    ]
    return _snapshot(
        order.id, order.status, order.reference, order.created_at, order.cancelled_at, lines
    )


def _snapshot(
    order_id: uuid.UUID,
    status: str,
    reference: str | None,
    created_at: dt.datetime,
    cancelled_at: dt.datetime | None,
    lines: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """Plain data, kept on the order so that a replay returns exactly the first response."""
    return {
        "id": str(order_id),
        "status": str(status),
        "reference": reference,
        "created_at": created_at.isoformat(),
        "cancelled_at": cancelled_at.isoformat() if cancelled_at else None,
        "lines": [
            {"sku": ln["sku"], "quantity": ln["quantity"], "allocations": ln["allocations"]}
            for ln in lines
        ],
    }


def _reject_duplicate_skus(skus: Sequence[str]) -> None:
    seen: set[str] = set()
    errors = {}
    for i, sku in enumerate(skus):
        if sku in seen:
            errors[f"lines.{i}.sku"] = [f"{sku} appears on several lines; send one line per SKU."]
        seen.add(sku)
    if errors:
        raise Invalid(ErrorCode.VALIDATION_ERROR, "Duplicate SKUs in order lines.", errors)


def _reject_unknown_or_inactive(
    session: Session, lines: Sequence[LineRequest], product_of: Mapping[str, tuple[int, bool]]
) -> None:
    missing = [line.sku for line in lines if line.sku not in product_of]
    if missing:
        # A product without stock rows (not created through the API) is still a product.
        for pid, sku, active in session.execute(
            select(Product.id, Product.sku, Product.active).where(Product.sku.in_(missing))
        ):
            raise Conflict(
                ErrorCode.INSUFFICIENT_STOCK,
                f"{sku} has no stock at any location.",
                {
                    "lines": [
                        {
                            "sku": sku,
                            "requested": 0,
                            "available": 0,
                            "product_id": pid,
                            "active": active,
                        }
                    ]
                },
            )
        errors = {
            f"lines.{i}.sku": [f"Unknown SKU {line.sku!r}."]
            for i, line in enumerate(lines)
            if line.sku in missing
        }
        raise Invalid(ErrorCode.PRODUCT_NOT_FOUND, "Unknown SKU(s) in order lines.", errors)
    inactive = {
        f"lines.{i}.sku": [f"{line.sku} is no longer sold."]
        for i, line in enumerate(lines)
        if not product_of[line.sku][1]
    }
    if inactive:
        raise Conflict(ErrorCode.PRODUCT_INACTIVE, "Order names products no longer sold.", inactive)


def _consumable_reservations(
    session: Session,
    reservation_ids: Sequence[uuid.UUID],
    lines: Sequence[LineRequest],
    product_of: Mapping[str, tuple[int, bool]],
    now: dt.datetime,
    channels: Collection[str] | None,
) -> dict[uuid.UUID, Reservation]:
    """Reservations the order turns into sales; each must be active and match a line."""
    if not reservation_ids:
        return {}
    found = {
        r.id: r
        for r in session.scalars(
            select(Reservation)
            .where(Reservation.id.in_(reservation_ids))
            .order_by(Reservation.id)
            .with_for_update()
        )
    }
    sku_by_product = {pid: sku for sku, (pid, _active) in product_of.items()}
    quantity_by_sku = {line.sku: line.quantity for line in lines}
    covered: dict[str, int] = defaultdict(int)
    errors: dict[str, list[str]] = {}
    for i, rid in enumerate(reservation_ids):
        res = found.get(rid)
        key = f"reservation_ids.{i}"
        if res is None:
            errors[key] = [f"No reservation {rid}."]
        elif channels is not None and res.channel not in channels:
            errors[key] = [f"Reservation {rid} is a {res.channel} hold; this key may not use it."]
        elif res.status != ReservationStatus.ACTIVE or res.expires_at <= now:
            status = "expired" if res.status == ReservationStatus.ACTIVE else res.status
            errors[key] = [f"Reservation {rid} is {status}."]
        elif res.product_id not in sku_by_product:
            errors[key] = ["Reservation is for a product that is not on any line."]
        else:
            sku = sku_by_product[res.product_id]
            covered[sku] += res.quantity
            if covered[sku] > quantity_by_sku[sku]:
                errors[key] = [f"Reservations hold more units of {sku} than the line orders."]
    if errors:
        raise Conflict(
            ErrorCode.RESERVATION_NOT_ACTIVE, "Some reservations cannot be used.", errors
        )
    return found


def _allocate(
    lines: Sequence[LineRequest],
    by_sku: Mapping[str, Mapping[str, Any]],
    held: Mapping[uuid.UUID, Reservation],
    policy: stock.StockPolicy,
) -> tuple[list[list[dict[str, Any]]], list[dict[str, Any]]]:
    """Reserved units first, then free units in the webshop's location order."""
    allocations: list[list[dict[str, Any]]] = []
    shortages = []
    for i, line in enumerate(lines):
        levels = by_sku[line.sku]
        allocs: list[dict[str, Any]] = []
        remaining = line.quantity
        for res in sorted(held.values(), key=lambda r: str(r.id)):
            level = levels.get(res.location)
            if level is not None and level.product_id == res.product_id:
                allocs.append(
                    {
                        "sku": line.sku,
                        "location": res.location,
                        "quantity": res.quantity,
                        "reservation_id": str(res.id),
                    }
                )
                remaining -= res.quantity
        free = {loc: lvl.on_hand - lvl.reserved for loc, lvl in levels.items()}
        for loc in [*policy.web_order, *sorted(set(levels) - set(policy.web_order))]:
            if remaining <= 0:
                break
            take = min(free.get(loc, 0), remaining)
            if take > 0:
                allocs.append({"sku": line.sku, "location": loc, "quantity": take})
                remaining -= take
        if remaining > 0:
            shortages.append(
                {
                    "index": i,
                    "sku": line.sku,
                    "requested": line.quantity,
                    "available": line.quantity - remaining,
                }
            )
        allocations.append(allocs)
    return allocations, shortages


def get_order(
    session: Session, order_id: uuid.UUID, *, lock: bool = False, client_key_id: int | None = None
) -> Order:
    """An order; with ``client_key_id``, only one placed with that key (webshops see their own)."""
    order = session.get(Order, order_id, with_for_update=lock or None, populate_existing=lock)
    if order is None or (client_key_id is not None and order.client_key_id != client_key_id):
        raise NotFound(ErrorCode.ORDER_NOT_FOUND, f"No order {order_id}.", {"id": str(order_id)})
    return order


def cancel_order(
    session: Session,
    order_id: uuid.UUID,
    *,
    actor: str,
    now: dt.datetime,
    policy: stock.StockPolicy,
    client_key_id: int | None = None,
) -> Order:
    """Put every unit back where it was taken from."""
    order = get_order(session, order_id, lock=True, client_key_id=client_key_id)
    if order.status != OrderStatus.CONFIRMED:
        raise Conflict(
            ErrorCode.ORDER_NOT_CANCELLABLE,
            f"Order {order.id} is {order.status}; it cannot be cancelled.",
            {"id": str(order.id), "status": order.status},
        )
    back: dict[tuple[int, str], int] = defaultdict(int)
    for line in order.lines:
        for alloc in line.allocations:
            back[(line.product_id, alloc["location"])] += int(alloc["quantity"])
    changes = []
    for (product_id, location), quantity in sorted(back.items()):
        after = stock.guarded_update(
            session,
            [
                StockLevel.product_id == product_id,
                StockLevel.location == location,
                StockLevel.on_hand + quantity <= MAX_ON_HAND,
            ],
            {"on_hand": StockLevel.on_hand + quantity, "updated_at": now},
        )
        if after is None:
            level = session.scalars(
                select(StockLevel).where(
                    StockLevel.product_id == product_id, StockLevel.location == location
                )
            ).one()
            sku = next(ln.sku for ln in order.lines if ln.product_id == product_id)
            raise OnHandLimit(sku, location, level.on_hand, quantity, MAX_ON_HAND)
        changes.append(journal.Change(after, quantity, 0))
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    session.flush()
    stock.record(
        session,
        changes,
        reason=Reason.ORDER_CANCEL,
        actor=actor,
        reference=str(order.id),
        now=now,
        policy=policy,
        extra_events=[
            NewEvent(EventType.ORDER_CANCELLED, snapshot(order), key=f"order:{order.id}")
        ],
    )
    return order
