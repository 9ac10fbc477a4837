"""What pages show: periods and filters, cards, Chart.js configs, table cells."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from flask import (
    request,
)

from store_api import context, periods
from store_api.analytics import reports
from store_api.dashboard.core import bp, error
from store_api.errors import DomainError

DEFAULT_DAYS = 30
MAX_FILTER_LENGTH = 120
COMPACT_ROWS = 10
PAGE_ROWS = 500


class BadQuery(ValueError):
    """A period or filter the owner typed that cannot be read: a 422 page naming it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass(frozen=True)
class Period:
    date_from: dt.date
    date_to: dt.date


def parse_period(args: Mapping[str, str], today: dt.date) -> Period:
    """``from``/``to`` (YYYY-MM-DD, local days, both included); default: the last 30 days."""
    date_to = _parse_day(args, "to") or today
    date_from = _parse_day(args, "from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    for name, messages in periods.period_errors(
        date_from, date_to, max_days=reports.MAX_DAYS
    ).items():
        raise BadQuery(name, f"'{name}': {' '.join(messages)}")
    return Period(date_from, date_to)


def _parse_day(args: Mapping[str, str], name: str) -> dt.date | None:
    raw = args.get(name, "").strip()
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return dt.date.fromisoformat(raw)
    except ValueError:
        pass
    raise BadQuery(name, f"'{name}' must be a date written YYYY-MM-DD.")


FILTERS = ("device", "source")


def parse_filters(args: Mapping[str, str]) -> dict[str, str]:
    """``device`` and ``source`` keep the visits that match ("all" or empty: every visit)."""
    chosen: dict[str, str] = {}
    for name in FILTERS:
        value = args.get(name, "").strip()
        if len(value) > MAX_FILTER_LENGTH:
            raise BadQuery(name, f"'{name}' is too long.")
        if value and value != "all":
            chosen[name] = value
    return chosen


# --- what a report card shows ----------------------------------------------------------------


@dataclass
class Chart:
    id: str
    title: str
    config: dict[str, Any]
    size: str = "normal"


@dataclass
class Card:
    slug: str
    title: str
    description: str
    columns: list[Any]
    rows: list[dict[str, Any]]
    total_rows: int
    charts: list[Chart] = field(default_factory=list)
    # Row indexes to highlight in the table (search terms that found nothing).
    highlighted: set[int] = field(default_factory=set)
    note: str = ""

    @property
    def empty(self) -> bool:
        return not self.charts


def number(value: Any) -> float:
    """Rows carry ints, floats, Decimals or money strings ("123.40"); charts want numbers."""
    if value is None or isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


def percent(value: Any) -> float:
    return round(number(value) * 100, 1)


def short(text: Any, width: int = 28) -> str:
    text = str(text if text is not None else "")
    return text if len(text) <= width else text[: width - 1] + "…"


BLUE = "#2563eb"
AMBER = "#f59e0b"
GREEN = "#16a34a"
RED = "#dc2626"
GREY = "#94a3b8"
TEAL = "#0d9488"


def dataset(
    label: str, data: Sequence[float], colour: str | list[str], **extra: Any
) -> dict[str, Any]:
    return {"label": label, "data": list(data), "backgroundColor": colour, **extra}


def line_dataset(label: str, data: Sequence[float], colour: str, axis: str) -> dict[str, Any]:
    """A second measure drawn as a line over the bars, on its own axis."""
    return dataset(
        label, data, colour, type="line", borderColor=colour, yAxisID=axis, order=0, pointRadius=3
    )


def bar_chart(
    labels: Sequence[Any],
    datasets: list[dict[str, Any]],
    *,
    horizontal: bool = False,
    second_axis: str | None = None,
    units: Mapping[str, str] | None = None,
    stacked: bool = False,
) -> dict[str, Any]:
    """A Chart.js config, JSON only (dashboard.js adds the unit formatters by axis id).

    ``second_axis`` titles an extra value axis, ``x1`` (top) for horizontal bars and ``y1``
    (right) otherwise, for a measure of another unit.
    """
    value_axis, label_axis = ("x", "y") if horizontal else ("y", "x")
    scales: dict[str, Any] = {
        value_axis: {"beginAtZero": True, "stacked": stacked, "ticks": {"precision": 0}},
        label_axis: {"stacked": stacked, "ticks": {"autoSkip": False}},
    }
    if second_axis:
        scales[f"{value_axis}1"] = {
            "beginAtZero": True,
            "ticks": {"precision": 0},
            "position": "top" if horizontal else "right",
            "grid": {"drawOnChartArea": False},
            "title": {"display": True, "text": second_axis},
        }
    for axis in units or {}:
        # Rates and durations are not counts: let their ticks have decimals.
        scales[axis]["ticks"] = {}
    return {
        "type": "bar",
        "data": {"labels": list(labels), "datasets": datasets},
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "animation": False,
            "responsive": True,
            "maintainAspectRatio": False,
            "scales": scales,
            "plugins": {"legend": {"position": "bottom"}},
        },
        "units": dict(units or {}),
    }


def add_chart(card: Card, title: str, config: dict[str, Any], bars: int) -> None:
    """Add a chart; horizontal charts with many bars get a taller box (CSS class)."""
    horizontal = config["options"]["indexAxis"] == "y"
    size = "tall" if horizontal and bars > 8 else "normal"
    card.charts.append(Chart(f"{card.slug}-{len(card.charts)}", title, config, size))


def top_rows(rows: list[dict[str, Any]], key: str, n: int = COMPACT_ROWS) -> list[dict[str, Any]]:
    return [
        row
        for row in sorted(rows, key=lambda row: number(row.get(key)), reverse=True)[:n]
        if number(row.get(key)) > 0
    ]


def query_string(period: Period, filters: Mapping[str, str]) -> str:
    return urlencode(
        {"from": period.date_from.isoformat(), "to": period.date_to.isoformat(), **filters}
    )


def read_args() -> tuple[Period, dict[str, str]]:
    today = context.now().astimezone(context.policy().timezone).date()
    return parse_period(request.args, today), parse_filters(request.args)


def invalid(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, BadQuery):
        return error(422, "Invalid period or filter", exc.message)
    assert isinstance(exc, DomainError)
    details = "; ".join(
        f"{name}: {' '.join(map(str, messages if isinstance(messages, list) else [messages]))}"
        for name, messages in exc.errors.items()
    )
    return error(exc.status, "Invalid period or filter", f"{exc.message} {details}".strip())


def presets(filters: Mapping[str, str]) -> list[tuple[str, str]]:
    """Quick periods ending today, keeping the filters: (label, query string)."""
    today = context.now().astimezone(context.policy().timezone).date()
    return [
        (label, query_string(Period(today - dt.timedelta(days=days - 1), today), filters))
        for label, days in (("7 days", 7), ("30 days", 30), ("90 days", 90), ("1 year", 365))
    ]


# --- table cells -----------------------------------------------------------------------------


NUMERIC_KINDS = frozenset({"integer", "rate", "money", "seconds", "minutes", "number"})


def _grouped(number: str) -> str:
    """Thousands separated by a thin space, as the shop's owner reads them."""
    return number.replace(",", "\u202f")


@bp.app_template_filter("dashboard_cell")
def format_cell(value: Any, column: reports.Column) -> str:
    """A table cell by its column kind: rates as percentages, money with 2 decimals."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        # Shown as the rows hold them: the view converts to the shop's time zone.
        return f"{value:%Y-%m-%d %H:%M}"
    if column.kind == "rate":
        return f"{number(value) * 100:.1f} %"
    if column.kind == "money":
        return _grouped(f"{number(value):,.2f} €")
    if isinstance(value, float):
        return _grouped(f"{value:,.1f}")
    if isinstance(value, int):
        return _grouped(f"{value:,}")
    return str(value)


@bp.app_template_filter("dashboard_numeric")
def is_numeric(column: reports.Column) -> bool:
    return column.kind in NUMERIC_KINDS
