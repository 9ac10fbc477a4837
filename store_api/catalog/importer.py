"""Bulk catalog import from CSV (the demo seed uses it; supplier feeds come later).

Columns: sku, gtin (barcode, optional), name, description, brand, category, colour, price,
image_url, attributes (a JSON object), active, and optional ``stock_<location>`` columns giving
the initial units of products the import creates (existing products keep their counted stock).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.catalog import service
from store_api.catalog.models import Product
from store_api.catalog.schemas import ProductCreateSchema
from store_api.stock import service as stock
from store_api.stock.models import MAX_ON_HAND, Reason

_TRUE = {"true", "1", "yes", "oui", "y"}
_FALSE = {"false", "0", "no", "non", "n"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    units_added: int = 0
    errors: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


@dataclass(frozen=True)
class ParsedRow:
    line: int
    product: dict[str, Any]
    stock: dict[str, int]


def parse_csv(
    handle: TextIO, locations: Iterable[str]
) -> tuple[list[ParsedRow], list[tuple[int, dict[str, Any]]]]:
    """Validate every row; return the good ones and, per bad line, the errors by column."""
    reader = csv.DictReader(handle)
    stock_columns = {f"stock_{loc}": loc for loc in locations}
    schema = ProductCreateSchema()
    rows, errors = [], []
    gtin_lines: dict[str, int] = {}
    for line, raw in enumerate(reader, start=2):  # line 1 is the header
        fields = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
        row_errors: dict[str, Any] = {}
        units: dict[str, int] = {}
        for column, loc in stock_columns.items():
            value = fields.pop(column, "")
            if value:
                try:
                    units[loc] = int(value)
                    if not 0 <= units[loc] <= MAX_ON_HAND:
                        raise ValueError
                except ValueError:
                    row_errors[column] = [
                        f"Must be a whole number of units, from 0 to {MAX_ON_HAND}."
                    ]
        unknown_stock = [k for k in fields if k.startswith("stock_")]
        for column in unknown_stock:
            row_errors[column] = [f"Unknown location; known: {', '.join(stock_columns)}."]
            fields.pop(column)
        data: dict[str, Any] = {k: v for k, v in fields.items() if v != ""}
        if "attributes" in data:
            try:
                data["attributes"] = json.loads(data["attributes"])
            except json.JSONDecodeError:
                row_errors["attributes"] = ["Must be a JSON object."]
                data.pop("attributes")
        if "active" in data:
            flag = data["active"].lower()
            if flag in _TRUE | _FALSE:
                data["active"] = flag in _TRUE
        try:
            product = schema.load(data)
        except ValidationError as exc:
            row_errors.update(exc.normalized_messages())
            product = {}
        gtin = product.get("gtin")
        if gtin:
            if gtin in gtin_lines:
                row_errors["gtin"] = [f"Same GTIN as line {gtin_lines[gtin]}."]
            gtin_lines.setdefault(gtin, line)
        if row_errors:
            errors.append((line, row_errors))
        else:
            rows.append(ParsedRow(line, product, units))
    return rows, errors


def import_rows(
    session: Session,
    rows: Iterable[ParsedRow],
    *,
    actor: str,
    now: dt.datetime,
    policy: stock.StockPolicy,
) -> ImportReport:
    """Create new products (with their initial stock) and update existing ones by SKU."""
    report = ImportReport()
    existing = set(session.scalars(select(Product.sku)))
    for row in rows:
        sku = row.product["sku"]
        if sku in existing:
            changes = {k: v for k, v in row.product.items() if k != "sku"}
            service.update_product(session, sku, changes, now=now)
            report.updated += 1
            continue
        service.create_product(session, row.product, locations=policy.locations, now=now)
        existing.add(sku)
        report.created += 1
        for location, units in row.stock.items():
            if units:
                stock.adjust(
                    session,
                    sku=sku,
                    location=location,
                    delta=units,
                    reason=Reason.IMPORT,
                    actor=actor,
                    reference=f"import line {row.line}",
                    now=now,
                    policy=policy,
                )
                report.units_added += units
    return report


def read_file(
    path: Path, locations: Iterable[str]
) -> tuple[list[ParsedRow], list[tuple[int, dict[str, Any]]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return parse_csv(handle, locations)


def chunks(rows: list[ParsedRow], size: int) -> Iterator[list[ParsedRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
