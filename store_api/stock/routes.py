"""Stock endpoints: levels, adjustments, counts, the ledger, and reservations."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flask.views import MethodView
from sqlalchemy.orm import Session

from store_api import context, db
from store_api.auth import ALL_ROLES, Caller, current_caller, require
from store_api.blueprint import Blueprint
from store_api.errors import ErrorCode, Invalid
from store_api.i18n import current_locale
from store_api.idempotency import idempotent
from store_api.keys.models import Role
from store_api.schemas import ErrorSchema
from store_api.stock import service
from store_api.stock.models import Channel, Reservation
from store_api.stock.schemas import (
    AdjustmentSchema,
    CountSchema,
    LocationStockSchema,
    MovementQueryArgsSchema,
    MovementSchema,
    ProductStockSchema,
    ReservationCommitSchema,
    ReservationCreateSchema,
    ReservationExtendSchema,
    ReservationPageSchema,
    ReservationQueryArgsSchema,
    ReservationSchema,
    StockListSchema,
    StockQueryArgsSchema,
)
from store_api.suppliers import service as suppliers

blp = Blueprint("stock", __name__, url_prefix="/api/v1", description="The shared stock.")
reservations_blp = Blueprint(
    "reservations", __name__, url_prefix="/api/v1", description="Holds on units, store and web."
)

RESERVERS = (Role.OWNER, Role.SELLER, Role.WEBSHOP)
STOCK_KEEPERS = (Role.OWNER, Role.SELLER)


@blp.route("/stock")
class StockList(MethodView):
    @require(*ALL_ROLES)
    @blp.arguments(StockQueryArgsSchema, location="query")
    @blp.response(200, StockListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Stock of several products at once (a webshop category page): ?sku=A&sku=B."""
        skus = list(dict.fromkeys(args["sku"]))
        session = db.get_session()
        with db.read(session):
            found = service.stock_for(session, skus, context.policy())
            aisle = suppliers.availability_for(session, list(found))
        return {
            "items": [_with_suppliers(found[sku], aisle) for sku in skus if sku in found],
            "unknown_skus": [sku for sku in skus if sku not in found],
        }


@blp.route("/stock/<string:sku>")
class StockBySku(MethodView):
    @require(*ALL_ROLES)
    @blp.response(200, ProductStockSchema)
    def get(self, sku: str) -> dict[str, Any]:
        """Stock of one product, in total and per location, and what suppliers can deliver."""
        session = db.get_session()
        with db.read(session):
            found = service.stock_of(session, sku, context.policy())
            return _with_suppliers(found, suppliers.availability_for(session, [sku]))


def _with_suppliers(
    stock: service.ProductStock, aisle: dict[str, suppliers.SupplierAvailability]
) -> dict[str, Any]:
    """The endless aisle next to the shop's own stock."""
    result: dict[str, Any] = {
        "sku": stock.sku,
        "on_hand": stock.on_hand,
        "reserved": stock.reserved,
        "available": stock.available,
        "locations": stock.locations,
        "supplier": None,
    }
    found = aisle.get(stock.sku)
    if found is not None:
        result["supplier"] = {
            "orderable": found.orderable,
            "availability": found.availability,
            "lead_days": found.lead_days,
            "suppliers": found.suppliers,
            "message": suppliers.describe_availability(found, current_locale()),
        }
    return result


@blp.route("/stock/adjustments")
class Adjustments(MethodView):
    @require(*STOCK_KEEPERS)
    @idempotent
    @blp.arguments(AdjustmentSchema)
    @blp.response(201, ProductStockSchema)
    @blp.alt_response(
        409,
        schema=ErrorSchema,
        description="below_reserved (fewer units than are held) or on_hand_limit "
        "(more than MAX_ON_HAND units at one location).",
    )
    def post(self, data: dict[str, Any]) -> service.ProductStock:
        """Add or remove units at a location (delivery, return, damage, loss, correction)."""
        session = db.get_session()
        policy = context.policy()
        with db.write(session):
            service.adjust(
                session,
                sku=data["sku"],
                location=data["location"],
                delta=data["delta"],
                reason=data["reason"],
                reference=data.get("reference"),
                actor=current_caller().name,
                now=context.now(),
                policy=policy,
            )
            return service.stock_of(session, data["sku"], policy)


@blp.route("/stock/<string:sku>/locations/<string:location>")
class StockCount(MethodView):
    @require(*STOCK_KEEPERS)
    @idempotent
    @blp.arguments(CountSchema)
    @blp.response(200, LocationStockSchema)
    def put(self, data: dict[str, Any], sku: str, location: str) -> service.LocationStock:
        """Record an inventory count. Refused (409 stale_count) if on_hand moved meanwhile."""
        session = db.get_session()
        with db.write(session):
            level = service.count(
                session,
                sku=sku,
                location=location,
                on_hand=data["on_hand"],
                expected_on_hand=data["expected_on_hand"],
                reference=data.get("reference"),
                actor=current_caller().name,
                now=context.now(),
                policy=context.policy(),
            )
        return level


@blp.route("/stock/movements")
class Movements(MethodView):
    @require(Role.OWNER)
    @blp.arguments(MovementQueryArgsSchema, location="query")
    @blp.response(200, MovementSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """The stock ledger, newest first; page with ?before_id=<last id>."""
        session = db.get_session()
        with db.read(session):
            rows = service.movements(
                session,
                sku=args.get("sku"),
                location=args.get("location"),
                limit=args["limit"],
                before_id=args.get("before_id"),
            )
        return [
            {**{c: getattr(m, c) for c in MovementSchema().fields if hasattr(m, c)}, "sku": sku}
            for m, sku in rows
        ]


# --- reservations --------------------------------------------------------------------


def _channel_for(caller: Caller, requested: str | None) -> str:
    """Sellers hold for the store, the webshop for the web; owner and admin choose."""
    own = caller.own_channel
    if own is None:
        return requested or Channel.STORE
    if requested is not None and requested != own:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            f"A {caller.role} key reserves for the {own} channel.",
            {"channel": [f"Must be {own!s} for a {caller.role} key."]},
        )
    return own


_RESERVATION_FIELDS = tuple(name for name in ReservationSchema().fields if name != "product_name")


def _out(session: Session, reservations: Sequence[Reservation]) -> list[dict[str, Any]]:
    """Holds as the API shows them: with the product's name (one query for all of them)."""
    names = service.product_names(session, {r.product_id for r in reservations})
    return [
        {
            **{name: getattr(r, name) for name in _RESERVATION_FIELDS},
            "product_name": names.get(r.product_id),
        }
        for r in reservations
    ]


def _one(session: Session, reservation: Reservation) -> dict[str, Any]:
    return _out(session, [reservation])[0]


@reservations_blp.route("/reservations")
class Reservations(MethodView):
    @require(*RESERVERS)
    @idempotent
    @reservations_blp.arguments(ReservationCreateSchema)
    @reservations_blp.response(201, ReservationSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Hold units now. 409 insufficient_stock says how many are available."""
        caller = current_caller()
        session = db.get_session()
        with db.write(session):
            made = service.reserve(
                session,
                sku=data["sku"],
                quantity=data["quantity"],
                channel=_channel_for(caller, data.get("channel")),
                location=data.get("location"),
                ttl_seconds=data.get("ttl_seconds"),
                note=data.get("note"),
                actor=caller.name,
                now=context.now(),
                policy=context.policy(),
                recommendation_id=data.get("recommendation_id"),
                created_by_key_id=caller.key_id,
            )
            return _one(session, made)

    @require(*RESERVERS)
    @reservations_blp.arguments(ReservationQueryArgsSchema, location="query")
    @reservations_blp.response(200, ReservationPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List reservations, newest first (sellers and the webshop see their channel);
        ``mine=true``: only those made with the calling key (a tablet's own holds)."""
        caller = current_caller()
        channel = caller.own_channel or args.get("channel")
        session = db.get_session()
        with db.read(session):
            items, total = service.list_reservations(
                session,
                status=args.get("status"),
                sku=args.get("sku"),
                channel=channel,
                limit=args["page_size"],
                offset=(args["page"] - 1) * args["page_size"],
                created_by_key_id=caller.key_id if args["mine"] else None,
            )
            listed = _out(session, items)
        return {
            "items": listed,
            "page": args["page"],
            "page_size": args["page_size"],
            "total": total,
        }


@reservations_blp.route("/reservations/<uuid:reservation_id>")
class ReservationById(MethodView):
    @require(*RESERVERS)
    @reservations_blp.response(200, ReservationSchema)
    def get(self, reservation_id: uuid.UUID) -> dict[str, Any]:
        """Read one reservation."""
        session = db.get_session()
        with db.read(session):
            reservation = service.get_reservation(session, reservation_id)
            service.check_channel(reservation, current_caller().channels)
            return _one(session, reservation)

    @require(*RESERVERS)
    @idempotent
    @reservations_blp.response(200, ReservationSchema)
    def delete(self, reservation_id: uuid.UUID) -> dict[str, Any]:
        """Release: the units are available again at once."""
        session = db.get_session()
        caller = current_caller()
        with db.write(session):
            released = service.release(
                session,
                reservation_id,
                actor=caller.name,
                now=context.now(),
                policy=context.policy(),
                channels=caller.channels,
            )
            return _one(session, released)


@reservations_blp.route("/reservations/<uuid:reservation_id>/extend")
class ReservationExtend(MethodView):
    @require(*RESERVERS)
    @idempotent
    @reservations_blp.arguments(ReservationExtendSchema)
    @reservations_blp.response(200, ReservationSchema)
    def post(self, data: dict[str, Any], reservation_id: uuid.UUID) -> dict[str, Any]:
        """Hold longer: ttl_seconds from now, or the channel's default."""
        session = db.get_session()
        with db.write(session):
            extended = service.extend(
                session,
                reservation_id,
                ttl_seconds=data.get("ttl_seconds"),
                now=context.now(),
                policy=context.policy(),
                channels=current_caller().channels,
            )
            return _one(session, extended)


@reservations_blp.route("/reservations/<uuid:reservation_id>/commit")
class ReservationCommit(MethodView):
    @require(*RESERVERS)
    @idempotent
    @reservations_blp.arguments(ReservationCommitSchema)
    @reservations_blp.response(200, ReservationSchema)
    def post(self, data: dict[str, Any], reservation_id: uuid.UUID) -> dict[str, Any]:
        """The sale happened: on_hand and reserved both go down."""
        session = db.get_session()
        with db.write(session):
            committed = service.commit_reservation(
                session,
                reservation_id,
                actor=current_caller().name,
                reference=data.get("reference"),
                now=context.now(),
                policy=context.policy(),
                channels=current_caller().channels,
            )
            return _one(session, committed)
