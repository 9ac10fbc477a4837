"""Finding 5: a customer's data in an event payload (a hold's note, any ``customer*`` field)
reaches only readers allowed to read what the event is about, in the pull feed, the live
stream and webhooks; every role against every event type.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api.events.service import EventType
from store_api.events.visibility import Reader, visible_payload
from store_api.keys.models import Role
from store_api.webhooks import service as webhooks
from tests.conftest import Keys
from tests.fixtures.shop import add_product
from tests.fixtures.webhook_receiver import Receiver
from tests.test_event_stream import _messages
from tests.test_webhooks import deliver, subscribe

NOTE = "Mme Martin, 06 12 34 56 78"
CUSTOMER = {"note": NOTE, "customer_name": "Martin", "customer_phone": "0612345678"}

# Who may read a reservation of each channel through GET /api/v1/reservations/{id}: the
# README's role table and the channel rule, written out independently of the code.
RESERVATION_READERS = {
    "store": {Role.ADMIN, Role.OWNER, Role.SELLER},
    "web": {Role.ADMIN, Role.OWNER, Role.WEBSHOP},
}
# Customer data of anything else: no role but admin and owner reads customers anywhere.
OTHER_READERS = {Role.ADMIN, Role.OWNER}


@pytest.fixture
def settings() -> dict[str, Any]:
    return {
        "STREAM_MAX_SECONDS": 0.5,
        "STREAM_POLL_SECONDS": 0.02,
        "STREAM_HEARTBEAT_SECONDS": 0.1,
        "WEBHOOK_POLL_SECONDS": 0.01,
        "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"],
    }


def _expected_readers(event_type: EventType, channel: str) -> set[Role]:
    if event_type.value.startswith("reservation."):
        return RESERVATION_READERS[channel]
    return OTHER_READERS


@pytest.mark.parametrize("channel", ["store", "web"])
@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("event_type", list(EventType))
def test_every_role_sees_customer_fields_of_every_event_type_only_when_allowed(
    event_type: EventType, role: Role, channel: str
) -> None:
    payload = {"sku": "LL-8KG", "quantity": 1, "channel": channel, **CUSTOMER}

    seen = visible_payload(event_type.value, payload, Reader(role))

    if role in _expected_readers(event_type, channel):
        assert seen == payload
    else:
        assert seen == {"sku": "LL-8KG", "quantity": 1, "channel": channel}
    assert payload["note"] == NOTE  # the stored event is never changed


@pytest.mark.parametrize("include", [False, True])
@pytest.mark.parametrize("event_type", list(EventType))
def test_webhooks_carry_customer_fields_only_when_the_owner_said_so(
    event_type: EventType, include: bool
) -> None:
    payload = {"sku": "LL-8KG", "channel": "store", **CUSTOMER}

    seen = visible_payload(event_type.value, payload, Reader.webhook(include))

    assert ("note" in seen, "customer_phone" in seen) == (include, include)
    assert seen["sku"] == "LL-8KG"


# --- through HTTP: the finding as reported ---------------------------------------------------


def _hold(client: FlaskClient, keys: Keys, role: Role, note: str) -> dict[str, Any]:
    response = client.post(
        "/api/v1/reservations",
        json={"sku": "LL-8KG", "quantity": 1, "note": note},
        headers=keys.headers(role),
    )
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def _reservation_events(client: FlaskClient, keys: Keys, role: Role) -> list[dict[str, Any]]:
    response = client.get("/api/v1/events?type=reservation.*", headers=keys.headers(role))
    assert response.status_code == 200, response.json
    return list(response.json["events"])


@pytest.mark.parametrize("role", list(Role))
def test_the_feed_shows_a_hold_note_to_exactly_those_who_may_read_the_hold(
    app: Flask, client: FlaskClient, keys: Keys, role: Role
) -> None:
    add_product(app, "LL-8KG", {"floor": 3, "warehouse": 3})
    store = _hold(client, keys, Role.SELLER, NOTE)
    web = _hold(client, keys, Role.WEBSHOP, "Commande 10042, rappeler M. Durand")
    client.post(
        f"/api/v1/reservations/{store['id']}/extend", json={}, headers=keys.headers(Role.SELLER)
    )
    client.delete(f"/api/v1/reservations/{web['id']}", headers=keys.headers(Role.WEBSHOP))

    events = _reservation_events(client, keys, role)
    direct = {
        hold["channel"]: client.get(
            f"/api/v1/reservations/{hold['id']}", headers=keys.headers(role)
        )
        for hold in (store, web)
    }

    assert [e["type"] for e in events] == [
        "reservation.created",
        "reservation.created",
        "reservation.extended",
        "reservation.released",
    ]
    for event in events:
        channel = event["payload"]["channel"]
        may_read_hold = direct[channel].status_code == 200
        assert ("note" in event["payload"]) == may_read_hold, (role, event["type"], channel)
        assert event["payload"]["quantity"] == 1  # the stock move itself is everyone's
    assert {r.status_code for r in direct.values()} <= {200, 403}


def test_the_webshop_and_devices_no_longer_read_a_sellers_note_in_the_feed(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-8KG", {"floor": 1})
    _hold(client, keys, Role.SELLER, NOTE)

    for role in (Role.WEBSHOP, Role.DEVICE):
        (event,) = _reservation_events(client, keys, role)
        assert NOTE not in str(event), role
    (seller_view,) = _reservation_events(client, keys, Role.SELLER)
    assert seller_view["payload"]["note"] == NOTE


@pytest.mark.parametrize(
    ("role", "sees_note"),
    [
        (Role.ADMIN, True),
        (Role.OWNER, True),
        (Role.SELLER, True),
        (Role.WEBSHOP, False),
        (Role.DEVICE, False),
    ],
)
def test_the_stream_filters_like_the_feed(
    app: Flask, client: FlaskClient, keys: Keys, role: Role, sees_note: bool
) -> None:
    add_product(app, "LL-8KG", {"floor": 1})
    response = client.get(
        "/api/v1/events/stream?type=reservation.created", headers=keys.headers(role)
    )
    _hold(client, keys, Role.SELLER, NOTE)

    created = next(m for m in _messages(response) if m.event == "reservation.created")
    response.close()

    assert ("note" in created.json["payload"]) is sees_note
    assert (NOTE in created.data) is sees_note


def test_a_webhook_gets_customer_fields_only_with_include_customer_data(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-8KG", {"floor": 2})
    with Receiver() as plain, Receiver() as crm:
        subscribe(client, keys, plain.url, event_types=["reservation.created"])
        opted = subscribe(
            client, keys, crm.url, event_types=["reservation.created"], include_customer_data=True
        )
        _hold(client, keys, Role.SELLER, NOTE)

        deliver(app)

    (to_plain,) = plain.receipts
    (to_crm,) = crm.receipts
    assert "note" not in to_plain.message["data"]
    assert NOTE.encode() not in to_plain.body
    assert to_crm.message["data"]["note"] == NOTE
    assert opted["include_customer_data"] is True
    assert webhooks.Reader.webhook(False).may_read_customer_data("reservation.created", {}) is False
