"""The SQL cost of the hot paths is part of the contract (see the foundation issue)."""

from __future__ import annotations

from flask import Flask

from store_api import db
from store_api.orders import service as orders
from store_api.sqlcount import count_statements
from store_api.stock import service as stock
from store_api.stock.models import Channel
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product


def test_a_reservation_costs_at_most_four_statements(app: Flask, clock: FrozenClock) -> None:
    add_product(app, "LL-1", {"floor": 2})
    session = db.new_session(app)
    with count_statements(db.engine_for(app)) as counter, db.write(session):
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
            policy=app.extensions["comptoir_policy"],
        )
    assert counter.count <= 4, counter.statements


def test_a_release_costs_at_most_four_statements(app: Flask, clock: FrozenClock) -> None:
    add_product(app, "LL-1", {"floor": 2})
    session = db.new_session(app)
    policy = app.extensions["comptoir_policy"]
    with db.write(session):
        held = stock.reserve(
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
    with count_statements(db.engine_for(app)) as counter, db.write(session):
        stock.release(session, held.id, actor="t", now=clock(), policy=policy)
    assert counter.count <= 4, counter.statements


def test_a_three_line_order_costs_at_most_ten_statements(app: Flask, clock: FrozenClock) -> None:
    for sku in ("A", "B", "C"):
        add_product(app, sku, {"warehouse": 5})
    key_id = _a_key(app, clock)
    session = db.new_session(app)
    with count_statements(db.engine_for(app)) as counter, db.write(session):
        orders.place_order(
            session,
            lines=[orders.LineRequest(sku, 1) for sku in ("A", "B", "C")],
            reservation_ids=[],
            client_key_id=key_id,
            idempotency_key="k",
            body_hash="h",
            actor="t",
            reference=None,
            now=clock(),
            policy=app.extensions["comptoir_policy"],
        )
    assert counter.count <= 10, counter.statements


def _a_key(app: Flask, clock: FrozenClock) -> int:
    from store_api.keys import service as keys

    session = db.new_session(app)
    with db.write(session):
        key, _secret = keys.create_key(session, name="shop", role="webshop", now=clock())
    return key.id
