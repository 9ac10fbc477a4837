"""``flask --app store_api recommender train`` and ``flask --app store_api seed-sales``."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from store_api import context, db, demo
from store_api.recommendations import service
from store_api.recommendations.routes import recommender_dir

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
DEMO_SALES = SEEDS / "demo_sales.py"

recommender_cli = AppGroup("recommender", help="Train and inspect the recommendation model.")


@recommender_cli.command("train")
def train() -> None:
    """Train on the shop's orders, store sales and catalogue; serve the new model at once.

    Running workers pick the new model up on their next request (no restart).
    """
    directory = recommender_dir()
    session = db.get_session()
    click.echo("Training on the shop's sales history and webshop visits…")
    with db.read(session):
        report = service.train(
            session,
            directory,
            now=context.now(),
            accessory_category=current_app.config["RECOMMENDER_ACCESSORY_CATEGORY"],
        )
    click.echo(
        f"{report.baskets} basket(s), {report.items_sold} product(s) sold, "
        f"{report.visits} webshop visit(s) that viewed products, "
        f"{report.items} product(s) in the catalogue."
    )
    click.echo(f"Model {report.version} trained in {report.seconds:.2f} s: {report.path}")
    click.echo(f"Now served from {directory / service.CURRENT}")


@recommender_cli.command("status")
def status() -> None:
    """Show which model is served."""
    directory = recommender_dir()
    version = service.current_version(directory)
    if version is None:
        click.echo(f"No model in {directory}: suggestions are best-sellers only.")
        return
    click.echo(f"Serving {version} ({service.artifact_path(directory, version)})")


def _demo_sales_module() -> ModuleType:
    """seeds/ is data next to the code, not an installed package: load the file itself."""
    if "comptoir_demo_sales" in sys.modules:
        return sys.modules["comptoir_demo_sales"]
    spec = importlib.util.spec_from_file_location("comptoir_demo_sales", DEMO_SALES)
    if spec is None or spec.loader is None:
        raise click.ClickException(f"Cannot load {DEMO_SALES}.")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


@click.command("seed-sales")
@with_appcontext
@click.option("--visits", type=click.IntRange(1, 100_000), default=400, show_default=True)
@click.option("--seed", "rng_seed", type=int, default=20261127, show_default=True)
@click.option("--force", is_flag=True, help="Also when the catalogue is not the demo one.")
def seed_sales(visits: int, rng_seed: int, force: bool) -> None:
    """Record a synthetic sales history for the demo shop (once: only if it has no sales)."""
    demo_sales = _demo_sales_module()
    session = db.get_session()
    started = time.perf_counter()
    with db.write(session):
        if demo_sales.has_sales(session):
            click.echo("The shop already has sales; no demo history added.")
            return
        foreign = demo.foreign_products(session)
        if foreign and not force:
            click.echo(
                demo.real_shop_notice(foreign, "no made-up sales added (--force to add them).")
            )
            return
        report = demo_sales.generate(
            session, policy=context.policy(), now=context.now(), visits=visits, seed=rng_seed
        )
    click.echo(
        f"Demo sales history: {report.store_visits} store visit(s), {report.web_orders} web "
        f"order(s), {report.units} unit(s) of {len(report.skus)} product(s) "
        f"in {time.perf_counter() - started:.1f} s."
    )
