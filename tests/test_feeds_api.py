"""Supplier feeds through HTTP: dry run, diff, apply in one transaction, re-apply, bad input."""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from seeds import supplier_feeds
from store_api import db
from store_api.catalog.models import Product
from store_api.events.models import Event
from store_api.keys.models import Role
from store_api.suppliers.models import SupplierOffer
from tests.conftest import Keys
from tests.fixtures.shop import add_product
from tests.fixtures.suppliers import (
    CSV_PROFILE,
    apply,
    create_supplier,
    csv_text,
    entries,
    upload,
)

LOCATIONS = ("floor", "backroom", "warehouse")


def _count(app: Flask, model: Any, *where: Any) -> int:
    session = db.new_session(app)
    with db.read(session):
        found = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    session.close()
    return found


def _snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    session = db.new_session(app)
    with db.read(session):
        result = {
            "products": [
                tuple(r)
                for r in session.execute(
                    select(
                        Product.sku,
                        Product.name,
                        Product.price,
                        Product.gtin,
                        Product.mpn,
                        Product.attributes,
                        Product.active,
                        Product.updated_at,
                    ).order_by(Product.sku)
                )
            ],
            "offers": [
                tuple(r)
                for r in session.execute(
                    select(
                        SupplierOffer.supplier_sku,
                        SupplierOffer.purchase_price,
                        SupplierOffer.availability,
                        SupplierOffer.supplier_stock,
                        SupplierOffer.lead_days,
                        SupplierOffer.listed,
                        SupplierOffer.updated_at,
                    ).order_by(SupplierOffer.supplier_sku)
                )
            ],
            "events": [tuple(r) for r in session.execute(select(Event.seq, Event.type))],
        }
    session.close()
    return result


def test_a_5000_line_french_export_dry_run_apply_and_apply_again(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)
    data = supplier_feeds.french_csv(5000)

    dry = upload(client, keys, data, "distrilec-export.csv")

    assert dry["status"] == "dry_run"
    assert dry["detected"]["encoding"] == "windows-1252"
    assert dry["detected"]["delimiter"] == ";"
    assert dry["detected"]["decimal"] == ","
    assert dry["summary"] == {
        "lines": 5000, "new": 5000, "changed": 0, "unchanged": 0, "missing": 0,
        "rejected": 0, "skipped": 0,
    }  # fmt: skip
    assert _count(app, Product) == 0  # a dry run changes nothing
    first = dry["entries"]["items"][0]
    expected = supplier_feeds.products(1)[0]
    assert first["sku"] == "DISTRILEC-DR000001"
    assert first["product"]["price"] == f"{expected['price']:.2f}"
    assert first["product"]["attributes"]["largeur_cm"] == 59.5  # 595 mm
    assert first["product"]["category"] == "Sèche-linge"  # the family, mapped

    applied = apply(client, keys, dry["id"])

    assert applied["status"] == "applied"
    assert _count(app, Product) == 5000
    assert _count(app, SupplierOffer) == 5000
    assert _count(app, Event, Event.type == "product.created") == 5000
    product = client.get(
        "/api/v1/products/DISTRILEC-DR000001", headers=keys.headers(Role.OWNER)
    ).get_json()
    assert product["gtin"] == supplier_feeds.gtin13(1)
    assert Decimal(product["price"]) == expected["price"]
    assert product["stock"] == {"on_hand": 0, "reserved": 0, "available": 0}

    before = _snapshot(app)
    again = upload(client, keys, data, "distrilec-export.csv")
    assert again["summary"]["unchanged"] == 5000
    assert again["summary"]["new"] == again["summary"]["changed"] == 0
    apply(client, keys, again["id"])

    assert _snapshot(app) == before  # the same file twice changes nothing


def _profile(**extra: Any) -> dict[str, Any]:
    return {**CSV_PROFILE, **extra}


ROW = [
    "DR1",
    supplier_feeds.gtin13(1),
    "Bosch",
    "WGG244",
    "Lave-linge hublot Bosch 9 kg",
    "LAVAGE FRONTAL",
    "Blanc",
    "412,50",
    "749,00",
    "3",
    "2",
    "9",
    "1 400",
    "A",
    "598",
]


def test_changes_are_shown_field_by_field_then_applied(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=_profile(overwrite=["price"]))
    apply(client, keys, upload(client, keys, csv_text([ROW]))["id"])
    changed = [*ROW]
    changed[7], changed[8], changed[9] = "399,00", "729,00", "0"

    dry = upload(client, keys, csv_text([changed]))

    [entry] = dry["entries"]["items"]
    assert entry["kind"] == "changed"
    assert entry["match"] == "supplier_sku"
    assert {c["field"]: (c["before"], c["after"]) for c in entry["changes"]} == {
        "price": ("749.00", "729.00"),
        "offer.purchase_price": ("412.50", "399.00"),
        "offer.supplier_stock": (3, 0),
        "offer.availability": ("in_stock", "out_of_stock"),
    }
    apply(client, keys, dry["id"])
    product = client.get(
        "/api/v1/products/DISTRILEC-DR1", headers=keys.headers(Role.OWNER)
    ).get_json()
    assert product["price"] == "729.00"
    offers = client.get(
        "/api/v1/supplier-offers?sku=DISTRILEC-DR1", headers=keys.headers(Role.OWNER)
    ).get_json()["items"]
    assert [(o["purchase_price"], o["availability"]) for o in offers] == [
        ("399.00", "out_of_stock")
    ]
    [event] = [
        e
        for e in client.get(
            "/api/v1/events?type=product.updated", headers=keys.headers(Role.OWNER)
        ).get_json()["events"]
    ]
    assert event["payload"]["changed"] == ["price"]


def test_fields_the_shop_filled_are_kept_unless_the_profile_overwrites_them(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-BOS-9", name="Lave-linge Bosch (nom maison)", price="799.00",
                brand="Bosch", gtin=supplier_feeds.gtin13(1))  # fmt: skip
    create_supplier(client, keys, mapping=CSV_PROFILE)

    dry = upload(client, keys, csv_text([ROW]))

    [entry] = dry["entries"]["items"]
    assert (entry["kind"], entry["sku"], entry["match"]) == ("changed", "LL-BOS-9", "gtin")
    fields = {c["field"] for c in entry["changes"]}
    assert "name" not in fields and "price" not in fields  # the shop's own values stay
    assert {"mpn", "colour", "image_url", "offer"} <= fields | {"image_url"}


@pytest.mark.parametrize(
    ("field", "value"),
    [("mpn", "wgg-244"), ("mpn", "WGG-244")],
)
def test_a_product_without_gtin_is_matched_on_brand_and_manufacturer_reference(
    app: Flask, client: FlaskClient, keys: Keys, field: str, value: str
) -> None:
    add_product(app, "LL-BOS-9", brand="BOSCH", **{field: value})
    create_supplier(client, keys, mapping=CSV_PROFILE)
    row = [*ROW]
    row[3] = "WGG-244"

    [entry] = upload(client, keys, csv_text([row]))["entries"]["items"]

    assert (entry["kind"], entry["sku"], entry["match"]) == ("changed", "LL-BOS-9", "brand_mpn")


def test_rejected_lines_name_line_and_column_in_french_and_block_the_apply(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)
    good = [*ROW]
    negative = [*ROW]
    negative[0], negative[1], negative[8] = "DR2", supplier_feeds.gtin13(2), "-749,00"
    formula = [*ROW]
    formula[0], formula[1], formula[4] = "DR3", supplier_feeds.gtin13(3), '=HYPERLINK("x")'
    duplicate = [*ROW]
    duplicate[1] = supplier_feeds.gtin13(4)
    bad_gtin = [*ROW]
    bad_gtin[0], bad_gtin[1] = "DR5", "3760000000018"

    dry = upload(client, keys, csv_text([good, negative, formula, duplicate, bad_gtin]))

    rejected = entries(client, keys, dry["id"], kind="rejected")
    messages = {e["line"]: [p["message"] for p in e["problems"]] for e in rejected}
    assert messages == {
        3: ["Ligne 3, colonne PVC TTC : -749,00 est négatif."],
        4: ["Ligne 4, colonne Désignation : les formules sont refusées "
            "(la cellule commence par =)."],
        5: ["La ligne 5 répète la référence fournisseur DR1 de la ligne 2."],
        6: ["Ligne 6, colonne EAN : 3760000000018 n'est pas un GTIN/EAN valide "
            "(clé de contrôle fausse)."],
    }  # fmt: skip
    english = client.get(
        f"/api/v1/feeds/{dry['id']}?kind=rejected",
        headers=keys.headers(Role.OWNER, **{"Accept-Language": "en"}),
    ).get_json()["entries"]["items"]
    assert english[0]["problems"][0]["message"] == "Line 3, column PVC TTC: -749,00 is negative."

    refused = apply(client, keys, dry["id"], status=409)

    assert refused["code"] == "feed_has_rejected_lines"
    assert _count(app, Product) == 0  # nothing applied

    apply(client, keys, dry["id"], skip_rejected=True)
    assert _count(app, Product) == 1


@pytest.mark.parametrize(
    ("data", "filename", "code", "french"),
    [
        (
            csv_text([ROW])[:-40],
            "cut.csv",
            "truncated",
            "Le fichier est tronqué : il s'arrête au milieu de la ligne 2.",
        ),
        (
            "Réf. fournisseur;Désignation\r\n".encode() + "DR1;Sèche-linge\r\n".encode("cp1252"),
            "mixed.csv",
            "mixed_encoding",
            "Encodages mélangés : la ligne 2 n'est pas en UTF-8 alors que le reste du fichier "
            "l'est. Enregistrez à nouveau tout le fichier en UTF-8.",
        ),
        (b"", "empty.csv", "empty_file", "Le fichier est vide."),
        (supplier_feeds.xlsx_price_list(10)[:3000], "tarif.xlsx", "xlsx_unreadable", None),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole_with_a_french_reason(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    data: bytes,
    filename: str,
    code: str,
    french: str | None,
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)

    refused = upload(client, keys, data, filename)

    assert refused["status"] == "refused"
    assert refused["problem"]["code"] == code
    if french:
        assert refused["problem"]["message"] == french
    assert apply(client, keys, refused["id"], status=409)["code"] == "feed_not_applicable"
    assert _count(app, Product) == 0


def test_a_100_mb_upload_is_refused_before_it_is_read(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)

    refused = upload(client, keys, b"x" * (100 * 1000 * 1000), "huge.csv", status=413)

    assert refused["code"] == "feed_too_large"
    assert refused["errors"]["limit_bytes"] == app.config["FEEDS_MAX_BYTES"]
    assert _count(app, Product) == 0


def test_applying_is_refused_when_the_catalog_changed_since_the_dry_run(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)
    dry = upload(client, keys, csv_text([ROW]))
    add_product(app, "OTHER", gtin=supplier_feeds.gtin13(1))  # the line now matches it

    stale = apply(client, keys, dry["id"], status=409)

    assert stale["code"] == "feed_stale"
    assert _count(app, Product) == 1


def test_a_failure_while_applying_leaves_nothing_half_applied(
    app: Flask, client: FlaskClient, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)
    rows = [[f"DR{i}", supplier_feeds.gtin13(i), *ROW[2:]] for i in range(1, 4)]
    dry = upload(client, keys, csv_text(rows))
    from store_api.feeds import apply as feed_apply

    real = feed_apply.execute

    def crash_after_products(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        raise RuntimeError("disk full")

    monkeypatch.setattr(feed_apply, "execute", crash_after_products)

    response = client.post(
        f"/api/v1/feeds/{dry['id']}/apply", json={}, headers=keys.headers(Role.OWNER)
    )

    assert response.status_code == 500
    assert _count(app, Product) == 0
    assert _count(app, SupplierOffer) == 0
    assert _count(app, Event) == 0
    assert (
        client.get(f"/api/v1/feeds/{dry['id']}", headers=keys.headers(Role.OWNER)).get_json()[
            "status"
        ]
        == "dry_run"
    )


@pytest.mark.parametrize(
    ("policy", "listed", "active"),
    [("keep", True, True), ("unavailable", False, True), ("deactivate", False, False)],
)
def test_products_the_feed_no_longer_lists(
    app: Flask, client: FlaskClient, keys: Keys, policy: str, listed: bool, active: bool
) -> None:
    create_supplier(client, keys, mapping=_profile(missing=policy))
    second = ["DR2", supplier_feeds.gtin13(2), *ROW[2:]]
    apply(client, keys, upload(client, keys, csv_text([ROW, second]))["id"])

    dry = upload(client, keys, csv_text([ROW]))

    [missing] = entries(client, keys, dry["id"], kind="missing")
    assert (missing["sku"], missing["action"]) == ("DISTRILEC-DR2", policy)
    apply(client, keys, dry["id"])
    offer = client.get(
        "/api/v1/supplier-offers?sku=DISTRILEC-DR2", headers=keys.headers(Role.OWNER)
    ).get_json()["items"][0]
    product = client.get(
        "/api/v1/products/DISTRILEC-DR2?include_inactive=true", headers=keys.headers(Role.OWNER)
    ).get_json()
    assert (offer["listed"], product["active"]) == (listed, active)


def test_xlsx_and_bmecat_files_are_read_with_a_suggested_mapping(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, "ELECDIS")
    create_supplier(client, keys, "GROSELEC", mapping={"units": {"attr:largeur": {"to": "cm"}}})

    xlsx = upload(client, keys, supplier_feeds.xlsx_price_list(200), "tarif.xlsx", "ELECDIS")
    xml = upload(client, keys, supplier_feeds.bmecat_catalog(50), "catalogue.xml", "GROSELEC")

    assert (xlsx["format"], xlsx["summary"]["new"], xlsx["summary"]["rejected"]) == ("xlsx", 200, 0)
    assert (xml["format"], xml["summary"]["new"], xml["summary"]["rejected"]) == ("bmecat", 50, 0)
    bm = xml["entries"]["items"][0]["product"]
    assert bm["attributes"]["largeur"] == 59.5
    assert bm["category"] in {shop for shop, _n in supplier_feeds.FAMILIES.values()}
    apply(client, keys, xlsx["id"])
    apply(client, keys, xml["id"])
    assert _count(app, Product) == 250


def test_a_bad_mapping_profile_is_refused_naming_the_field(client: FlaskClient, keys: Keys) -> None:
    create_supplier(client, keys)

    response = client.patch(
        "/api/v1/suppliers/DISTRILEC",
        json={"mapping": {"columns": {"EAN": "barcode"}, "missing": "delete"}},
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"mapping.columns", "mapping.missing"}


def test_endless_aisle_shows_supplier_availability_next_to_the_shops_stock(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    create_supplier(client, keys, mapping=CSV_PROFILE)
    rows = [ROW, ["DR2", supplier_feeds.gtin13(2), *ROW[2:9], "0", "5"]]
    apply(client, keys, upload(client, keys, csv_text(rows))["id"])

    for role in (Role.SELLER, Role.WEBSHOP):
        stock = client.get("/api/v1/stock/DISTRILEC-DR1", headers=keys.headers(role)).get_json()
        assert stock["available"] == 0
        assert stock["supplier"] == {
            "orderable": True, "availability": "in_stock", "lead_days": 2, "suppliers": 1,
            "message": "commandable, livré sous 2 jours",
        }  # fmt: skip
    out = client.get(
        "/api/v1/stock?sku=DISTRILEC-DR2",
        headers=keys.headers(Role.WEBSHOP, **{"Accept-Language": "en"}),
    ).get_json()["items"][0]["supplier"]
    assert (out["orderable"], out["message"]) == (False, "out of stock at the supplier")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/feeds/99999999999999999999"),
        ("POST", "/api/v1/feeds/99999999999999999999/apply"),
        ("GET", "/api/v1/feeds/0"),
        ("GET", "/api/v1/suppliers/NOPE/feeds"),
        ("POST", "/api/v1/suppliers/NOPE/feeds"),
    ],
)
def test_unknown_feeds_and_suppliers_are_404s(
    client: FlaskClient, keys: Keys, method: str, path: str
) -> None:
    body: dict[str, Any] = {"json": {}} if method == "POST" and "apply" in path else {}
    if path.endswith("/feeds") and method == "POST":
        response = client.post(
            path,
            data={"file": (io.BytesIO(b"ref;name\n"), "x.csv")},
            content_type="multipart/form-data",
            headers=keys.headers(Role.OWNER),
        )
    else:
        response = client.open(path, method=method, headers=keys.headers(Role.OWNER), **body)

    assert response.status_code == 404
    # An id beyond any integer matches no route at all (every <int:...> stops at 2**31 - 1).
    expected = ("not_found",) if "9999999999" in path else ("feed_not_found", "supplier_not_found")
    assert response.get_json()["code"] in expected


def test_an_upload_without_a_file_names_the_field(client: FlaskClient, keys: Keys) -> None:
    create_supplier(client, keys)

    response = client.post(
        "/api/v1/suppliers/DISTRILEC/feeds",
        data={"other": "x"},
        content_type="multipart/form-data",
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]
