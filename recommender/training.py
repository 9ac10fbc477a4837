"""``python -m recommender train``: fit a :class:`ShopModel` from CSV files and save it.

CSV files have a header row; extra columns are ignored. Timestamps are Unix seconds or
ISO 8601 (UTC when no offset is given).

* ``--baskets`` (required): ``basket_id,timestamp,item``, one row per item bought. A basket's
  time is its earliest row.
* ``--sessions``: ``session_id,timestamp,item,action``, one row per event of a visit;
  ``action`` is ``view``, ``cart`` or ``purchase`` (other actions are ignored). Views are
  kept in timestamp order.
* ``--items``: ``item,category,family,text`` and optionally ``name,brand,price,attributes``
  (a JSON object: ``type``, ``compatible_avec``, ``marques``, ``modeles``, ``service`` ...):
  the catalogue, which tells substitutes from complements, says what fits what, and finds
  similar products for new ones (docs/recommender.md).

Example::

    python -m recommender train --baskets baskets.csv --sessions visits.csv \\
        --items items.csv --out instance/models/shop
"""

from __future__ import annotations

import csv
import inspect
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from recommender.alternatives import AlternativeRecommender
from recommender.base import ItemInfo, TrainingData
from recommender.complements import SIMILARITIES, ComplementRecommender
from recommender.model import ShopModel
from recommender.session import SessionKNN


def parse_time(value: str) -> float:
    """Unix seconds, or ISO 8601 read as UTC when naive (ValueError otherwise)."""
    try:
        return float(value)
    except ValueError:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()


def _time(path: Path, row: dict[str, str]) -> float:
    try:
        return parse_time(row["timestamp"])
    except ValueError as error:
        raise click.UsageError(
            f"{path}: timestamp {row['timestamp']!r} is neither Unix seconds nor ISO 8601"
        ) from error


def read_rows(path: Path, columns: tuple[str, ...]) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        reader = csv.DictReader(file)
        missing = set(columns) - set(reader.fieldnames or ())
        if missing:
            raise click.UsageError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            if any(not (row.get(c) or "").strip() for c in columns if c not in {"family", "text"}):
                raise click.UsageError(f"{path}:{line}: empty value in {row}")
            yield row


def read_baskets(path: Path) -> tuple[list[list[str]], list[float]]:
    """Baskets oldest first, with their times."""
    baskets: dict[str, tuple[float, list[str]]] = {}
    for row in read_rows(path, ("basket_id", "timestamp", "item")):
        time = _time(path, row)
        start, items = baskets.setdefault(row["basket_id"], (time, []))
        items.append(row["item"])
        if time < start:
            baskets[row["basket_id"]] = (time, items)
    ordered = sorted(baskets.values(), key=lambda pair: pair[0])
    return [items for _, items in ordered], [time for time, _ in ordered]


def read_sessions(
    path: Path,
) -> tuple[list[list[str]], list[list[str]], list[list[str]], list[float]]:
    """Visits oldest first: items viewed in order, items bought, items put in the cart, and
    when each visit began."""
    events: dict[str, list[tuple[float, str, str]]] = {}
    for row in read_rows(path, ("session_id", "timestamp", "item", "action")):
        events.setdefault(row["session_id"], []).append(
            (_time(path, row), row["item"], row["action"].strip().lower())
        )
    visits = sorted(events.values(), key=lambda rows: min(t for t, _, _ in rows))
    sessions, purchases, carts, starts = [], [], [], []
    for rows in visits:
        rows.sort(key=lambda r: r[0])  # stable: same-second events keep file order
        sessions.append([item for _, item, action in rows if action == "view"])
        purchases.append(list(dict.fromkeys(item for _, item, a in rows if a == "purchase")))
        carts.append(list(dict.fromkeys(item for _, item, a in rows if a == "cart")))
        starts.append(rows[0][0])
    return sessions, purchases, carts, starts


def _attributes(path: Path, value: str) -> dict[str, Any]:
    if not value.strip():
        return {}
    try:
        parsed = json.loads(value)
    except ValueError as error:
        raise click.UsageError(f"{path}: attributes is not JSON: {value!r}") from error
    if not isinstance(parsed, dict):
        raise click.UsageError(f"{path}: attributes must be a JSON object: {value!r}")
    return parsed


def _price(path: Path, value: str) -> float | None:
    if not value.strip():
        return None
    try:
        return float(value)
    except ValueError as error:
        raise click.UsageError(f"{path}: price is not a number: {value!r}") from error


def read_items(path: Path) -> dict[str, ItemInfo]:
    return {
        row["item"]: ItemInfo(
            category=row["category"].strip(),
            family=(row.get("family") or "").strip(),
            text=(row.get("text") or "").strip(),
            name=(row.get("name") or row.get("text") or "").strip(),
            brand=(row.get("brand") or "").strip(),
            price=_price(path, row.get("price") or ""),
            attributes=_attributes(path, row.get("attributes") or ""),
        )
        for row in read_rows(path, ("item", "category", "family", "text"))
    }


HELP = """Fit the shop's recommendation model from CSV files and save OUT.joblib + OUT.json.

\b
--baskets   basket_id,timestamp,item            one row per item bought
--sessions  session_id,timestamp,item,action    action: view | cart | purchase
--items     item,category,family,text[,name,brand,price,attributes]   the catalogue

Timestamps are Unix seconds or ISO 8601 (UTC when naive). See docs/recommender.md.
"""

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


def _default(estimator: type, parameter: str) -> Any:
    """The estimator's own default, so the command line never drifts from the library."""
    return inspect.signature(estimator).parameters[parameter].default


@click.command(name="train", help=HELP)
@click.option("--baskets", type=existing_file, required=True, help="basket_id,timestamp,item")
@click.option("--sessions", type=existing_file, help="session_id,timestamp,item,action")
@click.option("--items", type=existing_file, help="item,category,family,text")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Artifact path without suffix: writes OUT.joblib and OUT.json.",
)
@click.option(
    "--similarity",
    type=click.Choice(SIMILARITIES),
    default=_default(ComplementRecommender, "similarity"),
    show_default=True,
    help="Complements: how pairs are scored (lift/jaccard/cosine correct for popularity).",
)
@click.option(
    "--min-support",
    type=click.IntRange(min=1),
    default=_default(ComplementRecommender, "min_support"),
    show_default=True,
    help="Complements: fewest baskets a pair needs.",
)
@click.option(
    "--l2",
    type=click.FloatRange(min=0, min_open=True),
    default=_default(ComplementRecommender, "l2"),
    show_default=True,
    help="Complements (ease): ridge; larger shrinks rare pairs more.",
)
@click.option(
    "--half-life-days",
    type=click.FloatRange(min=0, min_open=True),
    default=_default(ComplementRecommender, "half_life_days"),
    show_default=True,
    help="Complements: a basket this much older than the newest weighs half.",
)
@click.option("--no-decay", is_flag=True, help="Complements: every basket weighs the same.")
@click.option(
    "--neighbours",
    type=click.IntRange(min=1),
    default=_default(SessionKNN, "k"),
    show_default=True,
    help="Next items: similar past visits that vote.",
)
@click.option(
    "--sample-size",
    type=click.IntRange(min=1),
    default=_default(SessionKNN, "sample_size"),
    show_default=True,
    help="Next items: most recent candidate visits compared.",
)
@click.option(
    "--purchases-as-baskets",
    is_flag=True,
    help="Complements: also count visits that bought 2+ items (unless they are baskets too).",
)
def train(
    baskets: Path,
    sessions: Path | None,
    items: Path | None,
    out: Path,
    similarity: str,
    min_support: int,
    l2: float,
    half_life_days: float | None,
    no_decay: bool,
    neighbours: int,
    sample_size: int,
    purchases_as_baskets: bool,
) -> None:
    data = TrainingData()
    model = ShopModel(
        complements=ComplementRecommender(
            similarity=similarity,
            l2=l2,
            min_support=min_support,
            half_life_days=None if no_decay else half_life_days,
        ),
        alternatives=AlternativeRecommender(),
        session=SessionKNN(k=neighbours, sample_size=sample_size),
        purchases_as_baskets=purchases_as_baskets,
    )
    with click.progressbar(length=7, label="training", item_show_func=str) as bar:
        bar.update(0, "reading baskets")
        data.baskets, data.basket_times = read_baskets(baskets)
        bar.update(1, "reading visits")
        if sessions is not None:
            (
                data.sessions,
                data.session_purchases,
                data.session_carts,
                data.session_times,
            ) = read_sessions(sessions)
        bar.update(1, "reading items")
        if items is not None:
            data.items = read_items(items)
        bar.update(1, "fitting complements")
        model.fit(data, on_step=lambda name: bar.update(1, f"fitted {name}"))
        model_path, meta_path = model.save(out)
        bar.update(1, "saved")
    click.echo(f"{len(data.baskets)} baskets, {len(data.sessions)} visits, {len(data.items)} items")
    click.echo(f"model: {model_path}")
    click.echo(f"metadata: {meta_path}")


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m recommender train``; returns the exit code."""
    try:
        result = train.main(
            args=argv, prog_name="python -m recommender train", standalone_mode=False
        )
    except click.exceptions.Exit as done:  # --help
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return error.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return result if isinstance(result, int) else 0
