"""``flask analytics ...``: rollups, purge and the synthetic browsing seed."""

from __future__ import annotations

import datetime as dt
import importlib
import time
from typing import Any
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Session

from store_api import context, db
from store_api.analytics import rollup
from store_api.clickstream.cli import commands as clickstream_commands

analytics_cli = AppGroup("analytics", help="Clickstream analytics: rollups, purge, demo data.")

for _command in clickstream_commands:
    analytics_cli.add_command(_command)

# A big backlog (a first run, a seed) is folded and reported in steps of this many events.
PROGRESS_STEP = 50_000


@analytics_cli.command("rollup")
@click.option(
    "--every",
    type=click.IntRange(min=0),
    default=0,
    help="Keep running: fold new events every N seconds (and purge old data once a day).",
)
@click.option(
    "--rebuild",
    is_flag=True,
    help="Empty the rollup tables first and fold every raw event again (after an upgrade "
    "that changes how reports count).",
)
def rollup_command(every: int, rebuild: bool) -> None:
    """Fold the clickstream events collected since the last run into the report tables."""
    session = db.get_session()
    timezone = context.policy().timezone
    if rebuild:
        with db.write(session):
            rollup.rebuild(session)
        click.echo("Rollup tables emptied; folding every raw event again.")
    if not every:
        _fold(session, timezone, quiet=False)
        return
    click.echo(f"Folding new webshop events into the reports every {every} s.")
    purged_on: dt.date | None = None
    while True:
        try:
            _fold(session, timezone, quiet=True)
            today = context.now().astimezone(timezone).date()
            if purged_on != today:
                _purge(session)
                purged_on = today
        except Exception as exc:  # a long-running job outlives a database hiccup
            session.rollback()
            click.echo(f"Rollup failed, retrying in {every} s: {exc!r}", err=True)
        time.sleep(every)


def _fold(session: Session, timezone: ZoneInfo, *, quiet: bool) -> None:
    started = time.perf_counter()
    folded = 0
    while True:
        step = rollup.refresh(session, now=context.now(), limit=PROGRESS_STEP, tz=timezone)
        folded += step
        if step < PROGRESS_STEP:
            break
        click.echo(f"  {folded} event(s) folded…")
    if folded or not quiet:
        click.echo(f"{folded} event(s) folded in {time.perf_counter() - started:.1f} s.")


def _purge(session: Session) -> None:
    """The clickstream's retention purge (raw events, salts, and the rollups' old days)."""
    try:
        service = importlib.import_module("store_api.clickstream.service")
    except ImportError:
        return
    if not hasattr(service, "purge"):
        return
    kwargs: dict[str, Any] = {}
    if hasattr(service, "CollectSettings"):
        kwargs["settings"] = service.CollectSettings.from_config(current_app.config)
    with db.write(session):
        done = service.purge(session, now=context.now(), **kwargs)
    counts = ", ".join(
        f"{name} {getattr(done, name)}"
        for name in ("events", "visits", "salts", "counters", "aggregates")
        if hasattr(done, name)
    )
    click.echo(f"Daily purge, rows deleted: {counts}.")


@analytics_cli.command("status")
def status_command() -> None:
    """How far the rollup is: last folded event and events waiting."""
    session = db.get_session()
    with db.read(session):
        state = rollup.state(session)
    when = f"{state.updated_at:%Y-%m-%d %H:%M:%S} UTC" if state.updated_at else "never"
    click.echo(
        f"Folded up to event #{state.watermark} (last run: {when}); "
        f"about {state.pending} event(s) waiting."
    )


commands: list[click.Command] = [rollup_command, status_command]
