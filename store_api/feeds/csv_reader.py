"""CSV as suppliers export it: delimiter and encoding found out, not configured.

French spreadsheets save ``;``-separated Windows-1252 with decimal commas; others send
``,``-separated UTF-8 (with or without BOM) or tab-separated text. The decimal separator is
found later, per file, from the numbers themselves (:mod:`store_api.feeds.numbers`).
"""

from __future__ import annotations

import codecs
import csv
import io
import re

from store_api.feeds.problems import FeedRefused, Problem
from store_api.feeds.table import MAX_CELL, Record, Table, check_header, check_size

DELIMITERS = (";", "\t", ",", "|")
_SAMPLE_LINES = 50
# A well-formed UTF-8 multi-byte sequence: a cp1252 file almost never contains one by chance.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}")


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode(data: bytes) -> tuple[str, str]:
    """The text and the name of its encoding; refuses binary data and mixed encodings."""
    if not data.strip():
        raise FeedRefused(Problem("empty_file"))
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(name), "utf-16"
            except UnicodeDecodeError as exc:
                line = data[: exc.start].decode(name, "replace").count("\n") + 1
                raise FeedRefused(
                    Problem("bad_encoding", line=line, params={"line": line})
                ) from exc
    nul = data.find(b"\x00")
    if nul >= 0:
        line = _line_of(data, nul)
        raise FeedRefused(Problem("binary_file", line=line, params={"line": line}))
    encoding = "utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        if encoding == "utf-8-sig" or _UTF8_SEQUENCE.search(data):
            raise FeedRefused(Problem("mixed_encoding", line=line, params={"line": line})) from exc
    try:
        return data.decode("cp1252"), "windows-1252"
    except UnicodeDecodeError as exc:
        line = _line_of(data, exc.start)
        raise FeedRefused(Problem("bad_encoding", line=line, params={"line": line})) from exc


def detect_delimiter(text: str) -> str:
    """The candidate that splits the first lines into the most consistent, widest rows."""
    sample = "\n".join(text.splitlines()[:_SAMPLE_LINES])
    best, best_score = DELIMITERS[0], (-1.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        consistent = sum(len(r) == width for r in rows) / len(rows)
        score = (consistent, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def read(data: bytes) -> Table:
    text, encoding = decode(data)
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    table = Table(
        format="csv",
        columns=[],
        records=[],
        detected={"encoding": encoding, "delimiter": delimiter},
    )
    previous_end = 0
    header: list[str] | None = None
    while True:
        start = previous_end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise FeedRefused(Problem("truncated", line=start, params={"line": start})) from exc
        previous_end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = check_header(row)
            table.columns = header
            continue
        if len(row) != len(header):
            last = previous_end == text.count("\n") + 1 and not text.endswith(("\n", "\r"))
            if last and len(row) < len(header):  # the download stopped mid-line
                raise FeedRefused(Problem("truncated", line=start, params={"line": start}))
            table.problems.append(
                Problem(
                    "wrong_column_count",
                    line=start,
                    params={"line": start, "found": len(row), "expected": len(header)},
                )
            )
            continue
        check_size(len(table.records) + 1)
        cells = {
            name: value.strip()[: MAX_CELL + 1]
            for name, value in zip(header, row, strict=True)
            if name
        }
        table.records.append(Record(start, cells))
    if header is None:
        raise FeedRefused(Problem("empty_file"))
    return table
