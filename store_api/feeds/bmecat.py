"""BMEcat catalogs (1.2 and 2005), parsed safely with defusedxml's SAX parser.

No entity is ever expanded and nothing outside the file is fetched: a document that declares
entities (billion laughs) or points at an external one (XXE) is refused as a whole. Each
``PRODUCT`` (2005) or ``ARTICLE`` (1.2) becomes one record whose cells are named after the
BMEcat elements, so a mapping profile maps them like CSV columns:

* ``SUPPLIER_PID`` (1.2: ``SUPPLIER_AID``), ``DESCRIPTION_SHORT``, ``DESCRIPTION_LONG``,
  ``INTERNATIONAL_PID`` (1.2: ``EAN``), ``MANUFACTURER_PID`` (1.2: ``MANUFACTURER_AID``),
  ``MANUFACTURER_NAME``, ``DELIVERY_TIME``, ``MIME_SOURCE`` (the first image);
* ``PRICE_AMOUNT[net_list]``, ``PRICE_AMOUNT[nrp]``... one per ``price_type``;
* ``CATALOG_GROUP`` (the group's name from the catalog's group system, else its id);
* ``FEATURE:<FNAME>`` with ``FVALUE``, and ``FEATURE_UNIT:<FNAME>`` with ``FUNIT``;
* any other leaf element under its own name (``PRODUCT_STATUS``, ``UDX.STOCK``...).
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler
from xml.sax.xmlreader import AttributesImpl, Locator

import defusedxml
import defusedxml.sax

from store_api.feeds.problems import FeedRefused, Problem
from store_api.feeds.table import MAX_CELL, Record, Table, check_size

_ITEM = {"PRODUCT", "ARTICLE"}
_ALIASES = {
    "SUPPLIER_AID": "SUPPLIER_PID",
    "EAN": "INTERNATIONAL_PID",
    "MANUFACTURER_AID": "MANUFACTURER_PID",
    "ARTICLE_STATUS": "PRODUCT_STATUS",
}
_HEADER = {"LANGUAGE", "CATALOG_ID", "CATALOG_VERSION", "CURRENCY", "SUPPLIER_NAME"}


def _local(name: str) -> str:
    return name.rsplit(":", 1)[-1]


class _Handler(ContentHandler):
    def __init__(self) -> None:
        super().__init__()
        self.locator: Locator | None = None
        self.path: list[str] = []
        self.text: list[str] = []
        self.records: list[Record] = []
        self.current: Record | None = None
        self.header: dict[str, str] = {}
        self.groups: dict[str, str] = {}
        self._group_id = ""
        self._feature: dict[str, str] = {}
        self._price_type = ""
        self.root = ""

    def setDocumentLocator(self, locator: Locator) -> None:  # noqa: N802 (SAX API)
        self.locator = locator

    def _line(self) -> int:
        return (self.locator.getLineNumber() or 0) if self.locator is not None else 0

    def startElement(self, name: str, attrs: AttributesImpl) -> None:  # noqa: N802
        tag = _local(name)
        if not self.root:
            self.root = tag
            if tag != "BMECAT":
                raise FeedRefused(Problem("xml_not_bmecat", params={"root": tag}))
        self.path.append(tag)
        self.text = []
        if tag in _ITEM and self.current is None:
            check_size(len(self.records) + 1)
            self.current = Record(self._line(), {})
        elif tag == "PRODUCT_PRICE" or tag == "ARTICLE_PRICE":
            self._price_type = attrs.get("price_type", "") or "price"
        elif tag == "FEATURE":
            self._feature = {}

    def characters(self, content: str) -> None:
        self.text.append(content)

    def _set(self, key: str, value: str) -> None:
        assert self.current is not None
        if value and key not in self.current.cells:
            self.current.cells[key] = value[: MAX_CELL + 1]

    def endElement(self, name: str) -> None:  # noqa: N802
        tag = _local(name)
        value = "".join(self.text).strip()
        self.text = []
        self.path.pop()
        if self.current is None:
            if tag in _HEADER and "HEADER" in self.path:
                self.header.setdefault(tag.lower(), value)
            elif tag == "GROUP_ID":
                self._group_id = value
            elif tag == "GROUP_NAME" and self._group_id:
                self.groups.setdefault(self._group_id, value)
            return
        if tag in _ITEM and not any(p in _ITEM for p in self.path):
            self.records.append(self.current)
            self.current = None
            return
        if tag in {"FNAME", "FVALUE", "FUNIT"}:
            self._feature.setdefault(tag, value)
        elif tag == "FEATURE":
            fname = self._feature.get("FNAME", "")
            if fname:
                self._set(f"FEATURE:{fname}", self._feature.get("FVALUE", ""))
                self._set(f"FEATURE_UNIT:{fname}", self._feature.get("FUNIT", ""))
        elif tag == "PRICE_AMOUNT":
            self._set(f"PRICE_AMOUNT[{self._price_type}]", value)
        elif tag == "CATALOG_GROUP_ID":
            self._set("CATALOG_GROUP", value)
        elif value:
            self._set(_ALIASES.get(tag, tag), value)


# BMEcat 1.2 files often name their DTD (``<!DOCTYPE BMECAT SYSTEM "bmecat_new_catalog.dtd">``).
# Without an internal subset it declares nothing; it is blanked (same length, so line numbers
# hold) rather than refused. Any DOCTYPE with ``[...]`` still goes to the parser and is refused.
_PLAIN_DOCTYPE = re.compile(
    rb"<!DOCTYPE\s+[\w.:-]+\s+(?:SYSTEM|PUBLIC)(?:\s+(?:\"[^\"<>\[]*\"|'[^'<>\[]*'))+\s*>"
)


def _blank(match: re.Match[bytes]) -> bytes:
    return bytes(b if b in b"\r\n" else 32 for b in match.group(0))


def read(data: bytes) -> Table:
    handler = _Handler()
    data = _PLAIN_DOCTYPE.sub(_blank, data[:4096], count=1) + data[4096:]
    try:
        defusedxml.sax.parseString(
            data, handler, forbid_dtd=False, forbid_entities=True, forbid_external=True
        )
    except defusedxml.DefusedXmlException as exc:
        line = handler._line()
        raise FeedRefused(Problem("xml_forbidden", line=line, params={"line": line})) from exc
    except SAXParseException as exc:
        line = exc.getLineNumber() or 0
        detail = str(exc.getMessage())[:120]
        raise FeedRefused(
            Problem("xml_malformed", line=line, params={"line": line, "detail": detail})
        ) from exc
    if not handler.root:
        raise FeedRefused(Problem("empty_file"))
    for record in handler.records:
        group = record.cells.get("CATALOG_GROUP")
        if group in handler.groups:
            record.cells["CATALOG_GROUP"] = handler.groups[group]
    columns: dict[str, None] = {}
    for record in handler.records:
        columns.update(dict.fromkeys(record.cells))
    detected: dict[str, Any] = {"encoding": "xml", **handler.header}
    return Table(format="bmecat", columns=list(columns), records=handler.records, detected=detected)
