"""Barcodes: the GS1 rule as a pure function, then GTINs through the API and the CSV import."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from store_api.catalog.gtin import (
    check_digit,
    gtin_problem,
    is_valid_gtin,
    normalize_gtin,
    restricted_ean13,
)
from store_api.keys.models import Role
from tests.conftest import ROOT, Keys
from tests.fixtures.shop import add_product

PRODUCTS = "/api/v1/products"


# --- the pure module -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "4006381333931",  # EAN-13 (GS1's own example)
        "96385074",  # GTIN-8
        "036000291452",  # UPC-A
        "10012345678902",  # GTIN-14 (a carton)
        "2069000000012",  # the demo shop's in-store EAN-13
        "0000000000000",
    ],
)
def test_valid_gtins_are_accepted(code: str) -> None:
    assert is_valid_gtin(code)
    assert gtin_problem(code) is None


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("4006381333932", "check digit"),  # last digit off by one
        ("4006381333913", "check digit"),  # two digits swapped
        ("96385075", "check digit"),
        ("123456789", "8, 12, 13 or 14"),
        ("400638133393100", "8, 12, 13 or 14"),
        ("", "digits only"),
        ("40063813339A1", "digits only"),
        ("٤٠٠٦٣٨١٣٣٣٩٣١", "digits only"),  # Arabic-Indic digits: isdigit() but not a barcode
    ],
)
def test_invalid_gtins_are_refused_with_the_reason(code: str, why: str) -> None:
    assert not is_valid_gtin(code)
    assert why in (gtin_problem(code) or "")


def test_every_single_digit_error_is_caught() -> None:
    code = "4006381333931"
    for position in range(len(code)):
        for digit in "0123456789":
            if digit != code[position]:
                wrong = code[:position] + digit + code[position + 1 :]
                assert not is_valid_gtin(wrong), wrong


def test_normalize_drops_the_separators_people_type() -> None:
    assert normalize_gtin(" 4 006381-333931 ") == "4006381333931"
    assert normalize_gtin("4006.381.333.931") == "4006381333931"


def test_restricted_codes_are_valid_ean13_in_the_20_to_29_range() -> None:
    assert restricted_ean13(0) == "2000000000008"
    assert check_digit("200000000000") == 8
    codes = [restricted_ean13(n, prefix) for n in (1, 42, 9_999_999_999) for prefix in (20, 29)]
    assert all(is_valid_gtin(c) and 20 <= int(c[:2]) <= 29 and len(c) == 13 for c in codes)
    with pytest.raises(ValueError):
        restricted_ean13(1, prefix=30)


# --- through the API --------------------------------------------------------------------------


def create(client: FlaskClient, keys: Keys, **fields: Any) -> Any:
    body = {"sku": "LL-1", "name": "Lave-linge", "price": "499.00", **fields}
    return client.post(PRODUCTS, json=body, headers=keys.headers(Role.OWNER))


def test_a_gtin_typed_with_spaces_is_stored_as_digits(client: FlaskClient, keys: Keys) -> None:
    response = create(client, keys, gtin="4 006381 333931")

    assert response.status_code == 201, response.json
    assert response.json["gtin"] == "4006381333931"
    read = client.get(f"{PRODUCTS}/LL-1", headers=keys.headers(Role.SELLER))
    assert read.json["gtin"] == "4006381333931"


@pytest.mark.parametrize(
    "gtin", ["4006381333932", "12345", "ABCDEFGHIJKLM", "", "1" * 41, 4006381333931]
)
def test_a_wrong_gtin_is_a_422_naming_the_field(
    client: FlaskClient, keys: Keys, gtin: object
) -> None:
    response = create(client, keys, gtin=gtin)

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == {"gtin"}
    assert client.get(f"{PRODUCTS}/LL-1", headers=keys.headers(Role.SELLER)).status_code == 404


def test_a_gtin_is_unique_across_products(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "LL-0", gtin="4006381333931")

    response = create(client, keys, gtin="4006381333931")
    patched = client.patch(
        f"{PRODUCTS}/LL-0", json={"gtin": "4006381333931"}, headers=keys.headers(Role.OWNER)
    )

    assert response.status_code == 409
    assert response.json["code"] == "gtin_already_exists"
    assert "gtin" in response.json["errors"]
    assert patched.status_code == 200  # its own code again is no conflict


def test_a_gtin_is_changed_and_removed_by_patch(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-0", gtin="4006381333931")
    owner = keys.headers(Role.OWNER)

    changed = client.patch(f"{PRODUCTS}/LL-0", json={"gtin": "96385074"}, headers=owner)
    wrong = client.patch(f"{PRODUCTS}/LL-0", json={"gtin": "96385075"}, headers=owner)
    removed = client.patch(f"{PRODUCTS}/LL-0", json={"gtin": None}, headers=owner)

    assert changed.json["gtin"] == "96385074"
    assert wrong.status_code == 422 and set(wrong.json["errors"]) == {"gtin"}
    assert removed.json["gtin"] is None
    # Two products without a barcode do not collide.
    assert create(client, keys).status_code == 201


def test_the_gtin_filter_finds_exactly_one_product(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-0", gtin="4006381333931")
    add_product(app, "LL-1", gtin="96385074")
    seller = keys.headers(Role.SELLER)

    found = client.get(PRODUCTS, query_string={"gtin": "4006381-333931"}, headers=seller)
    unknown = client.get(PRODUCTS, query_string={"gtin": "036000291452"}, headers=seller)
    misread = client.get(PRODUCTS, query_string={"gtin": "4006381333930"}, headers=seller)

    assert [p["sku"] for p in found.json["items"]] == ["LL-0"]
    assert found.json["total"] == 1
    assert unknown.status_code == 200 and unknown.json["items"] == []
    assert misread.status_code == 422 and set(misread.json["errors"]) == {"gtin"}


def test_product_events_carry_the_gtin(app: Flask, client: FlaskClient, keys: Keys) -> None:
    create(client, keys, gtin="4006381333931")
    client.patch(f"{PRODUCTS}/LL-1", json={"gtin": None}, headers=keys.headers(Role.OWNER))

    feed = client.get(
        "/api/v1/events", query_string={"limit": 100}, headers=keys.headers(Role.OWNER)
    )
    by_type = {e["type"]: e["payload"] for e in feed.json["events"]}
    assert by_type["product.created"]["gtin"] == "4006381333931"
    assert by_type["product.updated"]["gtin"] is None
    assert by_type["product.updated"]["changed"] == ["gtin"]


def test_searching_a_full_gtin_returns_that_product_first(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-0", name="Lave-linge 2000012345678 édition", gtin="96385074")
    add_product(app, "LL-1", name="Lave-linge", gtin="2000012345678")

    found = client.get(
        PRODUCTS, query_string={"q": "2000012345678"}, headers=keys.headers(Role.SELLER)
    )

    assert found.json["items"][0]["sku"] == "LL-1"


# --- through the CSV import -------------------------------------------------------------------

COLUMNS = ["sku", "gtin", "name", "price"]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_the_import_reads_and_checks_gtins(
    runner: FlaskCliRunner, client: FlaskClient, keys: Keys, tmp_path: Path
) -> None:
    good = write_csv(
        tmp_path / "good.csv",
        [
            {"sku": "A-1", "gtin": "4006381333931", "name": "A", "price": "1"},
            {"sku": "A-2", "gtin": "", "name": "B", "price": "1"},
        ],
    )
    bad = write_csv(
        tmp_path / "bad.csv",
        [
            {"sku": "B-1", "gtin": "4006381333932", "name": "A", "price": "1"},
            {"sku": "B-2", "gtin": "96385074", "name": "B", "price": "1"},
            {"sku": "B-3", "gtin": "9638-5074", "name": "C", "price": "1"},
        ],
    )
    taken = write_csv(
        tmp_path / "taken.csv", [{"sku": "C-1", "gtin": "4006381333931", "name": "A", "price": "1"}]
    )

    ok = runner.invoke(args=["catalog", "import", str(good)])
    refused = runner.invoke(args=["catalog", "import", str(bad)])
    conflict = runner.invoke(args=["catalog", "import", str(taken)])

    assert ok.exit_code == 0, ok.output
    seller = keys.headers(Role.SELLER)
    assert client.get(f"{PRODUCTS}/A-1", headers=seller).json["gtin"] == "4006381333931"
    assert client.get(f"{PRODUCTS}/A-2", headers=seller).json["gtin"] is None
    assert refused.exit_code != 0
    assert "bad.csv line 2: gtin: Wrong check digit" in refused.output
    assert "bad.csv line 4: gtin: Same GTIN as line 3." in refused.output
    assert conflict.exit_code != 0
    assert "already belongs to A-1" in conflict.output
    assert client.get(f"{PRODUCTS}/C-1", headers=seller).status_code == 404


def test_every_demo_product_has_a_valid_in_store_ean13() -> None:
    with (ROOT / "seeds" / "demo_catalog.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))

    gtins = [row["gtin"] for row in rows]
    assert len(rows) == 203
    assert len(set(gtins)) == len(gtins)
    assert all(is_valid_gtin(g) and len(g) == 13 and 20 <= int(g[:2]) <= 29 for g in gtins)
    assert json.loads(rows[0]["attributes"])  # the columns did not shift
