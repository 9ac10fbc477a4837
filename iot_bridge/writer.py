"""The writer: takes messages from the MQTT callbacks, commits them in batches, then acks.

Callbacks only put messages on a queue (never block, never raise). This thread commits up to
``batch_size`` messages or whatever arrived within ``batch_seconds``, and acknowledges them in
arrival order only once the transaction has committed: a crash before the ack means the broker
redelivers, and the unique ``(device_id, event_id)`` key turns the redelivery into a no-op.

Validation and the INSERTs run in a child process (one batch at a time, sent over a pipe):
in the same process they would compete with paho's network thread for the GIL and halve the
rate at which messages are received. The child exits when the pipe closes (bridge gone).
"""

from __future__ import annotations

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
from store_api import db
from store_api.sensors import service
from store_api.sensors.service import BatchResult, InboundMessage

log = logging.getLogger(__name__)


class Pending(NamedTuple):
    # A tuple: one is made per message in the MQTT callback, which shares the GIL with paho.
    message: InboundMessage
    mid: int
    qos: int
    generation: int  # which connection delivered it: acks only go back on that connection


Ack = Callable[[Pending], None]


class Writer(threading.Thread):
    def __init__(
        self,
        database_url: str,
        store: str,
        ack: Ack,
        *,
        batch_size: int = 500,
        batch_seconds: float = 0.2,
        auto_register: bool = True,
        ignore_devices: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__(name="comptoir-writer", daemon=True)
        self.database_url = database_url
        self.store = store
        self.ack = ack
        self.batch_size = batch_size
        self.batch_seconds = batch_seconds
        self.auto_register = auto_register
        self.ignore_devices = ignore_devices
        self.inbox: queue.SimpleQueue[Pending] = queue.SimpleQueue()
        self.stopping = threading.Event()
        self.stored = 0
        self._conn: Connection | None = None
        # Called (from this thread) when the writer process is gone: the bridge disconnects.
        self.on_failure: Callable[[], None] = lambda: None
        self._child: multiprocessing.process.BaseProcess | None = None

    def put(self, pending: Pending) -> None:
        """Called from the MQTT callback thread; never blocks."""
        self.inbox.put(pending)

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self._conn = parent
        self._child = context.Process(
            target=_work,
            args=(child, self.database_url, self.store, self.auto_register, self.ignore_devices),
            name="comptoir-writer",
            daemon=True,
        )
        self._child.start()
        child.close()
        try:
            while not (self.stopping.is_set() and self.inbox.empty()):
                batch = self._collect()
                if batch:
                    self._commit_then_ack(batch)
        finally:
            parent.close()
            self._child.join(timeout=10)

    def _collect(self) -> list[Pending]:
        try:
            first = self.inbox.get(timeout=0.2)
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

    def _commit_then_ack(self, batch: list[Pending]) -> None:
        assert self._conn is not None
        try:
            self._conn.send([p.message for p in batch])
            stored = self._conn.recv()  # the child retries until the batch is committed
        except (EOFError, OSError):
            log.error("the writer process is gone; stopping (unacked messages come back)")
            self.stopping.set()
            self.inbox = queue.SimpleQueue()
            self.on_failure()
            return
        self.stored += stored
        for pending in batch:
            self.ack(pending)


def _work(
    conn: Connection,
    database_url: str,
    store: str,
    auto_register: bool,
    ignore_devices: frozenset[str],
) -> None:
    """The child process: store each batch it is sent, answer with the number stored."""
    # Ctrl-C and SIGTERM are for the bridge; the child ends when the bridge closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    engine = db.make_engine(database_url)
    sessions = db.make_sessionmaker(engine)
    try:
        while True:
            try:
                messages: list[InboundMessage] = conn.recv()
            except (EOFError, OSError):
                return
            delay = 0.1
            while True:
                try:
                    result = write(sessions(), store, messages, auto_register, ignore_devices)
                    break
                except Exception:
                    # The database is away: keep the batch (unacked), retry with backoff.
                    log.exception("storing %d messages failed; retrying", len(messages))
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
            try:
                conn.send(len(result.stored))
            except OSError:  # the bridge was killed meanwhile; the broker will redeliver
                return
    finally:
        engine.dispose()


def write(
    session: Session,
    store: str,
    messages: list[InboundMessage],
    auto_register: bool,
    ignore_devices: frozenset[str],
) -> BatchResult:
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
            handlers.handle_batch(session, result.stored)
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
    return result
