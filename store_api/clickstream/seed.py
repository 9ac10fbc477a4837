"""``flask seed-browsing``: a few weeks of synthetic webshop browsing for the demo shop.

The visits come from ``seeds/demo_browsing.py`` (pure, seeded) as the batches the tracker
would have sent; each goes through the real ingest (:func:`service.collect`) with its
simulated arrival time as the server clock and its synthetic browser as the client, so visits,
sources, devices, bot filtering and privacy are exactly what live traffic gets. The rollups
are then brought up to date, and every report has weeks of history on first start.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api import context, db, demo
from store_api.analytics import rollup
from store_api.catalog.models import Product
from store_api.clickstream.models import ClickEvent
from store_api.clickstream.service import ClientInfo, CollectSettings, collect

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
DEMO_BROWSING = SEEDS / "demo_browsing.py"
# Batches per write transaction: one commit per page hide would be most of the cost.
BATCHES_PER_COMMIT = 250


def demo_browsing() -> ModuleType:
    """seeds/ is data next to the code, not an installed package: load the file itself."""
    name = "comptoir_demo_browsing"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, DEMO_BROWSING)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"Cannot load {DEMO_BROWSING}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def has_browsing(session: Session) -> bool:
    return session.scalar(select(ClickEvent.id).limit(1)) is not None


def _catalog(session: Session, generator: ModuleType) -> list[Any]:
    products = session.scalars(
        select(Product).where(Product.active.is_(True)).order_by(Product.sku)
    ).all()
    return [
        generator.Product(
            sku=p.sku,
            name=p.name,
            brand=p.brand,
            category=p.category,
            colour=p.colour,
            price=p.price,
            attributes=p.attributes or {},
        )
        for p in products
    ]


def _progress(length: int, label: str) -> Any:
    return click.progressbar(length=length, label=label, file=None, show_pos=True)


@click.command("seed-browsing")
@with_appcontext
@click.option("--weeks", type=click.IntRange(1, 26), default=4, show_default=True)
@click.option(
    "--visits-per-day",
    type=click.FloatRange(1, 5000),
    default=210.0,
    show_default=True,
    help="Average over the week (weekends get more).",
)
@click.option("--seed", "rng_seed", type=int, default=20261127, show_default=True)
@click.option("--force", is_flag=True, help="Also when the catalogue is not the demo one.")
def seed_browsing(weeks: int, visits_per_day: float, rng_seed: int, force: bool) -> None:
    """Record weeks of synthetic webshop browsing, up to now (once: only if there is none)."""
    generator = demo_browsing()
    session = db.get_session()
    with db.read(session):
        if has_browsing(session):
            click.echo("The clickstream already has events; no demo browsing added.")
            return
        products = _catalog(session, generator)
    if not products:
        click.echo("No active products to browse: load the catalogue first (flask seed).")
        return
    foreign = demo.not_demo([p.sku for p in products])
    if foreign and not force:
        click.echo(demo.real_shop_notice(foreign, "no made-up browsing added (--force to add it)."))
        return

    started = time.perf_counter()
    now = context.now()
    click.echo(f"Simulating {weeks} week(s) of webshop visits up to {now:%Y-%m-%d %H:%M} UTC…")
    batches = list(
        generator.generate(
            products, end=now, days=7 * weeks, seed=rng_seed, visits_per_day=visits_per_day
        )
    )
    settings = CollectSettings.from_config(current_app.config)
    stored = bots = rejected = 0
    visits: set[int] = set()
    with _progress(len(batches), "Collecting") as bar:
        for first in range(0, len(batches), BATCHES_PER_COMMIT):
            chunk = batches[first : first + BATCHES_PER_COMMIT]
            with db.write(session):
                for batch in chunk:
                    result = collect(
                        session,
                        batch.events,
                        client=ClientInfo(batch.browser.ip, batch.browser.user_agent),
                        now=batch.received_at,
                        settings=settings,
                    )
                    stored += result.accepted
                    rejected += len(result.rejected)
                    if result.bot:
                        bots += len(batch.events)
                    else:
                        visits.add(batch.visit)
            bar.update(len(chunk))
    click.echo(
        f"{stored} event(s) of {len(visits)} visit(s) stored, {bots} robot event(s) counted "
        f"and dropped, {rejected} rejected."
    )
    _refresh_rollups(session)
    click.echo(f"Demo browsing loaded in {time.perf_counter() - started:.1f} s.")


def _refresh_rollups(session: Session) -> None:
    """Fold the new events into the report tables, a chunk at a time, with progress."""
    with db.read(session):
        todo = rollup.pending(session)
    folded = 0
    with _progress(todo, "Rolling up") as bar:
        while True:
            n = rollup.refresh(session, now=context.now(), limit=rollup.CHUNK_SIZE)
            if n == 0:
                break
            folded += n
            bar.update(n)
    click.echo(f"{folded} event(s) folded into the report tables.")
