"""The store-day simulator: valid payloads, plausible shelves, and the bridge stores them."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from iot_bridge import payloads, simulate, topics
from store_api import db
from store_api.sensors.models import DeadLetter, SensorEvent
from tests.mqtt_servers import (
    DEVICE_USER,
    ROOT,
    Broker,
    Subscriber,
    mosquitto_server,
    start_bridge,
    terminate,
    wait_for,
)


def test_a_simulated_day_is_valid_and_keeps_lanes_within_capacity() -> None:
    lanes, zones = simulate.load_lanes(), simulate.load_zones()
    sequencer = simulate.Sequencer()
    now = dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)

    steps = list(simulate.day(random.Random(7), "store-1", lanes, zones, customers=60))
    kinds = {step.kind for step in steps}
    for step in steps:
        parsed = payloads.parse(topics.parse(step.topic), sequencer.encode(step, now))
        assert parsed.kind == step.kind

    assert kinds == {"footfall", "presence", "weight"}
    assert all(0 <= lane.units <= lane.capacity for lane in lanes)
    ins = sum(1 for s in steps if s.fields.get("direction") == "in")
    assert ins == 60


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def test_the_simulator_publishes_as_a_device_and_the_bridge_stores_it(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    status = Subscriber(broker, "comptoir/v1/store-1/dev/comptoir-bridge-store-1/status")
    bridge = start_bridge(migrated, broker, tmp_path / "bridge.log")
    try:
        # Subscribed first: what the simulator sends before would reach nobody.
        wait_for(lambda: any(b'"online"' in m[1] for m in status.messages), 30, "bridge online")
        run = subprocess.run(
            [
                *(sys.executable, "-m", "iot_bridge.simulate"),
                *("--speed", "2000", "--customers", "3", "--seed", "1"),
            ],
            cwd=ROOT,
            env={
                **os.environ,
                "COMPTOIR_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
                "COMPTOIR_MQTT_DEVICES": ":".join(DEVICE_USER),
            },
            capture_output=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]

        def stored() -> int:
            with db.engine_for(app).connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(SensorEvent)) or 0)

        wait_for(lambda: stored() >= 6 + 21, 60, "the simulated events stored")
        with db.engine_for(app).connect() as conn:
            dead = int(conn.scalar(select(func.count()).select_from(DeadLetter)) or 0)
        assert stored() >= 6 + 21  # 3 customers in and out, 21 lanes refilled at night
        assert dead == 0
    finally:
        status.close()
        terminate(bridge)
