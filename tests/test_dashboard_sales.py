"""The owner's sales page: revenue by day, channel or category in French, its CSV, bad input."""

from __future__ import annotations

import csv
import io

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Keys
from tests.fixtures.dashboard import login, plain
from tests.fixtures.sales import order, store_sale
from tests.fixtures.shop import add_product

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}


@pytest.fixture
def shop(app: Flask, client: FlaskClient, keys: Keys) -> Flask:
    add_product(app, "LL-1", {"floor": 3}, category="Lave-linge", price="1249.00")
    add_product(app, "AC-1", {"floor": 10}, category="Accessoires", price="19.99")
    store_sale(client, keys, "LL-1")
    order(client, keys, {"AC-1": 2})
    login(client, keys)
    return app


def test_sales_by_channel_in_french(shop: Flask, client: FlaskClient) -> None:
    response = client.get("/dashboard/sales", query_string={**PERIOD, "by": "channel"})

    text = plain(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "<h1>Ventes · du 1 novembre 2026 au 30 novembre 2026</h1>" in text
    assert "1 288,98 €" in text  # 1 249,00 + 2 x 19,99: the total, French way
    assert "Panier moyen" in text and "644,49 €" in text
    assert ">magasin</td>" in text and ">site web</td>" in text
    assert 'aria-current="page">Par canal</a>' in text


def test_sales_by_day_in_english_on_request(shop: Flask, client: FlaskClient) -> None:
    response = client.get("/dashboard/sales", query_string={**PERIOD, "lang": "en"})

    text = plain(response.get_data(as_text=True))
    assert "<h1>Sales · " in text
    assert "€1,288.98" in text
    assert "Average basket" in text


def test_the_csv_keeps_its_column_keys(shop: Flask, client: FlaskClient) -> None:
    response = client.get("/dashboard/sales.csv", query_string={**PERIOD, "by": "category"})

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["category"], r["units"], r["revenue"]) for r in rows] == [
        ("Accessoires", "2", "39.98"),
        ("Lave-linge", "1", "1249.00"),
    ]


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ({"by": "week"}, "Regroupez les ventes par jour, par canal ou par catégorie."),
        ({"from": "2026-13-01"}, "« Du »"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, ""),
    ],
)
def test_bad_input_is_a_french_page_not_a_500(
    shop: Flask, client: FlaskClient, query: dict[str, str], named: str
) -> None:
    response = client.get("/dashboard/sales", query_string={**PERIOD, **query})

    assert response.status_code in (400, 422)
    text = plain(response.get_data(as_text=True))
    assert "Période ou filtre invalide" in text
    assert named in text


def test_the_page_needs_a_login(app: Flask) -> None:
    response = app.test_client().get("/dashboard/sales")

    assert response.status_code == 302
    assert "/dashboard/login" in response.headers["Location"]
