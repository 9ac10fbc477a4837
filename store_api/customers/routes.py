"""Customer endpoints: /api/v1/customers (consents, stock alerts, export, erasure)."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView
from sqlalchemy.orm import Session

from store_api import context, db
from store_api.auth import current_caller, require
from store_api.blueprint import Blueprint
from store_api.customers import service
from store_api.customers.models import Customer, StockAlert
from store_api.customers.schemas import (
    ConsentsSchema,
    CustomerCreateSchema,
    CustomerExportSchema,
    CustomerPageSchema,
    CustomerQueryArgsSchema,
    CustomerSchema,
    CustomerUpdateSchema,
    ErasureSchema,
    StockAlertCreateSchema,
    StockAlertSchema,
)
from store_api.idempotency import idempotent
from store_api.keys.models import Role

blp = Blueprint(
    "customers", __name__, url_prefix="/api/v1", description="Customers and their consents."
)

# Sellers (tablets) and the webshop register the customers they serve; sellers look them up
# at the counter. The writes a tablet queues honour Idempotency-Key (a replay is answered, not
# applied twice). Export and erasure answer a person's GDPR request: the owner's.
REGISTRARS = (Role.OWNER, Role.SELLER, Role.WEBSHOP)
FINDERS = (Role.OWNER, Role.SELLER)


def _consent_inputs(items: list[dict[str, Any]]) -> list[service.ConsentInput]:
    return [service.ConsentInput(**item) for item in items]


def _view(session: Session, customers: list[Customer]) -> list[dict[str, Any]]:
    consents = service.consents_in_force(session, [c.id for c in customers])
    alerts: dict[uuid.UUID, list[StockAlert]] = {c.id: [] for c in customers}
    for alert in service.stock_alerts(session, alerts):
        alerts[alert.customer_id].append(alert)
    return [
        {
            "id": c.id,
            "name": c.name,
            "email": c.email,
            "phone": c.phone,
            "created_at": c.created_at,
            "created_by": c.created_by,
            "consents": consents.get(c.id, {}),
            "stock_alerts": alerts[c.id],
        }
        for c in customers
    ]


@blp.route("/customers")
class Customers(MethodView):
    @require(*REGISTRARS)
    @idempotent
    @blp.arguments(CustomerCreateSchema)
    @blp.response(201, CustomerSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Register a customer with their consents. A known e-mail or mobile is a 409 naming
        the existing customer_id."""
        session = db.get_session()
        with db.write(session):
            customer = service.create_customer(
                session,
                name=data["name"],
                email=data.get("email"),
                phone=data.get("phone"),
                consents=_consent_inputs(data["consents"]),
                actor=current_caller().name,
                now=context.now(),
            )
            return _view(session, [customer])[0]

    @require(*FINDERS)
    @blp.arguments(CustomerQueryArgsSchema, location="query")
    @blp.response(200, CustomerPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Find customers by part of their name, e-mail or mobile (newest first)."""
        session = db.get_session()
        with db.read(session):
            found, total = service.search(
                session,
                q=args.get("q"),
                limit=args["page_size"],
                offset=(args["page"] - 1) * args["page_size"],
            )
            items = _view(session, found)
        return {
            "items": items,
            "page": args["page"],
            "page_size": args["page_size"],
            "total": total,
        }


@blp.route("/customers/<uuid:customer_id>")
class CustomerById(MethodView):
    @require(*REGISTRARS)
    @blp.response(200, CustomerSchema)
    def get(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """One customer, with the consent in force per purpose and their stock alerts."""
        session = db.get_session()
        with db.read(session):
            return _view(session, [service.get_customer(session, customer_id)])[0]

    @require(*REGISTRARS)
    @blp.arguments(CustomerUpdateSchema)
    @blp.response(200, CustomerSchema)
    def patch(self, data: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Correct a name, e-mail or mobile (null or "" removes a contact; one must remain)."""
        session = db.get_session()
        with db.write(session):
            customer = service.update_customer(session, customer_id, data, now=context.now())
            return _view(session, [customer])[0]

    @require(Role.OWNER)
    @blp.response(200, ErasureSchema)
    def delete(self, customer_id: uuid.UUID) -> service.Erasure:
        """Erase the customer everywhere (right to erasure). Holds and orders keep their
        numbers; pending reminders are cancelled; event payloads lose the id and hold notes."""
        session = db.get_session()
        with db.write(session):
            return service.erase(session, customer_id, now=context.now())


@blp.route("/customers/<uuid:customer_id>/consents")
class CustomerConsents(MethodView):
    @require(*REGISTRARS)
    @idempotent
    @blp.arguments(ConsentsSchema)
    @blp.response(201, CustomerSchema)
    def post(self, data: dict[str, Any], customer_id: uuid.UUID) -> dict[str, Any]:
        """Record consents given or withdrawn (when, how, by whom); the newest is in force."""
        session = db.get_session()
        with db.write(session):
            service.get_customer(session, customer_id)
            service.record_consents(
                session,
                customer_id,
                _consent_inputs(data["consents"]),
                actor=current_caller().name,
                now=context.now(),
            )
            return _view(session, [service.get_customer(session, customer_id)])[0]


@blp.route("/customers/<uuid:customer_id>/export")
class CustomerExport(MethodView):
    @require(Role.OWNER)
    @blp.response(200, CustomerExportSchema)
    def get(self, customer_id: uuid.UUID) -> dict[str, Any]:
        """Everything kept about the customer, for their access request (JSON)."""
        session = db.get_session()
        with db.read(session):
            return service.export(session, customer_id)


@blp.route("/customers/<uuid:customer_id>/stock-alerts")
class CustomerStockAlerts(MethodView):
    @require(*REGISTRARS)
    @idempotent
    @blp.arguments(StockAlertCreateSchema)
    @blp.response(201, StockAlertSchema)
    def post(self, data: dict[str, Any], customer_id: uuid.UUID) -> StockAlert:
        """ "Tell me when it is back": one message on the next stock.back_in_stock of the SKU,
        sent only while it is still available. Needs the customer's service consent (409)."""
        caller = current_caller()
        session = db.get_session()
        with db.write(session):
            return service.add_stock_alert(
                session,
                customer_id,
                sku=data["sku"],
                channel=caller.own_channel or "store",
                actor=caller.name,
                now=context.now(),
            )


@blp.route("/customers/<uuid:customer_id>/stock-alerts/<string:sku>")
class CustomerStockAlert(MethodView):
    @require(*REGISTRARS)
    @blp.response(200, StockAlertSchema)
    def delete(self, customer_id: uuid.UUID, sku: str) -> StockAlert:
        """Cancel a waiting stock alert."""
        session = db.get_session()
        with db.write(session):
            return service.cancel_stock_alert(session, customer_id, sku, now=context.now())
