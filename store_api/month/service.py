"""The month's figures, each from its own source (no Flask; callers frame reads).

Every figure is measured from what was recorded, never declared: sales at the prices of the
moment (``store_api.sales``), holds from paired tablets, refusals for insufficient stock that
another channel caused (``stock_refusals``), help alerts and how fast a seller went, the
in-store recommendations funnel, supplier files applied, and what reminders brought (the
reminders' own benefit report, so the month shows what the Relances page shows for its days).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.analytics import reports
from store_api.errors import ErrorCode, Invalid
from store_api.reminders import report as reminder_report
from store_api.sales import service as sales
from store_api.shelves.models import HelpAlert
from store_api.shelves.service import ResponseTimes, response_times
from store_api.stock.models import Reservation, ReservationStatus, StockRefusal
from store_api.suppliers.models import FeedImport, FeedStatus
from store_api.tablets.models import Tablet

MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
CHANNELS = ("store", "web")


def parse_month(value: str | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """``"2026-11"`` → (1 Nov, 30 Nov); ``None`` → the current month. Bad input: Invalid."""
    if value is None or value == "":
        first = today.replace(day=1)
    else:
        found = MONTH.match(value.strip())
        if not found or not 2000 <= int(found.group(1)) <= 2999:
            raise Invalid(
                ErrorCode.VALIDATION_ERROR,
                "Invalid month.",
                {"month": ["A month as YYYY-MM, e.g. 2026-11."]},
            )
        first = dt.date(int(found.group(1)), int(found.group(2)), 1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following - dt.timedelta(days=1)


@dataclass(frozen=True)
class ChannelSales:
    channel: str
    sales: int
    units: int
    revenue: Decimal


@dataclass(frozen=True)
class TabletHolds:
    holds: int  # made from a paired tablet in the month
    sold: int  # of those, committed (sold at the till or through an order)
    units_sold: int
    revenue: Decimal


@dataclass(frozen=True)
class LastUnits:
    """Refusals for insufficient stock that the other channel caused (it held or sold them)."""

    refusals: int
    units: int
    skus: int
    by_channel: dict[str, int]  # refused channel -> refusals


@dataclass(frozen=True)
class Recommendations:
    shown: int
    accepted: int
    sold: int
    revenue: Decimal


@dataclass(frozen=True)
class Feeds:
    applied: int
    suppliers: int
    created: int
    changed: int


@dataclass(frozen=True)
class Reminders:
    """All kinds together, as the reminders' benefit report counts them (its ``total``)."""

    sent: int  # messages sent in the month
    came_back: int  # of those, followed by a hold, a purchase or an order within comeback_days
    revenue: Decimal  # those customers' sales in that window, each counted once
    comeback_days: int

    @property
    def return_rate(self) -> float:
        return self.came_back / self.sent if self.sent else 0.0


@dataclass
class Month:
    first: dt.date
    last: dt.date
    complete: bool  # False while the month is still running (figures to date)
    sales: list[ChannelSales] = field(default_factory=list)
    revenue: Decimal = Decimal("0.00")
    estimated_revenue: Decimal = Decimal("0.00")
    tablets: TabletHolds | None = None
    last_units: LastUnits | None = None
    help: ResponseTimes | None = None
    recommendations: Recommendations | None = None
    reminders: Reminders | None = None
    feeds: Feeds | None = None


def _channel_sales(lines: list[sales.Sale]) -> list[ChannelSales]:
    found = []
    for channel in CHANNELS:
        totals = sales.totals(line for line in lines if line.channel == channel)
        found.append(ChannelSales(channel, totals.sales, totals.units, totals.revenue))
    return found


def tablet_holds(session: Session, start: dt.datetime, end: dt.datetime) -> TabletHolds:
    """Holds a paired tablet made in the month, and those that became a sale."""
    tablet_keys = select(Tablet.api_key_id)
    rows = session.execute(
        select(Reservation.status, Reservation.quantity, Reservation.total).where(
            Reservation.created_by_key_id.in_(tablet_keys),
            Reservation.created_at >= start,
            Reservation.created_at < end,
        )
    ).all()
    sold = [row for row in rows if row.status == ReservationStatus.COMMITTED.value]
    return TabletHolds(
        holds=len(rows),
        sold=len(sold),
        units_sold=sum(row.quantity for row in sold),
        revenue=sum((Decimal(row.total or 0) for row in sold), Decimal("0.00")),
    )


def last_units(session: Session, start: dt.datetime, end: dt.datetime) -> LastUnits:
    rows = session.scalars(
        select(StockRefusal).where(
            StockRefusal.other_channel.is_not(None),
            StockRefusal.refused_at >= start,
            StockRefusal.refused_at < end,
        )
    ).all()
    return LastUnits(
        refusals=len(rows),
        units=sum(row.requested for row in rows),
        skus=len({row.sku for row in rows}),
        by_channel=dict(Counter(row.channel for row in rows)),
    )


def help_alerts(session: Session, start: dt.datetime, end: dt.datetime) -> ResponseTimes:
    alerts = session.scalars(
        select(HelpAlert).where(HelpAlert.raised_at >= start, HelpAlert.raised_at < end)
    ).all()
    return response_times(alerts)


def recommendations(
    session: Session, first: dt.date, last: dt.date, now: dt.datetime, tz: Any
) -> Recommendations:
    found = reports.run_report(
        session,
        "recommendations",
        reports.ReportQuery(first, last, {"group": "day"}),
        now=now,
        tz=tz,
    )

    def total(key: str) -> Any:
        return sum((row.get(key) or 0 for row in found.rows), 0)

    return Recommendations(
        shown=int(total("shown")),
        accepted=int(total("accepted")),
        sold=int(total("sold")),
        revenue=Decimal(str(total("revenue"))).quantize(sales.CENT),
    )


def feeds(session: Session, start: dt.datetime, end: dt.datetime) -> Feeds:
    rows = session.execute(
        select(FeedImport.supplier_id, FeedImport.summary).where(
            FeedImport.status == FeedStatus.APPLIED.value,
            FeedImport.applied_at >= start,
            FeedImport.applied_at < end,
        )
    ).all()

    def counted(summary: dict[str, Any], key: str) -> int:
        value = (summary or {}).get(key, 0)
        return int(value) if isinstance(value, int) else len(value or ())

    return Feeds(
        applied=len(rows),
        suppliers=len({row.supplier_id for row in rows}),
        created=sum(counted(row.summary, "new") for row in rows),
        changed=sum(counted(row.summary, "changed") for row in rows),
    )


def reminders(
    session: Session, first: dt.date, last: dt.date, tz: Any, comeback_days: int
) -> Reminders:
    """What reminders brought: the total of the reminders' benefit report for the same days
    (``store_api.reminders.report.benefit``, what the Relances page and
    ``GET /api/v1/reminders/report`` show), never a count of its own."""
    total = reminder_report.benefit(
        session, first, last, timezone=tz, comeback_days=comeback_days
    ).total
    return Reminders(total.sent, total.came_back, total.revenue, comeback_days)


def month(
    session: Session,
    first: dt.date,
    last: dt.date,
    *,
    now: dt.datetime,
    tz: Any,
    recommended: Recommendations,
    comeback_days: int = 14,
) -> Month:
    """Every figure of the month (the caller frames one read transaction). ``recommended``
    comes from :func:`recommendations`, called before, outside any transaction: that report
    first folds the events collected since the last rollup (``reports.run_report``).
    ``comeback_days``: the shop's ``REMINDER_COMEBACK_DAYS``, as the reminders report uses."""
    start, end = sales.local_bounds(first, last, tz)
    lines = sales.sales(session, first, last, tz)
    totals = sales.totals(lines)
    result = Month(first=first, last=last, complete=now >= end)
    result.sales = _channel_sales(lines)
    result.revenue = totals.revenue
    result.estimated_revenue = totals.estimated_revenue
    result.tablets = tablet_holds(session, start, end)
    result.last_units = last_units(session, start, end)
    result.help = help_alerts(session, start, end)
    result.recommendations = recommended
    result.reminders = reminders(session, first, last, tz, comeback_days)
    result.feeds = feeds(session, start, end)
    return result
