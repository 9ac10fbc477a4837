"""Numbers as people type them in French and English spreadsheets, and unit conversion.

"89,90", "1 400,00 €", "1.400,00", "1,400.00" and "89.90" are all read; which of ``,`` and
``.`` is the decimal separator is decided once per file (:func:`detect_decimal`) so that
"1,400" means the same thing on every line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_CURRENCY = re.compile(r"(€|eur|euros?)$", re.IGNORECASE)
_COMMA_DECIMAL = re.compile(r"^-?[\d\s\u00a0\u202f.]*\d,\d{1,3}$")
_DOT_DECIMAL = re.compile(r"^-?[\d\s\u00a0\u202f,]*\d\.\d{1,3}$")
_THOUSANDS_DOT = re.compile(r"^-?\d{1,3}(\.\d{3})+$")
_THOUSANDS_COMMA = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")


def detect_decimal(values: Iterable[str], default: str) -> str:
    """``,`` or ``.``: whichever more number-like cells use with 1-3 trailing digits."""
    comma = dot = 0
    for raw in values:
        text = _CURRENCY.sub("", raw.strip()).strip()
        if _COMMA_DECIMAL.match(text) and "." not in text.rsplit(",", 1)[1]:
            comma += 1
        elif _DOT_DECIMAL.match(text):
            dot += 1
    if comma == dot:
        return default
    return "," if comma > dot else "."


def parse_decimal(raw: str, decimal: str) -> Decimal:
    """A Decimal, or ValueError. Thousands separators and a trailing euro sign are allowed."""
    text = _CURRENCY.sub("", raw.strip()).strip()
    text = _SPACES.sub("", text)
    if decimal == ",":
        if "," in text:
            text = text.replace(".", "").replace(",", ".")
        elif _THOUSANDS_DOT.match(text):
            text = text.replace(".", "")
    elif _THOUSANDS_COMMA.match(text):
        text = text.replace(",", "")
    elif "," in text and "." not in text:
        text = text.replace(",", ".")
    if not _PLAIN.match(text):
        raise ValueError(raw)
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(raw) from exc


# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, Decimal]] = {
    "mg": ("mass", Decimal("0.001")),
    "g": ("mass", Decimal(1)),
    "kg": ("mass", Decimal(1000)),
    "mm": ("length", Decimal("0.1")),
    "cm": ("length", Decimal(1)),
    "m": ("length", Decimal(100)),
    "ml": ("volume", Decimal("0.001")),
    "cl": ("volume", Decimal("0.01")),
    "l": ("volume", Decimal(1)),
    "w": ("power", Decimal(1)),
    "kw": ("power", Decimal(1000)),
    "wh": ("energy", Decimal(1)),
    "kwh": ("energy", Decimal(1000)),
    "db": ("sound", Decimal(1)),
    "db(a)": ("sound", Decimal(1)),
    "tr/min": ("speed", Decimal(1)),
    "rpm": ("speed", Decimal(1)),
    "in": ("length", Decimal("2.54")),
    "pouces": ("length", Decimal("2.54")),
    '"': ("length", Decimal("2.54")),
}


def unit_key(unit: str) -> str:
    return unit.strip().casefold().replace("litres", "l").replace("litre", "l")


def convert(value: Decimal, source: str, target: str) -> Decimal:
    """``value`` in ``source`` units expressed in ``target`` units; ValueError if unknown."""
    src, dst = UNITS.get(unit_key(source)), UNITS.get(unit_key(target))
    if src is None or dst is None or src[0] != dst[0]:
        raise ValueError(source if src is None else target)
    return value * src[1] / dst[1]


def plain_number(value: Decimal) -> int | float:
    """What an attribute stores: an int when whole, else a float rounded to 3 places."""
    if value == value.to_integral_value():
        return int(value)
    return float(round(value, 3))
