"""Server-Sent Events: GET /api/v1/events/stream, the outbox pushed live to tablets.

Each stream polls the outbox every STREAM_POLL_SECONDS in a short read transaction and holds
no database connection in between, so an idle tablet costs one indexed query per poll, not a
connection. ``seq`` becomes visible strictly in order, so "events after my cursor" never
skips an event that commits late, and the cursor is all a client needs to resume.

An open stream occupies one gunicorn thread. STREAM_MAX_PER_WORKER caps streams per process
(503 + Retry-After beyond it) and gunicorn.conf.py gives each worker more threads than that,
so the API always has threads left. A stream ends after STREAM_MAX_SECONDS; the client
reconnects with Last-Event-ID and loses nothing.

The stream re-checks its key about once a second (one primary-key lookup, in the poll's read
transaction): once the key is revoked (a tablet revoked by the owner) the stream ends, and the
client's reconnection gets 401. A tablet's ``last_seen_at`` is refreshed from here too.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Flask, Response, current_app, request
from flask.blueprints import BlueprintSetupState
from flask.views import MethodView
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from store_api import db
from store_api.auth import ALL_ROLES, current_caller, require
from store_api.blueprint import Blueprint
from store_api.errors import TooManyStreams
from store_api.events import service
from store_api.events.models import Event
from store_api.events.schemas import (
    EventSchema,
    EventStreamHeadersSchema,
    EventStreamQueryArgsSchema,
)
from store_api.events.visibility import Reader
from store_api.schemas import ErrorSchema
from store_api.tablets import service as tablets

log = logging.getLogger(__name__)

blp = Blueprint("event_stream", __name__, url_prefix="/api/v1", description="Live events (SSE).")

SLOTS = "comptoir_stream_slots"
# Events written per poll at most; a client catching up gets the next batch without a pause.
BATCH = 500
RETRY_MS = 1000


class StreamSlots:
    """Open streams of this process, at most ``limit`` (STREAM_MAX_PER_WORKER)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self._lock = threading.Lock()

    def take(self) -> Slot | None:
        with self._lock:
            if self.open >= self.limit:
                return None
            self.open += 1
        return Slot(self)

    def _give_back(self) -> None:
        with self._lock:
            self.open -= 1


class Slot:
    """One stream's place. Released once, by whichever comes first: the generator's
    ``finally`` or the response's close (which alone runs if the body was never started).
    """

    def __init__(self, slots: StreamSlots) -> None:
        self._slots = slots
        self._lock = threading.Lock()
        self._held = True

    def release(self) -> None:
        with self._lock:
            held, self._held = self._held, False
        if held:
            self._slots._give_back()


@blp.record_once
def _install_slots(state: BlueprintSetupState) -> None:
    # One counter per app, i.e. per gunicorn worker process.
    state.app.extensions[SLOTS] = StreamSlots(state.app.config["STREAM_MAX_PER_WORKER"])


@dataclass(frozen=True)
class Pacing:
    poll: float
    heartbeat: float
    max_seconds: float
    # How often the stream checks that its key is still valid (a revocation ends it).
    key_check: float = 1.0

    @classmethod
    def from_config(cls, config: Any) -> Pacing:
        return cls(
            poll=float(config["STREAM_POLL_SECONDS"]),
            heartbeat=float(config["STREAM_HEARTBEAT_SECONDS"]),
            max_seconds=float(config["STREAM_MAX_SECONDS"]),
            key_check=float(config["STREAM_KEY_CHECK_SECONDS"]),
        )


_EVENT = EventSchema()


def frame(event: Event, reader: Reader) -> bytes:
    """One SSE message; ``id`` is the seq, so the browser's Last-Event-ID is our cursor."""
    data = json.dumps(_EVENT.dump(service.as_seen_by(event, reader)), separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.type}\ndata: {data}\n\n".encode()


def _client_gone(sock: socket.socket | None) -> bool:
    """True once the client has closed its end, so its slot frees now, not at the next write.

    A readable socket that peeks empty is a closed one. A client that vanished without closing
    (tablet off the Wi-Fi) is only noticed when a write fails, at the latest at
    STREAM_MAX_SECONDS.
    """
    if sock is None:
        return False
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        if not poller.poll(0):
            return False
        return sock.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _events(
    session: Session,
    slot: Slot,
    *,
    after: int,
    types: Sequence[str],
    skus: Sequence[str],
    pacing: Pacing,
    client: socket.socket | None,
    reader: Reader,
    key_id: int,
    clock: Callable[[], dt.datetime],
) -> Iterator[bytes]:
    """The response body. Runs after the request context is gone: it only uses its args."""
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        started = last_write = time.monotonic()
        key_checked = started - pacing.key_check  # check at the first poll too
        cursor = after
        while True:
            check_key = time.monotonic() - key_checked >= pacing.key_check
            try:
                with db.read(session):
                    key = tablets.key_state(session, key_id, clock()) if check_key else None
                    page = service.read(session, after=cursor, limit=BATCH, types=types, skus=skus)
                    chunk = b"".join(frame(event, reader) for event in page.events)
                if key is not None:
                    if key.revoked:
                        yield b": key revoked\n\n"
                        return
                    key_checked = time.monotonic()
                    if key.tablet_due_seen:
                        with db.write(session):
                            tablets.seen(session, key_id, clock())
            except SQLAlchemyError:
                # End cleanly; the client retries in RETRY_MS from its Last-Event-ID.
                log.warning("event stream stopped: database error", exc_info=True)
                return
            session.expunge_all()
            cursor = page.next_after
            now = time.monotonic()
            if chunk:
                yield chunk
                last_write = now
            elif now - last_write >= pacing.heartbeat:
                yield b": keepalive\n\n"
                last_write = now
            if now - started >= pacing.max_seconds or _client_gone(client):
                return
            if len(page.events) < BATCH:
                time.sleep(pacing.poll)
    finally:
        session.close()
        slot.release()


def _plain_socket(environ: dict[str, Any]) -> socket.socket | None:
    """gunicorn's client socket, when peeking at it is safe (not TLS-wrapped)."""
    sock = environ.get("gunicorn.socket")
    return sock if type(sock) is socket.socket else None


@blp.route("/events/stream")
class EventStream(MethodView):
    @require(*ALL_ROLES)
    @blp.arguments(EventStreamQueryArgsSchema, location="query")
    @blp.arguments(EventStreamHeadersSchema, location="headers")
    @blp.response(
        200,
        content_type="text/event-stream",
        description="A text/event-stream; each message is `id: <seq>`, "
        "`event: <type>`, `data: <event JSON>`. Ends after STREAM_MAX_SECONDS: reconnect "
        "with Last-Event-ID.",
    )
    @blp.alt_response(
        503,
        schema=ErrorSchema,
        description="too_many_streams: this worker's stream slots are taken.",
        headers={"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    )
    def get(self, args: dict[str, Any], headers: dict[str, Any]) -> Response:
        """Live events after a cursor, as Server-Sent Events (a tablet's live view)."""
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        slots: StreamSlots = app.extensions[SLOTS]
        slot = slots.take()
        if slot is None:
            raise TooManyStreams(
                f"This worker already serves {slots.limit} event streams; retry in "
                f"{TooManyStreams.retry_after_seconds} s.",
                {"retry_after": TooManyStreams.retry_after_seconds, "limit": slots.limit},
            )
        session = db.new_session(app)
        try:
            after = headers.get("last_event_id", args.get("after"))
            if after is None:
                with db.read(session):
                    after = service.last_seq(session)
            body = _events(
                session,
                slot,
                after=after,
                types=args["type"],
                skus=args["sku"],
                pacing=Pacing.from_config(app.config),
                client=_plain_socket(request.environ),
                reader=Reader(current_caller().role),
                key_id=current_caller().key_id,
                clock=app.extensions["comptoir_clock"],
            )
        except BaseException:
            session.close()
            slot.release()
            raise
        response = Response(
            body,
            mimetype="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        response.call_on_close(session.close)
        response.call_on_close(slot.release)
        return response
