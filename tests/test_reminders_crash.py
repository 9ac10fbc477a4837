"""The crash test: 500 reminders due, the worker SIGKILLed twice between sending and recording.

``flask reminders deliver`` runs as its own process against a real SMTP server on 127.0.0.1.
The server kills the worker (SIGKILL) while it is handing over a message, after accepting it
and before the worker hears the 250: that batch is sent but not recorded. A new worker takes
the messages over when their lease runs out and sends them again with the same Message-ID.
Every reminder arrives; after Message-ID dedupe at the receiver, none arrives twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from store_api import db
from store_api.customers import service as customers
from store_api.reminders.models import MessageStatus, ReminderMessage
from store_api.stock import service as stock
from store_api.stock.models import Reason
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.fixtures.smtp import Inbox, smtp_server

ROOT = Path(__file__).resolve().parents[1]
SKU = "LL-BOS-WGG244-BL"
CUSTOMERS = 500
KILL_AT = (120, 300)  # messages received when the first and the second worker are killed
DEADLINE_SECONDS = 120


def _worker(database_url: str, smtp_url: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "COMPTOIR_DATABASE_URL": database_url,
        "COMPTOIR_SMTP_URL": smtp_url,
        "COMPTOIR_REMINDER_QUIET_HOURS": "off",  # real time here: the test may run at night
        "COMPTOIR_REMINDER_LEASE_SECONDS": "2",
        "COMPTOIR_REMINDER_POLL_SECONDS": "0.1",
        "COMPTOIR_REMINDER_RETRY_BASE_SECONDS": "0.2",
        "COMPTOIR_REMINDER_BATCH": "50",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "store_api", "reminders", "deliver"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _due_reminders(app: Flask, clock: FrozenClock) -> None:
    """500 customers wait for a washing machine; it comes back: 500 reminders are due."""
    add_product(app, SKU, {}, name="Lave-linge Bosch Serie 6")
    policy = app.extensions["comptoir_policy"]
    session = db.new_session(app)
    with db.write(session):
        for n in range(CUSTOMERS):
            customer = customers.create_customer(
                session,
                name=f"Client {n}",
                email=f"client{n}@example.fr",
                phone=None,
                consents=[customers.ConsentInput("service", True, "webshop")],
                actor="test",
                now=clock(),
            )
            customers.add_stock_alert(
                session, customer.id, sku=SKU, channel="web", actor="test", now=clock()
            )
        stock.adjust(
            session,
            sku=SKU,
            location="backroom",
            delta=3,
            reason=Reason.DELIVERY,
            actor="test",
            reference=None,
            now=clock(),
            policy=policy,
        )
    session.close()


def _sent(app: Flask) -> int:
    session = db.new_session(app)
    with db.read(session):
        count = session.scalar(
            select(func.count()).where(ReminderMessage.status == MessageStatus.SENT.value)
        )
    session.close()
    return int(count or 0)


def _wait(condition: object, what: str, log: Path) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def test_two_sigkills_between_sending_and_recording_lose_nothing_and_send_nothing_twice(
    app: Flask, migrated: str, clock: FrozenClock, tmp_path: Path
) -> None:
    _due_reminders(app, clock)
    log = tmp_path / "worker.log"
    killed: list[int] = []
    victim: dict[str, subprocess.Popen[bytes]] = {}
    lock = threading.Lock()

    def kill_midway(inbox: Inbox) -> None:
        # Runs in the SMTP server before it answers 250: the worker never hears it.
        received = len(inbox.messages)
        with lock:
            if len(killed) < len(KILL_AT) and received >= KILL_AT[len(killed)]:
                process = victim["worker"]
                os.kill(process.pid, signal.SIGKILL)
                killed.append(received)

    with smtp_server() as (inbox, smtp_url):
        inbox.on_message = lambda _message: kill_midway(inbox)
        for round_ in range(len(KILL_AT) + 1):
            victim["worker"] = _worker(migrated, smtp_url, log)
            if round_ < len(KILL_AT):
                _wait(lambda r=round_: len(killed) > r, f"kill #{round_ + 1}", log)
                assert victim["worker"].wait(timeout=20) == -signal.SIGKILL
        _wait(lambda: _sent(app) == CUSTOMERS, "every reminder recorded as sent", log)
        victim["worker"].send_signal(signal.SIGTERM)
        assert victim["worker"].wait(timeout=30) == 0, log.read_text()[-3000:]
        received = list(inbox.messages)

    unique = {str(m["Message-ID"]): m for m in received}
    per_recipient = Counter(str(m["To"]) for m in unique.values())
    assert len(killed) == 2
    assert len(unique) == CUSTOMERS
    assert set(per_recipient.values()) == {1}
    # The killed batches really were sent twice on the wire: the dedupe key did its job.
    assert len(received) > CUSTOMERS
    assert {str(m["Subject"]) for m in unique.values()} == {
        "Lave-linge Bosch Serie 6 est de retour en stock"
    }
