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
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import multiprocessing
import queue
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import NamedTuple

from sqlalchemy.orm import Session

from iot_bridge import handlers
from iot_bridge.handlers import Outgoing
from store_api import db
from store_api.sensors import service
from store_api.sensors.service import BatchResult, InboundMessage

log = logging.getLogger(__name__)

# Batches sent to the child and not answered yet: one committing, one waiting behind it.
PIPELINE = 2


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
        self.inbox: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.failed = threading.Event()
        # Set once the writer process can store (or has failed): connect only then, or the
        # broker's first burst would wait unacked while it starts.
        self.ready = threading.Event()
        self.stored = 0
        # Called (from a writer thread) when the writer process is gone: the bridge disconnects.
        self.on_failure: Callable[[], None] = lambda: None
        self._slots = threading.Semaphore(PIPELINE)
        # Sent and not answered yet, oldest first (None: a tick).
        self._in_flight: collections.deque[list[Pending] | None] = collections.deque()
        self._jobs: Connection | None = None
        self._results: Connection | None = None
        self._child: multiprocessing.process.BaseProcess | None = None
        self._receiver: threading.Thread | None = None

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
                self.database_url,
                self.store,
                self.auto_register,
                self.ignore_devices,
            ),
            name="comptoir-writer",
            daemon=True,
        )
        self._child.start()
        child_jobs.close()
        child_results.close()
        try:
            while not self.stopping.is_set():
                if self._results.poll(0.2):
                    self._results.recv()  # the child's "ready"
                    break
                if not self._child.is_alive():
                    raise EOFError
        except (EOFError, OSError):
            self._fail()
        self.ready.set()
        self._receiver = threading.Thread(
            target=self._receive, name="comptoir-writer-results", daemon=True
        )
        self._receiver.start()
        try:
            self._send_loop()
            # Wait until every batch sent has been answered (and acked).
            for _ in range(PIPELINE):
                while not self._slots.acquire(timeout=0.2):
                    if self.failed.is_set():
                        break
        finally:
            self._jobs.close()
            self._receiver.join(timeout=10)
            self._results.close()
            self._child.join(timeout=10)

    def _send_loop(self) -> None:
        next_tick = time.monotonic() + self.timer_seconds
        while not (self.stopping.is_set() and self.inbox.empty()):
            if not self._slots.acquire(timeout=0.2):
                continue  # PIPELINE jobs in flight: look at stopping again
            if self.failed.is_set():
                return
            if time.monotonic() >= next_tick and not self.stopping.is_set():
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
                if self._in_flight or not self.stopping.is_set():
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
        self.ready.set()
        if self.failed.is_set():
            return
        log.error("the writer process is gone; stopping (unacked messages come back)")
        self.failed.set()
        self.stopping.set()
        self.inbox = queue.SimpleQueue()
        for _ in range(PIPELINE):
            self._slots.release()
        self.on_failure()


def _work(
    jobs: Connection,
    results: Connection,
    database_url: str,
    store: str,
    auto_register: bool,
    ignore_devices: frozenset[str],
) -> None:
    """The child process: store each batch (or run each tick) it is sent, answer in order."""
    # Ctrl-C and SIGTERM are for the bridge; the child ends when the bridge closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        delay = 0.1
        while True:  # the first connection is the slow one: not with the first batch
            try:
                with engine.connect():
                    break
            except Exception:
                log.exception("the database is not reachable; retrying")
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
        results.send(None)  # ready
        while True:
            try:
                job: Job = jobs.recv()
            except (EOFError, OSError):
                return
            if job is None:
                answer = Result(0, tick(sessions(), store, db.utcnow()))
            else:
                messages = [
                    InboundMessage(topic, payload, dt.datetime.fromtimestamp(received, dt.UTC))
                    for topic, payload, received in job
                ]
                answer = _write_until_committed(
                    sessions, store, messages, auto_register, ignore_devices
                )
            try:
                results.send(answer)
            except OSError:  # the bridge was killed meanwhile; the broker will redeliver
                return
    finally:
        engine.dispose()


def _write_until_committed(
    sessions: Callable[[], Session],
    store: str,
    messages: list[InboundMessage],
    auto_register: bool,
    ignore_devices: frozenset[str],
) -> Result:
    delay = 0.1
    while True:
        try:
            result, outgoing = write(sessions(), store, messages, auto_register, ignore_devices)
            return Result(len(result.stored), outgoing)
        except Exception:
            # The database is away: keep the batch (unacked), retry with backoff.
            log.exception("storing %d messages failed; retrying", len(messages))
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


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
    except Exception:
        log.exception("timer work failed; trying again at the next tick")
        return []
    finally:
        session.close()
