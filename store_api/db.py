"""Database layer: typed declarative base, engine set-up, sessions and transactions.

SQLite (WAL) is the embedded default and PostgreSQL the production database; the
differences that matter for correctness are handled here, once:

* SQLite serialises writers. A transaction that reads first and writes later can fail with
  "database is locked" when another writer got in between, so write transactions start
  with ``BEGIN IMMEDIATE`` (take the write lock up front, wait for it with busy_timeout).
* Timestamps are stored as UTC and always come back timezone-aware, on both databases.
* PostgreSQL connections are checked before use only after they sat idle in the pool (see
  :func:`_ping_when_idle`), not at every checkout.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask, g
from sqlalchemy import JSON, DateTime, Engine, MetaData, Numeric, String, create_engine, event, exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from store_api.instance import private_dir, private_file

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        dt.datetime: UTCDateTime(),
        Decimal: Numeric(12, 2),
        dict[str, Any]: JSON(),
        list[dict[str, Any]]: JSON(),
        str: String(255),
    }


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# A pooled connection used this recently is taken as alive (HikariCP's default is 0.5 s).
PING_AFTER_IDLE_SECONDS = 1.0


def make_engine(
    url: str,
    *,
    sqlite_busy_timeout_ms: int = 10_000,
    ping_after_idle_s: float = PING_AFTER_IDLE_SECONDS,
    **kwargs: Any,
) -> Engine:
    """Create an engine with the per-backend settings Comptoir relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, **kwargs)
        private_sqlite_files(engine.url.database)
        _configure_sqlite(engine, sqlite_busy_timeout_ms)
        return engine
    engine = create_engine(url, **kwargs)
    _ping_when_idle(engine, ping_after_idle_s)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Check a connection that sat in the pool longer than ``idle_s`` before handing it out.

    After a database restart or a dropped connection, the first request would otherwise fail.
    SQLAlchemy's ``pool_pre_ping`` pings at every checkout: one more round trip per request,
    a fifth of a busy API worker's time. A connection returned moments ago has just worked;
    a dead one found here is replaced (``DisconnectionError``: the pool retries with a new one).
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["comptoir_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("comptoir_idle_since")
        if idle_since is None or time.monotonic() - idle_since <= idle_s:
            return  # a brand-new connection, or one that just worked
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError() from error


def private_sqlite_files(database: str | None, *, create_folder: bool = False) -> None:
    """The database file, and the WAL and shared-memory files SQLite makes beside it with the
    same mode, readable by their owner only: they hold customer notes and webhook secrets.

    Only the migrations create a missing folder (``create_folder``): a process started before
    it exists (the bridge, a worker) must find the database missing and wait, not make an
    empty one somewhere.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        if not create_folder:
            return
        private_dir(path.parent)
    private_file(path)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            private_file(companion)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (pysqlite's implicit BEGIN skips SELECTs).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows (expired visitor salts, purged events) are overwritten, not left in
        # free pages: the project sets it rather than rely on how SQLite was compiled.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("comptoir_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _close_own(fd: int, pid: int) -> None:
    """Close ``fd`` if this process opened it (a forked child's copy is its parent's)."""
    if os.getpid() == pid:
        with suppress(OSError):
            os.close(fd)


class SqliteWriteGate:
    """Writers queue on a lock instead of polling in SQLite's busy handler.

    SQLite lets one writer in at a time; the others sleep and retry with growing pauses (up to
    100 ms), which wastes most of the time under contention. A thread lock (within a process)
    plus ``flock`` on a file next to the database (across gunicorn workers and CLI processes)
    hands the write lock over as soon as it is free. BEGIN IMMEDIATE stays as the real guard.
    """

    def __init__(self, database_path: str) -> None:
        self._path = database_path + ".writelock"
        # Re-entrant: a nested write in the same thread fails on SQLite's busy timeout (a clear
        # error) instead of hanging on this lock.
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked worker needs its own file
            self._fd = os.open(self._path, os.O_CREAT | os.O_RDWR, 0o600)
            self._pid = os.getpid()
            # Closed with the gate: a process making many apps (tests, CLI tools) would
            # otherwise keep one descriptor per app until select()-based clients break at 1024.
            weakref.finalize(self, _close_own, self._fd, self._pid)
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._thread_lock:
            fd = self._file()
            if self._depth == 0:
                fcntl.flock(fd, fcntl.LOCK_EX)
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    fcntl.flock(fd, fcntl.LOCK_UN)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    info: dict[str, Any] = {}
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database and database != ":memory:":
        info["write_gate"] = SqliteWriteGate(database)
    # Objects stay readable after commit: views serialise them once the transaction is over.
    return sessionmaker(bind=engine, expire_on_commit=False, autobegin=False, info=info)


@contextmanager
def write(session: Session) -> Iterator[Session]:
    """A write transaction: committed on success, rolled back on any exception.

    Inside another write (an idempotent endpoint frames its view's transaction, see
    store_api/idempotency.py) it is a savepoint: an error rolls back this part only, and the
    outer transaction decides what is committed.
    """
    if session.in_transaction():
        if not session.connection().get_execution_options().get("comptoir_write"):
            raise RuntimeError("db.write() inside db.read(): open the write transaction first")
        with session.begin_nested():
            yield session
        return
    gate: SqliteWriteGate | None = session.info.get("write_gate")
    if gate is None:
        with session.begin():
            session.connection(execution_options={"comptoir_write": True})
            yield session
        return
    with gate.hold(), session.begin():
        session.connection(execution_options={"comptoir_write": True})
        yield session


@contextmanager
def read(session: Session) -> Iterator[Session]:
    """A read transaction (a consistent snapshot on both databases); inside a write, that one."""
    if session.in_transaction():
        yield session
        return
    with session.begin():
        yield session


# --- Flask integration -------------------------------------------------------------


def init_app(app: Flask) -> None:
    engine = make_engine(
        app.config["DATABASE_URL"], sqlite_busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"]
    )
    app.extensions["comptoir_engine"] = engine
    app.extensions["comptoir_sessionmaker"] = make_sessionmaker(engine)
    app.teardown_appcontext(_close_session)


def engine_for(app: Flask) -> Engine:
    engine: Engine = app.extensions["comptoir_engine"]
    return engine


def new_session(app: Flask) -> Session:
    factory: sessionmaker[Session] = app.extensions["comptoir_sessionmaker"]
    return factory()


def get_session() -> Session:
    """The session of the current request or CLI command (one per app context)."""
    from flask import current_app

    if "db_session" not in g:
        g.db_session = new_session(current_app)
    session: Session = g.db_session
    return session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
