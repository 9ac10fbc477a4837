"""The availability guard of a hold, replayed with a stale choice of row on both databases.

A hold is one UPDATE: a subquery picks the first location with enough free units, the UPDATE
reserves them there, and its WHERE checks again that the row it writes still has enough
(store_api.stock.service.take_from). On PostgreSQL the second check is what stops two holds
racing for the last unit (tests/test_concurrency_http.py, 50 clients through gunicorn): the
subquery reads the statement's snapshot, the UPDATE then waits for the other hold's row lock
and re-checks only its own WHERE. SQLite serialises writers (BEGIN IMMEDIATE), so no race
through HTTP can show the guard missing there. This test makes the interleaving
deterministic instead: the row is chosen while it has a free unit, another hold takes that
unit through the API, then the UPDATE runs with the stale choice. It must take nothing.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from store_api import db
from store_api.catalog.models import Product
from store_api.keys.models import Role
from store_api.stock import service
from store_api.stock.models import StockLevel
from tests.conftest import Keys
from tests.fixtures.shop import add_product, drifts, stock_of


def _level_id(app: Flask, sku: str, location: str = "floor") -> int:
    """The level the hold's subquery would pick now (the only location with stock)."""
    session = db.new_session(app)
    with db.read(session):
        level_id = session.scalar(
            select(StockLevel.id)
            .join(Product, Product.id == StockLevel.product_id)
            .where(Product.sku == sku, StockLevel.location == location)
        )
    session.close()
    assert level_id is not None
    return level_id


def _take(app: Flask, level_id: int) -> Any:
    """The hold's guarded UPDATE on ``level_id``, one unit."""
    session = db.new_session(app)
    with db.write(session):
        row = (
            session.connection()
            .execute(
                service.take_from(level_id),
                {"p_quantity": 1, "now": app.extensions["comptoir_clock"]()},
            )
            .first()
        )
    session.close()
    return row


def test_a_hold_on_a_row_chosen_before_the_last_unit_went_takes_nothing(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    sku = add_product(app, "LL-GUARD", {"floor": 1})
    assert stock_of(app, sku).available == 1
    stale_choice = _level_id(app, sku)  # chosen while the unit is free

    taken = client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": 1},
        headers=keys.headers(Role.SELLER),
    )
    assert taken.status_code == 201, taken.json

    assert _take(app, stale_choice) is None
    stock = stock_of(app, sku)
    assert (stock.on_hand, stock.reserved, stock.available) == (1, 1, 0)
    assert drifts(app) == []


def test_the_same_update_reserves_where_there_is_room(app: Flask) -> None:
    """The test above is not vacuous: with a free unit the statement does take it."""
    sku = add_product(app, "LL-ROOM", {"floor": 2})
    row = _take(app, _level_id(app, sku))
    assert row is not None and row.location == "floor"
    stock = stock_of(app, sku)
    assert (stock.on_hand, stock.reserved) == (2, 1)
