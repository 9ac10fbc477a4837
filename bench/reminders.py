"""Reminder throughput: the worker's messages per second vs smtplib in a bare loop.

Both send the same number of messages to the same local SMTP server (aiosmtpd on 127.0.0.1)
in the same run. The baseline opens one connection and calls ``send_message`` in a loop with
messages built beforehand: the cost of SMTP alone. The worker does everything a real reminder
needs: plans the messages from the back-in-stock event, leases them, checks consent, quiet
hours, the daily cap and availability, renders the French template, sends, and records each
result. Target: ratio >= 0.5, on SQLite and on a throwaway PostgreSQL.

Run with ``make bench`` (or ``python -m bench.reminders --messages 500 --backend sqlite``).
"""

from __future__ import annotations

import argparse
import json
import smtplib
import statistics
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from bench.stock_http import RESULTS, database
from store_api import create_app, db
from store_api.catalog import service as catalog
from store_api.cli import upgrade_database
from store_api.customers import service as customers
from store_api.reminders.cli import build_worker
from store_api.reminders.transport import Outgoing, email_message
from store_api.stock import service as stock
from store_api.stock.models import Reason
from tests.servers import free_port

ROUNDS = 5


class Counter:
    def __init__(self) -> None:
        self.received = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.received += 1
        return "250 OK"


def baseline(port: int, messages: int) -> float:
    """Messages per second: smtplib, one connection, the same kind of message."""
    prepared = [
        email_message(
            Outgoing(
                pk=n,
                channel="email",
                recipient=f"client{n}@example.fr",
                recipient_name=f"Client {n}",
                message_id=f"<bench.{n}@comptoir.example>",
                subject="Lave-linge Bosch est de retour en stock",
                body="Bonjour Client,\n\nBonne nouvelle : le lave-linge est de retour.\n" * 3,
            ),
            "Comptoir <boutique@comptoir.example>",
        )
        for n in range(messages)
    ]
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for message in prepared:
            smtp.send_message(message)
    return messages / (time.perf_counter() - started)


def app_for(url: str, smtp_url: str, instance: str) -> Any:
    app = create_app(
        {
            "DATABASE_URL": url,
            "SMTP_URL": smtp_url,
            "REMINDER_QUIET_HOURS": "off",
            "REMINDER_BATCH": 100,
        }
    )
    app.instance_path = instance
    upgrade_database(app)
    return app


def shop(app: Any, messages: int, round_: int) -> None:
    """``messages`` customers wait for a product that comes back: that many reminders due."""
    policy = app.extensions["comptoir_policy"]
    now = db.utcnow()
    session = db.new_session(app)
    sku = f"LL-BENCH-{round_}"
    with db.write(session):
        catalog.create_product(
            session,
            {"sku": sku, "name": "Lave-linge Bosch", "price": Decimal("749.00")},
            locations=policy.locations,
            now=now,
        )
        for n in range(messages):
            customer = customers.create_customer(
                session,
                name=f"Client {n}",
                email=f"r{round_}.client{n}@example.fr",
                phone=None,
                consents=[customers.ConsentInput("service", True, "webshop")],
                actor="bench",
                now=now,
            )
            customers.add_stock_alert(
                session, customer.id, sku=sku, channel="web", actor="bench", now=now
            )
        stock.adjust(
            session,
            sku=sku,
            location="backroom",
            delta=5,
            reason=Reason.DELIVERY,
            actor="bench",
            reference=None,
            now=now,
            policy=policy,
        )
    session.close()


def _timed(work: Any) -> tuple[float, float, Any]:
    """(wall seconds, CPU seconds of this process, result) of ``work()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = work()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def run_backend(backend: str, messages: int, rounds: int) -> dict[str, Any]:
    """Each round: smtplib loop, the worker, smtplib loop again. The worker is compared with
    the mean of the two loops around it: on a shared machine the load moves within seconds.
    CPU time per message (this process: client and server) is the load-insensitive figure."""
    counter = Counter()
    port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    ratios: list[float] = []
    bare: list[float] = []
    worker_rates: list[float] = []
    cpu_bare: list[float] = []
    cpu_worker: list[float] = []
    sent = 0
    try:
        with (
            tempfile.TemporaryDirectory(prefix=f"comptoir-bench-reminders-{backend}-") as tmp,
            database(backend, Path(tmp)) as url,
        ):
            app = app_for(url, f"smtp://127.0.0.1:{port}", tmp)
            for round_ in range(rounds):
                shop(app, messages, round_)
                wall_a, cpu_a, _ = _timed(lambda: baseline(port, messages))
                worker = build_worker(app, report=lambda _line: None)
                wall_w, cpu_w, totals = _timed(lambda w=worker: w.run(once=True))
                wall_b, cpu_b, _ = _timed(lambda: baseline(port, messages))
                loop_rate = messages / ((wall_a + wall_b) / 2)
                rate = totals.sent / wall_w
                bare.append(loop_rate)
                worker_rates.append(rate)
                ratios.append(rate / loop_rate)
                cpu_bare.append((cpu_a + cpu_b) / 2 / messages * 1000)
                cpu_worker.append(cpu_w / max(totals.sent, 1) * 1000)
                sent += totals.sent
            db.engine_for(app).dispose()
    finally:
        controller.stop()
    ratios.sort()
    return {
        "backend": backend,
        "messages": messages,
        "rounds": rounds,
        "smtplib_loop_per_s": round(statistics.median(bare), 1),
        "reminders_per_s": round(statistics.median(worker_rates), 1),
        "ratio": round(statistics.median(ratios), 2),
        "ratio_range": [round(ratios[0], 2), round(ratios[-1], 2)],
        "cpu_ms_per_message_smtplib": round(statistics.median(cpu_bare), 2),
        "cpu_ms_per_message_worker": round(statistics.median(cpu_worker), 2),
        "sent": sent,
        "expected": messages * rounds,
        "received": counter.received,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args.messages, args.rounds) for b in backends]
    print(
        f"\nReminder benchmark — {args.messages} reminders to aiosmtpd on 127.0.0.1, "
        f"median of {args.rounds} rounds"
    )
    print(
        f"{'backend':<11} {'smtplib msg/s':>14} {'reminders/s':>12} {'ratio':>7} "
        f"{'range':>11} {'target':>7} {'CPU ms/msg loop':>16} {'worker':>7}"
    )
    for r in results:
        low, high = r["ratio_range"]
        print(
            f"{r['backend']:<11} {r['smtplib_loop_per_s']:>14} {r['reminders_per_s']:>12} "
            f"{r['ratio']:>7} {f'{low}-{high}':>11} {'>=0.5':>7} "
            f"{r['cpu_ms_per_message_smtplib']:>16} {r['cpu_ms_per_message_worker']:>7}"
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "reminders.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0 if all(r["sent"] == r["expected"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
