"""Order endpoints for the webshop: /api/v1/orders."""

from __future__ import annotations

import uuid
from typing import Any

from flask import request
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from store_api import context, db
from store_api.auth import Caller, current_caller, require
from store_api.blueprint import Blueprint
from store_api.customers import service as customers
from store_api.errors import DomainError
from store_api.keys.models import Role
from store_api.orders import service
from store_api.orders.schemas import IdempotencyHeaderSchema, OrderCreateSchema, OrderSchema
from store_api.stock.models import Channel
from store_api.stock.routes import note_refusal

blp = Blueprint("orders", __name__, url_prefix="/api/v1", description="Webshop orders.")

ORDERERS = (Role.OWNER, Role.WEBSHOP)


def _own(caller: Caller) -> int | None:
    """A webshop key sees only the orders it placed (several integrations may share a shop)."""
    return caller.key_id if caller.role == Role.WEBSHOP else None


@blp.route("/orders")
class Orders(MethodView):
    @require(*ORDERERS)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.arguments(OrderCreateSchema)
    @blp.response(
        201, OrderSchema, description="Placed, or replayed (header Idempotent-Replayed: true)."
    )
    def post(self, headers: dict[str, Any], data: dict[str, Any]) -> Any:
        """Place an order: all lines or none. Retry safely with the same Idempotency-Key."""
        caller = current_caller()
        key = headers["idempotency_key"]
        body_hash = service.request_hash(request.get_json(silent=True) or {})
        session = db.get_session()
        try:
            with db.write(session):
                if data.get("customer_id") is not None:
                    customers.require_customer(session, data["customer_id"], "customer_id")
                order, replayed = service.place_order(
                    session,
                    lines=[service.LineRequest(ln["sku"], ln["quantity"]) for ln in data["lines"]],
                    reservation_ids=data["reservation_ids"],
                    client_key_id=caller.key_id,
                    idempotency_key=key,
                    body_hash=body_hash,
                    actor=caller.name,
                    reference=data.get("reference"),
                    now=context.now(),
                    policy=context.policy(),
                    channels=caller.channels,
                    customer_id=data.get("customer_id"),
                )
        except DomainError as error:
            note_refusal(error, kind="order", channel=Channel.WEB)
            raise
        except IntegrityError:
            # Another request with the same key committed first (PostgreSQL); replay it.
            with db.read(session):
                existing = service.find_by_idempotency_key(session, caller.key_id, key)
                if existing is None:
                    raise
                order, replayed = service.replay(existing, body_hash), True
        if replayed:
            # The original response again, marked so the webshop can tell (Stripe does the same).
            return order.snapshot, 201, {"Idempotent-Replayed": "true"}
        return order.snapshot


@blp.route("/orders/<uuid:order_id>")
class OrderById(MethodView):
    @require(*ORDERERS)
    @blp.response(200, OrderSchema)
    def get(self, order_id: uuid.UUID) -> dict[str, Any]:
        """Read an order as it is now (cancelled or not)."""
        session = db.get_session()
        with db.read(session):
            return service.snapshot(
                service.get_order(session, order_id, client_key_id=_own(current_caller()))
            )


@blp.route("/orders/<uuid:order_id>/cancel")
class OrderCancel(MethodView):
    @require(*ORDERERS)
    @blp.response(200, OrderSchema)
    def post(self, order_id: uuid.UUID) -> dict[str, Any]:
        """Cancel an order: every unit goes back where it was taken from."""
        session = db.get_session()
        with db.write(session):
            caller = current_caller()
            order = service.cancel_order(
                session,
                order_id,
                actor=caller.name,
                now=context.now(),
                policy=context.policy(),
                client_key_id=_own(caller),
            )
            return service.snapshot(order)
