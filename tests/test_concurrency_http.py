"""Races through real HTTP against gunicorn with several worker processes."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from flask import Flask
from flask.testing import FlaskCliRunner

from store_api.keys.models import Role
from tests.conftest import Keys, LiveServer
from tests.fixtures.shop import add_product, stock_of

pytestmark = pytest.mark.http


def _race(n: int, call) -> list[requests.Response]:  # type: ignore[no-untyped-def]
    start = threading.Barrier(n)

    def one(i: int) -> requests.Response:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_fifty_clients_race_for_the_last_three_units(
    app: Flask, keys: Keys, live_server: LiveServer, runner: FlaskCliRunner
) -> None:
    sku = add_product(app, "LL-LAST-3", {"floor": 1, "backroom": 2})

    def reserve(i: int) -> requests.Response:
        role = Role.SELLER if i % 2 else Role.WEBSHOP
        return requests.post(
            f"{live_server.url}/api/v1/reservations",
            json={"sku": sku, "quantity": 1},
            headers=keys.headers(role),
            timeout=60,
        )

    responses = _race(50, reserve)

    statuses = Counter(r.status_code for r in responses)
    assert statuses == {201: 3, 409: 47}, [
        r.text for r in responses if r.status_code not in (201, 409)
    ]
    for r in responses:
        if r.status_code == 409:
            body = r.json()
            assert body["code"] == "insufficient_stock"
            assert body["errors"]["available"] == 0
    stock = stock_of(app, sku)
    assert (stock.on_hand, stock.reserved, stock.available) == (3, 3, 0)
    result = runner.invoke(args=["stock", "check"])
    assert result.exit_code == 0, result.output
    assert "No drift" in result.output


def test_an_order_replayed_twenty_times_at_once_changes_stock_once(
    app: Flask, keys: Keys, live_server: LiveServer, runner: FlaskCliRunner
) -> None:
    add_product(app, "TV-55", {"warehouse": 10})
    add_product(app, "AC-MOUNT", {"backroom": 10})
    body = {"lines": [{"sku": "TV-55", "quantity": 2}, {"sku": "AC-MOUNT", "quantity": 1}]}

    def order(_i: int) -> requests.Response:
        return requests.post(
            f"{live_server.url}/api/v1/orders",
            json=body,
            headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "order-42"}),
            timeout=60,
        )

    responses = _race(20, order)

    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert stock_of(app, "TV-55").on_hand == 8
    assert stock_of(app, "AC-MOUNT").on_hand == 9
    assert runner.invoke(args=["stock", "check"]).exit_code == 0
