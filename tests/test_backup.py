"""``flask backup`` and ``flask restore``: a shop comes back whole into an empty database.

The round trip is checked table by table (every row of every table, the ledger and the outbox
included), then ``stock check`` must find no drift. The same test runs on SQLite (online backup
API) and PostgreSQL (pg_dump / pg_restore), like the rest of the suite.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text

from store_api import create_app, db
from store_api.db import Base
from tests.conftest import Keys
from tests.fixtures.browsing import Item, Shopper, collect, refresh
from tests.fixtures.shop import add_product

HEADERS_JSON = {"Content-Type": "application/json"}


@pytest.fixture
def shop(app: Flask, keys: Keys) -> Flask:
    """A shop with products, stock, a committed hold, a web order, events and analytics."""
    from store_api.keys.models import Role

    add_product(app, "LL-1", {"floor": 2, "backroom": 3}, name="Lave-linge Écume 9 kg")
    add_product(app, "FR-1", {"warehouse": 4}, category="Réfrigérateur", price="899.90")
    client = app.test_client()
    seller = keys.headers(Role.SELLER)
    hold = client.post("/api/v1/reservations", json={"sku": "LL-1", "quantity": 1,
                       "note": "Mme Martin"}, headers=seller).get_json()  # fmt: skip
    assert client.post(f"/api/v1/reservations/{hold['id']}/commit", json={"reference": "T-1"},
                       headers=seller).status_code == 200  # fmt: skip
    client.post("/api/v1/reservations", json={"sku": "FR-1", "quantity": 1}, headers=seller)
    order = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": "FR-1", "quantity": 2}]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "order-1"}),
    )
    assert order.status_code == 201, order.get_json()
    item = Item("LL-1")
    shopper = Shopper().view(item).dwell(item, 30).add_to_cart(item).search("frigo", 0)
    assert collect(app, shopper) > 0
    refresh(app)
    return app


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            found = {}
            for table in Base.metadata.sorted_tables:
                order = list(table.primary_key.columns) or list(table.columns)
                found[table.name] = [
                    tuple(row) for row in connection.execute(select(table).order_by(*order))
                ]
            found["alembic_version"] = list(
                connection.execute(text("SELECT version_num FROM alembic_version"))
            )
        return found
    finally:
        engine.dispose()


def _app(url: str, tmp_path: Path) -> Flask:
    app = create_app({"DATABASE_URL": url, "TESTING": True})
    app.instance_path = str(tmp_path / f"instance-{uuid.uuid4().hex[:6]}")
    return app


def _backup(app: Flask, folder: Path) -> Path:
    result = app.test_cli_runner().invoke(args=["backup", "--output", str(folder)])
    assert result.exit_code == 0, result.output
    (written,) = folder.iterdir()
    return written


def test_a_backup_restores_the_same_shop_into_an_empty_database(
    shop: Flask, migrated: str, empty_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    backup_file = _backup(shop, folder)
    assert backup_file.stat().st_mode & 0o777 == 0o600
    before = _rows(migrated)
    assert before["stock_movements"] and before["events"] and before["reservations"]

    target = _app(empty_database, tmp_path)
    restored = target.test_cli_runner().invoke(args=["restore", str(backup_file)])
    assert restored.exit_code == 0, restored.output

    assert _rows(empty_database) == before
    check = target.test_cli_runner().invoke(args=["stock", "check"])
    assert check.exit_code == 0, check.output
    assert "No drift" in check.output
    db.engine_for(target).dispose()


def test_restore_refuses_a_database_that_already_holds_a_shop(
    shop: Flask, migrated: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    backup_file = _backup(shop, folder)
    before = _rows(migrated)

    result = shop.test_cli_runner().invoke(args=["restore", str(backup_file)])

    assert result.exit_code != 0
    assert "already holds a shop" in result.output
    assert _rows(migrated) == before


def test_a_damaged_or_foreign_file_is_refused_and_nothing_is_loaded(
    shop: Flask, empty_database: str, tmp_path: Path
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    good = _backup(shop, folder)
    truncated = tmp_path / "truncated"
    truncated.write_bytes(good.read_bytes()[: max(1, good.stat().st_size // 3)])
    foreign = tmp_path / "notes.txt"
    foreign.write_text("not a backup")
    target = _app(empty_database, tmp_path)

    for bad, says in ((foreign, "not a Comptoir backup"), (truncated, "")):
        result = target.test_cli_runner().invoke(args=["restore", str(bad)])
        assert result.exit_code != 0, bad
        assert says in result.output
    tables = _rows(empty_database) if _has_schema(empty_database) else {}
    assert not tables.get("products")
    db.engine_for(target).dispose()


def test_a_backup_never_overwrites_an_earlier_one(shop: Flask, tmp_path: Path) -> None:
    earlier = tmp_path / "keep.bak"
    earlier.write_text("an earlier backup")

    result = shop.test_cli_runner().invoke(args=["backup", "--output", str(earlier)])

    assert result.exit_code != 0
    assert "already exists" in result.output
    assert earlier.read_text() == "an earlier backup"


def _has_schema(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return bool(
                connection.execute(
                    text(
                        "SELECT 1 FROM information_schema.tables WHERE table_name = 'products'"
                        if engine.dialect.name == "postgresql"
                        else "SELECT 1 FROM sqlite_master WHERE name = 'products'"
                    )
                ).first()
            )
    finally:
        engine.dispose()


del os, HEADERS_JSON
