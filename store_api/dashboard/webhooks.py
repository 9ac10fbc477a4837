"""Webhooks from the owner's pages: list, create (the secret shown once), edit, enable or
disable, delete (confirmed), the delivery log and redelivering one delivery.

The same service as ``/api/v1/webhooks`` (``store_api.webhooks.service``); input is checked by
the API's own schemas, and their complaints are said again in French next to each field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.dashboard import forms
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import DomainError, NotFound
from store_api.events.schemas import TYPE_FILTERS
from store_api.instance import secret_key
from store_api.webhooks import service
from store_api.webhooks.destinations import DestinationPolicy
from store_api.webhooks.models import DeliveryStatus, WebhookSubscription
from store_api.webhooks.schemas import WebhookCreateSchema
from store_api.webhooks.secret_box import SecretBox

_ID = "int(max=2147483647)"
_BIG_ID = "int(max=9223372036854775807)"
PAGE_SIZE = 25
MAX_PAGE = 100_000

EVENT_LABELS: Mapping[str, Any] = {
    "stock.*": _l("Every stock change"),
    "stock.changed": _l("Stock changed"),
    "stock.low": _l("Stock running low"),
    "stock.out": _l("Out of stock"),
    "stock.back_in_stock": _l("Back in stock"),
    "reservation.*": _l("Every hold"),
    "reservation.created": _l("Hold made"),
    "reservation.extended": _l("Hold extended"),
    "reservation.committed": _l("Hold sold"),
    "reservation.released": _l("Hold released"),
    "reservation.expired": _l("Hold expired"),
    "order.*": _l("Every order"),
    "order.created": _l("Order placed"),
    "order.cancelled": _l("Order cancelled"),
    "product.*": _l("Every catalogue change"),
    "product.created": _l("Product created"),
    "product.updated": _l("Product changed"),
    "product.deactivated": _l("Product withdrawn"),
    "product.published": _l("Product sheet published"),
    "product.unpublished": _l("Product sheet unpublished"),
    "help.*": _l("Every help alert"),
    "help.requested": _l("Customer waiting for help"),
    "help.acknowledged": _l("Help alert answered"),
    "help.escalated": _l("Help alert escalated"),
    "shelf.*": _l("Every shelf discrepancy"),
    "shelf.discrepancy": _l("Shelf vs system discrepancy"),
}


def _destinations() -> DestinationPolicy:
    """Where webhooks may go (the API's policy: public addresses, listed networks)."""
    return DestinationPolicy.from_config(current_app.config)


def _box() -> SecretBox:
    """Seals signing secrets at rest, as the API does."""
    return SecretBox(secret_key(current_app._get_current_object()))  # type: ignore[attr-defined]


def event_choices() -> list[dict[str, Any]]:
    """The event types grouped by family (``stock.*`` first, then its types), with labels."""
    families = sorted(t for t in TYPE_FILTERS if t.endswith(".*"))
    groups = []
    for family in families:
        prefix = family[:-1]
        groups.append(
            {
                "family": family,
                "label": str(EVENT_LABELS.get(family, family)),
                "types": [
                    (t, str(EVENT_LABELS.get(t, t)))
                    for t in TYPE_FILTERS
                    if t.startswith(prefix) and not t.endswith(".*")
                ],
            }
        )
    return groups


def event_label(name: str) -> str:
    return str(EVENT_LABELS.get(name, name))


FIELD_MESSAGES = {
    "url": _l("Enter the full address of the receiver, starting with https:// (or http://)."),
    "event_types": _l("Choose among the proposed events."),
    "description": _l("At most 255 characters."),
}


def _read_form(form: Any) -> tuple[dict[str, Any], forms.FormErrors]:
    """The subscription fields, checked by the API's schema; French messages by field."""
    errors = forms.FormErrors()
    values = {
        "url": forms.field(form, "url", errors, required=True, max_length=2048),
        "description": forms.field(form, "description", errors, max_length=255),
        "event_types": [t for t in form.getlist("event_types") if isinstance(t, str)],
    }
    if errors:
        return values, errors
    try:
        loaded = WebhookCreateSchema().load(values)
    except ValidationError as exc:
        for name in exc.messages_dict:
            errors[name] = str(FIELD_MESSAGES.get(name, _("Check this field.")))
        return values, errors
    return loaded, errors


def _domain_errors(exc: DomainError, errors: forms.FormErrors) -> None:
    """A refusal of the service (an address it will not send to) next to its field."""
    for name, messages in (exc.errors or {}).items():
        detail = " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
        if name == "url" and detail.startswith("Not allowed"):
            errors["url"] = _(
                "This address is refused: webhooks only go to public addresses. For a receiver "
                "on the shop's own network, list its network in "
                "COMPTOIR_WEBHOOK_ALLOWED_NETWORKS."
            )
            continue
        errors[name if name in FIELD_MESSAGES else "url"] = _("Refused: %(detail)s", detail=detail)


def _state(subscription: WebhookSubscription) -> str:
    if subscription.active:
        return "failing" if subscription.failing_since else "active"
    return "disabled"


def _row(subscription: WebhookSubscription, counts: Mapping[str, int]) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "url": subscription.url,
        "description": subscription.description,
        "event_types": [event_label(t) for t in subscription.event_types],
        "event_codes": list(subscription.event_types),
        "active": subscription.active,
        "state": _state(subscription),
        "failing_since": subscription.failing_since,
        "disabled_at": subscription.disabled_at,
        "disabled_reason": subscription.disabled_reason,
        "created_at": subscription.created_at,
        "counts": dict(counts),
    }


def _not_found(webhook_id: int) -> tuple[str, int]:
    return error(404, _("No such webhook"), _("There is no webhook number %(id)s.", id=webhook_id))


@bp.get("/webhooks")
@login_required
def webhooks() -> tuple[str, int]:
    session = db.get_session()
    with db.read(session):
        found = service.list_subscriptions(session)
        counts = service.delivery_counts(session, [s.id for s in found])
        rows = [_row(s, counts[s.id]) for s in found]
    return page("webhooks.html", rows=rows)


def _form_page(
    template: str, code: int, values: Mapping[str, Any], errors: forms.FormErrors, **extra: Any
) -> tuple[str, int]:
    return page(template, code, values=values, errors=errors, groups=event_choices(), **extra)


@bp.route("/webhooks/new", methods=["GET", "POST"])
@login_required
def webhook_new() -> tuple[str, int]:
    if request.method == "GET":
        return _form_page("webhook_form.html", 200, {"event_types": []}, forms.FormErrors())
    values, errors = _read_form(request.form)
    if not errors:
        session = db.get_session()
        try:
            with db.write(session):
                subscription, secret = service.create_subscription(
                    session, now=context.now(), destinations=_destinations(), box=_box(), **values
                )
                created = {"id": subscription.id, "url": subscription.url}
        except DomainError as exc:
            _domain_errors(exc, errors)
        else:
            return page("webhook_created.html", 201, hook=created, secret=secret)
    return _form_page("webhook_form.html", 422, values, errors)


@bp.route(f"/webhooks/<{_ID}:webhook_id>/edit", methods=["GET", "POST"])
@login_required
def webhook_edit(webhook_id: int) -> Response | tuple[str, int]:
    session = db.get_session()
    if request.method == "POST":
        values, errors = _read_form(request.form)
        if not errors:
            try:
                with db.write(session):
                    service.update_subscription(
                        session, webhook_id, values, now=context.now(),
                        destinations=_destinations(), box=_box(),
                    )  # fmt: skip
            except NotFound:
                return _not_found(webhook_id)
            except DomainError as exc:
                _domain_errors(exc, errors)
            else:
                flash(_("Webhook %(id)s saved.", id=webhook_id), "success")
                return redirect(url_for("dashboard.webhook", webhook_id=webhook_id), 303)
        return _form_page("webhook_form.html", 422, values, errors, webhook_id=webhook_id)
    try:
        with db.read(session):
            found = service.get_subscription(session, webhook_id)
            values = {
                "url": found.url,
                "description": found.description,
                "event_types": list(found.event_types),
            }
    except NotFound:
        return _not_found(webhook_id)
    return _form_page("webhook_form.html", 200, values, forms.FormErrors(), webhook_id=webhook_id)


def _page_number(raw: str | None) -> int | None:
    if not raw:
        return 1
    if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE:
        return int(raw)
    return None


@bp.get(f"/webhooks/<{_ID}:webhook_id>")
@login_required
def webhook(webhook_id: int) -> tuple[str, int]:
    status = request.args.get("status") or None
    number = _page_number(request.args.get("page"))
    if (status is not None and status not in {s.value for s in DeliveryStatus}) or number is None:
        return error(
            422,
            _("Invalid filter"),
            _("The delivery log is filtered by state (pending, delivered, failed) and page."),
        )
    session = db.get_session()
    try:
        with db.read(session):
            found = service.get_subscription(session, webhook_id)
            counts = service.delivery_counts(session, [webhook_id])[webhook_id]
            row = _row(found, counts)
            log = service.list_deliveries(
                session, webhook_id, status=status, page=number, page_size=PAGE_SIZE
            )
            deliveries = [
                {
                    "id": item.delivery.id,
                    "event_type": event_label(item.event_type),
                    "event_code": item.event_type,
                    "event_id": str(item.event_id),
                    "status": item.delivery.status,
                    "attempts": item.delivery.attempts,
                    "last_status_code": item.delivery.last_status_code,
                    "last_error": item.delivery.last_error,
                    "created_at": item.delivery.created_at,
                    "delivered_at": item.delivery.delivered_at,
                    "next_attempt_at": item.delivery.next_attempt_at
                    if item.delivery.status == DeliveryStatus.PENDING.value
                    else None,
                }
                for item in log.items
            ]
    except NotFound:
        return _not_found(webhook_id)
    pages = max(1, -(-log.total // PAGE_SIZE))
    return page(
        "webhook.html",
        hook=row,
        deliveries=deliveries,
        total=log.total,
        status=status,
        page_number=number,
        pages=pages,
        statuses=[s.value for s in DeliveryStatus],
    )


@bp.post(f"/webhooks/<{_ID}:webhook_id>/enable")
@login_required
def webhook_enable(webhook_id: int) -> Response | tuple[str, int]:
    session = db.get_session()
    try:
        with db.write(session):
            service.enable(session, webhook_id, now=context.now())
    except NotFound:
        return _not_found(webhook_id)
    flash(
        _("Webhook %(id)s is on: what waited is delivered now, in order.", id=webhook_id),
        "success",
    )
    return redirect(url_for("dashboard.webhook", webhook_id=webhook_id), 303)


@bp.post(f"/webhooks/<{_ID}:webhook_id>/disable")
@login_required
def webhook_disable(webhook_id: int) -> Response | tuple[str, int]:
    session = db.get_session()
    try:
        with db.write(session):
            service.update_subscription(
                session, webhook_id, {"active": False}, now=context.now(),
                destinations=_destinations(), box=_box(),
            )  # fmt: skip
    except NotFound:
        return _not_found(webhook_id)
    flash(
        _(
            "Webhook %(id)s is off: events are kept and sent when you turn it on again.",
            id=webhook_id,
        ),
        "success",
    )
    return redirect(url_for("dashboard.webhook", webhook_id=webhook_id), 303)


@bp.route(f"/webhooks/<{_ID}:webhook_id>/delete", methods=["GET", "POST"])
@login_required
def webhook_delete(webhook_id: int) -> Response | tuple[str, int]:
    session = db.get_session()
    if request.method == "POST":
        try:
            with db.write(session):
                found = service.get_subscription(session, webhook_id)
                url = found.url
                service.delete_subscription(session, webhook_id)
        except NotFound:
            return _not_found(webhook_id)
        flash(_("Webhook %(id)s (%(url)s) is deleted.", id=webhook_id, url=url), "success")
        return redirect(url_for("dashboard.webhooks"), 303)
    try:
        with db.read(session):
            found = service.get_subscription(session, webhook_id)
            counts = service.delivery_counts(session, [webhook_id])[webhook_id]
            row = _row(found, counts)
    except NotFound:
        return _not_found(webhook_id)
    return page("webhook_delete.html", hook=row)


@bp.post(f"/webhooks/<{_ID}:webhook_id>/deliveries/<{_BIG_ID}:delivery_id>/redeliver")
@login_required
def webhook_redeliver(webhook_id: int, delivery_id: int) -> Response | tuple[str, int]:
    session = db.get_session()
    try:
        with db.write(session):
            service.redeliver(session, webhook_id, delivery_id, now=context.now())
    except NotFound:
        return error(
            404,
            _("No such delivery"),
            _(
                "Webhook %(id)s has no delivery number %(delivery)s.",
                id=webhook_id,
                delivery=delivery_id,
            ),
        )
    flash(_("Delivery %(delivery)s goes out again in a moment.", delivery=delivery_id), "success")
    return redirect(url_for("dashboard.webhook", webhook_id=webhook_id), 303)
