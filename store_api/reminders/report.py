"""What reminders bring: per kind, messages sent -> customers who came back -> revenue.

A customer "came back" after a reminder when they made a hold, had one committed or placed an
order within ``comeback_days`` of it. Revenue is the value of the sales among those (committed
store holds and confirmed orders, at the product's current price); each sale counts once, for
the latest reminder before it.
"""

from __future__ import annotations

import bisect
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.orders.models import Order, OrderLine, OrderStatus
from store_api.reminders.kinds import Kind
from store_api.reminders.models import MessageStatus, ReminderMessage
from store_api.stock.models import Reservation, ReservationStatus


@dataclass(frozen=True)
class KindFigures:
    kind: str
    sent: int
    came_back: int
    revenue: Decimal

    @property
    def return_rate(self) -> float:
        return self.came_back / self.sent if self.sent else 0.0


@dataclass(frozen=True)
class Benefit:
    date_from: dt.date
    date_to: dt.date
    comeback_days: int
    kinds: list[KindFigures]

    @property
    def total(self) -> KindFigures:
        return KindFigures(
            "total",
            sum(k.sent for k in self.kinds),
            sum(k.came_back for k in self.kinds),
            sum((k.revenue for k in self.kinds), Decimal("0.00")),
        )


def _bounds(day_from: dt.date, day_to: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day_from, dt.time(0), tzinfo=tz).astimezone(dt.UTC)
    end = dt.datetime.combine(day_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start, end.astimezone(dt.UTC)


def benefit(
    session: Session,
    date_from: dt.date,
    date_to: dt.date,
    *,
    timezone: ZoneInfo,
    comeback_days: int = 14,
) -> Benefit:
    start, end = _bounds(date_from, date_to, timezone)
    window = dt.timedelta(days=comeback_days)
    sent: Sequence[Any] = session.execute(
        select(ReminderMessage.kind, ReminderMessage.customer_id, ReminderMessage.sent_at)
        .where(
            ReminderMessage.status == MessageStatus.SENT.value,
            ReminderMessage.sent_at >= start,
            ReminderMessage.sent_at < end,
            ReminderMessage.customer_id.is_not(None),
        )
        .order_by(ReminderMessage.sent_at, ReminderMessage.id)
    ).all()
    people = {customer_id for _kind, customer_id, _at in sent}
    visits, sales = _activity(session, people, start, end + window)

    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    revenue: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
    by_customer: dict[uuid.UUID, list[tuple[dt.datetime, str]]] = defaultdict(list)
    for kind, customer_id, sent_at in sent:
        counts[kind][0] += 1
        times = visits.get(customer_id, [])
        i = bisect.bisect_right(times, sent_at)
        if i < len(times) and times[i] <= sent_at + window:
            counts[kind][1] += 1
        by_customer[customer_id].append((sent_at, kind))
    for customer_id, customer_sales in sales.items():
        reminders = by_customer[customer_id]
        moments = [at for at, _kind in reminders]
        for sold_at, value in customer_sales:
            i = bisect.bisect_left(moments, sold_at) - 1
            if i >= 0 and sold_at - moments[i] <= window:
                revenue[reminders[i][1]] += value
    kinds = [
        KindFigures(k.value, counts[k.value][0], counts[k.value][1], revenue[k.value]) for k in Kind
    ]
    return Benefit(date_from, date_to, comeback_days, kinds)


def _activity(
    session: Session, people: set[uuid.UUID], start: dt.datetime, end: dt.datetime
) -> tuple[dict[uuid.UUID, list[dt.datetime]], dict[uuid.UUID, list[tuple[dt.datetime, Decimal]]]]:
    """Per customer: when they held, bought or ordered (sorted), and their sales' values."""
    visits: dict[uuid.UUID, list[dt.datetime]] = defaultdict(list)
    sales: dict[uuid.UUID, list[tuple[dt.datetime, Decimal]]] = defaultdict(list)
    if not people:
        return visits, sales
    holds: Sequence[Any] = session.execute(
        select(
            Reservation.customer_id,
            Reservation.created_at,
            Reservation.status,
            Reservation.closed_at,
            Reservation.order_id,
            Reservation.quantity,
            Product.price,
        )
        .join(Product, Product.id == Reservation.product_id)
        .where(
            Reservation.customer_id.in_(people),
            Reservation.created_at >= start,
            Reservation.created_at < end,
        )
    ).all()
    for customer_id, created_at, status, closed_at, order_id, quantity, price in holds:
        visits[customer_id].append(created_at)
        if status == ReservationStatus.COMMITTED and order_id is None and closed_at:
            visits[customer_id].append(closed_at)
            sales[customer_id].append((closed_at, price * quantity))
    orders: Sequence[Any] = session.execute(
        select(Order.customer_id, Order.created_at, OrderLine.quantity, Product.price)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.customer_id.in_(people),
            Order.status == OrderStatus.CONFIRMED.value,
            Order.created_at >= start,
            Order.created_at < end,
        )
    ).all()
    totals: dict[tuple[uuid.UUID, dt.datetime], Decimal] = defaultdict(lambda: Decimal("0.00"))
    for customer_id, created_at, quantity, price in orders:
        totals[(customer_id, created_at)] += price * quantity
    for (customer_id, created_at), value in totals.items():
        visits[customer_id].append(created_at)
        sales[customer_id].append((created_at, value))
    for times in visits.values():
        times.sort()
    for valued in sales.values():
        valued.sort()
    return visits, sales
