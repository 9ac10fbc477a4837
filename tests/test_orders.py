"""Webshop orders through the API: all lines or none, retried safely with an Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product, drifts, stock_of

UNITS = {"floor": 1, "backroom": 2, "warehouse": 5}
NOW = "2026-11-27T09:30:00+00:00"


def place(
    client: FlaskClient,
    keys: Keys,
    body: Any,
    key: str | None = "order-1",
    *,
    role: Role = Role.WEBSHOP,
) -> TestResponse:
    headers = keys.headers(role) if key is None else keys.headers(role, **{"Idempotency-Key": key})
    return client.post("/api/v1/orders", json=body, headers=headers)


def reserve(client: FlaskClient, keys: Keys, sku: str, quantity: int, **extra: Any) -> str:
    """A web hold made at checkout by the webshop key; returns its id."""
    response = client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": quantity, **extra},
        headers=keys.headers(Role.WEBSHOP),
    )
    assert response.status_code == 201, response.get_json()
    reservation_id: str = response.get_json()["id"]
    return reservation_id


def levels(app: Flask, sku: str) -> dict[str, tuple[int, int]]:
    """(on_hand, reserved) per location."""
    return {loc.location: (loc.on_hand, loc.reserved) for loc in stock_of(app, sku).locations}


def ledger(client: FlaskClient, keys: Keys, sku: str, reason: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/stock/movements", query_string={"sku": sku}, headers=keys.headers(Role.OWNER)
    )
    assert response.status_code == 200
    return [row for row in response.get_json() if row["reason"] == reason]


def field_errors(errors: dict[str, Any], path: str) -> Any:
    """Messages for ``lines.1.sku``, whether the API names it flat or nested."""
    if path in errors:
        return errors[path]
    node: Any = errors
    for part in path.split("."):
        node = node[part]
    return node


def test_an_order_takes_units_from_the_warehouse_then_the_backroom_then_the_floor(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    for sku in ("LL-1", "LL-2", "LL-3"):
        add_product(app, sku, UNITS)
    body = {
        "lines": [
            {"sku": "LL-1", "quantity": 2},
            {"sku": "LL-2", "quantity": 7},
            {"sku": "LL-3", "quantity": 8},
        ]
    }

    response = place(client, keys, body)

    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert uuid.UUID(order["id"])
    assert order == {
        "id": order["id"],
        "status": "confirmed",
        "reference": None,
        "created_at": NOW,
        "cancelled_at": None,
        "total": "8483.00",  # 17 units at 499.00
        "currency": "EUR",
        "lines": [
            {
                "sku": "LL-1",
                "quantity": 2,
                "unit_price": "499.00",
                "line_total": "998.00",
                "price_estimated": False,
                "allocations": [{"location": "warehouse", "quantity": 2}],
            },
            {
                "sku": "LL-2",
                "quantity": 7,
                "unit_price": "499.00",
                "line_total": "3493.00",
                "price_estimated": False,
                "allocations": [
                    {"location": "warehouse", "quantity": 5},
                    {"location": "backroom", "quantity": 2},
                ],
            },
            {
                "sku": "LL-3",
                "quantity": 8,
                "unit_price": "499.00",
                "line_total": "3992.00",
                "price_estimated": False,
                "allocations": [
                    {"location": "warehouse", "quantity": 5},
                    {"location": "backroom", "quantity": 2},
                    {"location": "floor", "quantity": 1},
                ],
            },
        ],
        "customer_id": None,
    }
    assert "Idempotent-Replayed" not in response.headers
    assert levels(app, "LL-1") == {"floor": (1, 0), "backroom": (2, 0), "warehouse": (3, 0)}
    assert levels(app, "LL-2") == {"floor": (1, 0), "backroom": (0, 0), "warehouse": (0, 0)}
    assert levels(app, "LL-3") == {"floor": (0, 0), "backroom": (0, 0), "warehouse": (0, 0)}
    rows = ledger(client, keys, "LL-2", "order")
    assert sorted((r["location"], r["delta_on_hand"], r["delta_reserved"]) for r in rows) == [
        ("backroom", -2, 0),
        ("warehouse", -5, 0),
    ]
    assert {r["reference"] for r in rows} == {order["id"]}
    assert drifts(app) == []


@pytest.mark.parametrize(
    "replayed_body",
    [
        '{"lines": [{"sku": "LL-1", "quantity": 3}]}',
        '{ "lines" : [ { "quantity" : 3 , "sku" : "LL-1" } ] }',
    ],
    ids=["same-json", "same-fields-reordered"],
)
def test_a_replayed_order_returns_the_first_response_and_takes_stock_once(
    app: Flask, client: FlaskClient, keys: Keys, replayed_body: str
) -> None:
    add_product(app, "LL-1", UNITS)
    first = place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 3}]})

    replay = client.post(
        "/api/v1/orders",
        data=replayed_body,
        content_type="application/json",
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "order-1"}),
    )

    assert first.status_code == replay.status_code == 201
    assert replay.get_json() == first.get_json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert stock_of(app, "LL-1").on_hand == 5
    assert len(ledger(client, keys, "LL-1", "order")) == 1
    assert drifts(app) == []


def test_the_same_idempotency_key_with_another_body_is_refused(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", UNITS)
    place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 3}]})

    response = place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 4}]})

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in body["errors"]
    assert stock_of(app, "LL-1").on_hand == 5
    assert drifts(app) == []


def test_idempotency_keys_belong_to_the_api_key_that_sent_them(
    app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner
) -> None:
    add_product(app, "LL-1", UNITS)
    created = runner.invoke(args=["keys", "create", "--role", "webshop", "--name", "Webshop 2"])
    assert created.exit_code == 0, created.output
    other_shop = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}
    body = {"lines": [{"sku": "LL-1", "quantity": 3}]}
    first = place(client, keys, body, "cart-7")

    second = client.post(
        "/api/v1/orders", json=body, headers={**other_shop, "Idempotency-Key": "cart-7"}
    )

    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
    assert second.get_json()["id"] != first.get_json()["id"]
    assert stock_of(app, "LL-1").on_hand == 2
    assert drifts(app) == []


@pytest.mark.parametrize("key", [None, ""], ids=["missing", "empty"])
def test_an_order_needs_an_idempotency_key(
    app: Flask, client: FlaskClient, keys: Keys, key: str | None
) -> None:
    add_product(app, "LL-1", UNITS)

    response = place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 1}]}, key)

    assert response.status_code == 422
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert stock_of(app, "LL-1").on_hand == 8


@pytest.mark.parametrize(("role", "status"), [(None, 401), (Role.SELLER, 403), (Role.DEVICE, 403)])
def test_only_the_webshop_and_the_owner_place_orders(
    app: Flask, client: FlaskClient, keys: Keys, role: Role | None, status: int
) -> None:
    add_product(app, "LL-1", UNITS)
    headers = {"Idempotency-Key": "order-1"}
    if role is not None:
        headers = keys.headers(role, **headers)

    response = client.post(
        "/api/v1/orders", json={"lines": [{"sku": "LL-1", "quantity": 1}]}, headers=headers
    )

    assert response.status_code == status
    assert stock_of(app, "LL-1").on_hand == 8


@pytest.mark.parametrize("short", [[1], [0, 2]], ids=["one-short-line", "two-short-lines"])
def test_an_order_with_short_lines_takes_nothing_and_names_every_short_line(
    app: Flask, client: FlaskClient, keys: Keys, short: list[int]
) -> None:
    skus = ["LL-1", "LL-2", "LL-3"]
    for sku in skus:
        add_product(app, sku, UNITS)
    quantities = [9 if i in short else 2 for i in range(3)]
    before = {sku: levels(app, sku) for sku in skus}

    response = place(
        client,
        keys,
        {"lines": [{"sku": s, "quantity": q} for s, q in zip(skus, quantities, strict=True)]},
    )

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "insufficient_stock"
    assert body["errors"]["lines"] == [
        {"index": i, "sku": skus[i], "requested": 9, "available": 8} for i in short
    ]
    assert {sku: levels(app, sku) for sku in skus} == before
    assert all(ledger(client, keys, sku, "order") == [] for sku in skus)
    assert drifts(app) == []


def test_a_web_reservation_becomes_part_of_the_order_without_counting_twice(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", UNITS)
    held = reserve(client, keys, "LL-1", 2)

    response = place(
        client, keys, {"lines": [{"sku": "LL-1", "quantity": 3}], "reservation_ids": [held]}
    )

    assert response.status_code == 201, response.get_json()
    order = response.get_json()
    assert order["lines"][0]["allocations"] == [
        {"location": "warehouse", "quantity": 2, "reservation_id": held},
        {"location": "warehouse", "quantity": 1},
    ]
    reservation = client.get(
        f"/api/v1/reservations/{held}", headers=keys.headers(Role.WEBSHOP)
    ).get_json()
    assert (reservation["status"], reservation["order_id"]) == ("committed", order["id"])
    stock = stock_of(app, "LL-1")
    assert (stock.on_hand, stock.reserved, stock.available) == (5, 0, 5)
    assert levels(app, "LL-1")["warehouse"] == (2, 0)
    rows = ledger(client, keys, "LL-1", "order")
    assert [(r["location"], r["delta_on_hand"], r["delta_reserved"]) for r in rows] == [
        ("warehouse", -3, -2)
    ]
    assert drifts(app) == []


def _expired(client: FlaskClient, keys: Keys, clock: FrozenClock) -> str:
    held = reserve(client, keys, "LL-2", 1)
    clock.advance(minutes=16)
    return held


def _released(client: FlaskClient, keys: Keys, clock: FrozenClock) -> str:
    held = reserve(client, keys, "LL-2", 1)
    client.delete(f"/api/v1/reservations/{held}", headers=keys.headers(Role.WEBSHOP))
    return held


def _committed(client: FlaskClient, keys: Keys, clock: FrozenClock) -> str:
    held = reserve(client, keys, "LL-2", 1)
    client.post(f"/api/v1/reservations/{held}/commit", json={}, headers=keys.headers(Role.WEBSHOP))
    return held


def _unknown(client: FlaskClient, keys: Keys, clock: FrozenClock) -> str:
    return str(uuid.uuid4())


@pytest.mark.parametrize("make", [_expired, _released, _committed, _unknown])
def test_an_order_naming_an_unusable_reservation_changes_nothing(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, make: Any
) -> None:
    add_product(app, "LL-1", UNITS)
    add_product(app, "LL-2", UNITS)
    good = reserve(client, keys, "LL-1", 1, ttl_seconds=3600)
    bad = make(client, keys, clock)
    before = {sku: levels(app, sku) for sku in ("LL-1", "LL-2")}

    response = place(
        client,
        keys,
        {
            "lines": [{"sku": "LL-1", "quantity": 1}, {"sku": "LL-2", "quantity": 1}],
            "reservation_ids": [good, bad],
        },
    )

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "reservation_not_active"
    assert list(body["errors"]) == ["reservation_ids.1"]
    assert {sku: levels(app, sku) for sku in ("LL-1", "LL-2")} == before
    good_now = client.get(f"/api/v1/reservations/{good}", headers=keys.headers(Role.WEBSHOP))
    assert good_now.get_json()["status"] == "active"
    assert drifts(app) == []


def test_a_reservation_for_a_product_not_on_any_line_is_refused(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", UNITS)
    add_product(app, "LL-2", UNITS)
    elsewhere = reserve(client, keys, "LL-2", 1)

    response = place(
        client, keys, {"lines": [{"sku": "LL-1", "quantity": 1}], "reservation_ids": [elsewhere]}
    )

    assert response.status_code == 409
    assert "reservation_ids.0" in response.get_json()["errors"]
    assert stock_of(app, "LL-1").on_hand == 8
    assert (stock_of(app, "LL-2").on_hand, stock_of(app, "LL-2").reserved) == (8, 1)
    assert drifts(app) == []


def test_a_webshop_order_cannot_take_over_a_store_reservation(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", UNITS)
    store_hold = client.post(
        "/api/v1/reservations",
        json={"sku": "LL-1", "quantity": 1},
        headers=keys.headers(Role.SELLER),
    ).get_json()["id"]

    response = place(
        client, keys, {"lines": [{"sku": "LL-1", "quantity": 1}], "reservation_ids": [store_hold]}
    )

    assert response.status_code in (403, 409)
    assert (stock_of(app, "LL-1").on_hand, stock_of(app, "LL-1").reserved) == (8, 1)
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("lines", "code", "field"),
    [
        (
            [{"sku": "LL-1", "quantity": 1}, {"sku": "LL-1", "quantity": 2}],
            "validation_error",
            "lines.1.sku",
        ),
        (
            [{"sku": "LL-1", "quantity": 1}, {"sku": "NO-SUCH", "quantity": 1}],
            "product_not_found",
            "lines.1.sku",
        ),
        ([{"sku": "LL-1", "quantity": 0}], "validation_error", "lines.0.quantity"),
        ([{"sku": "LL-1", "quantity": -1}], "validation_error", "lines.0.quantity"),
        ([{"sku": "LL-1", "quantity": "2"}], "validation_error", "lines.0.quantity"),
        ([{"sku": "LL-1", "quantity": 2.5}], "validation_error", "lines.0.quantity"),
        ([{"sku": "LL-1", "quantity": 1001}], "validation_error", "lines.0.quantity"),
        ([{"sku": "LL-1"}], "validation_error", "lines.0.quantity"),
        ([{"sku": "LL-1", "quantity": 1, "qty": 1}], "validation_error", "lines.0.qty"),
        ([], "validation_error", "lines"),
        ([{"sku": f"LL-{i}", "quantity": 1} for i in range(101)], "validation_error", "lines"),
        (None, "validation_error", "lines"),
    ],
    ids=[
        "duplicate-sku",
        "unknown-sku",
        "quantity-0",
        "quantity-negative",
        "quantity-string",
        "quantity-float",
        "quantity-over-1000",
        "quantity-missing",
        "unknown-field",
        "no-lines",
        "101-lines",
        "lines-null",
    ],
)
def test_invalid_order_lines_are_refused_naming_the_field(
    app: Flask, client: FlaskClient, keys: Keys, lines: Any, code: str, field: str
) -> None:
    add_product(app, "LL-1", UNITS)

    response = place(client, keys, {"lines": lines})

    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == code
    assert field_errors(body["errors"], field)
    assert stock_of(app, "LL-1").on_hand == 8
    assert drifts(app) == []


def test_a_product_no_longer_sold_cannot_be_ordered(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", UNITS)
    add_product(app, "LL-OLD", UNITS)
    client.delete("/api/v1/products/LL-OLD", headers=keys.headers(Role.OWNER))

    response = place(
        client,
        keys,
        {"lines": [{"sku": "LL-1", "quantity": 1}, {"sku": "LL-OLD", "quantity": 1}]},
    )

    assert response.status_code == 409
    body = response.get_json()
    assert body["code"] == "product_inactive"
    assert list(body["errors"]) == ["lines.1.sku"]
    assert stock_of(app, "LL-1").on_hand == stock_of(app, "LL-OLD").on_hand == 8
    assert drifts(app) == []


def test_cancelling_an_order_puts_every_unit_back_where_it_was_taken(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", UNITS)
    add_product(app, "LL-2", UNITS)
    held = reserve(client, keys, "LL-2", 1)
    before = {sku: levels(app, sku) for sku in ("LL-1", "LL-2")}
    order = place(
        client,
        keys,
        {
            "lines": [{"sku": "LL-1", "quantity": 8}, {"sku": "LL-2", "quantity": 6}],
            "reservation_ids": [held],
        },
    ).get_json()

    response = client.post(
        f"/api/v1/orders/{order['id']}/cancel", headers=keys.headers(Role.WEBSHOP)
    )

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "cancelled"
    assert body["cancelled_at"] == NOW
    assert body["lines"] == order["lines"]
    # The held unit was sold then given back: it is on hand again, no longer reserved.
    assert levels(app, "LL-1") == before["LL-1"]
    assert levels(app, "LL-2") == {"floor": (1, 0), "backroom": (2, 0), "warehouse": (5, 0)}
    rows = ledger(client, keys, "LL-1", "order_cancel")
    assert sorted((r["location"], r["delta_on_hand"], r["delta_reserved"]) for r in rows) == [
        ("backroom", 2, 0),
        ("floor", 1, 0),
        ("warehouse", 5, 0),
    ]
    assert {r["reference"] for r in rows} == {order["id"]}
    assert drifts(app) == []


def test_an_order_cannot_be_cancelled_twice(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "LL-1", UNITS)
    order = place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 3}]}).get_json()
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=keys.headers(Role.WEBSHOP))

    response = client.post(
        f"/api/v1/orders/{order['id']}/cancel", headers=keys.headers(Role.WEBSHOP)
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "order_not_cancellable"
    assert stock_of(app, "LL-1").on_hand == 8
    assert len(ledger(client, keys, "LL-1", "order_cancel")) == 1
    assert drifts(app) == []


def test_an_order_reads_as_it_is_now_while_a_replay_returns_the_original(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "LL-1", UNITS)
    body = {"lines": [{"sku": "LL-1", "quantity": 3}], "reference": "WEB-1001"}
    placed = place(client, keys, body).get_json()
    clock.advance(minutes=5)
    client.post(f"/api/v1/orders/{placed['id']}/cancel", headers=keys.headers(Role.WEBSHOP))

    now = client.get(f"/api/v1/orders/{placed['id']}", headers=keys.headers(Role.WEBSHOP))
    replay = place(client, keys, body)

    assert now.status_code == 200
    assert now.get_json() == {
        **placed,
        "status": "cancelled",
        "cancelled_at": "2026-11-27T09:35:00+00:00",
    }
    assert replay.status_code == 201
    assert replay.get_json() == placed
    assert placed["status"] == "confirmed"
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert stock_of(app, "LL-1").on_hand == 8
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("post", "/cancel")], ids=["read", "cancel"]
)
def test_an_unknown_order_is_not_found(
    client: FlaskClient, keys: Keys, method: str, suffix: str
) -> None:
    order_id = uuid.uuid4()

    response = getattr(client, method)(
        f"/api/v1/orders/{order_id}{suffix}", headers=keys.headers(Role.WEBSHOP)
    )

    assert response.status_code == 404
    assert response.get_json()["code"] == "order_not_found"


def test_expired_web_holds_are_released_before_the_order_is_allocated(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "LL-1", {"warehouse": 2})
    abandoned = reserve(client, keys, "LL-1", 2)
    assert place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 2}]}).status_code == 409
    clock.advance(minutes=16)

    response = place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 2}]}, "order-2")

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["lines"][0]["allocations"] == [
        {"location": "warehouse", "quantity": 2}
    ]
    cart = client.get(f"/api/v1/reservations/{abandoned}", headers=keys.headers(Role.WEBSHOP))
    assert cart.get_json()["status"] == "expired"
    assert levels(app, "LL-1")["warehouse"] == (0, 0)
    assert [r["delta_reserved"] for r in ledger(client, keys, "LL-1", "expiry")] == [-2]
    assert drifts(app) == []


def test_a_failed_order_can_be_retried_with_the_same_key(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", {"warehouse": 2})
    body = {"lines": [{"sku": "LL-1", "quantity": 3}]}
    assert place(client, keys, body).status_code == 409
    client.post(
        "/api/v1/stock/adjustments",
        json={"sku": "LL-1", "location": "backroom", "delta": 1, "reason": "delivery"},
        headers=keys.headers(Role.OWNER),
    )

    response = place(client, keys, body)

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response.headers
    assert response.get_json()["lines"][0]["allocations"] == [
        {"location": "warehouse", "quantity": 2},
        {"location": "backroom", "quantity": 1},
    ]
    assert stock_of(app, "LL-1").on_hand == 0
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("method", "suffix"), [("get", ""), ("post", "/cancel")], ids=["read", "cancel"]
)
def test_a_webshop_key_sees_only_the_orders_it_placed(
    app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner, method: str, suffix: str
) -> None:
    add_product(app, "LL-1", UNITS)
    order = place(client, keys, {"lines": [{"sku": "LL-1", "quantity": 3}]}).get_json()
    created = runner.invoke(args=["keys", "create", "--role", "webshop", "--name", "Webshop 2"])
    other_shop = {"Authorization": f"Bearer {created.stdout.strip().splitlines()[-1]}"}

    response = getattr(client, method)(f"/api/v1/orders/{order['id']}{suffix}", headers=other_shop)

    assert response.status_code == 404
    assert response.get_json()["code"] == "order_not_found"
    owner_view = client.get(f"/api/v1/orders/{order['id']}", headers=keys.headers(Role.OWNER))
    assert owner_view.get_json()["status"] == "confirmed"
    assert stock_of(app, "LL-1").on_hand == 5
    assert drifts(app) == []
