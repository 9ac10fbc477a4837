"""``flask search ...``: rebuild what search reads, load synonyms."""

from __future__ import annotations

import csv
from pathlib import Path

import click
from flask.cli import AppGroup

from store_api import db
from store_api.search import service

DEMO_SYNONYMS = Path(__file__).resolve().parents[2] / "seeds" / "demo_synonyms.csv"

search_cli = AppGroup("search", help="Product search: index and synonyms.")


def read_synonyms(path: Path) -> list[tuple[str, list[str]]]:
    """Rows ``term,synonyms`` with the synonyms separated by ``|``."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return [
            (row["term"].strip(), [s.strip() for s in row["synonyms"].split("|") if s.strip()])
            for row in csv.DictReader(handle)
            if row.get("term", "").strip()
        ]


def load_demo_synonyms_once() -> int:
    """The demo shop's synonyms, unless the shop already has some (its own are kept)."""
    session = db.get_session()
    with db.write(session):
        if service.list_synonyms(session):
            return 0
        return service.replace_synonyms(session, read_synonyms(DEMO_SYNONYMS))


@search_cli.command("reindex")
def reindex() -> None:
    """Make every process reload the whole catalogue (after products were written by hand)."""
    session = db.get_session()
    with db.write(session):
        service.reindex(session)
    click.echo("Search index: every product will be read again at the next search.")


@search_cli.command("load-synonyms")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def load_synonyms(csv_file: Path) -> None:
    """Replace the shop's synonyms with a CSV file (columns: term, synonyms separated by |)."""
    entries = read_synonyms(csv_file)
    session = db.get_session()
    with db.write(session):
        count = service.replace_synonyms(session, entries)
    click.echo(f"{count} synonym(s) loaded.")
