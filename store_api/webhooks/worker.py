"""The delivery worker: fan out, claim, POST concurrently, record each result.

No database transaction is open while a request is in flight: claiming is one short write
transaction (it leases the rows), each result is recorded in its own. A worker that dies keeps
its leases until they expire, then another worker sends those deliveries again, with the same
``webhook-id``: delivery is at least once, and receivers deduplicate on that header.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import http.client
import os
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from store_api import db
from store_api.webhooks import service
from store_api.webhooks.destinations import (
    Destination,
    DestinationPolicy,
    DestinationRefused,
    Resolver,
    vet,
)
from store_api.webhooks.secret_box import SecretBox, SecretUnreadable
from store_api.webhooks.service import Claimed, DeliveryPolicy, Outcome

# At most this much of an answer is read; none of it is kept.
_DRAIN_BYTES = 64 * 1024


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class HttpSender:
    """POSTs a message to a vetted destination; every answer or failure becomes an Outcome.

    The host is resolved once and every address checked (:mod:`.destinations`); the socket
    then connects to a vetted address while Host and TLS (SNI, certificate) use the name. No
    proxy, no redirect (an answer, not a new destination). What the delivery log keeps is
    the status code, or one short reason from a fixed list: never the receiver's body, never
    the address a name resolved to, never the system's error text.
    """

    def __init__(
        self,
        destinations: DestinationPolicy,
        resolve: Resolver = socket.getaddrinfo,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.destinations = destinations
        self.resolve = resolve
        self.tls = tls or ssl.create_default_context()

    def __call__(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> Outcome:
        started = time.monotonic()

        def elapsed() -> int:
            return round((time.monotonic() - started) * 1000)

        try:
            target = vet(url, self.destinations, self.resolve)
        except DestinationRefused as refused:
            return Outcome(None, elapsed(), error=refused.reason, permanent=refused.permanent)
        connection = self._connect(target, timeout)
        if isinstance(connection, str):
            return Outcome(None, elapsed(), error=connection)
        try:
            connection.request("POST", target.target, body=body, headers=headers)
            response = connection.getresponse()
            # Read (and drop) a little of the answer so keep-alive peers are not cut mid-send.
            response.read(_DRAIN_BYTES)
            return Outcome(
                response.status,
                elapsed(),
                retry_after_seconds=parse_retry_after(response.getheader("Retry-After")),
            )
        except TimeoutError:
            return Outcome(None, elapsed(), error="no answer in time")
        except ssl.SSLError:
            return Outcome(None, elapsed(), error="TLS error")
        except (OSError, http.client.HTTPException, ValueError):
            return Outcome(None, elapsed(), error="invalid or interrupted answer")
        finally:
            connection.close()

    def _connect(self, target: Destination, timeout: float) -> http.client.HTTPConnection | str:
        """A connection to the first vetted address that answers, or why none did."""
        reason = "could not connect"
        for family, sockaddr in target.addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(sockaddr)
                if target.scheme == "https":
                    sock = self.tls.wrap_socket(sock, server_hostname=target.host.strip("[]"))
            except ssl.SSLCertVerificationError:
                sock.close()
                return "TLS certificate not valid for this host"
            except ssl.SSLError:
                sock.close()
                return "TLS error"
            except OSError:
                # Refused, unreachable or timed out alike: the log is no port scanner.
                sock.close()
                continue
            connection = (
                http.client.HTTPSConnection(target.host, target.port, timeout=timeout)
                if target.scheme == "https"
                else http.client.HTTPConnection(target.host, target.port, timeout=timeout)
            )
            connection.sock = sock  # connected (and wrapped) already: used as is
            return connection
        return reason


Sender = Callable[[str, bytes, dict[str, str], float], Outcome]


@dataclass
class Totals:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    ignored: int = 0  # results for deliveries no longer this worker's

    def add(self, status: str | None) -> None:
        if status == service.DeliveryStatus.DELIVERED:
            self.delivered += 1
        elif status == service.DeliveryStatus.FAILED:
            self.failed += 1
        elif status == service.DeliveryStatus.PENDING:
            self.retrying += 1
        else:
            self.ignored += 1

    def __str__(self) -> str:
        text = f"{self.delivered} delivered, {self.retrying} to retry, {self.failed} failed"
        return text + (f", {self.ignored} ignored" if self.ignored else "")


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class DeliveryWorker:
    """One delivery loop; run several (threads or processes) for more throughput."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        policy: DeliveryPolicy,
        clock: Callable[[], dt.datetime],
        *,
        concurrency: int | None = None,
        worker_id: str | None = None,
        report: Callable[[str], None] | None = None,
        secret_box: SecretBox,
        sender: Sender | None = None,
        report_every_seconds: float = 1.0,
    ) -> None:
        self.sessions = sessions
        self.policy = policy
        self.clock = clock
        self.concurrency = max(1, concurrency or policy.concurrency)
        self.worker_id = worker_id or new_worker_id()
        self.report = report or (lambda _line: None)
        self.sender = sender or HttpSender(policy.destinations)
        self.secret_box = secret_box
        self.report_every_seconds = report_every_seconds
        self.totals = Totals()
        self._stop = threading.Event()
        self._stop_reason = ""
        self._reported = Totals()
        self._last_report = 0.0
        self._last_fan_out = 0.0

    def stop(self, reason: str = "asked to stop") -> None:
        """Ask the loop to finish the requests in flight and return (signal-handler safe)."""
        self._stop_reason = reason
        self._stop.set()

    def run(self, *, once: bool = False) -> Totals:
        """Deliver until stopped, or with ``once`` until nothing is due, then return."""
        session = self.sessions()
        in_flight: dict[Future[tuple[dt.datetime, Outcome]], Claimed] = {}
        try:
            with ThreadPoolExecutor(self.concurrency, thread_name_prefix="webhook") as pool:
                while not self._stop.is_set():
                    claimed = self._next_batch(session, self.concurrency - len(in_flight))
                    for item in claimed:
                        in_flight[pool.submit(self._send, item)] = item
                    if not in_flight:
                        if once:
                            break
                        self._stop.wait(self.policy.poll_seconds)
                        continue
                    done, _ = wait(
                        in_flight, timeout=self.policy.poll_seconds, return_when=FIRST_COMPLETED
                    )
                    for future in done:
                        self._record(session, in_flight.pop(future), future.result())
                    self._progress()
                # Stopping: what was sent gets recorded, so nothing is sent twice on restart.
                if self._stop.is_set():
                    self.report(f"{self._stop_reason}: finishing {len(in_flight)} in flight")
                for future in list(in_flight):
                    self._record(session, in_flight.pop(future), future.result())
        finally:
            session.close()
        self._progress(force=True)
        return self.totals

    def _next_batch(self, session: Session, free: int) -> list[Claimed]:
        if free <= 0:
            return []
        try:
            # New events are fanned out at most once per poll interval.
            if time.monotonic() - self._last_fan_out >= self.policy.poll_seconds:
                self._last_fan_out = time.monotonic()
                with db.read(session):
                    behind = service.needs_fan_out(session)
                if behind:
                    with db.write(session):
                        service.fan_out(session, self.clock())
            with db.write(session):
                return service.claim(
                    session, self.clock(), self.worker_id, free, self.policy.lease_seconds
                )
        except DBAPIError as exc:
            self.report(f"database error, retrying: {str(exc.orig).splitlines()[0]}")
            self._stop.wait(self.policy.poll_seconds)
            return []

    def _send(self, item: Claimed) -> tuple[dt.datetime, Outcome]:
        attempted_at = self.clock()
        try:
            body = service.message_body(item)
            try:
                secret = self.secret_box.open(item.secret)
            except SecretUnreadable as unreadable:
                return attempted_at, Outcome(None, 0, error=str(unreadable), permanent=True)
            # The wire timestamp is real time (receivers check it), whatever the app clock says.
            headers = service.message_headers(item, int(time.time()), body, secret)
            outcome = self.sender(item.url, body, headers, self.policy.timeout_seconds)
        except Exception as exc:  # a bug in one message must not stop the others
            outcome = Outcome(None, 0, error=f"{type(exc).__name__}: {exc}")
        return attempted_at, outcome

    def _record(self, session: Session, item: Claimed, result: tuple[dt.datetime, Outcome]) -> None:
        attempted_at, outcome = result
        try:
            with db.write(session):
                recorded = service.record_result(
                    session,
                    delivery_id=item.delivery_id,
                    worker_id=self.worker_id,
                    attempted_at=attempted_at,
                    outcome=outcome,
                    now=self.clock(),
                    policy=self.policy,
                )
        except DBAPIError as exc:
            # The lease runs out and the delivery is sent again: at least once, never lost.
            self.report(f"could not record delivery {item.delivery_id}: {exc.orig}")
            return
        self.totals.add(recorded.status if recorded else None)
        if recorded and recorded.disabled_reason:
            self.report(
                f"subscription {item.subscription_id} ({item.url}) disabled: "
                f"{recorded.disabled_reason}"
            )

    def _progress(self, *, force: bool = False) -> None:
        """One line per batch of results, at most every ``report_every_seconds``."""
        now = time.monotonic()
        if self.totals == self._reported:
            return
        if not force and now - self._last_report < self.report_every_seconds:
            return
        self.report(f"webhooks: {self.totals}")
        self._reported = Totals(**vars(self.totals))
        self._last_report = now
