"""The demo shop and a real one: every demo-only step of `make seed` stands aside on a real
shop's database (a product not from the demo catalogue) and says why, without failing (so that
`make run` goes on to start the shop)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from store_api import db, demo
from store_api.keys.models import ApiKey
from store_api.shelves.models import Lane
from tests.fixtures.shop import add_product

DEMO_SKU = "LL-BOS-WGG244-BL"


def count(app: Flask, model: type) -> int:
    session = db.new_session(app)
    with db.read(session):
        found = int(session.scalar(select(func.count()).select_from(model)) or 0)
    session.close()
    return found


def test_an_empty_catalogue_and_the_demo_catalogue_are_not_a_real_shop(app: Flask) -> None:
    session = db.new_session(app)
    with db.read(session):
        assert demo.foreign_products(session) == []
    session.close()
    add_product(app, DEMO_SKU, {"floor": 1})

    session = db.new_session(app)
    with db.read(session):
        assert demo.foreign_products(session) == []
    session.close()


def test_one_product_from_elsewhere_makes_a_real_shop(app: Flask) -> None:
    add_product(app, DEMO_SKU, {"floor": 1})
    add_product(app, "REAL-2", {"floor": 1})
    add_product(app, "REAL-1", {"floor": 1})

    session = db.new_session(app)
    with db.read(session):
        assert demo.foreign_products(session) == ["REAL-1", "REAL-2"]
    session.close()


def test_without_the_demo_catalogue_every_product_is_a_real_shops(tmp_path: Path) -> None:
    assert demo.demo_skus(tmp_path / "absent.csv") == frozenset()
    assert DEMO_SKU in demo.demo_skus()


@pytest.mark.parametrize(
    ("command", "says"),
    [
        (["seed-planogram"], "no demo planogram loaded"),
        (["keys", "demo"], "no demo keys made"),
        (["seed"], "no demo keys made"),
        (["seed-sales"], "no made-up sales added"),
        (["seed-browsing"], "no made-up browsing added"),
    ],
)
def test_demo_steps_stand_aside_on_a_real_shop(
    app: Flask, runner: FlaskCliRunner, command: list[str], says: str
) -> None:
    add_product(app, "REAL-1", {"floor": 2})

    result = runner.invoke(args=command)

    assert result.exit_code == 0, result.output
    assert "not from the demo catalogue (e.g. REAL-1): this looks like a real shop" in result.output
    assert says in result.output
    assert count(app, Lane) == 0
    assert count(app, ApiKey) == 0


def test_forced_demo_keys_on_a_real_shop(app: Flask, runner: FlaskCliRunner) -> None:
    add_product(app, "REAL-1", {"floor": 2})

    result = runner.invoke(args=["keys", "demo", "--force"])

    assert result.exit_code == 0, result.output
    assert count(app, ApiKey) == 5


def test_a_forced_planogram_without_its_products_is_refused_by_name(
    app: Flask, runner: FlaskCliRunner
) -> None:
    add_product(app, "REAL-1", {"floor": 2})

    result = runner.invoke(args=["seed-planogram", "--force"])

    assert result.exit_code == 1
    assert "demo_planogram.csv: No product with SKU" in result.output
    assert "Traceback" not in result.output
    assert count(app, Lane) == 0
