"""``flask --app store_api tablets ...``: pair a tablet, list and revoke tablets."""

from __future__ import annotations

import os
import socket
from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import AppGroup

from store_api import context, db
from store_api.errors import DomainError, NotFound
from store_api.tablets import service
from store_api.tablets.routes import pair_url, pairing_secret

tablets_cli = AppGroup("tablets", help="Seller tablets: pairing codes, list, revoke.")


def default_base_url() -> str:
    """Where tablets reach this server: PUBLIC_URL, else the address gunicorn binds."""
    public: str = current_app.config["PUBLIC_URL"]
    if public:
        return public
    host, _, port = os.environ.get("COMPTOIR_BIND", "127.0.0.1:8000").rpartition(":")
    if host in ("0.0.0.0", "[::]", "::", ""):  # noqa: S104 (reading the bind, not binding)
        host = socket.gethostname()  # reachable from the shop's network, unlike 0.0.0.0
    return f"http://{host}:{port}"


@tablets_cli.command("pair-code")
@click.option("--name", default=None, help='The tablet\'s name (default: "Tablette N").')
@click.option("--url", "base_url", default=None, help="The server's address as tablets see it.")
def pair_code(name: str | None, base_url: str | None) -> None:
    """Print a 6-digit pairing code (10 minutes, single use) and the URL to open on the tablet."""
    if name is not None:
        name = name.strip()
        if not 1 <= len(name) <= 60 or any(ord(c) < 32 or ord(c) == 127 for c in name):
            raise click.BadParameter("1 to 60 printable characters.", param_hint="--name")
    session = db.get_session()
    try:
        with db.write(session):
            made = service.create_code(
                session,
                name=name,
                created_by="cli",
                secret=pairing_secret(current_app),
                now=context.now(),
            )
    except DomainError as error:
        raise click.ClickException(error.message) from None
    until = made.expires_at.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))
    click.echo(f"Pairing code for {made.name!r}: {made.code} (single use, until {until:%H:%M}).")
    click.echo(f"On the tablet, open: {pair_url(base_url or default_base_url(), made.code)}")


@tablets_cli.command("list")
def tablets_list() -> None:
    """List tablets (id, name, state, last seen, device)."""
    session = db.get_session()
    with db.read(session):
        tablets = service.list_tablets(session)
        rows = [
            (
                t.id,
                t.name,
                f"revoked {t.key.revoked_at:%Y-%m-%d}" if t.key.revoked_at else "active",
                f"seen {t.last_seen_at:%Y-%m-%d %H:%M}" if t.last_seen_at else "never seen",
                t.device or "",
            )
            for t in tablets
        ]
    if not rows:
        click.echo("No tablet paired yet: `flask --app store_api tablets pair-code`.")
    for tablet_id, name, state, seen, device in rows:
        click.echo(f"{tablet_id:>4}  {name:<20} {state:<18} {seen:<22} {device}")


@tablets_cli.command("revoke")
@click.argument("tablet_id", type=click.IntRange(min=1, max=2**31 - 1))
def tablets_revoke(tablet_id: int) -> None:
    """Revoke a tablet: its key gets 401 at once and its live stream ends."""
    session = db.get_session()
    try:
        with db.write(session):
            tablet = service.revoke(session, tablet_id, context.now())
            name = tablet.name
    except NotFound as error:
        raise click.ClickException(error.message) from None
    click.echo(f"Tablet #{tablet_id} {name!r} revoked.")
