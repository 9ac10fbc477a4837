"""How gunicorn serves Comptoir (gunicorn.conf.py): a deadline on reading each request, and an
access log whose lines cannot be forged.

In production a buffering proxy (nginx, ``config/nginx/comptoir.conf``) reads requests before
they reach gunicorn, so a slow or malicious client costs the proxy a socket, not a worker
thread. Without it, a gthread worker gives each connection a thread and reads with blocking
calls that never time out: a client that sends half its headers (or half a body) and then
waits holds that thread as long as it likes, and a few dozen such sockets take every thread
of every worker (the review froze the API with 33).

``DeadlineThreadWorker`` keeps gthread (the database does the real work; threads suit psycopg
and SQLite, where gevent would need monkeypatching and would block a whole worker on SQLite's
file lock) and bounds what one connection may cost: reading a request, head and body, must
finish within COMPTOIR_REQUEST_READ_SECONDS of its first byte being awaited, else the
connection is dropped (the client gets 408 if the application was already reading its body).
Each send waits at most that long too. Long responses (event streams) are not affected: only
reads share the deadline.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker

DEFAULT_READ_SECONDS = 15.0


def read_seconds() -> float:
    return float(os.environ.get("COMPTOIR_REQUEST_READ_SECONDS") or DEFAULT_READ_SECONDS)


class RequestReadTimeout(NoMoreData, TimeoutError):
    """The client took too long to send its request. gunicorn drops the connection quietly
    (as for a client that went away); the API answers 408 when it was reading the body."""

    def __init__(self) -> None:
        super().__init__(b"")

    def __str__(self) -> str:
        return "the client took too long to send its request"


class DeadlineSocket(socket.socket):
    """A client socket whose reads share one deadline per request.

    gthread switches the socket to blocking mode (``setblocking(True)``) each time a thread
    takes the connection to read a request; that starts the clock. ``recv`` then waits only
    for what is left of it.
    """

    read_seconds = DEFAULT_READ_SECONDS
    _deadline: float | None = None

    def setblocking(self, flag: bool) -> None:
        if flag:
            self._deadline = time.monotonic() + self.read_seconds
            self.settimeout(self.read_seconds)
        else:
            self._deadline = None
            super().setblocking(False)

    def _wait_left(self) -> None:
        if self._deadline is None:
            return
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise RequestReadTimeout()
        self.settimeout(min(left, self.read_seconds))

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self._wait_left()
        try:
            return super().recv(bufsize, flags)
        except TimeoutError:
            raise RequestReadTimeout() from None

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> int:
        self._wait_left()
        try:
            return super().recv_into(buffer, nbytes, flags)
        except TimeoutError:
            raise RequestReadTimeout() from None

    def sendall(self, data: Any, flags: int = 0) -> None:
        # A response may take long to produce (streams): sends get a fresh wait each time.
        self.settimeout(self.read_seconds)
        super().sendall(data, flags)


class _Listener:
    """A listening socket whose accepted connections are :class:`DeadlineSocket` s."""

    def __init__(self, listener: Any, seconds: float) -> None:
        self._listener = listener
        self._seconds = seconds

    def accept(self) -> tuple[socket.socket, Any]:
        client, address = self._listener.accept()
        sock = DeadlineSocket(client.family, client.type, client.proto, fileno=client.detach())
        sock.read_seconds = self._seconds
        return sock, address

    def __getattr__(self, name: str) -> Any:
        return getattr(self._listener, name)


class DeadlineThreadWorker(ThreadWorker):
    """gthread, with :class:`DeadlineSocket` for every accepted connection."""

    def init_process(self) -> None:
        seconds = read_seconds()
        listeners: list[Any] = self.sockets  # type: ignore[has-type]
        self.sockets = [_Listener(listener, seconds) for listener in listeners]
        super().init_process()


# --- the access log -------------------------------------------------------------------------

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: anything a terminal
# or a log viewer may take as the end of a line or a command.
_UNSAFE = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))},
    0x2028: "\\u2028",
    0x2029: "\\u2029",
    ord("\\"): "\\\\",
}


def log_safe(value: Any) -> Any:
    """A string as one inert log field: controls escaped (``\\x0a``), backslashes too, so
    ``%0A`` in a path cannot start a forged line (gunicorn itself escapes double quotes)."""
    return value.translate(_UNSAFE) if isinstance(value, str) else value


class SafeAccessLogger(Logger):
    """gunicorn's logger, with every access-log field escaped (paths arrive decoded)."""

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        atoms = super().atoms(resp, req, environ, request_time)
        return {name: log_safe(value) for name, value in atoms.items()}
