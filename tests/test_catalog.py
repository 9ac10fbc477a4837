"""The catalog through HTTP: create, read, change and retire products; find them; categories.

Products a test needs beforehand come from ``tests/fixtures/shop.py`` (the services the API
uses); what is under test goes through the Flask test client with real API keys.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from store_api import db
from store_api.catalog.models import Product
from store_api.keys.models import Role
from store_api.stock.models import StockLevel
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

PRODUCTS = "/api/v1/products"
NEW_PRODUCT = {
    "sku": "LL-BOS-WAN28-BL",
    "gtin": "2000012345678",
    "name": "Lave-linge hublot Bosch Serie 4 8 kg",
    "description": "Moteur EcoSilence Drive.",
    "brand": "Bosch",
    "category": "Lave-linge",
    "colour": "Blanc",
    "price": "499",
    "image_url": "https://images.comptoir.example/ll-bos-wan28-bl.jpg",
    "attributes": {"capacite_kg": 8, "classe_energie": "B"},
}
NO_STOCK = {"on_hand": 0, "reserved": 0, "available": 0}


def search(client: FlaskClient, keys: Keys, **params: Any) -> dict[str, Any]:
    response = client.get(PRODUCTS, query_string=params, headers=keys.headers(Role.SELLER))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def found_skus(client: FlaskClient, keys: Keys, **params: Any) -> list[str]:
    return [item["sku"] for item in search(client, keys, page_size=100, **params)["items"]]


def stock_rows(app: Flask, sku: str) -> list[str]:
    session = db.new_session(app)
    with db.read(session):
        locations = session.scalars(
            select(StockLevel.location)
            .join(Product, Product.id == StockLevel.product_id)
            .where(Product.sku == sku)
        ).all()
    session.close()
    return sorted(locations)


# --- create, read, change, retire ------------------------------------------------------


def test_an_owner_creates_a_product_with_empty_stock(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    response = client.post(PRODUCTS, json=NEW_PRODUCT, headers=keys.headers(Role.OWNER))

    assert response.status_code == 201, response.json
    body = response.json
    assert body == {
        **NEW_PRODUCT,
        "price": "499.00",
        "currency": "EUR",
        "active": True,
        "low_stock_threshold": None,
        "mpn": None,
        "created_at": clock().isoformat(),
        "updated_at": clock().isoformat(),
        "stock": NO_STOCK,
    }
    read = client.get(f"{PRODUCTS}/{NEW_PRODUCT['sku']}", headers=keys.headers(Role.SELLER))
    assert read.json == body


@pytest.mark.parametrize(
    "settings",
    [
        {"STOCK_LOCATIONS": ["floor", "backroom", "warehouse"]},
        {"STOCK_LOCATIONS": ["floor", "backroom", "warehouse", "showroom"]},
        {"STOCK_LOCATIONS": ["shop"], "WEB_LOCATION_ORDER": ["shop"]},
    ],
    ids=["default", "four-locations", "one-location"],
)
def test_a_new_product_has_a_stock_row_at_every_configured_location(
    app: Flask, client: FlaskClient, keys: Keys, settings: dict[str, Any]
) -> None:
    response = client.post(PRODUCTS, json=NEW_PRODUCT, headers=keys.headers(Role.OWNER))

    assert response.status_code == 201, response.json
    assert stock_rows(app, NEW_PRODUCT["sku"]) == sorted(settings["STOCK_LOCATIONS"])


def test_a_minimal_product_gets_empty_defaults(client: FlaskClient, keys: Keys) -> None:
    response = client.post(
        PRODUCTS,
        json={"sku": "AC-1", "name": "Câble", "price": 9.9},
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 201, response.json
    body = response.json
    assert body["price"] == "9.90"
    assert [body[f] for f in ("description", "brand", "category", "colour")] == ["", "", "", ""]
    assert (body["image_url"], body["attributes"], body["active"]) == (None, {}, True)


def test_patch_changes_only_the_fields_sent(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    created = client.post(PRODUCTS, json=NEW_PRODUCT, headers=keys.headers(Role.OWNER)).json
    later = clock.advance(hours=2)

    response = client.patch(
        f"{PRODUCTS}/{NEW_PRODUCT['sku']}",
        json={"name": "Lave-linge Bosch Serie 4", "price": "449.90", "image_url": None},
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 200, response.json
    expected = {
        **created,
        "name": "Lave-linge Bosch Serie 4",
        "price": "449.90",
        "image_url": None,
        "updated_at": later.isoformat(),
    }
    assert response.json == expected
    read = client.get(f"{PRODUCTS}/{NEW_PRODUCT['sku']}", headers=keys.headers(Role.SELLER))
    assert read.json == expected


def test_a_renamed_product_is_found_by_its_new_name_only(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "TV-1", name="Téléviseur OLED")

    client.patch(f"{PRODUCTS}/TV-1", json={"name": "Écran QLED"}, headers=keys.headers(Role.OWNER))

    assert found_skus(client, keys, q="qled") == ["TV-1"]
    assert found_skus(client, keys, q="oled") == []


def test_delete_deactivates_the_product(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "LL-OLD", {"floor": 2})

    response = client.delete(f"{PRODUCTS}/LL-OLD", headers=keys.headers(Role.OWNER))

    assert response.status_code == 200, response.json
    assert response.json["active"] is False
    assert response.json["stock"] == {"on_hand": 2, "reserved": 0, "available": 2}
    assert found_skus(client, keys) == []
    assert found_skus(client, keys, include_inactive="true") == ["LL-OLD"]
    read = client.get(f"{PRODUCTS}/LL-OLD", headers=keys.headers(Role.SELLER))
    assert read.status_code == 200
    assert read.json["active"] is False


def test_a_duplicate_sku_is_refused(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, NEW_PRODUCT["sku"], name="Déjà là")

    response = client.post(PRODUCTS, json=NEW_PRODUCT, headers=keys.headers(Role.OWNER))

    assert response.status_code == 409
    assert response.json["code"] == "sku_already_exists"
    assert response.json["errors"] == {"sku": NEW_PRODUCT["sku"]}
    existing = client.get(f"{PRODUCTS}/{NEW_PRODUCT['sku']}", headers=keys.headers(Role.SELLER))
    assert existing.json["name"] == "Déjà là"


@pytest.mark.parametrize(
    ("method", "json"),
    [("get", None), ("patch", {"name": "Nouveau"}), ("delete", None)],
)
def test_an_unknown_sku_is_not_found(
    client: FlaskClient, keys: Keys, method: str, json: dict[str, Any] | None
) -> None:
    response = getattr(client, method)(
        f"{PRODUCTS}/NOPE-404", json=json, headers=keys.headers(Role.OWNER)
    )

    assert response.status_code == 404
    assert response.json["code"] == "product_not_found"
    assert response.json["errors"] == {"sku": "NOPE-404"}


# --- validation --------------------------------------------------------------------------

VALID = {"sku": "LL-1", "name": "Lave-linge", "price": "499.00"}


@pytest.mark.parametrize(
    ("body", "bad_fields"),
    [
        pytest.param({"sku": "LL-1"}, {"name", "price"}, id="missing-name-and-price"),
        pytest.param({"name": "Lave-linge", "price": "1"}, {"sku"}, id="missing-sku"),
        pytest.param({**VALID, "price": "499.999"}, {"price"}, id="price-3-decimals"),
        pytest.param({**VALID, "price": "-1.00"}, {"price"}, id="price-negative"),
        pytest.param({**VALID, "price": "abc"}, {"price"}, id="price-not-a-number"),
        pytest.param({**VALID, "price": "NaN"}, {"price"}, id="price-nan"),
        pytest.param({**VALID, "price": "1000000.01"}, {"price"}, id="price-too-high"),
        pytest.param({**VALID, "sku": "a b"}, {"sku"}, id="sku-space"),
        pytest.param({**VALID, "sku": "é"}, {"sku"}, id="sku-accent"),
        pytest.param({**VALID, "sku": "-LL"}, {"sku"}, id="sku-leading-dash"),
        pytest.param({**VALID, "sku": "X" * 65}, {"sku"}, id="sku-too-long"),
        pytest.param({**VALID, "sku": "movements"}, {"sku"}, id="sku-shadows-a-stock-route"),
        pytest.param({**VALID, "colour_code": "BL"}, {"colour_code"}, id="unknown-field"),
        pytest.param({**VALID, "image_url": "ftp://x.example/a.jpg"}, {"image_url"}, id="ftp-url"),
        pytest.param({**VALID, "image_url": "javascript:alert(1)"}, {"image_url"}, id="js-url"),
        pytest.param({**VALID, "attributes": "8 kg"}, {"attributes"}, id="attributes-string"),
        pytest.param({**VALID, "attributes": [8, "kg"]}, {"attributes"}, id="attributes-list"),
        pytest.param({**VALID, "name": ""}, {"name"}, id="name-empty"),
        pytest.param({**VALID, "name": "x" * 256}, {"name"}, id="name-too-long"),
        pytest.param(
            {"sku": "a b", "price": "-1", "active": "maybe"},
            {"sku", "name", "price", "active"},
            id="several-at-once",
        ),
    ],
)
def test_an_invalid_product_is_refused_naming_each_bad_field(
    client: FlaskClient, keys: Keys, body: dict[str, Any], bad_fields: set[str]
) -> None:
    response = client.post(PRODUCTS, json=body, headers=keys.headers(Role.OWNER))

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == bad_fields
    assert all(field in response.json["message"] for field in bad_fields)
    assert found_skus(client, keys, include_inactive="true") == []


@pytest.mark.parametrize(
    ("changes", "bad_fields"),
    [
        pytest.param({"name": "   "}, {"name"}, id="name-blank"),
        pytest.param({"price": "12.345"}, {"price"}, id="price-3-decimals"),
        pytest.param({"price": None}, {"price"}, id="price-null"),
        pytest.param({"sku": "LL-2"}, {"sku"}, id="sku-never-changes"),
        pytest.param({"attributes": 8}, {"attributes"}, id="attributes-not-object"),
    ],
)
def test_an_invalid_change_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, keys: Keys, changes: dict[str, Any], bad_fields: set[str]
) -> None:
    add_product(app, "LL-1", name="Lave-linge", price="499.00")

    response = client.patch(f"{PRODUCTS}/LL-1", json=changes, headers=keys.headers(Role.OWNER))

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == bad_fields
    product = client.get(f"{PRODUCTS}/LL-1", headers=keys.headers(Role.SELLER)).json
    assert (product["name"], product["price"]) == ("Lave-linge", "499.00")


# --- search ------------------------------------------------------------------------------


@pytest.fixture
def fridges_and_washers(app: Flask) -> None:
    add_product(
        app,
        "RF-SAM-RS68A8-IX",
        name="Réfrigérateur américain Samsung",
        category="Réfrigérateurs",
        brand="Samsung",
        colour="Inox",
    )
    add_product(
        app,
        "RF-BOS-KGN39-BL",
        name="Réfrigérateur combiné Bosch",
        category="Réfrigérateurs",
        brand="Bosch",
        colour="Blanc",
    )
    add_product(
        app,
        "LL-BOS-WAN28-BL",
        name="Lave-linge hublot Bosch",
        category="Lave-linge",
        brand="Bosch",
        colour="Blanc",
    )
    add_product(
        app,
        "AC-SAM-HAFQIN",
        name="Filtre à eau Samsung pour réfrigérateur américain",
        category="Accessoires",
        brand="Samsung",
    )


FRIDGES = {"RF-SAM-RS68A8-IX", "RF-BOS-KGN39-BL", "AC-SAM-HAFQIN"}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        pytest.param("refrigerateur", FRIDGES, id="no-accents"),
        pytest.param("RÉFRIGÉRATEUR", FRIDGES, id="upper-case"),
        pytest.param("re\u0301frige\u0301rateur", FRIDGES, id="decomposed-accents"),
        pytest.param(
            "refrigerateur americain", {"RF-SAM-RS68A8-IX", "AC-SAM-HAFQIN"}, id="2-words"
        ),
        pytest.param(
            "samsung  refrigerateur   americain",
            {"RF-SAM-RS68A8-IX", "AC-SAM-HAFQIN"},
            id="any-order",
        ),
        pytest.param("refrigerateur samsung filtre", {"AC-SAM-HAFQIN"}, id="3-words"),
        pytest.param("refrigerateur lg", set(), id="every-word-must-match"),
        pytest.param("bosch", {"RF-BOS-KGN39-BL", "LL-BOS-WAN28-BL"}, id="brand"),
        pytest.param("inox", {"RF-SAM-RS68A8-IX"}, id="colour"),
        pytest.param("ll-bos", {"LL-BOS-WAN28-BL"}, id="sku"),
        pytest.param("lave-vaisselle", set(), id="nothing"),
        pytest.param("%", set(), id="like-percent-is-literal"),
        pytest.param("_", set(), id="like-underscore-is-literal"),
    ],
)
def test_search_matches_every_word_ignoring_accents_and_case(
    client: FlaskClient, keys: Keys, fridges_and_washers: None, q: str, expected: set[str]
) -> None:
    body = search(client, keys, q=q)

    assert {item["sku"] for item in body["items"]} == expected
    assert body["total"] == len(expected)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param(
            {"category": "Réfrigérateurs"}, {"RF-SAM-RS68A8-IX", "RF-BOS-KGN39-BL"}, id="category"
        ),
        pytest.param(
            {"category": "RÉFRIGÉRATEURS"},
            {"RF-SAM-RS68A8-IX", "RF-BOS-KGN39-BL"},
            id="category-upper-case",
        ),
        pytest.param({"category": "lave-linge"}, {"LL-BOS-WAN28-BL"}, id="category-lower-case"),
        pytest.param({"category": "Lave"}, set(), id="category-is-not-a-prefix"),
        pytest.param({"brand": "samsung"}, {"RF-SAM-RS68A8-IX", "AC-SAM-HAFQIN"}, id="brand"),
        pytest.param(
            {"brand": "BOSCH", "category": "lave-linge"},
            {"LL-BOS-WAN28-BL"},
            id="brand-and-category",
        ),
        pytest.param({"colour": "blanc"}, {"RF-BOS-KGN39-BL", "LL-BOS-WAN28-BL"}, id="colour"),
        pytest.param(
            {"q": "refrigerateur", "brand": "Bosch"}, {"RF-BOS-KGN39-BL"}, id="words-and-brand"
        ),
    ],
)
def test_search_filters_by_category_brand_and_colour_ignoring_case(
    client: FlaskClient,
    keys: Keys,
    fridges_and_washers: None,
    params: dict[str, str],
    expected: set[str],
) -> None:
    assert set(found_skus(client, keys, **params)) == expected


@pytest.mark.parametrize(
    "category",
    [
        "Écrans",
        "écrans",
        "ecrans",
    ],
)
def test_a_category_with_an_accented_capital_is_found(
    app: Flask, client: FlaskClient, keys: Keys, category: str
) -> None:
    add_product(app, "TV-OLED-55", category="Écrans")

    assert found_skus(client, keys, category=category) == ["TV-OLED-55"]


def test_in_stock_hides_products_without_available_units(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-FLOOR", {"floor": 1})
    add_product(app, "LL-WAREHOUSE", {"warehouse": 4})
    add_product(app, "LL-NONE")
    add_product(app, "LL-ALL-HELD", {"backroom": 1})
    add_product(app, "LL-RETIRED", {"floor": 3}, active=False)
    held = client.post(
        "/api/v1/reservations",
        json={"sku": "LL-ALL-HELD", "quantity": 1},
        headers=keys.headers(Role.SELLER),
    )
    assert held.status_code == 201, held.json

    in_stock = search(client, keys, in_stock="true")

    assert {item["sku"] for item in in_stock["items"]} == {"LL-FLOOR", "LL-WAREHOUSE"}
    assert in_stock["total"] == 2
    assert set(found_skus(client, keys)) == {"LL-FLOOR", "LL-WAREHOUSE", "LL-NONE", "LL-ALL-HELD"}


def test_search_results_carry_stock_totals(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "TV-55", {"floor": 1, "warehouse": 2})
    add_product(app, "TV-65")
    client.post(
        "/api/v1/reservations",
        json={"sku": "TV-55", "quantity": 1},
        headers=keys.headers(Role.WEBSHOP),
    )

    items = search(client, keys)["items"]

    assert {item["sku"]: item["stock"] for item in items} == {
        "TV-55": {"on_hand": 3, "reserved": 1, "available": 2},
        "TV-65": NO_STOCK,
    }
    assert all(item["currency"] == "EUR" for item in items)


def test_pages_cover_every_product_once_in_a_stable_order(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    # Same category and name: only the SKU tells them apart, and creation order is shuffled.
    skus = [f"LV-{n:02d}" for n in range(25)]
    for sku in random.Random(7).sample(skus, len(skus)):
        add_product(app, sku, name="Lave-vaisselle 60 cm", category="Lave-vaisselle")

    pages = [search(client, keys, page=page, page_size=10) for page in (1, 2, 3, 4)]

    assert [len(p["items"]) for p in pages] == [10, 10, 5, 0]
    assert {(p["page"], p["page_size"], p["total"]) for p in pages} == {
        (1, 10, 25),
        (2, 10, 25),
        (3, 10, 25),
        (4, 10, 25),
    }
    listed = [item["sku"] for p in pages for item in p["items"]]
    assert listed == sorted(skus)
    assert [i["sku"] for i in search(client, keys, page=2, page_size=10)["items"]] == listed[10:20]


def test_search_is_ordered_by_category_then_name(
    client: FlaskClient, keys: Keys, fridges_and_washers: None
) -> None:
    assert found_skus(client, keys) == [
        "AC-SAM-HAFQIN",
        "LL-BOS-WAN28-BL",
        "RF-SAM-RS68A8-IX",
        "RF-BOS-KGN39-BL",
    ]


@pytest.mark.parametrize(
    ("params", "bad_field"),
    [
        ({"page_size": 101}, "page_size"),
        ({"page_size": 0}, "page_size"),
        ({"page": 0}, "page"),
        ({"page": "two"}, "page"),
        ({"in_stock": "maybe"}, "in_stock"),
        ({"q": "x" * 201}, "q"),
        pytest.param(
            {"pagesize": 10},
            "pagesize",
            id="unknown-parameter",
        ),
    ],
)
def test_bad_search_parameters_are_refused(
    client: FlaskClient, keys: Keys, params: dict[str, Any], bad_field: str
) -> None:
    response = client.get(PRODUCTS, query_string=params, headers=keys.headers(Role.SELLER))

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert list(response.json["errors"]) == [bad_field]


def test_categories_count_active_products(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "LL-1", category="Lave-linge")
    add_product(app, "LL-2", category="Lave-linge")
    add_product(app, "LL-3", category="Lave-linge", active=False)
    add_product(app, "FO-1", category="Fours")
    add_product(app, "SL-1", category="Sèche-linge", active=False)

    response = client.get("/api/v1/categories", headers=keys.headers(Role.DEVICE))

    assert response.status_code == 200
    assert response.json == [
        {"category": "Fours", "products": 1},
        {"category": "Lave-linge", "products": 2},
    ]
