"""Feed verbs: read a supplier file into a dry run, apply a dry run, pick files up from inboxes.

A dry run stores the file, the mapping used and the diff (:class:`FeedImport`). Applying it
reads the stored file again with the stored mapping inside the write transaction, checks that
the diff is still the one people read (``feed_stale`` otherwise) and carries it out: one
transaction per feed, nothing half-applied. Services never commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, undefer

from store_api.errors import Conflict, ErrorCode, NotFound
from store_api.feeds import apply as feed_apply
from store_api.feeds import bmecat, csv_reader, diff, mapping, xlsx_reader
from store_api.feeds.problems import FeedRefused, Problem
from store_api.feeds.table import Table
from store_api.suppliers.models import FeedImport, FeedStatus, Supplier
from store_api.suppliers.service import get_supplier

FORMATS = ("csv", "xlsx", "bmecat")
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".xml": "bmecat"}


def detect_format(filename: str, data: bytes) -> str:
    """From the file's first bytes (a zip is XLSX, ``<`` is XML), else its extension."""
    if data.startswith(b"PK\x03\x04"):
        return "xlsx"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        return "bmecat"
    return _EXTENSIONS.get(Path(filename).suffix.lower(), "csv")


def read_table(data: bytes, fmt: str) -> Table:
    if fmt == "xlsx":
        return xlsx_reader.read(data)
    if fmt == "bmecat":
        return bmecat.read(data)
    return csv_reader.read(data)


@dataclass
class Reading:
    table: Table
    profile: dict[str, Any]
    lines: list[mapping.FeedLine]
    diff: diff.Diff

    def stored_lines(self) -> dict[str, Any]:
        return {
            "lines": [mapping.line_to_json(line) for line in self.lines],
            "problems": [p.as_dict() for p in self.table.problems],
        }


def _read(
    session: Session, supplier: Supplier, data: bytes, fmt: str, profile: Mapping[str, Any] | None
) -> Reading:
    table = read_table(data, fmt)
    full = mapping.complete(profile, table)
    if "supplier_sku" not in full["columns"].values():
        raise FeedRefused(Problem("no_supplier_sku_column"))
    reader = mapping.LineReader(full, table)
    lines = [reader.read(record) for record in table.records]
    table.detected["decimal"] = reader.decimal
    snapshot = diff.load_snapshot(session, supplier.id)
    compared = diff.compute(supplier, full, lines, table.problems, snapshot)
    return Reading(table, full, lines, compared)


def dry_run(
    session: Session,
    supplier_code: str,
    data: bytes,
    filename: str,
    *,
    actor: str,
    now: dt.datetime,
    max_bytes: int,
    source: str = "upload",
    fmt: str | None = None,
    profile: Mapping[str, Any] | None = None,
) -> FeedImport:
    """Read ``data`` and record what applying it would change; changes nothing else.

    A file that cannot be read at all is recorded too (status ``refused``, with its problem),
    so the owner sees why on the supplier's page.
    """
    supplier = get_supplier(session, supplier_code)
    fmt = fmt or detect_format(filename, data)
    record = FeedImport(
        supplier_id=supplier.id,
        filename=Path(filename).name[:255] or "feed",
        format=fmt,
        source=source,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        content=b"",
        detected={},
        mapping={},
        summary={},
        entries=[],
        created_by=actor,
        created_at=now,
    )
    try:
        if len(data) > max_bytes:
            raise FeedRefused(too_large(len(data), max_bytes))
        reading = _read(session, supplier, data, fmt, profile or supplier.mapping)
    except FeedRefused as refused:
        record.status = FeedStatus.REFUSED
        record.problem = refused.problem.as_dict()
    else:
        record.content = data
        record.status = FeedStatus.DRY_RUN
        record.detected = {**reading.table.detected, "columns": reading.table.columns}
        record.mapping = reading.profile
        record.summary = reading.diff.counts
        record.entries = reading.diff.stored_entries
        record.lines = reading.stored_lines()
        record.fingerprint = reading.diff.fingerprint
        session.execute(
            update(FeedImport)
            .where(FeedImport.supplier_id == supplier.id, FeedImport.status == FeedStatus.DRY_RUN)
            .values(status=FeedStatus.SUPERSEDED)
        )
    session.add(record)
    session.flush()
    return record


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f}".rstrip("0").rstrip(".")


def refuse(
    session: Session,
    supplier_code: str,
    filename: str,
    problem: Problem,
    *,
    size: int,
    source: str,
    actor: str,
    now: dt.datetime,
) -> FeedImport:
    """Record a file refused before it was read (an inbox file over the size limit)."""
    supplier = get_supplier(session, supplier_code)
    record = FeedImport(
        supplier_id=supplier.id,
        filename=Path(filename).name[:255] or "feed",
        format=detect_format(filename, b""),
        source=source,
        sha256="",
        size=size,
        content=b"",
        detected={},
        mapping={},
        summary={},
        entries=[],
        status=FeedStatus.REFUSED,
        problem=problem.as_dict(),
        created_by=actor,
        created_at=now,
    )
    session.add(record)
    session.flush()
    return record


def too_large(size: int, max_bytes: int) -> Problem:
    return Problem("too_large", params={"size_mb": _mb(size), "limit_mb": _mb(max_bytes)})


_MAX_ID = 2**31 - 1  # an id beyond any integer column is simply not found


def _not_found(import_id: int) -> NotFound:
    return NotFound(ErrorCode.FEED_NOT_FOUND, f"No feed import #{import_id}.", {"id": import_id})


def get_import(session: Session, import_id: int, *, with_entries: bool = False) -> FeedImport:
    if not 0 < import_id <= _MAX_ID:
        raise _not_found(import_id)
    stmt = select(FeedImport).where(FeedImport.id == import_id)
    if with_entries:
        stmt = stmt.options(undefer(FeedImport.entries))
    found = session.scalars(stmt).one_or_none()
    if found is None:
        raise NotFound(ErrorCode.FEED_NOT_FOUND, f"No feed import #{import_id}.", {"id": import_id})
    return found


def list_imports(session: Session, supplier_code: str, limit: int = 50) -> list[FeedImport]:
    supplier = get_supplier(session, supplier_code)
    return list(
        session.scalars(
            select(FeedImport)
            .where(FeedImport.supplier_id == supplier.id)
            .order_by(FeedImport.id.desc())
            .limit(limit)
        )
    )


def apply_import(
    session: Session,
    import_id: int,
    *,
    skip_rejected: bool,
    actor: str,
    now: dt.datetime,
    locations: Sequence[str],
) -> FeedImport:
    """Apply a dry run exactly as it was shown, in the caller's (one) transaction."""
    if not 0 < import_id <= _MAX_ID:
        raise _not_found(import_id)
    record = session.scalars(
        select(FeedImport)
        .where(FeedImport.id == import_id)
        .options(undefer(FeedImport.lines))
        .with_for_update()
    ).one_or_none()
    if record is None:
        raise NotFound(ErrorCode.FEED_NOT_FOUND, f"No feed import #{import_id}.", {"id": import_id})
    if record.status != FeedStatus.DRY_RUN:
        raise Conflict(
            ErrorCode.FEED_NOT_APPLICABLE,
            f"Feed import #{import_id} is {record.status}; only a dry run can be applied.",
            {"id": import_id, "status": record.status},
        )
    supplier = session.get(Supplier, record.supplier_id)
    assert supplier is not None
    # The lines as the dry run read them, compared with the catalog as it is now.
    stored = record.lines
    lines = [mapping.line_from_json(data) for data in stored.get("lines", [])]
    problems = [Problem.from_dict(p) for p in stored.get("problems", [])]
    snapshot = diff.load_snapshot(session, supplier.id)
    compared = diff.compute(supplier, record.mapping, lines, problems, snapshot)
    if compared.fingerprint != record.fingerprint:
        raise Conflict(
            ErrorCode.FEED_STALE,
            "The catalog changed since this dry run; run the feed again and check the new diff.",
            {"id": import_id},
        )
    rejected = compared.rejected
    if rejected and not skip_rejected:
        raise Conflict(
            ErrorCode.FEED_HAS_REJECTED_LINES,
            f"{rejected} line(s) are rejected; fix the file, or apply with skip_rejected.",
            {"id": import_id, "rejected": rejected},
        )
    feed_apply.execute(session, supplier.id, compared.plan, locations=locations, now=now)
    record.status = FeedStatus.APPLIED
    record.applied_at = now
    record.applied_by = actor
    if rejected:
        record.note = f"applied without {rejected} rejected line(s)"
    session.flush()
    return record
