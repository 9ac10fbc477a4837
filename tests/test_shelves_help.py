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
from store_api.sensors import service as sensors
from store_api.sensors.models import DeadLetter
from store_api.shelves import service
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.mqtt_servers import (
    TABLET_USERS,
    Broker,
    Publisher,
    Subscriber,
    mosquitto_server,
    start_bridge_online,
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


def test_a_help_alert_suggests_what_fits_with_a_reason_in_french(
    app: Flask, clock: FrozenClock
) -> None:
    plant(app, clock)
    add_product(
        app,
        "AC-DES-BOUILLOIRE",
        {"floor": 4},
        name="Détartrant pour bouilloire",
        price="6.90",
        category="Accessoires",
        attributes={"compatible_avec": ["Bouilloires"]},
    )
    t0 = clock()

    [notice] = handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=31))])

    [suggestion] = notice["suggestions"]  # the descaler of the washer does not fit a kettle
    assert suggestion["sku"] == "AC-DES-BOUILLOIRE"
    assert suggestion["reason"] == "Consommable pour cette bouilloire"
    assert suggestion["reason_code"] == "consumable"


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


def test_alert_texts_are_in_the_readers_language_and_codes_stay(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)
    t0 = clock()
    [notice] = handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=30))])

    def listed(**headers: str) -> dict[str, Any]:
        found = client.get("/api/v1/alerts", headers=keys.headers(Role.SELLER, **headers))
        assert found.status_code == 200, found.get_json()
        [alert] = found.get_json()
        return dict(alert)

    french, english = listed(), listed(**{"Accept-Language": "en-GB,en"})
    client.post(f"/api/v1/alerts/{notice['alert_id']}/ack", headers=keys.headers(Role.SELLER))
    answered = listed()
    english_query = client.get("/api/v1/alerts?lang=en", headers=keys.headers(Role.OWNER))

    name = f"Produit {SKU}"
    # The tablets' notice speaks the shop's language (French by default).
    assert notice["text"] == f"Un client attend de l'aide au rayon A1 ({name})"
    assert french["text"] == f"Un client attend de l'aide au rayon A1 ({name})"
    assert english["text"] == f"A customer is waiting for help at lane A1 ({name})"
    assert answered["text"] == f"test seller est allé au rayon A1 ({name})"
    assert english_query.get_json()[0]["text"] == f"test seller went to lane A1 ({name})"
    # The fields machines read do not change with the language.
    assert {k: v for k, v in french.items() if k != "text"} == {
        k: v for k, v in english.items() if k != "text"
    }
    assert (french["status"], french["product_name"]) == ("open", name)


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


def test_the_timer_escalates_without_any_presence_event(app: Flask, clock: FrozenClock) -> None:
    plant(app, clock)
    t0 = clock()
    [alert] = handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=30))])

    def tick(at: dt.datetime) -> list[dict[str, Any]]:
        session = db.new_session(app)
        with db.write(session):
            out = handlers.tick(session, STORE, at)
        session.close()
        return [json.loads(m.payload) for m in out if m.topic == NOTIFY]

    early = tick(t0 + dt.timedelta(seconds=30 + 119))
    due = tick(t0 + dt.timedelta(seconds=30 + 121))
    again = tick(t0 + dt.timedelta(seconds=30 + 300))

    assert early == [] and again == []
    assert [(n["type"], n["alert_id"], n["status"]) for n in due] == [
        ("help.escalated", alert["alert_id"], "escalated")
    ]
    assert event_types(app) == ["help.requested", "help.escalated"]


def ack(alert_id: object, tablet: str = "tablet-1", **extra: object) -> sensors.InboundMessage:
    document = {"v": 1, "alert_id": alert_id, "ts": "2026-11-27T09:31:00+00:00", **extra}
    return sensors.InboundMessage(
        topics.staff_ack(STORE, tablet), json.dumps(document).encode(), RECEIVED
    )


RECEIVED = dt.datetime(2026, 11, 27, 9, 32, tzinfo=dt.UTC)


def test_a_tablet_acknowledges_over_mqtt_and_every_tablet_is_told(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)
    t0 = clock()
    [alert] = handle(app, [(True, t0), (True, t0 + dt.timedelta(seconds=30))])
    alert_id = alert["alert_id"]
    batch = [
        ack(alert_id, seller="Julie"),
        ack(alert_id, tablet="tablet-2", seller="Marc"),  # too late: Julie's answer counts
        ack(alert_id + 1),  # no such alert
        sensors.InboundMessage(topics.staff_ack(STORE, "tablet-1"), b"{oops", RECEIVED),
        ack("seven"),
        ack(alert_id, colour="red"),
        ack(alert_id, tablet="all"),  # "all" is every tablet, not one
    ]

    session = db.new_session(app)
    with db.write(session):
        result = sensors.store_batch(session, STORE, batch, now=RECEIVED)
        out = handlers.handle_batch(session, result.stored, result.acks)
    with db.read(session):
        reasons = sorted(d.reason.split(":")[0] for d in session.scalars(select(DeadLetter)))
    session.close()
    listed = client.get("/api/v1/alerts?status=acknowledged", headers=keys.headers(Role.OWNER))

    told = [json.loads(m.payload) for m in out]
    assert {m.topic for m in out} == {NOTIFY}
    assert [(n["type"], n["acknowledged_by"]) for n in told] == [
        ("help.acknowledged", "Julie (tablet-1)"),
        ("help.acknowledged", "Julie (tablet-1)"),
    ]
    assert reasons == [
        "bad JSON",
        "bad tablet name",
        "invalid payload",
        "invalid payload",
        f"unknown help alert {alert_id + 1}",
    ]
    [row] = listed.get_json()
    # Acknowledged at the tablet's time (09:31), raised at 09:30:30 by the presence sensor.
    assert (row["acknowledged_by"], row["response_s"]) == ("Julie (tablet-1)", 30.0)
    assert event_types(app) == ["help.requested", "help.acknowledged"]
    assert len(result.stored) == 0  # acknowledgements are not sensor events


# --- a tablet on a real broker -------------------------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def notices(tablet: Subscriber) -> list[dict[str, Any]]:
    return [json.loads(raw) for _topic, raw, _retained in list(tablet.messages)]


def test_a_tablet_hears_the_help_request_and_its_escalation_through_the_bridge(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path, clock: FrozenClock
) -> None:
    plant(app, clock)
    tablet = Subscriber(broker, NOTIFY, client_id="tablet-1", user=TABLET_USERS[0])
    bridge = start_bridge_online(
        migrated,
        broker,
        tmp_path / "bridge.log",
        COMPTOIR_HELP_ESCALATE_AFTER_SECONDS="2",
        COMPTOIR_BRIDGE_TIMER_SECONDS="0.2",
    )
    publisher = Publisher(broker)
    try:
        topic = f"comptoir/v1/{STORE}/zone/{ZONE}/-/evt/presence"
        now = db.utcnow()
        publisher.publish(topic, presence(1, True, now - dt.timedelta(seconds=40)))
        publisher.publish(topic, presence(2, True, now))
        wait_for(lambda: bool(tablet.messages), 60, "the help request on the tablet")
        notice = notices(tablet)[0]
        assert notice["type"] == "help.requested"
        assert notice["product"]["sku"] == SKU
        assert notice["availability"]["available"] == 11
        assert isinstance(notice["suggestions"], list)

        # No more presence events: the bridge's timer escalates the forgotten alert.
        wait_for(lambda: len(tablet.messages) >= 2, 60, "the escalation on the tablet")
        escalated = notices(tablet)[1]
        assert (escalated["type"], escalated["alert_id"]) == ("help.escalated", notice["alert_id"])
        assert escalated["status"] == "escalated"
    finally:
        publisher.close()
        tablet.close()
        terminate(bridge)
        log = tmp_path / "bridge.log"
        if log.exists():
            print(log.read_text()[-3000:])


def test_a_tablet_acknowledges_over_mqtt_only_on_its_own_topic(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path, clock: FrozenClock
) -> None:
    plant(app, clock)
    other_tablet = Subscriber(broker, NOTIFY, client_id="tablet-2", user=TABLET_USERS[1])
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    sensor = Publisher(broker)
    tablet = Publisher(broker, client_id="tablet-1", user=TABLET_USERS[0])
    try:
        zone = f"comptoir/v1/{STORE}/zone/{ZONE}/-/evt/presence"
        now = db.utcnow()
        sensor.publish(zone, presence(1, True, now - dt.timedelta(seconds=40)))
        sensor.publish(zone, presence(2, True, now))
        wait_for(lambda: bool(other_tablet.messages), 60, "the help request")
        alert_id = notices(other_tablet)[0]["alert_id"]

        def answer(on: str, body: bytes) -> None:
            tablet.publish(topics.staff_ack(STORE, on), body)

        valid = json.dumps({"v": 1, "alert_id": alert_id, "seller": "Julie", "ts": now.isoformat()})
        answer("tablet-2", valid.encode())  # not its topic: the broker drops it (ACL)
        answer("tablet-1", b"not json")
        answer("tablet-1", json.dumps({"v": 1, "alert_id": alert_id}).encode())  # no ts
        wait_for(lambda: count_dead_letters(app) >= 2, 30, "two dead letters")
        assert notices(other_tablet)[1:] == []  # the ack on tablet-2's topic never arrived
        assert [a["status"] for a in alerts(app)] == ["open"]

        answer("tablet-1", valid.encode())
        wait_for(lambda: len(other_tablet.messages) >= 2, 30, "the acknowledgement")
        told = notices(other_tablet)[1]
        assert (told["type"], told["alert_id"], told["acknowledged_by"]) == (
            "help.acknowledged",
            alert_id,
            "Julie (tablet-1)",
        )
        assert [a["status"] for a in alerts(app)] == ["acknowledged"]
        assert count_dead_letters(app) == 2
        assert bridge.poll() is None
    finally:
        tablet.close()
        sensor.close()
        other_tablet.close()
        terminate(bridge)
        log = tmp_path / "bridge.log"
        if log.exists():
            print(log.read_text()[-3000:])


def count_dead_letters(app: Flask) -> int:
    session = db.new_session(app)
    with db.read(session):
        found = len(list(session.scalars(select(DeadLetter.id))))
    session.close()
    return found


def alerts(app: Flask) -> list[dict[str, Any]]:
    session = db.new_session(app)
    with db.read(session):
        found = [service.alert_dict(a) for a in service.list_alerts(session, STORE)]
    session.close()
    return found
