"""Operator commands: ``flask --app store_api <group> <command>``."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import click
from alembic import command as alembic_command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from store_api import context, db, demo, idempotency
from store_api.analytics.cli import analytics_cli
from store_api.backups.cli import backup, restore
from store_api.catalog import importer
from store_api.catalog import service as catalog
from store_api.clickstream.seed import seed_browsing
from store_api.errors import DomainError
from store_api.feeds.cli import feeds_cli
from store_api.keys import service as keys
from store_api.keys.models import Role
from store_api.month.cli import month_report
from store_api.recommendations.cli import recommender_cli, seed_sales
from store_api.reminders.cli import reminders_cli
from store_api.search.cli import load_demo_synonyms_once, search_cli
from store_api.shelves.cli import alerts_cli, seed_planogram
from store_api.stock import service as stock
from store_api.tablets import service as tablets
from store_api.tablets.cli import tablets_cli
from store_api.webhooks.cli import webhooks_cli

MIGRATIONS = Path(__file__).parent / "migrations"
DEMO_KEY_PREFIX = "demo "

db_cli = AppGroup("db", help="Database schema (Alembic migrations).")
keys_cli = AppGroup("keys", help="API keys and roles.")
catalog_cli = AppGroup("catalog", help="Bulk catalog operations.")
reservations_cli = AppGroup("reservations", help="Reservation housekeeping.")
stock_cli = AppGroup("stock", help="Stock integrity.")
openapi_cli = AppGroup("openapi", help="The OpenAPI document.")


def alembic_config(app: Flask) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", app.config["DATABASE_URL"].replace("%", "%%"))
    return cfg


def upgrade_database(app: Flask, revision: str = "head") -> None:
    cfg = alembic_config(app)
    engine = db.engine_for(app)
    if engine.dialect.name == "sqlite":  # a new shop: its folder too
        db.private_sqlite_files(engine.url.database, create_folder=True)
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        alembic_command.upgrade(cfg, revision)
    if revision == "head":
        _seal_plain_webhook_secrets(app)


def _seal_plain_webhook_secrets(app: Flask) -> None:
    """Secrets stored in clear before migration 0012 are sealed with this instance's key."""
    from store_api.instance import secret_key
    from store_api.webhooks.secret_box import SecretBox
    from store_api.webhooks.service import seal_plain_secrets

    session = db.new_session(app)
    try:
        with db.write(session):
            sealed = seal_plain_secrets(session, SecretBox(secret_key(app)))
    finally:
        session.close()
    if sealed:
        click.echo(f"Sealed {sealed} webhook secret(s) stored in clear.")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: the latest)."""
    upgrade_database(current_app, revision)
    click.echo(f"Database at {revision}: {_safe_url()}")


@db_cli.command("downgrade")
@click.argument("revision")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION (e.g. -1, or base)."""
    alembic_command.downgrade(alembic_config(current_app), revision)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate/--empty", default=True, help="Diff the models against the database.")
def db_revision(message: str, autogenerate: bool) -> None:
    """Write a new migration file (developers)."""
    alembic_command.revision(
        alembic_config(current_app),
        message=message,
        autogenerate=autogenerate,
    )


@db_cli.command("current")
def db_current() -> None:
    """Show the migration the database is at."""
    alembic_command.current(alembic_config(current_app))


def _safe_url() -> str:
    url: str = current_app.config["DATABASE_URL"]
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


@keys_cli.command("create")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", required=True, help='Who uses it, e.g. "Tablet 1".')
def keys_create(role: str, name: str) -> None:
    """Create an API key. The key is printed once, alone on the last line."""
    session = db.get_session()
    with db.write(session):
        key, secret = keys.create_key(session, name=name, role=role, now=context.now())
    click.echo(
        f"Created key #{key.id} {name!r} with role {role}. Store it now; it is not kept.", err=True
    )
    click.echo(secret)


@keys_cli.command("list")
def keys_list() -> None:
    """List keys (id, prefix, role, name, revoked)."""
    session = db.get_session()
    with db.read(session):
        for key in keys.list_keys(session):
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            click.echo(f"{key.id:>4}  {key.prefix}…  {key.role:<8} {state:<18} {key.name}")


@keys_cli.command("revoke")
@click.argument("key_id", type=int)
def keys_revoke(key_id: int) -> None:
    """Revoke a key by id: requests with it get 401 at once."""
    session = db.get_session()
    with db.write(session):
        key = keys.revoke(session, key_id, context.now())
    if key is None:
        raise click.ClickException(f"No key #{key_id}.")
    click.echo(f"Key #{key_id} {key.name!r} revoked.")


@catalog_cli.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--skip-invalid", is_flag=True, help="Import the valid rows even if some are not.")
def catalog_import(csv_file: Path, skip_invalid: bool) -> None:
    """Create or update products from a CSV file (see docs in store_api/catalog/importer.py)."""
    report = _import_catalog(csv_file, skip_invalid=skip_invalid)
    click.echo(
        f"{report.created} created, {report.updated} updated, {report.units_added} units stocked, "
        f"{len(report.errors)} invalid row(s) skipped."
    )


def _import_catalog(
    csv_file: Path, *, skip_invalid: bool, actor: str = "import"
) -> importer.ImportReport:
    policy = context.policy()
    rows, errors = importer.read_file(csv_file, policy.locations)
    for line, problems in errors:
        detail = "; ".join(f"{col}: {' '.join(map(str, msgs))}" for col, msgs in problems.items())
        click.echo(f"{csv_file.name} line {line}: {detail}", err=True)
    if errors and not skip_invalid:
        raise click.ClickException(
            f"{len(errors)} invalid row(s); nothing imported. Fix them or use --skip-invalid."
        )
    session = db.get_session()
    report = importer.ImportReport(errors=errors)
    try:
        with (
            db.write(session),
            click.progressbar(length=len(rows), label="Importing", file=None) as bar,
        ):
            for chunk in importer.chunks(rows, 50):
                part = importer.import_rows(
                    session, chunk, actor=actor, now=context.now(), policy=policy
                )
                report.created += part.created
                report.updated += part.updated
                report.units_added += part.units_added
                bar.update(len(chunk))
    except DomainError as error:  # e.g. a GTIN another product already carries
        raise click.ClickException(f"{error.message} Nothing imported.") from error
    return report


@click.command("seed")
@with_appcontext
@click.option(
    "--catalog",
    "catalog_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=demo.DEMO_CATALOGUE,
)
@click.option(
    "--keys/--no-keys", "with_keys", default=True, help="Rotate and print the demo API keys."
)
def seed(catalog_file: Path, with_keys: bool) -> None:
    """Load the demo shop (once) and print fresh demo API keys, one per role."""
    session = db.get_session()
    with db.read(session):
        empty = catalog.count_products(session) == 0
    if empty:
        report = _import_catalog(catalog_file, skip_invalid=False, actor="seed")
        click.echo(f"Demo shop: {report.created} products, {report.units_added} units in stock.")
    else:
        click.echo("Catalog already has products; demo catalog not loaded again.")
    synonyms = load_demo_synonyms_once()
    if synonyms:
        click.echo(f"Demo search synonyms: {synonyms}.")
    if with_keys:
        _rotate_demo_keys(force=False)


@keys_cli.command("demo")
@click.option("--force", is_flag=True, help="Also when the catalogue is not the demo one.")
def keys_demo(force: bool) -> None:
    """Revoke the previous demo keys and print new ones, one per role (demo shop only)."""
    _rotate_demo_keys(force=force)


def _rotate_demo_keys(*, force: bool) -> None:
    session = db.get_session()
    now = context.now()
    with db.write(session):
        foreign = demo.foreign_products(session)
        if foreign and not force:
            # An admin key printed on a terminal at every start has no place in a real shop.
            click.echo(
                demo.real_shop_notice(
                    foreign,
                    "no demo keys made (flask --app store_api keys create --role owner "
                    "--name ...; --force to make them anyway).",
                )
            )
            return
        keys.revoke_named(session, DEMO_KEY_PREFIX, now)
        created = [
            (role, *keys.create_key(session, name=f"{DEMO_KEY_PREFIX}{label}", role=role, now=now))
            for role, label in (
                (Role.ADMIN, "admin"),
                (Role.OWNER, "owner"),
                (Role.SELLER, "seller - Tablet 1"),
                (Role.WEBSHOP, "webshop"),
                (Role.DEVICE, "device - shelf bridge"),
            )
        ]
    click.echo("Demo API keys (new on every start; the previous demo keys are revoked):")
    for role, _key, secret in created:
        click.echo(f"  {role.value:<8} {secret}")


@reservations_cli.command("expire")
@click.option("--every", type=int, default=0, help="Keep running, sweeping every N seconds.")
def reservations_expire(every: int) -> None:
    """Release reservations past their expiry (once, or every N seconds).

    Also forgets Idempotency-Key answers older than IDEMPOTENCY_RETENTION_SECONDS (24 h) and
    failed tablet pairing attempts that no longer count.
    """
    retention = dt.timedelta(seconds=current_app.config["IDEMPOTENCY_RETENTION_SECONDS"])
    attempts_window = dt.timedelta(seconds=current_app.config["PAIRING_WINDOW_SECONDS"])
    if every:
        click.echo(f"Releasing expired reservations every {every} s.")
    while True:
        session = db.get_session()
        now = context.now()
        with db.write(session):
            released = stock.expire_due(session, now=now, policy=context.policy())
        with db.write(session):
            forgotten = idempotency.purge(session, older_than=now - retention)
            tablets.purge_attempts(session, older_than=now - attempts_window)
        if released or not every:
            click.echo(f"{released} expired reservation(s) released.")
        if forgotten:
            hours = retention.total_seconds() / 3600
            click.echo(f"{forgotten} idempotency key(s) older than {hours:g} h forgotten.")
        if not every:
            return
        time.sleep(every)


@stock_cli.command("check")
def stock_check() -> None:
    """Verify on_hand == sum(ledger) and reserved == active reservations, for every row."""
    session = db.get_session()
    with db.read(session):
        drifts = stock.check(session)
    if not drifts:
        click.echo("No drift: every stock level matches its ledger and active reservations.")
        return
    for d in drifts:
        click.echo(
            f"DRIFT {d.sku} @ {d.location}: {d.field} is {d.stored}, {d.source} say {d.expected}"
        )
    raise click.ClickException(f"{len(drifts)} drifting counter(s).")


@openapi_cli.command("write")
@click.argument(
    "output", type=click.Path(dir_okay=False, path_type=Path), default=Path("openapi.json")
)
def openapi_write(output: Path) -> None:
    """Write the generated OpenAPI document to a file."""
    import json

    api = current_app.extensions["comptoir_api"]
    document = json.dumps(api.spec.to_dict(), indent=2, ensure_ascii=False, default=_number)
    output.write_text(document + "\n")
    click.echo(f"OpenAPI document written to {output}")


def _number(value: object) -> float:
    """Schema bounds such as a price's maximum are Decimals; JSON wants numbers."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def init_app(app: Flask) -> None:
    for group in (db_cli, keys_cli, catalog_cli, reservations_cli, stock_cli, openapi_cli):
        app.cli.add_command(group)
    app.cli.add_command(seed)
    app.cli.add_command(webhooks_cli)
    app.cli.add_command(recommender_cli)
    app.cli.add_command(seed_sales)
    app.cli.add_command(seed_planogram)
    app.cli.add_command(alerts_cli)
    app.cli.add_command(analytics_cli)
    app.cli.add_command(seed_browsing)
    app.cli.add_command(tablets_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(feeds_cli)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(month_report)
