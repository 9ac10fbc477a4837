"""Operator commands of the clickstream (registered under ``flask analytics``)."""

from __future__ import annotations

import click

commands: list[click.Command] = []
