"""The store-day simulator: valid payloads, plausible shelves, lingering in real seconds, and
through the real broker and bridge, help asked for and answered by the simulated tablet; with
the till, picks become store sales and walk-outs discrepancies; promotions change the labels."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from iot_bridge import payloads, simulate, topics
from store_api import db
from store_api.catalog.models import Product
from store_api.sensors.models import DeadLetter, SensorEvent
from store_api.shelves import service
from store_api.shelves.models import HelpAlert, ShelfDiscrepancy, ShelfMovement
from store_api.stock import service as stock
from store_api.stock.models import Reservation, ReservationStatus, StockMovement
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.mqtt_servers import (
    DEVICE_USER,
    LABELS_USER,
    ROOT,
    TABLET_USERS,
    Broker,
    Subscriber,
    mosquitto_server,
    start_bridge_online,
    terminate,
    wait_for,
)

STORE = "store-1"
CATALOGUE = simulate.load_catalogue_prices()


@pytest.fixture
def clock() -> FrozenClock:
    """An hour ago: the seeded lanes were counted before the simulated day (real time)."""
    return FrozenClock(dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))


def dwells(
    steps: list[tuple[float, simulate.Action]],
) -> list[tuple[str, float, float]]:
    """(zone, dwell, when) for each presence visit as the bridge measures it: from the first
    "occupied" to the last one before the zone is empty, in the schedule's real seconds."""
    since: dict[str, float] = {}
    found = []
    for at, step in steps:
        if not isinstance(step, simulate.Step) or step.kind != "presence":
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

    actions = list(simulate.day(random.Random(7), STORE, lanes, zones, customers=60))
    steps = [(at, step) for at, step in actions if isinstance(step, simulate.Step)]
    for _at, step in steps:
        parsed = payloads.parse(topics.parse(step.topic), sequencer.encode(step, now))
        assert parsed.kind == step.kind

    assert {step.kind for _at, step in steps} == {"footfall", "presence", "weight"}
    assert [at for at, _action in actions] == sorted(at for at, _action in actions)
    assert all(0 <= lane.units <= lane.capacity for lane in lanes)
    assert sum(1 for _at, s in steps if s.fields.get("direction") == "in") == 60
    assert sum(1 for _at, s in steps if s.fields.get("direction") == "out") == 60
    # Customers overlap, so a zone is empty only when its last customer has left.
    assert all(s.fields["people"] >= 0 for _at, s in steps if s.kind == "presence")


@pytest.mark.parametrize("seed", range(8))
def test_lingering_is_real_time_whatever_the_speed(seed: int) -> None:
    zones = simulate.load_zones()
    threshold = {z.zone: z.threshold_s for z in zones.values()}

    fast = list(simulate.day(random.Random(seed), STORE, simulate.load_lanes(), zones, speed=1000))

    # At 1000 store seconds per second only lingering takes time, yet dwells pass thresholds.
    assert any(dwell >= threshold[zone] for zone, dwell, _at in dwells(fast))


def test_at_the_default_speed_help_is_asked_within_minutes_of_the_start() -> None:
    zones = simulate.load_zones()
    threshold = {z.zone: z.threshold_s for z in zones.values()}
    firsts = []
    for seed in range(20):
        demo = list(simulate.day(random.Random(seed), STORE, simulate.load_lanes(), zones))
        firsts.append(min(at for zone, dwell, at in dwells(demo) if dwell >= threshold[zone]))

    # Who hesitates is random (one lane visit in five): nearly every day the first help
    # request is due within two minutes, and none waits past four.
    assert sum(first <= 120 for first in firsts) >= 18
    assert max(firsts) <= 240


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


@pytest.mark.parametrize("seed", range(4))
def test_what_leaves_the_lanes_is_taken_home_or_put_back_and_the_night_refills_it(
    seed: int,
) -> None:
    lanes = simulate.load_lanes()
    at_start = {lane.sku: lane.units for lane in lanes}
    last_units: dict[str, int] = {}
    put_back = 0

    actions = list(
        simulate.day(
            random.Random(seed), STORE, lanes, simulate.load_zones(), customers=60, shrink_share=0.3
        )
    )
    taken_home: Counter[str] = Counter()
    refilled: Counter[str] = Counter()
    weight_of = {(lane.shelf, lane.lane): (lane.sku, lane.unit_weight_g) for lane in lanes}
    for _at, action in actions:
        if isinstance(action, simulate.Checkout):
            taken_home.update(dict(action.basket))
        elif isinstance(action, simulate.Refill):
            refilled[action.sku] += action.units
        elif action.kind == "weight" and not refilled:
            where = topics.parse(action.topic)
            sku, unit_weight = weight_of[(where.shelf or "", where.lane or "")]
            units = round(action.fields["grams"] / unit_weight)
            put_back += units > last_units.get(sku, at_start[sku])
            last_units[sku] = units

    # Every unit that left a lane during the day is in a basket; the night puts them back.
    for lane in lanes:
        assert at_start[lane.sku] - taken_home[lane.sku] + refilled[lane.sku] == lane.capacity
        assert lane.units == lane.capacity
    assert put_back > 0  # some changed their mind: those units are in no basket
    checkouts = [a for _at, a in actions if isinstance(a, simulate.Checkout)]
    assert {c.paid for c in checkouts} == {True, False}
    assert all(units > 0 for c in checkouts for _sku, units in c.basket)


@pytest.mark.parametrize(("shrink", "paid"), [(0.0, {True}), (1.0, {False})])
def test_the_shrink_share_decides_who_walks_out_without_paying(
    shrink: float, paid: set[bool]
) -> None:
    actions = simulate.day(
        random.Random(1), STORE, simulate.load_lanes(), simulate.load_zones(), shrink_share=shrink
    )
    assert {a.paid for _at, a in actions if isinstance(a, simulate.Checkout)} == paid


@pytest.mark.parametrize(
    ("price", "promo"),
    [
        ("34.99", "30.99"),
        ("169.00", "151.99"),
        ("9.90", "8.90"),
        ("49.99", "44.99"),
        ("12.90", "10.99"),
        ("0.50", "0.45"),
    ],
)
def test_a_promotion_is_ten_percent_off_down_to_a_shelf_price(price: str, promo: str) -> None:
    assert simulate.promo_price(Decimal(price)) == Decimal(promo)


def test_every_demo_price_has_a_promotion_price() -> None:
    for price in CATALOGUE.values():
        promo = simulate.promo_price(price)
        assert 0 < promo <= price * Decimal("0.9")
        assert price < 2 or promo % 1 in {Decimal("0.90"), Decimal("0.99")}


# --- the shop's side, in process ------------------------------------------------------------

KETTLE = "PE-MOU-BY540-BL"  # 34.99 in the demo catalogue
ANTI_SCALE = "AC-WPR-ANT001"  # 12.90
TABS = "AC-WPR-TAB40"  # 9.90


def demo_product(app: Flask, sku: str, units: dict[str, int], price: str | None = None) -> None:
    add_product(app, sku, units, price=str(price or CATALOGUE[sku]))


def shop_of(app: Flask) -> simulate.Shop:
    return simulate.Shop(app.extensions["comptoir_sessionmaker"], policy(app), STORE)


def policy(app: Flask) -> stock.StockPolicy:
    found: stock.StockPolicy = app.extensions["comptoir_policy"]
    return found


def test_the_till_sells_from_the_floor_and_leaves_out_what_the_ledger_has_not(
    app: Flask, runner: FlaskCliRunner
) -> None:
    demo_product(app, KETTLE, {"floor": 1, "backroom": 5})
    demo_product(app, ANTI_SCALE, {"floor": 0, "backroom": 3})
    demo_product(app, TABS, {"floor": 3})
    now = dt.datetime.now(dt.UTC)

    sold = shop_of(app).sell(
        simulate.Checkout(7, ((ANTI_SCALE, 1), (KETTLE, 2), (TABS, 1)), paid=True), now
    )

    session = db.new_session(app)
    with db.read(session):
        holds = list(session.scalars(select(Reservation).order_by(Reservation.sku)))
        levels = stock.stock_for(session, [KETTLE, ANTI_SCALE, TABS], policy(app))
    session.close()
    assert sold == 2  # the one kettle the floor has, and the tabs
    assert [(h.sku, h.quantity, h.location, h.channel, h.status, h.created_by) for h in holds] == [
        (TABS, 1, "floor", "store", ReservationStatus.COMMITTED, simulate.TILL_ACTOR),
        (KETTLE, 1, "floor", "store", ReservationStatus.COMMITTED, simulate.TILL_ACTOR),
    ]
    on_hand = {
        sku: {loc.location: loc.on_hand for loc in found.locations} for sku, found in levels.items()
    }
    assert on_hand[KETTLE] == {"floor": 0, "backroom": 5, "warehouse": 0}
    assert on_hand[ANTI_SCALE] == {"floor": 0, "backroom": 3, "warehouse": 0}
    assert on_hand[TABS]["floor"] == 2
    check = runner.invoke(args=["stock", "check"])
    assert check.exit_code == 0, check.output


def test_the_floor_is_counted_up_to_the_lanes_and_a_refill_is_a_floor_delivery(
    app: Flask,
) -> None:
    demo_product(app, KETTLE, {"floor": 1, "backroom": 5})
    demo_product(app, TABS, {"floor": 9})
    lanes = [
        simulate.SimLane("A", "3", KETTLE, 1380, 4, 6),
        simulate.SimLane("B", "2", TABS, 720, 8, 12),
    ]
    shop = shop_of(app)
    now = dt.datetime.now(dt.UTC)

    added = shop.count_floor(lanes, now)
    again = shop.count_floor(lanes, now)
    shop.refill(simulate.Refill("A-3", KETTLE, 2), now)

    session = db.new_session(app)
    with db.read(session):
        floor = {
            sku: found.locations[0]
            for sku, found in stock.stock_for(session, [KETTLE, TABS], policy(app)).items()
        }
        ledger = [
            (m.location, m.delta_on_hand, m.reason, m.actor)
            for m in session.scalars(
                select(StockMovement)
                .where(StockMovement.actor != "test")
                .order_by(StockMovement.id)
            )
        ]
    session.close()
    assert added == {KETTLE: 3} and again == {}
    assert floor[KETTLE].location == "floor" and floor[KETTLE].on_hand == 4 + 2
    assert floor[TABS].on_hand == 9  # more on the floor than on the lane: left alone
    assert ledger == [
        ("floor", 3, "count", simulate.COUNT_ACTOR),
        ("floor", 2, "delivery", simulate.REFILL_ACTOR),
    ]


def prices(app: Flask) -> dict[str, Decimal]:
    session = db.new_session(app)
    with db.read(session):
        found = {sku: price for sku, price in session.execute(select(Product.sku, Product.price))}
    session.close()
    return found


def test_promotions_take_turns_and_leave_an_owners_price_alone(app: Flask) -> None:
    demo_product(app, KETTLE, {"floor": 2})
    demo_product(app, ANTI_SCALE, {"floor": 2})
    demo_product(app, TABS, {"floor": 2}, price="7.50")  # the owner's own price
    shop = shop_of(app)
    promotions = simulate.Promotions(shop, [KETTLE, ANTI_SCALE, TABS], random.Random(3))
    now = dt.datetime.now(dt.UTC)

    ended, first = promotions.next(now)
    during_first = prices(app)
    second_ended, second = promotions.next(now)
    during_second = prices(app)
    over = promotions.end_all(now)

    assert ended is None and first is not None and second is not None
    assert {first[0], second[0]} == {KETTLE, ANTI_SCALE}  # never the owner's price
    assert second_ended == first[0]
    for sku, during in ((first[0], during_first), (second[0], during_second)):
        assert during[sku] == simulate.promo_price(CATALOGUE[sku])
    assert during_second[first[0]] == CATALOGUE[first[0]]
    assert over == [second[0]]
    assert prices(app) == {
        KETTLE: Decimal("34.99"),
        ANTI_SCALE: Decimal("12.90"),
        TABS: Decimal("7.50"),
    }


def test_a_promotion_left_behind_is_ended_at_the_next_start(app: Flask) -> None:
    demo_product(app, KETTLE, {"floor": 2}, price="30.99")  # a killed simulator's promotion
    demo_product(app, ANTI_SCALE, {"floor": 2}, price="11.00")  # the owner's price

    ended = simulate.Promotions(shop_of(app), [KETTLE, ANTI_SCALE], random.Random()).end_all(
        dt.datetime.now(dt.UTC)
    )

    assert ended == [KETTLE]
    assert prices(app) == {KETTLE: Decimal("34.99"), ANTI_SCALE: Decimal("11.00")}


@pytest.mark.parametrize(
    "options", [[], ["--till"], ["--promos"], ["--loop", "--till", "--promos"]]
)
def test_on_a_real_shop_the_simulator_stands_aside_idle_and_exits_0_when_stopped(
    app: Flask, migrated: str, options: list[str], tmp_path: Path
) -> None:
    demo_product(app, KETTLE, {"floor": 3})
    add_product(app, "REAL-SHOP-1", {"floor": 3}, price="99.00")
    log = tmp_path / "simulator.log"

    with log.open("wb") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "iot_bridge.simulate", *options, "--seed", "1"],
            cwd=ROOT,
            env={
                **os.environ,
                "COMPTOIR_DATABASE_URL": migrated,
                "COMPTOIR_STORE_ID": STORE,
                # Nobody listens there: the simulator must not even try to connect.
                "COMPTOIR_MQTT_URL": "mqtt://simulator:x@127.0.0.1:9",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        # Idle, not gone: under make run, honcho would stop every process with it.
        wait_for(lambda: "stands aside" in log.read_text(), 60, "the simulator standing aside")
        assert run.poll() is None, log.read_text()
        run.send_signal(signal.SIGTERM)
        assert run.wait(timeout=60) == 0, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()

    output = log.read_text()
    assert "not from the demo catalogue (e.g. REAL-SHOP-1)" in output
    assert "--force" in output
    assert output.count("stands aside") == 1
    assert output.rstrip().endswith("simulator stopped (it was standing aside)")
    assert "Traceback" not in output
    assert prices(app) == {KETTLE: Decimal("34.99"), "REAL-SHOP-1": Decimal("99.00")}
    session = db.new_session(app)
    with db.read(session):
        assert session.scalar(select(func.count()).select_from(Reservation)) == 0
        assert session.scalar(select(func.count()).select_from(StockMovement)) == 2
    session.close()


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


def simulator_env(broker: Broker, database_url: str, *users: tuple[str, str]) -> dict[str, str]:
    """The simulator reads the shop's catalogue (it stands aside on a real shop's): the test
    database, never the checkout's instance folder."""
    return {
        **os.environ,
        "COMPTOIR_DATABASE_URL": database_url,
        "COMPTOIR_STORE_ID": STORE,
        "COMPTOIR_MQTT_URL": f"mqtt://127.0.0.1:{broker.port}",
        "COMPTOIR_MQTT_DEVICES": " ".join(":".join(user) for user in users),
    }


def test_the_simulator_publishes_as_a_device_and_the_bridge_stores_it(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    # Subscribed first: what the simulator sends before would reach nobody.
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    try:
        run = subprocess.run(
            [
                *(sys.executable, "-m", "iot_bridge.simulate"),
                *("--speed", "2000", "--customers", "3", "--seed", "1", "--no-ack"),
                *("--zones", str(small_zones(tmp_path / "zones.csv"))),
            ],
            cwd=ROOT,
            env=simulator_env(broker, migrated, DEVICE_USER),
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
    # Another seller's tablet: it hears the request and then that tablet-1 answered it.
    other = Subscriber(
        broker, topics.staff_notify(STORE), client_id="tablet-2", user=TABLET_USERS[1]
    )
    bridge = start_bridge_online(
        migrated,
        broker,
        tmp_path / "bridge.log",
        COMPTOIR_HELP_ESCALATE_AFTER_SECONDS="3",
        COMPTOIR_BRIDGE_TIMER_SECONDS="0.2",
    )
    simulator: subprocess.Popen[bytes] | None = None
    log = tmp_path / "simulator.log"
    try:
        with log.open("wb") as out:
            simulator = subprocess.Popen(
                [
                    *(sys.executable, "-m", "iot_bridge.simulate", "--loop"),
                    *("--speed", "100", "--customers", "5", "--seed", "3"),
                    *("--zones", str(zones), "--help-share", "0.5"),
                    *("--ack-share", "0.5", "--ack-after", "0.2", "0.5"),
                ],
                cwd=ROOT,
                env=simulator_env(broker, migrated, DEVICE_USER, TABLET_USERS[0]),
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
        terminate(bridge)
        print(log.read_text(errors="replace")[-3000:] if log.exists() else "")


# --- the till and promotions through the real broker, bridge and label publisher ------------


def seed_demo_shop(runner: FlaskCliRunner) -> None:
    """The demo catalogue and planogram, as `make seed` loads them (no sales history)."""
    for args in (["seed", "--no-keys"], ["seed-planogram"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output


def simulate_day(
    broker: Broker, database_url: str, tmp_path: Path, *options: str
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [
            *(sys.executable, "-m", "iot_bridge.simulate", "--speed", "1000", "--no-ack"),
            *("--zones", str(small_zones(tmp_path / "zones.csv")), *options),
        ],
        cwd=ROOT,
        env=simulator_env(broker, database_url, DEVICE_USER),
        capture_output=True,
        timeout=180,
        check=False,
    )


def published(run: subprocess.CompletedProcess[bytes]) -> int:
    found = re.findall(rb"a store day replayed: (\d+) events", run.stdout)
    assert found, run.stdout.decode()[-2000:] + run.stderr.decode()[-2000:]
    return int(found[-1])


def show_logs(bridge_log: Path, run: subprocess.CompletedProcess[bytes] | None) -> None:
    """Printed for the report pytest shows when the test fails (captured otherwise)."""
    if run is not None:
        print("simulator:", run.stdout.decode(errors="replace")[-3000:])
    if bridge_log.exists():
        print("bridge:", bridge_log.read_text(errors="replace")[-3000:])


def stored_events(app: Flask) -> int:
    with db.engine_for(app).connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(SensorEvent)) or 0)


def test_with_the_till_what_customers_take_is_sold_and_the_floor_follows_the_lanes(
    app: Flask, migrated: str, broker: Broker, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    seed_demo_shop(runner)  # its floor stock is what its lanes hold
    start = dt.datetime.now(dt.UTC)
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    run: subprocess.CompletedProcess[bytes] | None = None
    try:
        run = simulate_day(
            broker, migrated, tmp_path, "--till", "--shrink-share", "0", "--customers", "15"
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        events = published(run)
        wait_for(lambda: stored_events(app) >= events, 60, "the day's events stored")
    finally:
        terminate(bridge)
        show_logs(tmp_path / "bridge.log", run)
    end = dt.datetime.now(dt.UTC)

    session = db.new_session(app)
    with db.read(session):
        sales = list(
            session.scalars(
                select(Reservation).where(Reservation.created_by == simulate.TILL_ACTOR)
            )
        )
        lanes = service.list_lanes(session, STORE)
        floor = {
            sku: next(loc for loc in found.locations if loc.location == "floor")
            for sku, found in stock.stock_for(
                session, [lane.sku for lane in lanes], policy(app)
            ).items()
        }
        picks = session.scalar(
            select(func.count()).select_from(ShelfMovement).where(ShelfMovement.delta < 0)
        )
    with db.write(session):
        # The whole day as one window, with no tolerance: every unit that left a lane is sold.
        differences = service.compare_window(
            session, STORE, start, end, end, service.DiscrepancySettings(tolerance_units=0)
        )
    session.close()
    assert picks
    assert sales
    assert {(s.status, s.channel, s.location) for s in sales} == {
        (ReservationStatus.COMMITTED, "store", "floor")
    }
    assert differences == []
    # After the night refill every lane is full, and the ledger has as many on the floor.
    assert [(lane.units_on_shelf, floor[lane.sku].available) for lane in lanes] == [
        (lane.capacity, lane.capacity) for lane in lanes
    ]
    check = runner.invoke(args=["stock", "check"])
    assert check.exit_code == 0, check.output


def test_customers_who_walk_out_without_paying_are_reported_missing(
    app: Flask, migrated: str, broker: Broker, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    seed_demo_shop(runner)
    bridge = start_bridge_online(
        migrated,
        broker,
        tmp_path / "bridge.log",
        COMPTOIR_DISCREPANCY_WINDOW_SECONDS="2",
        COMPTOIR_DISCREPANCY_SETTLE_SECONDS="1",
        COMPTOIR_DISCREPANCY_TOLERANCE_UNITS="0",
        COMPTOIR_BRIDGE_TIMER_SECONDS="0.2",
    )

    def missing() -> list[ShelfDiscrepancy]:
        session = db.new_session(app)
        with db.read(session):
            found = list(session.scalars(select(ShelfDiscrepancy)))
        session.close()
        return [d for d in found if d.kind == "missing" and d.taken > 0 and d.accounted == 0]

    run: subprocess.CompletedProcess[bytes] | None = None
    try:
        run = simulate_day(
            broker, migrated, tmp_path, "--till", "--shrink-share", "1", "--customers", "10"
        )
        assert run.returncode == 0, run.stderr.decode()[-2000:]
        wait_for(lambda: bool(missing()), 60, "a missing discrepancy")
    finally:
        terminate(bridge)
        show_logs(tmp_path / "bridge.log", run)

    assert run is not None
    assert b"walks out without paying" in run.stdout
    session = db.new_session(app)
    with db.read(session):
        sold = session.scalar(
            select(func.count())
            .select_from(Reservation)
            .where(Reservation.created_by == simulate.TILL_ACTOR)
        )
    session.close()
    assert sold == 0
    assert all(d.difference == d.taken - d.put_back for d in missing())


def test_promotions_change_a_price_and_its_lanes_retained_label(
    app: Flask, migrated: str, broker: Broker, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    seed_demo_shop(runner)
    labels_topic = f"comptoir/v1/{STORE}/label/+/state"
    shown = Subscriber(broker, labels_topic, client_id="all-labels")
    log = tmp_path / "labels.log"
    environment = {
        **simulator_env(broker, migrated, DEVICE_USER),
        "COMPTOIR_LABEL_POLL_SECONDS": "0.2",
    }
    with log.open("ab") as out:
        labels = subprocess.Popen(
            [sys.executable, "-m", "iot_bridge.labels"],
            cwd=ROOT,
            env={**environment, "COMPTOIR_MQTT_LABELS_URL": broker.url(LABELS_USER)},
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    simulator: subprocess.Popen[bytes] | None = None
    simulator_log = tmp_path / "simulator.log"

    def latest() -> dict[str, dict[str, object]]:
        found: dict[str, dict[str, object]] = {}
        for _topic, raw, _retained in list(shown.messages):
            state = json.loads(raw)
            found[str(state["label"])] = state
        return found

    try:
        wait_for(lambda: len(latest()) == 21, 60, "every lane's label")
        before = latest()
        with simulator_log.open("wb") as out:
            simulator = subprocess.Popen(
                [
                    *(sys.executable, "-m", "iot_bridge.simulate", "--loop", "--promos"),
                    *("--speed", "1000", "--promo-every", "3000", "--customers", "3"),
                    *("--no-ack", "--zones", str(small_zones(tmp_path / "zones.csv"))),
                ],
                cwd=ROOT,
                env=environment,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def repriced() -> list[str]:
            now = latest()
            return [name for name in now if now[name]["price"] != before[name]["price"]]

        wait_for(lambda: bool(repriced()), 60, "a label with a promotion price")
        label = repriced()[0]
        sku = str(before[label]["sku"])
        promo = simulate.promo_price(CATALOGUE[sku])
        assert latest()[label]["price"] == str(promo)
        assert prices(app)[sku] == promo
        late = Subscriber(broker, f"comptoir/v1/{STORE}/label/{label}/state", client_id="late")
        wait_for(lambda: bool(late.messages), 30, "the retained state")
        _topic, raw, retained = late.messages[0]
        late.close()
        assert retained and json.loads(raw)["price"] == str(promo)
        # The next promotion ends this one: the label shows the regular price again.
        wait_for(
            lambda: latest()[label]["price"] == before[label]["price"], 60, "the promotion ended"
        )
        simulator.terminate()
        assert simulator.wait(timeout=30) == 0
        # Stopped: no promotion left behind.
        assert {s: prices(app)[s] for s in CATALOGUE if s in prices(app)} == {
            s: CATALOGUE[s] for s in CATALOGUE if s in prices(app)
        }
    finally:
        if simulator is not None:
            terminate(simulator)
        shown.close()
        terminate(labels)
        print(log.read_text(errors="replace")[-3000:])
        if simulator_log.exists():
            print(simulator_log.read_text(errors="replace")[-3000:])
