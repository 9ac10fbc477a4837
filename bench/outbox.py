"""What the transactional outbox costs: reservation throughput with and without it.

Each operation is a reservation then its release, each in its own write transaction, run by
several threads through the service layer (what the API calls), on SQLite and on a throwaway
PostgreSQL. "Without" replaces the event INSERT by nothing, in this process only; the stock
changes, ledger rows and guards are identical. Target: the outbox costs <= 30 %.

Run with ``make bench`` (or ``python -m bench.outbox --seconds 4 --threads 4``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest import mock

from sqlalchemy import func, select

from bench.stock_http import PRODUCTS, RESULTS, database, prepare
from store_api import db
from store_api.events import service as events
from store_api.events.models import Event
from store_api.stock import service as stock
from store_api.stock.models import Channel


@contextmanager
def outbox(enabled: bool) -> Iterator[None]:
    if enabled:
        yield
        return
    with mock.patch.object(events, "emit", lambda *_a, **_k: None):
        yield


def run(app: Any, threads: int, seconds: float) -> tuple[float, int]:
    """Operations (reservation + release) per second, and events written meanwhile."""
    policy = app.extensions["comptoir_policy"]
    session = db.new_session(app)
    with db.read(session):
        events_before = session.scalar(select(func.count()).select_from(Event)) or 0
    session.close()
    done = [0] * threads
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(threads + 1)

    def worker(i: int) -> None:
        session = db.new_session(app)
        start.wait()
        n = 0
        while time.monotonic() < stop_at:
            now = db.utcnow()
            with db.write(session):
                held = stock.reserve(
                    session,
                    sku=f"BENCH-{(i + n) % PRODUCTS:03d}",
                    quantity=1,
                    channel=Channel.WEB,
                    location=None,
                    ttl_seconds=None,
                    note=None,
                    actor="bench",
                    now=now,
                    policy=policy,
                )
            with db.write(session):
                stock.release(session, held.id, actor="bench", now=now, policy=policy)
            n += 1
        done[i] = n
        session.close()

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    began = time.monotonic()
    for t in pool:
        t.join()
    elapsed = time.monotonic() - began
    session = db.new_session(app)
    with db.read(session):
        events_after = session.scalar(select(func.count()).select_from(Event)) or 0
    session.close()
    return sum(done) / elapsed, events_after - events_before


def run_backend(backend: str, threads: int, seconds: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix=f"comptoir-outbox-{backend}-") as tmp,
        database(backend, Path(tmp)) as url,
    ):
        app, _secret = prepare(url)
        run(app, threads, 0.5)  # warm-up
        with_rates, without_rates, written = [], [], 0
        for _round in range(2):  # interleaved against machine noise
            rate, count = run(app, threads, seconds)
            with_rates.append(rate)
            written += count
            with outbox(False):
                without_rates.append(run(app, threads, seconds)[0])
        db.engine_for(app).dispose()
    with_rate, without_rate = statistics.mean(with_rates), statistics.mean(without_rates)
    return {
        "backend": backend,
        "ops_per_s_with_outbox": round(with_rate, 1),
        "ops_per_s_without_outbox": round(without_rate, 1),
        "events_per_s": round(written / (2 * seconds), 1),
        "outbox_cost": round(1 - with_rate / without_rate, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args.threads, args.seconds) for b in backends]
    print(f"\nOutbox cost — reservation+release through the service layer, {args.threads} threads")
    print(
        f"{'backend':<11} {'ops/s with':>11} {'ops/s without':>14} {'events/s':>9} "
        f"{'cost':>6} {'target':>7}"
    )
    for r in results:
        print(
            f"{r['backend']:<11} {r['ops_per_s_with_outbox']:>11} "
            f"{r['ops_per_s_without_outbox']:>14} {r['events_per_s']:>9} "
            f"{r['outbox_cost']:>6.1%} {'<=30%':>7}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "outbox.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
