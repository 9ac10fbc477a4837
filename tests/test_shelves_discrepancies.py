"""Shelf vs system: units that left a lane versus floor units the stock ledger accounts for."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from iot_bridge import handlers, payloads, topics
from store_api import db
from store_api.events.models import Event
from store_api.keys.models import Role
from store_api.shelves import service
from store_api.shelves.models import ShelfMovement
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

STORE = "store-1"
KETTLE, TOASTER, IRON = "PE-KET-1", "PE-TOA-1", "PE-IRO-1"
# The clock starts at 09:30; 2 h windows: [08:00, 10:00), [10:00, 12:00), ...
H10 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)
SETTINGS = service.DiscrepancySettings(window_s=7200, tolerance_units=1, settle_s=300)


def plant(app: Flask, clock: FrozenClock) -> None:
    """Two lanes, counted by a person at 07:00 (so followed from then on), and an iron lane
    nobody counted and whose scale has not read yet."""
    clock.current = H10 - dt.timedelta(hours=3)
    for sku, shelf, lane, counted in (
        (KETTLE, "A", "1", 10),
        (TOASTER, "A", "2", 10),
        (IRON, "A", "3", None),
    ):
        add_product(app, sku, {"floor": 10, "backroom": 5}, price="49.00")
        session = db.new_session(app)
        with db.write(session):
            service.put_lane(
                session,
                STORE,
                shelf,
                lane,
                {"sku": sku, "unit_weight_g": 1000, "capacity": 10, "units_on_shelf": counted},
                clock(),
            )
        session.close()


seqs = iter(range(1, 10_000))


def scale(app: Flask, shelf: str, lane: str, units: int, at: dt.datetime) -> None:
    """The lane's scale reports ``units`` whole units at device time ``at``."""
    seq = next(seqs)
    topic = topics.parse(f"comptoir/v1/{STORE}/shelf/{shelf}/{lane}/evt/weight")
    raw = payloads.dump(
        "weight",
        event_id=f"w-{seq}",
        device_id=f"shelf-{shelf}",
        seq=seq,
        ts=at,
        grams=units * 1000.0,
    )
    session = db.new_session(app)
    with db.write(session):
        handlers.handle_batch(session, [payloads.parse(topic, raw)])
    session.close()


def sell(client: FlaskClient, keys: Keys, sku: str, quantity: int, commit: bool = True) -> str:
    """A seller holds units at the counter (the store takes from the floor first)."""
    held = client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": quantity},
        headers=keys.headers(Role.SELLER),
    )
    assert held.status_code == 201, held.get_json()
    if commit:
        done = client.post(
            f"/api/v1/reservations/{held.get_json()['id']}/commit",
            json={},
            headers=keys.headers(Role.SELLER),
        )
        assert done.status_code == 200, done.get_json()
    reservation_id: str = held.get_json()["id"]
    return reservation_id


def evaluate(app: Flask, at: dt.datetime) -> list[dict[str, Any]]:
    session = db.new_session(app)
    with db.write(session):
        raised = [
            service.discrepancy_dict(d)
            for d in service.evaluate_discrepancies(session, STORE, at, SETTINGS)
        ]
    session.close()
    return raised


def events_of(app: Flask, kind: str) -> list[dict[str, Any]]:
    session = db.new_session(app)
    with db.read(session):
        found = [e.payload for e in session.scalars(select(Event).where(Event.type == kind))]
    session.close()
    return found


def test_units_gone_from_a_lane_without_a_sale_raise_one_alert_per_window(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)
    # Kettles: 6 taken, 1 put back, 1 sold -> 4 unaccounted for.
    scale(app, "A", "1", 8, H10 + dt.timedelta(minutes=5))
    scale(app, "A", "1", 9, H10 + dt.timedelta(minutes=6))  # one put back
    scale(app, "A", "1", 5, H10 + dt.timedelta(minutes=40))
    clock.current = H10 + dt.timedelta(minutes=41)
    sell(client, keys, KETTLE, 1)
    # Toasters: 2 taken, both held at the counter (one still on hold): all accounted for.
    scale(app, "A", "2", 8, H10 + dt.timedelta(minutes=50))
    sell(client, keys, TOASTER, 1)
    sell(client, keys, TOASTER, 1, commit=False)

    inside_settle = evaluate(app, H10 + dt.timedelta(hours=2, minutes=4))
    raised = evaluate(app, H10 + dt.timedelta(hours=2, minutes=5))
    again = evaluate(app, H10 + dt.timedelta(hours=2, minutes=30))
    next_window = evaluate(app, H10 + dt.timedelta(hours=4, minutes=6))

    assert inside_settle == []  # the window ended less than settle_s ago
    assert [
        (d["sku"], d["kind"], d["taken"], d["put_back"], d["accounted"], d["difference"])
        for d in raised
    ] == [(KETTLE, "missing", 6, 1, 1, 4)]
    assert raised[0]["lanes"] == ["A-1"]
    assert (raised[0]["window_start"], raised[0]["window_end"]) == (
        "2026-11-27T10:00:00+00:00",
        "2026-11-27T12:00:00+00:00",
    )
    assert again == [] and next_window == []  # once per window; nothing happened after
    assert [e["discrepancy_id"] for e in events_of(app, "shelf.discrepancy")] == [
        raised[0]["discrepancy_id"]
    ]


def test_floor_stock_the_ledger_moved_but_the_shelf_did_not_is_a_surplus(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)
    scale(app, "A", "1", 10, H10 - dt.timedelta(minutes=30))  # the scale works
    clock.current = H10 + dt.timedelta(minutes=20)
    sell(client, keys, KETTLE, 2)  # sold from the "floor"... not from lane A-1
    sell(client, keys, IRON, 3)  # lane A-3 is not counted: its product is not compared
    written_off = client.post(
        "/api/v1/stock/adjustments",
        json={"sku": KETTLE, "location": "floor", "delta": -1, "reason": "damage"},
        headers=keys.headers(Role.SELLER),
    )
    assert written_off.status_code == 201, written_off.get_json()
    delivered = client.post(  # one toaster more on the floor, not on the shelf: tolerated
        "/api/v1/stock/adjustments",
        json={"sku": TOASTER, "location": "floor", "delta": 1, "reason": "delivery"},
        headers=keys.headers(Role.SELLER),
    )
    assert delivered.status_code == 201, delivered.get_json()

    raised = evaluate(app, H10 + dt.timedelta(hours=2, minutes=10))

    assert [(d["sku"], d["kind"], d["taken"], d["accounted"], d["difference"]) for d in raised] == [
        (KETTLE, "surplus", 0, 3, -3)
    ]
    assert raised[0]["lanes"] == ["A-1"]


def test_the_first_evaluation_compares_the_last_window_and_catches_up_after_downtime(
    app: Flask, clock: FrozenClock
) -> None:
    plant(app, clock)
    scale(app, "A", "1", 7, H10 - dt.timedelta(minutes=30))  # in [08:00, 10:00)
    scale(app, "A", "1", 4, H10 + dt.timedelta(minutes=30))  # in [10:00, 12:00)
    scale(app, "A", "1", 1, H10 + dt.timedelta(hours=2, minutes=30))  # in [12:00, 14:00)

    first = evaluate(app, H10 + dt.timedelta(minutes=10))  # only [08:00, 10:00)
    after_downtime = evaluate(app, H10 + dt.timedelta(hours=4, minutes=10))

    assert [(d["window_start"][11:16], d["taken"]) for d in first] == [("08:00", 3)]
    assert [(d["window_start"][11:16], d["taken"]) for d in after_downtime] == [
        ("10:00", 3),
        ("12:00", 3),
    ]


def test_only_whole_readings_of_a_counted_lane_are_movements(
    app: Flask, clock: FrozenClock
) -> None:
    plant(app, clock)
    scale(app, "A", "1", 8, H10)
    scale(app, "A", "1", 8, H10 + dt.timedelta(minutes=1))  # no change: no movement
    seq = next(seqs)
    topic = topics.parse(f"comptoir/v1/{STORE}/shelf/A/1/evt/weight")
    foreign = payloads.dump(
        "weight",
        event_id=f"w-{seq}",
        device_id="shelf-A",
        seq=seq,
        ts=H10 + dt.timedelta(minutes=2),
        grams=7450.0,  # not whole kettles
    )
    session = db.new_session(app)
    with db.write(session):
        handlers.handle_batch(session, [payloads.parse(topic, foreign)])
    session.close()
    scale(app, "A", "1", 7, H10 + dt.timedelta(minutes=3))

    session = db.new_session(app)
    with db.read(session):
        moves = [(m.delta, m.units_after) for m in session.scalars(select(ShelfMovement))]
    session.close()
    assert moves == [(-2, 8), (-1, 7)]


# --- the owner's API ------------------------------------------------------------------------


def test_the_owner_lists_filters_and_resolves_discrepancies(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    plant(app, clock)
    scale(app, "A", "1", 6, H10 + dt.timedelta(minutes=5))
    scale(app, "A", "2", 7, H10 + dt.timedelta(minutes=6))
    [first, second] = sorted(
        evaluate(app, H10 + dt.timedelta(hours=2, minutes=10)), key=lambda d: d["sku"]
    )
    owner = keys.headers(Role.OWNER)

    open_ = client.get("/api/v1/discrepancies?status=open", headers=owner)
    by_sku = client.get(f"/api/v1/discrepancies?sku={TOASTER}", headers=owner)
    clock.current = H10 + dt.timedelta(hours=3)
    resolved = client.post(
        f"/api/v1/discrepancies/{first['discrepancy_id']}/resolve",
        json={"note": "4 kettles found behind the toasters"},
        headers=owner,
    )
    again = client.post(
        f"/api/v1/discrepancies/{first['discrepancy_id']}/resolve", json={}, headers=owner
    )
    still_open = client.get("/api/v1/discrepancies?status=open", headers=owner)
    window = client.get(
        "/api/v1/discrepancies?from=2026-11-27T10:00:00Z&to=2026-11-27T12:00:00Z", headers=owner
    )
    earlier = client.get("/api/v1/discrepancies?to=2026-11-27T10:00:00Z", headers=owner)
    missing = client.post("/api/v1/discrepancies/999/resolve", json={}, headers=owner)
    bad = client.get("/api/v1/discrepancies?status=closed", headers=owner)

    assert open_.status_code == 200, open_.get_json()
    assert {d["id"] for d in open_.get_json()} == {
        first["discrepancy_id"],
        second["discrepancy_id"],
    }
    assert [(d["sku"], d["taken"], d["difference"]) for d in by_sku.get_json()] == [(TOASTER, 3, 3)]
    assert resolved.status_code == 200, resolved.get_json()
    body = resolved.get_json()
    assert (body["status"], body["resolved_by"], body["note"]) == (
        "resolved",
        "test owner",
        "4 kettles found behind the toasters",
    )
    assert body["resolved_at"] == "2026-11-27T13:00:00+00:00"
    assert again.get_json()["note"] == "4 kettles found behind the toasters"  # first one kept
    assert [d["id"] for d in still_open.get_json()] == [second["discrepancy_id"]]
    assert len(window.get_json()) == 2 and earlier.get_json() == []
    assert missing.status_code == 404
    assert bad.status_code == 422 and "status" in str(bad.get_json()["errors"])


@pytest.mark.parametrize("role", [Role.DEVICE, Role.WEBSHOP])
def test_discrepancies_are_the_shops_own(client: FlaskClient, keys: Keys, role: Role) -> None:
    response = client.get("/api/v1/discrepancies", headers=keys.headers(role))

    assert response.status_code == 403


def test_sellers_read_the_discrepancies_to_count_but_only_the_owner_resolves(
    client: FlaskClient, keys: Keys
) -> None:
    listed = client.get("/api/v1/discrepancies", headers=keys.headers(Role.SELLER))
    resolve = client.post(
        "/api/v1/discrepancies/1/resolve", json={}, headers=keys.headers(Role.SELLER)
    )

    assert listed.status_code == 200
    assert resolve.status_code == 403


# --- the hourly footfall report's index -------------------------------------------------------


def test_the_footfall_query_uses_its_partial_index(app: Flask) -> None:
    engine = db.engine_for(app)
    query = service.door_counts_query(STORE, H10, H10 + dt.timedelta(hours=2))
    compiled = query.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SET enable_seqscan = off")  # a tiny table: force the choice
            rows = conn.exec_driver_sql(f"EXPLAIN {compiled.string}", compiled.params)
            plan = "\n".join(row[0] for row in rows)
        else:
            names = compiled.positiontup or []
            values = tuple(str(compiled.params[name]) for name in names)
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", values)
            plan = "\n".join(str(row[-1]) for row in rows)
        conn.rollback()

    assert "'footfall'" in compiled.string  # inline: the planner can match the predicate
    assert "ix_sensor_events_footfall" in plan, plan
