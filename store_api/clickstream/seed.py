"""``flask seed-browsing``: a few weeks of synthetic webshop browsing for the demo shop."""

from __future__ import annotations

import click


@click.command("seed-browsing")
def seed_browsing() -> None:
    """Load synthetic browsing (not written yet)."""
    raise click.ClickException("not implemented yet")
