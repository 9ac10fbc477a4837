"""Availability totals in stock events are per product (regression: on SQLite the RETURNING
subquery summed every product's stock, so a second product never came back in stock)."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from store_api import db
from store_api.events.models import Event
from store_api.stock import service as stock
from store_api.stock.models import Reason
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product


def test_each_product_comes_back_in_stock_on_its_own(app: Flask, clock: FrozenClock) -> None:
    add_product(app, "A-1", {"floor": 3})
    add_product(app, "A-2", {})
    session = db.new_session(app)
    with db.write(session):
        stock.adjust(
            session,
            sku="A-2",
            location="backroom",
            delta=1,
            reason=Reason.DELIVERY,
            actor="t",
            reference=None,
            now=clock(),
            policy=app.extensions["comptoir_policy"],
        )
    with db.read(session):
        events = session.execute(
            select(Event.type, Event.payload).where(Event.sku == "A-2").order_by(Event.seq)
        ).all()
    session.close()

    changed = [p for t, p in events if t == "stock.changed"]
    assert [(p["available_before"], p["available_after"]) for p in changed] == [(0, 1)]
    assert "stock.back_in_stock" in [t for t, _p in events]
