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
from collections.abc import Callable, Collection, Mapping, Sequence
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

from store_api import context, db, periods
from store_api.analytics import reports
from store_api.errors import DomainError
from store_api.keys import service as keys
from store_api.keys.models import ApiKey, Role
from store_api.shelves import service as shelves
from store_api.shelves.models import ShelfDiscrepancy

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


# --- the "In store" page: footfall, help alerts, shelf vs system, devices ---------------------
# What the shelf sensors and the door counters bring in (store_api/shelves/service.py), read
# in-process and shown like the browsing reports: a Card per section, a CSV per table.

_C = reports.Column
_DAY = _C("day", "Day", "date")
FOOTFALL_COLUMNS = (
    _C("visitors_in", "Visitors in", "integer"),
    _C("visitors_out", "Visitors out", "integer"),
    _C("sales", "Store sales", "integer"),
    _C("units_sold", "Units sold", "integer"),
    _C("conversion", "Conversion", "rate"),
)
RESPONSE_COLUMNS = (
    _C("alerts", "Alerts", "integer"),
    _C("acknowledged", "Acknowledged", "integer"),
    _C("escalated", "Escalated", "integer"),
    _C("not_acknowledged", "Never acknowledged", "integer"),
    _C("median_s", "Median wait (s)", "seconds"),
    _C("p90_s", "90 % within (s)", "seconds"),
)
DISCREPANCY_COLUMNS = (
    _C("id", "#", "integer"),
    _C("status", "Status", "text"),
    _C("sku", "SKU", "text"),
    _C("name", "Product", "text"),
    _C("lanes", "Lanes", "text"),
    _C("window", "Window", "text"),
    _C("window_start", "Window start", "datetime"),
    _C("window_end", "Window end", "datetime"),
    _C("kind", "Kind", "text"),
    _C("units", "Units", "integer"),
    _C("taken", "Taken", "integer"),
    _C("put_back", "Put back", "integer"),
    _C("accounted", "Accounted for", "integer"),
    _C("raised_at", "Raised", "datetime"),
    _C("resolved_at", "Resolved", "datetime"),
    _C("resolved_by", "Resolved by", "text"),
    _C("note", "Note", "text"),
)
DEVICE_COLUMNS = (
    _C("device_id", "Device", "text"),
    _C("kind", "Kind", "text"),
    _C("online", "Online", "boolean"),
    _C("last_seen", "Last seen", "datetime"),
    _C("battery", "Battery (%)", "number"),
    _C("last_seq", "Last sequence number", "integer"),
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
            "Footfall and store sales",
            "Visitors through the door (door counters) next to the store's sales (committed "
            "store holds, one per product line), per local day; conversion = sales / visitors.",
            (_DAY, *FOOTFALL_COLUMNS),
        ),
        StoreTable(
            "footfall-hours",
            "Footfall and store sales by hour of the day",
            "The same for each local hour of the day, summed over the days of the period the "
            "door counters counted someone (a day without door counts would inflate the rate).",
            (_C("hour", "Hour", "text"), *FOOTFALL_COLUMNS),
        ),
        StoreTable(
            "alerts",
            "Help alerts",
            "Customers who lingered at a lane and asked for help (presence sensors), per local "
            "day: how fast a seller acknowledged, how many escalated, how many nobody answered.",
            (_DAY, *RESPONSE_COLUMNS),
        ),
        StoreTable(
            "alert-zones",
            "Help alerts by zone",
            "The same, per presence zone, over the period.",
            (_C("zone", "Zone", "text"), *RESPONSE_COLUMNS),
        ),
        StoreTable(
            "discrepancies",
            "Shelf vs system",
            "Windows where units left a product's lanes that no hold, sale or write-off explains "
            "(missing), or the ledger moved more floor units than left the shelf (surplus). Open "
            "ones first; resolve them with POST /api/v1/discrepancies/{id}/resolve.",
            DISCREPANCY_COLUMNS,
            page_columns=DISCREPANCY_PAGE_COLUMNS,
        ),
        StoreTable(
            "devices",
            "Device health",
            "Every sensor of the store as it is now (not filtered by date): online from its "
            "retained status and last will, when it last sent anything, its battery.",
            DEVICE_COLUMNS,
        ),
    )
}
# Each section: its slug, the table it shows (the first download names the section), and its
# CSV downloads as (link text, table).
STORE_SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("footfall", "footfall", (("CSV", "footfall"), ("CSV by hour", "footfall-hours"))),
    ("alerts", "alert-zones", (("CSV", "alerts"), ("CSV by zone", "alert-zones"))),
    ("discrepancies", "discrepancies", (("CSV", "discrepancies"),)),
    ("devices", "devices", (("CSV", "devices"),)),
)


def _day_label(day: dt.date) -> str:
    return f"{day:%a %d %b}"


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
        "window": f"{start:%Y-%m-%d %H:%M} → {end:%H:%M}",
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


def _figure(value: float | None, unit: str) -> str:
    return "-" if value is None else f"{value:,.0f}{unit}".replace(",", "\u202f")


def _footfall_summary(footfall: shelves.StoreFootfall) -> str:
    total, counted = footfall.total, footfall.counted
    if not (total.visitors_in or total.sales):
        return ""
    sales = f"{_figure(total.sales, '')} store sales ({_figure(total.units_sold, '')} units)."
    if not footfall.counted_days:
        return sales + " No door counter counted anyone in this period: no conversion rate."
    rate = f"{(counted.conversion or 0) * 100:.1f} %"
    return (
        f"{sales} On the {footfall.counted_days} day(s) the door counters counted: "
        f"{_figure(counted.visitors_in, '')} visitors in, {_figure(counted.sales, '')} store "
        f"sales, conversion {rate}."
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
                data.summary["alerts"] = (
                    f"{_figure(times.alerts, '')} alerts: median {_figure(times.median_s, ' s')} "
                    f"and 90th percentile {_figure(times.p90_s, ' s')} to acknowledge; "
                    f"{times.escalated} escalated; {times.not_acknowledged} never acknowledged."
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
                f"{still_open} open, {len(shelf.found) - still_open} resolved; "
                f"{sum(shelf.missing_per_day.values())} units missing, "
                f"{sum(shelf.surplus_per_day.values())} in surplus."
                if shelf.found
                else ""
            )
            if shelf.open_before:
                summary += (
                    f" {shelf.open_before} from before {period.date_from.isoformat()} still open."
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
            data.summary["devices"] = (
                f"{len(devices)} devices: {offline} offline, {low} with a battery below "
                f"{LOW_BATTERY:.0f} %."
            )
    return data


def _day_axis(config: dict[str, Any]) -> dict[str, Any]:
    """Many days: let Chart.js skip labels rather than print them all."""
    config["options"]["scales"]["x"]["ticks"] = {"autoSkip": True, "maxRotation": 0}
    return config


def _conversion(rows: list[dict[str, Any]]) -> list[Any]:
    # No visitor, no rate: a gap in the line rather than 0 %.
    return [None if r["conversion"] is None else _percent(r["conversion"]) for r in rows]


def _footfall_chart(rows: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    return bar_chart(
        labels,
        [
            _dataset("Visitors in", [r["visitors_in"] for r in rows], BLUE),
            _dataset("Store sales", [r["sales"] for r in rows], GREEN),
            _line("Conversion", _conversion(rows), AMBER, "y1"),
        ],
        second_axis="Conversion (%)",
        units={"y1": " %"},
    )


def _footfall_card(card: Card, data: StoreData) -> None:
    days = data.rows["footfall"]
    if not any(r["visitors_in"] or r["sales"] for r in days):
        return
    config = _day_axis(_footfall_chart(days, [_day_label(r["day"]) for r in days]))
    _chart(card, "Per day: visitors in and store sales (bars), conversion (line)", config, 0)
    hours = data.rows["footfall-hours"]
    busy = [i for i, r in enumerate(hours) if r["visitors_in"] or r["sales"]]
    if busy:  # the hours of the days the door counters counted, first to last busy hour
        shown = hours[busy[0] : busy[-1] + 1]
        config = _footfall_chart(shown, [r["hour"] for r in shown])
        _chart(card, "By hour of the day, over the days with door counts", config, 0)


def _alerts_card(card: Card, data: StoreData) -> None:
    days = data.rows["alerts"]
    if not any(r["alerts"] for r in days):
        return
    config = bar_chart(
        [_day_label(r["day"]) for r in days],
        [
            _dataset(
                "Acknowledged in time",
                [r["acknowledged"] - r["acknowledged_after_escalation"] for r in days],
                GREEN,
            ),
            _dataset(
                "Acknowledged after escalation",
                [r["acknowledged_after_escalation"] for r in days],
                AMBER,
            ),
            _dataset("Never acknowledged", [r["not_acknowledged"] for r in days], RED),
            _line("Median to acknowledge", [r["median_s"] for r in days], BLUE, "y1"),
            _line("90th percentile", [r["p90_s"] for r in days], GREY, "y1"),
        ],
        stacked=True,
        second_axis="Seconds to acknowledge",
        units={"y1": " s"},
    )
    _chart(card, "Alerts per day (bars) and time to acknowledge (lines)", _day_axis(config), 0)
    zones = data.rows["alert-zones"]
    config = bar_chart(
        [r["zone"] for r in zones],
        [
            _dataset("Median to acknowledge", [r["median_s"] for r in zones], BLUE),
            _dataset("90th percentile", [r["p90_s"] for r in zones], GREY),
            _line("Alerts", [r["alerts"] for r in zones], RED, "y1"),
        ],
        second_axis="Alerts",
        units={"y": " s"},
    )
    _chart(card, "By zone: time to acknowledge (bars) and alerts (line)", config, len(zones))


def _discrepancies_card(card: Card, data: StoreData) -> None:
    card.highlighted = {
        index
        for index, row in enumerate(card.rows)
        if row["status"] == "open" and row["kind"] == "missing"
    }
    if not data.rows["discrepancies"]:
        return
    days = data.rows["discrepancies-days"]
    config = bar_chart(
        [_day_label(r["day"]) for r in days],
        [
            _dataset("Missing units", [r["missing"] for r in days], RED),
            _dataset("Surplus units", [r["surplus"] for r in days], AMBER),
        ],
    )
    _chart(card, "Units missing or in surplus, by the day the window started", _day_axis(config), 0)


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
        title=main.title,
        description=main.description,
        columns=[column for column in table.columns if column.key in keep],
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
        return _invalid(exc)
    data = read_store(period, STORE_TABLES)
    return _page(
        "store.html",
        sections=[
            build_store_section(slug, shown, downloads, data)
            for slug, shown, downloads in STORE_SECTIONS
        ],
        period=period,
        filters={},
        query=_query(period, {}),
        presets=_presets({}),
    )


@bp.get("/store/<slug>.csv")
@login_required
def store_csv(slug: str) -> Response | tuple[str, int]:
    table = STORE_TABLES.get(slug)
    if table is None:
        return _error(404, "No such table", f"The In store page has no table called '{slug}'.")
    today = context.now().astimezone(context.policy().timezone).date()
    if slug == "devices":
        # The devices as they are now, whatever the period: the file is named after today.
        period, filename = Period(today, today), f"store-devices_{today.isoformat()}.csv"
    else:
        try:
            period = _store_period()
        except BadQuery as exc:
            return _invalid(exc)
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
