"""The owner's "Reminders" and "Customers" pages.

* ``/dashboard/reminders``: each reminder switched on or off with its delay, what reminders
  brought in the period (sent, came back, revenue), and the latest messages with their fate.
* ``/dashboard/reminders/templates/<kind>/<channel>``: edit a message with a preview rendered
  on the server (no script), refused with the reason when it cannot work.
* ``/dashboard/customers``: find a customer, read what is kept about them, export it as JSON,
  erase them.

Everything goes through the same service functions as the API.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.customers import service as customers
from store_api.dashboard.cards import BadQuery, parse_period, presets, query_string
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import DomainError
from store_api.reminders import report, service
from store_api.reminders.kinds import RULES, Channel, Kind

KIND_NAMES = {
    Kind.HELD_ITEM: _l("Held item waiting"),
    Kind.BACK_IN_STOCK: _l("Back in stock"),
    Kind.FORGOTTEN_CHECKOUT: _l("Forgotten web checkout"),
    Kind.CONSUMABLE: _l("Consumable after the sale"),
}
KIND_WHEN = {
    Kind.HELD_ITEM: _l("When a seller holds a product for a customer, and before it expires."),
    Kind.BACK_IN_STOCK: _l("When a product a customer asked about is back, while it lasts."),
    Kind.FORGOTTEN_CHECKOUT: _l("When a web hold expired without an order, if still in stock."),
    Kind.CONSUMABLE: _l("After a sale, the filter or descaler that goes with it, when due."),
}
CHANNEL_NAMES = {Channel.EMAIL: _l("E-mail"), Channel.SMS: _l("Text message")}
PURPOSE_NAMES = {"service": _l("service messages"), "marketing": _l("offers and advice")}
STATUS_NAMES = {
    "pending": _l("waiting"),
    "parked": _l("waiting for stock"),
    "sent": _l("sent"),
    "failed": _l("failed"),
    "cancelled": _l("not sent"),
}
OUTCOME_NAMES = {
    "quiet_hours": _l("quiet hours"),
    "daily_cap": _l("daily limit reached"),
    "hold_extended": _l("hold extended"),
    "no_transport_configured": _l("no mail server set"),
    "out_of_stock": _l("out of stock"),
    "no_consent": _l("no consent"),
    "kind_disabled": _l("switched off"),
    "hold_closed": _l("hold collected or ended"),
    "came_back": _l("customer came back"),
    "alert_closed": _l("request closed"),
    "customer_erased": _l("customer erased"),
    "no_address": _l("no address"),
    "product_gone": _l("product removed"),
    "refused": _l("refused by the server"),
    "gave_up": _l("gave up"),
    "alert_cancelled": _l("request cancelled"),
}
METHOD_NAMES = {
    "in_store": _l("in store"),
    "webshop": _l("webshop"),
    "phone": _l("phone"),
    "paper": _l("paper form"),
    "email": _l("e-mail"),
    "unsubscribe_link": _l("unsubscribe link"),
}

HOLD_STATUS_NAMES = {
    "active": _l("held"),
    "committed": _l("sold"),
    "released": _l("released"),
    "expired": _l("expired"),
}
ORDER_STATUS_NAMES = {"confirmed": _l("confirmed"), "cancelled": _l("cancelled")}
ALERT_STATUS_NAMES = {
    "waiting": _l("waiting"),
    "notified": _l("told"),
    "cancelled": _l("cancelled"),
}
SALES_CHANNEL_NAMES = {"store": _l("in store"), "web": _l("webshop")}


@dataclass(frozen=True)
class DelayUnit:
    label: Any
    minutes: int


# The delay in the unit the owner thinks in, per kind.
UNITS = {
    Kind.HELD_ITEM: DelayUnit(_l("hours before the hold expires"), 60),
    Kind.BACK_IN_STOCK: DelayUnit(_l("minutes after the product is back"), 1),
    Kind.FORGOTTEN_CHECKOUT: DelayUnit(_l("hours after the web hold expired"), 60),
    Kind.CONSUMABLE: DelayUnit(
        _l("days after the sale (when the consumable has no interval of its own)"), 24 * 60
    ),
}
MESSAGES_SHOWN = 50


@bp.app_template_filter("reminder_label")
def _label(value: str | None, table: str) -> str:
    tables: dict[str, Mapping[Any, Any]] = {
        "kind": KIND_NAMES,
        "channel": CHANNEL_NAMES,
        "status": STATUS_NAMES,
        "outcome": OUTCOME_NAMES,
        "purpose": PURPOSE_NAMES,
        "method": METHOD_NAMES,
        "hold_status": HOLD_STATUS_NAMES,
        "order_status": ORDER_STATUS_NAMES,
        "alert_status": ALERT_STATUS_NAMES,
        "sales_channel": SALES_CHANNEL_NAMES,
    }
    names = tables[table]
    if value is None:
        return ""
    try:
        key: Any = {"kind": Kind, "channel": Channel}.get(table, str)(value)
    except ValueError:
        return value
    return str(names.get(key, value))


@bp.app_context_processor
def _reminder_helpers() -> dict[str, Any]:
    return {"reminder_benefit": _benefit}


def _benefit(period: Any) -> report.Benefit:
    """What reminders brought in ``period`` (the overview shows it next to recommendations)."""
    session = db.get_session()
    with db.read(session):
        return report.benefit(
            session,
            period.date_from,
            period.date_to,
            timezone=context.policy().timezone,
            comeback_days=int(current_app.config["REMINDER_COMEBACK_DAYS"]),
        )


def _today() -> dt.date:
    return context.now().astimezone(context.policy().timezone).date()


def _settings_page(status: int = 200, errors: Mapping[str, str] | None = None) -> Any:
    try:
        period = parse_period(request.args, _today())
    except BadQuery as exc:
        return error(422, _("Invalid period"), exc.message)
    session = db.get_session()
    with db.read(session):
        settings = service.settings(session)
        log, total = service.messages(
            session, customer_id=None, kind=None, status=None, limit=MESSAGES_SHOWN, offset=0
        )
    return page(
        "reminders.html",
        status,
        settings=settings,
        units=UNITS,
        when=KIND_WHEN,
        benefit=_benefit(period),
        period=period,
        query=query_string(period, {}),
        presets=presets({}),
        messages=log,
        total_messages=total,
        errors=errors or {},
        channels=list(Channel),
        saved=request.args.get("saved") == "1",
    )


@bp.get("/reminders")
@login_required
def reminders() -> Any:
    return _settings_page()


@bp.post("/reminders/settings")
@login_required
def reminders_settings() -> Any:
    wanted: dict[Kind, tuple[bool, int]] = {}
    errors: dict[str, str] = {}
    for kind in Kind:
        raw = request.form.get(f"delay_{kind.value}", "").strip()
        unit = UNITS[kind]
        try:
            amount = int(raw)
        except ValueError:
            errors[kind.value] = _("Give a whole number.")
            continue
        minutes = amount * unit.minutes
        if not 0 <= minutes <= service.MAX_DELAY_MINUTES:
            errors[kind.value] = _("Between 0 and one year.")
            continue
        wanted[kind] = (request.form.get(f"enabled_{kind.value}") == "on", minutes)
    if errors:
        return _settings_page(422, errors)
    session = db.get_session()
    with db.write(session):
        for kind, (enabled, minutes) in wanted.items():
            service.update_setting(
                session,
                kind,
                enabled=enabled,
                delay_minutes=minutes,
                actor=_owner_name(),
                now=context.now(),
            )
    return redirect(url_for("dashboard.reminders", saved="1"), 303)


def _owner_name() -> str:
    from flask import g

    return str(g.owner.name)


def _template_target(kind: str, channel: str) -> tuple[Kind, Channel] | None:
    try:
        return Kind(kind), Channel(channel)
    except ValueError:
        return None


def _template_page(
    kind: Kind,
    channel: Channel,
    *,
    subject: str,
    body: str,
    status: int = 200,
    problem: DomainError | None = None,
    saved: bool = False,
    customised: bool = False,
) -> Any:
    rendered = None
    if problem is None:
        try:
            rendered = service.preview(kind, channel, subject, body)
        except DomainError as exc:
            problem, status = exc, 422
    return page(
        "reminders_template.html",
        status,
        kind=kind,
        channel=channel,
        subject=subject,
        body=body,
        rendered=rendered,
        problem=_problem_text(problem) if problem else None,
        placeholders=RULES[kind].placeholders,
        marketing=RULES[kind].purpose.value == "marketing",
        saved=saved,
        customised=customised,
        kinds=list(Kind),
        channels=list(Channel),
    )


def _problem_text(problem: DomainError) -> str:
    """Where and why, in the owner's language (the API's English message names the same)."""
    part, messages = next(iter(problem.errors.items()), ("body", [problem.message]))
    where = _("Subject") if part == "subject" else _("Message")
    return _("%(where)s: %(why)s", where=where, why=" ".join(map(str, messages)))


@bp.get("/reminders/templates/<kind>/<channel>")
@login_required
def reminder_template(kind: str, channel: str) -> Any:
    target = _template_target(kind, channel)
    if target is None:
        return error(404, _("No such message"), _("There is no message of that kind."))
    session = db.get_session()
    with db.read(session):
        source = service.template_for(session, *target)
    return _template_page(
        *target,
        subject=source.subject,
        body=source.body,
        saved=request.args.get("saved") == "1",
        customised=source.customised,
    )


@bp.post("/reminders/templates/<kind>/<channel>")
@login_required
def reminder_template_submit(kind: str, channel: str) -> Any:
    target = _template_target(kind, channel)
    if target is None:
        return error(404, _("No such message"), _("There is no message of that kind."))
    subject = request.form.get("subject", "")[:255]
    body = request.form.get("body", "").replace("\r\n", "\n")
    action = request.form.get("action", "preview")
    session = db.get_session()
    if action == "reset":
        with db.write(session):
            service.reset_template(session, *target)
        return redirect(url_for("dashboard.reminder_template", kind=kind, channel=channel), 303)
    if action == "save":
        try:
            with db.write(session):
                service.save_template(
                    session,
                    *target,
                    subject=subject,
                    body=body,
                    actor=_owner_name(),
                    now=context.now(),
                )
        except DomainError as exc:
            return _template_page(
                *target, subject=subject, body=body, status=422, problem=exc, customised=True
            )
        return redirect(
            url_for("dashboard.reminder_template", kind=kind, channel=channel, saved="1"), 303
        )
    return _template_page(*target, subject=subject, body=body, customised=True)


# --- customers ---------------------------------------------------------------------------------


@bp.get("/customers")
@login_required
def customers_page() -> Any:
    q = request.args.get("q", "").strip()[:120]
    session = db.get_session()
    with db.read(session):
        found, total = customers.search(session, q=q or None, limit=100, offset=0)
        consents = customers.consents_in_force(session, [c.id for c in found])
    return page(
        "customers.html",
        customers=found,
        consents=consents,
        total=total,
        q=q,
        erased=request.args.get("erased") == "1",
    )


def _customer_id(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _kept(customer_id: str) -> tuple[uuid.UUID, dict[str, Any]] | None:
    """Everything kept about the customer the URL names; None for no such customer."""
    found = _customer_id(customer_id)
    if found is None:
        return None
    session = db.get_session()
    try:
        with db.read(session):
            return found, customers.export(session, found)
    except DomainError:
        return None


def _no_such_customer() -> Any:
    return error(404, _("No such customer"), _("This customer does not exist (any more)."))


@bp.get("/customers/<customer_id>")
@login_required
def customer_page(customer_id: str) -> Any:
    kept = _kept(customer_id)
    if kept is None:
        return _no_such_customer()
    return page("customer.html", kept=kept[1], customer_id=kept[0], timestamp=_parse_time)


def _parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


@bp.get("/customers/<customer_id>/export.json")
@login_required
def customer_export(customer_id: str) -> Any:
    kept = _kept(customer_id)
    if kept is None:
        return _no_such_customer()
    return Response(
        json.dumps(kept[1], ensure_ascii=False, indent=2),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="client-{kept[0]}.json"'},
    )


@bp.post("/customers/<customer_id>/erase")
@login_required
def customer_erase(customer_id: str) -> Any:
    found = _customer_id(customer_id)
    if found is None:
        return _no_such_customer()
    if request.form.get("confirm") != "yes":
        return error(
            422,
            _("Not erased"),
            _("Tick the box to confirm: erasing cannot be undone."),
        )
    session = db.get_session()
    try:
        with db.write(session):
            customers.erase(session, found, now=context.now())
    except DomainError:
        return _no_such_customer()
    return redirect(url_for("dashboard.customers_page", erased="1"), 303)
