"""The MQTT bridge against a real Mosquitto, running as its own process (killed with SIGKILL)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from store_api import db
from store_api.sensors import service
from store_api.sensors.models import DeadLetter, SensorDevice, SensorEvent, SeqGap
from tests.mqtt_servers import (
    Broker,
    Publisher,
    Subscriber,
    crash_scenario,
    event_payload,
    kill,
    mosquitto_server,
    send_end_marker,
    start_bridge,
    start_bridge_online,
    terminate,
    wait_for,
)

STORE = "store-1"
BRIDGE_STATUS = f"comptoir/v1/{STORE}/dev/comptoir-bridge-{STORE}/status"
NOW = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def count(app: Flask, model: type) -> int:
    with db.engine_for(app).connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(model)) or 0)


def message(topic: str, raw: bytes) -> service.InboundMessage:
    return service.InboundMessage(topic, raw, NOW)


def test_store_batch_stores_once_dead_letters_and_records_gaps(app: Flask) -> None:
    weight = f"comptoir/v1/{STORE}/shelf/A/1/evt/weight"
    batch = [
        message(weight, event_payload("shelf-1", 1)),
        message(weight, event_payload("shelf-1", 2)),
        message(weight, event_payload("shelf-1", 2)),  # QoS 1 redelivery in the same batch
        message(weight, event_payload("shelf-1", 5)),  # 3 and 4 never arrived
        message(weight, b"{oops"),
        message(f"comptoir/v1/{STORE}/shelf/A/1/evt/colour", event_payload("shelf-1", 9)),
        message("comptoir/v1/other/shelf/A/1/evt/weight", event_payload("shelf-1", 9)),
    ]
    session = db.new_session(app)
    with db.write(session):
        first = service.store_batch(session, STORE, batch, now=NOW)
    with db.write(session):
        again = service.store_batch(session, STORE, batch[:4], now=NOW)
    with db.read(session):
        device = session.get(SensorDevice, "shelf-1")
        gaps = [(g.expected, g.got) for g in session.scalars(select(SeqGap))]
        reasons = sorted(d.reason[:8] for d in session.scalars(select(DeadLetter)))
        stored = {e.seq: e.payload for e in session.scalars(select(SensorEvent))}
    session.close()

    assert [r.seq for r in first.stored] == [1, 2, 5]
    assert (first.duplicates, first.dead_letters, first.gaps) == (1, 3, 1)
    assert (len(again.stored), again.duplicates, again.gaps) == (0, 4, 0)
    assert gaps == [(3, 5)]
    assert reasons == ["a shelf ", "bad JSON", "topic is"]
    assert device is not None and device.last_seq == 5 and device.online
    assert count(app, SensorEvent) == 3
    assert stored == {seq: json.loads(event_payload("shelf-1", seq)) for seq in (1, 2, 5)}


@pytest.mark.parametrize(
    ("topic", "document"),
    [
        (f"comptoir/v1/{STORE}/zone/z/-/evt/presence", {"occupied": True, "people": 2}),
        (f"comptoir/v1/{STORE}/door/d/-/evt/footfall", {"direction": "in", "count": 3}),
        (f"comptoir/v1/{STORE}/dev/dev-1/status", {"state": "offline", "battery": 41.5}),
    ],
)
def test_every_kind_is_stored_with_its_place_and_payload(
    app: Flask, topic: str, document: dict[str, object]
) -> None:
    common = {"v": 1, "event_id": "e-1", "device_id": "dev-1", "seq": 2**40}
    sent = {**common, "ts": "2026-11-27T10:30:00+01:00", **document}
    raw = " ".join(json.dumps(sent).split()).encode()  # not how json.dumps would write it
    session = db.new_session(app)
    with db.write(session):
        result = service.store_batch(session, STORE, [message(topic, raw)], now=NOW)
    with db.read(session):
        event = session.scalars(select(SensorEvent)).one()
        device = session.get(SensorDevice, "dev-1")
        row = (event.kind, event.zone, event.door, event.shelf, event.ts, event.payload)
    session.close()

    kind = result.stored[0].kind
    place = {"presence": ("z", None), "footfall": (None, "d"), "status": (None, None)}[kind]
    assert row == (kind, *place, None, dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC), sent)
    assert device is not None and device.last_seq == 2**40
    assert device.online is (kind != "status")


def test_unknown_devices_are_dead_lettered_when_auto_registration_is_off(app: Flask) -> None:
    session = db.new_session(app)
    with db.write(session):
        result = service.store_batch(
            session,
            STORE,
            [message(f"comptoir/v1/{STORE}/shelf/A/1/evt/weight", event_payload("ghost", 1))],
            now=NOW,
            auto_register=False,
        )
    session.close()

    assert (len(result.stored), result.dead_letters) == (0, 1)


def test_no_event_is_lost_or_duplicated_through_bridge_kills_and_a_broker_restart(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    result = crash_scenario(migrated, broker, tmp_path, total=2000, rate=400)

    assert result == {
        "published": 2000,
        "stored": 2000,
        "lost": 0,
        "duplicates": 0,
        "unexpected": 0,
        "bridge_running": 1,
    }, (tmp_path / "bridge.log").read_text()[-3000:]


def test_malformed_messages_are_dead_lettered_and_the_bridge_keeps_going(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    publisher = Publisher(broker)
    try:
        weight = f"comptoir/v1/{STORE}/shelf/A/1/evt/weight"
        bad = [
            (weight, b"{not json"),
            (weight, b'{"v":1}'),
            (weight, event_payload("shelf-9", 1).replace(b'"grams"', b'"colour"')),
            (f"comptoir/v1/{STORE}/shelf/A/-/evt/weight", event_payload("shelf-9", 1)),
            (f"comptoir/v1/{STORE}/dev/simulator/status", b'{"v":1,"state":"online"}'),
        ]
        seq = 0
        for i in range(600):
            if i % 3 == 0:
                topic, raw = bad[(i // 3) % len(bad)]
                publisher.publish(topic, raw)
            else:
                seq += 1
                # shelf-7 skips seq 100..104: lost before the broker, a gap to record.
                publisher.publish(weight, event_payload("shelf-7", seq + (5 if seq >= 100 else 0)))
        publisher.wait_acked(600)
        send_end_marker(publisher, migrated)

        session = db.new_session(app)
        with db.read(session):
            reasons = {d.reason.split(":")[0] for d in session.scalars(select(DeadLetter))}
            raws = {d.raw for d in session.scalars(select(DeadLetter))}
            gaps = [(g.expected, g.got) for g in session.scalars(select(SeqGap))]
        session.close()
        assert count(app, SensorEvent) == 400 + 1  # and the end marker
        assert count(app, DeadLetter) == 200
        assert b"{not json" in raws
        assert {"bad JSON", "invalid payload", "bad lane name"} <= reasons
        assert gaps == [(100, 105)]
        assert bridge.poll() is None
    finally:
        publisher.close()
        terminate(bridge)


def test_the_bridge_says_online_retained_and_its_last_will_says_offline(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    bridge = start_bridge(migrated, broker, tmp_path / "bridge.log")
    try:
        watcher = Subscriber(broker, BRIDGE_STATUS)
        wait_for(lambda: any(b'"online"' in m[1] for m in watcher.messages), 30, "online")
        watcher.close()
        late = Subscriber(broker, BRIDGE_STATUS, client_id="late-subscriber")
        wait_for(lambda: bool(late.messages), 10, "retained status")
        _topic, raw, retained = late.messages[0]
        assert retained and json.loads(raw)["state"] == "online"

        kill(bridge)
        wait_for(lambda: any(b'"offline"' in m[1] for m in late.messages), 10, "last will")
        late.close()
        after = Subscriber(broker, BRIDGE_STATUS, client_id="after-subscriber")
        wait_for(lambda: bool(after.messages), 10, "retained offline")
        assert json.loads(after.messages[0][1])["state"] == "offline"
        after.close()
    finally:
        terminate(bridge)


def test_the_acl_lets_a_device_write_only_its_own_status(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    publisher = Publisher(broker)  # logged in as the device user "simulator"
    try:
        for device in ("shelf-2", "simulator"):
            document = {
                "v": 1,
                "event_id": f"boot-{device}",
                "device_id": device,
                "seq": 0,
                "ts": "2026-11-27T09:00:00+00:00",
                "state": "online",
            }
            publisher.publish(
                f"comptoir/v1/{STORE}/dev/{device}/status", json.dumps(document).encode()
            )
        publisher.wait_acked(2)
        marker = send_end_marker(publisher, migrated)

        session = db.new_session(app)
        with db.read(session):
            devices = list(session.scalars(select(SensorEvent.device_id)))
        session.close()
        assert sorted(devices) == sorted(["simulator", marker[0]])
    finally:
        publisher.close()
        terminate(bridge)
