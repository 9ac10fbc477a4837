"""Product sheets: completeness per channel, generated descriptions, draft -> ready ->
published with events, and what the webshop pulls (JSON-LD, Merchant Center feed)."""

from __future__ import annotations

from typing import Any

import pytest
from defusedxml import ElementTree as SafeXml
from flask import Flask
from flask.testing import FlaskClient

from seeds import supplier_feeds
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.shop import add_product
from tests.fixtures.suppliers import CSV_PROFILE, apply, create_supplier, csv_text, upload

G = "{http://base.google.com/ns/1.0}"
WASHER = {
    "name": "Lave-linge hublot Bosch Serie 6 9 kg",
    "brand": "Bosch",
    "gtin": supplier_feeds.gtin13(9),
    "image_url": "https://images.comptoir.example/ll.jpg",
    "attributes": {
        "capacite_kg": 9,
        "essorage_tr_min": 1400,
        "classe_energie": "A",
        "chargement": "Hublot",
    },
}


def _owner(keys: Keys) -> dict[str, str]:
    return keys.headers(Role.OWNER)


def _sheet(client: FlaskClient, keys: Keys, sku: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/sheets/{sku}", headers=_owner(keys))
    assert response.status_code == 200, response.get_json()
    result: dict[str, Any] = response.get_json()
    return result


def test_a_french_description_is_written_from_the_attributes(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", price="749.00", **WASHER)

    sheet = _sheet(client, keys, "LL-1")

    assert sheet["description"] == (
        "Lave-linge hublot 9 kg, essorage 1\u202f400 tr/min, classe énergétique A."
    )
    assert sheet["description_generated"] is True
    assert sheet["complete"] is True
    assert sheet["state"] == "draft"


def test_optional_parts_are_left_out_and_an_own_description_wins(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    attributes = {"capacite_kg": 8, "chargement": "Top"}
    add_product(app, "LL-2", **{**WASHER, "gtin": None, "attributes": attributes})
    add_product(app, "LL-3", description="Notre préféré.", **{**WASHER, "gtin": None})

    assert _sheet(client, keys, "LL-2")["description"] == "Lave-linge top 8 kg."
    assert _sheet(client, keys, "LL-3")["description"] == "Notre préféré."


def test_completeness_per_channel_names_what_is_missing_most_missing_first(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", **WASHER)
    add_product(app, "LL-BARE", name="Lave-linge sans fiche")

    page = client.get("/api/v1/sheets", headers=_owner(keys)).get_json()

    assert [s["sku"] for s in page["items"]] == ["LL-BARE", "LL-1"]
    bare = {c["channel"]: c for c in page["items"][0]["channels"]}
    assert bare["webshop"]["missing"] == [
        "brand", "description", "image_url", "gtin",
        "attr:capacite_kg", "attr:essorage_tr_min", "attr:classe_energie",
    ]  # fmt: skip
    assert bare["webshop"]["percent"] == 22  # 2 of 9
    assert bare["tablet"]["missing"] == [
        "brand", "attr:capacite_kg", "attr:essorage_tr_min", "attr:classe_energie",
    ]  # fmt: skip


def test_draft_ready_published_and_back_with_events(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", price="749.00", **WASHER)
    owner = _owner(keys)

    assert client.post("/api/v1/sheets/LL-1/publish", headers=owner).status_code == 409
    assert client.post("/api/v1/sheets/LL-1/ready", headers=owner).get_json()["state"] == "ready"
    published = client.post("/api/v1/sheets/LL-1/publish", headers=owner)
    assert published.get_json()["state"] == "published"
    assert published.get_json()["published_at"] is not None
    unpublished = client.post("/api/v1/sheets/LL-1/unpublish", headers=owner)
    assert unpublished.get_json()["state"] == "ready"

    events = client.get(
        "/api/v1/events?type=product.published&type=product.unpublished", headers=owner
    ).get_json()["events"]
    assert [(e["type"], e["sku"]) for e in events] == [
        ("product.published", "LL-1"),
        ("product.unpublished", "LL-1"),
    ]
    assert events[0]["payload"]["description"].startswith("Lave-linge hublot 9 kg")
    family = client.get("/api/v1/events?type=product.*", headers=owner).get_json()["events"]
    assert family[-1]["type"] == "product.unpublished"


def test_an_incomplete_sheet_cannot_be_marked_ready(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-BARE", name="Lave-linge sans fiche")

    response = client.post("/api/v1/sheets/LL-BARE/ready", headers=_owner(keys))

    assert response.status_code == 422
    assert response.get_json()["code"] == "sheet_incomplete"
    assert "gtin" in response.get_json()["errors"]["missing"]
    assert _sheet(client, keys, "LL-BARE")["state"] == "draft"


def test_the_owner_edits_a_categorys_rule_and_template(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", **WASHER)
    rule = {
        "required": {"webshop": ["name", "price", "attr:largeur_cm"], "tablet": ["name"]},
        "template": "Lave-linge {capacite_kg} kg[ de {largeur_cm} cm]",
        "google_category": "Maison et jardin > Appareils électroménagers > Lave-linge",
    }

    saved = client.put("/api/v1/sheet-rules/Lave-linge", json=rule, headers=_owner(keys))

    assert saved.status_code == 200, saved.get_json()
    sheet = _sheet(client, keys, "LL-1")
    assert sheet["description"] == "Lave-linge 9 kg"
    assert sheet["channels"][0]["missing"] == ["attr:largeur_cm"]


@pytest.mark.parametrize(
    ("required", "template", "field"),
    [
        ({"webshop": ["name"]}, "Lave-linge {capacite_kg|shout}", "template"),
        ({"webshop": ["name"]}, "Lave-linge [{capacite_kg} kg", "template"),
        ({"webshop": ["__class__"]}, "", "required"),
        ({"shop": ["name"]}, "", "required"),
    ],
)
def test_a_bad_rule_is_refused_naming_the_field(
    client: FlaskClient, keys: Keys, required: dict[str, Any], template: str, field: str
) -> None:
    rule = {"required": required, "template": template}

    response = client.put("/api/v1/sheet-rules/Lave-linge", json=rule, headers=_owner(keys))

    assert response.status_code == 422
    assert field in response.get_json()["errors"]


def _publish(client: FlaskClient, keys: Keys, sku: str) -> None:
    for action in ("ready", "publish"):
        response = client.post(f"/api/v1/sheets/{sku}/{action}", headers=_owner(keys))
        assert response.status_code == 200, response.get_json()


def test_json_ld_and_the_merchant_feed_show_published_products_only(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", {"floor": 2}, price="749.00", **WASHER)
    add_product(app, "LL-2", price="649.00", **{**WASHER, "gtin": supplier_feeds.gtin13(8)})
    webshop = keys.headers(Role.WEBSHOP)
    assert client.get("/api/v1/products/LL-1/jsonld", headers=webshop).status_code == 404

    _publish(client, keys, "LL-1")

    response = client.get("/api/v1/products/LL-1/jsonld", headers=webshop)
    assert response.mimetype == "application/ld+json"
    data = response.get_json(force=True)
    assert data["@type"] == "Product"
    assert data["gtin13"] == WASHER["gtin"]
    assert data["brand"] == {"@type": "Brand", "name": "Bosch"}
    assert data["description"].startswith("Lave-linge hublot 9 kg")
    assert data["offers"]["price"] == "749.00"
    assert data["offers"]["priceCurrency"] == "EUR"
    assert data["offers"]["availability"] == "https://schema.org/InStock"
    assert data["url"] == "https://shop.example/p/LL-1"

    feed = client.get("/api/v1/channels/merchant-feed", headers=webshop)
    assert feed.mimetype == "application/rss+xml"
    items = SafeXml.fromstring(feed.data).findall("channel/item")
    assert [i.findtext(f"{G}id") for i in items] == ["LL-1"]
    item = items[0]
    assert item.findtext(f"{G}price") == "749.00 EUR"
    assert item.findtext(f"{G}availability") == "in_stock"
    assert item.findtext(f"{G}gtin") == WASHER["gtin"]
    assert item.findtext(f"{G}condition") == "new"


def test_with_no_stock_a_supplier_that_can_deliver_makes_it_a_back_order(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)
    row = ["DR1", supplier_feeds.gtin13(1), "Bosch", "WGG244", "Lave-linge hublot Bosch 9 kg",
           "LAVAGE FRONTAL", "Blanc", "412,50", "749,00", "3", "3", "9", "1 400", "A", "598",
           "https://images.distrilec.example/1.jpg"]  # fmt: skip
    apply(client, keys, upload(client, keys, csv_text([row]))["id"])
    client.put(
        "/api/v1/sheet-rules/Lave-linge",
        json={"required": {"webshop": ["name", "price", "gtin"]}, "template": "Lave-linge."},
        headers=_owner(keys),
    )
    _publish(client, keys, "DISTRILEC-DR1")

    data = client.get(
        "/api/v1/products/DISTRILEC-DR1/jsonld", headers=keys.headers(Role.WEBSHOP)
    ).get_json(force=True)
    feed = client.get("/api/v1/channels/merchant-feed", headers=keys.headers(Role.WEBSHOP))
    item = SafeXml.fromstring(feed.data).find("channel/item")

    assert data["offers"]["availability"] == "https://schema.org/BackOrder"
    assert data["offers"]["deliveryLeadTime"]["value"] == 3
    assert data["offers"]["availabilityStarts"] == "2026-11-30"  # the clock's day + 3
    assert item is not None
    assert item.findtext(f"{G}availability") == "backorder"
    assert item.findtext(f"{G}availability_date", "").startswith("2026-11-30")
