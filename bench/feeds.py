"""What a supplier feed costs: a 50,000-line French CSV export, dry run then apply, on SQLite.

Target: dry run + apply of 50,000 new products in under 60 s, and the ratio to inserting the
very same rows (products, their stock levels, the supplier offers and the product.created
events, read back from the applied database) with raw DBAPI ``executemany`` into an empty
database of the same schema: the floor for writing that much, measured in the same run. The
feed does far more per row (decode, detect, map, check GTINs, match, diff, store the diff,
read the file again to apply it as shown); aim: ratio >= 0.3. Applying the same file again
(all unchanged) is timed too.

Run with ``make bench`` (or ``python -m bench.feeds --lines 50000``).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import text

from bench.stock_http import RESULTS
from seeds import supplier_feeds
from store_api import create_app, db
from store_api.cli import upgrade_database
from store_api.feeds import service as feeds
from store_api.suppliers import service as suppliers

TABLES = ("suppliers", "products", "stock_levels", "supplier_offers", "events")
LIMIT_S = 60.0


def _app(url: str) -> Any:
    app = create_app({"DATABASE_URL": url, "FEEDS_MAX_BYTES": 200_000_000})
    upgrade_database(app)
    return app


def feed_once(app: Any, data: bytes) -> tuple[float, float, dict[str, int]]:
    """Seconds for the dry run and for the apply, and the dry run's counts."""
    policy = app.extensions["comptoir_policy"]
    session = db.new_session(app)
    started = time.perf_counter()
    with db.write(session):
        record = feeds.dry_run(
            session, "DISTRILEC", data, "export.csv", actor="bench", now=db.utcnow(),
            max_bytes=app.config["FEEDS_MAX_BYTES"],
        )  # fmt: skip
        feed_id, summary = record.id, dict(record.summary)
    dry = time.perf_counter() - started
    started = time.perf_counter()
    with db.write(session):
        feeds.apply_import(
            session, feed_id, skip_rejected=False, actor="bench", now=db.utcnow(),
            locations=policy.locations,
        )  # fmt: skip
    applied = time.perf_counter() - started
    session.close()
    return dry, applied, summary


def raw_baseline(source: Any, target: Any) -> tuple[float, int]:
    """Copy the applied rows into an empty database with executemany; seconds and rows."""
    rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    with db.engine_for(source).connect() as conn:
        for table in TABLES:
            result = conn.exec_driver_sql(f"SELECT * FROM {table}")  # noqa: S608 (fixed names)
            rows[table] = (list(result.keys()), [tuple(r) for r in result])
    engine = db.engine_for(target)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("DELETE FROM event_counter")  # the migration's row; no trigger needed
        started = time.perf_counter()
        cursor.execute("BEGIN IMMEDIATE")
        for table in TABLES:
            columns, values = rows[table]
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",  # noqa: S608
                values,
            )
        cursor.execute("COMMIT")
        seconds = time.perf_counter() - started
    finally:
        raw.close()
    return seconds, sum(len(v) for _c, v in rows.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    args = parser.parse_args()
    data = supplier_feeds.french_csv(args.lines)
    with tempfile.TemporaryDirectory() as workdir:
        app = _app(f"sqlite:///{Path(workdir) / 'feed.db'}")
        session = db.new_session(app)
        with db.write(session):
            suppliers.create_supplier(
                session,
                {"code": "DISTRILEC", "name": "Distrilec", "mapping": supplier_feeds.CSV_PROFILE},
                now=db.utcnow(),
            )
        session.close()
        dry, applied, summary = feed_once(app, data)
        again_dry, again_apply, again = feed_once(app, data)
        empty = _app(f"sqlite:///{Path(workdir) / 'raw.db'}")
        with db.engine_for(empty).begin() as conn:
            conn.execute(text("DELETE FROM event_counter"))
        raw_s, raw_rows = raw_baseline(app, empty)
        db.engine_for(app).dispose()
        db.engine_for(empty).dispose()
    total = dry + applied
    result = {
        "backend": "sqlite",
        "lines": args.lines,
        "file_bytes": len(data),
        "new": summary.get("new"),
        "dry_run_s": round(dry, 2),
        "apply_s": round(applied, 2),
        "dry_run_plus_apply_s": round(total, 2),
        "under_60_s": total < LIMIT_S,
        "lines_per_s": round(args.lines / total),
        "raw_executemany_s": round(raw_s, 2),
        "raw_rows": raw_rows,
        "ratio_to_raw_executemany": round(raw_s / total, 3),
        "reapply_unchanged": again.get("unchanged"),
        "reapply_dry_run_plus_apply_s": round(again_dry + again_apply, 2),
        # The machine is shared: read the seconds with the load they were measured under.
        "load_average_1m": round(os.getloadavg()[0], 1),
    }
    print(
        f"feeds: {args.lines} lines ({len(data) / 1e6:.1f} MB), dry run {dry:.1f} s + apply "
        f"{applied:.1f} s = {total:.1f} s ({'under' if total < LIMIT_S else 'OVER'} 60 s), "
        f"{result['lines_per_s']} lines/s; raw executemany of the same {raw_rows} rows "
        f"{raw_s:.2f} s, ratio {result['ratio_to_raw_executemany']} (aim >= 0.3); "
        f"same file again: {again.get('unchanged')} unchanged in {again_dry + again_apply:.1f} s "
        f"(load average {result['load_average_1m']})"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "feeds.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
