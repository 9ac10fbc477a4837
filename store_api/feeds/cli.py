"""``flask feeds pull [--every N]``: pick supplier files up from the inbox folders."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from store_api import context, db
from store_api.feeds import inbox
from store_api.feeds import service as feeds
from store_api.feeds.problems import describe
from store_api.suppliers import service as suppliers
from store_api.suppliers.models import FeedStatus

feeds_cli = AppGroup("feeds", help="Supplier catalog feeds.")


def inbox_dir() -> Path:
    configured = current_app.config.get("FEEDS_INBOX_DIR") or ""
    return Path(configured) if configured else Path(current_app.instance_path) / "inbox"


def pull_once() -> int:
    """Every settled file of every active supplier's folder; returns how many were taken."""
    session = db.get_session()
    with db.read(session):
        codes = [s.code for s in suppliers.list_suppliers(session) if s.active]
    max_bytes = current_app.config["FEEDS_MAX_BYTES"]
    taken = 0
    for item in inbox.pending(inbox_dir(), codes):
        now = context.now()
        size = item.path.stat().st_size
        with db.write(session):
            if size > max_bytes:
                record = feeds.refuse(
                    session,
                    item.supplier_code,
                    item.path.name,
                    feeds.too_large(size, max_bytes),
                    size=size,
                    source="inbox",
                    actor="inbox",
                    now=now,
                )
            else:
                record = feeds.dry_run(
                    session,
                    item.supplier_code,
                    item.path.read_bytes(),
                    item.path.name,
                    actor="inbox",
                    now=now,
                    max_bytes=max_bytes,
                    source="inbox",
                )
            import_id, status, summary = record.id, record.status, dict(record.summary)
            problem = record.problem
            auto = bool(record.mapping.get("auto_apply")) and not summary.get("rejected")
        if status == FeedStatus.DRY_RUN and auto:
            try:
                with db.write(session):
                    status = feeds.apply_import(
                        session,
                        import_id,
                        skip_rejected=False,
                        actor="inbox",
                        now=now,
                        locations=context.policy().locations,
                    ).status
            except Exception as exc:  # kept as a dry run; the owner applies it by hand
                click.echo(f"feeds: #{import_id} not applied: {exc}", err=True)
        outcome = inbox.REFUSED if status == FeedStatus.REFUSED else inbox.DONE
        inbox.archive(item, outcome, now)
        taken += 1
        detail = (
            describe(problem, current_app.config.get("DEFAULT_LOCALE", "fr"))
            if problem
            else ", ".join(f"{k} {v}" for k, v in summary.items() if v and k != "lines")
        )
        click.echo(
            f"feeds: {item.supplier_code}/{item.path.name} -> #{import_id} {status}: {detail}"
        )
    return taken


@feeds_cli.command("pull")
@click.option("--every", type=int, default=0, help="Keep running, looking every N seconds.")
def feeds_pull(every: int) -> None:
    """Read the files waiting in <inbox>/<SUPPLIER CODE>/ (dry run, applied when the
    supplier's profile has auto_apply and no line is rejected)."""
    if every:
        click.echo(f"Looking for supplier files in {inbox_dir()} every {every} s.")
    while True:
        taken = pull_once()
        if not every:
            click.echo(f"{taken} file(s) picked up from {inbox_dir()}.")
            return
        time.sleep(every)
