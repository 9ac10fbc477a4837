"""What every reader gives: named columns and records of text cells with their line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from store_api.feeds.problems import FeedRefused, Problem

# Enough for any wholesaler's price list; beyond, the file is refused (memory, time).
MAX_RECORDS = 200_000
MAX_CELL = 5_000


@dataclass
class Record:
    line: int
    cells: dict[str, str]
    # Columns whose cell is a spreadsheet formula (XLSX): refused, never evaluated.
    formulas: dict[str, str] = field(default_factory=dict)


@dataclass
class Table:
    format: str
    columns: list[str]
    records: list[Record]
    # What the reader found out: encoding, delimiter, decimal separator, sheet, catalog id...
    detected: dict[str, Any] = field(default_factory=dict)
    # Lines refused while reading (wrong number of columns...): they become rejected lines.
    problems: list[Problem] = field(default_factory=list)


def check_header(columns: list[str]) -> list[str]:
    cleaned = [c.strip() for c in columns]
    if not any(cleaned):
        raise FeedRefused(Problem("no_header", line=1))
    seen: set[str] = set()
    for name in cleaned:
        if name and name.casefold() in seen:
            raise FeedRefused(Problem("duplicate_column", line=1, params={"name": name}))
        seen.add(name.casefold())
    return cleaned


def check_size(count: int) -> None:
    if count > MAX_RECORDS:
        raise FeedRefused(Problem("too_many_lines", params={"limit": MAX_RECORDS}))
