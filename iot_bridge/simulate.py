"""``python -m iot_bridge.simulate [--loop]``: replay a store day on the broker.

Customers come in through the door, walk to lanes, linger in front of them (presence
heartbeats), pick units (the lane's scale gets lighter), sometimes put one back, sometimes put
back something else (a wrong item), and leave; several are in the shop at once. About one lane
visit in five is a customer hesitating in a presence zone past its threshold, which asks the
sellers for help. A simulated seller's tablet hears the help requests and acknowledges most of
them a little later; the others escalate.

Device time is real time, and so is the time a customer lingers: the bridge measures a dwell
on the devices' clocks, so heartbeats that ``--speed`` compressed would never reach a zone's
threshold. ``--speed`` compresses every other pause (arrivals, walking, picking).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import heapq
import itertools
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from iot_bridge import payloads, topics
from iot_bridge.settings import DEFAULT_MQTT_URL, ROOT

SEEDS = ROOT / "seeds"
DEFAULT_DEVICES = (
    "simulator:simulator-demo shelf-1:shelf-demo zone-1:zone-demo door-1:door-demo "
    "tablet-1:tablet-demo"
)
DOOR = "main"
# A presence sensor says "still occupied" this often (real seconds), or three times per
# threshold when that is shorter, so that a dwell just past the threshold is seen.
HEARTBEAT_S = 5.0
SELLERS = ("Julie", "Marc", "Sofia", "Karim")


@dataclass
class SimLane:
    shelf: str
    lane: str
    unit_weight_g: float
    units: int
    capacity: int


@dataclass(frozen=True)
class SimZone:
    """A presence zone in front of a lane; its threshold as the seeds say (real seconds)."""

    zone: str
    threshold_s: float

    @property
    def heartbeat_s(self) -> float:
        return min(HEARTBEAT_S, self.threshold_s / 3)

    @property
    def device_id(self) -> str:
        return f"zone-{self.zone.lower()}"


@dataclass(frozen=True)
class Step:
    """Publish ``kind`` with ``fields`` on ``topic`` as ``device_id``."""

    topic: str
    kind: str
    device_id: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    """A pause in a customer's visit: store seconds (divided by ``--speed``) unless ``real``."""

    seconds: float
    real: bool = False


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


def load_zones(path: Path = SEEDS / "demo_zones.csv") -> dict[tuple[str, str], SimZone]:
    with path.open(newline="", encoding="utf-8") as file:
        return {
            (row["shelf"], row["lane"]): SimZone(row["zone"], float(row["dwell_threshold_s"]))
            for row in csv.DictReader(file)
        }


def customer(
    rng: random.Random,
    store: str,
    lanes: list[SimLane],
    zones: dict[tuple[str, str], SimZone],
    crowd: Counter[str],
    help_share: float,
) -> Iterator[Wait | Step]:
    """One customer's visit. Runs as the day goes (see :func:`day`): the lanes' units and the
    zones' crowd are read and changed when each step happens, not when the visit is planned."""
    door = topics.footfall(store, DOOR)
    zoned = [lane for lane in lanes if (lane.shelf, lane.lane) in zones]
    yield Step(door, "footfall", f"door-{DOOR}", {"direction": "in", "count": 1})
    for _ in range(rng.randint(1, 3)):
        hesitates = bool(zoned) and rng.random() < help_share
        lane = rng.choice(zoned if hesitates else lanes)
        yield Wait(rng.uniform(10, 40))  # walks there
        zone = zones.get((lane.shelf, lane.lane))
        if zone is not None:
            yield from linger(rng, store, zone, crowd, hesitates)
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
            yield Wait(1)
            yield Step(
                topics.weight(store, lane.shelf, lane.lane),
                "weight",
                f"shelf-{lane.shelf.lower()}",
                {"grams": round(grams, 1)},
            )
        if zone is not None:
            yield Wait(2)
            crowd[zone.zone] -= 1
            people = crowd[zone.zone]
            yield Step(
                topics.presence(store, zone.zone),
                "presence",
                zone.device_id,
                {"occupied": people > 0, "people": people},
            )
    yield Wait(rng.uniform(5, 30))
    yield Step(door, "footfall", f"door-{DOOR}", {"direction": "out", "count": 1})


def linger(
    rng: random.Random, store: str, zone: SimZone, crowd: Counter[str], hesitates: bool
) -> Iterator[Wait | Step]:
    """Stand in the zone, the sensor beating "occupied" in real seconds. A hesitating customer
    stays until a heartbeat past the threshold (help is asked); the others leave well before."""
    beat = zone.heartbeat_s
    stay = (
        zone.threshold_s + rng.uniform(1, 3) * beat
        if hesitates
        else rng.uniform(0.1, 0.8) * zone.threshold_s
    )
    topic = topics.presence(store, zone.zone)
    crowd[zone.zone] += 1
    yield Step(topic, "presence", zone.device_id, {"occupied": True, "people": crowd[zone.zone]})
    for _ in range(int(stay // beat)):
        yield Wait(beat, real=True)
        people = crowd[zone.zone]
        yield Step(topic, "presence", zone.device_id, {"occupied": True, "people": people})


def day(
    rng: random.Random,
    store: str,
    lanes: list[SimLane],
    zones: dict[tuple[str, str], SimZone],
    customers: int = 40,
    speed: float = 10.0,
    help_share: float = 0.2,
) -> Iterator[tuple[float, Step]]:
    """The events of one store day with when to send them (real seconds from its start).

    Customers arrive one after another and their visits overlap. Each visit runs until its
    next pause, which decides when it goes on; at night every lane is refilled.
    """
    order = itertools.count()
    crowd: Counter[str] = Counter()
    ready: list[tuple[float, int, Iterator[Wait | Step]]] = []
    arrival = 0.0
    for _ in range(customers):
        arrival += rng.uniform(20, 120) / speed
        visit = customer(rng, store, lanes, zones, crowd, help_share)
        heapq.heappush(ready, (arrival, next(order), visit))
    at = 0.0
    while ready:
        at, _, visit = heapq.heappop(ready)
        for item in visit:
            if isinstance(item, Wait):
                pause = item.seconds if item.real else item.seconds / speed
                heapq.heappush(ready, (at + pause, next(order), visit))
                break
            yield at, item
    # Night: refill every lane.
    for lane in lanes:
        at += 1 / speed
        lane.units = lane.capacity
        yield (
            at,
            Step(
                topics.weight(store, lane.shelf, lane.lane),
                "weight",
                f"shelf-{lane.shelf.lower()}",
                {"grams": lane.units * lane.unit_weight_g},
            ),
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


def mqtt_client(client_id: str, user: str, password: str) -> Any:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.reconnect_delay_set(min_delay=1, max_delay=10)
    return client


class Tablet:
    """A seller's tablet: hears the help requests on ``staff/all/notify`` and acknowledges
    most of them on its own ``staff/{tablet}/ack`` after a while (real seconds).

    It logs in as the tablet: the broker's ACL lets a device write only its own ack topic.
    paho's callbacks only read the notice and start a timer; the timer publishes.
    """

    def __init__(
        self,
        store: str,
        name: str,
        password: str,
        rng: random.Random,
        ack_share: float,
        ack_after: tuple[float, float],
    ) -> None:
        self.store = store
        self.name = name
        self.rng = rng
        self.ack_share = ack_share
        # Answers spread evenly: with 0.75, exactly one request in four goes unanswered (from
        # a random first one), so the escalation shows among the first few alerts.
        self.credit = rng.random()
        self.ack_after = ack_after
        self.subscribed = threading.Event()
        self.timers: dict[int, threading.Timer] = {}
        self.lock = threading.Lock()
        self.client = mqtt_client(f"{name}-simulated-{store}", name, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message

    def start(self, host: str, port: int) -> None:
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any, *_: Any) -> None:
        if reason.is_failure:
            print(f"{self.name}: the broker refused the tablet: {reason}", flush=True)
            return
        client.subscribe(topics.staff_notify(self.store), qos=1)

    def _on_subscribe(self, *_args: Any) -> None:
        self.subscribed.set()

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        try:
            notice = json.loads(message.payload)
            kind, alert_id = notice.get("type"), notice.get("alert_id")
            where = f"lane {notice.get('shelf')}-{notice.get('lane')}"
            if kind == "help.requested" and isinstance(alert_id, int):
                if not self.will_answer():
                    print(f"{self.name}: help alert {alert_id} at {where}: nobody goes", flush=True)
                    return
                delay = self.rng.uniform(*self.ack_after)
                timer = threading.Timer(delay, self._acknowledge, (alert_id, where, delay))
                timer.daemon = True
                with self.lock:
                    self.timers[alert_id] = timer
                timer.start()
            elif kind == "help.escalated":
                print(f"{self.name}: help alert {alert_id} at {where} escalated", flush=True)
        except Exception as exc:  # a callback must not raise
            print(f"{self.name}: unreadable notice: {exc}", flush=True)

    def will_answer(self) -> bool:
        """Whether a seller goes to the next help request (``ack_share`` of them)."""
        self.credit += self.ack_share
        if self.credit < 1:
            return False
        self.credit -= 1
        return True

    def _acknowledge(self, alert_id: int, where: str, delay: float) -> None:
        seller = self.rng.choice(SELLERS)
        raw = payloads.dump("ack", alert_id=alert_id, seller=seller, ts=dt.datetime.now(dt.UTC))
        self.client.publish(topics.staff_ack(self.store, self.name), raw, qos=1)
        print(
            f"{self.name}: {seller} goes to {where} (alert {alert_id}, after {delay:.0f} s)",
            flush=True,
        )
        with self.lock:
            self.timers.pop(alert_id, None)

    def pending(self) -> int:
        with self.lock:
            return len(self.timers)

    def close(self) -> None:
        with self.lock:
            for timer in self.timers.values():
                timer.cancel()
        self.client.disconnect()
        self.client.loop_stop()


def device_users(devices: str) -> list[tuple[str, str]]:
    return [(user, password) for user, _, password in (d.partition(":") for d in devices.split())]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m iot_bridge.simulate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--loop", action="store_true", help="replay days until stopped")
    parser.add_argument(
        "--speed", type=float, default=10.0, help="store seconds per second (not lingering)"
    )
    parser.add_argument("--customers", type=int, default=40, help="customers per day")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--help-share",
        type=float,
        default=0.2,
        help="share of lane visits that linger past the zone's threshold (0.2)",
    )
    parser.add_argument("--planogram", type=Path, default=SEEDS / "demo_planogram.csv")
    parser.add_argument(
        "--zones", type=Path, default=SEEDS / "demo_zones.csv", help="zones and thresholds"
    )
    parser.add_argument(
        "--no-ack", action="store_true", help="no simulated tablet: every alert escalates"
    )
    parser.add_argument(
        "--tablet",
        default=None,
        help="the tablet's user in COMPTOIR_MQTT_DEVICES (default: the first tablet-*)",
    )
    parser.add_argument(
        "--ack-share", type=float, default=0.75, help="share of alerts acknowledged (0.75)"
    )
    parser.add_argument(
        "--ack-after",
        type=float,
        nargs=2,
        default=(10.0, 90.0),
        metavar=("MIN", "MAX"),
        help="a seller answers after MIN to MAX real seconds (10 90)",
    )
    return parser.parse_args(argv)


def find_tablet(args: argparse.Namespace, users: list[tuple[str, str]]) -> tuple[str, str] | None:
    if args.no_ack:
        return None
    for user, password in users:
        if user == args.tablet or (args.tablet is None and user.startswith("tablet")):
            return user, password
    print(
        f"no tablet {args.tablet or 'tablet-*'} in COMPTOIR_MQTT_DEVICES: "
        "nobody acknowledges the help alerts",
        flush=True,
    )
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    store = os.environ.get("COMPTOIR_STORE_ID") or "store-1"
    url = urlsplit(os.environ.get("COMPTOIR_MQTT_URL") or DEFAULT_MQTT_URL)
    host, port = url.hostname or "127.0.0.1", url.port or 1883
    users = device_users(os.environ.get("COMPTOIR_MQTT_DEVICES") or DEFAULT_DEVICES)
    rng = random.Random(args.seed)
    stopping = threading.Event()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    connected = threading.Event()

    def on_connect(_client: Any, _userdata: Any, _flags: Any, reason: Any, *_: Any) -> None:
        if reason.is_failure:
            print(f"the broker refused the simulator: {reason}", flush=True)
        else:
            connected.set()

    user, password = users[0]
    sensors = mqtt_client(f"{user}-{store}", user, password)
    sensors.on_connect = on_connect
    sensors.connect_async(host, port, keepalive=30)
    sensors.loop_start()
    found = find_tablet(args, users)
    tablet = (
        Tablet(store, *found, random.Random(rng.random()), args.ack_share, args.ack_after)
        if found
        else None
    )
    if tablet is not None:
        tablet.start(host, port)
    lanes, zones = load_lanes(args.planogram), load_zones(args.zones)
    sequencer = Sequencer()
    published = 0
    try:
        # make run starts the broker at the same time: wait for it (paho retries).
        while not connected.wait(1) and not stopping.is_set():
            pass
        if tablet is not None:
            while not tablet.subscribed.wait(1) and not stopping.is_set():
                pass
        while not stopping.is_set():
            started = time.monotonic()
            steps = day(rng, store, lanes, zones, args.customers, args.speed, args.help_share)
            for at, step in steps:
                if stopping.wait(max(0.0, started + at - time.monotonic())):
                    return 0
                raw = sequencer.encode(step, dt.datetime.now(dt.UTC))
                sensors.publish(step.topic, raw, qos=1)
                published += 1
            print(f"a store day replayed: {published} events so far", flush=True)
            if not args.loop:
                if tablet is None:
                    return 0
                # The last lingering may still ask for help: let the tablet hear and answer.
                stopping.wait(2)
                deadline = time.monotonic() + args.ack_after[1] + 1
                while tablet.pending() and time.monotonic() < deadline:
                    if stopping.wait(0.2):
                        break
                return 0
        return 0
    finally:
        if tablet is not None:
            tablet.close()
        sensors.disconnect()
        sensors.loop_stop()


if __name__ == "__main__":
    sys.exit(main())
