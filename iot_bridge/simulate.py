"""``python -m iot_bridge.simulate [--loop]``: replay a store day on the broker.

Customers come in through the door, linger in front of lanes (presence heartbeats), pick
units (the lane's scale gets lighter), sometimes put one back, sometimes put back something
else (a wrong item), and leave. Lanes and zones come from the demo seeds. It publishes as
the first device user of ``COMPTOIR_MQTT_DEVICES`` (default ``simulator:simulator-demo``).
Device time is real time; ``--speed`` compresses the pauses between events.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from iot_bridge import payloads
from iot_bridge.settings import DEFAULT_MQTT_URL, ROOT

SEEDS = ROOT / "seeds"
DEFAULT_DEVICES = (
    "simulator:simulator-demo shelf-1:shelf-demo zone-1:zone-demo door-1:door-demo "
    "tablet-1:tablet-demo"
)


@dataclass
class SimLane:
    shelf: str
    lane: str
    unit_weight_g: float
    units: int
    capacity: int


@dataclass(frozen=True)
class Step:
    """Wait ``after_s`` (store time), then publish ``kind`` with ``fields`` on ``topic``."""

    after_s: float
    topic: str
    kind: str
    device_id: str
    fields: dict[str, Any] = field(default_factory=dict)


def load_lanes(path: Path = SEEDS / "demo_planogram.csv") -> list[SimLane]:
    with path.open(newline="", encoding="utf-8") as file:
        return [
            SimLane(
                row["shelf"],
                row["lane"],
                float(row["unit_weight_g"]),
                int(row["units_on_shelf"] or 0),
                int(row["capacity"]),
            )
            for row in csv.DictReader(file)
        ]


def load_zones(path: Path = SEEDS / "demo_zones.csv") -> dict[tuple[str, str], str]:
    with path.open(newline="", encoding="utf-8") as file:
        return {(row["shelf"], row["lane"]): row["zone"] for row in csv.DictReader(file)}


def day(
    rng: random.Random,
    store: str,
    lanes: list[SimLane],
    zones: dict[tuple[str, str], str],
    customers: int = 40,
) -> Iterator[Step]:
    """The events of one store day, in order; lanes' units change as customers pick."""
    door = f"comptoir/v1/{store}/door/main/-/evt/footfall"
    for _ in range(customers):
        yield Step(
            rng.uniform(20, 120), door, "footfall", "door-main", {"direction": "in", "count": 1}
        )
        for lane in rng.sample(lanes, k=rng.randint(1, 3)):
            zone = zones.get((lane.shelf, lane.lane))
            presence = f"comptoir/v1/{store}/zone/{zone}/-/evt/presence"
            scale = f"comptoir/v1/{store}/shelf/{lane.shelf}/{lane.lane}/evt/weight"
            shelf_device = f"shelf-{lane.shelf.lower()}"
            linger = rng.choice([8, 15, 25, 40, 75])  # some customers need help
            if zone:
                for beat in range(0, linger + 1, 5):
                    yield Step(
                        0 if beat == 0 else 5,
                        presence,
                        "presence",
                        f"zone-{zone.lower()}",
                        {"occupied": True, "people": 1},
                    )
            before = lane.units
            action = rng.random()
            if action < 0.6 and lane.units > 0:
                lane.units -= 1  # picked
            elif action < 0.7 and lane.units < lane.capacity:
                lane.units += 1  # put one back
            grams = lane.units * lane.unit_weight_g + rng.uniform(-2, 2)
            if rng.random() < 0.05:
                grams += rng.uniform(0.3, 0.6) * lane.unit_weight_g  # something else put back
            if lane.units != before or grams != lane.units * lane.unit_weight_g:
                yield Step(1, scale, "weight", shelf_device, {"grams": round(grams, 1)})
            if zone:
                yield Step(
                    2,
                    presence,
                    "presence",
                    f"zone-{zone.lower()}",
                    {"occupied": False, "people": 0},
                )
        yield Step(
            rng.uniform(5, 30), door, "footfall", "door-main", {"direction": "out", "count": 1}
        )
    # Night: refill every lane.
    for lane in lanes:
        lane.units = lane.capacity
        scale = f"comptoir/v1/{store}/shelf/{lane.shelf}/{lane.lane}/evt/weight"
        yield Step(
            1,
            scale,
            "weight",
            f"shelf-{lane.shelf.lower()}",
            {"grams": lane.units * lane.unit_weight_g},
        )


class Sequencer:
    """Per-device seq numbers and unique event ids."""

    def __init__(self) -> None:
        self.seqs: dict[str, int] = {}
        self.boot = int(time.time())

    def encode(self, step: Step, now: dt.datetime) -> bytes:
        seq = self.seqs.get(step.device_id, 0) + 1
        self.seqs[step.device_id] = seq
        return payloads.dump(
            step.kind,
            event_id=f"{step.device_id}-{self.boot}-{seq}",
            device_id=step.device_id,
            seq=seq,
            ts=now,
            **step.fields,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iot_bridge.simulate", description=__doc__)
    parser.add_argument("--loop", action="store_true", help="replay days until stopped")
    parser.add_argument("--speed", type=float, default=10.0, help="store seconds per second")
    parser.add_argument("--customers", type=int, default=40)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)

    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    store = os.environ.get("COMPTOIR_STORE_ID") or "store-1"
    url = urlsplit(os.environ.get("COMPTOIR_MQTT_URL") or DEFAULT_MQTT_URL)
    devices = os.environ.get("COMPTOIR_MQTT_DEVICES") or DEFAULT_DEVICES
    user, _, password = devices.split()[0].partition(":")
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"{user}-{store}", protocol=mqtt.MQTTv5
    )
    client.username_pw_set(user, password)
    client.connect(url.hostname or "127.0.0.1", url.port or 1883, keepalive=30)
    client.loop_start()
    rng = random.Random(args.seed)
    lanes, zones = load_lanes(), load_zones()
    sequencer = Sequencer()
    published = 0
    try:
        while True:
            for step in day(rng, store, lanes, zones, args.customers):
                time.sleep(step.after_s / args.speed)
                raw = sequencer.encode(step, dt.datetime.now(dt.UTC))
                client.publish(step.topic, raw, qos=1)
                published += 1
            print(f"a store day replayed: {published} events so far", flush=True)
            if not args.loop:
                return 0
    except KeyboardInterrupt:
        return 0
    finally:
        client.disconnect()
        client.loop_stop()


if __name__ == "__main__":
    sys.exit(main())
