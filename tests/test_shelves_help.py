"""Help needed: a customer lingering at a lane alerts the sellers; ack, escalation, timings."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from iot_bridge import handlers, payloads, topics
from store_api import db
from store_api.events.models import Event
from store_api.keys.models import Role
from store_api.shelves import service
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.mqtt_servers import (
    Broker,
    Publisher,
    Subscriber,
    mosquitto_server,
    start_bridge,
    terminate,
    wait_for,
)

STORE = "store-1"
SKU = "PE-SME-KLF03-CR"
ZONE = "A1"
NOTIFY = f"comptoir/v1/{STORE}/staff/all/notify"


def plant(app: Flask, clock: FrozenClock) -> None:
    add_product(app, SKU, {"floor": 3, "backroom": 8}, price="169.00", category="Bouilloires")
    add_product(app, "AC-WPR-DES100", {"floor": 5}, price="9.99", category="Accessoires")
    session = db.new_session(app)
    with db.write(session):
        service.put_lane(
            session,
            STORE,
            "A",
            "1",
            {"sku": SKU, "unit_weight_g": 2150, "capacity": 4, "units_on_shelf": 3},
            clock(),
        )
        service.put_zone(session, STORE, ZONE, "A", "1", dwell_threshold_s=30)
    session.close()


def presence(seq: int, occupied: bool, at: dt.datetime) -> bytes:
    return payloads.dump(
        "presence",
        event_id=f"z-{seq}",
        device_id="zone-a1",
        seq=seq,
        ts=at,
        occupied=occupied,
        people=1 if occupied else 0,
    )


def handle(app: Flask, readings: list[tuple[bool, dt.datetime]]) -> list[dict[str, Any]]:
    topic = topics.parse(f"comptoir/v1/{STORE}/zone/{ZONE}/-/evt/presence")
    events = [
        payloads.parse(topic, presence(i, occupied, at))
        for i, (occupied, at) in enumerate(readings)
    ]
    session = db.new_session(app)
    with db.write(session):
        out = handlers.handle_batch(session, events)
    session.close()
    return [json.loads(m.payload) for m in out if m.topic == NOTIFY]


def event_types(app: Flask) -> list[str]:
    session = db.new_session(app)
    with db.read(session):
        types = [e.type for e in session.scalars(select(Event).order_by(Event.seq))]
    session.close()
    return [t for t in types if t.startswith("help.")]


def test_a_dwell_past_the_threshold_asks_for_help_once_per_visit(
    app: Flask, clock: FrozenClock
) -> None:
    plant(app, clock)
    t0 = clock()

    short = handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=20))])
    long = handle(app, [(True, t0 + dt.timedelta(seconds=31))])
    still = handle(app, [(True, t0 + dt.timedelta(seconds=50))])

    assert short == []
    assert [n["type"] for n in long] == ["help.requested"]
    notice = long[0]
    assert (notice["zone"], notice["shelf"], notice["lane"], notice["sku"]) == (ZONE, "A", "1", SKU)
    assert notice["dwell_s"] == 31.0
    assert notice["product"] == {"sku": SKU, "name": f"Produit {SKU}", "price": "169.00"}
    assert notice["availability"]["on_shelf"] == 3
    assert notice["availability"]["available"] == 11
    assert isinstance(notice["suggestions"], list)
    assert still == []  # the same visit: asked already
    assert event_types(app) == ["help.requested"]


def test_a_seller_who_answered_lately_is_nearby_and_no_new_alert_is_raised(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)
    t0 = clock()
    [first] = handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=40))])
    client.post(f"/api/v1/alerts/{first['alert_id']}/ack", headers=keys.headers(Role.SELLER))

    # The customer leaves, another comes and lingers while the seller is still around.
    later = t0 + dt.timedelta(seconds=60)
    nearby = handle(app, [(False, later), (True, later), (True, later + dt.timedelta(seconds=45))])
    much_later = t0 + dt.timedelta(minutes=20)
    again = handle(app, [(False, much_later), (True, much_later)])
    again += handle(app, [(True, much_later + dt.timedelta(seconds=35))])

    assert nearby == []
    assert [n["type"] for n in again] == ["help.requested"]


def test_sellers_acknowledge_and_the_owner_sees_response_times(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)
    t0 = clock()
    [notice] = handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=30))])
    clock.advance(seconds=30 + 42)

    ack = client.post(f"/api/v1/alerts/{notice['alert_id']}/ack", headers=keys.headers(Role.SELLER))
    clock.advance(seconds=5)
    again = client.post(
        f"/api/v1/alerts/{notice['alert_id']}/ack", headers=keys.headers(Role.OWNER)
    )
    listed = client.get("/api/v1/alerts?status=acknowledged", headers=keys.headers(Role.OWNER))
    open_ = client.get("/api/v1/alerts?status=open", headers=keys.headers(Role.SELLER))
    missing = client.post("/api/v1/alerts/999/ack", headers=keys.headers(Role.SELLER))

    assert ack.status_code == 200, ack.get_json()
    body = ack.get_json()
    assert (body["status"], body["acknowledged_by"], body["response_s"]) == (
        "acknowledged",
        "test seller",
        42.0,
    )
    assert again.get_json()["acknowledged_by"] == "test seller"  # the first answer counts
    assert [a["id"] for a in listed.get_json()] == [notice["alert_id"]]
    assert open_.get_json() == []
    assert missing.status_code == 404 and missing.get_json()["code"] == "alert_not_found"
    assert event_types(app) == ["help.requested", "help.acknowledged"]


def test_an_unanswered_alert_escalates_once_after_the_delay(
    app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner, clock: FrozenClock
) -> None:
    plant(app, clock)
    t0 = clock()
    handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=30))])

    clock.advance(seconds=30 + 119)
    early = runner.invoke(args=["alerts", "escalate"])
    clock.advance(seconds=2)
    due = runner.invoke(args=["alerts", "escalate"])
    clock.advance(seconds=60)
    again = runner.invoke(args=["alerts", "escalate"])
    listed = client.get("/api/v1/alerts?status=escalated", headers=keys.headers(Role.OWNER))

    assert "0 help alert(s) escalated" in early.output
    assert "1 help alert(s) escalated" in due.output
    assert "0 help alert(s) escalated" in again.output
    [alert] = listed.get_json()
    assert alert["escalated_at"] is not None and alert["acknowledged_at"] is None
    assert event_types(app) == ["help.requested", "help.escalated"]


# --- a tablet on a real broker -------------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def test_a_tablet_hears_the_help_request_through_the_bridge(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path, clock: FrozenClock
) -> None:
    plant(app, clock)
    status = Subscriber(broker, f"comptoir/v1/{STORE}/dev/comptoir-bridge-{STORE}/status")
    tablet = Subscriber(broker, NOTIFY, client_id="tablet-1")
    bridge = start_bridge(migrated, broker, tmp_path / "bridge.log")
    publisher = Publisher(broker)
    try:
        wait_for(lambda: any(b'"online"' in m[1] for m in status.messages), 30, "bridge online")
        topic = f"comptoir/v1/{STORE}/zone/{ZONE}/-/evt/presence"
        now = db.utcnow()
        publisher.publish(topic, presence(1, True, now))
        publisher.publish(topic, presence(2, True, now + dt.timedelta(seconds=40)))
        wait_for(lambda: bool(tablet.messages), 60, "the help request on the tablet")
        notice = json.loads(tablet.messages[0][1])
        assert notice["type"] == "help.requested"
        assert notice["product"]["sku"] == SKU
        assert notice["availability"]["available"] == 11
        assert isinstance(notice["suggestions"], list)
    finally:
        publisher.close()
        tablet.close()
        status.close()
        terminate(bridge)
        log = tmp_path / "bridge.log"
        if log.exists():
            print(log.read_text()[-3000:])
