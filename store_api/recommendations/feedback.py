"""Recommendation feedback: what was shown, accepted and sold, and what it brought in.

Every recommendation answer carries a new ``recommendation_id`` (nothing is written when it
is served). Clients report back which suggestions they showed (``reco_shown``) and which the
customer took (``reco_accepted``), and send the same id with the reservation of a suggested
product. A sale counts for a suggestion when a committed reservation carries the id of a
recommendation that was shown or accepted *and* is for the suggested product.

:func:`record_events` takes raw client events (JSON objects) and validates each one on its own,
so the clickstream ingest can hand it the recommendation events of a mixed batch.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from marshmallow import ValidationError
from sqlalchemy import Table, exists, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.orders.models import Order, OrderStatus
from store_api.recommendations.models import FeedbackEvent, RecommendationEvent
from store_api.recommendations.schemas import WIRE_EVENTS, RecommendationEventSchema
from store_api.spreadsheet import csv_text
from store_api.stock.models import Reservation, ReservationStatus

# Tablet clocks drift; an event from further ahead than this is a wrong clock, not a sale.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)

_events = cast(Table, RecommendationEvent.__table__)
_event_schema = RecommendationEventSchema()


# --- recording -----------------------------------------------------------------------


@dataclass(frozen=True)
class Rejected:
    index: int
    errors: dict[str, Any]


@dataclass(frozen=True)
class BatchResult:
    accepted: int
    duplicates: int
    rejected: list[Rejected] = field(default_factory=list)


def _validated(raw: Any, now: dt.datetime) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    try:
        data: dict[str, Any] = _event_schema.load(raw)
    except ValidationError as exc:
        messages = exc.messages
        return None, messages if isinstance(messages, dict) else {"_schema": messages}
    occurred_at = data.get("occurred_at") or now
    if occurred_at > now + FUTURE_TOLERANCE:
        minutes = int(FUTURE_TOLERANCE.total_seconds() // 60)
        return None, {"occurred_at": [f"More than {minutes} minutes in the future."]}
    data["occurred_at"] = occurred_at
    return data, {}


def _insert_ignoring_duplicates(session: Session, rows: list[dict[str, Any]]) -> int:
    """One INSERT for the batch; rows already stored (a retry) are skipped. Returns the new."""
    conn = session.connection()
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        dialect_insert(_events)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["recommendation_id", "event", "suggested_sku"])
        .returning(_events.c.id)
    )
    return len(conn.execute(stmt).all())


def record_events(
    session: Session,
    raw_events: Sequence[Any],
    *,
    channel: str,
    actor: str,
    now: dt.datetime,
) -> BatchResult:
    """Store the valid events of a batch (two statements); report the others by index.

    An unknown product is that event's rejection, never the batch's. The same event sent
    again (same recommendation, event and suggested product) is stored once.
    """
    valid: list[tuple[int, dict[str, Any]]] = []
    rejected: dict[int, dict[str, Any]] = {}
    for index, raw in enumerate(raw_events):
        data, errors = _validated(raw, now)
        if data is None:
            rejected[index] = errors
        else:
            valid.append((index, data))

    named = {d["suggested_sku"] for _i, d in valid} | {
        d["context_sku"] for _i, d in valid if d.get("context_sku")
    }
    known: set[str] = set()
    if named:
        known = set(session.scalars(select(Product.sku).where(Product.sku.in_(named))))

    rows: dict[tuple[uuid.UUID, str, str], dict[str, Any]] = {}
    stored = 0
    for index, data in valid:
        errors = {
            name: [f"Unknown SKU {data[name]!r}."]
            for name in ("suggested_sku", "context_sku")
            if data.get(name) and data[name] not in known
        }
        if errors:
            rejected[index] = errors
            continue
        stored += 1
        event = WIRE_EVENTS[data["event"]]
        # The first of identical events in one batch wins, as it would across retries.
        rows.setdefault(
            (data["recommendation_id"], event, data["suggested_sku"]),
            {
                "recommendation_id": data["recommendation_id"],
                "event": event,
                "context_sku": data.get("context_sku"),
                "suggested_sku": data["suggested_sku"],
                "kind": data.get("kind"),
                "channel": str(channel),
                "actor": actor,
                "occurred_at": data["occurred_at"],
                "received_at": now,
            },
        )
    accepted = _insert_ignoring_duplicates(session, list(rows.values())) if rows else 0
    return BatchResult(
        accepted=accepted,
        duplicates=stored - accepted,
        rejected=[Rejected(i, errors) for i, errors in sorted(rejected.items())],
    )


# --- the report ----------------------------------------------------------------------


@dataclass
class ReportRow:
    """One product (``sku``, ``name``) or one day (``day``) of the report."""

    sku: str | None = None
    name: str | None = None
    day: dt.date | None = None
    shown: int = 0
    accepted: int = 0
    sold: int = 0
    units: int = 0
    revenue: Decimal = Decimal("0.00")

    @property
    def acceptance_rate(self) -> float | None:
        return round(self.accepted / self.shown, 4) if self.shown else None

    @property
    def conversion_rate(self) -> float | None:
        return round(self.sold / self.shown, 4) if self.shown else None

    def as_dict(self) -> dict[str, Any]:
        key: dict[str, Any] = {"day": self.day} if self.day else {}
        if self.sku is not None:
            key = {"sku": self.sku, "name": self.name}
        return {
            **key,
            "shown": self.shown,
            "accepted": self.accepted,
            "sold": self.sold,
            "units": self.units,
            "acceptance_rate": self.acceptance_rate,
            "conversion_rate": self.conversion_rate,
            "revenue": self.revenue,
        }


@dataclass(frozen=True)
class Report:
    date_from: dt.date
    date_to: dt.date
    group: str
    channel: str | None
    rows: list[ReportRow]
    totals: ReportRow


def _bounds(date_from: dt.date, date_to: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The period's days in the shop's time zone, as a half-open UTC range."""
    start = dt.datetime.combine(date_from, dt.time(0), tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(0), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _sales(session: Session, start: dt.datetime, end: dt.datetime, channel: str | None) -> Any:
    """Sales credited to a suggestion: (sku, quantity, closed_at) of committed reservations.

    The reservation's recommendation must have been shown or accepted with this very product
    (a customer who was shown a washer's feet and bought the washer is not a suggestion's
    sale); web reservations turned into an order that was cancelled later do not count.
    """
    credited = exists().where(
        RecommendationEvent.recommendation_id == Reservation.recommendation_id,
        RecommendationEvent.suggested_sku == Reservation.sku,
    )
    stmt = (
        select(Reservation.sku, Reservation.quantity, Reservation.closed_at)
        .outerjoin(Order, Order.id == Reservation.order_id)
        .where(
            Reservation.status == ReservationStatus.COMMITTED.value,
            Reservation.recommendation_id.is_not(None),
            Reservation.closed_at >= start,
            Reservation.closed_at < end,
            or_(Order.id.is_(None), Order.status != OrderStatus.CANCELLED.value),
            credited,
        )
    )
    if channel:
        stmt = stmt.where(Reservation.channel == channel)
    return session.execute(stmt).all()


def report(
    session: Session,
    *,
    date_from: dt.date,
    date_to: dt.date,
    group: str,
    channel: str | None,
    tz: ZoneInfo,
) -> Report:
    """Shown, accepted and sold per suggested product or per day (shop's local days).

    Each figure counts what happened in the period: shown and accepted by the client's event
    time, sold by the time of the sale. Revenue is units x the product's current price.
    """
    start, end = _bounds(date_from, date_to, tz)
    in_period = [RecommendationEvent.occurred_at >= start, RecommendationEvent.occurred_at < end]
    if channel:
        in_period.append(RecommendationEvent.channel == channel)
    sales = _sales(session, start, end, channel)

    rows: dict[Any, ReportRow] = {}
    key_of: Callable[[str, dt.datetime], Any]
    if group == "day":
        day = date_from
        while day <= date_to:
            rows[day] = ReportRow(day=day)
            day += dt.timedelta(days=1)
        key_of = lambda _sku, when: when.astimezone(tz).date()  # noqa: E731
        events = session.execute(
            select(RecommendationEvent.event, RecommendationEvent.occurred_at).where(*in_period)
        ).all()
        for event, occurred_at in events:
            _count(rows[key_of("", occurred_at)], event, 1)
    else:
        key_of = lambda sku, _when: sku  # noqa: E731
        counted = session.execute(
            select(RecommendationEvent.suggested_sku, RecommendationEvent.event, func.count())
            .where(*in_period)
            .group_by(RecommendationEvent.suggested_sku, RecommendationEvent.event)
        ).all()
        for sku, event, n in counted:
            _count(rows.setdefault(sku, ReportRow(sku=sku)), event, n)

    skus = {sku for sku, _q, _when in sales} | {r.sku for r in rows.values() if r.sku}
    products = {
        sku: (name, price)
        for sku, name, price in session.execute(
            select(Product.sku, Product.name, Product.price).where(Product.sku.in_(skus))
        )
    }
    for sku, quantity, closed_at in sales:
        row = rows.setdefault(key_of(sku, closed_at), ReportRow(sku=sku))
        row.sold += 1
        row.units += quantity
        row.revenue += quantity * products[sku][1]
    for row in rows.values():
        if row.sku is not None:
            row.name = products.get(row.sku, (None, None))[0]

    ordered = list(rows.values())
    if group != "day":
        ordered.sort(key=lambda r: (-r.revenue, -r.sold, -r.accepted, -r.shown, r.sku or ""))
    totals = ReportRow(
        shown=sum(r.shown for r in ordered),
        accepted=sum(r.accepted for r in ordered),
        sold=sum(r.sold for r in ordered),
        units=sum(r.units for r in ordered),
        revenue=sum((r.revenue for r in ordered), Decimal("0.00")),
    )
    return Report(date_from, date_to, group, channel, ordered, totals)


def _count(row: ReportRow, event: str, n: int) -> None:
    if event == FeedbackEvent.SHOWN:
        row.shown += n
    elif event == FeedbackEvent.ACCEPTED:
        row.accepted += n


CSV_COLUMNS = (
    "shown",
    "accepted",
    "sold",
    "units",
    "acceptance_rate",
    "conversion_rate",
    "revenue",
)


def report_csv(found: Report) -> str:
    """The report's rows as CSV with a header row (no totals row: spreadsheets sum)."""
    key = ("day",) if found.group == "day" else ("sku", "name")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*key, *CSV_COLUMNS])
    for row in found.rows:
        values = row.as_dict()
        writer.writerow(
            [
                *(_cell(values[k]) for k in key),
                *(_cell(values[c]) for c in CSV_COLUMNS),
            ]
        )
    return out.getvalue()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    # A product name like "=HYPERLINK(...)" must stay text when the owner opens the file.
    return csv_text(value) if isinstance(value, str) else str(value)
