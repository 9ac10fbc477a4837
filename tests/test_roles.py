"""Who may call what: every cell of the role x endpoint matrix, through HTTP.

``EXPECTED`` is the contract, written by hand from what the shop needs (docs/roles.md is the
same table for people). Each allowed role gets its normal success; each other role gets 403
and the database is left exactly as it was; a missing, malformed, unknown or revoked key gets
401 on every endpoint. A new endpoint that is not in ``EXPECTED`` fails the coverage test.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from store_api import db
from store_api.catalog import sheets
from store_api.db import Base
from store_api.feeds import service as feeds
from store_api.keys import service as keys_service
from store_api.keys.models import Role
from store_api.orders import service as orders
from store_api.search import service as search
from store_api.shelves import service as shelves
from store_api.stock import service as stock
from store_api.stock.models import Channel
from store_api.suppliers import service as suppliers
from store_api.tablets import service as tablets
from store_api.tablets.routes import pairing_secret
from store_api.webhooks import service as webhooks
from store_api.webhooks.models import WebhookDelivery
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

ROOT = Path(__file__).resolve().parents[1]

Endpoint = tuple[str, str]  # (method, URL template with {placeholders} named as in the rules)

ANYONE = frozenset(Role)
# Admin may do everything; the owner runs the shop.
OWNER = frozenset({Role.ADMIN, Role.OWNER})
# Sellers receive deliveries, count shelves and hold units for customers at the counter.
STOCK_KEEPERS = OWNER | {Role.SELLER}
# The webshop holds units at checkout too; a device (shelf bridge) only reads.
RESERVERS = STOCK_KEEPERS | {Role.WEBSHOP}
# Orders are the webshop's sales; the store sells by committing a reservation.
ORDERERS = OWNER | {Role.WEBSHOP}

EXPECTED: dict[Endpoint, frozenset[Role]] = {
    ("GET", "/api/v1/ping"): ANYONE,
    ("GET", "/api/v1/products"): ANYONE,
    ("POST", "/api/v1/products"): OWNER,
    ("GET", "/api/v1/products/{sku}"): ANYONE,
    ("PATCH", "/api/v1/products/{sku}"): OWNER,
    ("DELETE", "/api/v1/products/{sku}"): OWNER,
    ("GET", "/api/v1/products/suggest"): ANYONE,
    ("GET", "/api/v1/search/synonyms"): OWNER,
    ("POST", "/api/v1/search/synonyms"): OWNER,
    ("GET", "/api/v1/search/synonyms/{synonym_id}"): OWNER,
    ("PATCH", "/api/v1/search/synonyms/{synonym_id}"): OWNER,
    ("DELETE", "/api/v1/search/synonyms/{synonym_id}"): OWNER,
    ("GET", "/api/v1/categories"): ANYONE,
    ("GET", "/api/v1/stock"): ANYONE,
    ("GET", "/api/v1/stock/{sku}"): ANYONE,
    ("POST", "/api/v1/stock/adjustments"): STOCK_KEEPERS,
    ("PUT", "/api/v1/stock/{sku}/locations/{location}"): STOCK_KEEPERS,
    # The ledger names who did what: the owner's audit trail.
    ("GET", "/api/v1/stock/movements"): OWNER,
    ("GET", "/api/v1/reservations"): RESERVERS,
    ("POST", "/api/v1/reservations"): RESERVERS,
    ("GET", "/api/v1/reservations/{reservation_id}"): RESERVERS,
    ("DELETE", "/api/v1/reservations/{reservation_id}"): RESERVERS,
    ("POST", "/api/v1/reservations/{reservation_id}/extend"): RESERVERS,
    ("POST", "/api/v1/reservations/{reservation_id}/commit"): RESERVERS,
    ("POST", "/api/v1/orders"): ORDERERS,
    ("GET", "/api/v1/orders/{order_id}"): ORDERERS,
    ("POST", "/api/v1/orders/{order_id}/cancel"): ORDERERS,
    # Every client may follow the changes it can read (tablets, webshop, shelf devices).
    ("GET", "/api/v1/events"): ANYONE,
    ("GET", "/api/v1/events/stream"): ANYONE,
    # Webhooks carry the shop's data to other systems: the owner decides where.
    ("GET", "/api/v1/webhooks"): OWNER,
    ("POST", "/api/v1/webhooks"): OWNER,
    ("GET", "/api/v1/webhooks/{webhook_id}"): OWNER,
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): OWNER,
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): OWNER,
    ("POST", "/api/v1/webhooks/{webhook_id}/enable"): OWNER,
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): OWNER,
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): OWNER,
    # A shelf label shows one suggestion; only people and the webshop send baskets.
    ("GET", "/api/v1/products/{sku}/recommendations"): ANYONE,
    ("POST", "/api/v1/recommendations"): RESERVERS,
    # Those who show suggestions report what was shown and taken; the owner reads the value.
    ("POST", "/api/v1/recommendations/events"): RESERVERS,
    ("GET", "/api/v1/recommendations/report"): OWNER,
    # Sellers refill lanes and devices show what a lane holds; the owner lays out the shelves.
    ("GET", "/api/v1/lanes"): OWNER | {Role.SELLER, Role.DEVICE},
    ("GET", "/api/v1/lanes/{shelf}/{lane}"): OWNER | {Role.SELLER, Role.DEVICE},
    ("PUT", "/api/v1/lanes/{shelf}/{lane}"): OWNER,
    # Sellers answer customers waiting at a lane; the owner watches the response times.
    ("GET", "/api/v1/alerts"): STOCK_KEEPERS,
    ("POST", "/api/v1/alerts/{alert_id}/ack"): STOCK_KEEPERS,
    # Visitors next to sales is the owner's view; sellers look after the shelf devices too.
    ("GET", "/api/v1/footfall"): OWNER,
    ("GET", "/api/v1/devices"): STOCK_KEEPERS,
    ("GET", "/api/v1/tasks"): STOCK_KEEPERS,
    # Shelf vs system (possible shrinkage): sellers see what to count, the owner looks into it.
    ("GET", "/api/v1/discrepancies"): STOCK_KEEPERS,
    ("POST", "/api/v1/discrepancies/{discrepancy_id}/resolve"): OWNER,
    # Browsing analytics are the shop's figures: the owner's.
    ("GET", "/api/v1/analytics/reports"): OWNER,
    ("GET", "/api/v1/analytics/reports/{slug}"): OWNER,
    # Browsers cannot hold a secret: web events need no key (see PUBLIC), but a key sent must
    # be valid; in-store events (reco_shown, reco_accepted) need a seller's key.
    ("POST", "/api/v1/collect"): ANYONE,
    # Every key may ask who it is (a tablet checks its key at start).
    ("GET", "/api/v1/me"): ANYONE,
    # Which devices act as sellers is the owner's call; a new tablet pairs with the owner's
    # one-time code and needs no key (see PUBLIC), but a key sent must be valid.
    ("POST", "/api/v1/tablets/pairing-codes"): OWNER,
    ("POST", "/api/v1/tablets/pair"): ANYONE,
    ("GET", "/api/v1/tablets"): OWNER,
    ("DELETE", "/api/v1/tablets/{tablet_id}"): OWNER,
    # Suppliers, purchase prices and what the catalog takes from them: the owner's business.
    ("GET", "/api/v1/suppliers"): OWNER,
    ("POST", "/api/v1/suppliers"): OWNER,
    ("GET", "/api/v1/suppliers/{code}"): OWNER,
    ("PATCH", "/api/v1/suppliers/{code}"): OWNER,
    ("GET", "/api/v1/supplier-offers"): OWNER,
    ("GET", "/api/v1/suppliers/{code}/feeds"): OWNER,
    ("POST", "/api/v1/suppliers/{code}/feeds"): OWNER,
    ("GET", "/api/v1/feeds/{feed_id}"): OWNER,
    ("POST", "/api/v1/feeds/{feed_id}/apply"): OWNER,
    # Sheets and publishing decide what the webshop shows: the owner.
    ("GET", "/api/v1/sheets"): OWNER,
    ("GET", "/api/v1/sheets/{sku}"): OWNER,
    ("POST", "/api/v1/sheets/{sku}/ready"): OWNER,
    ("POST", "/api/v1/sheets/{sku}/draft"): OWNER,
    ("POST", "/api/v1/sheets/{sku}/publish"): OWNER,
    ("POST", "/api/v1/sheets/{sku}/unpublish"): OWNER,
    ("GET", "/api/v1/sheet-rules"): OWNER,
    ("PUT", "/api/v1/sheet-rules/{category}"): OWNER,
    # What is published is public product data: any client reads it (the webshop pulls it).
    ("GET", "/api/v1/products/{sku}/jsonld"): ANYONE,
    ("GET", "/api/v1/channels/merchant-feed"): ANYONE,
}

# Endpoints that also work without any key (a missing header is not a 401).
PUBLIC: frozenset[Endpoint] = frozenset(
    {("POST", "/api/v1/collect"), ("POST", "/api/v1/tablets/pair")}
)

SKU = "LL-8KG"
UNITS = {"floor": 5, "backroom": 3}
ORDER_BODY = {"lines": [{"sku": SKU, "quantity": 1}]}
FEED_CSV = b"ref;name;price\nDR-1;Hotte aspirante 60 cm;189,00\n"
FEED_BOUNDARY, FEED_UPLOAD = encode_multipart(
    {"file": FileStorage(io.BytesIO(FEED_CSV), "tarif.csv")}
)
# Sheets of the test product: what the request needs it to be in before.
SHEET_BEFORE = {
    "ready": [],
    "draft": ["ready"],
    "publish": ["ready"],
    "unpublish": ["ready", "publish"],
}


@dataclass(frozen=True)
class Call:
    """A valid request an allowed role would send, and what it answers."""

    success: int
    writes: bool
    query: str = ""
    json: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # A raw body (a multipart file upload) instead of JSON.
    body: bytes | None = None


CALLS: dict[Endpoint, Call] = {
    ("GET", "/api/v1/ping"): Call(200, writes=False),
    ("GET", "/api/v1/products"): Call(200, writes=False, query="?q=produit"),
    ("POST", "/api/v1/products"): Call(
        201, writes=True, json={"sku": "SL-9000", "name": "Sèche-linge", "price": "699.00"}
    ),
    ("GET", "/api/v1/products/{sku}"): Call(200, writes=False),
    ("PATCH", "/api/v1/products/{sku}"): Call(200, writes=True, json={"price": "449.00"}),
    ("DELETE", "/api/v1/products/{sku}"): Call(200, writes=True),
    ("GET", "/api/v1/products/suggest"): Call(200, writes=False, query="?q=prod"),
    ("GET", "/api/v1/search/synonyms"): Call(200, writes=False),
    ("POST", "/api/v1/search/synonyms"): Call(
        201, writes=True, json={"term": "frigo", "synonyms": ["réfrigérateur"]}
    ),
    ("GET", "/api/v1/search/synonyms/{synonym_id}"): Call(200, writes=False),
    ("PATCH", "/api/v1/search/synonyms/{synonym_id}"): Call(
        200, writes=True, json={"synonyms": ["téléviseur", "TV"]}
    ),
    ("DELETE", "/api/v1/search/synonyms/{synonym_id}"): Call(204, writes=True),
    ("GET", "/api/v1/categories"): Call(200, writes=False),
    ("GET", "/api/v1/stock"): Call(200, writes=False, query=f"?sku={SKU}&sku=UNKNOWN"),
    ("GET", "/api/v1/stock/{sku}"): Call(200, writes=False),
    ("POST", "/api/v1/stock/adjustments"): Call(
        201, writes=True, json={"sku": SKU, "location": "floor", "delta": 2, "reason": "delivery"}
    ),
    ("PUT", "/api/v1/stock/{sku}/locations/{location}"): Call(
        200, writes=True, json={"on_hand": 4, "expected_on_hand": UNITS["floor"]}
    ),
    ("GET", "/api/v1/stock/movements"): Call(200, writes=False),
    ("GET", "/api/v1/reservations"): Call(200, writes=False),
    ("POST", "/api/v1/reservations"): Call(201, writes=True, json={"sku": SKU, "quantity": 1}),
    ("GET", "/api/v1/reservations/{reservation_id}"): Call(200, writes=False),
    ("DELETE", "/api/v1/reservations/{reservation_id}"): Call(200, writes=True),
    # Not the channel's default hold, so the extension really changes the expiry.
    ("POST", "/api/v1/reservations/{reservation_id}/extend"): Call(
        200, writes=True, json={"ttl_seconds": 7200}
    ),
    ("POST", "/api/v1/reservations/{reservation_id}/commit"): Call(
        200, writes=True, json={"reference": "TICKET-1"}
    ),
    ("POST", "/api/v1/orders"): Call(
        201, writes=True, json=ORDER_BODY, headers={"Idempotency-Key": "roles-order-1"}
    ),
    ("GET", "/api/v1/orders/{order_id}"): Call(200, writes=False),
    ("POST", "/api/v1/orders/{order_id}/cancel"): Call(200, writes=True),
    ("GET", "/api/v1/events"): Call(200, writes=False, query="?after=0&type=stock.*"),
    ("GET", "/api/v1/events/stream"): Call(200, writes=False, query="?after=0"),
    ("GET", "/api/v1/webhooks"): Call(200, writes=False),
    ("POST", "/api/v1/webhooks"): Call(201, writes=True, json={"url": "https://erp.example/h"}),
    ("GET", "/api/v1/webhooks/{webhook_id}"): Call(200, writes=False),
    ("PATCH", "/api/v1/webhooks/{webhook_id}"): Call(200, writes=True, json={"description": "x"}),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"): Call(204, writes=True),
    ("POST", "/api/v1/webhooks/{webhook_id}/enable"): Call(200, writes=True),
    ("GET", "/api/v1/webhooks/{webhook_id}/deliveries"): Call(200, writes=False),
    ("POST", "/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): Call(
        202, writes=True
    ),
    ("GET", "/api/v1/products/{sku}/recommendations"): Call(
        200, writes=False, query="?kind=complements&limit=1"
    ),
    ("POST", "/api/v1/recommendations"): Call(
        200, writes=False, json={"skus": [SKU], "kind": "complements", "limit": 3}
    ),
    ("POST", "/api/v1/recommendations/events"): Call(
        200,
        writes=True,
        json={
            "events": [
                {
                    "event": "reco_shown",
                    "recommendation_id": "6f1c2b8e-3a4d-4f5e-9a7b-1c2d3e4f5a6b",
                    "suggested_sku": SKU,
                }
            ]
        },
    ),
    ("GET", "/api/v1/recommendations/report"): Call(
        200, writes=False, query="?from=2026-11-01&to=2026-11-27&group=product"
    ),
    ("GET", "/api/v1/lanes"): Call(200, writes=False, query=f"?sku={SKU}"),
    ("GET", "/api/v1/lanes/{shelf}/{lane}"): Call(200, writes=False),
    ("PUT", "/api/v1/lanes/{shelf}/{lane}"): Call(
        200,
        writes=True,
        json={"sku": SKU, "unit_weight_g": 3000, "capacity": 2, "units_on_shelf": 1},
    ),
    ("GET", "/api/v1/alerts"): Call(200, writes=False, query="?status=open"),
    ("POST", "/api/v1/alerts/{alert_id}/ack"): Call(200, writes=True),
    ("GET", "/api/v1/footfall"): Call(
        200, writes=False, query="?from=2026-11-27T08:00:00%2B00:00&to=2026-11-27T12:00:00Z"
    ),
    ("GET", "/api/v1/devices"): Call(200, writes=False),
    ("GET", "/api/v1/tasks"): Call(200, writes=False),
    ("GET", "/api/v1/discrepancies"): Call(200, writes=False, query="?status=open"),
    ("POST", "/api/v1/discrepancies/{discrepancy_id}/resolve"): Call(
        200, writes=True, json={"note": "counted again"}
    ),
    ("GET", "/api/v1/analytics/reports"): Call(200, writes=False),
    ("GET", "/api/v1/analytics/reports/{slug}"): Call(
        200, writes=False, query="?from=2026-11-01&to=2026-11-27&device=mobile"
    ),
    ("POST", "/api/v1/collect"): Call(
        200,
        writes=True,
        json={
            "events": [
                {
                    "event_id": "roles-1",
                    "name": "page_view",
                    "ts": "2026-11-27T09:30:00Z",
                    "page": "https://shop.example/",
                }
            ]
        },
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"},
    ),
    ("GET", "/api/v1/me"): Call(200, writes=False),
    ("POST", "/api/v1/tablets/pairing-codes"): Call(
        201, writes=True, json={"name": "Tablette caisse"}
    ),
    # {pairing_code} is filled in with a live code made for the test.
    ("POST", "/api/v1/tablets/pair"): Call(
        201, writes=True, json={"code": "{pairing_code}", "device": "Chrome 131, Android 14"}
    ),
    ("GET", "/api/v1/tablets"): Call(200, writes=False),
    ("DELETE", "/api/v1/tablets/{tablet_id}"): Call(200, writes=True),
    ("GET", "/api/v1/suppliers"): Call(200, writes=False),
    ("POST", "/api/v1/suppliers"): Call(
        201, writes=True, json={"code": "ELECDIS", "name": "Elecdis"}
    ),
    ("GET", "/api/v1/suppliers/{code}"): Call(200, writes=False),
    ("PATCH", "/api/v1/suppliers/{code}"): Call(200, writes=True, json={"default_lead_days": 5}),
    ("GET", "/api/v1/supplier-offers"): Call(200, writes=False, query="?supplier=DISTRILEC"),
    ("GET", "/api/v1/suppliers/{code}/feeds"): Call(200, writes=False),
    ("POST", "/api/v1/suppliers/{code}/feeds"): Call(
        201,
        writes=True,
        body=FEED_UPLOAD,
        headers={"Content-Type": f"multipart/form-data; boundary={FEED_BOUNDARY}"},
    ),
    ("GET", "/api/v1/feeds/{feed_id}"): Call(200, writes=False, query="?kind=new"),
    ("POST", "/api/v1/feeds/{feed_id}/apply"): Call(200, writes=True, json={}),
    ("GET", "/api/v1/sheets"): Call(200, writes=False, query="?incomplete=true"),
    ("GET", "/api/v1/sheets/{sku}"): Call(200, writes=False),
    ("POST", "/api/v1/sheets/{sku}/ready"): Call(200, writes=True),
    ("POST", "/api/v1/sheets/{sku}/draft"): Call(200, writes=True),
    ("POST", "/api/v1/sheets/{sku}/publish"): Call(200, writes=True),
    ("POST", "/api/v1/sheets/{sku}/unpublish"): Call(200, writes=True),
    ("GET", "/api/v1/sheet-rules"): Call(200, writes=False),
    ("PUT", "/api/v1/sheet-rules/{category}"): Call(
        200, writes=True, json={"required": {"webshop": ["name", "price", "brand"]}}
    ),
    ("GET", "/api/v1/products/{sku}/jsonld"): Call(200, writes=False),
    ("GET", "/api/v1/channels/merchant-feed"): Call(200, writes=False),
}

# A seller acts on store reservations, the webshop on web ones; the others may act on both.
OWN_CHANNEL = {Role.SELLER: Channel.STORE, Role.WEBSHOP: Channel.WEB}


# --- the shop each request runs against ---------------------------------------------------


def _key_id(app: Flask, secret: str) -> int:
    session = db.new_session(app)
    with db.read(session):
        key = keys_service.authenticate(session, secret)
        assert key is not None
        key_id = key.id
    session.close()
    return key_id


def _reserve(app: Flask, clock: FrozenClock, channel: Channel) -> uuid.UUID:
    session = db.new_session(app)
    with db.write(session):
        reservation = stock.reserve(
            session,
            sku=SKU,
            quantity=1,
            channel=channel,
            location=None,
            ttl_seconds=None,
            note=None,
            actor="test",
            now=clock(),
            policy=app.extensions["comptoir_policy"],
        )
    session.close()
    return reservation.id


def _place_order(app: Flask, clock: FrozenClock, keys: Keys) -> uuid.UUID:
    session = db.new_session(app)
    with db.write(session):
        order, _replayed = orders.place_order(
            session,
            lines=[orders.LineRequest(SKU, 1)],
            reservation_ids=[],
            client_key_id=_key_id(app, keys[Role.WEBSHOP]),
            idempotency_key="setup-order",
            body_hash=orders.request_hash(ORDER_BODY),
            actor="test",
            reference=None,
            now=clock(),
            policy=app.extensions["comptoir_policy"],
        )
    session.close()
    return order.id


def _open_shop(
    app: Flask, clock: FrozenClock, keys: Keys, endpoint: Endpoint, role: Role
) -> dict[str, Any]:
    """A product with stock, plus the reservation or order the URL names; its URL values."""
    add_product(app, SKU, UNITS)
    values: dict[str, Any] = {"sku": SKU, "location": "floor", "slug": "funnel"}
    template = endpoint[1]
    if "{reservation_id}" in template:
        values["reservation_id"] = _reserve(app, clock, OWN_CHANNEL.get(role, Channel.STORE))
    if "{order_id}" in template:
        values["order_id"] = _place_order(app, clock, keys)
    if "{webhook_id}" in template:
        values["webhook_id"], values["delivery_id"] = _subscribe(app, clock)
    if "{shelf}" in template:
        values["shelf"], values["lane"] = _plant_lane(app, clock)
    if "{alert_id}" in template:
        values["alert_id"] = _raise_help(app, clock)
    if "{discrepancy_id}" in template:
        values["discrepancy_id"] = _raise_discrepancy(app, clock)
    if endpoint == ("POST", "/api/v1/tablets/pair"):
        values["pairing_code"] = _pairing_code(app, clock)
    if "{tablet_id}" in template:
        values["tablet_id"] = _pair_tablet(app, clock)
    if "{synonym_id}" in template:
        values["synonym_id"] = _add_synonym(app, clock)
    if "{code}" in template or "{feed_id}" in template:
        values["code"], values["feed_id"] = _feed_dry_run(app, clock)
    if template.startswith(("/api/v1/sheet", "/api/v1/products/{sku}/jsonld")):
        values["category"] = "Lave-linge"
        _prepare_sheet(app, clock, template)
    return values


def _pairing_code(app: Flask, clock: FrozenClock) -> str:
    session = db.new_session(app)
    with db.write(session):
        made = tablets.create_code(
            session, name=None, created_by="test", secret=pairing_secret(app), now=clock()
        )
    session.close()
    return made.code


def _pair_tablet(app: Flask, clock: FrozenClock) -> int:
    code = _pairing_code(app, clock)
    session = db.new_session(app)
    with db.write(session):
        paired = tablets.pair(
            session,
            code=code,
            device=None,
            address="192.0.2.1",
            secret=pairing_secret(app),
            now=clock(),
            limits=tablets.PairingLimits(),
        )
        assert paired is not None
        tablet_id = paired.tablet.id
    session.close()
    return tablet_id


def _add_synonym(app: Flask, clock: FrozenClock) -> int:
    session = db.new_session(app)
    with db.write(session):
        synonym = search.create_synonym(session, "télé", ["téléviseur"], now=clock())
        synonym_id = synonym.id
    session.close()
    return synonym_id


def _feed_dry_run(app: Flask, clock: FrozenClock) -> tuple[str, int]:
    session = db.new_session(app)
    with db.write(session):
        suppliers.create_supplier(session, {"code": "DISTRILEC", "name": "Distrilec"}, now=clock())
        record = feeds.dry_run(
            session, "DISTRILEC", FEED_CSV, "tarif.csv", actor="test", now=clock(), max_bytes=10**6
        )
        ids = "DISTRILEC", record.id
    session.close()
    return ids


def _prepare_sheet(app: Flask, clock: FrozenClock, template: str) -> None:
    """The test product's category asks only for what it has; its sheet in the state needed."""
    action = template.rsplit("/", 1)[1]
    steps = ["ready", "publish"] if action == "jsonld" else SHEET_BEFORE.get(action, [])
    verbs = {"ready": sheets.mark_ready, "publish": sheets.publish}
    session = db.new_session(app)
    with db.write(session):
        sheets.save_rule(
            session, "Lave-linge", required={"webshop": ["name", "price"]}, template="",
            google_category="", now=clock(),
        )  # fmt: skip
        for step in steps:
            verbs[step](session, SKU, actor="test", now=clock())
    session.close()


def _raise_discrepancy(app: Flask, clock: FrozenClock) -> int:
    """Lane A1 (2 units, counted now) is emptied with nothing sold: 2 units missing."""
    _plant_lane(app, clock)
    store = app.config["STORE_ID"]
    start = clock().replace(minute=0) + dt.timedelta(hours=1)
    session = db.new_session(app)
    with db.write(session):
        shelves.apply_weights(
            session, store, [shelves.WeightReading("A", "1", 0.0, start + dt.timedelta(minutes=5))]
        )
        [found] = shelves.compare_window(
            session,
            store,
            start,
            start + dt.timedelta(hours=2),
            clock(),
            shelves.DiscrepancySettings(),
        )
        found_id = found.id
    session.close()
    return found_id


def _raise_help(app: Flask, clock: FrozenClock) -> int:
    _plant_lane(app, clock)
    session = db.new_session(app)
    with db.write(session):
        zone = shelves.put_zone(session, app.config["STORE_ID"], "A1", "A", "1", 30)
        settings = shelves.HelpSettings(policy=app.extensions["comptoir_policy"])
        notice = shelves.raise_help(session, zone, 45.0, clock(), settings)
    session.close()
    alert_id: int = notice.payload["alert_id"]
    return alert_id


def _plant_lane(app: Flask, clock: FrozenClock) -> tuple[str, str]:
    session = db.new_session(app)
    with db.write(session):
        shelves.put_lane(
            session,
            app.config["STORE_ID"],
            "A",
            "1",
            {"sku": SKU, "unit_weight_g": 2500, "capacity": 3, "units_on_shelf": 2},
            clock(),
        )
    session.close()
    return "A", "1"


def _subscribe(app: Flask, clock: FrozenClock) -> tuple[int, int]:
    """A subscription with one delivery (of a stock change made after subscribing)."""
    session = db.new_session(app)
    with db.write(session):
        subscription, _secret = webhooks.create_subscription(
            session,
            url="https://erp.example/hooks",
            now=clock(),
            destinations=webhooks.DestinationPolicy(),
            box=webhooks.SecretBox("test-key-" + "x" * 32),
        )
    session.close()
    _reserve(app, clock, Channel.STORE)
    session = db.new_session(app)
    with db.write(session):
        webhooks.fan_out(session, clock())
    with db.write(session):
        delivery = session.scalars(select(WebhookDelivery)).first()
        assert delivery is not None
        # Disabled, with a failed delivery: enabling and redelivering really change something.
        delivery.status = "failed"
        found = session.get(type(subscription), subscription.id)
        assert found is not None
        found.active, found.disabled_at, found.disabled_reason = False, clock(), "test"
        ids = subscription.id, delivery.id
    session.close()
    return ids


def _send(
    client: FlaskClient,
    endpoint: Endpoint,
    values: dict[str, Any],
    authorization: str | None,
) -> Any:
    method, template = endpoint
    call = CALLS[endpoint]
    headers = dict(call.headers)
    if authorization is not None:
        headers["Authorization"] = authorization
    url = template.format(**values) + call.query
    if call.body is not None:
        return client.open(url, method=method, data=call.body, headers=headers)
    body = call.json
    if body is not None:
        body = {k: v.format(**values) if isinstance(v, str) else v for k, v in body.items()}
    return client.open(url, method=method, json=body, headers=headers)


def _database(app: Flask, *, ignoring: str = "") -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to show that a refused request changed nothing."""
    session = db.new_session(app)
    with db.read(session):
        rows = {
            table.name: [
                tuple(row)
                for row in session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
            if table.name != ignoring
        }
    session.close()
    return rows


def _assert_envelope(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert (body["code"], body["status"]) == (code, status), body


# --- the matrix ---------------------------------------------------------------------------


MATRIX = [
    pytest.param(endpoint, role, id=f"{endpoint[0]} {endpoint[1]} as {role.value}")
    for endpoint in EXPECTED
    for role in Role
]


@pytest.mark.parametrize(("endpoint", "role"), MATRIX)
def test_each_role_gets_its_cell_of_the_matrix(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
    endpoint: Endpoint,
    role: Role,
) -> None:
    values = _open_shop(app, clock, keys, endpoint, role)
    before = _database(app)

    response = _send(client, endpoint, values, f"Bearer {keys[role]}")

    after = _database(app)
    if role in EXPECTED[endpoint]:
        call = CALLS[endpoint]
        assert response.status_code == call.success, response.get_data(as_text=True)
        assert (after != before) == call.writes
    else:
        _assert_envelope(response, 403, "forbidden")
        assert response.get_json()["errors"]["role"] == role.value
        assert after == before


# --- no key, a bad key, a revoked key -------------------------------------------------------


def _revoked_admin_key(app: Flask, keys: Keys, clock: FrozenClock) -> str:
    """The admin key is allowed everywhere, so only its revocation can explain a 401."""
    key_id = _key_id(app, keys[Role.ADMIN])
    with db.write(db.new_session(app)) as session:
        keys_service.revoke(session, key_id, clock())
    session.close()
    return f"Bearer {keys[Role.ADMIN]}"


CREDENTIALS: dict[str, Callable[[Flask, Keys, FrozenClock], str | None]] = {
    "no header": lambda _app, _keys, _clock: None,
    "Bearer nonsense": lambda _app, _keys, _clock: "Bearer nonsense",
    "Basic xyz": lambda _app, _keys, _clock: "Basic xyz",
    "empty Bearer": lambda _app, _keys, _clock: "Bearer ",
    "unknown key": lambda _app, _keys, _clock: "Bearer " + keys_service.KEY_PREFIX + "x" * 43,
    "valid key, Basic scheme": lambda _app, keys, _clock: f"Basic {keys[Role.ADMIN]}",
    "revoked key": _revoked_admin_key,
}


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=f"{e[0]} {e[1]}") for e in EXPECTED])
def test_every_endpoint_refuses_a_caller_without_a_valid_key(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, endpoint: Endpoint
) -> None:
    values = _open_shop(app, clock, keys, endpoint, Role.ADMIN)
    before = _database(app, ignoring="api_keys")  # where the revocation itself is written

    # One shop for all credentials (a fresh one each is 7x slower); the revocation runs last.
    refused = {
        name: credentials
        for name, credentials in CREDENTIALS.items()
        if not (endpoint in PUBLIC and name == "no header")
    }
    answers = {}
    for name, credentials in refused.items():
        response = _send(client, endpoint, values, credentials(app, keys, clock))
        answers[name] = (response.status_code, (response.get_json() or {}).get("code"))

    assert answers == dict.fromkeys(refused, (401, "unauthorized"))
    assert _database(app, ignoring="api_keys") == before


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=f"{e[0]} {e[1]}") for e in PUBLIC])
def test_public_endpoints_work_without_a_key(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, endpoint: Endpoint
) -> None:
    values = _open_shop(app, clock, keys, endpoint, Role.ADMIN)
    before = _database(app)

    response = _send(client, endpoint, values, None)

    assert response.status_code == CALLS[endpoint].success, response.get_data(as_text=True)
    assert (_database(app) != before) == CALLS[endpoint].writes


def test_a_401_tells_the_client_which_scheme_to_use(client: FlaskClient) -> None:
    response = client.get("/api/v1/ping")

    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


# --- the table itself -----------------------------------------------------------------------


def _templates_in(app: Flask) -> set[Endpoint]:
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.rule == "/api/v1/openapi.json":
            continue
        template = re.sub(r"<(?:[^:<>]+:)?([^:<>]+)>", r"{\1}", rule.rule)
        for method in rule.methods or ():
            if method not in {"HEAD", "OPTIONS"}:
                found.add((method, template))
    return found


def test_every_api_endpoint_is_in_the_matrix(app: Flask) -> None:
    served = _templates_in(app)

    assert sorted(served - set(EXPECTED)) == [], "served but not in EXPECTED: add a row"
    assert sorted(set(EXPECTED) - served) == [], "in EXPECTED but not served"
    assert set(CALLS) == set(EXPECTED)


def render_markdown_table() -> str:
    """The matrix for people: rows are endpoints, columns are roles."""
    roles = list(Role)
    lines = [
        "| Endpoint | " + " | ".join(r.value for r in roles) + " |",
        "|---|" + "|".join(":-:" for _ in roles) + "|",
    ]
    for (method, template), allowed in EXPECTED.items():
        cells = " | ".join("✓" if r in allowed else "—" for r in roles)
        lines.append(f"| `{method} {template}` | {cells} |")
    return "\n".join(lines)


def test_docs_show_the_same_matrix() -> None:
    text = (ROOT / "docs" / "roles.md").read_text(encoding="utf-8")

    table = "\n".join(line for line in text.splitlines() if line.startswith("|"))
    assert table == render_markdown_table()
