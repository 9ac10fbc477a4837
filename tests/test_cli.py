"""Operator commands through the Flask CLI runner, checked through HTTP where a client would."""

from __future__ import annotations

import csv
import hashlib
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from store_api import db
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

ROOT = Path(__file__).resolve().parents[1]
DEMO_CATEGORIES = {
    "Lave-linge",
    "Sèche-linge",
    "Réfrigérateurs",
    "Lave-vaisselle",
    "Fours",
    "Petit électroménager",
    "Téléviseurs",
    "Accessoires",
}
DEMO_KEY_LINE = re.compile(r"^\s+(admin|owner|seller|webshop|device)\s+(cpt_\S+)$", re.MULTILINE)

Invoke = Callable[..., Result]


@pytest.fixture
def flask_cli(app: Flask, runner: FlaskCliRunner) -> Invoke:
    """Run ``flask <args>`` through the test runner."""

    def invoke(*args: str | Path) -> Result:
        return runner.invoke(args=[str(a) for a in args])

    return invoke


def sql(app: Flask, statement: str, **params: Any) -> list[Sequence[Any]]:
    with db.engine_for(app).begin() as conn:
        result = conn.execute(text(statement), params)
        return list(result.all()) if result.returns_rows else []


def ping(client: FlaskClient, key: str) -> tuple[int, dict[str, Any]]:
    response = client.get("/api/v1/ping", headers={"Authorization": f"Bearer {key}"})
    return response.status_code, response.json


def movements(client: FlaskClient, keys: Keys, sku: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/stock/movements", query_string={"sku": sku}, headers=keys.headers(Role.OWNER)
    )
    assert response.status_code == 200, response.json
    rows: list[dict[str, Any]] = response.json
    return rows


def units_by_location(client: FlaskClient, keys: Keys, sku: str) -> dict[str, int]:
    response = client.get(f"/api/v1/stock/{sku}", headers=keys.headers(Role.SELLER))
    assert response.status_code == 200, response.json
    return {loc["location"]: loc["on_hand"] for loc in response.json["locations"]}


def all_products(client: FlaskClient, keys: Keys) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    page = 1
    while True:
        body = client.get(
            "/api/v1/products",
            query_string={"page": page, "page_size": 100, "include_inactive": "true"},
            headers=keys.headers(Role.SELLER),
        ).json
        products += body["items"]
        if page * 100 >= body["total"]:
            return products
        page += 1


# --- keys ----------------------------------------------------------------------------------


def test_keys_create_prints_the_key_alone_on_the_last_line(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    result = runner.invoke(args=["keys", "create", "--role", "seller", "--name", "Tablet 1"])

    assert result.exit_code == 0, result.output
    secret = result.output.splitlines()[-1]
    assert re.fullmatch(r"cpt_[A-Za-z0-9_-]{40,}", secret)
    assert result.stdout == secret + "\n"  # `KEY=$(flask keys create ...)` captures just the key
    assert ping(client, secret) == (200, {"name": "Tablet 1", "role": "seller"})


def test_only_a_sha256_of_the_key_is_stored(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["keys", "create", "--role", "owner", "--name", "Boss"])
    secret = result.output.splitlines()[-1]

    rows = sql(app, "SELECT * FROM api_keys")

    assert [row for row in rows if secret in " ".join(map(str, row))] == []
    hashes = sql(app, "SELECT key_hash FROM api_keys WHERE name = 'Boss'")
    assert hashes == [(hashlib.sha256(secret.encode()).hexdigest(),)]


def test_a_revoked_key_is_refused_at_once_and_listed_as_revoked(
    runner: FlaskCliRunner, client: FlaskClient
) -> None:
    created = runner.invoke(args=["keys", "create", "--role", "seller", "--name", "Tablet 1"])
    secret = created.output.splitlines()[-1]
    match = re.search(r"#(\d+)", created.stderr)
    assert match is not None
    key_id = match.group(1)

    revoked = runner.invoke(args=["keys", "revoke", key_id])

    assert revoked.exit_code == 0, revoked.output
    status, body = ping(client, secret)
    assert (status, body["code"]) == (401, "unauthorized")
    listing = runner.invoke(args=["keys", "list"])
    assert listing.exit_code == 0, listing.output
    (line,) = [line for line in listing.output.splitlines() if line.endswith("Tablet 1")]
    assert line.split()[0] == key_id
    assert "revoked 2026-11-27" in line
    assert secret not in listing.output


def test_keys_list_shows_live_keys_as_active(runner: FlaskCliRunner) -> None:
    runner.invoke(args=["keys", "create", "--role", "device", "--name", "Shelf bridge"])

    listing = runner.invoke(args=["keys", "list"])

    (line,) = [line for line in listing.output.splitlines() if line.endswith("Shelf bridge")]
    assert " device " in line
    assert " active " in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["keys", "create", "--role", "cashier", "--name", "Till"], "Invalid value for '--role'"),
        (["keys", "create", "--role", "seller"], "Missing option '--name'"),
        (["keys", "create", "--name", "Till"], "Missing option '--role'"),
        (["keys", "revoke", "999"], "No key #999"),
        (["keys", "revoke", "first"], "is not a valid integer"),
    ],
)
def test_bad_key_commands_fail(
    app: Flask, runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(args=args)

    assert result.exit_code != 0
    assert message in result.output
    assert sql(app, "SELECT count(*) FROM api_keys") == [(0,)]


# --- catalog import ------------------------------------------------------------------------

COLUMNS = (
    "sku",
    "name",
    "description",
    "brand",
    "category",
    "colour",
    "price",
    "image_url",
    "attributes",
    "active",
    "stock_floor",
    "stock_backroom",
    "stock_warehouse",
)
WASHER = {
    "sku": "LL-BOS-WAN28-BL",
    "name": "Lave-linge hublot Bosch Serie 4 8 kg",
    "brand": "Bosch",
    "category": "Lave-linge",
    "colour": "Blanc",
    "price": "549.00",
    "attributes": '{"capacite_kg": 8, "classe_energie": "B"}',
    "active": "true",
    "stock_floor": "1",
    "stock_backroom": "0",
    "stock_warehouse": "5",
}
FRIDGE = {
    "sku": "RF-SAM-RS68A8-IX",
    "name": "Réfrigérateur américain Samsung 634 L",
    "brand": "Samsung",
    "category": "Réfrigérateurs",
    "colour": "Inox",
    "price": "1499",
    "stock_floor": "3",
    "stock_warehouse": "17",
}
KETTLE = {
    "sku": "PE-SEB-KO2001",
    "name": "Bouilloire SEB",
    "category": "Petit électroménager",
    "price": "39.90",
    "active": "non",
}


def write_csv(path: Path, rows: Sequence[Mapping[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_creates_products_with_their_initial_stock(
    runner: FlaskCliRunner, client: FlaskClient, keys: Keys, tmp_path: Path
) -> None:
    feed = write_csv(tmp_path / "feed.csv", [WASHER, FRIDGE, KETTLE])

    result = runner.invoke(args=["catalog", "import", str(feed)])

    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 26 units stocked, 0 invalid row(s) skipped." in result.output
    washer = client.get(f"/api/v1/products/{WASHER['sku']}", headers=keys.headers(Role.SELLER))
    assert washer.json["price"] == "549.00"
    assert washer.json["attributes"] == {"capacite_kg": 8, "classe_energie": "B"}
    assert washer.json["stock"] == {"on_hand": 6, "reserved": 0, "available": 6}
    assert units_by_location(client, keys, WASHER["sku"]) == {
        "floor": 1,
        "backroom": 0,
        "warehouse": 5,
    }
    assert units_by_location(client, keys, FRIDGE["sku"]) == {
        "floor": 3,
        "backroom": 0,
        "warehouse": 17,
    }
    kettle = client.get(f"/api/v1/products/{KETTLE['sku']}", headers=keys.headers(Role.SELLER))
    assert kettle.json["active"] is False
    assert kettle.json["stock"]["on_hand"] == 0


def test_imported_stock_is_in_the_ledger(
    runner: FlaskCliRunner, client: FlaskClient, keys: Keys, tmp_path: Path
) -> None:
    feed = write_csv(tmp_path / "feed.csv", [WASHER, FRIDGE])

    runner.invoke(args=["catalog", "import", str(feed)])

    ledger = movements(client, keys, WASHER["sku"])
    assert sorted(
        (m["location"], m["delta_on_hand"], m["reason"], m["actor"], m["reference"]) for m in ledger
    ) == [
        ("floor", 1, "import", "import", "import line 2"),
        ("warehouse", 5, "import", "import", "import line 2"),
    ]
    check = runner.invoke(args=["stock", "check"])
    assert check.exit_code == 0, check.output


def test_a_second_import_updates_by_sku_without_touching_stock(
    runner: FlaskCliRunner, client: FlaskClient, keys: Keys, tmp_path: Path
) -> None:
    runner.invoke(args=["catalog", "import", str(write_csv(tmp_path / "v1.csv", [WASHER]))])
    ledger_before = movements(client, keys, WASHER["sku"])
    changed = {**WASHER, "name": "Lave-linge Bosch Serie 4", "price": "499.00", "stock_floor": "9"}
    feed = write_csv(tmp_path / "v2.csv", [changed, FRIDGE])

    result = runner.invoke(args=["catalog", "import", str(feed)])

    assert result.exit_code == 0, result.output
    assert "1 created, 1 updated, 20 units stocked" in result.output
    washer = client.get(f"/api/v1/products/{WASHER['sku']}", headers=keys.headers(Role.SELLER))
    assert (washer.json["name"], washer.json["price"]) == ("Lave-linge Bosch Serie 4", "499.00")
    assert (washer.json["brand"], washer.json["colour"]) == ("Bosch", "Blanc")
    assert units_by_location(client, keys, WASHER["sku"]) == {
        "floor": 1,
        "backroom": 0,
        "warehouse": 5,
    }
    assert movements(client, keys, WASHER["sku"]) == ledger_before


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("price", "12,50"),
        ("price", "abc"),
        ("price", "-5"),
        ("price", "9.999"),
        ("sku", "a b"),
        ("name", ""),
        ("image_url", "ftp://images.example/x.jpg"),
        ("attributes", "{pas du json"),
        ("attributes", "[1, 2]"),
        ("active", "peut-être"),
        ("stock_floor", "-1"),
        ("stock_floor", "deux"),
    ],
)
def test_one_invalid_row_imports_nothing(
    runner: FlaskCliRunner,
    client: FlaskClient,
    keys: Keys,
    tmp_path: Path,
    column: str,
    value: str,
) -> None:
    feed = write_csv(tmp_path / "feed.csv", [WASHER, {**FRIDGE, column: value}, KETTLE])

    result = runner.invoke(args=["catalog", "import", str(feed)])

    assert result.exit_code != 0
    assert f"feed.csv line 3: {column}:" in result.output
    assert "line 2" not in result.output
    assert "line 4" not in result.output
    assert "nothing imported" in result.output
    assert all_products(client, keys) == []


def test_skip_invalid_imports_the_good_rows(
    runner: FlaskCliRunner, client: FlaskClient, keys: Keys, tmp_path: Path
) -> None:
    feed = write_csv(tmp_path / "feed.csv", [WASHER, {**FRIDGE, "price": "12,50"}, KETTLE])

    result = runner.invoke(args=["catalog", "import", "--skip-invalid", str(feed)])

    assert result.exit_code == 0, result.output
    assert "feed.csv line 3: price:" in result.output
    assert "2 created, 0 updated, 6 units stocked, 1 invalid row(s) skipped." in result.output
    assert sorted(p["sku"] for p in all_products(client, keys)) == [
        WASHER["sku"],
        KETTLE["sku"],
    ]


def test_an_unknown_stock_location_column_is_refused(
    runner: FlaskCliRunner, client: FlaskClient, keys: Keys, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    feed.write_text("sku,name,price,stock_van\nLL-1,Lave-linge,499,2\n", encoding="utf-8")

    result = runner.invoke(args=["catalog", "import", str(feed)])

    assert result.exit_code != 0
    assert "line 2: stock_van: Unknown location" in result.output
    assert all_products(client, keys) == []


# --- seed ----------------------------------------------------------------------------------


def test_seed_loads_the_demo_catalog(
    app: Flask, flask_cli: Invoke, client: FlaskClient, keys: Keys
) -> None:
    result = flask_cli("seed", "--no-keys")

    assert result.exit_code == 0, result.output
    assert "cpt_" not in result.output
    products = all_products(client, keys)
    assert len(products) >= 120
    categories = client.get("/api/v1/categories", headers=keys.headers(Role.SELLER)).json
    assert {c["category"] for c in categories} == DEMO_CATEGORIES
    assert len({p["colour"] for p in products if p["colour"]}) >= 5
    units = dict(sql(app, "SELECT location, sum(on_hand) FROM stock_levels GROUP BY location"))
    assert set(units) == {"floor", "backroom", "warehouse"}
    assert all(total > 0 for total in units.values()), units
    assert f"Demo shop: {len(products)} products, {sum(units.values())} units" in result.output


def test_seeding_again_changes_nothing(
    app: Flask, flask_cli: Invoke, client: FlaskClient, keys: Keys
) -> None:
    flask_cli("seed", "--no-keys")
    before = all_products(client, keys)
    ledger_rows = sql(app, "SELECT count(*) FROM stock_movements")

    result = flask_cli("seed", "--no-keys")

    assert result.exit_code == 0, result.output
    assert "demo catalog not loaded again" in result.output
    assert all_products(client, keys) == before
    assert sql(app, "SELECT count(*) FROM stock_movements") == ledger_rows


@pytest.fixture
def tiny_catalog(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "tiny.csv", [WASHER])


def demo_keys(result: Result) -> dict[str, str]:
    return dict(DEMO_KEY_LINE.findall(result.output))


def test_seed_prints_one_working_demo_key_per_role(
    flask_cli: Invoke, client: FlaskClient, tiny_catalog: Path
) -> None:
    result = flask_cli("seed", "--catalog", tiny_catalog)

    assert result.exit_code == 0, result.output
    printed = demo_keys(result)
    assert set(printed) == {role.value for role in Role}
    for role, secret in printed.items():
        status, body = ping(client, secret)
        assert status == 200, body
        assert body["role"] == role
        assert body["name"].startswith("demo ")


def test_seeding_again_revokes_the_previous_demo_keys_only(
    flask_cli: Invoke, client: FlaskClient, keys: Keys, tiny_catalog: Path
) -> None:
    first = demo_keys(flask_cli("seed", "--catalog", tiny_catalog))

    second = demo_keys(flask_cli("seed", "--catalog", tiny_catalog))

    assert set(second) == set(first)
    assert set(second.values()).isdisjoint(first.values())
    assert {ping(client, secret)[0] for secret in first.values()} == {401}
    assert {ping(client, secret)[0] for secret in second.values()} == {200}
    assert ping(client, keys[Role.SELLER])[0] == 200  # keys not made by seed are kept


def test_seed_runs_from_the_test_runner_like_every_other_command(
    runner: FlaskCliRunner, tiny_catalog: Path
) -> None:
    result = runner.invoke(args=["seed", "--no-keys", "--catalog", str(tiny_catalog)])

    assert result.exit_code == 0, result.output


# --- stock check ---------------------------------------------------------------------------


def test_a_fresh_demo_shop_has_no_drift(flask_cli: Invoke, runner: FlaskCliRunner) -> None:
    flask_cli("seed", "--no-keys")

    result = runner.invoke(args=["stock", "check"])

    assert result.exit_code == 0, result.output
    assert "No drift" in result.output


@pytest.mark.parametrize(
    ("column", "expected_lines"),
    [
        ("on_hand", ["DRIFT LL-DRIFT @ floor: on_hand is 3, ledger say 2"]),
        (
            "reserved",
            [
                "DRIFT LL-DRIFT @ floor: reserved is 1, ledger say 0",
                "DRIFT LL-DRIFT @ floor: reserved is 1, active reservations say 0",
            ],
        ),
    ],
)
def test_stock_check_names_a_counter_changed_behind_the_ledger(
    app: Flask, runner: FlaskCliRunner, column: str, expected_lines: list[str]
) -> None:
    add_product(app, "LL-DRIFT", {"floor": 2})
    add_product(app, "LL-FINE", {"floor": 2})
    sql(
        app,
        f"UPDATE stock_levels SET {column} = {column} + 1 "  # noqa: S608 (a fixed column name)
        "WHERE location = 'floor' AND product_id = (SELECT id FROM products WHERE sku = :sku)",
        sku="LL-DRIFT",
    )

    result = runner.invoke(args=["stock", "check"])

    assert result.exit_code != 0
    assert [line for line in result.output.splitlines() if line.startswith("DRIFT")] == (
        expected_lines
    )
    assert f"{len(expected_lines)} drifting counter(s)" in result.output
    assert "LL-FINE" not in result.output


# --- reservations expire -------------------------------------------------------------------


def test_expire_releases_a_web_reservation_past_its_15_minutes(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "TV-55", {"warehouse": 2})
    held = client.post(
        "/api/v1/reservations",
        json={"sku": "TV-55", "quantity": 1},
        headers=keys.headers(Role.WEBSHOP),
    )
    assert held.status_code == 201, held.json
    clock.advance(minutes=15, seconds=1)

    result = runner.invoke(args=["reservations", "expire"])

    assert result.exit_code == 0, result.output
    assert "1 expired" in result.output
    stock = client.get("/api/v1/stock/TV-55", headers=keys.headers(Role.WEBSHOP)).json
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (2, 0, 2)
    reservation = client.get(
        f"/api/v1/reservations/{held.json['id']}", headers=keys.headers(Role.WEBSHOP)
    ).json
    assert reservation["status"] == "expired"
    newest = movements(client, keys, "TV-55")[0]
    assert (newest["reason"], newest["delta_reserved"], newest["reference"]) == (
        "expiry",
        -1,
        held.json["id"],
    )
    check = runner.invoke(args=["stock", "check"])
    assert check.exit_code == 0, check.output


@pytest.mark.parametrize(
    ("role", "minutes", "expired"),
    [
        pytest.param(Role.WEBSHOP, 14, 0, id="web-within-15-minutes"),
        pytest.param(Role.WEBSHOP, 15, 1, id="web-at-15-minutes"),
        # 09:30 UTC is 10:30 in Paris: a store hold lasts until 23:59 local time.
        pytest.param(Role.SELLER, 13 * 60 + 28, 0, id="store-before-closing"),
        pytest.param(Role.SELLER, 13 * 60 + 29, 1, id="store-at-closing"),
    ],
)
def test_expire_releases_only_reservations_past_their_expiry(
    app: Flask,
    runner: FlaskCliRunner,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
    role: Role,
    minutes: int,
    expired: int,
) -> None:
    add_product(app, "TV-55", {"floor": 1, "warehouse": 1})
    client.post(
        "/api/v1/reservations", json={"sku": "TV-55", "quantity": 1}, headers=keys.headers(role)
    )
    clock.advance(minutes=minutes)

    result = runner.invoke(args=["reservations", "expire"])

    assert result.exit_code == 0, result.output
    assert f"{expired} expired reservation(s) released." in result.output
    stock = client.get("/api/v1/stock/TV-55", headers=keys.headers(Role.SELLER)).json
    assert stock["reserved"] == 1 - expired


def test_expire_twice_releases_once(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "TV-55", {"warehouse": 1})
    client.post(
        "/api/v1/reservations",
        json={"sku": "TV-55", "quantity": 1},
        headers=keys.headers(Role.WEBSHOP),
    )
    clock.advance(hours=1)
    runner.invoke(args=["reservations", "expire"])

    result = runner.invoke(args=["reservations", "expire"])

    assert "0 expired" in result.output
    assert [m["reason"] for m in movements(client, keys, "TV-55")] == [
        "expiry",
        "reservation",
        "delivery",
    ]


# --- the demo catalog generator ------------------------------------------------------------


def test_the_demo_catalog_generator_is_deterministic(tmp_path: Path) -> None:
    outputs = [tmp_path / "first.csv", tmp_path / "second.csv"]
    for out in outputs:
        subprocess.run(
            [sys.executable, str(ROOT / "seeds" / "generate_catalog.py"), "--out", str(out)],
            check=True,
            capture_output=True,
            timeout=60,
        )

    committed = (ROOT / "seeds" / "demo_catalog.csv").read_bytes()
    assert [out.read_bytes() == committed for out in outputs] == [True, True]
