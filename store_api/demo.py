"""The demo shop, and how Comptoir tells it from a real one.

``make run`` loads the demo catalogue (``seeds/demo_catalog.csv``) into an empty database and
then fills it with made-up history: sales, webshop browsing, a planogram, demo API keys, and a
simulator that sells and reprices products while it replays customers in the store. None of
that may ever touch a real shop's data. A database is a **real shop** as soon as it holds one
product that is not in the demo catalogue (imported with ``flask catalog import``, created
through the API...): every demo-only step then says so and steps aside (docs/production.md).
An empty catalogue is not a real shop yet (``make run`` seeds the demo into it).

No Flask here: the CLI commands, the MQTT simulator and the tests share it.
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
DEMO_CATALOGUE = SEEDS / "demo_catalog.csv"


@functools.cache
def demo_skus(path: Path = DEMO_CATALOGUE) -> frozenset[str]:
    """The SKUs of the demo catalogue (none when it is not installed: then every product is a
    real shop's)."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return frozenset(row["sku"] for row in csv.DictReader(handle))
    except FileNotFoundError:
        return frozenset()


def not_demo(skus: set[str] | frozenset[str] | list[str]) -> list[str]:
    """The SKUs among ``skus`` that are not from the demo catalogue, sorted."""
    return sorted(set(skus) - demo_skus())


def foreign_products(session: Session) -> list[str]:
    """The products of the database that are not from the demo catalogue (a real shop's)."""
    return not_demo(set(session.scalars(select(Product.sku))))


def real_shop_notice(foreign: list[str], consequence: str) -> str:
    """One sentence for a demo-only step that stands aside: what it saw, what it does not do."""
    return (
        f"{len(foreign)} product(s) are not from the demo catalogue (e.g. {foreign[0]}): "
        f"this looks like a real shop, {consequence}"
    )
