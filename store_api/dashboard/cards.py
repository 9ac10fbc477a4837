"""What pages show: periods and filters, cards, Chart.js configs, table cells."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from babel import dates as babel_dates
from flask import (
    request,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from store_api import context, i18n
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


FIELD_LABELS = {
    "from": _l("From"),
    "to": _l("To"),
    "device": _l("Device"),
    "source": _l("Source"),
    "month": _l("Month"),
}


def field_label(name: str) -> str:
    return str(FIELD_LABELS.get(name, name))


def parse_period(
    args: Mapping[str, str], today: dt.date, max_days: int = reports.MAX_DAYS
) -> Period:
    """``from``/``to`` (YYYY-MM-DD, local days, both included); default: the last 30 days."""
    date_to = _parse_day(args, "to") or today
    date_from = _parse_day(args, "from") or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise BadQuery("to", _("The period ends before it starts: check the two dates."))
    if (date_to - date_from).days + 1 > max_days:
        raise BadQuery("to", _("A period is at most %(days)s days.", days=max_days))
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
    raise BadQuery(
        name,
        _(
            "“%(field)s” must be a date written YYYY-MM-DD (for example 2026-11-27).",
            field=field_label(name),
        ),
    )


FILTERS = ("device", "source")


def parse_filters(args: Mapping[str, str]) -> dict[str, str]:
    """``device`` and ``source`` keep the visits that match ("all" or empty: every visit)."""
    chosen: dict[str, str] = {}
    for name in FILTERS:
        value = args.get(name, "").strip()
        if len(value) > MAX_FILTER_LENGTH:
            raise BadQuery(name, _("“%(field)s” is too long.", field=field_label(name)))
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
    # Row index -> (link text, address): an action on that row (resolve a discrepancy).
    actions: dict[int, tuple[str, str]] = field(default_factory=dict)

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


def short(value: Any, width: int = 28) -> str:
    shown = str(value if value is not None else "")
    return shown if len(shown) <= width else shown[: width - 1] + "…"


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
        return error(422, _("Invalid period or filter"), exc.message)
    assert isinstance(exc, DomainError)
    names = ", ".join(f"« {field_label(name)} »" for name in exc.errors) or "-"
    return error(
        exc.status,
        _("Invalid period or filter"),
        _("These values cannot be read: %(fields)s. Check them and try again.", fields=names),
    )


PRESETS = ((_l("7 days"), 7), (_l("30 days"), 30), (_l("90 days"), 90), (_l("1 year"), 365))


def presets(filters: Mapping[str, str]) -> list[tuple[str, str]]:
    """Quick periods ending today, keeping the filters: (label, query string)."""
    today = context.now().astimezone(context.policy().timezone).date()
    return [
        (str(label), query_string(Period(today - dt.timedelta(days=days - 1), today), filters))
        for label, days in PRESETS
    ]


def translated(columns: Sequence[reports.Column]) -> list[reports.Column]:
    """Columns with their labels in the page's language (the keys never change)."""
    return [replace(column, label=_(column.label)) for column in columns]


def day_label(day: dt.date) -> str:
    """A day on a chart axis: ``ven. 27 nov.`` (fr), ``Fri 27 Nov`` (en)."""
    return babel_dates.format_date(day, "EEE d MMM", locale=_babel_locale())


def _babel_locale() -> str:
    return {"fr": "fr_FR", "en": "en_GB"}[i18n.current_locale()]


# --- table cells -----------------------------------------------------------------------------


NUMERIC_KINDS = frozenset({"integer", "rate", "money", "seconds", "minutes", "number"})
# Codes in rows shown as words; the CSV keeps the codes.
VALUE_LABELS: dict[str, dict[str, Any]] = {
    "status": {
        "open": _l("open"),
        "resolved": _l("resolved"),
        "pending": _l("pending"),
        "delivered": _l("delivered"),
        "failed": _l("failed"),
    },
    "kind": {
        "missing": _l("missing"),
        "surplus": _l("surplus"),
        "shelf": _l("shelf scale"),
        "zone": _l("presence sensor"),
        "door": _l("door counter"),
        "device": _l("device"),
    },
    "dimension": {"fee": _l("delivery fee"), "distance_to_free": _l("distance to free delivery")},
    "device": {"all": _l("all"), "desktop": _l("computer"), "mobile": _l("phone"),
               "tablet": _l("tablet")},
    "source": {"all": _l("all"), "direct": _l("direct")},
    "channel": {"store": _l("store"), "web": _l("webshop")},
    "category": {"": _l("(no category)")},
    # The delivery-fee buckets (store_api/analytics/rollup.py): words, and French decimals.
    "bucket": {
        "free": _l("free"),
        "30 and more": _l("30 and more"),
        "free delivery reached": _l("free delivery reached"),
        "200 and more": _l("200 and more"),
        "no free delivery threshold": _l("no free delivery threshold"),
    },
}  # fmt: skip


def value_label(key: str, value: Any) -> str:
    """A code as people read it (``store`` → ``magasin``); unknown values as they are."""
    found = VALUE_LABELS.get(key, {}).get(value)
    if found is not None:
        return str(found)
    if key == "bucket" and i18n.current_locale() == "fr":
        return str(value).replace(".", ",")  # "0.01-4.99" → "0,01-4,99"
    return str(value)


@bp.app_template_filter("dashboard_value")
def _value_filter(value: Any, key: str) -> str:
    return value_label(key, value)


@bp.app_template_filter("dashboard_filters")
def filters_text(filters: Mapping[str, str]) -> str:
    """``Appareil = téléphone, Source = google``: the filters a page applies, as words."""
    return ", ".join(
        f"{field_label(name)} = {value_label(name, value)}" for name, value in filters.items()
    )


@bp.app_template_filter("dashboard_cell")
def format_cell(value: Any, column: reports.Column) -> str:
    """A table cell by its column kind, the French way: ``1 234,50 €``, ``12,5 %``."""
    locale = i18n.current_locale()
    if isinstance(value, str) and column.key in VALUE_LABELS:
        return value_label(column.key, value)
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        # Shown as the rows hold them: the view converts to the shop's time zone.
        return babel_dates.format_datetime(value, "short", locale=_babel_locale())
    if isinstance(value, dt.date):
        return babel_dates.format_date(value, "medium", locale=_babel_locale())
    if column.kind == "rate":
        return i18n.format_percent(number(value), locale, 1)
    if column.kind == "money":
        return i18n.format_money(Decimal(str(value)), locale)
    if isinstance(value, float):
        return i18n.format_number(value, locale, digits=1)
    if isinstance(value, int):
        return i18n.format_number(value, locale)
    return str(value)


@bp.app_template_filter("dashboard_numeric")
def is_numeric(column: reports.Column) -> bool:
    return column.kind in NUMERIC_KINDS
