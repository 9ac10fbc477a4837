"""The webshop pages: the overview of the browsing reports, one report, its CSV."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from werkzeug.wrappers import Response

from store_api import context, db
from store_api.analytics import reports
from store_api.dashboard.cards import (
    AMBER,
    BLUE,
    COMPACT_ROWS,
    GREEN,
    GREY,
    PAGE_ROWS,
    RED,
    TEAL,
    BadQuery,
    Card,
    Period,
    add_chart,
    bar_chart,
    dataset,
    invalid,
    line_dataset,
    number,
    percent,
    presets,
    query_string,
    read_args,
    short,
    top_rows,
)
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import DomainError


def _looked_not_bought(card: Card, rows: list[dict[str, Any]]) -> None:
    top = top_rows(rows, "views")
    if not top:
        return
    config = bar_chart(
        [[row.get("sku"), short(row.get("name"), 32)] for row in top],
        [
            dataset("Product views", [number(r.get("views")) for r in top], BLUE),
            dataset(
                "View → purchase",
                [percent(r.get("purchase_rate")) for r in top],
                AMBER,
                xAxisID="x1",
            ),
        ],
        horizontal=True,
        second_axis="View → purchase (%)",
        units={"x1": " %"},
    )
    config["data"]["skus"] = [row.get("sku") for row in top]
    add_chart(
        card, "Most viewed products and how often a view ends in a purchase", config, len(top)
    )


def _viewed_instead(card: Card, rows: list[dict[str, Any]]) -> None:
    top = top_rows(rows, "visits")
    if not top:
        return

    def side(name: Any, variant: Any) -> str:
        return short(name, 30) + (f" ({variant})" if variant else "")

    labels = [
        [side(r.get("viewed_name"), r.get("viewed_variant")),
         "→ " + side(r.get("bought_name"), r.get("bought_variant"))]
        for r in top
    ]  # fmt: skip
    colours = [AMBER if r.get("colour_swap") else BLUE for r in top]
    config = bar_chart(
        labels,
        [dataset("Visits (amber: colour swap)", [number(r.get("visits")) for r in top], colours)],
        horizontal=True,
    )
    add_chart(card, "Looked longest at … → bought instead", config, len(top))


FUNNEL_STEPS = (
    ("visits", "Visits"),
    ("product_view", "Product view"),
    ("cart", "Cart"),
    ("checkout", "Checkout"),
    ("shipping", "Shipping"),
    ("purchase", "Purchase"),
)


def _funnel(card: Card, rows: list[dict[str, Any]], filters: Mapping[str, str]) -> None:
    """The first row counts every visit the filters keep; the others split it (table)."""
    chosen = next((r for r in rows if (r.get("device"), r.get("source")) == ("all", "all")), None)
    if chosen is None or number(chosen.get("visits")) == 0:
        if filters:
            card.note = "No visits match these filters in this period."
        return
    values = [number(chosen.get(key)) for key, _label in FUNNEL_STEPS]
    config = bar_chart(
        [label for _key, label in FUNNEL_STEPS],
        [dataset("Visits reaching the step", values, [BLUE, BLUE, TEAL, TEAL, AMBER, GREEN])],
        horizontal=True,
    )
    config["options"]["plugins"]["legend"] = {"display": False}
    title = " · ".join(f"{name}: {value}" for name, value in filters.items()) or "All visits"
    add_chart(card, title, config, len(values))


DELIVERY_DIMENSIONS = (
    ("fee", "By delivery fee shown (€)"),
    ("distance_to_free", "By distance to free delivery (€)"),
)


def _delivery_fee(card: Card, rows: list[dict[str, Any]]) -> None:
    for dimension, title in DELIVERY_DIMENSIONS:
        part = sorted(
            (r for r in rows if r.get("dimension") == dimension),
            key=lambda r: number(r.get("bucket_order")),
        )
        if not any(number(r.get("visits")) for r in part):
            continue
        config = bar_chart(
            [r.get("bucket") for r in part],
            [
                dataset(
                    "Abandonment rate", [percent(r.get("abandonment_rate")) for r in part], RED
                ),
                line_dataset("Visits", [number(r.get("visits")) for r in part], GREY, "y1"),
            ],
            second_axis="Visits",
            units={"y": " %"},
        )
        add_chart(card, title, config, len(part))


def _time_to_purchase(card: Card, rows: list[dict[str, Any]]) -> None:
    top = top_rows(rows, "purchases", 12)
    if not top:
        return
    config = bar_chart(
        [short(r.get("category")) for r in top],
        [
            dataset("Median minutes", [number(r.get("median_minutes")) for r in top], BLUE),
            line_dataset("Median pages", [number(r.get("median_pages")) for r in top], AMBER, "y1"),
        ],
        second_axis="Pages",
        units={"y": " min"},
    )
    add_chart(card, "From the first product view to the purchase", config, len(top))


def _sources(card: Card, rows: list[dict[str, Any]]) -> None:
    top = top_rows(rows, "visits")
    if not top:
        return
    labels = [
        [str(r.get("source") or "direct"), short(" / ".join(
            str(part) for part in (r.get("medium"), r.get("campaign")) if part
        ), 24)]
        for r in top
    ]  # fmt: skip
    config = bar_chart(
        labels,
        [
            dataset("Visits", [number(r.get("visits")) for r in top], BLUE),
            dataset("Revenue", [number(r.get("revenue")) for r in top], GREEN, yAxisID="y1"),
        ],
        second_axis="Revenue (€)",
        units={"y1": " €"},
    )
    add_chart(card, "Visits and revenue by source / medium / campaign", config, len(top))


def _site_search(card: Card, rows: list[dict[str, Any]]) -> None:
    """Webshop visitors' and API searches together; a term that found nothing is red."""

    def total(row: dict[str, Any]) -> float:
        return number(row.get("searches")) + number(row.get("api_searches"))

    def empty(row: dict[str, Any]) -> float:
        return number(row.get("no_result_searches")) + number(row.get("api_no_result_searches"))

    card.highlighted = {index for index, row in enumerate(card.rows) if empty(row) > 0}
    top = sorted(rows, key=lambda r: -total(r))[:15]
    top = [r for r in top if total(r) > 0]
    if not top:
        return
    config = bar_chart(
        [short(r.get("term"), 30) for r in top],
        [
            dataset("Searches with results", [total(r) - empty(r) for r in top], BLUE),
            dataset("Searches with no result", [empty(r) for r in top], RED),
        ],
        horizontal=True,
        stacked=True,
    )
    add_chart(card, "Top search terms (red: nothing found)", config, len(top))


def _recommendations(card: Card, rows: list[dict[str, Any]]) -> None:
    top = top_rows([r for r in rows if r.get("sku")], "shown")
    if not top:
        return
    config = bar_chart(
        [[r.get("sku"), short(r.get("name"))] for r in top],
        [
            dataset("Shown", [number(r.get("shown")) for r in top], GREY),
            dataset("Accepted", [number(r.get("accepted")) for r in top], BLUE),
            dataset("Sold", [number(r.get("sold")) for r in top], GREEN),
        ],
        horizontal=True,
    )
    add_chart(card, "Suggestions shown, accepted and sold, by product", config, len(top))


ChartBuilder = Callable[[Card, list[dict[str, Any]]], None]
CHARTS: dict[str, ChartBuilder] = {
    "looked-not-bought": _looked_not_bought,
    "viewed-instead": _viewed_instead,
    "delivery-fee": _delivery_fee,
    "time-to-purchase": _time_to_purchase,
    "sources": _sources,
    "site-search": _site_search,
    "recommendations": _recommendations,
}
# The overview's tables keep the columns that fit beside a chart; "All rows" shows them all.
COMPACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "looked-not-bought": ("name", "views", "median_dwell_s", "cart_rate", "purchase_rate"),
    "viewed-instead": (
        "viewed_name", "viewed_variant", "bought_name", "bought_variant", "visits", "colour_swap",
    ),
    "delivery-fee": ("dimension", "bucket", "visits", "abandoned", "abandonment_rate"),
    "sources": ("source", "medium", "campaign", "visits", "conversion_rate", "revenue"),
    "recommendations": ("name", "shown", "accepted", "sold", "revenue"),
}  # fmt: skip


def build_card(report: reports.Report, *, compact: bool = True) -> Card:
    """What one report shows: its charts and its table (first rows and columns if compact)."""
    rows = list(report.rows)
    columns = list(report.columns)
    if compact and report.slug in COMPACT_COLUMNS:
        keep = COMPACT_COLUMNS[report.slug]
        columns = [column for column in columns if column.key in keep]
    card = Card(
        slug=report.slug,
        title=report.title,
        description=report.description,
        columns=columns,
        rows=rows[: COMPACT_ROWS if compact else PAGE_ROWS],
        total_rows=len(rows),
    )
    if report.slug == "funnel":
        _funnel(card, rows, report.filters)
    elif report.slug in CHARTS:
        CHARTS[report.slug](card, rows)
    return card


def _run(slug: str, period: Period, filters: Mapping[str, str]) -> reports.Report:
    """One report; it folds the few events collected since the last rollup first."""
    spec = reports.REPORTS[slug]
    query = reports.ReportQuery(
        date_from=period.date_from,
        date_to=period.date_to,
        filters={name: value for name, value in filters.items() if name in spec.filters},
    )
    return reports.run_report(
        db.get_session(), slug, query, now=context.now(), tz=context.policy().timezone
    )


def _choices(funnel: reports.Report, column: str) -> list[str]:
    """Devices or sources seen in the period, for the filter's drop-down list."""
    return sorted({str(row[column]) for row in funnel.rows if row.get(column) not in (None, "all")})


@bp.get("")
@bp.get("/")
@login_required
def overview() -> tuple[str, int]:
    try:
        period, filters = read_args()
        found = [_run(slug, period, filters) for slug in reports.REPORTS]
        funnel = next(report for report in found if report.slug == "funnel")
        every_visit = _run("funnel", period, {}) if filters else funnel
    except (BadQuery, DomainError) as exc:
        return invalid(exc)
    return page(
        "overview.html",
        cards=[build_card(report) for report in found],
        period=period,
        filters=filters,
        query=query_string(period, filters),
        devices=_choices(every_visit, "device"),
        sources=_choices(every_visit, "source"),
        presets=presets(filters),
    )


@bp.get("/reports/<slug>")
@login_required
def report_page(slug: str) -> tuple[str, int]:
    if slug not in reports.REPORTS:
        return error(404, "No such report", f"There is no report called '{slug}'.")
    try:
        period, filters = read_args()
        report = _run(slug, period, filters)
    except (BadQuery, DomainError) as exc:
        return invalid(exc)
    return page(
        "report.html",
        card=build_card(report, compact=False),
        period=period,
        filters=filters,
        query=query_string(period, filters),
        presets=presets(filters),
    )


@bp.get("/reports/<slug>.csv")
@login_required
def report_csv(slug: str) -> Response | tuple[str, int]:
    if slug not in reports.REPORTS:
        return error(404, "No such report", f"There is no report called '{slug}'.")
    try:
        period, filters = read_args()
        report = _run(slug, period, filters)
    except (BadQuery, DomainError) as exc:
        return invalid(exc)
    filename = f"{slug}_{period.date_from.isoformat()}_{period.date_to.isoformat()}.csv"
    return Response(
        reports.report_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
