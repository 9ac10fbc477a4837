"""The writer: takes messages from the MQTT callbacks, commits them in batches, then acks.

Callbacks only put messages on a queue (never block, never raise). The writer commits up to
``batch_size`` messages or whatever arrived within ``batch_seconds``, and acknowledges them in
arrival order only once the transaction has committed: a crash before the ack means the broker
redelivers, and the unique ``(device_id, event_id)`` key turns the redelivery into a no-op.

Validation and the INSERTs run in a child process, one batch at a time, in order: in the same
process they would compete with paho's network thread for the GIL and halve the rate at which
messages are received. Batches are pipelined: while the child commits one, the next is already
collected and sent, so the child never waits for the bridge (``PIPELINE`` batches in flight at
most). Results come back in the order the batches went, and a batch's messages are acked only
once its result is back. The child exits when the pipe closes (bridge gone).

Every ``timer_seconds`` a *tick* goes down the same pipe (escalations, shelf vs system
comparisons): it runs between two batches, in its own transaction.

Handlers never publish: the child sends back what to publish with each result, and the bridge
publishes it (QoS 1, its own connection) before acking the batch.

Failures, so that no message can stop the others and nothing waits forever:

* A batch that fails for any reason but the database being unavailable is split in halves,
  and so on down to single messages; a message that fails alone is dead-lettered with the
  error (its own transaction), the rest is stored. The batch is then acked as a whole.
* The database being unavailable (connection refused or lost, locked, ...) is retried with
  backoff for ``retry_seconds`` at most, logged at every try; then the child gives up with
  exit code :data:`DATABASE_UNAVAILABLE` and the bridge stops with it (unacked messages stay
  with the broker for the next start).
* The child stops on SIGTERM at once (a transaction it had open is rolled back: unacked, its
  messages come back), when the pipe closes, and when the bridge process is gone (Linux
  parent-death signal, and a check of the parent's pid while it waits).
* The bridge stops its child within a few seconds in every state: pipe closed, then SIGTERM,
  then SIGKILL.
"""

from __future__ import annotations

import collections
import ctypes
import datetime as dt
import logging
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from types import FrameType
from typing import NamedTuple

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session

from iot_bridge import handlers
from iot_bridge.handlers import Outgoing
from store_api import db
from store_api.sensors import service
from store_api.sensors.service import BatchResult, InboundMessage

log = logging.getLogger(__name__)

# Batches sent to the child and not answered yet: one committing, one waiting behind it.
PIPELINE = 2
# The child's exit code when it gave up waiting for the database (EX_TEMPFAIL); the bridge
# exits with it too, so a supervisor can tell "try again later" from a crash.
DATABASE_UNAVAILABLE = 75
# At a stop, how long the child has after its pipe closed, then after SIGTERM, before SIGKILL
# (a supervisor such as honcho or systemd waits about 5 s before it SIGKILLs the bridge).
STOP_GRACE_SECONDS = 1.0


class Pending(NamedTuple):
    # A flat tuple: one is made per message in the MQTT callback, which shares the GIL with
    # paho; its first three fields go to the writer process as they are.
    topic: str
    payload: bytes
    received_at: float  # time.time(): cheaper here than a datetime, made one in the child
    mid: int
    qos: int
    generation: int  # which connection delivered it: acks only go back on that connection


class Result(NamedTuple):
    """The child's answer to a job: how many events were new, what to publish."""

    stored: int
    outgoing: list[Outgoing]


Ack = Callable[[Pending], None]
Publish = Callable[[Outgoing], None]
# A job for the child: a batch of (topic, payload, received_at) tuples, or None for a tick.
Job = list[tuple[str, bytes, float]] | None


class Writer(threading.Thread):
    def __init__(
        self,
        database_url: str,
        store: str,
        ack: Ack,
        publish: Publish = lambda _message: None,
        *,
        batch_size: int = 500,
        batch_seconds: float = 0.2,
        timer_seconds: float = 1.0,
        auto_register: bool = True,
        ignore_devices: frozenset[str] = frozenset(),
        retry_seconds: float = 300.0,
        sqlite_busy_timeout_ms: int = 10_000,
    ) -> None:
        super().__init__(name="comptoir-writer", daemon=True)
        self.database_url = database_url
        self.store = store
        self.ack = ack
        self.publish = publish
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.timer_seconds = timer_seconds
        self.auto_register = auto_register
        self.ignore_devices = ignore_devices
        self.retry_seconds = retry_seconds
        self.sqlite_busy_timeout_ms = sqlite_busy_timeout_ms
        self.inbox: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.failed = threading.Event()
        # Set once the writer process can store (or has failed): connect only then, or the
        # broker's first burst would wait unacked while it starts.
        self.ready = threading.Event()
        self.stored = 0
        # What the bridge exits with once the writer process is gone on its own (0: it was
        # stopped by a signal, DATABASE_UNAVAILABLE, or 1: it crashed).
        self.exit_code = 0
        # Called (from a writer thread) when the writer process is gone: the bridge disconnects.
        self.on_failure: Callable[[], None] = lambda: None
        self._slots = threading.Semaphore(PIPELINE)
        # Sent and not answered yet, oldest first (None: a tick).
        self._in_flight: collections.deque[list[Pending] | None] = collections.deque()
        self._jobs: Connection | None = None
        self._results: Connection | None = None
        self._child: multiprocessing.process.BaseProcess | None = None
        self._receiver: threading.Thread | None = None

    @property
    def child_pid(self) -> int | None:
        return None if self._child is None else self._child.pid

    def put(self, pending: Pending) -> None:
        """Called from the MQTT callback thread; never blocks."""
        self.inbox.put(pending)

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        context = multiprocessing.get_context("spawn")
        child_jobs, self._jobs = context.Pipe(duplex=False)
        self._results, child_results = context.Pipe(duplex=False)
        self._child = context.Process(
            target=_work,
            args=(
                child_jobs,
                child_results,
                Options(
                    self.database_url,
                    self.store,
                    self.auto_register,
                    self.ignore_devices,
                    self.retry_seconds,
                    self.sqlite_busy_timeout_ms,
                    os.getpid(),
                ),
            ),
            name="comptoir-writer",
            daemon=True,
        )
        try:
            try:
                self._child.start()
            except Exception:
                log.exception("could not start the writer process")
                self._fail()
                return
            finally:
                child_jobs.close()
                child_results.close()
            if self._wait_ready():
                self._receiver = threading.Thread(
                    target=self._receive, name="comptoir-writer-results", daemon=True
                )
                self._receiver.start()
                self._send_loop()
        finally:
            self.ready.set()
            self._stop_child()

    def _wait_ready(self) -> bool:
        """Until the child says it can store; False when stopping or when it is gone."""
        assert self._results is not None and self._child is not None
        try:
            while not self.stopping.is_set():
                if self._results.poll(0.2):
                    self._results.recv()  # the child's "ready"
                    self.ready.set()
                    return True
                if not self._child.is_alive():
                    raise EOFError
        except (EOFError, OSError):
            self._fail()
        return False

    def _send_loop(self) -> None:
        next_tick = time.monotonic() + self.timer_seconds
        # Whatever is still in the inbox at a stop is unacked: the broker sends it again.
        while not self.stopping.is_set():
            if not self._slots.acquire(timeout=0.2):
                continue  # PIPELINE jobs in flight: look at stopping again
            if self.failed.is_set() or self.stopping.is_set():
                self._slots.release()
                return
            if time.monotonic() >= next_tick:
                # Between two batches even when busy: escalations must not wait for a lull.
                next_tick = time.monotonic() + self.timer_seconds
                if not self._send(None):
                    return
                continue
            batch = self._collect(min(0.2, max(0.0, next_tick - time.monotonic())))
            if not batch:
                self._slots.release()
                continue
            if not self._send(batch):
                return

    def _stop_child(self) -> None:
        """Pipe closed (the child ends after its job), then SIGTERM, then SIGKILL.

        Nothing waits for batches in flight: the bridge has disconnected by now, so their
        acks could not be sent anyway; the broker sends them again and what was committed is
        a duplicate."""
        assert self._jobs is not None and self._results is not None and self._child is not None
        self._jobs.close()
        child = self._child
        if child.pid is None:  # never started
            self._results.close()
            return
        child.join(STOP_GRACE_SECONDS)
        if child.is_alive():
            log.warning("the writer process is still busy; sending it SIGTERM")
            child.terminate()
            child.join(STOP_GRACE_SECONDS)
        if child.is_alive():
            log.error("the writer process ignored SIGTERM; killing it")
            child.kill()
            child.join()
        if self._receiver is not None:
            self._receiver.join(STOP_GRACE_SECONDS)
        self._results.close()

    def _send(self, batch: list[Pending] | None) -> bool:
        assert self._jobs is not None
        self._in_flight.append(batch)
        try:
            self._jobs.send(None if batch is None else [p[:3] for p in batch])
        except OSError:
            self._fail()
            return False
        return True

    def _collect(self, wait: float) -> list[Pending]:
        try:
            first = self.inbox.get(timeout=wait) if wait > 0 else self.inbox.get_nowait()
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.batch_seconds
        while len(batch) < self.batch_size:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                batch.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _receive(self) -> None:
        """The results thread: publish what each job asks for, then ack its messages."""
        assert self._results is not None
        while True:
            try:
                result: Result = self._results.recv()
            except (EOFError, OSError):
                if not self.stopping.is_set():
                    self._fail()
                return
            batch = self._in_flight.popleft()
            for message in result.outgoing:
                self.publish(message)
            if batch is not None:
                self.stored += result.stored
                for pending in batch:
                    self.ack(pending)
            self._slots.release()

    def _fail(self) -> None:
        """The writer process is gone while it was needed: say why, and stop the bridge."""
        if self.failed.is_set():
            return
        self.failed.set()
        self.stopping.set()
        code = None
        if self._child is not None and self._child.pid is not None:
            # Its pipe closed because it is exiting; on a busy machine that takes a moment.
            self._child.join(5)
            code = self._child.exitcode
        if code == 0:
            log.info("the writer process was stopped; stopping")
            self.exit_code = 0
        elif code == DATABASE_UNAVAILABLE:
            log.error(
                "the database stayed unavailable for %.0f s; stopping (unacked messages stay "
                "with the broker for the next start)",
                self.retry_seconds,
            )
            self.exit_code = DATABASE_UNAVAILABLE
        else:
            log.error(
                "the writer process is gone (exit code %s); stopping (unacked messages come "
                "back at the next start)",
                code,
            )
            self.exit_code = 1
        self.ready.set()
        self.inbox = queue.SimpleQueue()
        for _ in range(PIPELINE):
            self._slots.release()
        self.on_failure()


class Options(NamedTuple):
    """What the writer process needs to know (pickled to it)."""

    database_url: str
    store: str
    auto_register: bool
    ignore_devices: frozenset[str]
    retry_seconds: float
    sqlite_busy_timeout_ms: int
    parent_pid: int


class DatabaseUnavailable(Exception):
    """The database stayed unreachable for longer than the retry budget."""


def is_outage(error: BaseException) -> bool:
    """Whether a failure is the database's (unreachable, connection lost, locked, out of
    space...) rather than a message's: those are retried, never blamed on a message."""
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(
        error,
        sa_exc.OperationalError
        | sa_exc.InterfaceError
        | sa_exc.DisconnectionError
        | sa_exc.TimeoutError,
    )


class Retry:
    """Backoff for the database being unavailable, within a time budget.

    :meth:`failed` logs the error and waits (0.1 s, doubling up to 5 s); once the database has
    been unavailable for ``budget_seconds`` in a row it raises :class:`DatabaseUnavailable`.
    :meth:`succeeded` starts the count again.
    """

    def __init__(
        self,
        budget_seconds: float,
        parent_pid: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.budget_seconds = budget_seconds
        self.parent_pid = parent_pid
        self.sleep = sleep
        self.clock = clock
        self.first_failure: float | None = None
        self.tries = 0

    def succeeded(self) -> None:
        if self.first_failure is not None:
            log.info(
                "the database is back after %.1f s and %d tries",
                self.clock() - self.first_failure,
                self.tries,
            )
        self.first_failure = None
        self.tries = 0

    def failed(self, error: BaseException, what: str) -> None:
        now = self.clock()
        if self.first_failure is None:
            self.first_failure = now
        self.tries += 1
        waited = now - self.first_failure
        if waited >= self.budget_seconds:
            log.error(
                "the database is unavailable (%s); %s; giving up after %.0f s and %d tries",
                _describe(error),
                what,
                waited,
                self.tries,
            )
            raise DatabaseUnavailable from error
        delay = min(0.1 * 2 ** (self.tries - 1), 5.0, self.budget_seconds - waited)
        log.warning(
            "the database is unavailable (%s); %s; try %d, next in %.1f s, giving up in %.0f s",
            _describe(error),
            what,
            self.tries,
            delay,
            self.budget_seconds - waited,
        )
        self._wait(delay)

    def _wait(self, seconds: float) -> None:
        """Sleep, a slice at a time: a child whose bridge is gone stops here."""
        deadline = self.clock() + seconds
        while True:
            if self.parent_pid is not None and os.getppid() != self.parent_pid:
                raise SystemExit(0)
            left = deadline - self.clock()
            if left <= 0:
                return
            self.sleep(min(left, 0.2))


def _describe(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"[:300]


def _on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # Anything the child has open is rolled back; unacked messages come back. Raised here so
    # that it also ends a wait for the database.
    raise SystemExit(0)


def _die_with_parent(parent_pid: int) -> None:
    """SIGTERM when the bridge process dies (even by SIGKILL), where Linux can say so."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            log.warning("could not ask to die with the bridge; checking its pid instead")
    if os.getppid() != parent_pid:  # it died before prctl
        raise SystemExit(0)


def _work(jobs: Connection, results: Connection, options: Options) -> None:
    """The child process: store each batch (or run each tick) it is sent, answer in order."""
    # Ctrl-C reaches the whole terminal's process group: the bridge decides when its child
    # stops. SIGTERM (also sent when the bridge dies) stops it at once.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _on_sigterm)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _die_with_parent(options.parent_pid)
    engine = db.make_engine(
        options.database_url, sqlite_busy_timeout_ms=options.sqlite_busy_timeout_ms
    )
    sessions = db.make_sessionmaker(engine)
    retry = Retry(options.retry_seconds, options.parent_pid)
    try:
        while True:  # the first connection is the slow one: not with the first batch
            try:
                with engine.connect():
                    break
            except Exception as error:
                retry.failed(error, "the bridge waits for it before connecting to the broker")
        retry.succeeded()
        results.send(None)  # ready
        while True:
            try:
                job: Job = jobs.recv()
            except (EOFError, OSError):
                return
            if job is None:
                answer = Result(0, tick(sessions(), options.store, db.utcnow()))
            else:
                messages = [
                    InboundMessage(topic, payload, dt.datetime.fromtimestamp(received, dt.UTC))
                    for topic, payload, received in job
                ]
                answer = store_messages(
                    sessions,
                    options.store,
                    messages,
                    retry,
                    options.auto_register,
                    options.ignore_devices,
                )
            try:
                results.send(answer)
            except OSError:  # the bridge was killed meanwhile; the broker will redeliver
                return
    except DatabaseUnavailable:
        raise SystemExit(DATABASE_UNAVAILABLE) from None
    finally:
        engine.dispose()


def store_messages(
    sessions: Callable[[], Session],
    store: str,
    messages: list[InboundMessage],
    retry: Retry,
    auto_register: bool = True,
    ignore_devices: frozenset[str] = frozenset(),
) -> Result:
    """Store a batch, whatever it holds: when the database is unavailable, retry (within the
    budget of ``retry``); when it fails otherwise, halve it until the message that fails is
    alone, and dead-letter that one. Chunks are stored in the batch's order."""
    stored = 0
    outgoing: list[Outgoing] = []
    chunks: collections.deque[list[InboundMessage]] = collections.deque([messages])
    while chunks:
        chunk = chunks[0]
        try:
            result, published = write(sessions(), store, chunk, auto_register, ignore_devices)
        except Exception as error:
            if is_outage(error):
                retry.failed(error, f"{len(chunk)} message(s) kept unacked")
                continue
            if len(chunk) > 1:
                if chunk is messages:
                    log.warning(
                        "a batch of %d messages failed (%s); storing it in parts to find "
                        "the message that fails",
                        len(chunk),
                        _describe(error),
                    )
                half = len(chunk) // 2
                chunks.popleft()
                chunks.extendleft([chunk[half:], chunk[:half]])
                continue
            _dead_letter_alone(sessions, chunk[0], error, retry)
            chunks.popleft()
            continue
        retry.succeeded()
        chunks.popleft()
        stored += len(result.stored)
        outgoing += published
    return Result(stored, outgoing)


def _dead_letter_alone(
    sessions: Callable[[], Session], message: InboundMessage, error: BaseException, retry: Retry
) -> None:
    """A message that fails on its own: keep it as a dead letter with the error."""
    log.error(
        "a message on %s could not be stored (%s); dead-lettered",
        message.topic,
        _describe(error),
        exc_info=error,
    )
    reason = f"could not store: {_describe(error)}"
    while True:
        session = sessions()
        try:
            with db.write(session):
                session.add(service.dead_letter(message, reason))
            retry.succeeded()
            return
        except Exception as failure:
            if is_outage(failure):
                retry.failed(failure, "a dead letter waits to be written")
                continue
            # Never seen; never let it block the others. The log keeps what the table could not.
            log.critical(
                "could not even dead-letter a message on %s (%s); dropped: %r",
                message.topic,
                _describe(failure),
                message.payload[:500],
            )
            return
        finally:
            session.close()


def write(
    session: Session,
    store: str,
    messages: list[InboundMessage],
    auto_register: bool,
    ignore_devices: frozenset[str],
) -> tuple[BatchResult, list[Outgoing]]:
    """One batch, one transaction: store, then the handlers, then commit."""
    try:
        with db.write(session):
            result = service.store_batch(
                session,
                store,
                messages,
                now=db.utcnow(),
                auto_register=auto_register,
                ignore_devices=ignore_devices,
            )
            outgoing = handlers.handle_batch(session, result.stored, result.acks)
    finally:
        session.close()
    if result.dead_letters or result.gaps:
        log.warning(
            "batch: %d stored, %d duplicates, %d dead letters, %d seq gaps",
            len(result.stored),
            result.duplicates,
            result.dead_letters,
            result.gaps,
        )
    return result, outgoing


def tick(session: Session, store: str, now: dt.datetime) -> list[Outgoing]:
    """The timer's work in its own transaction; a failure is logged and tried next tick."""
    try:
        with db.write(session):
            return handlers.tick(session, store, now)
    except Exception as error:
        if is_outage(error):  # one line a second while the database is away, not a traceback
            log.warning("timer work skipped: %s", _describe(error))
        else:
            log.exception("timer work failed; trying again at the next tick")
        return []
    finally:
        session.close()
