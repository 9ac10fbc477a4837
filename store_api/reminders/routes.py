"""Reminder endpoints for the owner (/api/v1/reminders/...) and the customers' one-click
unsubscribe page (/unsubscribe/<token>, RFC 8058)."""

from __future__ import annotations

from typing import Any

import flask
from flask import current_app, render_template, request
from flask.views import MethodView

from store_api import context, db, periods
from store_api.auth import current_caller, require
from store_api.blueprint import Blueprint
from store_api.customers import service as customers
from store_api.customers.models import ConsentMethod, Customer, Purpose
from store_api.errors import ErrorCode, NotFound
from store_api.keys.models import Role
from store_api.reminders import delivery, report, service
from store_api.reminders.cli import signing_key
from store_api.reminders.kinds import Channel, Kind
from store_api.reminders.models import ReminderMessage
from store_api.reminders.schemas import (
    BenefitSchema,
    MessagePageSchema,
    MessageQueryArgsSchema,
    MessageSchema,
    RenderedSchema,
    ReportArgsSchema,
    SettingSchema,
    SettingUpdateSchema,
    TemplateInputSchema,
    TemplateSchema,
)

blp = Blueprint(
    "reminders",
    __name__,
    url_prefix="/api/v1/reminders",
    description="Customer reminders: the owner's settings, templates, log and benefit.",
)
# What customers reach from a message: no key, no cookie (RFC 8058), French.
public = flask.Blueprint(
    "unsubscribe",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/unsubscribe/static",
)

REPORT_MAX_DAYS = 366
_KINDS = "|".join(k.value for k in Kind)


def _kind(value: str) -> Kind:
    try:
        return Kind(value)
    except ValueError:
        raise NotFound(
            ErrorCode.NOT_FOUND,
            f"No reminder kind {value!r}; known: {', '.join(k.value for k in Kind)}.",
            {"kind": value},
        ) from None


def _channel(value: str) -> Channel:
    try:
        return Channel(value)
    except ValueError:
        raise NotFound(
            ErrorCode.NOT_FOUND, f"No channel {value!r}; known: email, sms.", {"channel": value}
        ) from None


@blp.route("/settings")
class Settings(MethodView):
    @require(Role.OWNER)
    @blp.response(200, SettingSchema(many=True))
    def get(self) -> list[service.Setting]:
        """Each reminder kind: switched on or off, its delay, and the consent it needs."""
        session = db.get_session()
        with db.read(session):
            return list(service.settings(session).values())


@blp.route("/settings/<string:kind>")
class SettingByKind(MethodView):
    @require(Role.OWNER)
    @blp.arguments(SettingUpdateSchema)
    @blp.response(200, SettingSchema)
    def put(self, data: dict[str, Any], kind: str) -> service.Setting:
        """Switch a reminder kind on or off, or change its delay (minutes)."""
        session = db.get_session()
        with db.write(session):
            return service.update_setting(
                session,
                _kind(kind),
                enabled=data.get("enabled"),
                delay_minutes=data.get("delay_minutes"),
                actor=current_caller().name,
                now=context.now(),
            )


@blp.route("/templates")
class Templates(MethodView):
    @require(Role.OWNER)
    @blp.response(200, TemplateSchema(many=True))
    def get(self) -> list[service.TemplateSource]:
        """Every message template (kind x channel): the owner's text or the built-in French."""
        session = db.get_session()
        with db.read(session):
            return service.all_templates(session)


@blp.route("/templates/<string:kind>/<string:channel>")
class TemplateByKind(MethodView):
    @require(Role.OWNER)
    @blp.arguments(TemplateInputSchema)
    @blp.response(200, TemplateSchema)
    def put(self, data: dict[str, Any], kind: str, channel: str) -> service.TemplateSource:
        """Save a template (Jinja). A syntax error or an unknown placeholder is a 422 naming
        the part; marketing messages must keep {{ unsubscribe_url }}."""
        session = db.get_session()
        with db.write(session):
            return service.save_template(
                session,
                _kind(kind),
                _channel(channel),
                subject=data["subject"],
                body=data["body"],
                actor=current_caller().name,
                now=context.now(),
            )

    @require(Role.OWNER)
    @blp.response(200, TemplateSchema)
    def delete(self, kind: str, channel: str) -> service.TemplateSource:
        """Back to the built-in French text."""
        session = db.get_session()
        with db.write(session):
            return service.reset_template(session, _kind(kind), _channel(channel))


@blp.route("/templates/<string:kind>/<string:channel>/preview")
class TemplatePreview(MethodView):
    @require(Role.OWNER)
    @blp.arguments(TemplateInputSchema)
    @blp.response(200, RenderedSchema)
    def post(self, data: dict[str, Any], kind: str, channel: str) -> Any:
        """The message as a customer would read it, with sample values (nothing is saved)."""
        return service.preview(_kind(kind), _channel(channel), data["subject"], data["body"])


@blp.route("/messages")
class Messages(MethodView):
    @require(Role.OWNER)
    @blp.arguments(MessageQueryArgsSchema, location="query")
    @blp.response(200, MessagePageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The reminder log, newest first: planned, sent, waiting, cancelled (and why)."""
        session = db.get_session()
        with db.read(session):
            items, total = service.messages(
                session,
                customer_id=args.get("customer_id"),
                kind=args.get("kind"),
                status=args.get("status"),
                limit=args["page_size"],
                offset=(args["page"] - 1) * args["page_size"],
            )
        return {
            "items": items,
            "page": args["page"],
            "page_size": args["page_size"],
            "total": total,
        }


@blp.route("/messages/<int:message_id>/retry")
class MessageRetry(MethodView):
    @require(Role.OWNER)
    @blp.response(200, MessageSchema)
    def post(self, message_id: int) -> ReminderMessage:
        """Send a failed message again (after fixing the address or the mail server)."""
        session = db.get_session()
        with db.write(session):
            message = delivery.retry(session, message_id, context.now())
            if message is None:
                raise NotFound(
                    ErrorCode.NOT_FOUND, f"No reminder message {message_id}.", {"id": message_id}
                )
            return message


@blp.route("/report")
class Report(MethodView):
    @require(Role.OWNER)
    @blp.arguments(ReportArgsSchema, location="query")
    @blp.response(200, BenefitSchema)
    def get(self, args: dict[str, Any]) -> report.Benefit:
        """What reminders bring, per kind: sent, came back within N days, revenue."""
        policy = context.policy()
        today = context.now().astimezone(policy.timezone).date()
        date_from, date_to = periods.default_period(
            today, args.get("date_from"), args.get("date_to"), max_days=REPORT_MAX_DAYS
        )
        session = db.get_session()
        with db.read(session):
            return report.benefit(
                session,
                date_from,
                date_to,
                timezone=policy.timezone,
                comeback_days=int(current_app.config["REMINDER_COMEBACK_DAYS"]),
            )


# --- one-click unsubscribe -----------------------------------------------------------------

_PAGE_POLICY = "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; " + (
    "frame-ancestors 'none'"
)


def _page(template: str, status: int = 200, **values: Any) -> flask.Response:
    response = flask.make_response(render_template(f"reminders/{template}", **values), status)
    response.headers["Content-Security-Policy"] = _PAGE_POLICY
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _customer(token: str) -> Customer | None:
    customer_id = delivery.read_unsubscribe_token(signing_key(current_app), token)
    if customer_id is None:
        return None
    session = db.get_session()
    with db.read(session):
        return session.get(Customer, customer_id)


@public.get("/unsubscribe/<token>")
def unsubscribe_page(token: str) -> flask.Response:
    """The link in a message: a page with one button (a GET changes nothing: mail scanners
    open links)."""
    customer = _customer(token)
    if customer is None:
        return _page("unsubscribe.html", 404, state="unknown", shop=current_app.config["SHOP_NAME"])
    return _page("unsubscribe.html", state="ask", token=token, shop=current_app.config["SHOP_NAME"])


@public.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> flask.Response:
    """RFC 8058 one-click (``List-Unsubscribe=One-Click``) or the page's button: marketing
    consent is withdrawn at once; no login, no cookie, no redirect."""
    customer_id = delivery.read_unsubscribe_token(signing_key(current_app), token)
    session = db.get_session()
    state = "unknown"
    if customer_id is not None:
        with db.write(session):
            if session.get(Customer, customer_id) is not None:
                if customers.has_consent(session, customer_id, Purpose.MARKETING):
                    customers.record_consents(
                        session,
                        customer_id,
                        [
                            customers.ConsentInput(
                                purpose=Purpose.MARKETING,
                                granted=False,
                                method=ConsentMethod.UNSUBSCRIBE_LINK,
                                wording=request.form.get("List-Unsubscribe"),
                            )
                        ],
                        actor="customer (unsubscribe link)",
                        now=context.now(),
                    )
                state = "done"
    status = 200 if state == "done" else 404
    return _page("unsubscribe.html", status, state=state, shop=current_app.config["SHOP_NAME"])
