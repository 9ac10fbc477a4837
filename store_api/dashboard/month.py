""" "Le mois en un coup d'œil": the month's figures on one printable page, and as a PDF.

Each section links to its detailed report for the same days.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from flask import current_app, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from store_api import context, db, i18n
from store_api.dashboard.cards import invalid
from store_api.dashboard.core import bp, login_required, page
from store_api.errors import DomainError
from store_api.month import pdf, service, texts


def _month() -> service.Month:
    tz = context.policy().timezone
    now = context.now()
    first, last = service.parse_month(request.args.get("month"), now.astimezone(tz).date())
    session = db.get_session()
    recommended = service.recommendations(session, first, last, now, tz)
    with db.read(session):
        return service.month(
            session,
            first,
            last,
            now=now,
            tz=tz,
            recommended=recommended,
            comeback_days=int(current_app.config["REMINDER_COMEBACK_DAYS"]),
        )


def _links(month: service.Month) -> dict[str, str]:
    days = {"from": month.first.isoformat(), "to": month.last.isoformat()}
    return {
        "sales": url_for("dashboard.sales_page") + "?" + urlencode({**days, "by": "channel"}),
        "tablets": url_for("dashboard.tablets"),
        "last_units": url_for("dashboard.sales_page") + "?" + urlencode({**days, "by": "day"}),
        "help": url_for("dashboard.store") + "?" + urlencode(days) + "#alerts",
        "recommendations": url_for("dashboard.report_page", slug="recommendations")
        + "?"
        + urlencode({**days, "group": "day"}),
        "reminders": url_for("dashboard.reminders") + "?" + urlencode(days) + "#benefit",
        "feeds": url_for("dashboard.suppliers_page"),
    }


def _shift(first: dt.date, months: int) -> str:
    moved = (first + dt.timedelta(days=32 * months if months > 0 else -1)).replace(day=1)
    return moved.strftime("%Y-%m")


@bp.get("/month")
@login_required
def month_page() -> tuple[str, int]:
    try:
        found = _month()
    except DomainError as exc:
        return invalid(exc)
    locale = i18n.current_locale()
    return page(
        "month.html",
        month=found,
        heading=texts.title(found, locale),
        period=texts.period(found, locale),
        sections=texts.sections(found, locale),
        links=_links(found),
        key=found.first.strftime("%Y-%m"),
        previous=_shift(found.first, -1),
        next=None if not found.complete else _shift(found.first, 1),
    )


@bp.get("/month.pdf")
@login_required
def month_pdf() -> Response | tuple[str, int]:
    try:
        found = _month()
    except DomainError as exc:
        return invalid(exc)
    name = _("month") + f"-{found.first.strftime('%Y-%m')}.pdf"
    return Response(
        pdf.render(found, i18n.current_locale()),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
