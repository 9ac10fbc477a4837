"""The planogram: weight readings become unit counts, foreign items are flagged; the API."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from iot_bridge import handlers, payloads, topics
from store_api import db
from store_api.keys.models import Role
from store_api.shelves import service
from store_api.shelves.cli import DEMO_PLANOGRAM, read_planogram
from store_api.shelves.models import Lane
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.mqtt_servers import (
    Broker,
    Publisher,
    mosquitto_server,
    start_bridge_online,
    terminate,
    wait_for,
)

STORE = "store-1"
SKU = "AC-WPR-DES100"
T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
# 280 g a unit, tolerance 20 g.
LANE = {"sku": SKU, "unit_weight_g": 280.0, "capacity": 12, "tolerance_g": 20.0}


@pytest.mark.parametrize(
    ("grams", "units", "whole"),
    [
        (0.0, 0, True),
        (3.0, 0, True),  # scale noise on an empty lane
        (280.0, 1, True),
        (1392.0, 5, True),  # 5 x 280 = 1400, 8 g light: within tolerance
        (1425.0, 5, False),  # 25 g off: not this product
        (1540.0, 6, False),  # half a unit: something else was put back
        (-4.0, 0, True),  # a slightly negative tare
    ],
)
def test_a_reading_is_a_whole_number_of_units_within_tolerance(
    grams: float, units: int, whole: bool
) -> None:
    measured = service.units_from_weight(grams, 280.0, 20.0)

    assert (measured.units, measured.whole) == (units, whole)


def plant(app: Flask, clock: FrozenClock, shelf: str = "B", lane: str = "6", **extra: Any) -> None:
    add_product(app, SKU, {"floor": 5, "backroom": 20}, price="9.99")
    session = db.new_session(app)
    with db.write(session):
        service.put_lane(session, STORE, shelf, lane, {**LANE, **extra}, clock())
    session.close()


def raw(seq: int, grams: float, at: dt.datetime) -> bytes:
    return payloads.dump(
        "weight", event_id=f"s-{seq}", device_id="shelf-b", seq=seq, ts=at, grams=grams
    )


def reading(seq: int, grams: float, at: dt.datetime, shelf: str = "B", lane: str = "6") -> Any:
    topic = topics.parse(f"comptoir/v1/{STORE}/shelf/{shelf}/{lane}/evt/weight")
    return payloads.parse(topic, raw(seq, grams, at))


def handle(app: Flask, events: list[Any]) -> list[handlers.Outgoing]:
    session = db.new_session(app)
    with db.write(session):
        out = handlers.handle_batch(session, events)
    session.close()
    return out


def lane_row(app: Flask, shelf: str = "B", lane: str = "6") -> Lane:
    session = db.new_session(app)
    with db.read(session):
        found = service.get_lane(session, STORE, shelf, lane)
        session.expunge(found)
    session.close()
    return found


def test_weight_changes_become_unit_counts_and_a_foreign_item_is_flagged(
    app: Flask, clock: FrozenClock
) -> None:
    plant(app, clock, units_on_shelf=5)

    handle(app, [reading(1, 5 * 280 - 6, T0), reading(2, 3 * 280 + 4, T0.replace(second=5))])
    after_picking = lane_row(app)
    handle(app, [reading(3, 3 * 280 + 130, T0.replace(second=10))])  # a 130 g thing put back
    flagged = lane_row(app)
    handle(app, [reading(4, 4 * 280, T0.replace(second=20))])  # taken away, a unit returned
    cleared = lane_row(app)

    assert (after_picking.units_on_shelf, after_picking.wrong_item_since) == (3, None)
    assert flagged.units_on_shelf == 3  # unchanged while the reading makes no sense
    assert flagged.wrong_item_since == T0.replace(second=10)
    assert (cleared.units_on_shelf, cleared.wrong_item_since) == (4, None)


def test_readings_apply_in_device_time_and_a_late_one_changes_nothing(
    app: Flask, clock: FrozenClock
) -> None:
    plant(app, clock)

    # The batch arrives out of order; the newest reading wins.
    handle(app, [reading(2, 2 * 280, T0.replace(second=30)), reading(1, 7 * 280, T0)])
    handle(app, [reading(3, 9 * 280, T0.replace(second=10))])  # older than the last one

    found = lane_row(app)
    assert (found.units_on_shelf, found.last_reading_at) == (2, T0.replace(second=30))


def test_readings_of_lanes_outside_the_planogram_are_ignored(
    app: Flask, clock: FrozenClock
) -> None:
    plant(app, clock)

    out = handle(app, [reading(1, 560.0, T0, shelf="Z", lane="9")])

    assert out == []
    assert lane_row(app).units_on_shelf is None


# --- the API --------------------------------------------------------------------------------


def test_the_owner_puts_a_product_in_a_lane_and_sellers_read_it(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, SKU, {"floor": 5})

    put = client.put(
        "/api/v1/lanes/B/6",
        json={"sku": SKU, "unit_weight_g": 280, "capacity": 12, "units_on_shelf": 5},
        headers=keys.headers(Role.OWNER),
    )
    one = client.get("/api/v1/lanes/B/6", headers=keys.headers(Role.SELLER))
    listed = client.get(f"/api/v1/lanes?sku={SKU}", headers=keys.headers(Role.DEVICE))

    assert put.status_code == 200, put.get_json()
    assert one.get_json() == put.get_json()
    assert one.get_json() | {"updated_at": None} == {
        "shelf": "B",
        "lane": "6",
        "sku": SKU,
        "unit_weight_g": 280.0,
        "capacity": 12,
        "tolerance_g": 70.0,  # a quarter of a unit by default
        "units_on_shelf": 5,
        "last_grams": None,
        "last_reading_at": None,
        "wrong_item": False,
        "wrong_item_since": None,
        "updated_at": None,
    }
    assert [lane["lane"] for lane in listed.get_json()] == ["6"]


@pytest.mark.parametrize(
    ("url", "body", "status", "code"),
    [
        ("/api/v1/lanes/B/6", {"sku": "NOPE", "unit_weight_g": 1, "capacity": 1}, 422, None),
        ("/api/v1/lanes/B/6", {"sku": SKU, "unit_weight_g": 0, "capacity": 1}, 422, None),
        ("/api/v1/lanes/B/6", {"sku": SKU, "unit_weight_g": 10, "capacity": -1}, 422, None),
        ("/api/v1/lanes/B/6", {"sku": SKU, "unit_weight_g": 10}, 422, "validation_error"),
        ("/api/v1/lanes/B%2B/6", {"sku": SKU, "unit_weight_g": 10, "capacity": 1}, 422, None),
    ],
)
def test_a_bad_lane_is_refused_with_the_reason(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    url: str,
    body: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    add_product(app, SKU)

    response = client.put(url, json=body, headers=keys.headers(Role.OWNER))

    assert response.status_code == status, response.get_json()
    if code:
        assert response.get_json()["code"] == code


def test_an_unknown_lane_is_a_404(client: FlaskClient, keys: Keys) -> None:
    response = client.get("/api/v1/lanes/Q/1", headers=keys.headers(Role.SELLER))

    assert response.status_code == 404
    assert response.get_json()["code"] == "lane_not_found"


def test_the_demo_planogram_seeds_once_with_known_products(runner: FlaskCliRunner) -> None:
    seeded = runner.invoke(args=["seed", "--no-keys"])
    first = runner.invoke(args=["seed-planogram"])
    again = runner.invoke(args=["seed-planogram"])

    assert seeded.exit_code == 0, seeded.output
    assert first.exit_code == 0, first.output
    assert f"{len(read_planogram(DEMO_PLANOGRAM))} lanes" in first.output
    assert "not loaded again" in again.output
    assert len(read_planogram(DEMO_PLANOGRAM)) >= 20


# --- through a real broker and the bridge process ------------------------------------------


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def test_a_shelf_scale_publishing_through_the_bridge_moves_the_unit_count(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path, clock: FrozenClock
) -> None:
    plant(app, clock, units_on_shelf=5)
    bridge = start_bridge_online(migrated, broker, tmp_path / "bridge.log")
    publisher = Publisher(broker)
    try:
        topic = f"comptoir/v1/{STORE}/shelf/B/6/evt/weight"
        publisher.publish(topic, raw(1, 2 * 280 + 3, T0))
        wait_for(lambda: lane_row(app).units_on_shelf == 2, 30, "two units left")
        publisher.publish(topic, raw(2, 2 * 280 + 150, T0.replace(second=9)))
        wait_for(lambda: lane_row(app).wrong_item_since is not None, 30, "wrong item flagged")
        assert lane_row(app).units_on_shelf == 2
    finally:
        publisher.close()
        terminate(bridge)


def test_an_empty_lane_with_backroom_stock_is_a_refill_task_for_sellers(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock, units_on_shelf=5)  # backroom: 20 units
    add_product(app, "AC-EMPTY", {"warehouse": 9}, price="5.00")
    session = db.new_session(app)
    with db.write(session):
        service.put_lane(
            session,
            STORE,
            "B",
            "7",
            {"sku": "AC-EMPTY", "unit_weight_g": 100, "capacity": 5, "units_on_shelf": 0},
            clock(),
        )
    session.close()
    before = client.get("/api/v1/tasks", headers=keys.headers(Role.SELLER)).get_json()

    told = handle(app, [reading(1, 0.0, T0)])  # the last unit of B6 was taken
    after = client.get("/api/v1/tasks", headers=keys.headers(Role.SELLER)).get_json()
    still_empty = handle(app, [reading(2, 0.0, T0.replace(second=5))])

    assert before == []  # B7 is empty, but nothing waits in its backroom
    # The tablets hear of it once, when the lane becomes empty.
    assert [m.topic for m in told] == [f"comptoir/v1/{STORE}/staff/all/notify"]
    notice = json.loads(told[0].payload)
    assert notice.pop("type") == "task.refill"
    assert notice == {k: v for k, v in after[0].items() if k not in ("kind", "units_on_shelf")}
    assert still_empty == []
    assert after == [
        {
            "kind": "refill",
            "text": f"Réassort rayon B6\u00a0: 12 \u00d7 Produit {SKU} depuis la réserve",
            "shelf": "B",
            "lane": "6",
            "sku": SKU,
            "name": f"Produit {SKU}",
            "quantity": 12,
            "units_on_shelf": 0,
            "capacity": 12,
            "backroom_available": 20,
        }
    ]
    for english in (
        client.get("/api/v1/tasks?lang=en", headers=keys.headers(Role.SELLER)),
        client.get("/api/v1/tasks", headers=keys.headers(Role.SELLER, **{"Accept-Language": "en"})),
    ):
        assert english.get_json()[0]["text"] == (
            f"Refill lane B6: 12 x Produit {SKU} from the backroom"
        )
    refused = client.get("/api/v1/tasks?lang=de", headers=keys.headers(Role.SELLER))
    assert refused.status_code == 422 and "lang" in refused.get_json()["errors"]
