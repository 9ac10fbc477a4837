"""The transactional outbox and the pull feed: every change writes its events, in order."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from store_api import db
from store_api.events.models import Event
from store_api.keys.models import Role
from store_api.stock import service as stock
from store_api.stock.models import Channel, Reason
from tests.conftest import Keys, LiveServer
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

FEED = "/api/v1/events"


def feed(client: FlaskClient, keys: Keys, **query: Any) -> dict[str, Any]:
    response = client.get(FEED, query_string=query, headers=keys.headers(Role.WEBSHOP))
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def events_since(client: FlaskClient, keys: Keys, after: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = feed(client, keys, after=after, limit=1000)["events"]
    return events


def cursor(client: FlaskClient, keys: Keys) -> int:
    last: int = feed(client, keys)["last_seq"]
    return last


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


def reserve(client: FlaskClient, keys: Keys, sku: str, quantity: int = 1) -> Any:
    return client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": quantity},
        headers=keys.headers(Role.SELLER),
    )


def test_a_reservation_writes_its_event_and_the_stock_change(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", {"floor": 1, "backroom": 9})
    after = cursor(client, keys)

    hold = reserve(client, keys, "LL-1").get_json()
    events = events_since(client, keys, after)

    assert types(events) == ["reservation.created", "stock.changed"]
    created, changed = events
    assert created["payload"]["id"] == hold["id"]
    assert created["payload"]["status"] == "active"
    assert created["sku"] == "LL-1"
    assert changed["payload"] == {
        "sku": "LL-1",
        "reason": "reservation",
        "reference": hold["id"],
        "available_before": 10,
        "available_after": 9,
        "locations": [
            {
                "location": "floor",
                "available_before": 1,
                "available_after": 0,
                "on_hand": 1,
                "reserved": 1,
            }
        ],
    }
    assert [e["seq"] for e in events] == [after + 1, after + 2]


@pytest.mark.parametrize(
    ("units", "take", "expected"),
    [
        pytest.param({"floor": 1}, 1, "stock.out", id="last-unit"),
        pytest.param({"floor": 3}, 1, "stock.low", id="down-to-the-threshold"),
        pytest.param({"floor": 10}, 1, None, id="plenty-left"),
    ],
)
def test_crossing_a_threshold_writes_a_stock_event(
    app: Flask, client: FlaskClient, keys: Keys, units: dict[str, int], take: int, expected: str
) -> None:
    add_product(app, "LL-1", units)
    after = cursor(client, keys)

    reserve(client, keys, "LL-1", take)
    stock_events = [t for t in types(events_since(client, keys, after)) if t.startswith("stock.")]

    assert stock_events == ["stock.changed"] + ([expected] if expected else [])


def test_a_product_threshold_overrides_the_default(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", {"floor": 6}, low_stock_threshold=5)
    after = cursor(client, keys)

    reserve(client, keys, "LL-1")
    low = [e for e in events_since(client, keys, after) if e["type"] == "stock.low"]

    assert [e["payload"]["threshold"] for e in low] == [5]


def test_a_delivery_after_running_out_is_back_in_stock(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", {"floor": 0})
    after = cursor(client, keys)

    client.post(
        "/api/v1/stock/adjustments",
        json={"sku": "LL-1", "location": "warehouse", "delta": 4, "reason": "delivery"},
        headers=keys.headers(Role.SELLER),
    )
    events = events_since(client, keys, after)

    assert types(events) == ["stock.changed", "stock.back_in_stock"]
    assert events[1]["payload"]["available_after"] == 4


def test_release_extend_commit_and_expiry_each_write_their_event(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, runner: FlaskCliRunner
) -> None:
    add_product(app, "LL-1", {"floor": 5})
    headers = keys.headers(Role.SELLER)
    first = reserve(client, keys, "LL-1").get_json()["id"]
    second = reserve(client, keys, "LL-1").get_json()["id"]
    third = client.post(
        "/api/v1/reservations",
        json={"sku": "LL-1", "quantity": 1, "ttl_seconds": 60},
        headers=headers,
    ).get_json()["id"]
    after = cursor(client, keys)

    client.post(f"/api/v1/reservations/{first}/extend", json={}, headers=headers)
    client.post(f"/api/v1/reservations/{first}/commit", json={}, headers=headers)
    client.delete(f"/api/v1/reservations/{second}", headers=headers)
    clock.advance(minutes=2)
    runner.invoke(args=["reservations", "expire"])
    events = events_since(client, keys, after)

    lifecycle = [(e["type"], e["payload"]["id"]) for e in events if e["type"].startswith("res")]
    assert lifecycle == [
        ("reservation.extended", first),
        ("reservation.committed", first),
        ("reservation.released", second),
        ("reservation.expired", third),
    ]
    reasons = [e["payload"]["reason"] for e in events if e["type"] == "stock.changed"]
    assert reasons == ["sale", "release", "expiry"]


def test_orders_and_products_write_their_events(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    owner = keys.headers(Role.OWNER)
    after = cursor(client, keys)

    client.post(
        "/api/v1/products", json={"sku": "TV-1", "name": "TV", "price": "499.00"}, headers=owner
    )
    client.patch("/api/v1/products/TV-1", json={"price": "449.00"}, headers=owner)
    client.post(
        "/api/v1/stock/adjustments",
        json={"sku": "TV-1", "location": "warehouse", "delta": 5, "reason": "delivery"},
        headers=owner,
    )
    order = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": "TV-1", "quantity": 2}]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "o-1"}),
    ).get_json()
    client.post(f"/api/v1/orders/{order['id']}/cancel", headers=keys.headers(Role.WEBSHOP))
    client.delete("/api/v1/products/TV-1", headers=owner)
    events = events_since(client, keys, after)

    assert [t for t in types(events) if not t.startswith("stock.")] == [
        "product.created",
        "product.updated",
        "order.created",
        "order.cancelled",
        "product.deactivated",
    ]
    updated = next(e for e in events if e["type"] == "product.updated")
    assert updated["payload"]["changed"] == ["price"]
    assert updated["payload"]["price"] == "449.00"
    created = next(e for e in events if e["type"] == "order.created")
    assert created["payload"]["id"] == order["id"]


def test_a_refused_change_writes_no_event(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "LL-1", {"floor": 1})
    add_product(app, "LL-2", {"floor": 1})
    after = cursor(client, keys)

    short = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": "LL-1", "quantity": 1}, {"sku": "LL-2", "quantity": 2}]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "o-1"}),
    )
    too_many = reserve(client, keys, "LL-1", 5)

    assert (short.status_code, too_many.status_code) == (409, 409)
    assert events_since(client, keys, after) == []


def test_a_rolled_back_transaction_leaves_no_ghost_event(app: Flask, clock: FrozenClock) -> None:
    add_product(app, "LL-1", {"floor": 3})
    policy = app.extensions["comptoir_policy"]
    session = db.new_session(app)
    with db.read(session):
        before = session.scalar(select(func.count()).select_from(Event))

    with pytest.raises(RuntimeError, match="crash after the change"), db.write(session):
        stock.reserve(
            session,
            sku="LL-1",
            quantity=1,
            channel=Channel.STORE,
            location=None,
            ttl_seconds=None,
            note=None,
            actor="t",
            now=clock(),
            policy=policy,
        )
        stock.adjust(
            session,
            sku="LL-1",
            location="floor",
            delta=1,
            reason=Reason.DELIVERY,
            actor="t",
            reference=None,
            now=clock(),
            policy=policy,
        )
        raise RuntimeError("crash after the change")

    with db.read(session):
        after = session.scalar(select(func.count()).select_from(Event))
    session.close()
    assert after == before


def test_the_feed_pages_without_gaps_and_filters(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    for i in range(5):
        add_product(app, f"LL-{i}", {"floor": 2})
    everything = events_since(client, keys, 0)

    seen, after = [], 0
    while True:
        page = feed(client, keys, after=after, limit=3)
        if not page["events"]:
            break
        seen += page["events"]
        after = page["next_after"]

    assert seen == everything
    assert [e["seq"] for e in everything] == list(range(1, len(everything) + 1))
    only_products = feed(client, keys, after=0, type="product.*")["events"]
    assert {e["type"] for e in only_products} == {"product.created"}
    one_sku = feed(client, keys, after=0, sku="LL-3")["events"]
    assert {e["sku"] for e in one_sku} == {"LL-3"}
    assert feed(client, keys, after=after)["next_after"] == after


@pytest.mark.parametrize(
    "query",
    [{"after": -1}, {"limit": 0}, {"limit": 1001}, {"type": "stock.exploded"}, {"cursor": 3}],
)
def test_bad_feed_queries_are_refused(
    client: FlaskClient, keys: Keys, query: dict[str, Any]
) -> None:
    response = client.get(FEED, query_string=query, headers=keys.headers(Role.WEBSHOP))

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == set(query)


@pytest.mark.http
def test_readers_paging_while_writers_commit_see_every_event_once(
    app: Flask, keys: Keys, live_server: LiveServer
) -> None:
    skus = [add_product(app, f"LL-{i}", {"floor": 50}) for i in range(4)]
    start = _last_seq(live_server, keys)
    writers_done = threading.Event()
    errors: list[str] = []

    def write(worker: int) -> None:
        with requests.Session() as http:
            for n in range(25):
                sku = skus[(worker + n) % len(skus)]
                r = http.post(
                    f"{live_server.url}/api/v1/reservations",
                    json={"sku": sku, "quantity": 1},
                    headers=keys.headers(Role.SELLER),
                    timeout=30,
                )
                if r.status_code != 201:
                    errors.append(r.text)
                    continue
                http.delete(
                    f"{live_server.url}/api/v1/reservations/{r.json()['id']}",
                    headers=keys.headers(Role.SELLER),
                    timeout=30,
                )

    def read(into: list[int]) -> None:
        after = start
        with requests.Session() as http:
            while True:
                done = writers_done.is_set()
                page = http.get(
                    f"{live_server.url}{FEED}",
                    params={"after": after, "limit": 7},
                    headers=keys.headers(Role.WEBSHOP),
                    timeout=30,
                ).json()
                into += [e["seq"] for e in page["events"]]
                after = page["next_after"]
                if done and not page["events"]:
                    return

    readers: list[list[int]] = [[], []]
    reader_threads = [threading.Thread(target=read, args=(r,)) for r in readers]
    writer_threads = [threading.Thread(target=write, args=(w,)) for w in range(4)]
    for t in reader_threads + writer_threads:
        t.start()
    for t in writer_threads:
        t.join()
    writers_done.set()
    for t in reader_threads:
        t.join()

    assert errors == []
    end = _last_seq(live_server, keys)
    # 100 reservations and 100 releases, each with its stock.changed event.
    assert end - start >= 400
    for seen in readers:
        assert seen == list(range(start + 1, end + 1))


def _last_seq(server: LiveServer, keys: Keys) -> int:
    last: int = server.get(FEED, keys[Role.WEBSHOP]).json()["last_seq"]
    return last
