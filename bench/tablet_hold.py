"""Tablet hold benchmark: from the HTTP request of a hold to its confirmed answer.

For SQLite and a throwaway PostgreSQL, against gunicorn as served (2 gthread workers, the
default threads): a paired tablet (its own seller key, over a keep-alive connection as a
browser keeps one) sends holds exactly as the app does (``POST /api/v1/reservations`` with a
note and a fresh ``Idempotency-Key``), one after the other, interleaved with the no-op
``GET /api/v1/ping`` measured in the same run as the baseline. Each hold is released
afterwards (not timed). Reported: p50/p95/max of the hold, of a replayed hold (same key
again: the answer kept), of the same hold without a key, and of the ping; once with the tablet
alone and once while four other tablets each hold and release a unit every half second (8
holds a second, far above a shop floor). Target: hold p95 under 300 ms.

The tablet app may extend this to measure from the tap in the browser (Playwright); this
part is the server's share.

Run with ``make bench`` (or ``python -m bench.tablet_hold --backend sqlite --holds 100``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.stock_http import PRODUCTS, RESULTS, database, prepare
from store_api import db
from store_api.stock import service as stock
from store_api.tablets import service as tablets
from store_api.tablets.routes import pairing_secret
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

TARGET_P95_MS = 300.0
BUSY_TABLETS = 4
BUSY_EVERY = 0.5  # seconds between two holds of a busy tablet


def pair_tablets(app: Any, count: int) -> list[str]:
    """``count`` tablets paired through the pairing service; their keys."""
    secret = pairing_secret(app)
    session = db.new_session(app)
    found = []
    for _ in range(count):
        with db.write(session):
            made = tablets.create_code(
                session, name=None, created_by="bench", secret=secret, now=db.utcnow()
            )
        with db.write(session):
            paired = tablets.pair(
                session,
                code=made.code,
                device="bench",
                address="127.0.0.1",
                secret=secret,
                now=db.utcnow(),
                limits=tablets.PairingLimits(),
            )
        assert paired is not None
        found.append(paired.secret)
    session.close()
    return found


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(values), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "max_ms": round(max(values), 1),
    }


def timed(call: Callable[[], requests.Response], expected: int) -> tuple[float, requests.Response]:
    began = time.perf_counter()
    response = call()
    took = (time.perf_counter() - began) * 1000
    assert response.status_code == expected, response.text
    return took, response


def measure(server: LiveServer, key: str, holds: int) -> dict[str, list[float]]:
    """Sequential taps of one tablet: hold, replay, ping, in turn; the hold is then released."""
    headers = {"Authorization": f"Bearer {key}"}
    times: dict[str, list[float]] = {"hold": [], "replay": [], "hold_without_key": [], "ping": []}
    with requests.Session() as http:
        for i in range(holds):
            tap = {"Idempotency-Key": str(uuid.uuid4()), **headers}
            body = {"sku": f"BENCH-{i % PRODUCTS:03d}", "quantity": 1, "note": f"Client {i}"}

            def hold(tap: dict[str, str] = tap, body: dict[str, Any] = body) -> requests.Response:
                return http.post(
                    f"{server.url}/api/v1/reservations", json=body, headers=tap, timeout=30
                )

            took, answer = timed(hold, 201)
            times["hold"].append(took)
            took, replayed = timed(hold, 201)
            assert replayed.headers.get("Idempotent-Replayed") == "true"
            times["replay"].append(took)
            took, plain = timed(
                lambda body=body: http.post(  # type: ignore[misc]
                    f"{server.url}/api/v1/reservations", json=body, headers=headers, timeout=30
                ),
                201,
            )
            times["hold_without_key"].append(took)
            took, _ = timed(
                lambda: http.get(f"{server.url}/api/v1/ping", headers=headers, timeout=30), 200
            )
            times["ping"].append(took)
            for held in (answer, plain):
                http.delete(
                    f"{server.url}/api/v1/reservations/{held.json()['id']}",
                    headers=headers,
                    timeout=30,
                ).raise_for_status()
    return times


def busy(server: LiveServer, keys: list[str], stop: threading.Event) -> list[threading.Thread]:
    """Other tablets, each holding and releasing a unit every BUSY_EVERY seconds.

    Far more than a shop floor does (4 tablets: 8 holds a second), yet a tap's latency, not
    the server's throughput at saturation (bench/stock_http.py measures that).
    """

    def run(i: int, key: str) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        with requests.Session() as http:
            n = 0
            while not stop.wait(BUSY_EVERY):
                n += 1
                held = http.post(
                    f"{server.url}/api/v1/reservations",
                    json={"sku": f"BENCH-{(i * 7 + n) % PRODUCTS:03d}", "quantity": 1},
                    headers={"Idempotency-Key": f"busy-{i}-{n}", **headers},
                    timeout=30,
                )
                if held.status_code == 201:
                    http.delete(
                        f"{server.url}/api/v1/reservations/{held.json()['id']}",
                        headers=headers,
                        timeout=30,
                    )

    threads = [threading.Thread(target=run, args=(i, k), daemon=True) for i, k in enumerate(keys)]
    for thread in threads:
        thread.start()
    return threads


def run_backend(backend: str, holds: int) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix=f"comptoir-bench-{backend}-") as tmp,
        database(backend, Path(tmp)) as url,
    ):
        app, _webshop = prepare(url)
        app.instance_path = tmp
        keys = pair_tablets(app, 1 + BUSY_TABLETS)
        db.engine_for(app).dispose()
        server = start_gunicorn(url, Path(tmp) / "gunicorn.log", workers=2, threads=16)
        try:
            measure(server, keys[0], 20)  # warm-up: workers import, pools fill
            alone = measure(server, keys[0], holds)
            stop = threading.Event()
            threads = busy(server, keys[1:], stop)
            try:
                loaded = measure(server, keys[0], holds)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=30)
        finally:
            stop_gunicorn(server)
        check = db.new_session(app)
        with db.read(check):
            drift = stock.check(check)
        check.close()
        db.engine_for(app).dispose()
    result: dict[str, Any] = {"backend": backend, "holds": holds, "drift_after_bench": len(drift)}
    for label, times in (("alone", alone), (f"with_{BUSY_TABLETS}_busy_tablets", loaded)):
        result[label] = {name: summary(values) for name, values in times.items()}
        result[label]["hold_p95_vs_ping_p95"] = round(
            result[label]["hold"]["p95_ms"] / result[label]["ping"]["p95_ms"], 2
        )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds", type=int, default=200, help="timed holds per situation")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args.holds) for b in backends]
    print(f"\nTablet hold — gunicorn 2 gthread workers, {args.holds} sequential taps per row")
    print(
        f"{'backend':<11} {'situation':<22} {'hold p50/p95/max ms':>22} "
        f"{'replay p95':>11} {'no key p95':>11} {'ping p50/p95 ms':>16} {'hold/ping p95':>14} "
        f"{'target':>8}"
    )
    failed = False
    for r in results:
        for label in ("alone", f"with_{BUSY_TABLETS}_busy_tablets"):
            row = r[label]
            hold, ping = row["hold"], row["ping"]
            ok = hold["p95_ms"] < TARGET_P95_MS
            failed |= not ok
            print(
                f"{r['backend']:<11} {label:<22} "
                f"{hold['p50_ms']:>7}/{hold['p95_ms']:>6}/{hold['max_ms']:>7} "
                f"{row['replay']['p95_ms']:>11} {row['hold_without_key']['p95_ms']:>11} "
                f"{ping['p50_ms']:>7}/{ping['p95_ms']:>7} "
                f"{row['hold_p95_vs_ping_p95']:>14} {'<300' if ok else 'MISSED':>8}"
            )
        if r["drift_after_bench"]:
            print(f"DRIFT after the {r['backend']} run: {r['drift_after_bench']} counters")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tablet_hold.json").write_text(json.dumps(results, indent=2) + "\n")
    return 1 if failed or any(r["drift_after_bench"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())
