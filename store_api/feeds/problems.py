"""What can be wrong with a feed file or one of its lines, as codes with parameters.

Services never build sentences: a problem is a code, the line it is on, the column, and the
values a message needs. :func:`describe` renders it in the reader's language (French by
default) from the English msgids below, through the shared translation catalogue.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class FeedRefused(Exception):
    """The file as a whole cannot be read: nothing from it can be applied."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.code)
        self.problem = problem


@dataclass(frozen=True)
class Problem:
    code: str
    line: int | None = None
    column: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "line": self.line, "column": self.column, "params": self.params}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(data["code"], data.get("line"), data.get("column"), data.get("params") or {})


def _(msgid: str) -> str:
    """Marks a msgid for ``make translations``; :func:`describe` translates it when shown."""
    return msgid


# code -> English msgid (French in store_api/feeds/translations). Parameters in %(name)s form.
MESSAGES: dict[str, str] = {
    # the file
    "too_large": _("The file is %(size_mb)s MB; the limit is %(limit_mb)s MB."),
    "empty_file": _("The file is empty."),
    "binary_file": _("This is not a text file (line %(line)s holds binary data)."),
    "unknown_format": _("Unknown file type: send a CSV, XLSX or BMEcat XML file."),
    "bad_encoding": _(
        "Line %(line)s is not valid text in any supported encoding "
        "(UTF-8, Windows-1252): save the file again as UTF-8."
    ),
    "mixed_encoding": _(
        "Mixed encodings: line %(line)s is not UTF-8 while the rest of the file is. "
        "Save the whole file again as UTF-8."
    ),
    "truncated": _("The file is truncated: it stops in the middle of line %(line)s."),
    "no_header": _("No header line: the first line must name the columns."),
    "duplicate_column": _("Column %(name)s appears twice in the header."),
    "too_many_lines": _("The file has more than %(limit)s lines."),
    "xlsx_unreadable": _("This XLSX file cannot be opened (damaged or truncated)."),
    "xlsx_empty": _("The first sheet of this XLSX file is empty."),
    "xml_forbidden": _(
        "The XML file declares entities or external references (line %(line)s), "
        "which are refused for safety."
    ),
    "xml_malformed": _("The XML file is malformed or truncated near line %(line)s: %(detail)s."),
    "xml_not_bmecat": _("This XML file is not a BMEcat catalog (root element %(root)s)."),
    "no_supplier_sku_column": _(
        "No column is mapped to the supplier reference: edit the mapping profile."
    ),
    # a line
    "wrong_column_count": _("Line %(line)s has %(found)s columns instead of %(expected)s."),
    "formula": _(
        "Line %(line)s, column %(column)s: formulas are refused (the cell starts with %(start)s)."
    ),
    "missing_value": _("Line %(line)s, column %(column)s: a value is required."),
    "not_a_number": _("Line %(line)s, column %(column)s: %(value)s is not a number."),
    "not_a_whole_number": _("Line %(line)s, column %(column)s: %(value)s is not a whole number."),
    "negative": _("Line %(line)s, column %(column)s: %(value)s is negative."),
    "too_precise": _("Line %(line)s, column %(column)s: %(value)s has more than 2 decimals."),
    "too_big": _("Line %(line)s, column %(column)s: %(value)s is too large."),
    "bad_gtin": _("Line %(line)s, column %(column)s: %(value)s is not a valid GTIN/EAN (%(why)s)."),
    "bad_url": _("Line %(line)s, column %(column)s: %(value)s is not an http(s) address."),
    "too_long": _("Line %(line)s, column %(column)s: longer than %(limit)s characters."),
    "bad_text": _("Line %(line)s, column %(column)s: the text holds control characters."),
    "unknown_availability": ("Line %(line)s, column %(column)s: unknown availability %(value)s."),
    "unknown_unit": _("Line %(line)s, column %(column)s: unknown unit %(value)s."),
    "duplicate_line": _("Line %(line)s repeats supplier reference %(value)s of line %(first)s."),
    "duplicate_gtin": _("Line %(line)s repeats GTIN %(value)s of line %(first)s."),
    "same_product": _("Line %(line)s describes product %(sku)s, already given by line %(first)s."),
    "gtin_taken": _(
        "Line %(line)s: GTIN %(value)s already belongs to product %(sku)s, "
        "not to the product this line matches (%(matched)s)."
    ),
    "no_price_for_new": _(
        "Line %(line)s: a new product needs a selling price (map a price column "
        "or set a markup in the mapping profile)."
    ),
    "no_name_for_new": _("Line %(line)s: a new product needs a name."),
    "bad_sku": _("Line %(line)s: cannot make a product SKU from supplier reference %(value)s."),
    "sku_taken": _("Line %(line)s: SKU %(value)s of the new product is already used."),
}

GTIN_WHY = {
    "digits": _("digits only"),
    "length": _("8, 12, 13 or 14 digits"),
    "check_digit": _("wrong check digit"),
}


def describe(problem: Problem | dict[str, Any], locale: str) -> str:
    """The problem as a sentence in ``locale`` (French by default), naming the line."""
    from store_api.i18n import text, translator

    if isinstance(problem, dict):
        problem = Problem.from_dict(problem)
    params = dict(problem.params)
    if "why" in params:
        params["why"] = translator(locale).gettext(GTIN_WHY.get(params["why"], params["why"]))
    msgid = MESSAGES.get(problem.code)
    if msgid is None:
        return problem.code
    try:
        return text(locale, msgid, **params)
    except (KeyError, ValueError, TypeError):  # a stored problem from an older version
        return text(locale, msgid) if not params else problem.code
