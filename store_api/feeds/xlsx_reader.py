"""XLSX price lists, read with openpyxl (read-only, formulas kept as formulas, never evaluated).

openpyxl parses the workbook's XML with defusedxml when it is installed (it is a dependency
of Comptoir), so a workbook cannot expand entities either. Only the first sheet is read; its
first non-empty row is the header. Numbers arrive as numbers and are written back as text the
mapping reads like any CSV cell ("89.9"), so one code path checks every format.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal
from typing import Any

from store_api.feeds.problems import FeedRefused, Problem
from store_api.feeds.table import MAX_CELL, Record, Table, check_header, check_size


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        # 89.9 stored as a binary float: the shortest text that reads back the same.
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value).strip()


def read(data: bytes) -> Table:
    import openpyxl  # imported here: only XLSX uploads pay for it

    if not data:
        raise FeedRefused(Problem("empty_file"))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise FeedRefused(Problem("xlsx_unreadable")) from exc
    except Exception as exc:  # defusedxml and lxml errors inside the workbook's XML parts
        raise FeedRefused(Problem("xlsx_unreadable")) from exc
    try:
        sheet = workbook.worksheets[0]
        table = Table(format="xlsx", columns=[], records=[], detected={"sheet": sheet.title})
        header: list[str] | None = None
        for row in sheet.iter_rows():
            cells = list(row)
            if not cells or all(c.value in (None, "") for c in cells):
                continue
            line = getattr(cells[0], "row", None) or 0
            if header is None:
                header = check_header([_text(c.value) for c in cells])
                while header and not header[-1]:
                    header.pop()
                table.columns = header
                continue
            record = Record(line, {})
            for name, cell in zip(header, cells, strict=False):
                if not name:
                    continue
                if getattr(cell, "data_type", None) == "f":
                    record.formulas[name] = str(cell.value)[:50]
                    record.cells[name] = ""
                else:
                    record.cells[name] = _text(cell.value)[: MAX_CELL + 1]
            for name in header[len(cells) :]:
                record.cells.setdefault(name, "")
            check_size(len(table.records) + 1)
            table.records.append(record)
    except FeedRefused:
        raise
    except Exception as exc:  # a part of the zip cut short shows up while rows are read
        raise FeedRefused(Problem("xlsx_unreadable")) from exc
    finally:
        workbook.close()
    if header is None:
        raise FeedRefused(Problem("xlsx_empty"))
    return table
