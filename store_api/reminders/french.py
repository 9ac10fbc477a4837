"""French dates and prices for customer messages (``1 400,00 €``, ``samedi 28 novembre``)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
# French typography: a narrow no-break space between thousands, a no-break space before €.
_THOUSANDS = "\u202f"
_BEFORE_UNIT = "\u00a0"


def money(value: Decimal | float | int) -> str:
    amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    groups: list[str] = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{_THOUSANDS.join(groups)},{cents}{_BEFORE_UNIT}€"


def day(value: dt.date, *, weekday: bool = True, year: bool = True) -> str:
    """``samedi 28 novembre 2026``; ``1er`` for the first of the month."""
    number = "1er" if value.day == 1 else str(value.day)
    text = f"{number} {MONTHS[value.month - 1]}"
    if year:
        text += f" {value.year}"
    return f"{DAYS[value.weekday()]} {text}" if weekday else text


def moment(value: dt.datetime, timezone: ZoneInfo) -> str:
    """``samedi 28 novembre 2026 à 19 h 00``, in the shop's time zone."""
    local = value.astimezone(timezone)
    return f"{day(local.date())} à {local.hour} h {local.minute:02d}"
