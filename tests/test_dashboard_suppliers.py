"""Owner pages for suppliers, feeds and product sheets, in French, through HTTP."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from seeds import supplier_feeds
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.shop import add_product
from tests.fixtures.suppliers import CSV_PROFILE, create_supplier, csv_text

ROW = ["DR1", supplier_feeds.gtin13(1), "Bosch", "WGG244", "Lave-linge hublot Bosch 9 kg",
       "LAVAGE FRONTAL", "Blanc", "412,50", "749,00", "3", "2", "9", "1 400", "A", "598",
       "https://images.distrilec.example/1.jpg"]  # fmt: skip


def _login(client: FlaskClient, keys: Keys) -> None:
    response = client.post("/dashboard/login", data={"key": keys[Role.OWNER]})
    assert response.status_code == 303


def _token(client: FlaskClient, path: str = "/dashboard/suppliers") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _upload(client: FlaskClient, code: str, data: bytes, name: str, token: str) -> object:
    boundary, body = encode_multipart(
        {"csrf_token": token, "file": FileStorage(io.BytesIO(data), name)}
    )
    return client.post(
        f"/dashboard/suppliers/{code}/feeds",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def test_add_a_supplier_upload_read_the_diff_in_french_and_apply(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    _login(client, keys)
    token = _token(client)
    created = client.post(
        "/dashboard/suppliers",
        data={
            "csrf_token": token,
            "code": "distrilec",
            "name": "Distrilec Rhône",
            "default_lead_days": "3",
        },
    )
    assert created.status_code == 303
    client.patch(
        "/api/v1/suppliers/DISTRILEC", json={"mapping": CSV_PROFILE},
        headers=keys.headers(Role.OWNER),
    )  # fmt: skip
    bad = [*ROW]
    bad[0], bad[1], bad[8] = "DR2", supplier_feeds.gtin13(2), "-1,00"

    uploaded = _upload(client, "DISTRILEC", csv_text([ROW, bad]), "export.csv", token)

    assert uploaded.status_code == 303  # type: ignore[attr-defined]
    diff = client.get(uploaded.headers["Location"])  # type: ignore[attr-defined]
    text = diff.get_data(as_text=True)
    assert diff.status_code == 200
    assert "Lignes rejetées (1)" in text
    assert "Ligne 3, colonne PVC TTC : -1,00 est négatif." in text
    assert "Appliquer ces changements" in text
    feed_url = uploaded.headers["Location"]  # type: ignore[attr-defined]

    refused = client.post(f"{feed_url}/apply", data={"csrf_token": token})
    after = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Des lignes sont rejetées" in after
    assert (
        client.get("/api/v1/products/DISTRILEC-DR1", headers=keys.headers(Role.OWNER)).status_code
        == 404
    )

    applied = client.post(f"{feed_url}/apply", data={"csrf_token": token, "skip_rejected": "1"})
    assert "Appliqué : 1 nouveau" in client.get(applied.headers["Location"]).get_data(as_text=True)
    assert (
        client.get("/api/v1/products/DISTRILEC-DR1", headers=keys.headers(Role.OWNER)).status_code
        == 200
    )


def test_a_form_without_its_token_changes_nothing(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    _login(client, keys)
    create_supplier(client, keys, mapping=CSV_PROFILE)

    response = _upload(client, "DISTRILEC", csv_text([ROW]), "export.csv", "forged")

    assert response.status_code == 400  # type: ignore[attr-defined]
    feeds = client.get("/api/v1/suppliers/DISTRILEC/feeds", headers=keys.headers(Role.OWNER))
    assert feeds.get_json() == []


def test_a_100_mb_upload_gets_a_french_page_and_nothing_is_read(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    _login(client, keys)
    create_supplier(client, keys, mapping=CSV_PROFILE)
    token = _token(client)

    response = _upload(client, "DISTRILEC", b"x" * (100 * 1000 * 1000), "huge.csv", token)

    assert response.status_code == 413  # type: ignore[attr-defined]
    assert "dépasse la limite de 20 Mo" in response.get_data(as_text=True)  # type: ignore[attr-defined]


def test_a_truncated_file_is_explained_on_the_page(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    _login(client, keys)
    create_supplier(client, keys, mapping=CSV_PROFILE)

    uploaded = _upload(client, "DISTRILEC", csv_text([ROW])[:-45], "cut.csv", _token(client))

    page = client.get(uploaded.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert "Le fichier est tronqué : il s&#39;arrête au milieu de la ligne 2." in page
    assert "Appliquer ces changements" not in page


def test_the_mapping_profile_page_saves_what_the_owner_chose(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    _login(client, keys)
    create_supplier(client, keys)
    token = _token(client, "/dashboard/suppliers/DISTRILEC/mapping")

    saved = client.post(
        "/dashboard/suppliers/DISTRILEC/mapping",
        data={
            "csrf_token": token,
            "column:Réf.": "supplier_sku",
            "column:Libellé": "name",
            "column:Prix": "price",
            "missing": "deactivate",
            "create": "1",
            "markup": "1,35",
            "categories": "LAVAGE FRONTAL = Lave-linge",
            "units": "attr:largeur_cm = mm -> cm",
        },
    )
    bad = client.post(
        "/dashboard/suppliers/DISTRILEC/mapping",
        data={"csrf_token": token, "column:Prix": "price", "units": "attr:x = furlong -> cm"},
    )

    assert saved.status_code == 303
    mapping = client.get(
        "/api/v1/suppliers/DISTRILEC", headers=keys.headers(Role.OWNER)
    ).get_json()["mapping"]
    assert mapping["columns"] == {"Réf.": "supplier_sku", "Libellé": "name", "Prix": "price"}
    assert (mapping["missing"], mapping["markup"]) == ("deactivate", "1.35")
    assert mapping["categories"] == {"LAVAGE FRONTAL": "Lave-linge"}
    assert mapping["units"] == {"attr:largeur_cm": {"from": "mm", "to": "cm"}}
    assert bad.status_code == 422
    assert "Unité inconnue" in bad.get_data(as_text=True)


def test_sheets_to_complete_fill_one_in_then_publish(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", name="Lave-linge hublot Bosch 9 kg", brand="Bosch",
                gtin=supplier_feeds.gtin13(9), attributes={"capacite_kg": 9, "chargement": "Hublot",
                "classe_energie": "A"})  # fmt: skip
    _login(client, keys)

    listing = client.get("/dashboard/sheets?incomplete=1").get_data(as_text=True)
    assert "Fiches produits" in listing
    assert "image, essorage tr min" in listing
    token = _token(client, "/dashboard/sheets/LL-1")
    saved = client.post(
        "/dashboard/sheets/LL-1",
        data={"csrf_token": token, "name": "Lave-linge hublot Bosch 9 kg", "brand": "Bosch",
              "price": "749,00", "gtin": supplier_feeds.gtin13(9), "mpn": "", "colour": "Blanc",
              "image_url": "https://images.comptoir.example/ll-1.jpg", "description": "",
              "attr:capacite_kg": "9", "attr:essorage_tr_min": "1 400", "attr:classe_energie": "A",
              "attr:chargement": "Hublot"},
    )  # fmt: skip
    assert saved.status_code == 303
    sheet = client.get("/dashboard/sheets/LL-1").get_data(as_text=True)
    assert "Lave-linge hublot 9 kg, essorage 1\u202f400 tr/min, classe énergétique A." in sheet

    client.post("/dashboard/sheets/LL-1/ready", data={"csrf_token": token})
    published = client.post("/dashboard/sheets/LL-1/publish", data={"csrf_token": token})

    assert "Publié" in client.get(published.headers["Location"]).get_data(as_text=True)
    jsonld = client.get("/api/v1/products/LL-1/jsonld", headers=keys.headers(Role.WEBSHOP))
    assert jsonld.status_code == 200


def test_a_bad_price_on_a_sheet_is_explained_and_nothing_saved(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-1", price="749.00")
    _login(client, keys)
    token = _token(client, "/dashboard/sheets/LL-1")

    response = client.post(
        "/dashboard/sheets/LL-1", data={"csrf_token": token, "name": "X", "price": "-5"}
    )

    assert response.status_code == 422
    assert "prix" in response.get_data(as_text=True)
    product = client.get("/api/v1/products/LL-1", headers=keys.headers(Role.OWNER)).get_json()
    assert (product["name"], product["price"]) == ("Produit LL-1", "749.00")


def test_pages_need_an_owner_login(client: FlaskClient) -> None:
    for path in ("/dashboard/suppliers", "/dashboard/sheets", "/dashboard/feeds/1"):
        response = client.get(path)
        assert response.status_code == 302
        assert "/dashboard/login" in response.headers["Location"]
