"""French dates for customer messages (``samedi 28 novembre``, ``à 10 h 30``); prices come
from :func:`store_api.i18n.format_money`."""

from __future__ import annotations

import datetime as dt
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
