"""What was sold, at what price: by day, channel and category (no Flask; callers frame reads).

A sale is a confirmed web order (each line) or a hold committed outside an order (a seller's
sale in the store, or a web hold the webshop committed itself). Holds consumed by an order
are counted once, through the order. Cancelled orders are not sales. Prices are those
recorded at the sale (migration 0015); older sales were priced from the catalogue when it
ran and are flagged ``estimated``.

Days are the shop's local days (``tz``), both ends included, like every report.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.analytics.reports import Column, Report
from store_api.catalog.models import Product
from store_api.errors import ErrorCode, Invalid
from store_api.i18n import N_
from store_api.orders.models import Order, OrderLine, OrderStatus
from store_api.periods import period_errors
from store_api.stock.models import Reservation, ReservationStatus

MAX_DAYS = 400
GROUPS = ("day", "channel", "category")
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
UNCATEGORISED = ""


@dataclass(frozen=True)
class Sale:
    """One product line sold: an order line or a committed hold."""

    document: str  # "order:<id>" or "hold:<id>": one customer's purchase
    at: dt.datetime
    day: dt.date
    channel: str
    sku: str
    name: str
    category: str
    units: int
    revenue: Decimal
    estimated: bool


def local_bounds(
    date_from: dt.date, date_to: dt.date, tz: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the local days ``date_from`` .. ``date_to``."""
    start = dt.datetime.combine(date_from, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def check_period(date_from: dt.date, date_to: dt.date) -> None:
    errors = period_errors(date_from, date_to, max_days=MAX_DAYS)
    if errors:
        raise Invalid(ErrorCode.VALIDATION_ERROR, "Invalid sales period.", errors)


def sales(session: Session, date_from: dt.date, date_to: dt.date, tz: dt.tzinfo) -> list[Sale]:
    """Every product line sold in the period, oldest first."""
    check_period(date_from, date_to)
    start, end = local_bounds(date_from, date_to, tz)
    found: list[Sale] = []
    ordered = session.execute(
        select(
            Order.id,
            Order.created_at,
            Order.channel,
            OrderLine.sku,
            OrderLine.quantity,
            OrderLine.line_total,
            OrderLine.price_estimated,
            Product.name,
            Product.category,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(
            Order.status == OrderStatus.CONFIRMED.value,
            Order.created_at >= start,
            Order.created_at < end,
        )
    )
    for row in ordered:
        found.append(
            Sale(
                f"order:{row.id}",
                row.created_at,
                row.created_at.astimezone(tz).date(),
                row.channel,
                row.sku,
                row.name,
                row.category or UNCATEGORISED,
                row.quantity,
                Decimal(row.line_total).quantize(CENT),
                row.price_estimated,
            )
        )
    held = session.execute(
        select(
            Reservation.id,
            Reservation.closed_at,
            Reservation.channel,
            Reservation.sku,
            Reservation.quantity,
            Reservation.total,
            Reservation.price_estimated,
            Product.name,
            Product.category,
        )
        .join(Product, Product.id == Reservation.product_id)
        .where(
            Reservation.status == ReservationStatus.COMMITTED.value,
            Reservation.order_id.is_(None),
            Reservation.closed_at >= start,
            Reservation.closed_at < end,
        )
    )
    for sold in held:
        closed_at = sold.closed_at
        assert closed_at is not None
        found.append(
            Sale(
                f"hold:{sold.id}",
                closed_at,
                closed_at.astimezone(tz).date(),
                sold.channel,
                sold.sku,
                sold.name,
                sold.category or UNCATEGORISED,
                sold.quantity,
                Decimal(sold.total or 0).quantize(CENT),
                sold.price_estimated,
            )
        )
    found.sort(key=lambda sale: (sale.at, sale.document, sale.sku))
    return found


@dataclass
class Totals:
    """Sales (distinct purchases), units and revenue of a group of sold lines."""

    sales: int = 0
    units: int = 0
    revenue: Decimal = ZERO
    estimated_revenue: Decimal = ZERO

    @property
    def average_basket(self) -> Decimal | None:
        return (self.revenue / self.sales).quantize(CENT) if self.sales else None


def totals(lines: Iterable[Sale]) -> Totals:
    result = Totals()
    documents: set[str] = set()
    for sale in lines:
        documents.add(sale.document)
        result.units += sale.units
        result.revenue += sale.revenue
        if sale.estimated:
            result.estimated_revenue += sale.revenue
    result.sales = len(documents)
    return result


def grouped(lines: Sequence[Sale], by: Sequence[str]) -> list[dict[str, Any]]:
    """One row per combination of ``by`` (``day``, ``channel``, ``category``), sorted by it."""
    unknown = [name for name in by if name not in GROUPS]
    if unknown or not by:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            "Invalid sales grouping.",
            {"by": [f"One or more of: {', '.join(GROUPS)}."]},
        )
    groups: dict[tuple[Any, ...], list[Sale]] = defaultdict(list)
    for sale in lines:
        groups[tuple(getattr(sale, name) for name in by)].append(sale)
    rows = []
    for key in sorted(groups):
        found = totals(groups[key])
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "sales": found.sales,
                "units": found.units,
                "revenue": found.revenue,
                "average_basket": found.average_basket,
                "estimated_revenue": found.estimated_revenue,
            }
        )
    return rows


GROUP_COLUMNS = {
    "day": Column("day", N_("Day"), "date"),
    "channel": Column("channel", N_("Channel"), "text"),
    "category": Column("category", N_("Category"), "text"),
}
VALUE_COLUMNS = (
    Column("sales", N_("Sales"), "integer"),
    Column("units", N_("Units"), "integer"),
    Column("revenue", N_("Revenue"), "money"),
    Column("average_basket", N_("Average basket"), "money"),
    Column("estimated_revenue", N_("Of which estimated"), "money"),
)


def report(
    lines: Sequence[Sale], by: Sequence[str], date_from: dt.date, date_to: dt.date
) -> Report:
    """The grouped rows as a report (the API's CSV and the owner's page share it)."""
    return Report(
        slug="sales",
        title=N_("Sales"),
        description=N_("Orders and store sales at the prices of the moment."),
        columns=[*(GROUP_COLUMNS[name] for name in by), *VALUE_COLUMNS],
        rows=grouped(lines, by),
        date_from=date_from,
        date_to=date_to,
    )
