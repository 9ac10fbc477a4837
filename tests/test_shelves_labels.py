"""Shelf labels: the desired state in the database, published retained only when it changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.keys.models import Role
from store_api.shelves import service
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.mqtt_servers import (
    LABELS_USER,
    ROOT,
    Broker,
    Subscriber,
    mosquitto_server,
    terminate,
    wait_for,
)

STORE = "store-1"
SKU = "PE-MOU-BY540-BL"
TOPIC = f"comptoir/v1/{STORE}/label/A-3/state"


def plant(app: Flask, clock: FrozenClock) -> None:
    add_product(app, SKU, {"floor": 3, "backroom": 2, "warehouse": 30}, price="34.99")
    session = db.new_session(app)
    with db.write(session):
        service.put_lane(
            session, STORE, "A", "3", {"sku": SKU, "unit_weight_g": 1380, "capacity": 6}, clock()
        )
    session.close()


def poll(app: Flask, clock: FrozenClock) -> list[dict[str, object]]:
    settings = service.HelpSettings(policy=app.extensions["comptoir_policy"])
    session = db.new_session(app)
    with db.write(session):
        changed = [dict(s.state) for s in service.poll_labels(session, STORE, settings, clock())]
    session.close()
    return changed


@pytest.mark.parametrize(
    ("here", "total", "shown"),
    [
        (5, 35, "in_stock"),
        (3, 3, "in_stock"),
        (2, 30, "last_units"),
        (1, 1, "last_units"),
        (0, 30, "order_online"),
        (0, 0, "order_online"),
    ],
)
def test_the_label_says_in_stock_last_units_or_order_online(
    here: int, total: int, shown: str
) -> None:
    assert service.availability(here, total, low_threshold=2) == shown


def test_a_label_changes_only_when_price_or_stock_changes_what_it_shows(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)

    first = poll(app, clock)
    nothing = poll(app, clock)
    client.patch(
        f"/api/v1/products/{SKU}", json={"price": "29.99"}, headers=keys.headers(Role.OWNER)
    )
    repriced = poll(app, clock)
    for location, before, after in (("backroom", 2, 0), ("floor", 3, 1)):
        counted = client.put(
            f"/api/v1/stock/{SKU}/locations/{location}",
            json={"on_hand": after, "expected_on_hand": before},
            headers=keys.headers(Role.SELLER),
        )
        assert counted.status_code == 200, counted.get_json()
    low = poll(app, clock)
    client.patch(
        f"/api/v1/products/{SKU}", json={"name": "Bouilloire"}, headers=keys.headers(Role.OWNER)
    )

    assert [(s["label"], s["price"], s["availability"]) for s in first] == [
        ("A-3", "34.99", "in_stock")
    ]
    assert nothing == []
    assert [(s["price"], s["availability"]) for s in repriced] == [("29.99", "in_stock")]
    assert [(s["price"], s["availability"]) for s in low] == [("29.99", "last_units")]
    assert [s["name"] for s in poll(app, clock)] == ["Bouilloire"]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def test_a_price_change_updates_the_retained_label_state(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    migrated: str,
    broker: Broker,
    tmp_path: Path,
    clock: FrozenClock,
) -> None:
    plant(app, clock)
    label = Subscriber(broker, TOPIC, client_id="label-a-3")
    log = tmp_path / "labels.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "iot_bridge.labels"],
            cwd=ROOT,
            env={
                **os.environ,
                "COMPTOIR_DATABASE_URL": migrated,
                "COMPTOIR_MQTT_LABELS_URL": broker.url(LABELS_USER),
                "COMPTOIR_STORE_ID": STORE,
                "COMPTOIR_LABEL_POLL_SECONDS": "0.2",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: bool(label.messages), 60, "the first label state")
        assert json.loads(label.messages[-1][1])["price"] == "34.99"

        client.patch(
            f"/api/v1/products/{SKU}", json={"price": "29.99"}, headers=keys.headers(Role.OWNER)
        )
        wait_for(lambda: json.loads(label.messages[-1][1])["price"] == "29.99", 60, "the new price")
        late = Subscriber(broker, TOPIC, client_id="late-label")
        wait_for(lambda: bool(late.messages), 30, "the retained state")
        _topic, raw, retained = late.messages[0]
        assert retained and json.loads(raw)["price"] == "29.99"
        late.close()
    finally:
        label.close()
        terminate(process)
        print(log.read_text()[-3000:])
