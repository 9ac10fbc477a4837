"""The planogram, /api/v1/lanes (the owner edits; sellers, devices read), and help alerts."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from flask.views import MethodView

from store_api import context, db
from store_api.auth import current_caller, require
from store_api.blueprint import Blueprint
from store_api.errors import ErrorCode, Invalid
from store_api.i18n import current_locale
from store_api.idempotency import idempotent
from store_api.keys.models import Role
from store_api.shelves import service
from store_api.shelves.models import HelpAlert, Lane, ShelfDiscrepancy
from store_api.shelves.schemas import (
    NAME_PATTERN,
    AlertQueryArgsSchema,
    AlertSchema,
    DeviceSchema,
    DiscrepancyQueryArgsSchema,
    DiscrepancyResolveSchema,
    DiscrepancySchema,
    FootfallHourSchema,
    FootfallQueryArgsSchema,
    LanePutSchema,
    LaneQueryArgsSchema,
    LaneSchema,
    TaskSchema,
    TextQueryArgsSchema,
)

blp = Blueprint("lanes", __name__, url_prefix="/api/v1", description="The shelf planogram.")

# Sellers refill lanes and devices (labels, the bridge) show what a lane holds.
READERS = (Role.OWNER, Role.SELLER, Role.DEVICE)
# What goes where on the shelves is the owner's call.
EDITORS = (Role.OWNER,)
# Sellers answer help alerts; the owner watches how fast.
HELPERS = (Role.OWNER, Role.SELLER)
_ID = "int(max=2147483647)"

# Footfall next to sales is the owner's view of the shop; sellers look after the devices too.
REPORT_READERS = (Role.OWNER,)
DEVICE_READERS = (Role.OWNER, Role.SELLER)
# Sellers see what to count (the tablet's tasks); looking into it and resolving is the owner's.
DISCREPANCY_READERS = (Role.OWNER, Role.SELLER)

sensors_blp = Blueprint(
    "sensors",
    __name__,
    url_prefix="/api/v1",
    description="Footfall, shelf devices, and shelf vs system discrepancies.",
)

alerts_blp = Blueprint(
    "alerts", __name__, url_prefix="/api/v1", description="Customers waiting for help."
)


def _store() -> str:
    store: str = current_app.config["STORE_ID"]
    return store


def _lane_dict(lane: Lane) -> dict[str, Any]:
    return {
        "shelf": lane.shelf,
        "lane": lane.lane,
        "sku": lane.sku,
        "unit_weight_g": lane.unit_weight_g,
        "capacity": lane.capacity,
        "tolerance_g": lane.tolerance_g,
        "units_on_shelf": lane.units_on_shelf,
        "last_grams": lane.last_grams,
        "last_reading_at": lane.last_reading_at,
        "wrong_item": lane.wrong_item_since is not None,
        "wrong_item_since": lane.wrong_item_since,
        "updated_at": lane.updated_at,
    }


@blp.route("/lanes")
class Lanes(MethodView):
    @require(*READERS)
    @blp.arguments(LaneQueryArgsSchema, location="query")
    @blp.response(200, LaneSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """The planogram: every lane with its product, units on the shelf and flags."""
        session = db.get_session()
        with db.read(session):
            return [_lane_dict(lane) for lane in service.list_lanes(session, _store(), **args)]


_NAME = {"type": "string", "pattern": NAME_PATTERN}


@blp.route(
    "/lanes/<shelf>/<lane>",
    parameters=[
        {"in": "path", "name": "shelf", "required": True, "schema": _NAME},
        {"in": "path", "name": "lane", "required": True, "schema": _NAME},
    ],
)
class LaneByName(MethodView):
    @require(*READERS)
    @blp.response(200, LaneSchema)
    def get(self, shelf: str, lane: str) -> dict[str, Any]:
        """One lane: its product, unit weight, capacity, units on the shelf, wrong item."""
        session = db.get_session()
        with db.read(session):
            return _lane_dict(service.get_lane(session, _store(), shelf, lane))

    @require(*EDITORS)
    @blp.arguments(LanePutSchema)
    @blp.response(200, LaneSchema)
    def put(self, data: dict[str, Any], shelf: str, lane: str) -> dict[str, Any]:
        """Put a product in a lane (create or replace); optionally say how many units."""
        bad = {
            name: ["1-64 characters of A-Z a-z 0-9 _ . : -"]
            for name, value in (("shelf", shelf), ("lane", lane))
            if not re.match(NAME_PATTERN, value)
        }
        if bad:
            raise Invalid(ErrorCode.VALIDATION_ERROR, "Bad shelf or lane name.", bad)
        session = db.get_session()
        with db.write(session):
            return _lane_dict(
                service.put_lane(session, _store(), shelf, lane, data, now=context.now())
            )


def alert_out(alert: HelpAlert, product_name: str | None = None) -> dict[str, Any]:
    response = (
        (alert.acknowledged_at - alert.raised_at).total_seconds()
        if alert.acknowledged_at is not None
        else None
    )
    return {
        "id": alert.id,
        "status": alert.status,
        "text": service.alert_text(current_locale(), alert, product_name),
        "zone": alert.zone,
        "shelf": alert.shelf,
        "lane": alert.lane,
        "sku": alert.sku,
        "product_name": product_name,
        "dwell_s": alert.dwell_s,
        "raised_at": alert.raised_at,
        "acknowledged_at": alert.acknowledged_at,
        "acknowledged_by": alert.acknowledged_by,
        "escalated_at": alert.escalated_at,
        "response_s": response,
    }


@alerts_blp.route("/alerts")
class Alerts(MethodView):
    @require(*HELPERS)
    @alerts_blp.arguments(AlertQueryArgsSchema, location="query")
    @alerts_blp.response(200, AlertSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Help alerts, newest first, with their timings (``?status=open|escalated|...``)."""
        args.pop("lang", None)  # read by the request's locale
        session = db.get_session()
        with db.read(session):
            alerts = service.list_alerts(session, _store(), **args)
            names = service.product_names(session, (a.sku for a in alerts))
            return [alert_out(a, names.get(a.sku or "")) for a in alerts]


@alerts_blp.route(f"/alerts/<{_ID}:alert_id>/ack")
class AlertAck(MethodView):
    @require(*HELPERS)
    @idempotent
    @alerts_blp.response(200, AlertSchema)
    def post(self, alert_id: int) -> dict[str, Any]:
        """I'm going: the first acknowledgement is kept (who, when); repeating it is harmless."""
        session = db.get_session()
        with db.write(session):
            alert = service.acknowledge(
                session, _store(), alert_id, current_caller().name, context.now()
            )
            names = service.product_names(session, [alert.sku])
            return alert_out(alert, names.get(alert.sku or ""))


@sensors_blp.route("/footfall")
class Footfall(MethodView):
    @require(*REPORT_READERS)
    @sensors_blp.arguments(FootfallQueryArgsSchema, location="query")
    @sensors_blp.response(200, FootfallHourSchema(many=True))
    def get(self, args: dict[str, Any]) -> list[Any]:
        """Visitors in and out per UTC hour (door counters), next to the store's sales.

        ``from`` is included and ``to`` excluded; ``to`` must come after ``from`` by at most 31
        days (else 422 naming ``to``).
        """
        session = db.get_session()
        with db.read(session):
            return list(service.footfall(session, _store(), args["date_from"], args["date_to"]))


@sensors_blp.route("/devices")
class Devices(MethodView):
    @require(*DEVICE_READERS)
    @sensors_blp.response(200, DeviceSchema(many=True))
    def get(self) -> list[Any]:
        """Every sensor of the store: last seen, online (retained status / last will), battery."""
        session = db.get_session()
        with db.read(session):
            return list(service.list_devices(session, _store()))


def task_out(task: service.RefillTask) -> dict[str, Any]:
    return {
        "text": task.text(current_locale()),
        "shelf": task.shelf,
        "lane": task.lane,
        "sku": task.sku,
        "name": task.name,
        "quantity": task.quantity,
        "units_on_shelf": task.units_on_shelf,
        "capacity": task.capacity,
        "backroom_available": task.backroom_available,
    }


@alerts_blp.route("/tasks")
class Tasks(MethodView):
    @require(*HELPERS)
    @alerts_blp.arguments(TextQueryArgsSchema, location="query")
    @alerts_blp.response(200, TaskSchema(many=True))
    def get(self, _args: dict[str, Any]) -> list[Any]:
        """What sellers should do now: refill the lanes the scales see empty, from the backroom.

        ``text`` is in the caller's language (``?lang=`` or Accept-Language; French by default).
        """
        session = db.get_session()
        with db.read(session):
            return [task_out(t) for t in service.refill_tasks(session, _store(), context.policy())]


def discrepancy_out(found: ShelfDiscrepancy) -> dict[str, Any]:
    return {
        "id": found.id,
        "status": found.status,
        "kind": found.kind,
        "sku": found.sku,
        "lanes": found.lanes,
        "window_start": found.window_start,
        "window_end": found.window_end,
        "taken": found.taken,
        "put_back": found.put_back,
        "accounted": found.accounted,
        "difference": found.difference,
        "raised_at": found.raised_at,
        "resolved_at": found.resolved_at,
        "resolved_by": found.resolved_by,
        "note": found.note,
    }


@sensors_blp.route("/discrepancies")
class Discrepancies(MethodView):
    @require(*DISCREPANCY_READERS)
    @sensors_blp.arguments(DiscrepancyQueryArgsSchema, location="query")
    @sensors_blp.response(200, DiscrepancySchema(many=True))
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Shelf vs system: windows where a product's shelves and its floor stock disagree
        (possible shrinkage or misplaced stock), newest first."""
        session = db.get_session()
        with db.read(session):
            return [
                discrepancy_out(d) for d in service.list_discrepancies(session, _store(), **args)
            ]


@sensors_blp.route(f"/discrepancies/<{_ID}:discrepancy_id>/resolve")
class DiscrepancyResolve(MethodView):
    @require(*REPORT_READERS)
    @sensors_blp.arguments(DiscrepancyResolveSchema)
    @sensors_blp.response(200, DiscrepancySchema)
    def post(self, data: dict[str, Any], discrepancy_id: int) -> dict[str, Any]:
        """Looked into: the first resolution (who, when, the note) is kept."""
        session = db.get_session()
        with db.write(session):
            found = service.resolve_discrepancy(
                session,
                _store(),
                discrepancy_id,
                current_caller().name,
                data.get("note"),
                context.now(),
            )
            return discrepancy_out(found)
