"""The sales page: revenue, units and purchases by day, channel or category, and its CSV.

Prices are those recorded at each sale (migration 0015); sales older than it were priced from
the catalogue and show up in the "Of which estimated" column.
"""

from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.analytics import reports
from store_api.dashboard.cards import (
    BLUE,
    PAGE_ROWS,
    BadQuery,
    Card,
    Period,
    add_chart,
    bar_chart,
    dataset,
    day_label,
    invalid,
    number,
    parse_period,
    presets,
    query_string,
    translated,
    value_label,
)
from store_api.dashboard.core import bp, login_required, page
from store_api.errors import DomainError
from store_api.sales import service

# The page's tabs: one grouping each (the API also combines them).
GROUPINGS = (("day", _l("By day")), ("channel", _l("By channel")), ("category", _l("By category")))


def _read() -> tuple[Period, str]:
    today = context.now().astimezone(context.policy().timezone).date()
    period = parse_period(request.args, today, max_days=service.MAX_DAYS)
    by = request.args.get("by", "day")
    if by not in service.GROUPS:
        raise BadQuery("by", _("Group sales by day, channel or category."))
    return period, by


def _lines(period: Period) -> list[service.Sale]:
    session = db.get_session()
    with db.read(session):
        return service.sales(session, period.date_from, period.date_to, context.policy().timezone)


def _card(found: reports.Report, by: str) -> Card:
    rows = list(found.rows)
    card = Card(
        slug="sales",
        title=_(found.title),
        description=_(found.description),
        columns=translated(found.columns),
        rows=rows[:PAGE_ROWS],
        total_rows=len(rows),
    )
    if rows:
        labels = [
            day_label(row["day"]) if by == "day" else value_label(by, row[by]) for row in rows
        ]
        config = bar_chart(
            labels,
            [dataset(_("Revenue (€)"), [number(row["revenue"]) for row in rows], BLUE)],
            horizontal=by != "day",
        )
        config["options"]["plugins"]["legend"] = {"display": False}
        add_chart(card, _("Revenue at the prices of the sale"), config, len(rows))
    return card


@bp.get("/sales")
@login_required
def sales_page() -> tuple[str, int]:
    try:
        period, by = _read()
        lines = _lines(period)
    except (BadQuery, DomainError) as exc:
        return invalid(exc)
    found = service.report(lines, [by], period.date_from, period.date_to)
    return page(
        "sales.html",
        card=_card(found, by),
        total=service.totals(lines),
        period=period,
        by=by,
        groupings=GROUPINGS,
        query=query_string(period, {"by": by}),
        presets=presets({"by": by}),
    )


@bp.get("/sales.csv")
@login_required
def sales_csv() -> Response | tuple[str, int]:
    try:
        period, by = _read()
        lines = _lines(period)
    except (BadQuery, DomainError) as exc:
        return invalid(exc)
    found = service.report(lines, [by], period.date_from, period.date_to)
    name = f"sales-{by}_{period.date_from.isoformat()}_{period.date_to.isoformat()}.csv"
    return Response(
        reports.report_csv(found),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
