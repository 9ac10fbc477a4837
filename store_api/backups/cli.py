"""``flask --app store_api backup`` and ``restore``: see docs/operations.md."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from store_api import context, db
from store_api.backups import service


@click.command("backup")
@with_appcontext
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    default=None,
    help="File or folder to write (default: <instance>/backups/comptoir-<date>-<time>.<kind>).",
)
def backup(output: Path | None) -> None:
    """Copy the database to one file while the shop keeps running."""
    url = current_app.config["DATABASE_URL"]
    try:
        backend = service.backend_of(url)
        name = service.default_name(backend, context.now())
        if output is None:
            output = Path(current_app.instance_path) / "backups" / name
        elif output.is_dir():
            output = output / name
        done = service.backup(url, output)
    except service.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backup written: {done.path} ({done.size:,} bytes, {done.backend})")


@click.command("restore")
@with_appcontext
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore(backup_file: Path) -> None:
    """Load BACKUP_FILE into the empty database of COMPTOIR_DATABASE_URL, then migrate it."""
    from store_api.cli import upgrade_database

    url = current_app.config["DATABASE_URL"]
    engine = db.engine_for(current_app)
    try:
        service.restore(url, backup_file, engine)
    except service.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    engine.dispose()
    upgrade_database(current_app)
    click.echo(f"Restored {backup_file} and brought its schema up to date.")
    click.echo("Check it with: flask --app store_api stock check")
