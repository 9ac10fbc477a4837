"""``flask seed-planogram``: the demo shop's lanes."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from store_api import context, db, demo
from store_api.errors import Invalid
from store_api.shelves import service

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
DEMO_PLANOGRAM = SEEDS / "demo_planogram.csv"
DEMO_ZONES = SEEDS / "demo_zones.csv"

alerts_cli = AppGroup("alerts", help="Help alerts.")


def read_planogram(path: Path) -> list[dict[str, Any]]:
    """Rows of shelf, lane, sku, unit_weight_g, capacity, tolerance_g, units_on_shelf."""
    with path.open(newline="", encoding="utf-8") as file:
        return [
            {
                "shelf": row["shelf"],
                "lane": row["lane"],
                "sku": row["sku"],
                "unit_weight_g": float(row["unit_weight_g"]),
                "capacity": int(row["capacity"]),
                "tolerance_g": float(row["tolerance_g"]) if row.get("tolerance_g") else None,
                "units_on_shelf": int(row["units_on_shelf"]) if row.get("units_on_shelf") else None,
            }
            for row in csv.DictReader(file)
        ]


@click.command("seed-planogram")
@with_appcontext
@click.option(
    "--planogram",
    "planogram_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEMO_PLANOGRAM,
)
@click.option(
    "--zones",
    "zones_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=DEMO_ZONES,
)
@click.option("--force", is_flag=True, help="Also when the catalogue is not the demo one.")
def seed_planogram(planogram_file: Path, zones_file: Path, force: bool) -> None:
    """Put the demo products in the demo shop's lanes, with the presence zones in front of
    them (once; run `flask seed` first)."""
    store: str = current_app.config["STORE_ID"]
    session = db.get_session()
    with db.write(session):
        if service.list_lanes(session, store):
            click.echo(f"Store {store} already has a planogram; not loaded again.")
            return
        foreign = demo.foreign_products(session)
        if foreign and not force:
            click.echo(demo.real_shop_notice(foreign, "no demo planogram loaded (--force)."))
            return
        try:
            count = service.seed_lanes(
                session, store, read_planogram(planogram_file), context.now()
            )
        except Invalid as exc:
            raise click.ClickException(f"{planogram_file.name}: {exc.message}") from exc
        with zones_file.open(newline="", encoding="utf-8") as file:
            zones = [
                service.put_zone(
                    session,
                    store,
                    row["zone"],
                    row["shelf"],
                    row["lane"],
                    int(row["dwell_threshold_s"]),
                )
                for row in csv.DictReader(file)
            ]
    click.echo(f"Planogram of {store}: {count} lanes, {len(zones)} presence zones.")


def help_settings() -> service.HelpSettings:
    return service.HelpSettings.from_config(current_app.config, Path(current_app.instance_path))


@alerts_cli.command("escalate")
@click.option("--every", type=int, default=0, help="Keep running, sweeping every N seconds.")
def alerts_escalate(every: int) -> None:
    """Escalate help alerts nobody acknowledged in time (once, or every N seconds).

    Escalations go to the outbox as ``help.escalated`` (the event stream carries them to the
    tablets); the MQTT bridge does the same on its timer and also notifies over MQTT.
    """
    store: str = current_app.config["STORE_ID"]
    settings = help_settings()
    while True:
        session = db.get_session()
        with db.write(session):
            escalated = service.escalate_due(session, store, context.now(), settings)
        session.close()
        if escalated or not every:
            click.echo(f"{len(escalated)} help alert(s) escalated.")
        if not every:
            return
        time.sleep(every)
