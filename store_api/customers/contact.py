"""E-mail addresses and mobile numbers: checked and normalised before they are stored (pure)."""

from __future__ import annotations

import re

# Practical, not RFC 5321's full grammar: what a shop can actually deliver to.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_PHONE_NOISE = re.compile(r"[\s.\-/]")


class ContactError(ValueError):
    """The value cannot be a contact: the message says why, for the person who typed it."""


def normalise_email(value: str) -> str:
    """``"  Anne.Martin@Example.FR "`` -> ``"anne.martin@example.fr"``."""
    email = value.strip()
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email:
        raise ContactError("Not a valid e-mail address.")
    return email.lower()


def normalise_mobile(value: str) -> str:
    """A French mobile (06/07, any spacing, +33 or 0033) or an international number -> E.164."""
    raw = _PHONE_NOISE.sub("", value.strip()).replace("(0)", "")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("0") and len(raw) == 10 and raw.isdigit():
        raw = "+33" + raw[1:]
    if not (raw.startswith("+") and raw[1:].isdigit() and 8 <= len(raw) - 1 <= 15):
        raise ContactError("Not a phone number: give a mobile such as 06 12 34 56 78 or +33 6 ….")
    if raw.startswith("+33") and (len(raw) != 12 or raw[3] not in "67"):
        raise ContactError("Not a French mobile number (06 or 07): text messages need a mobile.")
    return raw
