"""Prices on sales: orders and committed holds keep the price of the moment; GET /api/v1/sales
reads revenue by day, channel and category; refusals for insufficient stock are kept."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from store_api import create_app, db
from store_api.cli import upgrade_database
from store_api.keys.models import Role
from store_api.stock.models import StockRefusal
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.sales import commit, hold, order, set_price, store_sale
from tests.fixtures.shop import add_product

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def shop(app: Flask) -> Flask:
    add_product(app, "LL-1", {"floor": 3, "warehouse": 5}, category="Lave-linge", price="649.00")
    add_product(app, "FR-1", {"floor": 2, "warehouse": 2}, category="Froid", price="899.90")
    add_product(app, "AC-1", {"floor": 10}, category="Accessoires", price="19.99")
    return app


def sales(client: FlaskClient, keys: Keys, **query: str) -> dict:
    response = client.get(
        "/api/v1/sales", query_string={**PERIOD, **query}, headers=keys.headers(Role.OWNER)
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_order_keeps_the_price_it_was_placed_at(
    shop: Flask, client: FlaskClient, keys: Keys
) -> None:
    placed = order(client, keys, {"LL-1": 2, "AC-1": 3})
    set_price(client, keys, "LL-1", "599.00")  # a promotion afterwards changes nothing sold

    again = client.get(f"/api/v1/orders/{placed['id']}", headers=keys.headers(Role.WEBSHOP))

    assert placed["total"] == "1357.97"  # 2 x 649.00 + 3 x 19.99
    assert [(ln["sku"], ln["unit_price"], ln["line_total"]) for ln in placed["lines"]] == [
        ("LL-1", "649.00", "1298.00"),
        ("AC-1", "19.99", "59.97"),
    ]
    assert again.get_json()["total"] == "1357.97"
    assert again.get_json()["lines"][0]["unit_price"] == "649.00"
    assert sales(client, keys, by="channel")["total"]["revenue"] == "1357.97"


def test_a_committed_store_hold_keeps_the_price_of_the_sale(
    shop: Flask, client: FlaskClient, keys: Keys
) -> None:
    held = hold(client, keys, "FR-1", 2)
    set_price(client, keys, "FR-1", "849.90")  # changed while held: the till charges this

    sold = commit(client, keys, held)
    set_price(client, keys, "FR-1", "999.00")  # and later changes do not touch the sale

    assert (sold["unit_price"], sold["total"], sold["price_estimated"]) == (
        "849.90",
        "1699.80",
        False,
    )
    assert sales(client, keys, by="channel")["rows"] == [
        {
            "channel": "store",
            "sales": 1,
            "units": 2,
            "revenue": "1699.80",
            "average_basket": "1699.80",
            "estimated_revenue": "0.00",
        }
    ]


def test_sales_by_day_channel_and_category_count_each_purchase_once(
    shop: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    store_sale(client, keys, "LL-1")  # 27 Nov, 10:30 in Lyon
    web_hold = hold(client, keys, "FR-1", 1, role=Role.WEBSHOP)
    order(client, keys, {"FR-1": 1, "AC-1": 2}, reservation_ids=[web_hold])  # hold used once
    cancelled = order(client, keys, {"AC-1": 1})
    client.post(f"/api/v1/orders/{cancelled['id']}/cancel", headers=keys.headers(Role.WEBSHOP))
    clock.advance(hours=14)  # 23:30 UTC = 00:30 on the 28th in Lyon
    store_sale(client, keys, "AC-1", 2)

    found = sales(client, keys)

    assert found["rows"] == [
        {"day": "2026-11-27", "channel": "store", "category": "Lave-linge", "sales": 1,
         "units": 1, "revenue": "649.00", "average_basket": "649.00",
         "estimated_revenue": "0.00"},
        {"day": "2026-11-27", "channel": "web", "category": "Accessoires", "sales": 1,
         "units": 2, "revenue": "39.98", "average_basket": "39.98",
         "estimated_revenue": "0.00"},
        {"day": "2026-11-27", "channel": "web", "category": "Froid", "sales": 1, "units": 1,
         "revenue": "899.90", "average_basket": "899.90", "estimated_revenue": "0.00"},
        {"day": "2026-11-28", "channel": "store", "category": "Accessoires", "sales": 1,
         "units": 2, "revenue": "39.98", "average_basket": "39.98",
         "estimated_revenue": "0.00"},
    ]  # fmt: skip
    assert found["total"] == {
        "sales": 3,  # the store sale, the order (two categories, one purchase), the late sale
        "units": 6,
        "revenue": "1628.86",
        "average_basket": "542.95",
        "estimated_revenue": "0.00",
    }
    by_channel = sales(client, keys, by="channel")["rows"]
    assert [(r["channel"], r["sales"], r["revenue"]) for r in by_channel] == [
        ("store", 2, "688.98"),
        ("web", 1, "939.88"),
    ]


def test_the_csv_has_stable_column_keys(shop: Flask, client: FlaskClient, keys: Keys) -> None:
    store_sale(client, keys, "LL-1")

    response = client.get(
        "/api/v1/sales",
        query_string={**PERIOD, "by": "day,category", "format": "csv"},
        headers=keys.headers(Role.OWNER),
    )

    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == [
        "day", "category", "sales", "units", "revenue", "average_basket", "estimated_revenue",
    ]  # fmt: skip
    assert (rows[0]["day"], rows[0]["revenue"]) == ("2026-11-27", "649.00")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"by": "week"}, "by"),
        ({"by": "day,day"}, "by"),
        ({"from": "2026-12-01", "to": "2026-11-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-11-01"}, "to"),
        ({"from": "27/11/2026"}, "from"),
        ({"format": "pdf"}, "format"),
        ({"channel": "store"}, "channel"),
    ],
)
def test_a_bad_query_is_a_422_naming_the_field(
    client: FlaskClient, keys: Keys, query: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/sales", query_string=query, headers=keys.headers(Role.OWNER))

    assert response.status_code == 422
    assert field in str(response.get_json()["errors"])


# --- refusals: the last units both channels wanted ----------------------------------------


def refusals(app: Flask) -> list[tuple[str, str, str, int, int, str | None]]:
    session = db.new_session(app)
    with db.read(session):
        rows = session.scalars(select(StockRefusal).order_by(StockRefusal.id)).all()
        found = [
            (r.kind, r.channel, r.sku, r.requested, r.available, r.other_channel) for r in rows
        ]
    session.close()
    return found


def test_a_seller_refused_because_the_webshop_holds_the_last_unit_is_kept(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LAST-1", {"floor": 1})
    hold(client, keys, "LAST-1", 1, role=Role.WEBSHOP)

    refused = client.post(
        "/api/v1/reservations",
        json={"sku": "LAST-1", "quantity": 1},
        headers=keys.headers(Role.SELLER),
    )

    assert refused.status_code == 409
    assert refused.get_json()["code"] == "insufficient_stock"
    assert refusals(app) == [("reservation", "store", "LAST-1", 1, 0, "web")]


def test_an_order_refused_because_the_store_sold_the_last_unit_is_kept(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "LAST-2", {"floor": 1})
    add_product(app, "PLENTY", {"floor": 9})
    store_sale(client, keys, "LAST-2")
    clock.advance(hours=3)

    refused = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": "LAST-2", "quantity": 1}, {"sku": "PLENTY", "quantity": 1}]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": str(uuid.uuid4())}),
    )

    assert refused.status_code == 409
    assert refusals(app) == [("order", "web", "LAST-2", 1, 0, "store")]


def test_a_refusal_nobody_else_caused_has_no_other_channel(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "FEW", {"floor": 1})
    store_sale(client, keys, "FEW")
    clock.advance(hours=25)  # the store's sale was more than a day ago: not "the same units"

    refused = client.post(
        "/api/v1/reservations",
        json={"sku": "FEW", "quantity": 2},
        headers=keys.headers(Role.WEBSHOP),
    )
    same_channel = client.post(
        "/api/v1/reservations",
        json={"sku": "FEW", "quantity": 1},
        headers=keys.headers(Role.SELLER),
    )

    assert (refused.status_code, same_channel.status_code) == (409, 409)
    assert refusals(app) == [
        ("reservation", "web", "FEW", 2, 0, None),
        ("reservation", "store", "FEW", 1, 0, None),  # its own channel sold it: no contest
    ]


def test_other_errors_are_not_refusals(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "OK-1", {"floor": 1})

    unknown = client.post(
        "/api/v1/reservations",
        json={"sku": "NOPE", "quantity": 1},
        headers=keys.headers(Role.SELLER),
    )

    assert unknown.status_code == 422  # unknown SKU: named, not a stock refusal
    assert refusals(app) == []


# --- migration 0015: older sales get the catalogue price, flagged as estimated ----------------


def test_migration_0015_prices_older_sales_from_the_catalogue(
    empty_database: str, tmp_path: Path, clock: FrozenClock
) -> None:
    app = create_app({"DATABASE_URL": empty_database, "CLOCK": clock, "TESTING": True})
    app.instance_path = str(tmp_path)
    upgrade_database(app, "0015-1")  # the schema just before prices were recorded
    order_id, hold_id, open_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    engine = db.engine_for(app)
    when = clock().replace(tzinfo=None).isoformat(sep=" ")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO api_keys (id, name, role, key_hash, prefix, created_at) "
                "VALUES (1, 'web', 'webshop', 'h', 'cpt_', :now)"
            ),
            {"now": when},
        )
        conn.execute(
            text(
                "INSERT INTO products (id, sku, name, description, brand, category, colour, "
                "price, attributes, active, search_text, search_generation, created_at, "
                "updated_at) VALUES (1, 'OLD-1', 'Ancien', '', '', 'Froid', '', 450.50, '{}', "
                "true, '', 1, :now, :now)"
            ),
            {"now": when},
        )
        conn.execute(
            text(
                "INSERT INTO orders (id, status, channel, client_key_id, idempotency_key, "
                "request_hash, snapshot, created_by, created_at) VALUES (:id, 'confirmed', 'web', "
                "1, 'k', 'h', '{}', 'web', :now)"
            ),
            {"id": str(order_id) if _pg(app) else order_id.hex, "now": when},
        )
        conn.execute(
            text(
                "INSERT INTO order_lines (order_id, position, product_id, sku, quantity, "
                "allocations) VALUES (:id, 0, 1, 'OLD-1', 3, '[]')"
            ),
            {"id": str(order_id) if _pg(app) else order_id.hex},
        )
        for rid, status in ((hold_id, "committed"), (open_id, "active")):
            conn.execute(
                text(
                    "INSERT INTO reservations (id, product_id, sku, location, quantity, channel, "
                    "status, created_by, expires_at, created_at, updated_at) VALUES "
                    "(:id, 1, 'OLD-1', 'floor', 2, 'store', :status, 's', :now, :now, :now)"
                ),
                {"id": str(rid) if _pg(app) else rid.hex, "status": status, "now": when},
            )

    upgrade_database(app)

    with engine.connect() as conn:
        total = conn.execute(text("SELECT total FROM orders")).scalar_one()
        line = conn.execute(
            text("SELECT unit_price, line_total, price_estimated FROM order_lines")
        ).one()
        holds = conn.execute(
            text(
                "SELECT status, unit_price, total, price_estimated FROM reservations "
                "ORDER BY status"
            )
        ).all()
    engine.dispose()
    assert Decimal(total) == Decimal("1351.50")
    assert (Decimal(line[0]), Decimal(line[1]), bool(line[2])) == (
        Decimal("450.50"),
        Decimal("1351.50"),
        True,
    )
    assert [(s, p and Decimal(p), t and Decimal(t), bool(e)) for s, p, t, e in holds] == [
        ("active", None, None, False),  # not a sale: no price
        ("committed", Decimal("450.50"), Decimal("901.00"), True),
    ]


def _pg(app: Flask) -> bool:
    return db.engine_for(app).dialect.name == "postgresql"
