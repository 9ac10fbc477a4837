"""A rate-limit counter store in one SQLite file, shared by every process of the machine.

Flask-Limiter (through ``limits``) keeps its counters in a storage chosen by URI. Its memory
storage is per process: with two gunicorn workers a client would get twice the limit and a
restart would forget everything; Redis or Memcached are one more service to run for a shop
that has none. A small SQLite file next to the instance's other files is shared by the
workers, the CLI and restarts, costs one short write per counted request, and needs nothing
installed. The counters are worth nothing after their window, so the file is written without
fsync (``synchronous=OFF``) and expired rows are swept now and then.

URI: ``comptoir-sqlite:///absolute/path/ratelimit.db``, or ``comptoir-sqlite://`` (the
default) for ``<instance>/ratelimit.db`` of the app serving the request.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import current_app
from limits.storage import Storage

from store_api.instance import private_dir, private_file

SCHEME = "comptoir-sqlite"
DEFAULT_FILE = "ratelimit.db"
# Expired windows are deleted every this many writes (per process).
SWEEP_EVERY = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS hits (
    key TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID
"""
# A fixed window: the first hit opens it (expiry from now), later hits add to it, a hit after
# it ended opens a new one. One statement, so two processes never lose a hit.
_INCR = """
INSERT INTO hits (key, count, expires_at) VALUES (:key, :amount, :now + :expiry)
ON CONFLICT (key) DO UPDATE SET
    count = CASE WHEN hits.expires_at <= :now THEN :amount ELSE hits.count + :amount END,
    expires_at = CASE WHEN hits.expires_at <= :now THEN :now + :expiry ELSE hits.expires_at END
RETURNING count
"""


class SQLiteStorage(Storage):
    """``limits`` storage for fixed-window limits (the strategy Comptoir uses)."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        path = urlparse(uri or "").path
        self.path = Path(path) if path not in ("", "/") else None
        self._local = threading.local()
        self._writes = 0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return sqlite3.Error

    def _connection(self) -> sqlite3.Connection:
        """One connection per thread and process (a forked worker opens its own)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            path = self.path or Path(current_app.instance_path) / DEFAULT_FILE
            private_dir(path.parent)
            private_file(path)  # hashed client addresses and key ids: the shop's business
            conn = sqlite3.connect(path, timeout=5.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute(_SCHEMA)
            self._local.conn, self._local.pid = conn, os.getpid()
        return conn

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        conn = self._connection()
        (count,) = conn.execute(
            _INCR, {"key": key, "amount": amount, "now": now, "expiry": float(expiry)}
        ).fetchone()
        self._writes += 1
        if self._writes % SWEEP_EVERY == 0:
            conn.execute("DELETE FROM hits WHERE expires_at <= ?", (now,))
        return int(count)

    def get(self, key: str) -> int:
        row = (
            self._connection()
            .execute("SELECT count FROM hits WHERE key = ? AND expires_at > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        now = time.time()
        row = (
            self._connection()
            .execute("SELECT expires_at FROM hits WHERE key = ? AND expires_at > ?", (key, now))
            .fetchone()
        )
        return float(row[0]) if row else now

    def check(self) -> bool:
        try:
            self._connection().execute("SELECT 1").fetchone()
        except sqlite3.Error:
            return False
        return True

    def reset(self) -> int | None:
        return self._connection().execute("DELETE FROM hits").rowcount

    def clear(self, key: str) -> None:
        self._connection().execute("DELETE FROM hits WHERE key = ?", (key,))
