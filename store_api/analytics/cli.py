"""``flask analytics ...``: rollups, purge and the synthetic browsing seed."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from store_api.clickstream.cli import commands as clickstream_commands

analytics_cli = AppGroup("analytics", help="Clickstream analytics: rollups, purge, demo data.")

for _command in clickstream_commands:
    analytics_cli.add_command(_command)

commands: list[click.Command] = []
