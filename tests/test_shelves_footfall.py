"""Footfall per hour next to store sales, and the devices' health, through the API."""

from __future__ import annotations

import datetime as dt

from flask import Flask
from flask.testing import FlaskClient

from iot_bridge import payloads
from store_api import db
from store_api.keys.models import Role
from store_api.sensors import service as sensors
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

STORE = "store-1"
H9 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


def store_events(app: Flask, messages: list[tuple[str, bytes]]) -> None:
    session = db.new_session(app)
    with db.write(session):
        sensors.store_batch(
            session,
            STORE,
            [sensors.InboundMessage(topic, raw, H9) for topic, raw in messages],
            now=H9,
        )
    session.close()


def door(seq: int, direction: str, count: int, at: dt.datetime) -> tuple[str, bytes]:
    raw = payloads.dump(
        "footfall",
        event_id=f"d-{seq}",
        device_id="door-1",
        seq=seq,
        ts=at,
        direction=direction,
        count=count,
    )
    return f"comptoir/v1/{STORE}/door/main/-/evt/footfall", raw


def test_footfall_per_hour_sits_next_to_the_store_sales(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    store_events(
        app,
        [
            door(1, "in", 2, H9 + dt.timedelta(minutes=5)),
            door(2, "in", 1, H9 + dt.timedelta(minutes=40)),
            door(3, "out", 2, H9 + dt.timedelta(minutes=55)),
            door(4, "in", 4, H9 + dt.timedelta(hours=1, minutes=1)),
            door(5, "in", 9, H9 + dt.timedelta(hours=3)),  # outside the window
        ],
    )
    add_product(app, "PE-1", {"floor": 5})
    held = client.post(
        "/api/v1/reservations",
        json={"sku": "PE-1", "quantity": 2},
        headers=keys.headers(Role.SELLER),
    ).get_json()
    sold = client.post(
        f"/api/v1/reservations/{held['id']}/commit", json={}, headers=keys.headers(Role.SELLER)
    )
    assert sold.status_code == 200, sold.get_json()
    # The webshop's sales are not the store's, even in the same hour.
    web = client.post(
        "/api/v1/reservations",
        json={"sku": "PE-1", "quantity": 1},
        headers=keys.headers(Role.WEBSHOP),
    ).get_json()
    web_sold = client.post(
        f"/api/v1/reservations/{web['id']}/commit", json={}, headers=keys.headers(Role.WEBSHOP)
    )
    assert web_sold.status_code == 200, web_sold.get_json()
    ordered = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": "PE-1", "quantity": 1}]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "footfall-1"}),
    )
    assert ordered.status_code == 201, ordered.get_json()

    response = client.get(
        "/api/v1/footfall?from=2026-11-27T09:00:00Z&to=2026-11-27T11:00:00Z",
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 200, response.get_json()
    # The test clock says 09:30: the sale falls in the 09:00 hour.
    assert response.get_json() == [
        {
            "hour": "2026-11-27T09:00:00+00:00",
            "visitors_in": 3,
            "visitors_out": 2,
            "sales": 1,
            "units_sold": 2,
        },
        {
            "hour": "2026-11-27T10:00:00+00:00",
            "visitors_in": 4,
            "visitors_out": 0,
            "sales": 0,
            "units_sold": 0,
        },
    ]


def test_a_footfall_window_must_be_forward_and_at_most_31_days(
    client: FlaskClient, keys: Keys
) -> None:
    backwards = client.get(
        "/api/v1/footfall?from=2026-11-27T09:00:00Z&to=2026-11-27T08:00:00Z",
        headers=keys.headers(Role.OWNER),
    )
    naive = client.get(
        "/api/v1/footfall?from=2026-11-27T09:00:00&to=2026-11-27T10:00:00Z",
        headers=keys.headers(Role.OWNER),
    )

    assert backwards.status_code == 422 and "to" in str(backwards.get_json()["errors"])
    assert naive.status_code == 422


def test_devices_show_last_seen_online_and_battery(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    status = payloads.dump(
        "status", event_id="boot-1", device_id="shelf-1", seq=0, ts=H9, state="online", battery=81.5
    )
    store_events(app, [(f"comptoir/v1/{STORE}/dev/shelf-1/status", status), door(1, "in", 1, H9)])

    response = client.get("/api/v1/devices", headers=keys.headers(Role.SELLER))

    assert response.status_code == 200
    devices = {d["device_id"]: d for d in response.get_json()}
    assert set(devices) == {"door-1", "shelf-1"}
    assert (devices["shelf-1"]["online"], devices["shelf-1"]["battery"]) == (True, 81.5)
    assert devices["door-1"]["last_seen"] is not None
