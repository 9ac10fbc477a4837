"""The "In store" page: footfall, help alerts, shelf vs system, devices."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import (
    current_app,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers import Response

from store_api import context, db, i18n
from store_api.analytics import reports
from store_api.dashboard.cards import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    PAGE_ROWS,
    RED,
    BadQuery,
    Card,
    Period,
    add_chart,
    bar_chart,
    dataset,
    day_label,
    invalid,
    line_dataset,
    parse_period,
    percent,
    presets,
    query_string,
    translated,
)
from store_api.dashboard.core import bp, error, login_required, page
from store_api.i18n import N_
from store_api.shelves import service as shelves
from store_api.shelves.models import ShelfDiscrepancy

# What the shelf sensors and the door counters bring in (store_api/shelves/service.py), read
# in-process and shown like the browsing reports: a Card per section, a CSV per table.

_C = reports.Column
_DAY = _C("day", N_("Day"), "date")
FOOTFALL_COLUMNS = (
    _C("visitors_in", N_("Visitors in"), "integer"),
    _C("visitors_out", N_("Visitors out"), "integer"),
    _C("sales", N_("Store sales"), "integer"),
    _C("units_sold", N_("Units sold"), "integer"),
    _C("conversion", N_("Conversion"), "rate"),
)
RESPONSE_COLUMNS = (
    _C("alerts", N_("Alerts"), "integer"),
    _C("acknowledged", N_("Acknowledged"), "integer"),
    _C("escalated", N_("Escalated"), "integer"),
    _C("not_acknowledged", N_("Never acknowledged"), "integer"),
    _C("median_s", N_("Median wait (s)"), "seconds"),
    _C("p90_s", N_("90 % within (s)"), "seconds"),
)
DISCREPANCY_COLUMNS = (
    _C("id", N_("#"), "integer"),
    _C("status", N_("Status"), "text"),
    _C("sku", N_("SKU"), "text"),
    _C("name", N_("Product"), "text"),
    _C("lanes", N_("Lanes"), "text"),
    _C("window", N_("Window"), "text"),
    _C("window_start", N_("Window start"), "datetime"),
    _C("window_end", N_("Window end"), "datetime"),
    _C("kind", N_("Kind"), "text"),
    _C("units", N_("Units"), "integer"),
    _C("taken", N_("Taken"), "integer"),
    _C("put_back", N_("Put back"), "integer"),
    _C("accounted", N_("Accounted for"), "integer"),
    _C("raised_at", N_("Raised"), "datetime"),
    _C("resolved_at", N_("Resolved"), "datetime"),
    _C("resolved_by", N_("Resolved by"), "text"),
    _C("note", N_("Note"), "text"),
)
DEVICE_COLUMNS = (
    _C("device_id", N_("Device"), "text"),
    _C("kind", N_("Kind"), "text"),
    _C("online", N_("Online"), "boolean"),
    _C("last_seen", N_("Last seen"), "datetime"),
    _C("battery", N_("Battery (%)"), "number"),
    _C("last_seq", N_("Last sequence number"), "integer"),
)
DISCREPANCY_PAGE_COLUMNS = (
    "id", "status", "sku", "name", "lanes", "window", "kind", "units", "taken", "put_back",
    "accounted",
)  # fmt: skip
# A device below this battery level is flagged in the table.
LOW_BATTERY = 20.0


@dataclass(frozen=True)
class StoreTable:
    slug: str
    title: str
    description: str
    columns: tuple[reports.Column, ...]
    # The page shows these columns; the CSV has all of them (but not "window", a page label).
    page_columns: tuple[str, ...] = ()

    def csv_columns(self) -> list[reports.Column]:
        return [column for column in self.columns if column.key != "window"]


STORE_TABLES = {
    table.slug: table
    for table in (
        StoreTable(
            "footfall",
            N_("Footfall and store sales"),
            N_(
                "Visitors through the door (door counters) next to the store's sales (committed "
                "store holds, one per product line), per local day; conversion = sales / visitors."
            ),
            (_DAY, *FOOTFALL_COLUMNS),
        ),
        StoreTable(
            "footfall-hours",
            N_("Footfall and store sales by hour of the day"),
            N_(
                "The same for each local hour of the day, summed over the days of the period the "
                "door counters counted someone (a day without door counts would inflate the rate)."
            ),
            (_C("hour", N_("Hour"), "text"), *FOOTFALL_COLUMNS),
        ),
        StoreTable(
            "alerts",
            N_("Help alerts"),
            N_(
                "Customers who lingered at a lane and asked for help (presence sensors), per local "
                "day: how fast a seller acknowledged, how many escalated, how many nobody answered."
            ),
            (_DAY, *RESPONSE_COLUMNS),
        ),
        StoreTable(
            "alert-zones",
            N_("Help alerts by zone"),
            N_("The same, per presence zone, over the period."),
            (_C("zone", N_("Zone"), "text"), *RESPONSE_COLUMNS),
        ),
        StoreTable(
            "discrepancies",
            N_("Shelf vs system"),
            N_(
                "Windows where units left a product's lanes that no hold, sale or write-off "
                "explains (missing), or the ledger moved more floor units than left the shelf "
                "(surplus). Look into the open ones, then mark each resolved with what you found."
            ),
            DISCREPANCY_COLUMNS,
            page_columns=DISCREPANCY_PAGE_COLUMNS,
        ),
        StoreTable(
            "devices",
            N_("Device health"),
            N_(
                "Every sensor of the store as it is now (not filtered by date): online from its "
                "retained status and last will, when it last sent anything, its battery."
            ),
            DEVICE_COLUMNS,
        ),
    )
}
# Each section: its slug, the table it shows (the first download names the section), and its
# CSV downloads as (link text, table).
STORE_SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("footfall", "footfall", ((N_("CSV"), "footfall"), (N_("CSV by hour"), "footfall-hours"))),
    ("alerts", "alert-zones", ((N_("CSV"), "alerts"), (N_("CSV by zone"), "alert-zones"))),
    ("discrepancies", "discrepancies", ((N_("CSV"), "discrepancies"),)),
    ("devices", "devices", ((N_("CSV"), "devices"),)),
)


def _footfall_row(total: shelves.FootfallTotal) -> dict[str, Any]:
    return {
        "visitors_in": total.visitors_in,
        "visitors_out": total.visitors_out,
        "sales": total.sales,
        "units_sold": total.units_sold,
        "conversion": total.conversion,
    }


def _response_row(times: shelves.ResponseTimes) -> dict[str, Any]:
    return {
        "alerts": times.alerts,
        "acknowledged": times.acknowledged,
        "escalated": times.escalated,
        "acknowledged_after_escalation": times.acknowledged_after_escalation,
        "not_acknowledged": times.not_acknowledged,
        "median_s": times.median_s,
        "p90_s": times.p90_s,
    }


def _local(value: dt.datetime | None, tz: dt.tzinfo) -> dt.datetime | None:
    return value.astimezone(tz) if value is not None else None


def _discrepancy_row(
    found: ShelfDiscrepancy, names: Mapping[str, str], tz: dt.tzinfo
) -> dict[str, Any]:
    start, end = found.window_start.astimezone(tz), found.window_end.astimezone(tz)
    return {
        "id": found.id,
        "status": found.status,
        "sku": found.sku,
        "name": names.get(found.sku),
        "lanes": " ".join(found.lanes),
        "window": _window(start, end),
        "window_start": start,
        "window_end": end,
        "kind": found.kind,
        "units": abs(found.difference),
        "taken": found.taken,
        "put_back": found.put_back,
        "accounted": found.accounted,
        "raised_at": found.raised_at.astimezone(tz),
        "resolved_at": _local(found.resolved_at, tz),
        "resolved_by": found.resolved_by,
        "note": found.note,
    }


@dataclass
class StoreData:
    """The rows of the asked tables, plus a few figures for the sections' summaries."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)


def _window(start: dt.datetime, end: dt.datetime) -> str:
    """``27/11/2026 11:00 → 13:00``: the window as the owner reads it (shop time)."""
    locale = i18n.current_locale()
    return f"{i18n.format_date(start.date(), locale, 'short')} {i18n.format_time(start, locale)} → {i18n.format_time(end, locale)}"  # noqa: E501


def _figure(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return i18n.format_number(round(value), i18n.current_locale()) + unit


def _footfall_summary(footfall: shelves.StoreFootfall) -> str:
    total, counted = footfall.total, footfall.counted
    if not (total.visitors_in or total.sales):
        return ""
    sales = ngettext(
        "%(num)s store sale (%(units)s units).",
        "%(num)s store sales (%(units)s units).",
        total.sales,
        units=_figure(total.units_sold),
    )
    if not footfall.counted_days:
        return sales + " " + _("No door counter counted anyone in this period: no conversion rate.")
    rate = i18n.format_percent(counted.conversion or 0, i18n.current_locale(), 1)
    return (
        sales
        + " "
        + ngettext(
            "On the day the door counters counted: %(visitors)s visitors in, %(sales)s store "
            "sales, conversion %(rate)s.",
            "On the %(num)s days the door counters counted: %(visitors)s visitors in, "
            "%(sales)s store sales, conversion %(rate)s.",
            footfall.counted_days,
            visitors=_figure(counted.visitors_in),
            sales=_figure(counted.sales),
            rate=rate,
        )
    )


def read_store(period: Period, slugs: Collection[str]) -> StoreData:
    """Read the tables ``slugs`` through the shelves service (one read transaction)."""
    session = db.get_session()
    tz = context.policy().timezone
    store: str = current_app.config["STORE_ID"]
    span = (period.date_from, period.date_to, tz)
    data = StoreData()
    with db.read(session):
        if {"footfall", "footfall-hours"} & set(slugs):
            footfall = shelves.store_footfall(session, store, *span)
            data.rows["footfall"] = [
                {"day": day, **_footfall_row(total)} for day, total in footfall.days.items()
            ]
            data.rows["footfall-hours"] = [
                {"hour": f"{hour:02d}:00", **_footfall_row(total)}
                for hour, total in footfall.hours.items()
            ]
            data.summary["footfall"] = _footfall_summary(footfall)
        if {"alerts", "alert-zones"} & set(slugs):
            help_ = shelves.help_response(session, store, *span)
            data.rows["alerts"] = [
                {"day": day, **_response_row(times)} for day, times in help_.days.items()
            ]
            data.rows["alert-zones"] = [
                {"zone": zone, **_response_row(times)} for zone, times in help_.zones.items()
            ]
            times = help_.total
            if times.alerts:
                data.summary["alerts"] = _(
                    "%(alerts)s alerts: median %(median)s and 90th percentile %(p90)s to "
                    "acknowledge; %(escalated)s escalated; %(never)s never acknowledged.",
                    alerts=_figure(times.alerts),
                    median=_figure(times.median_s, " s"),
                    p90=_figure(times.p90_s, " s"),
                    escalated=_figure(times.escalated),
                    never=_figure(times.not_acknowledged),
                )
        if "discrepancies" in slugs:
            shelf = shelves.shelf_vs_system(session, store, *span)
            data.rows["discrepancies"] = [
                _discrepancy_row(found, shelf.names, tz) for found in shelf.found
            ]
            data.rows["discrepancies-days"] = [
                {"day": day, "missing": shelf.missing_per_day[day], "surplus": units}
                for day, units in shelf.surplus_per_day.items()
            ]
            still_open = sum(found.status == "open" for found in shelf.found)
            summary = (
                _(
                    "%(open)s open, %(resolved)s resolved; %(missing)s units missing, "
                    "%(surplus)s in surplus.",
                    open=_figure(still_open),
                    resolved=_figure(len(shelf.found) - still_open),
                    missing=_figure(sum(shelf.missing_per_day.values())),
                    surplus=_figure(sum(shelf.surplus_per_day.values())),
                )
                if shelf.found
                else ""
            )
            if shelf.open_before:
                summary += " " + ngettext(
                    "%(num)s from before %(day)s still open.",
                    "%(num)s from before %(day)s still open.",
                    shelf.open_before,
                    day=i18n.format_date(period.date_from, i18n.current_locale()),
                )
            data.summary["discrepancies"] = summary.strip()
        if "devices" in slugs:
            devices = shelves.list_devices(session, store)
            data.rows["devices"] = [
                {
                    "device_id": device.device_id,
                    "kind": device.kind,
                    "online": device.online,
                    "last_seen": _local(device.last_seen, tz),
                    "battery": device.battery,
                    "last_seq": device.last_seq,
                }
                for device in devices
            ]
            offline = sum(not device.online for device in devices)
            low = sum(d.battery is not None and d.battery < LOW_BATTERY for d in devices)
            data.summary["devices"] = _(
                "%(devices)s devices: %(offline)s offline, %(low)s with a battery below %(level)s.",
                devices=_figure(len(devices)),
                offline=_figure(offline),
                low=_figure(low),
                level=i18n.format_percent(LOW_BATTERY / 100, i18n.current_locale(), 0),
            )
    return data


def _day_axis(config: dict[str, Any]) -> dict[str, Any]:
    """Many days: let Chart.js skip labels rather than print them all."""
    config["options"]["scales"]["x"]["ticks"] = {"autoSkip": True, "maxRotation": 0}
    return config


def _conversion(rows: list[dict[str, Any]]) -> list[Any]:
    # No visitor, no rate: a gap in the line rather than 0 %.
    return [None if r["conversion"] is None else percent(r["conversion"]) for r in rows]


def _footfall_chart(rows: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    return bar_chart(
        labels,
        [
            dataset(_("Visitors in"), [r["visitors_in"] for r in rows], BLUE),
            dataset(_("Store sales"), [r["sales"] for r in rows], GREEN),
            line_dataset(_("Conversion"), _conversion(rows), AMBER, "y1"),
        ],
        second_axis=_("Conversion (%)"),
        units={"y1": " %"},
    )


def _footfall_card(card: Card, data: StoreData) -> None:
    days = data.rows["footfall"]
    if not any(r["visitors_in"] or r["sales"] for r in days):
        return
    config = _day_axis(_footfall_chart(days, [day_label(r["day"]) for r in days]))
    add_chart(card, _("Per day: visitors in and store sales (bars), conversion (line)"), config, 0)
    hours = data.rows["footfall-hours"]
    busy = [i for i, r in enumerate(hours) if r["visitors_in"] or r["sales"]]
    if busy:  # the hours of the days the door counters counted, first to last busy hour
        shown = hours[busy[0] : busy[-1] + 1]
        config = _footfall_chart(shown, [r["hour"] for r in shown])
        add_chart(card, _("By hour of the day, over the days with door counts"), config, 0)


def _alerts_card(card: Card, data: StoreData) -> None:
    days = data.rows["alerts"]
    if not any(r["alerts"] for r in days):
        return
    config = bar_chart(
        [day_label(r["day"]) for r in days],
        [
            dataset(
                _("Acknowledged in time"),
                [r["acknowledged"] - r["acknowledged_after_escalation"] for r in days],
                GREEN,
            ),
            dataset(
                _("Acknowledged after escalation"),
                [r["acknowledged_after_escalation"] for r in days],
                AMBER,
            ),
            dataset(_("Never acknowledged"), [r["not_acknowledged"] for r in days], RED),
            line_dataset(_("Median to acknowledge"), [r["median_s"] for r in days], BLUE, "y1"),
            line_dataset(_("90th percentile"), [r["p90_s"] for r in days], GREY, "y1"),
        ],
        stacked=True,
        second_axis=_("Seconds to acknowledge"),
        units={"y1": " s"},
    )
    add_chart(
        card, _("Alerts per day (bars) and time to acknowledge (lines)"), _day_axis(config), 0
    )
    zones = data.rows["alert-zones"]
    config = bar_chart(
        [r["zone"] for r in zones],
        [
            dataset(_("Median to acknowledge"), [r["median_s"] for r in zones], BLUE),
            dataset(_("90th percentile"), [r["p90_s"] for r in zones], GREY),
            line_dataset(_("Alerts"), [r["alerts"] for r in zones], RED, "y1"),
        ],
        second_axis=_("Alerts"),
        units={"y": " s"},
    )
    add_chart(card, _("By zone: time to acknowledge (bars) and alerts (line)"), config, len(zones))


def _discrepancies_card(card: Card, data: StoreData) -> None:
    card.highlighted = {
        index
        for index, row in enumerate(card.rows)
        if row["status"] == "open" and row["kind"] == "missing"
    }
    for index, row in enumerate(card.rows):
        label = _("Resolve") if row["status"] == "open" else _("Details")
        card.actions[index] = (
            label,
            url_for("dashboard.discrepancy", discrepancy_id=row["id"], next=request.full_path),
        )
    if not data.rows["discrepancies"]:
        return
    days = data.rows["discrepancies-days"]
    config = bar_chart(
        [day_label(r["day"]) for r in days],
        [
            dataset(_("Missing units"), [r["missing"] for r in days], RED),
            dataset(_("Surplus units"), [r["surplus"] for r in days], AMBER),
        ],
    )
    add_chart(
        card,
        _("Units missing or in surplus, by the day the window started"),
        _day_axis(config),
        0,
    )


def _devices_card(card: Card, _data: StoreData) -> None:
    card.highlighted = {
        index
        for index, row in enumerate(card.rows)
        if not row["online"] or (row["battery"] is not None and row["battery"] < LOW_BATTERY)
    }


STORE_CHARTS: dict[str, Callable[[Card, StoreData], None]] = {
    "footfall": _footfall_card,
    "alerts": _alerts_card,
    "discrepancies": _discrepancies_card,
    "devices": _devices_card,
}


@dataclass
class StoreSection:
    card: Card
    downloads: list[tuple[str, str]]  # (link text, table slug)
    dated: bool = True  # False: the current state, whatever the period
    wide: bool = False  # a wide table: under the chart rather than beside it


def build_store_section(
    slug: str, shown: str, downloads: Sequence[tuple[str, str]], data: StoreData
) -> StoreSection:
    table, main = STORE_TABLES[shown], STORE_TABLES[downloads[0][1]]
    rows = data.rows[table.slug]
    if table.slug == "footfall":
        rows = rows[::-1]  # the owner looks at today first
    keep = table.page_columns or tuple(column.key for column in table.columns)
    card = Card(
        slug=slug,
        title=_(main.title),
        description=_(main.description),
        columns=translated([column for column in table.columns if column.key in keep]),
        rows=rows[:PAGE_ROWS],
        total_rows=len(rows),
        note=data.summary.get(slug, ""),
    )
    STORE_CHARTS[slug](card, data)
    return StoreSection(
        card, list(downloads), dated=slug != "devices", wide=slug == "discrepancies"
    )


def _store_period() -> Period:
    """The page's period, read as the browsing reports read theirs (wrong: a 422 page)."""
    today = context.now().astimezone(context.policy().timezone).date()
    return parse_period(request.args, today)


@bp.get("/store")
@login_required
def store() -> tuple[str, int]:
    try:
        period = _store_period()
    except BadQuery as exc:
        return invalid(exc)
    data = read_store(period, STORE_TABLES)
    return page(
        "store.html",
        sections=[
            build_store_section(slug, shown, downloads, data)
            for slug, shown, downloads in STORE_SECTIONS
        ],
        period=period,
        filters={},
        query=query_string(period, {}),
        presets=presets({}),
    )


@bp.get("/store/<slug>.csv")
@login_required
def store_csv(slug: str) -> Response | tuple[str, int]:
    table = STORE_TABLES.get(slug)
    if table is None:
        return error(
            404,
            _("No such table"),
            _("The In store page has no table called “%(slug)s”.", slug=slug[:80]),
        )
    today = context.now().astimezone(context.policy().timezone).date()
    if slug == "devices":
        # The devices as they are now, whatever the period: the file is named after today.
        period, filename = Period(today, today), f"store-devices_{today.isoformat()}.csv"
    else:
        try:
            period = _store_period()
        except BadQuery as exc:
            return invalid(exc)
        filename = f"store-{slug}_{period.date_from.isoformat()}_{period.date_to.isoformat()}.csv"
    report = reports.Report(
        slug=slug,
        title=table.title,
        description=table.description,
        columns=table.csv_columns(),
        rows=read_store(period, {slug}).rows[slug],
        date_from=period.date_from,
        date_to=period.date_to,
    )
    return Response(
        reports.report_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
