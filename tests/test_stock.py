"""Stock levels, adjustments, inventory counts and the ledger, through the API.

This module runs with a configured extra location ("showroom", between the floor and the
backroom), so every test here also shows that the locations come from configuration.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from store_api import create_app, db
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product, drifts, stock_of

LOCATIONS = ["floor", "showroom", "backroom", "warehouse"]
UNITS = {"floor": 1, "backroom": 2, "warehouse": 5}


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"STOCK_LOCATIONS": LOCATIONS}


@pytest.fixture
def sku(app: Flask) -> str:
    return add_product(app, "LL-8KG", UNITS)


def levels(body: dict[str, Any]) -> dict[str, tuple[int, int, int]]:
    """Per location: (on_hand, reserved, available)."""
    return {
        loc["location"]: (loc["on_hand"], loc["reserved"], loc["available"])
        for loc in body["locations"]
    }


def movements(client: FlaskClient, keys: Keys, sku: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/stock/movements", query_string={"sku": sku}, headers=keys.headers(Role.OWNER)
    )
    assert response.status_code == 200, response.json
    return response.json


def reserve(client: FlaskClient, keys: Keys, sku: str, quantity: int, location: str) -> None:
    response = client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": quantity, "location": location},
        headers=keys.headers(Role.SELLER),
    )
    assert response.status_code == 201, response.json


def adjust(
    client: FlaskClient, keys: Keys, body: dict[str, Any], role: Role = Role.SELLER
) -> TestResponse:
    return client.post("/api/v1/stock/adjustments", json=body, headers=keys.headers(role))


def count(
    client: FlaskClient, keys: Keys, sku: str, location: str, body: dict[str, Any]
) -> TestResponse:
    return client.put(
        f"/api/v1/stock/{sku}/locations/{location}", json=body, headers=keys.headers(Role.SELLER)
    )


# --- reading -------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SELLER, Role.WEBSHOP, Role.DEVICE, Role.OWNER])
def test_stock_of_one_product_lists_locations_in_configured_order(
    client: FlaskClient, keys: Keys, sku: str, role: Role
) -> None:
    response = client.get(f"/api/v1/stock/{sku}", headers=keys.headers(role))

    assert response.status_code == 200
    assert response.json == {
        "sku": sku,
        "on_hand": 8,
        "reserved": 0,
        "available": 8,
        "locations": [
            {"location": "floor", "on_hand": 1, "reserved": 0, "available": 1},
            {"location": "showroom", "on_hand": 0, "reserved": 0, "available": 0},
            {"location": "backroom", "on_hand": 2, "reserved": 0, "available": 2},
            {"location": "warehouse", "on_hand": 5, "reserved": 0, "available": 5},
        ],
        "supplier": None,  # no supplier lists it (endless aisle: tests/test_feeds_api.py)
    }


def test_stock_shows_reserved_units_as_not_available(
    client: FlaskClient, keys: Keys, sku: str
) -> None:
    reserve(client, keys, sku, 2, "warehouse")

    body = client.get(f"/api/v1/stock/{sku}", headers=keys.headers(Role.WEBSHOP)).json

    assert (body["on_hand"], body["reserved"], body["available"]) == (8, 2, 6)
    assert levels(body)["warehouse"] == (5, 2, 3)


def test_stock_of_an_unknown_product_is_404(client: FlaskClient, keys: Keys) -> None:
    response = client.get("/api/v1/stock/NOPE", headers=keys.headers(Role.SELLER))

    assert response.status_code == 404
    assert response.json["code"] == "product_not_found"


def test_stock_without_a_key_is_401(client: FlaskClient, sku: str) -> None:
    response = client.get(f"/api/v1/stock/{sku}")

    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"


def test_stock_of_several_products_keeps_request_order_and_names_unknown_skus(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "A", {"floor": 1})
    add_product(app, "B", {"warehouse": 3})

    response = client.get(
        "/api/v1/stock?sku=B&sku=NOPE&sku=A&sku=B", headers=keys.headers(Role.WEBSHOP)
    )

    assert response.status_code == 200
    assert [item["sku"] for item in response.json["items"]] == ["B", "A"]
    assert [item["available"] for item in response.json["items"]] == [3, 1]
    assert [loc["location"] for loc in response.json["items"][0]["locations"]] == LOCATIONS
    assert response.json["unknown_skus"] == ["NOPE"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("", id="no sku"),
        pytest.param("?" + "&".join(f"sku=P{i}" for i in range(101)), id="101 skus"),
        pytest.param("?sku=bad%20sku", id="malformed sku"),
        pytest.param(
            "?sku=A&colour=red",
            id="unknown parameter",
        ),
    ],
)
def test_stock_of_several_products_refuses_bad_queries(
    client: FlaskClient, keys: Keys, query: str
) -> None:
    response = client.get(f"/api/v1/stock{query}", headers=keys.headers(Role.WEBSHOP))

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert response.json["errors"]


def test_stock_of_one_hundred_products_at_once_is_allowed(
    client: FlaskClient, keys: Keys, sku: str
) -> None:
    query = "&".join([f"sku={sku}", *(f"sku=P{i}" for i in range(99))])

    response = client.get(f"/api/v1/stock?{query}", headers=keys.headers(Role.WEBSHOP))

    assert response.status_code == 200
    assert len(response.json["items"]) == 1
    assert len(response.json["unknown_skus"]) == 99


# --- adjustments ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "delta", "reason", "after"),
    [
        ("floor", 5, "delivery", (6, 0, 6)),
        ("backroom", -1, "damage", (1, 0, 1)),
        ("warehouse", -5, "loss", (0, 0, 0)),
        ("floor", 1, "return", (2, 0, 2)),
        ("showroom", 2, "correction", (2, 0, 2)),
    ],
)
def test_an_adjustment_changes_on_hand_at_one_location(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    sku: str,
    location: str,
    delta: int,
    reason: str,
    after: tuple[int, int, int],
) -> None:
    response = adjust(
        client, keys, {"sku": sku, "location": location, "delta": delta, "reason": reason}
    )

    assert response.status_code == 201, response.json
    assert response.json["sku"] == sku
    assert response.json["on_hand"] == 8 + delta
    assert levels(response.json)[location] == after
    assert levels(response.json) == levels(
        client.get(f"/api/v1/stock/{sku}", headers=keys.headers(Role.SELLER)).json
    )
    assert drifts(app) == []


def test_an_adjustment_writes_a_ledger_row_with_actor_reason_and_values_after(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    adjust(
        client,
        keys,
        {
            "sku": sku,
            "location": "floor",
            "delta": 5,
            "reason": "delivery",
            "reference": "BL-2026-118",
        },
    )

    ledger = movements(client, keys, sku)

    assert len(ledger) == 4  # three deliveries by the fixture, then this one
    newest = ledger[0]
    assert {k: newest[k] for k in newest if k not in ("id", "created_at")} == {
        "sku": sku,
        "location": "floor",
        "delta_on_hand": 5,
        "delta_reserved": 0,
        "on_hand_after": 6,
        "reserved_after": 0,
        "reason": "delivery",
        "actor": "test seller",
        "reference": "BL-2026-118",
    }
    assert newest["created_at"].startswith("2026-11-27T09:30:00")
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("reserved", "delta"),
    [
        pytest.param(1, -1, id="the reserved unit"),
        pytest.param(0, -2, id="more than on hand"),
    ],
)
def test_removing_units_below_what_is_reserved_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, reserved: int, delta: int
) -> None:
    if reserved:
        reserve(client, keys, sku, reserved, "floor")
    ledger_before = movements(client, keys, sku)

    response = adjust(
        client, keys, {"sku": sku, "location": "floor", "delta": delta, "reason": "damage"}
    )

    assert response.status_code == 409
    assert response.json["code"] == "below_reserved"
    assert response.json["errors"] == {
        "sku": sku,
        "location": "floor",
        "on_hand": 1,
        "reserved": reserved,
    }
    floor = stock_of(app, sku).locations[0]
    assert (floor.location, floor.on_hand, floor.reserved) == ("floor", 1, reserved)
    assert movements(client, keys, sku) == ledger_before
    assert drifts(app) == []


def test_an_adjustment_at_an_unknown_location_is_422_naming_location(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    response = adjust(
        client, keys, {"sku": sku, "location": "attic", "delta": 1, "reason": "delivery"}
    )

    assert response.status_code == 422
    assert response.json["code"] == "unknown_location"
    assert list(response.json["errors"]) == ["location"]
    assert stock_of(app, sku).on_hand == 8


def test_an_adjustment_of_an_unknown_product_is_422_naming_sku(
    client: FlaskClient, keys: Keys
) -> None:
    response = adjust(
        client, keys, {"sku": "NOPE", "location": "floor", "delta": 1, "reason": "delivery"}
    )

    assert response.status_code == 422
    assert response.json["code"] == "product_not_found"
    assert list(response.json["errors"]) == ["sku"]


VALID_ADJUSTMENT = {"location": "floor", "delta": 1, "reason": "delivery"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"delta": 0}, "delta", id="delta 0"),
        pytest.param({"delta": "3"}, "delta", id="delta string"),
        pytest.param({"delta": 1.5}, "delta", id="delta float"),
        pytest.param({"delta": True}, "delta", id="delta bool"),
        pytest.param({"delta": None}, "delta", id="delta null"),
        pytest.param({"delta": 100_001}, "delta", id="delta too big"),
        pytest.param({"reason": "sale"}, "reason", id="reason not for adjustments"),
        pytest.param({"reason": "gift"}, "reason", id="reason unknown"),
        pytest.param({"location": ""}, "location", id="location empty"),
        pytest.param({"sku": "bad sku"}, "sku", id="sku malformed"),
        pytest.param({"reference": "x" * 256}, "reference", id="reference too long"),
        pytest.param({"quantity": 1}, "quantity", id="unknown field"),
        pytest.param({"sku": ...}, "sku", id="sku missing"),
        pytest.param({"location": ...}, "location", id="location missing"),
        pytest.param({"delta": ...}, "delta", id="delta missing"),
        pytest.param({"reason": ...}, "reason", id="reason missing"),
    ],
)
def test_an_invalid_adjustment_is_422_naming_the_field(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, changes: dict[str, Any], field: str
) -> None:
    body = {"sku": sku, **VALID_ADJUSTMENT, **changes}
    body = {k: v for k, v in body.items() if v is not ...}

    response = adjust(client, keys, body)

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert list(response.json["errors"]) == [field]
    assert stock_of(app, sku).on_hand == 8


@pytest.mark.parametrize(
    ("role", "status"), [(Role.WEBSHOP, 403), (Role.DEVICE, 403), (Role.OWNER, 201)]
)
def test_only_the_shop_adjusts_stock(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, role: Role, status: int
) -> None:
    response = adjust(client, keys, {"sku": sku, **VALID_ADJUSTMENT}, role=role)

    assert response.status_code == status
    assert drifts(app) == []


# --- inventory counts ----------------------------------------------------------------


@pytest.mark.parametrize("counted", [3, 0, 2])
def test_a_count_that_read_the_current_value_sets_on_hand(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, counted: int
) -> None:
    response = count(client, keys, sku, "backroom", {"on_hand": counted, "expected_on_hand": 2})

    assert response.status_code == 200, response.json
    assert response.json == {
        "location": "backroom",
        "on_hand": counted,
        "reserved": 0,
        "available": counted,
    }
    assert levels(client.get(f"/api/v1/stock/{sku}", headers=keys.headers(Role.SELLER)).json)[
        "backroom"
    ] == (counted, 0, counted)
    newest = movements(client, keys, sku)[0]
    assert newest["reason"] == "count"
    assert newest["location"] == "backroom"
    assert newest["actor"] == "test seller"
    assert (newest["delta_on_hand"], newest["delta_reserved"]) == (counted - 2, 0)
    assert (newest["on_hand_after"], newest["reserved_after"]) == (counted, 0)
    assert drifts(app) == []


def test_a_count_from_a_stale_reading_is_409_with_the_current_value(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    ledger_before = movements(client, keys, sku)

    response = count(client, keys, sku, "backroom", {"on_hand": 4, "expected_on_hand": 1})

    assert response.status_code == 409
    assert response.json["code"] == "stale_count"
    assert response.json["errors"]["on_hand"] == 2
    assert response.json["errors"]["location"] == "backroom"
    assert stock_of(app, sku).locations[2].on_hand == 2
    assert movements(client, keys, sku) == ledger_before
    assert drifts(app) == []


def test_a_count_below_what_is_reserved_is_409(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    reserve(client, keys, sku, 2, "backroom")

    response = count(client, keys, sku, "backroom", {"on_hand": 1, "expected_on_hand": 2})

    assert response.status_code == 409
    assert response.json["code"] == "below_reserved"
    assert (response.json["errors"]["on_hand"], response.json["errors"]["reserved"]) == (2, 2)
    assert levels(client.get(f"/api/v1/stock/{sku}", headers=keys.headers(Role.SELLER)).json)[
        "backroom"
    ] == (2, 2, 0)
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        pytest.param({"on_hand": 3}, "expected_on_hand", id="expected missing"),
        pytest.param({"expected_on_hand": 2}, "on_hand", id="on_hand missing"),
        pytest.param({"on_hand": -1, "expected_on_hand": 2}, "on_hand", id="on_hand negative"),
        pytest.param({"on_hand": "3", "expected_on_hand": 2}, "on_hand", id="on_hand string"),
        pytest.param(
            {"on_hand": 3, "expected_on_hand": 2.5}, "expected_on_hand", id="expected float"
        ),
    ],
)
def test_an_invalid_count_is_422_naming_the_field(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, body: dict[str, Any], field: str
) -> None:
    response = count(client, keys, sku, "backroom", body)

    assert response.status_code == 422
    assert list(response.json["errors"]) == [field]
    assert stock_of(app, sku).on_hand == 8


def test_a_count_at_an_unknown_location_is_422(client: FlaskClient, keys: Keys, sku: str) -> None:
    response = count(client, keys, sku, "attic", {"on_hand": 3, "expected_on_hand": 0})

    assert response.status_code == 422
    assert response.json["code"] == "unknown_location"
    assert list(response.json["errors"]) == ["location"]


def test_a_count_of_an_unknown_product_is_404(client: FlaskClient, keys: Keys) -> None:
    response = count(client, keys, "NOPE", "floor", {"on_hand": 3, "expected_on_hand": 0})

    assert response.status_code == 404
    assert response.json["code"] == "product_not_found"


# --- configurable locations ----------------------------------------------------------


def test_a_configured_location_takes_deliveries_counts_and_reservations(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    delivered = adjust(
        client, keys, {"sku": sku, "location": "showroom", "delta": 4, "reason": "delivery"}
    )
    counted = count(client, keys, sku, "showroom", {"on_hand": 3, "expected_on_hand": 4})
    reserved = client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": 3, "location": "showroom"},
        headers=keys.headers(Role.SELLER),
    )

    assert delivered.status_code == 201
    assert counted.status_code == 200
    assert reserved.status_code == 201
    assert reserved.json["location"] == "showroom"
    body = client.get(f"/api/v1/stock/{sku}", headers=keys.headers(Role.SELLER)).json
    assert [loc["location"] for loc in body["locations"]] == LOCATIONS
    assert levels(body)["showroom"] == (3, 3, 0)
    assert drifts(app) == []


def test_a_product_made_before_a_location_was_configured_gets_stock_there(
    app: Flask, client: FlaskClient, keys: Keys, migrated: str, clock: FrozenClock
) -> None:
    before = create_app({"DATABASE_URL": migrated, "CLOCK": clock, "TESTING": True})
    add_product(before, "LL-OLD", {"floor": 1})
    db.engine_for(before).dispose()
    shown = client.get("/api/v1/stock/LL-OLD", headers=keys.headers(Role.SELLER)).json

    response = adjust(
        client, keys, {"sku": "LL-OLD", "location": "showroom", "delta": 2, "reason": "delivery"}
    )

    assert levels(shown)["showroom"] == (0, 0, 0)
    assert response.status_code == 201, response.json
    assert levels(response.json)["showroom"] == (2, 0, 2)
    assert drifts(app) == []
