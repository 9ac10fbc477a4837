"""The store-day simulator: valid payloads, plausible shelves, lingering in real seconds, and
through the real broker and bridge, help asked for and answered by the simulated tablet."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from iot_bridge import payloads, simulate, topics
from store_api import db
from store_api.sensors.models import DeadLetter, SensorEvent
from store_api.shelves import service
from store_api.shelves.models import HelpAlert
from tests.mqtt_servers import (
    DEVICE_USER,
    ROOT,
    TABLET_USERS,
    Broker,
    Subscriber,
    mosquitto_server,
    start_bridge,
    terminate,
    wait_for,
)

STORE = "store-1"


def dwells(
    steps: list[tuple[float, simulate.Step]],
) -> list[tuple[str, float, float]]:
    """(zone, dwell, when) for each presence visit as the bridge measures it: from the first
    "occupied" to the last one before the zone is empty, in the schedule's real seconds."""
    since: dict[str, float] = {}
    found = []
    for at, step in steps:
        if step.kind != "presence":
            continue
        zone = topics.parse(step.topic).zone
        assert zone is not None
        if step.fields["occupied"]:
            since.setdefault(zone, at)
            found.append((zone, at - since[zone], at))
        else:
            since.pop(zone, None)
    return found


def test_a_simulated_day_is_valid_and_keeps_lanes_within_capacity() -> None:
    lanes, zones = simulate.load_lanes(), simulate.load_zones()
    sequencer = simulate.Sequencer()
    now = dt.datetime(2026, 11, 27, 10, tzinfo=dt.UTC)

    steps = list(simulate.day(random.Random(7), STORE, lanes, zones, customers=60))
    for _at, step in steps:
        parsed = payloads.parse(topics.parse(step.topic), sequencer.encode(step, now))
        assert parsed.kind == step.kind

    assert {step.kind for _at, step in steps} == {"footfall", "presence", "weight"}
    assert [at for at, _step in steps] == sorted(at for at, _step in steps)
    assert all(0 <= lane.units <= lane.capacity for lane in lanes)
    assert sum(1 for _at, s in steps if s.fields.get("direction") == "in") == 60
    assert sum(1 for _at, s in steps if s.fields.get("direction") == "out") == 60
    # Customers overlap, so a zone is empty only when its last customer has left.
    assert all(s.fields["people"] >= 0 for _at, s in steps if s.kind == "presence")


@pytest.mark.parametrize("seed", range(8))
def test_lingering_is_real_time_whatever_the_speed_and_help_is_asked_early(seed: int) -> None:
    zones = simulate.load_zones()
    threshold = {z.zone: z.threshold_s for z in zones.values()}

    fast = list(simulate.day(random.Random(seed), STORE, simulate.load_lanes(), zones, speed=1000))
    demo = list(simulate.day(random.Random(seed), STORE, simulate.load_lanes(), zones))

    # At 1000 store seconds per second only lingering takes time, yet dwells pass thresholds.
    assert any(dwell >= threshold[zone] for zone, dwell, _at in dwells(fast))
    # At the default speed the first help request is due within two minutes of the start.
    first = min(at for zone, dwell, at in dwells(demo) if dwell >= threshold[zone])
    assert first <= 120


@pytest.mark.parametrize("hesitates", [True, False])
def test_a_hesitating_customer_stays_past_the_threshold_the_others_leave_before(
    hesitates: bool,
) -> None:
    for seed, zone in enumerate(simulate.load_zones().values()):
        crowd: Counter[str] = Counter()
        steps = list(simulate.linger(random.Random(seed), STORE, zone, crowd, hesitates))
        waits = [s for s in steps if isinstance(s, simulate.Wait)]
        beats = [s for s in steps if isinstance(s, simulate.Step)]

        assert all(w.real and w.seconds == zone.heartbeat_s for w in waits)
        assert all(b.fields == {"occupied": True, "people": 1} for b in beats)
        assert (sum(w.seconds for w in waits) >= zone.threshold_s) is hesitates
        assert crowd[zone.zone] == 1  # still there: the visit says when the customer leaves


@pytest.mark.parametrize(("share", "answered"), [(0.75, 3), (0.5, 2), (1.0, 4), (0.0, 0)])
def test_the_tablet_answers_its_share_of_every_few_requests(share: float, answered: int) -> None:
    for seed in range(10):
        tablet = simulate.Tablet("store-1", "tablet-1", "pw", random.Random(seed), share, (1, 2))
        answers = [tablet.will_answer() for _ in range(40)]
        tablet.close()
        # Any four requests in a row: the same number answered, so escalations show early.
        assert {sum(answers[i : i + 4]) for i in range(37)} == {answered}


def small_zones(path: Path, threshold_s: int = 1) -> Path:
    """The demo zones with a threshold of a second or so: lingering takes real seconds."""
    rows = [f"{z.zone},{shelf},{lane},{threshold_s}" for (shelf, lane), z in demo_zones()]
    path.write_text("zone,shelf,lane,dwell_threshold_s\n" + "\n".join(rows) + "\n")
    return path


def demo_zones() -> list[tuple[tuple[str, str], simulate.SimZone]]:
    return sorted(simulate.load_zones().items())


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def simulator_env(broker: Broker, *users: tuple[str, str]) -> dict[str, str]:
    return {
        **os.environ,
        "COMPTOIR_STORE_ID": STORE,
        "COMPTOIR_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
        "COMPTOIR_MQTT_DEVICES": " ".join(":".join(user) for user in users),
    }


def test_the_simulator_publishes_as_a_device_and_the_bridge_stores_it(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    status = Subscriber(broker, f"comptoir/v1/{STORE}/dev/comptoir-bridge-{STORE}/status")
    bridge = start_bridge(migrated, broker, tmp_path / "bridge.log")
    try:
        # Subscribed first: what the simulator sends before would reach nobody.
        wait_for(lambda: any(b'"online"' in m[1] for m in status.messages), 30, "bridge online")
        run = subprocess.run(
            [
                *(sys.executable, "-m", "iot_bridge.simulate"),
                *("--speed", "2000", "--customers", "3", "--seed", "1", "--no-ack"),
                *("--zones", str(small_zones(tmp_path / "zones.csv"))),
            ],
            cwd=ROOT,
            env=simulator_env(broker, DEVICE_USER),
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


def test_simulated_lingering_asks_for_help_the_tablet_answers_some_and_others_escalate(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    zones = small_zones(tmp_path / "zones.csv")
    session = db.new_session(app)
    with db.write(session):
        for (shelf, lane), zone in demo_zones():
            service.put_zone(session, STORE, zone.zone, shelf, lane, dwell_threshold_s=1)
    session.close()
    status = Subscriber(broker, f"comptoir/v1/{STORE}/dev/comptoir-bridge-{STORE}/status")
    # Another seller's tablet: it hears the request and then that tablet-1 answered it.
    other = Subscriber(
        broker, topics.staff_notify(STORE), client_id="tablet-2", user=TABLET_USERS[1]
    )
    bridge = start_bridge(
        migrated,
        broker,
        tmp_path / "bridge.log",
        COMPTOIR_HELP_ESCALATE_AFTER_SECONDS="3",
        COMPTOIR_BRIDGE_TIMER_SECONDS="0.2",
    )
    simulator: subprocess.Popen[bytes] | None = None
    log = tmp_path / "simulator.log"
    try:
        wait_for(lambda: any(b'"online"' in m[1] for m in status.messages), 30, "bridge online")
        with log.open("wb") as out:
            simulator = subprocess.Popen(
                [
                    *(sys.executable, "-m", "iot_bridge.simulate", "--loop"),
                    *("--speed", "100", "--customers", "5", "--seed", "3"),
                    *("--zones", str(zones), "--help-share", "0.5"),
                    *("--ack-share", "0.5", "--ack-after", "0.2", "0.5"),
                ],
                cwd=ROOT,
                env=simulator_env(broker, DEVICE_USER, TABLET_USERS[0]),
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def alerts() -> list[HelpAlert]:
            session = db.new_session(app)
            with db.read(session):
                found = list(session.scalars(select(HelpAlert).order_by(HelpAlert.id)))
            session.close()
            return found

        def answered() -> list[HelpAlert]:
            return [a for a in alerts() if a.acknowledged_at is not None]

        def escalated() -> list[HelpAlert]:
            return [a for a in alerts() if a.escalated_at is not None]

        def notices() -> list[dict[str, object]]:
            return [json.loads(raw) for _topic, raw, _retained in list(other.messages)]

        wait_for(lambda: bool(answered()) and bool(escalated()), 90, "answered and escalated")
        alert, forgotten = answered()[0], escalated()[0]
        wait_for(
            lambda: any(
                n["type"] == "help.acknowledged" and n["alert_id"] == alert.id for n in notices()
            ),
            30,
            "the acknowledgement on the other tablet",
        )
        wait_for(
            lambda: any(
                n["type"] == "help.escalated" and n["alert_id"] == forgotten.id for n in notices()
            ),
            30,
            "the escalation on the other tablet",
        )

        assert alert.acknowledged_by is not None
        assert alert.acknowledged_by.endswith("(tablet-1)")
        assert alert.acknowledged_at is not None and alert.acknowledged_at >= alert.raised_at
        assert alert.dwell_s >= 1
        assert forgotten.acknowledged_at is None  # nobody went: the tablet left it alone
        requested = [n["alert_id"] for n in notices() if n["type"] == "help.requested"]
        assert {alert.id, forgotten.id} <= set(requested)
        with db.engine_for(app).connect() as conn:
            assert conn.scalar(select(func.count()).select_from(DeadLetter)) == 0
        # SIGTERM (honcho's Ctrl-C) stops the loop cleanly.
        simulator.terminate()
        assert simulator.wait(timeout=30) == 0
    finally:
        if simulator is not None:
            terminate(simulator)
        other.close()
        status.close()
        terminate(bridge)
        print(log.read_text(errors="replace")[-3000:] if log.exists() else "")
