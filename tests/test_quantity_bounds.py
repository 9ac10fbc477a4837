"""Quantities are bounded the same way on every path and both databases: one location never
holds more than MAX_ON_HAND units (what an inventory count may set), far from the integer limit.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from store_api import db
from store_api.keys.models import Role
from store_api.stock.models import MAX_ON_HAND, StockLevel
from tests.conftest import Keys
from tests.fixtures.shop import add_product, stock_of

ADJUST = "/api/v1/stock/adjustments"


def _on_hand(app: Flask, sku: str, location: str = "floor") -> int:
    return next(loc.on_hand for loc in stock_of(app, sku).locations if loc.location == location)


def _adjust(client: FlaskClient, keys: Keys, delta: int, sku: str = "LL-8KG") -> tuple[int, dict]:
    response = client.post(
        ADJUST,
        json={"sku": sku, "location": "floor", "delta": delta, "reason": "delivery"},
        headers=keys.headers(Role.SELLER),
    )
    return response.status_code, response.json


def test_eleven_big_deliveries_stop_at_the_count_maximum(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-8KG")

    answers = [_adjust(client, keys, 100_000) for _ in range(11)]

    assert [status for status, _ in answers] == [201] * 10 + [409]
    refused = answers[-1][1]
    assert refused["code"] == "on_hand_limit"
    assert refused["errors"] == {
        "sku": "LL-8KG",
        "location": "floor",
        "on_hand": MAX_ON_HAND,
        "adding": 100_000,
        "max_on_hand": MAX_ON_HAND,
    }
    assert _on_hand(app, "LL-8KG") == MAX_ON_HAND
    # What a count may set, an adjustment reaches and a count confirms.
    count = client.put(
        "/api/v1/stock/LL-8KG/locations/floor",
        json={"on_hand": MAX_ON_HAND, "expected_on_hand": MAX_ON_HAND},
        headers=keys.headers(Role.SELLER),
    )
    assert count.status_code == 200, count.json


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"on_hand": MAX_ON_HAND + 1, "expected_on_hand": 0}, "on_hand"),
        ({"on_hand": 2**31, "expected_on_hand": 0}, "on_hand"),
        ({"on_hand": 1, "expected_on_hand": 2**63}, "expected_on_hand"),
    ],
)
def test_a_count_past_the_maximum_is_a_422_naming_the_field(
    app: Flask, client: FlaskClient, keys: Keys, body: dict, field: str
) -> None:
    add_product(app, "LL-8KG")

    response = client.put(
        "/api/v1/stock/LL-8KG/locations/floor", json=body, headers=keys.headers(Role.OWNER)
    )

    assert response.status_code == 422
    assert field in response.json["errors"]


@pytest.mark.parametrize("delta", [100_001, -100_001, 2**31, -(2**63), 0])
def test_an_adjustment_outside_its_range_is_a_422(
    app: Flask, client: FlaskClient, keys: Keys, delta: int
) -> None:
    add_product(app, "LL-8KG", {"floor": 5})

    status, body = _adjust(client, keys, delta)

    assert status == 422
    assert set(body["errors"]) == {"delta"}
    assert _on_hand(app, "LL-8KG") == 5


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/reservations", {"sku": "LL-8KG", "quantity": 1001}),
        ("/api/v1/reservations", {"sku": "LL-8KG", "quantity": 2**40}),
        ("/api/v1/reservations", {"sku": "LL-8KG", "quantity": 0}),
        ("/api/v1/orders", {"lines": [{"sku": "LL-8KG", "quantity": 1001}]}),
        ("/api/v1/orders", {"lines": [{"sku": "LL-8KG", "quantity": -1}]}),
    ],
)
def test_holds_and_order_lines_are_bounded(
    app: Flask, client: FlaskClient, keys: Keys, path: str, body: dict
) -> None:
    add_product(app, "LL-8KG", {"warehouse": 5})

    response = client.post(
        path, json=body, headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "k-1"})
    )

    assert response.status_code == 422, response.json
    assert _on_hand(app, "LL-8KG", "warehouse") == 5


def test_cancelling_an_order_into_a_full_location_is_a_409_not_a_crash(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-8KG", {"warehouse": 3})
    order = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": "LL-8KG", "quantity": 3}]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "o-1"}),
    ).json
    filled = client.post(
        ADJUST,
        json={"sku": "LL-8KG", "location": "warehouse", "delta": 100_000, "reason": "delivery"},
        headers=keys.headers(Role.OWNER),
    )
    client.put(
        "/api/v1/stock/LL-8KG/locations/warehouse",
        json={"on_hand": MAX_ON_HAND - 1, "expected_on_hand": 100_000},
        headers=keys.headers(Role.OWNER),
    )

    cancel = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=keys.headers(Role.WEBSHOP))

    assert filled.status_code == 201
    assert cancel.status_code == 409, cancel.json
    assert cancel.json["code"] == "on_hand_limit"
    assert _on_hand(app, "LL-8KG", "warehouse") == MAX_ON_HAND - 1
    again = client.get(f"/api/v1/orders/{order['id']}", headers=keys.headers(Role.WEBSHOP))
    assert again.json["status"] == "confirmed"


def test_an_import_refuses_initial_stock_past_the_maximum(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text(
        "sku,name,price,category,stock_floor\n"
        f"LL-OK,Lave-linge,499.00,Lave-linge,{MAX_ON_HAND}\n"
        f"LL-TOO,Lave-linge,499.00,Lave-linge,{MAX_ON_HAND + 1}\n",
        encoding="utf-8",
    )

    result = runner.invoke(args=["catalog", "import", "--skip-invalid", str(feed)])

    assert result.exit_code == 0, result.output
    assert "line 3" in result.output and "stock_floor" in result.output
    assert _on_hand(app, "LL-OK") == MAX_ON_HAND


def test_the_database_itself_refuses_more_than_the_maximum(app: Flask) -> None:
    add_product(app, "LL-8KG", {"floor": 1})
    session = db.new_session(app)

    with pytest.raises(IntegrityError), db.write(session):
        session.execute(update(StockLevel).values(on_hand=MAX_ON_HAND + 1))
    session.close()

    assert _on_hand(app, "LL-8KG") == 1
