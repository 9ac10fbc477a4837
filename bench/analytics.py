"""Analytics benchmark: clickstream ingest through HTTP vs a raw insert; reports on 1M events.

(a) Ingest, on SQLite and a throwaway PostgreSQL. The tables first get a shop's recent history
    (50,000 events through ``collect()``, then ANALYZE): measured batches land in tables that
    are not new. gunicorn serves the app as ``make run`` does (``gunicorn.conf.py``: 2 gthread
    workers x 16 threads, access log on); client threads POST batches of 50 demo events
    (``seeds/demo_browsing.py``: real browser user agents, one synthetic visitor per batch
    through X-Forwarded-For) to ``/api/v1/collect``, each thread on its own keep-alive
    connection (``http.client``, bodies encoded beforehand: the load generator shares the
    machine's cores with the server and the database, so it is kept light). Stored events per
    second are compared with a raw insert of the same rows (read back from the database, then
    deleted) into the same table, same indexes: a SQLAlchemy Core ``executemany`` of 50 rows per
    transaction on one connection, like one batch per request. Target: HTTP >= 0.5 x raw.
    Three rounds (HTTP then raw, each on the history alone; PostgreSQL is vacuumed in between
    so that neither side meets dead index entries); the medians are reported. The in-process
    ``collect()`` rate (same batches, one thread, no HTTP) is shown too, to tell the web
    stack's share from the ingest's.

(b) Reports, on SQLite: about 1,000,000 events over 60 days from the same generator,
    bulk-loaded with ``executemany`` (rows built as the ingest builds them, checked against
    ``collect()`` on a sample first), one rollup refresh (timed), then every report of
    ``REPORTS`` through ``run_report`` for the default 30 days and for 60 days, 30 runs each.
    Target: p95 < 300 ms.

Run with ``make bench`` (or ``python -m bench.analytics --batches 400 --events 200000``).
Results also go to ``bench/results/analytics.json``. Everything lives in a temporary
directory that is deleted at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import runpy
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from http.client import HTTPConnection, HTTPException
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Engine, Table, delete, func, insert, select

from bench.recommendations import percentiles
from bench.stock_http import RESULTS, database
from seeds import demo_browsing as browsing
from store_api import create_app, db
from store_api.analytics import reports, rollup
from store_api.cli import upgrade_database
from store_api.clickstream import privacy, service
from store_api.clickstream.models import ClickEvent, DailyCounter, Visit, VisitorSalt
from store_api.clickstream.schemas import ITEM_EVENTS
from tests.servers import ROOT, start_gunicorn, stop_gunicorn

BATCH = 50
ROUNDS = 3
HISTORY = 1000  # batches of 50 stored before the measured ones
TARGET_RATIO = 0.5
TARGET_P95_MS = 300.0
SITE = "bench"

_events = cast(Table, ClickEvent.__table__)
_visits = cast(Table, Visit.__table__)
_EVENT_COLUMNS = [c for c in _events.c if c.name != "id"]


# --- (a) ingest ------------------------------------------------------------------------------


def ingest_batches(
    count: int, now: dt.datetime, seed: int = 4
) -> list[tuple[browsing.Browser, list[Any]]]:
    """``count`` batches of 50 consecutive demo events, each with one visitor's browser.

    The demo day is shifted so that its last event is a minute old: the ingest takes events
    up to a day old.
    """
    products = browsing.load_catalog()
    end = dt.datetime.combine(now.date(), dt.time(20, 0), browsing.TIMEZONE)
    needed = count * BATCH
    visits_per_day = needed / 9 + 100  # a demo visit has ~16 events; a Monday is quiet
    stream: list[tuple[browsing.Browser, dict[str, Any]]] = []
    for batch in browsing.generate(
        products, end=end, days=1, seed=seed, visits_per_day=visits_per_day
    ):
        if batch.browser.device != "bot":
            stream.extend((batch.browser, event) for event in batch.events)
    if len(stream) < needed:
        raise SystemExit(f"only {len(stream)} demo events for {needed}")
    stream = stream[:needed]
    shift = int(now.timestamp() * 1000) - 60_000 - stream[-1][1]["ts"]
    batches = []
    for first in range(0, needed, BATCH):
        part = stream[first : first + BATCH]
        events = [{**event, "ts": event["ts"] + shift} for _browser, event in part]
        batches.append((part[0][0], events))
    return batches


def _empty_clickstream(engine: Engine, *, salts: bool = True) -> None:
    """Events and visits (and the salts and counters, unless a server has them cached)."""
    models: tuple[Any, ...] = (ClickEvent, Visit)
    if salts:
        models += (VisitorSalt, DailyCounter)
    with engine.begin() as conn:
        for model in models:
            conn.execute(delete(cast(Table, model.__table__)))


@dataclass(frozen=True)
class Watermark:
    """The last event and visit ids of the shop's history: a round removes what is above."""

    event: int
    visit: int


def fill_history(app: Any, engine: Engine) -> Watermark:
    """A shop's recent history through the real ingest, then the planner's statistics.

    The measured batches land in tables that are not new: on PostgreSQL, statements prepared
    while a table was nearly empty would keep plans made for an empty table (sequential scans)
    until autovacuum's next ANALYZE, which a few seconds of benchmark never see.
    """
    collect_in_process(app, ingest_batches(HISTORY, db.utcnow(), seed=3))
    _vacuum(engine, analyze=True)
    with engine.connect() as conn:
        event = conn.scalar(select(func.max(_events.c.id)))
        visit = conn.scalar(select(func.max(_visits.c.id)))
    return Watermark(event or 0, visit or 0)


def _forget(engine: Engine, mark: Watermark) -> None:
    """Events and visits above the watermark, and on PostgreSQL their dead rows too (a row
    inserted again would otherwise meet its dead index entry, and slow whichever side is next).
    """
    with engine.begin() as conn:
        conn.execute(delete(_events).where(_events.c.id > mark.event))
        conn.execute(delete(_visits).where(_visits.c.id > mark.visit))
    _vacuum(engine)


def _vacuum(engine: Engine, *, analyze: bool = False) -> None:
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        verb = "VACUUM ANALYZE" if analyze else "VACUUM"
        conn.exec_driver_sql(f"{verb} clickstream_events, clickstream_visits")


def gunicorn_settings() -> tuple[int, int]:
    """Workers and threads per worker as ``make run`` serves (gunicorn.conf.py, this env)."""
    conf = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return int(conf["workers"]), int(conf["threads"])


def post_all(
    url: str, batches: Sequence[tuple[browsing.Browser, list[Any]]], clients: int
) -> tuple[float, float]:
    """POST every batch with ``clients`` threads; returns the seconds it took and the CPU
    seconds this load generator used meanwhile."""
    bodies = [(json.dumps({"events": events}).encode(), browser) for browser, events in batches]
    address = urlsplit(url)
    lock = threading.Lock()
    todo = iter(range(len(bodies)))
    errors: list[str] = []
    start = threading.Barrier(clients + 1)

    def worker() -> None:
        # One keep-alive connection per thread, as requests.Session would keep, at a third of
        # its CPU per request.
        connection = HTTPConnection(address.hostname or "", address.port, timeout=60)
        start.wait()
        try:
            while True:
                with lock:
                    index = next(todo, None)
                if index is None:
                    return
                body, browser = bodies[index]
                try:
                    connection.request(
                        "POST",
                        "/api/v1/collect",
                        body=body,
                        headers={
                            "Content-Type": "text/plain",
                            "User-Agent": browser.user_agent,
                            "X-Forwarded-For": browser.ip,
                        },
                    )
                    response = connection.getresponse()
                    answer = response.read()
                    ok = response.status == 200 and json.loads(answer)["accepted"] == BATCH
                except (OSError, HTTPException, ValueError, KeyError) as exc:
                    errors.append(repr(exc))
                    return
                if not ok:
                    errors.append(f"{response.status} {answer[:300]!r}")
                    return
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began, cpu_before = time.perf_counter(), _cpu_seconds()
    for t in threads:
        t.join()
    elapsed, cpu = time.perf_counter() - began, _cpu_seconds() - cpu_before
    if errors:
        raise RuntimeError(f"collect requests failed: {errors[:3]}")
    return elapsed, cpu


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def raw_insert(engine: Engine, rows: Sequence[dict[str, Any]]) -> float:
    """The same rows again, 50 per transaction, Core executemany; returns the seconds."""
    began = time.perf_counter()
    with engine.connect() as conn:
        for first in range(0, len(rows), BATCH):
            with conn.begin():
                conn.execute(insert(_events), rows[first : first + BATCH])
    return time.perf_counter() - began


def collect_in_process(app: Any, batches: Sequence[tuple[browsing.Browser, list[Any]]]) -> float:
    """The same batches through collect() directly, one transaction each, like the route."""
    settings = service.CollectSettings.from_config(app.config)
    session = db.new_session(app)
    began = time.perf_counter()
    for browser, events in batches:
        with db.write(session):
            result = service.collect(
                session,
                events,
                client=service.ClientInfo(browser.ip, browser.user_agent),
                now=db.utcnow(),
                settings=settings,
            )
        assert result.accepted == len(events), result
    elapsed = time.perf_counter() - began
    session.close()
    return elapsed


def ingest_round(
    url: str,
    engine: Engine,
    mark: Watermark,
    batches: Sequence[tuple[browsing.Browser, list[Any]]],
    clients: int,
) -> dict[str, Any]:
    """The batches through HTTP, then their stored rows again through a raw executemany."""
    _forget(engine, mark)
    http_seconds, client_cpu = post_all(url, batches, clients)
    above = _events.c.id > mark.event
    with engine.connect() as conn:
        stored_rows = conn.execute(select(*_EVENT_COLUMNS).where(above).order_by(_events.c.id))
        rows = [dict(r._mapping) for r in stored_rows]
    _forget(engine, mark)
    raw_seconds = raw_insert(engine, rows)
    with engine.connect() as conn:
        raw_stored = conn.scalar(select(func.count()).select_from(_events).where(above))
    http_rate = len(rows) / http_seconds
    raw_rate = len(rows) / raw_seconds
    return {
        "events_stored_http": len(rows),
        "events_stored_raw": raw_stored,
        "http_events_per_s": round(http_rate),
        "raw_executemany_events_per_s": round(raw_rate),
        "ratio_http_vs_raw": round(http_rate / raw_rate, 3),
        "client_cpu_ms_per_batch": round(client_cpu / len(batches) * 1000, 2),
    }


def run_ingest(backend: str, count: int, clients: int, rounds: int) -> dict[str, Any]:
    batches = ingest_batches(count, db.utcnow())
    warm_up = ingest_batches(40, db.utcnow(), seed=5)
    workers, threads = gunicorn_settings()
    with (
        tempfile.TemporaryDirectory(prefix=f"comptoir-bench-analytics-{backend}-") as tmp,
        database(backend, Path(tmp)) as url,
    ):
        app = create_app({"DATABASE_URL": url})
        upgrade_database(app)
        engine = db.engine_for(app)
        mark = fill_history(app, engine)
        server = start_gunicorn(
            url,
            Path(tmp) / "gunicorn.log",
            workers=workers,
            threads=threads,
            env={"COMPTOIR_ANALYTICS_PROXY_HOPS": "1"},
        )
        try:
            post_all(server.url, warm_up, clients)  # workers import, pools fill, salt cached
            found = [
                ingest_round(server.url, engine, mark, batches, clients) for _ in range(rounds)
            ]
        finally:
            stop_gunicorn(server)
        _forget(engine, mark)
        process_seconds = collect_in_process(app, batches)
        engine.dispose()

    def median(key: str) -> Any:
        return statistics.median(r[key] for r in found)

    return {
        "backend": backend,
        "events": count * BATCH,
        "history_events": mark.event,
        "events_stored_http": min(r["events_stored_http"] for r in found),
        "events_stored_raw": min(r["events_stored_raw"] for r in found),
        "http_events_per_s": round(median("http_events_per_s")),
        "raw_executemany_events_per_s": round(median("raw_executemany_events_per_s")),
        "in_process_collect_events_per_s": round(count * BATCH / process_seconds),
        "ratio_http_vs_raw": median("ratio_http_vs_raw"),
        "ratios": [r["ratio_http_vs_raw"] for r in found],
        "client_cpu_ms_per_batch": median("client_cpu_ms_per_batch"),
        "clients": clients,
        "gunicorn_workers": workers,
        "gunicorn_threads": threads,
        "cpus": os.cpu_count(),
    }


# --- (b) reports on a million events ---------------------------------------------------------


def _money(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def _text_money(value: Any) -> str | None:
    return None if value is None else f"{Decimal(str(value)):.2f}"


def _item_json(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_id": item["item_id"],
        "item_variant": item.get("item_variant"),
        "item_category": item.get("item_category"),
        "price": _text_money(item.get("price")),
        "quantity": item.get("quantity", 1),
    }


def event_row(event: dict[str, Any], received_at: dt.datetime) -> dict[str, Any]:
    """The clickstream_events row the ingest writes for a demo event (visit_id left out)."""
    name, params = event["name"], event["params"]
    items = params.get("items") or []
    extra: dict[str, Any] = {}
    row: dict[str, Any] = {
        "event_id": event["event_id"],
        "name": name,
        "occurred_at": min(dt.datetime.fromtimestamp(event["ts"] / 1000, dt.UTC), received_at),
        "received_at": received_at,
        "page_path": privacy.page_path(event["page"]),
        "item_id": None,
        "item_variant": None,
        "item_category": None,
        "value": _money(params.get("value")),
        "currency": params.get("currency"),
        "shipping": _money(params.get("shipping")),
        "search_term": None,
        "search_results": None,
        "engaged_ms": None,
        "scroll_depth": None,
    }
    if name in ITEM_EVENTS or name == "engagement":
        item = items[0]
        row["item_id"] = item["item_id"]
        row["item_variant"] = item.get("item_variant")
        row["item_category"] = item.get("item_category")
        if item.get("price") is not None:
            extra["price"] = _text_money(item["price"])
        if name != "engagement":
            extra["quantity"] = item.get("quantity", 1)
        if len(items) > 1:
            extra["items"] = [_item_json(i) for i in items]
    elif items:
        extra["items"] = [_item_json(i) for i in items]
    if name == "search":
        row["search_term"] = privacy.clean_search_term(params["search_term"])
        row["search_results"] = params.get("search_results")
    elif name == "engagement":
        row["engaged_ms"] = params["engaged_ms"]
        row["scroll_depth"] = params.get("scroll_depth")
    elif name == "delivery_fee_shown":
        row["shipping"] = _money(params["fee"])
        row["value"] = _money(params["cart_value"])
        extra["free_threshold"] = _text_money(params.get("free_threshold"))
    elif name == "purchase":
        digest = hashlib.sha256(b"bench|" + params["transaction_id"].encode()).hexdigest()
        extra["transaction_id"] = digest[: privacy.VISITOR_HEX]
    row["params"] = extra
    return row


class BulkVisits:
    """Visit rows of the simulated visits, kept until their last event is known."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def visit_id(self, batch: browsing.Batch, first: dict[str, Any]) -> int:
        row = self.rows.get(batch.visit)
        if row is None:
            found = privacy.attribute(first["page"], first["referrer"])
            started = first["occurred_at"]
            row = {
                "id": len(self.rows) + 1,
                "visitor": f"{batch.visit:032x}",
                "started_at": started,
                "last_at": started,
                "source": found.source,
                "medium": found.medium,
                "campaign": found.campaign,
                "referrer_host": found.referrer_host,
                "landing_path": first["page_path"],
                "device": privacy.device_class(batch.browser.user_agent),
                "browser": privacy.browser_family(batch.browser.user_agent),
            }
            self.rows[batch.visit] = row
        return int(row["id"])

    def extend(self, batch: browsing.Batch, last: dt.datetime) -> None:
        row = self.rows[batch.visit]
        row["last_at"] = max(row["last_at"], last)


def bulk_rows(
    batches: Iterator[browsing.Batch], visits: BulkVisits
) -> Iterator[list[dict[str, Any]]]:
    """Event rows of the human batches, a batch at a time (robots are dropped at ingest)."""
    for batch in batches:
        if batch.browser.device == "bot":
            continue
        rows = [event_row(e, batch.received_at) for e in batch.events]
        first = dict(rows[0], page=batch.events[0]["page"], referrer=batch.events[0]["referrer"])
        visit_id = visits.visit_id(batch, first)
        for row in rows:
            row["visit_id"] = visit_id
        visits.extend(batch, rows[-1]["occurred_at"])
        yield rows


_COMPARED = [c.name for c in _EVENT_COLUMNS if c.name != "visit_id"]
_ATTRIBUTION = (
    "source",
    "medium",
    "campaign",
    "referrer_host",
    "landing_path",
    "device",
    "browser",
)


def _without_transaction(row: Any) -> dict[str, Any]:
    found = {k: row[k] for k in _COMPARED}
    found["params"] = {k: v for k, v in found["params"].items() if k != "transaction_id"}
    return found


def check_rows_match_ingest(app: Any, now: dt.datetime) -> int:
    """The bulk rows equal what collect() stores, on two demo days' worth of batches."""
    products = browsing.load_catalog()
    batches = list(browsing.generate(products, end=now, days=2, seed=9, visits_per_day=100))
    settings = service.CollectSettings.from_config(app.config)
    session = db.new_session(app)
    with db.write(session):
        for batch in batches:
            result = service.collect(
                session,
                batch.events,
                client=service.ClientInfo(batch.browser.ip, batch.browser.user_agent),
                now=batch.received_at,
                settings=settings,
            )
            assert not result.rejected, result
    with db.read(session):
        stored = {r.event_id: r._mapping for r in session.execute(select(*_EVENT_COLUMNS))}
        ingested = {
            v.started_at: tuple(getattr(v, k) for k in _ATTRIBUTION)
            for v in session.scalars(select(Visit))
        }
    session.close()
    _empty_clickstream(db.engine_for(app))
    visits = BulkVisits()
    checked = 0
    for rows in bulk_rows(iter(batches), visits):
        for row in rows:
            ours, theirs = _without_transaction(row), _without_transaction(stored[row["event_id"]])
            if ours != theirs:
                diff = {k: (ours[k], theirs[k]) for k in _COMPARED if ours[k] != theirs[k]}
                raise SystemExit(f"bulk rows differ from the ingest's: {diff}")
            checked += 1
    if len(stored) != checked:
        raise SystemExit(f"the ingest stored {len(stored)} events, the bulk path {checked}")
    for row in visits.rows.values():
        mine = tuple(row[k] for k in _ATTRIBUTION)
        if ingested.get(row["started_at"], mine) != mine:
            raise SystemExit(f"bulk visit {mine} differs from the ingest's")
    return checked


def load_million(app: Any, events: int, days: int, now: dt.datetime) -> dict[str, Any]:
    """Bulk-load ~``events`` demo events over ``days`` days; returns counts and seconds."""
    products = browsing.load_catalog()
    # Measured on the generator: ~16.4 events per human visit, and the weekly rhythm and the
    # growth over the period add ~8 % to the average day.
    visits_per_day = events / days / (16.4 * 1.045) / (1 - browsing.BOT_SHARE)
    engine = db.engine_for(app)
    visits = BulkVisits()
    loaded = 0
    chunk: list[dict[str, Any]] = []
    began = time.perf_counter()
    with engine.connect() as conn:
        # The unique event_id index is written in random order: keep it in memory.
        with conn.begin():
            conn.exec_driver_sql("PRAGMA cache_size=-262144")
        for rows in bulk_rows(
            browsing.generate(products, end=now, days=days, seed=60, visits_per_day=visits_per_day),
            visits,
        ):
            chunk.extend(rows)
            if len(chunk) >= 20_000:
                with conn.begin():
                    conn.execute(insert(_events), chunk)
                loaded += len(chunk)
                chunk = []
                print(f"\r  loading events: {loaded:,}", end="", flush=True)
        with conn.begin():
            if chunk:
                conn.execute(insert(_events), chunk)
            loaded += len(chunk)
            visit_rows = list(visits.rows.values())
            for first in range(0, len(visit_rows), 20_000):
                conn.execute(insert(_visits), visit_rows[first : first + 20_000])
    print(f"\r  loading events: {loaded:,}")
    return {
        "events": loaded,
        "visits": len(visits.rows),
        "days": days,
        "load_seconds": round(time.perf_counter() - began, 1),
    }


def time_reports(app: Any, now: dt.datetime, runs: int) -> dict[str, Any]:
    session = db.new_session(app)
    today = now.astimezone(browsing.TIMEZONE).date()
    timings: dict[str, Any] = {}
    for days in (reports.DEFAULT_DAYS, 60):
        query = reports.ReportQuery(today - dt.timedelta(days=days - 1), today)
        for slug in reports.REPORTS:
            rows = 0
            samples = []
            for run in range(runs + 2):
                started = time.perf_counter()
                report = reports.run_report(session, slug, query, now=now)
                if run >= 2:  # the first two warm the caches up
                    samples.append(time.perf_counter() - started)
                rows = len(report.rows)
            timings.setdefault(slug, {})[f"{days}_days"] = {**percentiles(samples), "rows": rows}
    session.close()
    return timings


def run_reports(events: int, days: int, runs: int) -> dict[str, Any]:
    now = db.utcnow()
    with tempfile.TemporaryDirectory(prefix="comptoir-bench-reports-") as tmp:
        app = create_app({"DATABASE_URL": f"sqlite:///{Path(tmp) / 'reports.db'}"})
        app.instance_path = str(Path(tmp) / "instance")
        upgrade_database(app)
        seeded = app.test_cli_runner().invoke(args=["seed", "--no-keys"])
        if seeded.exit_code != 0:
            raise SystemExit(f"flask seed failed:\n{seeded.output}")
        checked = check_rows_match_ingest(app, now)
        print(f"  bulk rows match what collect() stores ({checked} events compared)")
        loaded = load_million(app, events, days, now)
        session = db.new_session(app)
        began = time.perf_counter()
        folded = rollup.refresh(session, now=now)
        rollup_seconds = time.perf_counter() - began
        session.close()
        print(f"  rollup refresh: {folded:,} events folded in {rollup_seconds:.1f} s")
        timings = time_reports(app, now, runs)
        db.engine_for(app).dispose()
    return {
        **loaded,
        "rows_checked_against_ingest": checked,
        "rollup_events": folded,
        "rollup_seconds": round(rollup_seconds, 1),
        "runs": runs,
        "target_p95_ms": TARGET_P95_MS,
        "reports": timings,
    }


# --- main ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=600, help="of 50 events, per backend")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--rounds", type=int, default=ROUNDS, help="ingest rounds (median)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--events", type=int, default=1_000_000, help="for the reports")
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--runs", type=int, default=30, help="per report and period")
    parser.add_argument("--skip-ingest", action="store_true")
    parser.add_argument("--skip-reports", action="store_true")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results: dict[str, Any] = {}
    failed = False
    if not args.skip_ingest:
        ingest = [run_ingest(b, args.batches, args.clients, args.rounds) for b in backends]
        results["ingest"] = ingest
        first = ingest[0]
        print(
            f"\nClickstream ingest — {args.batches} batches of {BATCH} events, {args.clients} "
            f"client threads (one keep-alive connection each), gunicorn as `make run` "
            f"({first['gunicorn_workers']} gthread workers x {first['gunicorn_threads']} threads); "
            f"median of {args.rounds} rounds"
        )
        print(
            f"{'backend':<11} {'HTTP ev/s':>10} {'raw ev/s':>10} {'ratio':>7} {'target':>7}"
            f" {'collect() ev/s':>15}  ratios of the rounds"
        )
        for r in ingest:
            print(
                f"{r['backend']:<11} {r['http_events_per_s']:>10} "
                f"{r['raw_executemany_events_per_s']:>10} {r['ratio_http_vs_raw']:>7} "
                f"{'>=' + str(TARGET_RATIO):>7} {r['in_process_collect_events_per_s']:>15}  "
                f"{', '.join(str(x) for x in r['ratios'])}"
            )
        client_cpu = ", ".join(f"{r['client_cpu_ms_per_batch']} ms" for r in ingest)
        print(
            "(raw: the stored rows inserted again with a Core executemany, 50 per transaction, "
            "one connection; collect(): the same batches in process, one thread, no HTTP)\n"
            f"({first['cpus']} CPU(s), shared by gunicorn, the database and this load generator "
            f"({client_cpu} CPU per batch); other work on the machine moves these figures)"
        )
        failed |= any(r["ratio_http_vs_raw"] < TARGET_RATIO for r in ingest)
    if not args.skip_reports:
        print(f"\nReports on ~{args.events:,} events over {args.days} days (SQLite):")
        found = run_reports(args.events, args.days, args.runs)
        results["reports"] = found
        print(
            f"{found['events']:,} events in {found['visits']:,} visits loaded in "
            f"{found['load_seconds']} s; rollup refresh {found['rollup_seconds']} s"
        )
        print(f"{'report':<20} {'period':>7} {'rows':>5} {'p50 ms':>8} {'p95 ms':>8}  target p95")
        for slug, periods in found["reports"].items():
            for period, t in periods.items():
                flag = "ok" if t["p95_ms"] < TARGET_P95_MS else "MISSED"
                failed |= flag != "ok"
                print(
                    f"{slug:<20} {period.split('_')[0] + ' d':>7} {t['rows']:>5} "
                    f"{t['p50_ms']:>8.1f} {t['p95_ms']:>8.1f}  < {TARGET_P95_MS:.0f} {flag}"
                )
    if not args.skip_ingest and not args.skip_reports:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "analytics.json").write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
