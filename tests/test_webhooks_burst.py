"""The webhook must-show, end to end: gunicorn takes the writes, ``flask webhooks deliver``
runs as a separate process, a loopback receiver checks what arrives.

* 1,000 stock changes across 20 products; the receiver answers 500 to the first 3 attempts
  of every 10th event; mid-way a second worker starts and the first one is stopped (SIGKILL,
  or SIGTERM). Every event arrives, signed, in order per product; exactly once among the 2xx
  answers, except that a SIGKILL between the receiver's 2xx and the worker recording it
  re-sends those few deliveries, with the same webhook-id (integrators dedupe on it).
* gunicorn killed with SIGKILL right after writes were acknowledged: nothing is lost.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from store_api.keys.models import Role
from tests.conftest import Keys, LiveServer
from tests.fixtures.shop import add_product
from tests.fixtures.webhook_receiver import Receipt, Receiver
from tests.test_webhooks import events_in_db, first_receipts_in_order, subscribe, verify

pytestmark = pytest.mark.http

ROOT = Path(__file__).resolve().parents[1]
PRODUCTS = [f"BURST-{i:02d}" for i in range(20)]
CHANGES = 1000
CONCURRENCY = 8
WORKER_ENV = {
    "COMPTOIR_WEBHOOK_RETRY_BASE_SECONDS": "0.05",
    "COMPTOIR_WEBHOOK_RETRY_MAX_SECONDS": "0.5",
    # A killed worker's deliveries are taken over this soon.
    "COMPTOIR_WEBHOOK_LEASE_SECONDS": "3",
    "COMPTOIR_WEBHOOK_TIMEOUT_SECONDS": "2",
    "COMPTOIR_WEBHOOK_POLL_SECONDS": "0.05",
    "COMPTOIR_WEBHOOK_CONCURRENCY": str(CONCURRENCY),
    "COMPTOIR_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.1/32",
    # The API seals signing secrets with it, the worker opens them with it.
    "COMPTOIR_SECRET_KEY": "burst-" + "s" * 40,
}
# Give up when nothing moved for this long (a loaded machine is slow, not stuck), or after
# STALL_CAP_SECONDS in all.
STALL_SECONDS = 45
STALL_CAP_SECONDS = 600


class WorkerProcess:
    """``flask --app store_api webhooks deliver`` in its own process, output in a log file."""

    def __init__(self, database_url: str, log: Path, *args: str) -> None:
        self.log = log
        env = {**os.environ, "COMPTOIR_DATABASE_URL": database_url, **WORKER_ENV}
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "store_api", "webhooks", "deliver", *args],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def settings() -> dict[str, Any]:
    # The receiver listens on loopback, which only this setting allows.
    return {
        "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"],
        "SECRET_KEY": WORKER_ENV["COMPTOIR_SECRET_KEY"],
    }


@pytest.fixture
def workers(migrated: str, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    started: list[WorkerProcess] = []

    def start(*args: str) -> WorkerProcess:
        worker = WorkerProcess(migrated, tmp_path / "worker.log", *args)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.stop(signal.SIGKILL)


def _adjust(server: LiveServer, keys: Keys, i: int) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/stock/adjustments",
        json={
            "sku": PRODUCTS[i % len(PRODUCTS)],
            "location": "floor",
            "delta": 1,
            "reason": "delivery",
            "reference": f"burst-{i}",
        },
        headers=keys.headers(Role.SELLER),
        timeout=30,
    )


def _wait_until(
    condition: Callable[[], bool],
    what: str,
    log: Callable[[], str],
    progress: Callable[[], int] = lambda: 0,
) -> None:
    """Wait for ``condition``; fail once ``progress()`` stopped growing for STALL_SECONDS."""
    start = time.monotonic()
    seen, moved = progress(), start
    while not condition():
        now, current = time.monotonic(), progress()
        if current != seen:
            seen, moved = current, now
        if now - moved > STALL_SECONDS or now - start > STALL_CAP_SECONDS:
            raise AssertionError(f"timed out waiting for {what}\n{log()[-3000:]}")
        time.sleep(0.05)


def _shop(app: Flask, client: FlaskClient, keys: Keys, receiver: Receiver) -> tuple[str, int]:
    for sku in PRODUCTS:
        add_product(app, sku)
    last_before = events_in_db(app)[-1].seq
    return subscribe(client, keys, receiver.url)["secret"], last_before


def _check_signed_and_ordered(receipts: list[Receipt], secret: str) -> None:
    """Signed; per product, an event is first sent only after the previous one got its 2xx."""
    assert all(verify(secret, r.headers, r.body) for r in receipts)
    first_sent: dict[int, int] = {}
    first_ok: dict[int, int] = {}
    for i, r in enumerate(receipts):
        first_sent.setdefault(r.message["seq"], i)
        if r.ok:
            first_ok.setdefault(r.message["seq"], i)
    for sku, seqs in first_receipts_in_order(receipts).items():
        assert seqs == sorted(seqs), f"{sku} out of order"
        for earlier, later in itertools.pairwise(seqs):
            assert first_ok[earlier] < first_sent[later], f"{sku}: {later} before {earlier}"


@pytest.mark.parametrize("stop_signal", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
def test_a_burst_of_1000_changes_reaches_the_receiver_once_each_in_order(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    live_server: LiveServer,
    workers: Callable[..., WorkerProcess],
    stop_signal: signal.Signals,
) -> None:
    # The first 3 attempts of every 10th event get a 500.
    with Receiver(lambda m, nth: 500 if m["seq"] % 10 == 0 and nth <= 3 else 200) as receiver:
        secret, last_before = _shop(app, client, keys, receiver)
        first = workers()
        with ThreadPoolExecutor(max_workers=8) as pool:
            burst = pool.map(lambda i: _adjust(live_server, keys, i), range(CHANGES))

            _wait_until(
                lambda: len({r.webhook_id for r in receiver.delivered()}) >= 200,
                "the first 200 deliveries",
                first.output,
                lambda: len(receiver.delivered()),
            )
            second = workers()  # two workers at once for a while, then the first one stops
            exit_code = first.stop(stop_signal)
            statuses = Counter(r.status_code for r in burst)
        expected = {str(e.id) for e in events_in_db(app) if e.seq > last_before}
        _wait_until(
            lambda: expected <= {r.webhook_id for r in receiver.delivered()},
            "every event delivered",
            second.output,
            lambda: len(receiver.delivered()),
        )
        assert second.stop(signal.SIGTERM) == 0, second.output()
        receipts = receiver.snapshot()

    assert statuses == {201: CHANGES}
    assert len(expected) >= CHANGES
    delivered = [r for r in receipts if r.ok]
    assert {r.webhook_id for r in receipts} == expected
    _check_signed_and_ordered(receipts, secret)
    tenth = {r.webhook_id for r in receipts if r.message["seq"] % 10 == 0}
    assert sum(r.status == 500 for r in receipts) == 3 * len(tenth)
    duplicates = len(delivered) - len({r.webhook_id for r in delivered})
    if stop_signal == signal.SIGTERM:
        assert exit_code == 0, first.output()
        assert "stopped" in first.output()
        assert duplicates == 0
    else:
        assert exit_code == -signal.SIGKILL
        # Only what was in flight when the worker died can go out twice, as the same message.
        assert duplicates <= CONCURRENCY
        by_id: dict[str, Any] = {}
        for r in delivered:
            assert by_id.setdefault(r.webhook_id, r.message) == r.message


def _gunicorn_pids(server: LiveServer) -> list[int]:
    master = server.process.pid
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children] + [master]


def test_killing_the_server_after_acknowledged_writes_loses_no_event(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    live_server: LiveServer,
    workers: Callable[..., WorkerProcess],
) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()
    with Receiver() as receiver:
        secret, last_before = _shop(app, client, keys, receiver)
        pids = _gunicorn_pids(live_server)

        def write(i: int) -> None:
            try:
                response = _adjust(live_server, keys, i)
            except requests.RequestException:
                return  # the server died under this one: committed or not, both are fine
            if response.status_code == 201:
                with lock:
                    acknowledged.append(f"burst-{i}")
                    if len(acknowledged) == 150:
                        for pid in pids:  # SIGKILL the whole server, requests in flight
                            os.kill(pid, signal.SIGKILL)

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(write, range(300)))
        live_server.process.wait(timeout=10)

        worker = workers("--once")
        assert worker.process.wait(timeout=STALL_CAP_SECONDS) == 0, worker.output()
        receipts = receiver.snapshot()

    committed = [e for e in events_in_db(app) if e.seq > last_before]
    assert len(acknowledged) >= 150
    assert sorted(r.webhook_id for r in receipts) == sorted(str(e.id) for e in committed)
    references = {
        r.message["data"].get("reference") for r in receipts if r.message["type"] == "stock.changed"
    }
    assert set(acknowledged) <= references
    _check_signed_and_ordered(receipts, secret)
