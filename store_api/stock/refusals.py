"""Holds and order lines refused for insufficient stock, kept for the owner's month.

A refusal is worth showing when the other channel had the units: it held them at that moment,
or sold that product in the day before. Those are the last units both channels wanted; a shop
with one stock per channel would have sold them twice (and called a customer to apologise).

The refused request's transaction is rolled back, so the caller records the refusal in a new
transaction (:func:`record`) after the error, then lets the error answer as usual.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.errors import DomainError, ErrorCode
from store_api.orders.models import Order, OrderLine, OrderStatus
from store_api.stock.models import Channel, Reservation, ReservationStatus, StockRefusal

# A sale by the other channel this recent took "the same last units".
CONTEST_WINDOW = dt.timedelta(hours=24)
MAX_RECORDED = 50  # an order has at most this many lines worth recording


@dataclass(frozen=True)
class Shortage:
    sku: str
    requested: int
    available: int


def shortages(error: DomainError) -> list[Shortage]:
    """The SKUs an ``insufficient_stock`` error refused (a hold: one; an order: its lines)."""
    if getattr(error, "code", None) != ErrorCode.INSUFFICIENT_STOCK:
        return []
    details: Mapping[str, Any] = error.errors or {}
    raw = details.get("lines")
    lines: list[Any] = raw if isinstance(raw, list) else [details]
    found = []
    for line in lines[:MAX_RECORDED]:
        if isinstance(line, Mapping) and isinstance(line.get("sku"), str):
            found.append(
                Shortage(
                    line["sku"], int(line.get("requested") or 0), int(line.get("available") or 0)
                )
            )
    return found


def other_channel(session: Session, sku: str, channel: str, now: dt.datetime) -> str | None:
    """The channel that had ``sku``'s units when ``channel`` was refused, if one did."""
    others = [c.value for c in Channel if c.value != channel]
    since = now - CONTEST_WINDOW
    holder = session.scalars(
        select(Reservation.channel)
        .where(Reservation.sku == sku, Reservation.channel.in_(others))
        .where(
            (
                (Reservation.status == ReservationStatus.ACTIVE.value)
                & (Reservation.expires_at > now)
            )
            | (
                (Reservation.status == ReservationStatus.COMMITTED.value)
                & (Reservation.closed_at >= since)
                & (Reservation.closed_at <= now)
            )
        )
        .limit(1)
    ).first()
    if holder is not None:
        return holder
    if Channel.WEB.value in others:
        ordered = session.scalars(
            select(Order.channel)
            .join(OrderLine, OrderLine.order_id == Order.id)
            .where(
                OrderLine.sku == sku,
                Order.status == OrderStatus.CONFIRMED.value,
                Order.created_at >= since,
                Order.created_at <= now,
            )
            .limit(1)
        ).first()
        if ordered is not None:
            return ordered
    return None


def record(
    session: Session,
    found: Iterable[Shortage],
    *,
    kind: str,
    channel: str,
    actor: str,
    now: dt.datetime,
) -> list[StockRefusal]:
    """Keep each refused SKU with the channel that had its units (caller commits)."""
    rows = [
        StockRefusal(
            refused_at=now,
            kind=kind,
            channel=channel,
            sku=shortage.sku,
            requested=shortage.requested,
            available=shortage.available,
            actor=actor[:120],
            other_channel=other_channel(session, shortage.sku, channel, now),
        )
        for shortage in found
    ]
    session.add_all(rows)
    session.flush()
    return rows
