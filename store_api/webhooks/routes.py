"""Webhook subscriptions and their delivery log: /api/v1/webhooks (owner and admin)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView
from sqlalchemy.orm import Session

from store_api import context, db
from store_api.auth import require
from store_api.blueprint import Blueprint
from store_api.instance import secret_key
from store_api.keys.models import Role
from store_api.webhooks import service
from store_api.webhooks.destinations import DestinationPolicy
from store_api.webhooks.models import WebhookSubscription
from store_api.webhooks.schemas import (
    DeliveryPageSchema,
    DeliveryQueryArgsSchema,
    DeliverySchema,
    WebhookCreateSchema,
    WebhookSchema,
    WebhookUpdateSchema,
)
from store_api.webhooks.secret_box import SecretBox

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description="Webhook subscriptions.")

# Subscriptions send shop data to any URL and hold signing secrets: the owner's business.
MANAGERS = (Role.OWNER,)
# Ids beyond the column's range are simply not found (instead of a database error).
_ID = "int(max=2147483647)"
_BIG_ID = "int(max=9223372036854775807)"


def _destinations() -> DestinationPolicy:
    return DestinationPolicy.from_config(current_app.config)


def _box() -> SecretBox:
    return SecretBox(secret_key(current_app._get_current_object()))  # type: ignore[attr-defined]


def _subscription_dict(
    session: Session, subscription: WebhookSubscription, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """A subscription as the API shows it; the secret is added only by create and rotate."""
    if counts is None:
        counts = service.delivery_counts(session, [subscription.id])[subscription.id]
    return {
        "id": subscription.id,
        "url": subscription.url,
        "description": subscription.description,
        "event_types": subscription.event_types,
        "include_customer_data": subscription.include_customer_data,
        "active": subscription.active,
        "created_at": subscription.created_at,
        "failing_since": subscription.failing_since,
        "disabled_at": subscription.disabled_at,
        "disabled_reason": subscription.disabled_reason,
        "deliveries": counts,
    }


def _delivery_dict(logged: service.LoggedDelivery) -> dict[str, Any]:
    d = logged.delivery
    return {
        "id": d.id,
        "event_seq": d.event_seq,
        "event_id": logged.event_id,
        "event_type": logged.event_type,
        "event_key": d.event_key,
        "status": d.status,
        "attempt_count": d.attempts,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
        "attempts": [
            {
                "attempted_at": a.attempted_at,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                "error": a.error,
            }
            for a in logged.attempts
        ],
    }


@blp.route("/webhooks")
class Webhooks(MethodView):
    @require(*MANAGERS)
    @blp.response(200, WebhookSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every subscription, with its state and delivery counts (never the secret)."""
        session = db.get_session()
        with db.read(session):
            subscriptions = service.list_subscriptions(session)
            counts = service.delivery_counts(session, [s.id for s in subscriptions])
            return [_subscription_dict(session, s, counts[s.id]) for s in subscriptions]

    @require(*MANAGERS)
    @blp.arguments(WebhookCreateSchema)
    @blp.response(201, WebhookSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Subscribe a URL to events from now on. The answer holds the secret, once."""
        session = db.get_session()
        with db.write(session):
            subscription, secret = service.create_subscription(
                session, now=context.now(), destinations=_destinations(), box=_box(), **data
            )
            return {**_subscription_dict(session, subscription), "secret": secret}


@blp.route(f"/webhooks/<{_ID}:webhook_id>")
class WebhookById(MethodView):
    @require(*MANAGERS)
    @blp.response(200, WebhookSchema)
    def get(self, webhook_id: int) -> dict[str, Any]:
        """One subscription: active or disabled (and why), failing since, delivery counts."""
        session = db.get_session()
        with db.read(session):
            return _subscription_dict(session, service.get_subscription(session, webhook_id))

    @require(*MANAGERS)
    @blp.arguments(WebhookUpdateSchema)
    @blp.response(200, WebhookSchema)
    def patch(self, changes: dict[str, Any], webhook_id: int) -> dict[str, Any]:
        """Change url, event types, description or active; rotate the secret."""
        session = db.get_session()
        with db.write(session):
            subscription, rotated = service.update_subscription(
                session,
                webhook_id,
                changes,
                now=context.now(),
                destinations=_destinations(),
                box=_box(),
            )
            row = _subscription_dict(session, subscription)
        if rotated is not None:
            row["secret"] = rotated
        return row

    @require(*MANAGERS)
    @blp.response(204)
    def delete(self, webhook_id: int) -> None:
        """Delete a subscription and its delivery log; nothing more is sent to it."""
        session = db.get_session()
        with db.write(session):
            service.delete_subscription(session, webhook_id)


@blp.route(f"/webhooks/<{_ID}:webhook_id>/enable")
class WebhookEnable(MethodView):
    @require(*MANAGERS)
    @blp.response(200, WebhookSchema)
    def post(self, webhook_id: int) -> dict[str, Any]:
        """Re-enable a subscription; what waited (and every event since) is delivered."""
        session = db.get_session()
        with db.write(session):
            subscription = service.enable(session, webhook_id, now=context.now())
            return _subscription_dict(session, subscription)


@blp.route(f"/webhooks/<{_ID}:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @require(*MANAGERS)
    @blp.arguments(DeliveryQueryArgsSchema, location="query")
    @blp.response(200, DeliveryPageSchema)
    def get(self, args: dict[str, Any], webhook_id: int) -> dict[str, Any]:
        """The delivery log, newest event first: every attempt's status, latency and error."""
        session = db.get_session()
        with db.read(session):
            log = service.list_deliveries(
                session,
                webhook_id,
                status=args.get("status"),
                page=args["page"],
                page_size=args["page_size"],
            )
        return {
            "items": [_delivery_dict(item) for item in log.items],
            "page": args["page"],
            "page_size": args["page_size"],
            "total": log.total,
        }


@blp.route(f"/webhooks/<{_ID}:webhook_id>/deliveries/<{_BIG_ID}:delivery_id>/redeliver")
class WebhookRedeliver(MethodView):
    @require(*MANAGERS)
    @blp.response(202, DeliverySchema)
    def post(self, webhook_id: int, delivery_id: int) -> dict[str, Any]:
        """Send a delivery again soon (same webhook-id), whatever its state."""
        session = db.get_session()
        with db.write(session):
            return _delivery_dict(
                service.redeliver(session, webhook_id, delivery_id, now=context.now())
            )
