"""The owner's web dashboard at /dashboard: server-rendered HTML with vendored Chart.js.

The owner logs in once with their API key. A signed session cookie (HttpOnly, SameSite=Strict,
path /dashboard so it never rides along with the tracker's beacons) holds the key's id, which is
checked against the database on every page: revoking the key logs the dashboard out. Reports
come from ``reports.run_report`` in-process; their chart data is embedded as JSON and drawn by
``static/dashboard.js``, so the Content-Security-Policy allows no inline script at all.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.analytics import reports
from store_api.errors import DomainError
from store_api.keys import service as keys
from store_api.keys.models import ApiKey, Role

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

DASHBOARD_ROLES = frozenset({Role.OWNER, Role.ADMIN})
DEFAULT_DAYS = 30
MAX_FILTER_LENGTH = 120
COMPACT_ROWS = 10
PAGE_ROWS = 500
SECRET_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

F = TypeVar("F", bound=Callable[..., Any])


class _SessionInterface(SecureCookieSessionInterface):
    """Signs with ``SECRET_KEY``, or with the key generated once in the instance folder.

    Resolved at the first request rather than in create_app(): the instance folder is only
    final then (tests move it), and nothing is written for apps that never serve a page.
    """

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.config.get("SECRET_KEY"):
            app.config["SECRET_KEY"] = instance_secret_key(app.instance_path)
        return super().get_signing_serializer(app)


def _configure_cookie(state: BlueprintSetupState) -> None:
    """The session cookie is the dashboard's alone: keep it off every other path."""
    app = state.app
    assert isinstance(app, Flask)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="comptoir_dashboard",
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )


bp.record_once(_configure_cookie)


def instance_secret_key(instance_path: str | Path) -> str:
    """The key in ``<instance>/secret_key``, created once (mode 0600) if it is not there.

    Workers race to create it at first start: each writes a private temporary file and
    hard-links it into place; the link fails for all but the first, and everyone reads it.
    """
    path = Path(instance_path) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable secret key; delete it to get a new one.")
    return secret


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "dashboard.static":
        # Pages show the shop's figures to a logged-in owner: no shared or stored copies.
        response.headers["Cache-Control"] = "no-store"
    return response


# --- login -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    key_id: int
    name: str
    role: Role


def _logged_in_owner(db_session: Session, now: dt.datetime) -> Owner | None:
    key_id = session.get("key_id")
    since = session.get("since")
    if not isinstance(key_id, int) or not isinstance(since, int | float):
        return None
    hours = current_app.config["DASHBOARD_SESSION_HOURS"]
    if not 0 <= now.timestamp() - since <= hours * 3600:
        return None
    key = db_session.scalars(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    ).one_or_none()
    if key is None or key.role not in DASHBOARD_ROLES:
        return None
    return Owner(key_id=key.id, name=key.name, role=Role(key.role))


def login_required(view: F) -> F:
    """Pages and CSV files need a live owner or admin login; others go to the login form."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        db_session = db.get_session()
        with db.read(db_session):
            owner = _logged_in_owner(db_session, context.now())
        if owner is None:
            session.clear()
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        g.owner = owner
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    """Only back into the dashboard: ``next`` must not send the owner to another site."""
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return url_for("dashboard.overview")


def _page(template: str, code: int = 200, **values: Any) -> tuple[str, int]:
    return render_template(f"dashboard/{template}", owner=g.get("owner"), **values), code


def _error(code: int, title: str, message: str) -> tuple[str, int]:
    return _page("error.html", code, title=title, message=message, status=code)


@bp.get("/login")
def login() -> tuple[str, int]:
    return _page("login.html", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_submit() -> Response | tuple[str, int]:
    secret = request.form.get("key", "").strip()
    target = _safe_next(request.form.get("next"))
    db_session = db.get_session()
    with db.read(db_session):
        key = keys.authenticate(db_session, secret) if secret else None
    if key is None:
        return _page("login.html", 401, next=target, error="Unknown or revoked API key. Try again.")
    if key.role not in DASHBOARD_ROLES:
        return _error(
            403,
            "Not an owner key",
            f"The key '{key.name}' has the {key.role} role. The dashboard shows the shop's "
            "figures to the owner only: log in with an owner (or admin) key.",
        )
    session.clear()
    session["key_id"] = key.id
    session["since"] = int(context.now().timestamp())
    return redirect(target, 303)


@bp.post("/logout")
def logout() -> Response:
    session.clear()
    return redirect(url_for("dashboard.login"), 303)


# --- the period and the filters ------------------------------------------------------------


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
    for name, messages in reports.period_errors(date_from, date_to).items():
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


def _number(value: Any) -> float:
    """Rows carry ints, floats, Decimals or money strings ("123.40"); charts want numbers."""
    if value is None or isinstance(value, bool):
        return 0.0
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return 0.0


def _percent(value: Any) -> float:
    return round(_number(value) * 100, 1)


def _short(text: Any, width: int = 28) -> str:
    text = str(text if text is not None else "")
    return text if len(text) <= width else text[: width - 1] + "…"


BLUE = "#2563eb"
AMBER = "#f59e0b"
GREEN = "#16a34a"
RED = "#dc2626"
GREY = "#94a3b8"
TEAL = "#0d9488"


def _dataset(
    label: str, data: Sequence[float], colour: str | list[str], **extra: Any
) -> dict[str, Any]:
    return {"label": label, "data": list(data), "backgroundColor": colour, **extra}


def _line(label: str, data: Sequence[float], colour: str, axis: str) -> dict[str, Any]:
    """A second measure drawn as a line over the bars, on its own axis."""
    return _dataset(
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


def _chart(card: Card, title: str, config: dict[str, Any], bars: int) -> None:
    """Add a chart; horizontal charts with many bars get a taller box (CSS class)."""
    horizontal = config["options"]["indexAxis"] == "y"
    size = "tall" if horizontal and bars > 8 else "normal"
    card.charts.append(Chart(f"{card.slug}-{len(card.charts)}", title, config, size))


def _top(rows: list[dict[str, Any]], key: str, n: int = COMPACT_ROWS) -> list[dict[str, Any]]:
    return [
        row
        for row in sorted(rows, key=lambda row: _number(row.get(key)), reverse=True)[:n]
        if _number(row.get(key)) > 0
    ]


def _looked_not_bought(card: Card, rows: list[dict[str, Any]]) -> None:
    top = _top(rows, "views")
    if not top:
        return
    config = bar_chart(
        [[row.get("sku"), _short(row.get("name"), 32)] for row in top],
        [
            _dataset("Product views", [_number(r.get("views")) for r in top], BLUE),
            _dataset(
                "View → purchase",
                [_percent(r.get("purchase_rate")) for r in top],
                AMBER,
                xAxisID="x1",
            ),
        ],
        horizontal=True,
        second_axis="View → purchase (%)",
        units={"x1": " %"},
    )
    config["data"]["skus"] = [row.get("sku") for row in top]
    _chart(card, "Most viewed products and how often a view ends in a purchase", config, len(top))


def _viewed_instead(card: Card, rows: list[dict[str, Any]]) -> None:
    top = _top(rows, "visits")
    if not top:
        return

    def side(name: Any, variant: Any) -> str:
        return _short(name, 30) + (f" ({variant})" if variant else "")

    labels = [
        [side(r.get("viewed_name"), r.get("viewed_variant")),
         "→ " + side(r.get("bought_name"), r.get("bought_variant"))]
        for r in top
    ]  # fmt: skip
    colours = [AMBER if r.get("colour_swap") else BLUE for r in top]
    config = bar_chart(
        labels,
        [_dataset("Visits (amber: colour swap)", [_number(r.get("visits")) for r in top], colours)],
        horizontal=True,
    )
    _chart(card, "Looked longest at … → bought instead", config, len(top))


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
    if chosen is None or _number(chosen.get("visits")) == 0:
        if filters:
            card.note = "No visits match these filters in this period."
        return
    values = [_number(chosen.get(key)) for key, _label in FUNNEL_STEPS]
    config = bar_chart(
        [label for _key, label in FUNNEL_STEPS],
        [_dataset("Visits reaching the step", values, [BLUE, BLUE, TEAL, TEAL, AMBER, GREEN])],
        horizontal=True,
    )
    config["options"]["plugins"]["legend"] = {"display": False}
    title = " · ".join(f"{name}: {value}" for name, value in filters.items()) or "All visits"
    _chart(card, title, config, len(values))


DELIVERY_DIMENSIONS = (
    ("fee", "By delivery fee shown (€)"),
    ("distance_to_free", "By distance to free delivery (€)"),
)


def _delivery_fee(card: Card, rows: list[dict[str, Any]]) -> None:
    for dimension, title in DELIVERY_DIMENSIONS:
        part = sorted(
            (r for r in rows if r.get("dimension") == dimension),
            key=lambda r: _number(r.get("bucket_order")),
        )
        if not any(_number(r.get("visits")) for r in part):
            continue
        config = bar_chart(
            [r.get("bucket") for r in part],
            [
                _dataset(
                    "Abandonment rate", [_percent(r.get("abandonment_rate")) for r in part], RED
                ),
                _line("Visits", [_number(r.get("visits")) for r in part], GREY, "y1"),
            ],
            second_axis="Visits",
            units={"y": " %"},
        )
        _chart(card, title, config, len(part))


def _time_to_purchase(card: Card, rows: list[dict[str, Any]]) -> None:
    top = _top(rows, "purchases", 12)
    if not top:
        return
    config = bar_chart(
        [_short(r.get("category")) for r in top],
        [
            _dataset("Median minutes", [_number(r.get("median_minutes")) for r in top], BLUE),
            _line("Median pages", [_number(r.get("median_pages")) for r in top], AMBER, "y1"),
        ],
        second_axis="Pages",
        units={"y": " min"},
    )
    _chart(card, "From the first product view to the purchase", config, len(top))


def _sources(card: Card, rows: list[dict[str, Any]]) -> None:
    top = _top(rows, "visits")
    if not top:
        return
    labels = [
        [str(r.get("source") or "direct"), _short(" / ".join(
            str(part) for part in (r.get("medium"), r.get("campaign")) if part
        ), 24)]
        for r in top
    ]  # fmt: skip
    config = bar_chart(
        labels,
        [
            _dataset("Visits", [_number(r.get("visits")) for r in top], BLUE),
            _dataset("Revenue", [_number(r.get("revenue")) for r in top], GREEN, yAxisID="y1"),
        ],
        second_axis="Revenue (€)",
        units={"y1": " €"},
    )
    _chart(card, "Visits and revenue by source / medium / campaign", config, len(top))


def _site_search(card: Card, rows: list[dict[str, Any]]) -> None:
    card.highlighted = {
        index for index, row in enumerate(card.rows) if _number(row.get("no_result_searches")) > 0
    }
    top = _top(rows, "searches", 15)
    if not top:
        return
    found = [_number(r.get("searches")) - _number(r.get("no_result_searches")) for r in top]
    config = bar_chart(
        [_short(r.get("term"), 30) for r in top],
        [
            _dataset("Searches with results", found, BLUE),
            _dataset(
                "Searches with no result", [_number(r.get("no_result_searches")) for r in top], RED
            ),
        ],
        horizontal=True,
        stacked=True,
    )
    _chart(card, "Top search terms (red: nothing found)", config, len(top))


def _recommendations(card: Card, rows: list[dict[str, Any]]) -> None:
    top = _top([r for r in rows if r.get("sku")], "shown")
    if not top:
        return
    config = bar_chart(
        [[r.get("sku"), _short(r.get("name"))] for r in top],
        [
            _dataset("Shown", [_number(r.get("shown")) for r in top], GREY),
            _dataset("Accepted", [_number(r.get("accepted")) for r in top], BLUE),
            _dataset("Sold", [_number(r.get("sold")) for r in top], GREEN),
        ],
        horizontal=True,
    )
    _chart(card, "Suggestions shown, accepted and sold, by product", config, len(top))


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


def _query(period: Period, filters: Mapping[str, str]) -> str:
    return urlencode(
        {"from": period.date_from.isoformat(), "to": period.date_to.isoformat(), **filters}
    )


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


def _read_args() -> tuple[Period, dict[str, str]]:
    today = context.now().astimezone(context.policy().timezone).date()
    return parse_period(request.args, today), parse_filters(request.args)


def _invalid(exc: Exception) -> tuple[str, int]:
    if isinstance(exc, BadQuery):
        return _error(422, "Invalid period or filter", exc.message)
    assert isinstance(exc, DomainError)
    details = "; ".join(
        f"{name}: {' '.join(map(str, messages if isinstance(messages, list) else [messages]))}"
        for name, messages in exc.errors.items()
    )
    return _error(exc.status, "Invalid period or filter", f"{exc.message} {details}".strip())


@bp.get("")
@bp.get("/")
@login_required
def overview() -> tuple[str, int]:
    try:
        period, filters = _read_args()
        found = [_run(slug, period, filters) for slug in reports.REPORTS]
        funnel = next(report for report in found if report.slug == "funnel")
        every_visit = _run("funnel", period, {}) if filters else funnel
    except (BadQuery, DomainError) as exc:
        return _invalid(exc)
    return _page(
        "overview.html",
        cards=[build_card(report) for report in found],
        period=period,
        filters=filters,
        query=_query(period, filters),
        devices=_choices(every_visit, "device"),
        sources=_choices(every_visit, "source"),
        presets=_presets(filters),
    )


@bp.get("/reports/<slug>")
@login_required
def report_page(slug: str) -> tuple[str, int]:
    if slug not in reports.REPORTS:
        return _error(404, "No such report", f"There is no report called '{slug}'.")
    try:
        period, filters = _read_args()
        report = _run(slug, period, filters)
    except (BadQuery, DomainError) as exc:
        return _invalid(exc)
    return _page(
        "report.html",
        card=build_card(report, compact=False),
        period=period,
        filters=filters,
        query=_query(period, filters),
        presets=_presets(filters),
    )


@bp.get("/reports/<slug>.csv")
@login_required
def report_csv(slug: str) -> Response | tuple[str, int]:
    if slug not in reports.REPORTS:
        return _error(404, "No such report", f"There is no report called '{slug}'.")
    try:
        period, filters = _read_args()
        report = _run(slug, period, filters)
    except (BadQuery, DomainError) as exc:
        return _invalid(exc)
    filename = f"{slug}_{period.date_from.isoformat()}_{period.date_to.isoformat()}.csv"
    return Response(
        reports.report_csv(report),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _presets(filters: Mapping[str, str]) -> list[tuple[str, str]]:
    """Quick periods ending today, keeping the filters: (label, query string)."""
    today = context.now().astimezone(context.policy().timezone).date()
    return [
        (label, _query(Period(today - dt.timedelta(days=days - 1), today), filters))
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
    if column.kind == "rate":
        return f"{_number(value) * 100:.1f} %"
    if column.kind == "money":
        return _grouped(f"{_number(value):,.2f} €")
    if isinstance(value, float):
        return _grouped(f"{value:,.1f}")
    if isinstance(value, int):
        return _grouped(f"{value:,}")
    return str(value)


@bp.app_template_filter("dashboard_numeric")
def is_numeric(column: reports.Column) -> bool:
    return column.kind in NUMERIC_KINDS
