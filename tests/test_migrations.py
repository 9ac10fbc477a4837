"""The Alembic migrations are the schema: they must match the models and run both ways."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import inspect

from store_api import create_app, db
from store_api.db import Base
from tests.fixtures.clock import FrozenClock


def test_the_migrated_schema_matches_the_models(app: Flask) -> None:
    with db.engine_for(app).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_the_check_constraints_that_guard_stock_exist(app: Flask) -> None:
    checks = {c["name"] for c in inspect(db.engine_for(app)).get_check_constraints("stock_levels")}

    assert {
        "ck_stock_levels_on_hand_not_negative",
        "ck_stock_levels_reserved_not_negative",
        "ck_stock_levels_reserved_within_on_hand",
        "ck_stock_levels_on_hand_within_max",
    } <= checks


def test_db_upgrade_creates_the_schema_on_an_empty_database(
    tmp_path: Path, clock: FrozenClock
) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}", "CLOCK": clock})
    runner: FlaskCliRunner = app.test_cli_runner()

    up = runner.invoke(args=["db", "upgrade"])
    tables = set(inspect(db.engine_for(app)).get_table_names())
    down = runner.invoke(args=["db", "downgrade", "base"])
    after_down = set(inspect(db.engine_for(app)).get_table_names())
    db.engine_for(app).dispose()

    assert up.exit_code == 0, up.output
    assert {"products", "stock_levels", "stock_movements", "reservations", "orders"} <= tables
    assert down.exit_code == 0, down.output
    assert after_down <= {"alembic_version"}
