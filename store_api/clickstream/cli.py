"""Operator commands of the clickstream (registered under ``flask analytics``)."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import with_appcontext

from store_api import context, db
from store_api.clickstream import service


@click.command("purge")
@click.option("--every", type=int, default=0, help="Keep running, purging every N seconds.")
@with_appcontext
def purge(every: int) -> None:
    """Delete what is past its retention: raw events (13 months), salts (48 h), aggregates (25).

    Run it daily (cron, or ``--every 86400``); it is idempotent.
    """
    settings = service.CollectSettings.from_config(current_app.config)
    while True:
        session = db.get_session()
        with db.write(session):
            done = service.purge(session, now=context.now(), settings=settings)
        aggregates = "no rollups yet" if done.aggregates is None else done.aggregates
        click.echo(
            f"Deleted {done.events} raw event(s) before {done.raw_before:%Y-%m-%d %H:%M} UTC, "
            f"{done.visits} visit(s) left empty, {done.salts} visitor salt(s) older than 48 h, "
            f"{done.counters} counter row(s) and {aggregates} rollup row(s) before "
            f"{done.aggregates_before}."
        )
        if not every:
            return
        time.sleep(every)


commands: list[click.Command] = [purge]
