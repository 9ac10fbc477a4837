"""The reminder worker: plan from new events, claim due messages, send them, record.

No database transaction is open while a message is on the wire. One loop round:

    plan (write)  ->  claim (write)  ->  prepare (write)  ->  send (SMTP/SMS)  ->  record (write)

Several workers may run at once (leases keep them apart). A worker killed after sending and
before recording leaves the messages leased; when the lease runs out they are sent again
with the same Message-ID (e-mail) or reference (SMS): at least once, deduplicated by the
receiver on that key.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from store_api import db
from store_api.reminders import delivery, planner
from store_api.reminders.delivery import DeliveryPolicy, Result
from store_api.reminders.transport import Mailer, Outgoing, SendError, SmsProvider


@dataclass
class Totals:
    planned: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.planned} planned, {self.sent} sent, {self.retrying} to retry, "
            f"{self.failed} failed"
        )


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class ReminderWorker:
    def __init__(
        self,
        sessions: Callable[[], Session],
        policy: DeliveryPolicy,
        clock: Callable[[], dt.datetime],
        *,
        mailers: Callable[[], Mailer] | None,
        sms: SmsProvider | None = None,
        batch: int = 50,
        concurrency: int = 1,
        poll_seconds: float = 2.0,
        report: Callable[[str], None] | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock
        self.mailers = mailers
        self.sms = sms
        self.batch = max(1, batch)
        self.concurrency = max(1, concurrency)
        self.poll_seconds = poll_seconds
        self.report = report or (lambda _line: None)
        self.worker_id = worker_id or new_worker_id()
        self.totals = Totals()
        self._stop = threading.Event()
        self._local = threading.local()
        self._opened: list[Mailer] = []
        self._opened_lock = threading.Lock()

    def stop(self) -> None:
        """Finish the batch in flight (it gets recorded), then return."""
        self._stop.set()

    def run(self, *, once: bool = False) -> Totals:
        """Work until stopped, or with ``once`` until nothing is due now.

        Pipelined: while one batch is on the wire (sending threads), the next one is claimed
        and prepared; a batch is recorded once all its messages have an answer.
        """
        session = self.sessions()
        in_flight: list[Future[Result]] = []
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="reminder") as pool:
                while not self._stop.is_set():
                    try:
                        ready = self._next_batch(session)
                        if in_flight:
                            self._record(session, [f.result() for f in in_flight])
                            in_flight = []
                    except DBAPIError as exc:
                        # Unrecorded messages keep their lease and are sent again after it.
                        self.report(f"database error, retrying: {str(exc.orig).splitlines()[0]}")
                        in_flight, ready = [], []
                    in_flight = [pool.submit(self._send, out) for out in ready]
                    if not in_flight:
                        if once:
                            break
                        self._stop.wait(self.poll_seconds)
                # Stopping: what was sent gets recorded, so nothing is sent twice on restart.
                if in_flight:
                    self._record(session, [f.result() for f in in_flight])
        finally:
            session.close()
            for mailer in self._opened:
                mailer.close()
        return self.totals

    def _next_batch(self, session: Session) -> list[Outgoing]:
        """Plan from new events, claim due messages, decide which may go now."""
        while True:
            with db.write(session):
                plan = planner.plan_new_events(session, self.clock(), self.policy.planning)
            self.totals.planned += plan.planned
            if not plan.more:
                break
        ready: list[Outgoing] = []
        # A batch where nothing may go yet (quiet hours, cap...) is decided; claim the next.
        while not ready:
            with db.write(session):
                ids = delivery.claim(
                    session, self.clock(), self.worker_id, self.batch, self.policy.lease_seconds
                )
            if not ids:
                break
            with db.write(session):
                ready = delivery.prepare(session, ids, self.clock(), self.worker_id, self.policy)
        return ready

    def _record(self, session: Session, results: list[Result]) -> None:
        with db.write(session):
            delivery.record(session, results, self.clock(), self.worker_id, self.policy)
        for result in results:
            if result.sent:
                self.totals.sent += 1
            elif result.permanent:
                self.totals.failed += 1
            else:
                self.totals.retrying += 1
        self.report(f"reminders: {self.totals}")

    def _mailer(self) -> Mailer | None:
        """One SMTP connection per sending thread, kept open between batches."""
        if self.mailers is None:
            return None
        mailer: Mailer | None = getattr(self._local, "mailer", None)
        if mailer is None:
            mailer = self.mailers()
            self._local.mailer = mailer
            with self._opened_lock:
                self._opened.append(mailer)
        return mailer

    def _send(self, out: Outgoing) -> Result:
        try:
            if out.channel == "email":
                mailer = self._mailer()
                if mailer is None:
                    raise SendError("COMPTOIR_SMTP_URL is not set.")
                mailer.send(out)
            else:
                if self.sms is None:
                    raise SendError("COMPTOIR_SMS_URL is not set.")
                self.sms.send(out.recipient, out.body, out.message_id.strip("<>"))
        except SendError as exc:
            return Result(out.pk, exc.message, exc.permanent)
        except Exception as exc:  # a bug in one message must not stop the others
            return Result(out.pk, f"{type(exc).__name__}: {exc}")
        return Result(out.pk)
