"""Tablets: /api/v1/tablets (pairing, list, revoke) and /api/v1/me (who is this key)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, current_app, request
from flask.views import MethodView

from store_api import context, db
from store_api.auth import ALL_ROLES, _authenticate, current_caller, require
from store_api.blueprint import Blueprint
from store_api.errors import ErrorCode, NotFound
from store_api.instance import secret_key
from store_api.keys.models import Role
from store_api.schemas import ErrorSchema
from store_api.tablets import service
from store_api.tablets.models import Tablet
from store_api.tablets.schemas import (
    MeSchema,
    PairedSchema,
    PairingCodeCreateSchema,
    PairingCodeSchema,
    PairSchema,
    TabletSchema,
)

blp = Blueprint("tablets", __name__, url_prefix="/api/v1", description="Seller tablets.")

# Which devices may act as sellers is the owner's call.
MANAGERS = (Role.OWNER,)
_ID = "int(max=2147483647)"


def pairing_secret(app: Flask) -> str:
    """The key of the codes' HMAC: SECRET_KEY, else the instance's generated secret."""
    return secret_key(app)


def pair_url(base: str, code: str) -> str:
    """The page a tablet opens to pair; the code sits in the fragment, never sent to a server."""
    return f"{base.rstrip('/')}/tablet/#pair={code}"


def limits(app: Flask) -> service.PairingLimits:
    return service.PairingLimits(
        per_address=int(app.config["PAIRING_ATTEMPTS_PER_ADDRESS"]),
        overall=int(app.config["PAIRING_ATTEMPTS_OVERALL"]),
        window=dt.timedelta(seconds=float(app.config["PAIRING_WINDOW_SECONDS"])),
    )


def tablet_out(tablet: Tablet) -> dict[str, Any]:
    return {
        "id": tablet.id,
        "name": tablet.name,
        "device": tablet.device,
        "key_prefix": tablet.key.prefix,
        "paired_at": tablet.paired_at,
        "last_seen_at": tablet.last_seen_at,
        "revoked_at": tablet.key.revoked_at,
    }


@blp.route("/tablets/pairing-codes")
class PairingCodes(MethodView):
    @require(*MANAGERS)
    @blp.arguments(PairingCodeCreateSchema)
    @blp.response(201, PairingCodeSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """A 6-digit code (10 minutes, single use) and the URL a new tablet opens to pair."""
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        session = db.get_session()
        with db.write(session):
            made = service.create_code(
                session,
                name=data.get("name"),
                created_by=current_caller().name,
                secret=pairing_secret(app),
                now=context.now(),
            )
        base = app.config["PUBLIC_URL"] or request.host_url
        return {
            "code": made.code,
            "name": made.name,
            "expires_at": made.expires_at,
            "pair_url": pair_url(base, made.code),
        }


@blp.route("/tablets/pair")
class Pair(MethodView):
    @blp.arguments(PairSchema)
    @blp.response(201, PairedSchema)
    @blp.alt_response(404, schema=ErrorSchema, description="invalid_pairing_code")
    @blp.alt_response(
        429,
        schema=ErrorSchema,
        description="too_many_attempts: too many wrong codes from this network (or overall).",
        headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    )
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Pair this device with the owner's code: no key needed; answers the tablet's key."""
        if "Authorization" in request.headers:
            _authenticate()  # no key is needed, but one that is sent must be valid
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        session = db.get_session()
        with db.write(session):
            paired = service.pair(
                session,
                code=data["code"],
                device=data.get("device"),
                address=context.client_address(),
                secret=pairing_secret(app),
                now=context.now(),
                limits=limits(app),
            )
        if paired is None:
            raise NotFound(
                ErrorCode.INVALID_PAIRING_CODE,
                "Unknown, expired or already used pairing code; ask the owner for a new one.",
                {"code": ["Unknown, expired or already used."]},
            )
        return {"tablet_id": paired.tablet.id, "name": paired.tablet.name, "key": paired.secret}


@blp.route("/tablets")
class Tablets(MethodView):
    @require(*MANAGERS)
    @blp.response(200, TabletSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Every paired tablet, revoked ones included, oldest first."""
        session = db.get_session()
        with db.read(session):
            return [tablet_out(t) for t in service.list_tablets(session)]


@blp.route(f"/tablets/<{_ID}:tablet_id>")
class TabletById(MethodView):
    @require(*MANAGERS)
    @blp.response(200, TabletSchema)
    def delete(self, tablet_id: int) -> dict[str, Any]:
        """Revoke: the tablet's key stops working at once and its live stream ends."""
        session = db.get_session()
        with db.write(session):
            return tablet_out(service.revoke(session, tablet_id, context.now()))


@blp.route("/me")
class Me(MethodView):
    @require(*ALL_ROLES)
    @blp.response(200, MeSchema)
    def get(self) -> dict[str, Any]:
        """Who this key is: its name, role and, for a paired tablet, the tablet's id."""
        caller = current_caller()
        now = context.now()
        session = db.get_session()
        with db.read(session):
            tablet = service.tablet_of_key(session, caller.key_id)
            tablet_id = tablet.id if tablet is not None else None
            stale = service.needs_seen(tablet, now)
        if stale:
            with db.write(session):
                service.seen(session, caller.key_id, now)
        return {"name": caller.name, "role": caller.role.value, "tablet_id": tablet_id}
