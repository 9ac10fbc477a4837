"""What a tablet reads: its own holds (?mine=true), product names next to holds and alerts,
who took an alert first, and the discrepancies a seller counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.keys.models import Role
from store_api.shelves import service as shelves
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

SKU = "LL-BOS-WGG244-BL"
NAME = "Lave-linge Bosch Série 6 WGG244"
OTHER = "AC-BOS-WTZ27400-BL"


def pair(client: FlaskClient, keys: Keys, name: str) -> dict[str, str]:
    made = client.post(
        "/api/v1/tablets/pairing-codes", json={"name": name}, headers=keys.headers(Role.OWNER)
    ).get_json()
    paired = client.post("/api/v1/tablets/pair", json={"code": made["code"]}).get_json()
    return {"Authorization": f"Bearer {paired['key']}"}


def hold(client: FlaskClient, headers: dict[str, str], sku: str = SKU, **extra: Any) -> str:
    response = client.post(
        "/api/v1/reservations", json={"sku": sku, "quantity": 1, **extra}, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    hold_id: str = response.get_json()["id"]
    return hold_id


@pytest.fixture
def shop(app: Flask) -> None:
    add_product(app, SKU, {"floor": 2, "backroom": 4}, name=NAME)
    add_product(app, OTHER, {"floor": 3}, name="Kit de superposition Bosch")


@pytest.mark.usefixtures("shop")
def test_mine_lists_only_the_holds_made_with_the_calling_key(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    tablet_1, tablet_2 = pair(client, keys, "Tablette 1"), pair(client, keys, "Tablette 2")
    mine = [hold(client, tablet_1, note="Mme Martin")]
    clock.advance(minutes=1)
    mine.append(hold(client, tablet_1, OTHER))
    theirs = hold(client, tablet_2)

    listed = client.get("/api/v1/reservations?mine=true", headers=tablet_1).get_json()
    everyone = client.get("/api/v1/reservations", headers=tablet_1).get_json()
    not_mine = client.get("/api/v1/reservations?mine=false", headers=tablet_1).get_json()

    assert [r["id"] for r in listed["items"]] == mine[::-1]  # newest first
    assert listed["total"] == 2
    assert {r["id"] for r in everyone["items"]} == {*mine, theirs}
    assert not_mine["total"] == 3


@pytest.mark.usefixtures("shop")
def test_mine_combines_with_the_status_filter(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    tablet = pair(client, keys, "Tablette 1")
    kept, sold = hold(client, tablet), hold(client, tablet, OTHER)
    client.post(f"/api/v1/reservations/{sold}/commit", json={"reference": "T-1"}, headers=tablet)
    hold(client, keys.headers(Role.SELLER))  # another seller's active hold

    active = client.get("/api/v1/reservations?mine=true&status=active", headers=tablet)
    committed = client.get("/api/v1/reservations?mine=true&status=committed", headers=tablet)

    assert [r["id"] for r in active.get_json()["items"]] == [kept]
    assert [r["id"] for r in committed.get_json()["items"]] == [sold]


@pytest.mark.usefixtures("shop")
def test_every_hold_answer_carries_what_the_tablet_shows(client: FlaskClient, keys: Keys) -> None:
    tablet = pair(client, keys, "Tablette 1")
    made = client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "note": "Mme Martin, livraison jeudi"},
        headers=tablet,
    )
    hold_id = made.get_json()["id"]

    answers = [
        made,
        client.get(f"/api/v1/reservations/{hold_id}", headers=tablet),
        client.get("/api/v1/reservations?mine=true", headers=tablet),
        client.post(f"/api/v1/reservations/{hold_id}/extend", json={}, headers=tablet),
        client.delete(f"/api/v1/reservations/{hold_id}", headers=tablet),
    ]

    for answer in answers:
        assert answer.status_code in (200, 201), answer.get_json()
        body = answer.get_json()
        item = body["items"][0] if "items" in body else body
        assert item["product_name"] == NAME
        assert item["created_by"] == "Tablette 1"
        assert item["note"] == "Mme Martin, livraison jeudi"
        assert item["channel"] == "store"
        assert {"sku", "quantity", "location", "expires_at", "recommendation_id"} <= set(item)


@pytest.mark.usefixtures("shop")
def test_a_hold_from_a_tablet_lasts_until_the_end_of_the_day_in_the_store(
    client: FlaskClient, keys: Keys
) -> None:
    tablet = pair(client, keys, "Tablette 1")

    made = client.post("/api/v1/reservations", json={"sku": SKU, "quantity": 1}, headers=tablet)

    body = made.get_json()
    assert body["channel"] == "store"
    assert body["location"] == "floor"
    assert body["expires_at"].startswith("2026-11-27T22:59")  # 23:59 in Lyon


def _alert(app: Flask, clock: FrozenClock, sku: str | None) -> int:
    store = app.config["STORE_ID"]
    session = db.new_session(app)
    with db.write(session):
        if sku is not None:
            shelves.put_lane(
                session,
                store,
                "B",
                "2",
                {"sku": sku, "unit_weight_g": 60000, "capacity": 2},
                clock(),
            )
        zone = shelves.put_zone(session, store, "B2", "B", "2", 30)
        notice = shelves.raise_help(
            session, zone, 45.0, clock(), shelves.HelpSettings(app.extensions["comptoir_policy"])
        )
    session.close()
    alert_id: int = notice.payload["alert_id"]
    return alert_id


@pytest.mark.usefixtures("shop")
def test_alerts_name_the_product_the_customer_looked_at(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    with_product = _alert(app, clock, SKU)

    listed = client.get("/api/v1/alerts?status=open", headers=keys.headers(Role.SELLER))

    [alert] = listed.get_json()
    assert alert["id"] == with_product
    assert (alert["zone"], alert["shelf"], alert["lane"], alert["sku"]) == ("B2", "B", "2", SKU)
    assert alert["product_name"] == NAME


def test_an_alert_at_an_empty_lane_has_no_product_name(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    _alert(app, clock, None)

    [alert] = client.get("/api/v1/alerts", headers=keys.headers(Role.SELLER)).get_json()

    assert (alert["sku"], alert["product_name"]) == (None, None)


@pytest.mark.usefixtures("shop")
def test_a_second_tablet_acknowledging_learns_who_took_the_alert_first(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    alert_id = _alert(app, clock, SKU)
    tablet_1, tablet_2 = pair(client, keys, "Tablette 1"), pair(client, keys, "Tablette 2")
    clock.advance(seconds=20)

    first = client.post(f"/api/v1/alerts/{alert_id}/ack", headers=tablet_1)
    clock.advance(seconds=3)
    second = client.post(
        f"/api/v1/alerts/{alert_id}/ack", headers={**tablet_2, "Idempotency-Key": "ack-1"}
    )

    assert first.status_code == second.status_code == 200
    assert second.get_json()["acknowledged_by"] == "Tablette 1"
    assert second.get_json()["acknowledged_at"] == first.get_json()["acknowledged_at"]
    assert second.get_json()["product_name"] == NAME
    open_now = client.get("/api/v1/alerts?status=open", headers=tablet_2).get_json()
    assert open_now == []


def test_a_seller_reads_the_discrepancies_to_count_but_cannot_resolve_them(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, SKU, {"floor": 2}, name=NAME)
    store = app.config["STORE_ID"]
    session = db.new_session(app)
    with db.write(session):
        shelves.put_lane(
            session,
            store,
            "A",
            "1",
            {"sku": SKU, "unit_weight_g": 2500, "capacity": 3, "units_on_shelf": 2},
            clock(),
        )
    start = clock().replace(minute=0) + dt.timedelta(hours=1)
    with db.write(session):
        shelves.apply_weights(
            session, store, [shelves.WeightReading("A", "1", 0.0, start + dt.timedelta(minutes=5))]
        )
        shelves.compare_window(
            session,
            store,
            start,
            start + dt.timedelta(hours=2),
            clock(),
            shelves.DiscrepancySettings(),
        )
    session.close()

    listed = client.get("/api/v1/discrepancies?status=open", headers=keys.headers(Role.SELLER))
    resolve = client.post(
        f"/api/v1/discrepancies/{listed.get_json()[0]['id']}/resolve",
        json={"note": "recompté"},
        headers=keys.headers(Role.SELLER),
    )

    assert listed.status_code == 200
    assert [d["sku"] for d in listed.get_json()] == [SKU]
    assert resolve.status_code == 403


@pytest.mark.parametrize("value", ["maybe", "2", ""])
def test_a_bad_mine_value_is_refused_naming_it(client: FlaskClient, keys: Keys, value: str) -> None:
    response = client.get(f"/api/v1/reservations?mine={value}", headers=keys.headers(Role.SELLER))

    assert response.status_code == 422
    assert "mine" in response.get_json()["errors"]
