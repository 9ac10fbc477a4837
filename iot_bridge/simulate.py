"""``python -m iot_bridge.simulate [--loop] [--till] [--promos]``: replay a store day.

Customers come in through the door, walk to lanes, linger in front of them (presence
heartbeats), pick units (the lane's scale gets lighter), sometimes put one back, sometimes put
back something else (a wrong item), and leave; several are in the shop at once. About one lane
visit in five is a customer hesitating in a presence zone past its threshold, which asks the
sellers for help. A simulated seller's tablet hears the help requests and acknowledges most of
them a little later; the others escalate.

Device time is real time, and so is the time a customer lingers: the bridge measures a dwell
on the devices' clocks, so heartbeats that ``--speed`` compressed would never reach a zone's
threshold. ``--speed`` compresses every other pause (arrivals, walking, picking).

``--till``: the shop's till and stock room too. What a customer picked and did not put back is
sold at the till on the way out (a store hold from the floor, committed at once), except for
the ``--shrink-share`` who walk out without paying (the shelf-vs-system check catches them);
the night refill of the lanes is a delivery to the floor. ``--promos``: every
``--promo-every`` store seconds one lane's product is 10 % off and the previous one goes back
to its price, so the labels change.

The simulator belongs to the demo shop. On a real shop's database (a product that is not from
the demo catalogue, ``store_api.demo``) it publishes nothing and changes nothing: it says why
once and stays idle until it is stopped (exit 0), so that ``make run`` keeps every other
process running (honcho stops them all when one exits). ``--force`` runs it anyway.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import heapq
import itertools
import json
import logging
import os
import random
import signal
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from iot_bridge import payloads, topics
from iot_bridge import settings as bridge_settings
from iot_bridge.settings import DEFAULT_MQTT_URL, ROOT
from store_api import config, db, demo
from store_api.catalog import service as catalog
from store_api.catalog.models import Product
from store_api.errors import DomainError, InsufficientStock
from store_api.shelves.models import Lane
from store_api.shelves.service import SHELF_LOCATION
from store_api.stock import service as stock
from store_api.stock.models import Channel, Reason

if TYPE_CHECKING:
    from paho.mqtt.client import MQTTMessageInfo

log = logging.getLogger(__name__)

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
# Of the customers who pick a unit, this many change their mind and put it back.
PUT_BACK_SHARE = 1 / 6
TILL_ACTOR = "demo till"
REFILL_ACTOR = "demo night refill"
COUNT_ACTOR = "demo floor count"
PROMO_OFF = Decimal("0.10")
CENT = Decimal("0.01")


@dataclass
class SimLane:
    shelf: str
    lane: str
    sku: str
    unit_weight_g: float
    units: int
    capacity: int

    @property
    def label(self) -> str:
        return f"{self.shelf}-{self.lane}"


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
class Checkout:
    """A customer leaves with ``basket`` (SKU, units): paid at the till, or not (shrinkage)."""

    customer: int
    basket: tuple[tuple[str, int], ...]
    paid: bool

    @property
    def units(self) -> int:
        return sum(units for _sku, units in self.basket)


@dataclass(frozen=True)
class Refill:
    """At night, ``units`` of ``sku`` go from the stock room to lane ``label``."""

    label: str
    sku: str
    units: int


@dataclass(frozen=True)
class Wait:
    """A pause in a customer's visit: store seconds (divided by ``--speed``) unless ``real``."""

    seconds: float
    real: bool = False


# What a store day does, in order: sensors publish, customers pay, lanes are refilled.
Action = Step | Checkout | Refill


def load_lanes(path: Path = SEEDS / "demo_planogram.csv") -> list[SimLane]:
    with path.open(newline="", encoding="utf-8") as file:
        return [
            SimLane(
                row["shelf"],
                row["lane"],
                row["sku"],
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


def load_catalogue_prices(path: Path = demo.DEMO_CATALOGUE) -> dict[str, Decimal]:
    """The demo catalogue's products and their regular prices."""
    with path.open(newline="", encoding="utf-8") as file:
        return {row["sku"]: Decimal(row["price"]) for row in csv.DictReader(file)}


def customer(
    rng: random.Random,
    store: str,
    lanes: list[SimLane],
    zones: dict[tuple[str, str], SimZone],
    crowd: Counter[str],
    help_share: float,
    number: int = 0,
    shrink_share: float = 0.0,
) -> Iterator[Wait | Action]:
    """One customer's visit. Runs as the day goes (see :func:`day`): the lanes' units and the
    zones' crowd are read and changed when each step happens, not when the visit is planned.

    A unit put back is one this customer picked a moment before; what they still hold on the
    way out is their basket (:class:`Checkout`), unpaid for ``shrink_share`` of them.
    """
    door = topics.footfall(store, DOOR)
    zoned = [lane for lane in lanes if (lane.shelf, lane.lane) in zones]
    basket: Counter[str] = Counter()
    yield Step(door, "footfall", f"door-{DOOR}", {"direction": "in", "count": 1})
    for _ in range(rng.randint(1, 3)):
        hesitates = bool(zoned) and rng.random() < help_share
        lane = rng.choice(zoned if hesitates else lanes)
        yield Wait(rng.uniform(10, 40))  # walks there
        zone = zones.get((lane.shelf, lane.lane))
        if zone is not None:
            yield from linger(rng, store, zone, crowd, hesitates)
        picked = rng.random() < 0.6 and lane.units > 0
        if picked:
            lane.units -= 1
            basket[lane.sku] += 1
        yield Wait(1)
        yield reading(rng, store, lane, wrong_item=rng.random() < 0.05)
        if picked and rng.random() < PUT_BACK_SHARE:
            yield Wait(rng.uniform(3, 15))  # changes their mind
            lane.units += 1
            basket[lane.sku] -= 1
            yield reading(rng, store, lane)
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
    held = tuple(sorted((sku, units) for sku, units in basket.items() if units > 0))
    if held:
        yield Checkout(number, held, paid=rng.random() >= shrink_share)
    yield Step(door, "footfall", f"door-{DOOR}", {"direction": "out", "count": 1})


def reading(rng: random.Random, store: str, lane: SimLane, wrong_item: bool = False) -> Step:
    """What the lane's scale says now, with a little noise (and something else on it)."""
    grams = lane.units * lane.unit_weight_g + rng.uniform(-2, 2)
    if wrong_item:
        grams += rng.uniform(0.3, 0.6) * lane.unit_weight_g
    return Step(
        topics.weight(store, lane.shelf, lane.lane),
        "weight",
        f"shelf-{lane.shelf.lower()}",
        {"grams": round(grams, 1)},
    )


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
    shrink_share: float = 0.1,
) -> Iterator[tuple[float, Action]]:
    """The events of one store day with when to send them (real seconds from its start).

    Customers arrive one after another and their visits overlap. Each visit runs until its
    next pause, which decides when it goes on; at night every lane is refilled.
    """
    order = itertools.count()
    crowd: Counter[str] = Counter()
    ready: list[tuple[float, int, Iterator[Wait | Action]]] = []
    arrival = 0.0
    for number in range(1, customers + 1):
        arrival += rng.uniform(20, 120) / speed
        visit = customer(rng, store, lanes, zones, crowd, help_share, number, shrink_share)
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
    # Night: refill every lane (from the stock room first, then the scale sees it).
    for lane in lanes:
        at += 1 / speed
        if lane.units < lane.capacity:
            yield at, Refill(lane.label, lane.sku, lane.capacity - lane.units)
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


def promo_price(price: Decimal, off: Decimal = PROMO_OFF) -> Decimal:
    """``off`` less, then down to the nearest shelf price ending in .99 or .90 (34.99 -> 30.99,
    9.90 -> 8.90, 169.00 -> 151.99): the customer saves at least ``off``."""
    target = price * (1 - off)
    euros = target.to_integral_value(rounding=ROUND_FLOOR)
    for candidate in (euros + Decimal("0.99"), euros + Decimal("0.90"), euros - CENT):
        if 0 < candidate <= target:
            return candidate.quantize(CENT)
    return target.quantize(CENT, rounding=ROUND_FLOOR)


class Shop:
    """The back office side of the simulated shop: its till, its stock room, its price tags.

    Everything goes through the same services as the API, each in its own transaction, on the
    database the bridge uses; a failure is logged and the day goes on (under ``make run`` an
    exiting simulator would stop every other process).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        policy: stock.StockPolicy,
        store: str,
        catalogue: dict[str, Decimal] | None = None,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.store = store
        self.catalogue = load_catalogue_prices() if catalogue is None else catalogue
        self.tickets = 0

    # --- the guard and the planogram ---------------------------------------------------

    def planogram(self) -> list[SimLane]:
        """The store's lanes as the database knows them (product, weight, units counted)."""
        with self.sessions() as session, db.read(session):
            lanes = session.scalars(
                select(Lane).where(Lane.store == self.store).order_by(Lane.shelf, Lane.lane)
            )
            return [
                SimLane(
                    lane.shelf,
                    lane.lane,
                    lane.sku,
                    lane.unit_weight_g,
                    min(lane.units_on_shelf or 0, lane.capacity),
                    lane.capacity,
                )
                for lane in lanes
            ]

    def count_floor(self, lanes: Iterable[SimLane], now: dt.datetime) -> dict[str, int]:
        """Where the ledger has fewer units on the floor than the lanes hold (e.g. the demo's
        sales history sold them), a seller counts the floor up to what the lanes hold, so the
        till can sell every unit taken from them. Returns the units added per SKU."""
        on_lanes: Counter[str] = Counter()
        for lane in lanes:
            on_lanes[lane.sku] += lane.units
        added = {}
        for sku, units in sorted(on_lanes.items()):
            try:
                with self.sessions() as session, db.write(session):
                    found = stock.stock_for(session, [sku], self.policy).get(sku)
                    if found is None:
                        continue
                    floor = next(
                        (loc for loc in found.locations if loc.location == SHELF_LOCATION), None
                    )
                    if floor is None or floor.available >= units:
                        continue
                    missing = units - floor.available
                    stock.count(
                        session,
                        sku=sku,
                        location=SHELF_LOCATION,
                        on_hand=floor.on_hand + missing,
                        expected_on_hand=floor.on_hand,
                        actor=COUNT_ACTOR,
                        reference="the lanes hold more than the ledger says",
                        now=now,
                        policy=self.policy,
                    )
                    added[sku] = missing
            except (DomainError, SQLAlchemyError):
                log.warning("floor count of %s failed", sku, exc_info=True)
        return added

    # --- the till ----------------------------------------------------------------------

    def sell(self, checkout: Checkout, now: dt.datetime) -> int:
        """Ring up a basket: one store hold from the floor per product, committed at once.
        A product the ledger has no unit of on the floor is left out. Returns units sold."""
        self.tickets += 1
        reference = f"ticket {now:%Y%m%d}-{self.tickets:04d}"
        sold = 0
        for sku, units in checkout.basket:
            try:
                sold += self._sell_line(sku, units, reference, now)
            except InsufficientStock as exc:
                log.debug("till: no %s left on the floor in the ledger: %s", sku, exc)
            except (DomainError, SQLAlchemyError):
                log.warning("till: %s not sold", sku, exc_info=True)
        return sold

    def _sell_line(self, sku: str, units: int, reference: str, now: dt.datetime) -> int:
        for attempt in range(2):
            try:
                with self.sessions() as session, db.write(session):
                    hold = stock.reserve(
                        session,
                        sku=sku,
                        quantity=units,
                        channel=Channel.STORE,
                        location=SHELF_LOCATION,
                        ttl_seconds=None,
                        note=None,
                        actor=TILL_ACTOR,
                        now=now,
                        policy=self.policy,
                    )
                    stock.commit_reservation(
                        session,
                        hold.id,
                        actor=TILL_ACTOR,
                        reference=reference,
                        now=now,
                        policy=self.policy,
                    )
                return units
            except InsufficientStock as exc:
                # Fewer on the floor than in the basket: sell those (once).
                if attempt or not 0 < exc.available < units:
                    raise
                units = exc.available
        return 0

    def refill(self, refill: Refill, now: dt.datetime) -> None:
        """The units a seller brings to a lane at night, recorded as a delivery to the floor
        (the stock services have no transfer between locations)."""
        try:
            with self.sessions() as session, db.write(session):
                stock.adjust(
                    session,
                    sku=refill.sku,
                    location=SHELF_LOCATION,
                    delta=refill.units,
                    reason=Reason.DELIVERY,
                    actor=REFILL_ACTOR,
                    reference=f"refill lane {refill.label}",
                    now=now,
                    policy=self.policy,
                )
        except (DomainError, SQLAlchemyError):
            log.warning("refill of lane %s not recorded", refill.label, exc_info=True)


class Promotions:
    """One lane's product at a time is 10 % off; the next one ends the previous promotion.

    Regular prices are the demo catalogue's: only a product still at its catalogue price is
    put on promotion, and only one still at its promotion price is put back, so an owner's
    own price is never touched and a promotion a killed simulator left behind is undone at
    the next start (:meth:`end_all`). Prices change through the catalogue service, so the
    outbox says ``product.updated`` and the label publisher republishes the label.
    """

    def __init__(self, shop: Shop, skus: Iterable[str], rng: random.Random) -> None:
        self.shop = shop
        self.skus = sorted(set(skus) & set(shop.catalogue))
        self.rng = rng
        self.current: str | None = None

    def end_all(self, now: dt.datetime) -> list[str]:
        """Put back the regular price of every lane product still at its promotion price."""
        ended = []
        with self.shop.sessions() as session, db.write(session):
            for sku in self.skus:
                regular = self.shop.catalogue[sku]
                product = session.scalars(select(Product).where(Product.sku == sku)).first()
                if product is not None and product.price == promo_price(regular):
                    catalog.update_product(session, sku, {"price": regular}, now=now)
                    ended.append(sku)
        self.current = None
        return ended

    def next(self, now: dt.datetime) -> tuple[str | None, tuple[str, Decimal, Decimal] | None]:
        """End the current promotion and start one on another product: (ended SKU, (SKU,
        regular price, promotion price)); None where there was nothing to do."""
        ended, started = self.current, None
        with self.shop.sessions() as session, db.write(session):
            prices, active = {}, set()
            for sku, price, is_active in session.execute(
                select(Product.sku, Product.price, Product.active).where(Product.sku.in_(self.skus))
            ):
                prices[sku] = price
                if is_active:
                    active.add(sku)
            if ended is not None and prices.get(ended) == promo_price(self.shop.catalogue[ended]):
                catalog.update_product(
                    session, ended, {"price": self.shop.catalogue[ended]}, now=now
                )
            candidates = [
                sku
                for sku in self.skus
                if sku != ended and sku in active and prices[sku] == self.shop.catalogue[sku]
            ]
            if candidates:
                sku = self.rng.choice(candidates)
                regular = self.shop.catalogue[sku]
                catalog.update_product(session, sku, {"price": promo_price(regular)}, now=now)
                started = (sku, regular, promo_price(regular))
        self.current = started[0] if started else None
        return ended, started


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


def share(text: str) -> float:
    """An argparse type: a share between 0 and 1."""
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text} is not between 0 and 1")
    return value


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
        type=share,
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
        "--ack-share", type=share, default=0.75, help="share of alerts acknowledged (0.75)"
    )
    parser.add_argument(
        "--ack-after",
        type=float,
        nargs=2,
        default=(10.0, 90.0),
        metavar=("MIN", "MAX"),
        help="a seller answers after MIN to MAX real seconds (10 90)",
    )
    parser.add_argument(
        "--till",
        action="store_true",
        help="sell what customers take at the till and record the night refill (database)",
    )
    parser.add_argument(
        "--shrink-share",
        type=share,
        default=0.1,
        help="with --till, share of customers who walk out without paying (0.1)",
    )
    parser.add_argument(
        "--promos",
        action="store_true",
        help="put one lane's product at a time 10 %% off (database; labels change)",
    )
    parser.add_argument(
        "--promo-every",
        type=float,
        default=1800.0,
        help="store seconds between promotions (1800: 3 minutes at --speed 10)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="simulate also when the catalogue is not the demo one (a real shop's)",
    )
    args = parser.parse_args(argv)
    if args.speed <= 0 or args.promo_every <= 0:
        parser.error("--speed and --promo-every must be positive")
    return args


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


def not_the_demo_shop(database_url: str) -> str | None:
    """Why the database is not the demo shop's, or None when it is (or is still empty)."""
    engine = db.make_engine(database_url)
    try:
        with db.make_sessionmaker(engine)() as session, db.read(session):
            foreign = demo.foreign_products(session)
    except SQLAlchemyError as exc:
        return f"The shop's catalogue cannot be read ({type(exc).__name__}: {exc.args[0]!s:.200})."
    finally:
        engine.dispose()
    if not foreign:
        return None
    return demo.real_shop_notice(foreign, "and its customers, till and prices are not the demo's.")


def stand_aside(reason: str, stopping: threading.Event) -> int:
    """Say once why nothing is simulated, then wait to be stopped: exiting would make honcho
    stop every other process of ``make run``."""
    print(
        f"{reason} The simulator stands aside: it publishes nothing and changes nothing, "
        "and stays idle until stopped (--force to simulate anyway).",
        flush=True,
    )
    while not stopping.wait(3600):
        pass
    print("simulator stopped (it was standing aside)", flush=True)
    return 0


def open_shop(database_url: str, store: str) -> tuple[Shop, Engine]:
    """The shop on the bridge's database, for the till and the promotions."""
    engine = db.make_engine(database_url)
    shop = Shop(db.make_sessionmaker(engine), stock.StockPolicy.from_config(config.load()), store)
    return shop, engine


def shop_lanes(shop: Shop, planogram: Path) -> list[SimLane]:
    lanes = shop.planogram()
    if lanes:
        return lanes
    print(
        f"store {shop.store} has no planogram in the database (flask seed-planogram): "
        f"the lanes of {planogram} sell what the bridge cannot see",
        flush=True,
    )
    return load_lanes(planogram)


def basket_text(checkout: Checkout) -> str:
    return ", ".join(f"{units} x {sku}" for sku, units in checkout.basket)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
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

    try:
        database_url = bridge_settings.load().database_url
    except ValueError as exc:
        print(f"python -m iot_bridge.simulate: {exc}", file=sys.stderr, flush=True)
        return 2
    if not args.force:
        reason = not_the_demo_shop(database_url)
        if reason is not None:
            return stand_aside(reason, stopping)

    shop: Shop | None = None
    engine: Engine | None = None
    if args.till or args.promos:
        shop, engine = open_shop(database_url, store)
        lanes = shop_lanes(shop, args.planogram)
    else:
        lanes = load_lanes(args.planogram)
    zones = load_zones(args.zones)
    till = shop if args.till else None
    promotions = (
        Promotions(
            shop,
            (lane.sku for lane in lanes),
            random.Random(None if args.seed is None else args.seed + 1),
        )
        if shop is not None and args.promos
        else None
    )

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
    sequencer = Sequencer()
    published = 0
    # QoS 1 messages the broker has not acknowledged yet: paho keeps at most 20 in flight and
    # queues the rest, so they must be waited for before disconnecting or they are dropped.
    unconfirmed: deque[MQTTMessageInfo] = deque()
    promo_every = args.promo_every / args.speed
    next_promo = time.monotonic() if promotions is not None else float("inf")

    def rotate() -> None:
        assert promotions is not None
        try:
            ended, started = promotions.next(dt.datetime.now(dt.UTC))
        except (DomainError, SQLAlchemyError):
            log.warning("promotion not changed", exc_info=True)
            return
        if ended is not None:
            print(f"promo: {ended} back to {promotions.shop.catalogue[ended]}", flush=True)
        if started is not None:
            sku, regular, price = started
            print(f"promo: {sku} at {price} instead of {regular}", flush=True)

    def wait_until(deadline: float) -> bool:
        """Sleep until ``deadline`` (monotonic seconds), changing promotions when they are
        due; True when asked to stop."""
        nonlocal next_promo
        while next_promo <= deadline:
            if stopping.wait(max(0.0, next_promo - time.monotonic())):
                return True
            rotate()
            next_promo = max(next_promo + promo_every, time.monotonic())
        return stopping.wait(max(0.0, deadline - time.monotonic()))

    try:
        if till is not None:
            counted = till.count_floor(lanes, db.utcnow())
            if counted:
                print(
                    f"floor count: {sum(counted.values())} unit(s) of {len(counted)} product(s) "
                    "added to the floor, as their lanes hold them",
                    flush=True,
                )
        if promotions is not None:
            for sku in promotions.end_all(db.utcnow()):
                print(
                    f"promo: {sku} back to {promotions.shop.catalogue[sku]} (left over)", flush=True
                )
        # make run starts the broker at the same time: wait for it (paho retries).
        while not connected.wait(1) and not stopping.is_set():
            pass
        if tablet is not None:
            while not tablet.subscribed.wait(1) and not stopping.is_set():
                pass
        while not stopping.is_set():
            started = time.monotonic()
            refilled = 0
            steps = day(
                rng,
                store,
                lanes,
                zones,
                args.customers,
                args.speed,
                args.help_share,
                args.shrink_share,
            )
            for at, item in steps:
                if wait_until(started + at):
                    return 0
                now = dt.datetime.now(dt.UTC)
                if isinstance(item, Step):
                    unconfirmed.append(
                        sensors.publish(item.topic, sequencer.encode(item, now), qos=1)
                    )
                    published += 1
                    while unconfirmed and unconfirmed[0].is_published():
                        unconfirmed.popleft()
                elif till is None:
                    continue
                elif isinstance(item, Checkout) and item.paid:
                    sold = till.sell(item, now)
                    print(
                        f"till: customer {item.customer} pays {sold} of {item.units} unit(s) "
                        f"({basket_text(item)})",
                        flush=True,
                    )
                elif isinstance(item, Checkout):
                    print(
                        f"till: customer {item.customer} walks out without paying "
                        f"({basket_text(item)})",
                        flush=True,
                    )
                elif isinstance(item, Refill):
                    till.refill(item, now)
                    refilled += item.units
            if till is not None:
                print(f"night refill: {refilled} unit(s) delivered to the floor", flush=True)
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
        if promotions is not None:
            try:
                for sku in promotions.end_all(db.utcnow()):
                    print(f"promo: {sku} back to {promotions.shop.catalogue[sku]}", flush=True)
            except (DomainError, SQLAlchemyError):
                log.warning("promotions not ended", exc_info=True)
        if tablet is not None:
            tablet.close()
        lost = confirm(unconfirmed, deadline=time.monotonic() + 30)
        if lost:
            print(f"{lost} event(s) not confirmed by the broker before leaving", flush=True)
        sensors.disconnect()
        sensors.loop_stop()
        if engine is not None:
            engine.dispose()


def confirm(unconfirmed: Iterable[MQTTMessageInfo], deadline: float) -> int:
    """Wait (until ``deadline``, monotonic) for the broker to acknowledge what was published;
    the number of messages it never confirmed."""
    lost = 0
    for info in unconfirmed:
        with contextlib.suppress(RuntimeError, ValueError):  # never queued: counted below
            info.wait_for_publish(timeout=max(0.0, deadline - time.monotonic()))
        lost += not info.is_published()
    return lost


if __name__ == "__main__":
    sys.exit(main())
