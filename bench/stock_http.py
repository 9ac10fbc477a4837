"""Stock benchmark: reservation throughput through HTTP and SQL statements per operation.

For SQLite and a throwaway PostgreSQL, against gunicorn (2 gthread workers):

* reservations+releases per second next to an authenticated no-op endpoint (``/api/v1/ping``)
  measured on the same server in the same run; the ratio is what counts (target >= 0.5),
  since this machine is small and shared;
* SQL statements per reservation, per release and per 3-line order, counted with SQLAlchemy
  events (BEGIN/COMMIT excluded; targets <= 4 and <= 10).

Run with ``make bench`` (or ``python -m bench.stock_http --seconds 5 --clients 8``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from store_api import create_app, db
from store_api.catalog import service as catalog
from store_api.cli import upgrade_database
from store_api.keys import service as keys
from store_api.orders import service as orders
from store_api.sqlcount import count_statements
from store_api.stock import service as stock
from store_api.stock.models import Channel, Reason
from tests.servers import postgres_server, start_gunicorn, stop_gunicorn

PRODUCTS = 20
RESULTS = Path(__file__).parent / "results"


@contextlib.contextmanager
def database(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
    else:
        with postgres_server(workdir) as url:
            yield url


def prepare(url: str) -> tuple[Any, str]:
    """Migrate, stock PRODUCTS products generously, and return (app, webshop key)."""
    app = create_app({"DATABASE_URL": url})
    upgrade_database(app)
    policy = app.extensions["comptoir_policy"]
    now = db.utcnow()
    session = db.new_session(app)
    with db.write(session):
        for i in range(PRODUCTS):
            sku = f"BENCH-{i:03d}"
            catalog.create_product(
                session,
                {"sku": sku, "name": f"Bench {i}", "price": Decimal("10.00")},
                locations=policy.locations,
                now=now,
            )
            for loc in policy.locations:
                stock.adjust(
                    session,
                    sku=sku,
                    location=loc,
                    delta=1_000_000,
                    reason=Reason.DELIVERY,
                    actor="bench",
                    reference=None,
                    now=now,
                    policy=policy,
                )
        _key, secret = keys.create_key(session, name="bench webshop", role="webshop", now=now)
    session.close()
    return app, secret


def count_sql(app: Any) -> dict[str, int]:
    """Statements per operation at the service level, plus the HTTP request's own cost."""
    policy = app.extensions["comptoir_policy"]
    engine = db.engine_for(app)
    session = db.new_session(app)
    now = db.utcnow()
    with db.write(session):
        key, secret = keys.create_key(session, name="count", role="webshop", now=now)
    with count_statements(engine) as reserve_count, db.write(session):
        held = stock.reserve(
            session,
            sku="BENCH-000",
            quantity=1,
            channel=Channel.WEB,
            location=None,
            ttl_seconds=None,
            note=None,
            actor="bench",
            now=now,
            policy=policy,
        )
    with count_statements(engine) as release_count, db.write(session):
        stock.release(session, held.id, actor="bench", now=now, policy=policy)
    with count_statements(engine) as order_count, db.write(session):
        orders.place_order(
            session,
            lines=[orders.LineRequest(f"BENCH-00{i}", 1) for i in range(3)],
            reservation_ids=[],
            client_key_id=key.id,
            idempotency_key="count-order",
            body_hash="x",
            actor="bench",
            reference=None,
            now=now,
            policy=policy,
        )
    session.close()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    with count_statements(engine) as http_count:
        response = client.post(
            "/api/v1/reservations", json={"sku": "BENCH-001", "quantity": 1}, headers=headers
        )
    assert response.status_code == 201, response.get_data(as_text=True)
    with count_statements(engine) as ping_count:
        client.get("/api/v1/ping", headers=headers)
    return {
        "reservation": reserve_count.count,
        "release": release_count.count,
        "order_3_lines": order_count.count,
        "http_reservation_total": http_count.count,
        "http_ping_total": ping_count.count,
    }


def hammer(
    clients: int, seconds: float, make_step: Callable[[requests.Session, int], int]
) -> float:
    """Run ``clients`` threads for ``seconds``; return HTTP requests per second."""
    done = [0] * clients
    errors: list[str] = []
    stop_at = time.monotonic() + seconds
    start = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        with requests.Session() as http:
            start.wait()
            while time.monotonic() < stop_at:
                try:
                    done[i] += make_step(http, i)
                except AssertionError as exc:
                    errors.append(str(exc))
                    return

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    began = time.monotonic()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - began
    if errors:
        raise RuntimeError(f"benchmark requests failed: {errors[:3]}")
    return sum(done) / elapsed


def run_backend(backend: str, clients: int, seconds: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix=f"comptoir-bench-{backend}-") as tmp,
        database(backend, Path(tmp)) as url,
    ):
        app, secret = prepare(url)
        sql = count_sql(app)
        db.engine_for(app).dispose()
        server = start_gunicorn(url, Path(tmp) / "gunicorn.log", workers=2, threads=4)
        headers = {"Authorization": f"Bearer {secret}"}
        base = server.url

        def ping(http: requests.Session, _i: int) -> int:
            r = http.get(f"{base}/api/v1/ping", headers=headers, timeout=30)
            assert r.status_code == 200, r.text
            return 1

        def reserve_release(http: requests.Session, i: int) -> int:
            r = http.post(
                f"{base}/api/v1/reservations",
                json={"sku": f"BENCH-{i % PRODUCTS:03d}", "quantity": 1},
                headers=headers,
                timeout=30,
            )
            assert r.status_code == 201, r.text
            d = http.delete(
                f"{base}/api/v1/reservations/{r.json()['id']}", headers=headers, timeout=30
            )
            assert d.status_code == 200, d.text
            return 2

        try:
            hammer(clients, 1.0, ping)  # warm-up: workers import, pools fill
            ping_rates, stock_rates = [], []
            for _round in range(2):  # interleaved, so a noisy neighbour hits both sides
                ping_rates.append(hammer(clients, seconds, ping))
                stock_rates.append(hammer(clients, seconds, reserve_release))
        finally:
            stop_gunicorn(server)
        check = db.new_session(app)
        with db.read(check):
            drift = stock.check(check)
        check.close()
        db.engine_for(app).dispose()
    ping_rate = statistics.mean(ping_rates)
    stock_rate = statistics.mean(stock_rates)
    return {
        "backend": backend,
        "ping_requests_per_s": round(ping_rate, 1),
        "reservation_release_requests_per_s": round(stock_rate, 1),
        "reservation_release_pairs_per_s": round(stock_rate / 2, 1),
        "ratio_vs_noop": round(stock_rate / ping_rate, 3),
        "sql_statements": sql,
        "drift_after_bench": len(drift),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement round")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args.clients, args.seconds) for b in backends]
    print(f"\nStock benchmark — gunicorn 2 gthread workers x 4 threads, {args.clients} clients")
    print(f"{'backend':<11} {'no-op req/s':>12} {'resv+rel req/s':>15} {'ratio':>7} {'target':>7}")
    for r in results:
        print(
            f"{r['backend']:<11} {r['ping_requests_per_s']:>12} "
            f"{r['reservation_release_requests_per_s']:>15} {r['ratio_vs_noop']:>7} {'>=0.5':>7}"
        )
    print(
        f"\n{'backend':<11} {'SQL/reservation':>16} {'SQL/release':>12} {'SQL/3-line order':>17}"
        f" {'SQL/HTTP reserve':>17} {'SQL/HTTP ping':>14}"
    )
    for r in results:
        s = r["sql_statements"]
        print(
            f"{r['backend']:<11} {s['reservation']:>16} {s['release']:>12} {s['order_3_lines']:>17}"
            f" {s['http_reservation_total']:>17} {s['http_ping_total']:>14}"
        )
    print(
        "(targets: <= 4 per reservation, <= 10 per 3-line order; BEGIN/COMMIT not counted;"
        " the HTTP columns include the API-key lookup)"
    )
    for r in results:
        if r["drift_after_bench"]:
            print(f"DRIFT after the {r['backend']} run: {r['drift_after_bench']} counters")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stock_http.json").write_text(json.dumps(results, indent=2) + "\n")
    return 1 if any(r["drift_after_bench"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
