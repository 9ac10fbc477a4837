"""Mapping profiles: which column feeds which field, and reading each record with them.

A profile (saved per supplier, JSON; docs/suppliers.md) says:

* ``columns``: source column (or BMEcat element) -> target. Targets: ``supplier_sku``, ``gtin``,
  ``brand``, ``mpn``, ``name``, ``description``, ``category``, ``colour``, ``price`` (selling
  price incl. VAT), ``purchase_price``, ``availability``, ``supplier_stock``, ``lead_days``,
  ``image_url``, ``attr:<key>`` (a product attribute) or ``ignore``.
* ``units``: ``{"attr:largeur_cm": {"from": "mm", "to": "cm"}}`` (``from`` may be left out
  when the file says the unit, as BMEcat's FUNIT does).
* ``categories``: the supplier's category -> the shop's category.
* ``missing``: what happens to this supplier's offers the feed no longer lists: ``keep``,
  ``unavailable`` (default) or ``deactivate`` (the product too, unless another supplier
  still lists it).
* ``create``: create products for lines that match none (default true).
* ``overwrite``: product fields a feed may change once they have a value (default: none;
  empty fields are always filled).
* ``markup``: selling price = purchase price x markup, for new products without a price.
* ``decimal``: ``auto`` (default), ``,`` or ``.``.
* ``auto_apply``: a file picked up from the inbox is applied at once when no line is
  rejected (default false: it waits as a dry run for the owner).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from store_api.catalog.gtin import check_digit, normalize_gtin
from store_api.feeds import numbers
from store_api.feeds.problems import Problem
from store_api.feeds.table import MAX_CELL, Record, Table

PRODUCT_TEXT = {
    "name": 255,
    "description": 5000,
    "brand": 120,
    "category": 120,
    "colour": 60,
    "image_url": 1024,
    "mpn": 64,
    "supplier_sku": 64,
}
NUMERIC = ("price", "purchase_price", "supplier_stock", "lead_days")
TARGETS = (
    "supplier_sku",
    "gtin",
    "brand",
    "mpn",
    "name",
    "description",
    "category",
    "colour",
    "price",
    "purchase_price",
    "availability",
    "supplier_stock",
    "lead_days",
    "image_url",
    "ignore",
)
PRODUCT_FIELDS = ("name", "description", "brand", "category", "colour", "price", "image_url")
OVERWRITABLE = (*PRODUCT_FIELDS, "gtin", "mpn", "attributes")
MISSING_POLICIES = ("keep", "unavailable", "deactivate")
_ATTR_KEY = re.compile(r"^[a-z0-9_]{1,60}$")
_MAX_PRICE = Decimal(1_000_000)

AVAILABILITY_WORDS = {
    "in_stock": (
        "en stock", "stock", "disponible", "dispo", "oui", "yes", "in stock", "instock",
        "available", "1", "true", "livrable",
    ),
    "on_order": (
        "sur commande", "commande", "on order", "on_order", "backorder", "a commander",
        "en reappro", "reappro", "en cours de reapprovisionnement",
    ),
    "out_of_stock": (
        "rupture", "en rupture", "epuise", "non", "no", "0", "false", "out of stock",
        "out_of_stock", "indisponible", "hors stock",
    ),
    "discontinued": (
        "arrete", "fin de serie", "discontinued", "supprime", "abandonne", "fin de vie",
    ),
}  # fmt: skip
_AVAILABILITY = {word: code for code, words in AVAILABILITY_WORDS.items() for word in words}


@functools.lru_cache(maxsize=4096)  # categories, availability words and headers repeat
def fold(text: str) -> str:
    """Lower case, no accents, punctuation as single spaces: how headers are compared."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = re.sub(r"\([^)]*\)", " ", bare)
    return " ".join(re.sub(r"[^a-z0-9\[\]_]+", " ", bare).split())


def attribute_key(name: str) -> str:
    """``Capacité (kg)`` -> ``capacite_kg``: the attribute a column suggests."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "_".join(re.sub(r"[^a-z0-9]+", " ", bare).split())[:60]


# Header words suppliers use, folded, for each target: the suggestion for a new supplier.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "supplier_sku": (
        "ref fournisseur", "reference fournisseur", "ref", "reference", "code article",
        "article", "sku", "supplier sku", "supplier_pid", "code produit", "ref article",
        "code fournisseur", "item", "item number",
    ),
    "gtin": (
        "ean", "ean13", "ean 13", "gtin", "code ean", "code barre", "code barres",
        "international_pid", "upc", "gencod", "gencode",
    ),
    "brand": ("marque", "brand", "fabricant", "manufacturer_name", "manufacturer"),
    "mpn": (
        "ref fabricant", "reference fabricant", "mpn", "manufacturer_pid", "modele",
        "ref constructeur", "reference constructeur", "ref marque",
    ),
    "name": ("designation", "libelle", "nom", "name", "description_short", "titre", "title"),
    "description": (
        "description", "description longue", "description_long", "descriptif", "texte",
    ),
    "category": ("famille", "categorie", "category", "rayon", "catalog_group", "gamme"),
    "colour": ("couleur", "color", "colour", "coloris", "finition"),
    "price": (
        "pvc", "pvc ttc", "prix public", "prix public ttc", "prix de vente", "prix de vente ttc",
        "prix ttc", "price", "price_amount[nrp]", "prix conseille",
    ),
    "purchase_price": (
        "prix achat", "prix d achat", "prix achat ht", "prix d achat ht", "prix net",
        "prix net ht", "pa ht", "pa", "tarif", "tarif ht", "purchase price",
        "price_amount[net_list]", "price_amount[net_customer]",
    ),
    "supplier_stock": ("stock", "qte", "quantite", "stock dispo", "stock fournisseur", "qty"),
    "availability": ("disponibilite", "availability", "statut", "product_status", "etat"),
    "lead_days": (
        "delai", "delai livraison", "delai de livraison", "lead time", "delivery_time",
        "delai j", "delai jours",
    ),
    "image_url": ("image", "photo", "url image", "image url", "mime_source", "visuel", "url photo"),
}  # fmt: skip
_SYNONYM_TARGET = {word: target for target, words in SYNONYMS.items() for word in words}


def suggest(columns: list[str], *, other_as_attributes: bool = True) -> dict[str, str]:
    """A first mapping from the header alone: known words to fields, the rest to attributes."""
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for column in columns:
        if column.startswith("FEATURE_UNIT:"):
            continue
        if column.startswith("FEATURE:"):
            key = attribute_key(column.split(":", 1)[1])
            if key:
                mapping[column] = f"attr:{key}"
            continue
        target = _SYNONYM_TARGET.get(fold(column))
        if target and target not in used:
            mapping[column] = target
            used.add(target)
        elif other_as_attributes and attribute_key(column):
            mapping[column] = f"attr:{attribute_key(column)}"
    return mapping


DEFAULT_PROFILE: dict[str, Any] = {
    "columns": {},
    "units": {},
    "categories": {},
    "missing": "unavailable",
    "create": True,
    "overwrite": [],
    "markup": None,
    "decimal": "auto",
    "auto_apply": False,
}


def complete(profile: Mapping[str, Any] | None, table: Table) -> dict[str, Any]:
    """The saved profile with defaults, and suggested columns when it maps none."""
    result = {**DEFAULT_PROFILE, **(profile or {})}
    if not result["columns"]:
        # A CSV column is there for a reason; BMEcat has many bookkeeping elements.
        result["columns"] = suggest(table.columns, other_as_attributes=table.format != "bmecat")
    return result


def check_profile(profile: Mapping[str, Any]) -> dict[str, list[str]]:
    """Errors by field name (English, for the API); empty when the profile is usable."""
    errors: dict[str, list[str]] = {}
    columns = profile.get("columns") or {}
    if not isinstance(columns, dict):
        return {"columns": ["An object: source column -> target."]}
    targets = [t for t in columns.values() if t != "ignore"]
    for source, target in columns.items():
        if not isinstance(target, str) or not (
            target in TARGETS or (target.startswith("attr:") and _ATTR_KEY.match(target[5:]))
        ):
            errors.setdefault("columns", []).append(
                f"{source}: unknown target {target!r} (attr:<key> with a-z, 0-9, _)."
            )
    duplicated = sorted({t for t in targets if targets.count(t) > 1})
    if duplicated:
        errors.setdefault("columns", []).append(f"Mapped twice: {', '.join(duplicated)}.")
    if columns and "supplier_sku" not in targets:
        errors.setdefault("columns", []).append("One column must be mapped to supplier_sku.")
    for target, spec in (profile.get("units") or {}).items():
        if not isinstance(spec, dict) or "to" not in spec:
            errors.setdefault("units", []).append(f"{target}: give at least 'to'.")
            continue
        for unit in (spec.get("from"), spec["to"]):
            if unit is not None and numbers.unit_key(str(unit)) not in numbers.UNITS:
                errors.setdefault("units", []).append(f"{target}: unknown unit {unit!r}.")
    if profile.get("missing", "unavailable") not in MISSING_POLICIES:
        errors["missing"] = [f"One of {', '.join(MISSING_POLICIES)}."]
    bad = [f for f in profile.get("overwrite") or [] if f not in OVERWRITABLE]
    if bad:
        errors["overwrite"] = [f"Unknown field(s): {', '.join(bad)}."]
    markup = profile.get("markup")
    if markup not in (None, ""):
        try:
            if not Decimal(str(markup)) > 0:
                raise ValueError
        except (ArithmeticError, ValueError):
            errors["markup"] = ["A positive number such as 1.35."]
    for flag in ("create", "auto_apply"):
        if not isinstance(profile.get(flag, False), bool):
            errors[flag] = ["true or false."]
    if not isinstance(profile.get("categories") or {}, dict) or not all(
        isinstance(v, str) and 0 < len(v) <= 120 for v in (profile.get("categories") or {}).values()
    ):
        errors["categories"] = ["An object: supplier category -> shop category (120 characters)."]
    if profile.get("decimal", "auto") not in ("auto", ",", "."):
        errors["decimal"] = ["auto, ',' or '.'."]
    return errors


@dataclass
class FeedLine:
    """One record read with the profile: typed values, or the problems that reject it."""

    line: int
    supplier_sku: str = ""
    gtin: str | None = None
    mpn: str | None = None
    product: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    offer: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


_MONEY = ("price", "purchase_price")


def line_to_json(line: FeedLine) -> list[Any]:
    """A compact, JSON-able form of a read line (stored with the dry run, see from_json)."""
    product = {k: (str(v) if k in _MONEY else v) for k, v in line.product.items()}
    offer = {k: (str(v) if k in _MONEY else v) for k, v in line.offer.items()}
    problems = [p.as_dict() for p in line.problems]
    return [
        line.line,
        line.supplier_sku,
        line.gtin,
        line.mpn,
        product,
        line.attributes,
        offer,
        problems,
    ]


def line_from_json(data: list[Any]) -> FeedLine:
    number, ref, gtin, mpn, product, attributes, offer, problems = data
    for values in (product, offer):
        for key in _MONEY:
            if key in values:
                values[key] = Decimal(values[key])
    return FeedLine(
        number, ref, gtin, mpn, product, attributes, offer, [Problem.from_dict(p) for p in problems]
    )


def _problem(code: str, line: int, column: str, **params: Any) -> Problem:
    return Problem(
        code, line=line, column=column, params={"line": line, "column": column, **params}
    )


def _formula_start(value: str, numeric: bool) -> str | None:
    """A spreadsheet formula or injection prefix (``=``, ``+``, ``-``, ``@``): refused, never
    evaluated. In a number column a leading minus is a sign (a negative price is its own
    problem)."""
    if not value:
        return None
    first = value[0]
    if first in "=@":
        return first
    if first in "+-":
        if numeric:
            return None if _SIGNED_NUMBER.match(value) else first
        return None if value[1:2] == " " else first
    return None


_SIGNED_NUMBER = re.compile(r"^[+-][\d\s\u00a0\u202f.,]+(€|eur)?$", re.IGNORECASE)


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _has_control(value: str) -> bool:
    return _CONTROL.search(value) is not None


class LineReader:
    """Reads records of one table with one profile (decimal separator fixed for the file)."""

    def __init__(self, profile: Mapping[str, Any], table: Table) -> None:
        self.columns: dict[str, str] = {
            s: t for s, t in profile["columns"].items() if t != "ignore"
        }
        self.units: dict[str, dict[str, str]] = profile.get("units") or {}
        self.categories = {fold(k): v for k, v in (profile.get("categories") or {}).items()}
        decimal = profile.get("decimal") or "auto"
        if decimal == "auto":
            sample = [
                r.cells.get(source, "")
                for r in table.records[:2000]
                for source, target in self.columns.items()
                if target in ("price", "purchase_price") or target.startswith("attr:")
            ]
            default = "," if table.detected.get("delimiter") == ";" else "."
            decimal = numbers.detect_decimal(sample, default)
        self.decimal = decimal
        self.markup = Decimal(str(profile["markup"])) if profile.get("markup") else None
        # (source, target, is a number column) once, not per cell.
        self._plan = [
            (source, target, target in NUMERIC or target.startswith("attr:"))
            for source, target in self.columns.items()
        ]

    def read(self, record: Record) -> FeedLine:
        line = FeedLine(record.line)
        cells, formulas = record.cells, record.formulas
        for source, target, numeric in self._plan:
            if formulas and source in formulas:
                line.problems.append(
                    _problem("formula", record.line, source, start=formulas[source][:1])
                )
                continue
            raw = cells.get(source, "")
            if not raw:
                continue
            start = _formula_start(raw, numeric) if raw[0] in "=+-@" else None
            if start is not None:
                line.problems.append(_problem("formula", record.line, source, start=start))
                continue
            if _CONTROL.search(raw):
                line.problems.append(_problem("bad_text", record.line, source))
                continue
            self._read_cell(line, record, source, target, raw)
        if not line.supplier_sku and not any(p.code == "formula" for p in line.problems):
            column = next((s for s, t in self.columns.items() if t == "supplier_sku"), "")
            line.problems.append(_problem("missing_value", record.line, column))
        if "price" not in line.product and self.markup and "purchase_price" in line.offer:
            line.product["price"] = (line.offer["purchase_price"] * self.markup).quantize(
                Decimal("0.01")
            )
        if "availability" not in line.offer:
            stock = line.offer.get("supplier_stock")
            line.offer["availability"] = "out_of_stock" if stock == 0 else "in_stock"
        return line

    def _read_cell(
        self, line: FeedLine, record: Record, source: str, target: str, raw: str
    ) -> None:
        n = record.line
        limit = PRODUCT_TEXT.get(target, MAX_CELL)
        if len(raw) > limit:
            line.problems.append(_problem("too_long", n, source, limit=limit))
            return
        if target == "supplier_sku":
            line.supplier_sku = raw
        elif target == "gtin":
            code = normalize_gtin(raw)
            why = _gtin_problem(code)
            if why:
                line.problems.append(_problem("bad_gtin", n, source, value=raw, why=why))
            else:
                line.gtin = code
        elif target == "mpn":
            line.mpn = raw
        elif target in ("price", "purchase_price"):
            amount = self._amount(line, source, raw)
            if amount is not None:
                (line.product if target == "price" else line.offer)[target] = amount
        elif target in ("supplier_stock", "lead_days"):
            whole = self._whole(line, source, raw)
            if whole is not None:
                line.offer[target] = whole
        elif target == "availability":
            availability = _AVAILABILITY.get(fold(raw))
            if availability is None:
                line.problems.append(_problem("unknown_availability", n, source, value=raw))
            else:
                line.offer["availability"] = availability
        elif target == "image_url":
            if not re.match(r"^https?://[^\s/]+", raw):
                line.problems.append(_problem("bad_url", n, source, value=raw[:80]))
            else:
                line.product["image_url"] = raw
        elif target == "category":
            line.product["category"] = self.categories.get(fold(raw), raw)
        elif target.startswith("attr:"):
            self._attribute(line, record, source, target, raw)
        else:
            line.product[target] = raw

    def _number(self, line: FeedLine, source: str, raw: str) -> Decimal | None:
        try:
            return numbers.parse_decimal(raw, self.decimal)
        except ValueError:
            line.problems.append(_problem("not_a_number", line.line, source, value=raw[:40]))
            return None

    def _amount(self, line: FeedLine, source: str, raw: str) -> Decimal | None:
        value = self._number(line, source, raw)
        if value is None:
            return None
        if value < 0:
            line.problems.append(_problem("negative", line.line, source, value=raw[:40]))
        elif value.as_tuple().exponent < -2:  # type: ignore[operator]
            line.problems.append(_problem("too_precise", line.line, source, value=raw[:40]))
        elif value > _MAX_PRICE:
            line.problems.append(_problem("too_big", line.line, source, value=raw[:40]))
        else:
            return value.quantize(Decimal("0.01"))
        return None

    def _whole(self, line: FeedLine, source: str, raw: str) -> int | None:
        value = self._number(line, source, raw)
        if value is None:
            return None
        if value != value.to_integral_value():
            line.problems.append(_problem("not_a_whole_number", line.line, source, value=raw[:40]))
        elif value < 0:
            line.problems.append(_problem("negative", line.line, source, value=raw[:40]))
        elif value > 1_000_000:
            line.problems.append(_problem("too_big", line.line, source, value=raw[:40]))
        else:
            return int(value)
        return None

    def _attribute(
        self, line: FeedLine, record: Record, source: str, target: str, raw: str
    ) -> None:
        key = target[5:]
        spec = self.units.get(target)
        try:
            value = numbers.parse_decimal(raw, self.decimal)
        except ValueError:
            if spec:
                line.problems.append(_problem("not_a_number", line.line, source, value=raw[:40]))
            else:
                line.attributes[key] = raw
            return
        if spec:
            unit = spec.get("from") or ""
            if source.startswith("FEATURE:"):
                unit = record.cells.get("FEATURE_UNIT:" + source[8:], "") or unit
            if unit:
                try:
                    value = numbers.convert(value, unit, spec["to"])
                except ValueError as exc:
                    line.problems.append(
                        _problem("unknown_unit", line.line, source, value=str(exc))
                    )
                    return
        line.attributes[key] = numbers.plain_number(value)


def _gtin_problem(code: str) -> str | None:
    if not code.isascii() or not code.isdigit():
        return "digits"
    if len(code) not in (8, 12, 13, 14):
        return "length"
    if check_digit(code[:-1]) != int(code[-1]):
        return "check_digit"
    return None


def gtin_key(code: str) -> str:
    """EAN-13 and the same code as GTIN-14 (leading zero) are one product."""
    return code.zfill(14)
