"""The broker's logins and ACL (config/mosquitto): no device can kick the bridge off or take
its persistent session, each device writes only its own topics, and Comptoir's own processes
(bridge, label publisher, simulator and its tablet) never take each other's connection."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from flask import Flask
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.mqtt_servers import (
    DEVICE_USER,
    DOOR_USER,
    LABELS_USER,
    ROOT,
    SHELF_USER,
    TABLET_USERS,
    Broker,
    Publisher,
    Subscriber,
    event_payload,
    mosquitto_server,
    send_end_marker,
    start_bridge_online,
    stored_keys,
    terminate,
    wait_for,
)

STORE = "store-1"
BRIDGE_ID = f"comptoir-bridge-{STORE}"
WEIGHT = f"comptoir/v1/{STORE}/shelf/A/1/evt/weight"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


class Intruder:
    """A device's login connecting with someone else's client id (MQTT v5)."""

    def __init__(
        self, broker: Broker, user: tuple[str, str], client_id: str, clean_start: bool
    ) -> None:
        self.messages: list[str] = []
        self.connected = threading.Event()
        self.reason = ""
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(*user)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda _c, _u, message: self.messages.append(message.topic)
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect(
            "127.0.0.1", broker.port, clean_start=clean_start, properties=properties
        )
        self.client.loop_start()
        if not self.connected.wait(30):
            raise TimeoutError("no CONNACK")

    def _on_connect(self, _client: Any, _userdata: Any, flags: Any, reason: Any, *_: Any) -> None:
        self.reason = str(reason)
        self.session_present = bool(flags.session_present)
        self.connected.set()

    def leave_and_end_the_session(self) -> None:
        """Disconnect with a Session Expiry of 0: the broker drops the session it had."""
        properties = Properties(PacketTypes.DISCONNECT)
        properties.SessionExpiryInterval = 0
        self.client.disconnect(properties=properties)
        self.client.loop_stop()


def connects(log: Path) -> int:
    return log.read_text().count("connected (session present")


def test_a_device_login_cannot_kick_the_running_bridge_off(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    bridge = start_bridge_online(migrated, broker, log)
    publisher = Publisher(broker)
    intruder: Intruder | None = None
    try:
        # Before the fix the two took turns, one second each: the end marker never came.
        intruder = Intruder(broker, DOOR_USER, BRIDGE_ID, clean_start=False)
        publisher.publish(WEIGHT, event_payload("shelf-1", 1))
        send_end_marker(publisher, migrated)
        assert connects(log) == 1 and "disconnected" not in log.read_text()
        assert not intruder.session_present  # a session of its own, not the bridge's
        assert ("shelf-1", "shelf-1-1") in stored_keys(migrated)
    finally:
        if intruder is not None:
            intruder.leave_and_end_the_session()
        publisher.close()
        terminate(bridge)


def test_a_device_login_cannot_take_the_stopped_bridges_session_and_its_queued_events(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    terminate(start_bridge_online(migrated, broker, log))  # its persistent session exists
    publisher = Publisher(broker)
    bridge = None
    try:
        # Five events wait in the bridge's session; a device connects with the bridge's client
        # id, then leaves ending "the" session.
        for seq in range(1, 6):
            publisher.publish(WEIGHT, event_payload("shelf-1", seq))
        publisher.wait_acked(5)
        intruder = Intruder(broker, DOOR_USER, BRIDGE_ID, clean_start=False)
        took_session = intruder.session_present
        intruder.leave_and_end_the_session()

        bridge = start_bridge_online(migrated, broker, log)
        send_end_marker(publisher, migrated)
        stored = {event for device, event in stored_keys(migrated) if device == "shelf-1"}
        assert len(stored) == 5, f"{len(stored)} of 5 queued events stored"
        assert not took_session
        assert intruder.messages == []  # it read nothing of the bridge's queue
    finally:
        publisher.close()
        if bridge is not None:
            terminate(bridge)


def test_each_device_writes_only_its_own_topics_and_reads_only_its_own(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    door = Publisher(broker, user=DOOR_USER)  # door-1: the door counter of door "door-1"
    shelf = Publisher(broker, user=SHELF_USER)  # A: the controller of shelf "A"
    gateway = Publisher(broker)  # the simulator: every event topic
    try:

        def footfall(device: str, seq: int) -> bytes:
            document = {
                "v": 1,
                "event_id": f"{device}-{seq}",
                "device_id": device,
                "seq": seq,
                "ts": "2026-11-27T09:00:00+00:00",
                "direction": "in",
                "count": 1,
            }
            return json.dumps(document).encode()

        def status(device: str) -> bytes:
            document = {
                "v": 1,
                "event_id": f"boot-{device}",
                "device_id": device,
                "seq": 0,
                "ts": "2026-11-27T09:00:00+00:00",
                "state": "online",
            }
            return json.dumps(document).encode()

        allowed = [
            (door, f"comptoir/v1/{STORE}/door/door-1/-/evt/footfall", footfall("door-1", 1)),
            (door, f"comptoir/v1/{STORE}/dev/door-1/status", status("door-1")),
            (shelf, f"comptoir/v1/{STORE}/shelf/A/3/evt/weight", event_payload("A", 1)),
            (gateway, f"comptoir/v1/{STORE}/shelf/B/1/evt/weight", event_payload("shelf-b", 1)),
        ]
        refused = [
            (door, f"comptoir/v1/{STORE}/door/main/-/evt/footfall", footfall("door-1", 2)),
            (door, f"comptoir/v1/{STORE}/shelf/A/1/evt/weight", event_payload("door-1", 3)),
            (door, f"comptoir/v1/{STORE}/dev/door-2/status", status("door-2")),
            (door, f"comptoir/v1/{STORE}/dev/{BRIDGE_ID}/status", status(BRIDGE_ID)),
            (door, f"comptoir/v1/{STORE}/staff/all/notify", b'{"type": "help.requested"}'),
            (door, f"comptoir/v1/{STORE}/staff/tablet-1/ack", b'{"v": 1}'),
            (door, f"comptoir/v1/{STORE}/label/A-1/state", b'{"v": 1, "price": "0.01"}'),
            (shelf, f"comptoir/v1/{STORE}/shelf/B/1/evt/weight", event_payload("A", 2)),
            (shelf, f"comptoir/v1/{STORE}/dev/shelf-b/status", status("shelf-b")),
        ]
        for client, topic, raw in refused + allowed:
            client.publish(topic, raw)
        for client, sent in ((door, 9), (shelf, 3), (gateway, 1)):
            client.wait_acked(sent)
        marker = send_end_marker(gateway, migrated)

        expected = {
            ("door-1", "door-1-1"),
            ("door-1", "boot-door-1"),
            ("A", "A-1"),
            ("shelf-b", "shelf-b-1"),
            marker,
        }
        assert stored_keys(migrated) == expected
    finally:
        for client in (door, shelf, gateway):
            client.close()
        terminate(bridge)


def test_a_tablet_reads_only_staff_notices_and_the_label_publisher_writes_only_labels(
    broker: Broker,
) -> None:
    labels = Publisher(broker, user=LABELS_USER)
    tablet = Subscriber(broker, "comptoir/v1/#", user=TABLET_USERS[0])
    tablet.wait_subscribed()
    try:
        for name in ("A-1", "A-2"):
            labels.publish(f"comptoir/v1/{STORE}/label/{name}/state", name.encode(), retain=True)
        labels.wait_acked(2)
        # The label publisher may not write anything else.
        labels.publish(f"comptoir/v1/{STORE}/staff/all/notify", b"from labels")
        labels.publish(f"comptoir/v1/{STORE}/shelf/A/1/evt/weight", b"from labels")
        labels.wait_acked(4)
        # The tablet hears its own notices (a positive end), nothing of the labels'.
        bridge = Publisher(broker, user=("bridge", "bridge-secret"))
        bridge.publish(f"comptoir/v1/{STORE}/staff/all/notify", b"end")
        bridge.wait_acked(1)
        bridge.close()
        wait_for(lambda: bool(tablet.messages), 30, "the notice on the tablet")
        assert [(t, raw) for t, raw, _ in tablet.messages] == [
            (f"comptoir/v1/{STORE}/staff/all/notify", b"end")
        ]
    finally:
        labels.close()
        tablet.close()


def test_comptoirs_own_processes_never_take_each_others_connection(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    """make run's MQTT clients together on one broker: bridge, label publisher, simulator
    and its tablet each connect once, under its own login, and stay connected."""
    environment = {
        **os.environ,
        "COMPTOIR_DATABASE_URL": migrated,
        "COMPTOIR_STORE_ID": STORE,
        "COMPTOIR_MQTT_URL": broker.url(),
        "COMPTOIR_MQTT_LABELS_URL": broker.url(LABELS_USER),
        "COMPTOIR_MQTT_DEVICES": " ".join(":".join(u) for u in (DEVICE_USER, TABLET_USERS[0])),
        "COMPTOIR_LABEL_POLL_SECONDS": "0.2",
    }
    no_zones = tmp_path / "zones.csv"  # no lingering in real seconds: a short day
    no_zones.write_text("zone,shelf,lane,dwell_threshold_s\n")
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for name, command in (
            ("labels", [sys.executable, "-m", "iot_bridge.labels"]),
            (
                "simulator",
                [
                    *(sys.executable, "-m", "iot_bridge.simulate", "--customers", "3"),
                    *("--seed", "4", "--speed", "1000", "--zones", str(no_zones)),
                ],
            ),
        ):
            with (tmp_path / f"{name}.log").open("ab") as out:
                processes.append(
                    subprocess.Popen(
                        command,
                        cwd=ROOT,
                        env=environment,
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        simulator = processes[1]
        assert simulator.wait(timeout=120) == 0, (tmp_path / "simulator.log").read_text()
        publisher = Publisher(broker, user=SHELF_USER)
        send_end_marker_as_shelf_a(publisher, migrated)
        publisher.close()
        assert any(device.startswith("door-") for device, _ in stored_keys(migrated))
        assert (tmp_path / "bridge.log").read_text().count("connected (session present") == 1
        assert processes[0].poll() is None and bridge.poll() is None
    finally:
        for process in processes:
            terminate(process)
        terminate(bridge)
    broker.stop()  # Mosquitto's log (stdout, to a file) is complete once it stops
    text = broker.log.read_text()
    for user in ("bridge", "labels", "simulator", TABLET_USERS[0][0]):
        assert len(re.findall(rf" as {re.escape(user)} \(", text)) == 1, (user, text[-3000:])
    assert "already connected" not in text, text[-3000:]


def send_end_marker_as_shelf_a(publisher: Publisher, migrated: str) -> None:
    """The end marker on shelf A's own topic (the login "A" may write only there)."""
    raw = event_payload("A", 99)
    publisher.publish(f"comptoir/v1/{STORE}/shelf/A/9/evt/weight", raw)
    wait_for(lambda: ("A", "A-99") in stored_keys(migrated), 60, "the end marker")
