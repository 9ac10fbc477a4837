"""GTIN (EAN/UPC barcodes) as pure functions: normalise what a scanner or a person typed, check it.

A GTIN is 8, 12, 13 or 14 digits whose last digit is the GS1 check digit: from the right,
excluding the check digit, digits are weighted 3, 1, 3, 1, ...; the check digit brings the
sum to a multiple of 10 (GS1 General Specifications, 7.9.1). GTIN-12 (UPC-A) and GTIN-13
(EAN-13) are what scanners read on appliances; GTIN-8 on small items, GTIN-14 on cartons.

Codes are stored as typed (normalised to digits only), not padded to 14: a seller who scans
an EAN-13 finds the same 13 digits in the API. Codes with a GS1 prefix 20-29 are "restricted
circulation": a shop may number its own items with them (the demo catalogue does).
"""

from __future__ import annotations

import re

GTIN_LENGTHS = (8, 12, 13, 14)
# Spaces, dashes and dots are how people write barcodes down ("3 521234 567890").
_SEPARATORS = re.compile(r"[\s.\-]+")


def normalize_gtin(value: str) -> str:
    """Digits only: separators removed. Does not check anything (see :func:`is_valid_gtin`)."""
    return _SEPARATORS.sub("", value.strip())


def check_digit(body: str) -> int:
    """The GS1 check digit for ``body`` (the GTIN without its last digit)."""
    total = 0
    for position, char in enumerate(reversed(body)):
        total += int(char) * (3 if position % 2 == 0 else 1)
    return (10 - total % 10) % 10


def is_valid_gtin(value: str) -> bool:
    """True for a normalised GTIN-8/12/13/14 whose check digit is right."""
    if len(value) not in GTIN_LENGTHS or not value.isascii() or not value.isdigit():
        return False
    return check_digit(value[:-1]) == int(value[-1])


def gtin_problem(value: str) -> str | None:
    """Why ``value`` (normalised) is not a GTIN, in English for the API; None when it is one."""
    if not value.isascii() or not value.isdigit():
        return "A GTIN has digits only (spaces and dashes are ignored)."
    if len(value) not in GTIN_LENGTHS:
        return "A GTIN has 8, 12, 13 or 14 digits."
    if not is_valid_gtin(value):
        expected = check_digit(value[:-1])
        return f"Wrong check digit: a GTIN with these first digits ends in {expected}."
    return None


def restricted_ean13(number: int, prefix: int = 20) -> str:
    """An in-store EAN-13 (GS1 prefix 20-29, restricted circulation) for the shop's own item."""
    if not 20 <= prefix <= 29 or not 0 <= number < 10**10:
        raise ValueError("prefix 20-29 and a number of at most 10 digits")
    body = f"{prefix:02d}{number:010d}"
    return body + str(check_digit(body))
