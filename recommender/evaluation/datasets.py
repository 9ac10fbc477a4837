"""Loaders for the public data sets in ``../shared/datasets`` (never copied into the repo).

* UCI Online Retail: one basket per invoice, with catalogue information per stock code.
* YooChoose 100k sample in session-rec's own split (tab-separated ``SessionId ItemId Time``).
* session-rec's saved recommendation lists (``SessionId;Position;Recommendations;Scores``).
"""

from __future__ import annotations

import csv
import gzip
import os
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from recommender.base import ItemInfo, TrainingData


def default_datasets(start: Path | None = None, environ: Mapping[str, str] | None = None) -> Path:
    """``COMPTOIR_DATASETS`` if set, else the first ``shared/datasets`` folder found going up
    from the repository (``../shared/datasets`` for a clone, further up for a worktree)."""
    configured = (os.environ if environ is None else environ).get("COMPTOIR_DATASETS")
    if configured:
        return Path(configured)
    root = start or Path(__file__).resolve().parents[2]
    for folder in (root, *root.parents):
        candidate = folder.parent / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    return root.parent / "shared" / "datasets"


#: Default location of the shared data sets (see :func:`default_datasets`).
DEFAULT_DATASETS = default_datasets()

UCI_FILE = Path("uci_online_retail") / "online_retail.csv.gz"
YOOCHOOSE_DIR = Path("yoochoose_rsc15_sessionrec_100k")
YOOCHOOSE_TRAIN = YOOCHOOSE_DIR / "yoochoose-clicks-100k_train_full.txt.gz"
YOOCHOOSE_TEST = YOOCHOOSE_DIR / "yoochoose-clicks-100k_test.txt.gz"
SESSIONREC_LISTS = {
    name: YOOCHOOSE_DIR / f"recoms_rsc15_100k_{name}.csv.gz"
    for name in ("vsknn", "ar", "sr", "gru4rec")
}

# Real products have a five-digit code, optionally with a variant suffix (85123A). Everything
# else is postage, fees, manual adjustments, vouchers or samples (POST, DOT, M, C2, D, S,
# BANK CHARGES, AMAZONFEE, CRUK, gift_0001_20, DCGS...), which nobody "buys together".
_PRODUCT_CODE = re.compile(r"^(\d{5})([A-Za-z]*)$")


def product_family(stock_code: str) -> str:
    """The stock code without its variant letter: 85123A and 85123B are one product family."""
    match = _PRODUCT_CODE.match(stock_code)
    return match.group(1) if match else stock_code


def is_product_code(stock_code: str) -> bool:
    """True for real products (five digits plus an optional variant suffix)."""
    return _PRODUCT_CODE.match(stock_code) is not None


def _open_text(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_online_retail(path: Path) -> TrainingData:
    """UCI Online Retail as baskets (one per invoice, oldest first, items de-duplicated).

    Drops cancellations (invoice starting with ``C``), returns and other rows with
    ``Quantity <= 0`` or ``UnitPrice <= 0`` (adjustments, "damaged"), and non-product codes.
    Each item's name and text are its most frequent description, its price the median unit
    price, its family :func:`product_family`. There is no category: what kind of product an
    item is comes from its description's words (:mod:`recommender.catalog`), not from a
    column UCI does not have.
    """
    items_of: dict[str, list[str]] = {}
    time_of: dict[str, float] = {}
    descriptions: defaultdict[str, Counter[str]] = defaultdict(Counter)
    prices: defaultdict[str, list[float]] = defaultdict(list)
    with _open_text(path) as handle:
        for row in csv.DictReader(handle):
            invoice, code = row["InvoiceNo"], row["StockCode"].upper()
            if invoice.startswith("C") or not is_product_code(code):
                continue
            if float(row["Quantity"]) <= 0 or float(row["UnitPrice"]) <= 0:
                continue
            basket = items_of.setdefault(invoice, [])
            if code not in basket:
                basket.append(code)
            if invoice not in time_of:
                when = datetime.fromisoformat(row["InvoiceDate"]).replace(tzinfo=UTC)
                time_of[invoice] = when.timestamp()
            descriptions[code][row["Description"].strip()] += 1
            prices[code].append(float(row["UnitPrice"]))
    order = sorted(items_of, key=lambda invoice: (time_of[invoice], invoice))
    items = {}
    for code, counts in descriptions.items():
        text = counts.most_common(1)[0][0]
        items[code] = ItemInfo(
            family=product_family(code),
            text=text,
            name=text,
            price=statistics.median(prices[code]),
        )
    return TrainingData(
        baskets=[tuple(items_of[invoice]) for invoice in order],
        basket_times=[time_of[invoice] for invoice in order],
        items=items,
    )


@dataclass(frozen=True)
class Session:
    """One visit's clicks in time order (session-rec sorts by session, then time)."""

    session_id: str
    items: tuple[str, ...]
    start: float


def parse_sessions(lines: Iterable[str]) -> list[Session]:
    """Sessions from session-rec's ``SessionId<TAB>ItemId<TAB>Time`` text (header line first).

    Sessions are returned in order of their first click; clicks keep their file order on
    equal times, as pandas' stable sort in session-rec does.
    """
    clicks: dict[str, list[tuple[float, str]]] = {}
    reader = csv.reader(lines, delimiter="\t")
    header = next(reader, None)
    if header is None:
        return []
    for session_id, item_id, time in reader:
        clicks.setdefault(session_id, []).append((float(time), item_id))
    sessions = []
    for session_id, events in clicks.items():
        events.sort(key=lambda event: event[0])
        sessions.append(Session(session_id, tuple(item for _, item in events), events[0][0]))
    sessions.sort(key=lambda session: session.start)
    return sessions


def read_sessions(path: Path) -> list[Session]:
    """Sessions of one session-rec split file (see :func:`parse_sessions`)."""
    with _open_text(path) as handle:
        return parse_sessions(handle)


@dataclass(frozen=True)
class SavedList:
    """A top-N list that session-rec produced after the click at ``position`` (0-based)."""

    session_id: str
    position: int
    items: tuple[str, ...]
    scores: tuple[float, ...]


def parse_sessionrec_lists(lines: Iterable[str]) -> Iterator[SavedList]:
    """session-rec's ``SessionId;Position;Recommendations;Scores`` rows (header line first)."""
    reader = csv.reader(lines, delimiter=";")
    next(reader, None)
    for session_id, position, recommendations, scores in reader:
        yield SavedList(
            session_id=session_id,
            position=int(position),
            items=tuple(recommendations.split(",")) if recommendations else (),
            scores=tuple(float(score) for score in scores.split(",")) if scores else (),
        )


def read_sessionrec_lists(path: Path) -> list[SavedList]:
    """All saved lists of one session-rec recommendation file."""
    with _open_text(path) as handle:
        return list(parse_sessionrec_lists(handle))
