"""Copy the database to one file while the shop runs, and put such a file back.

SQLite: the online backup API (a consistent copy while the API, the bridge and the workers keep
writing; WAL included). PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` in one
transaction. A restore goes into an *empty* database only, so a wrong command can never mix two
shops; the schema is then brought up to date by the migrations (a backup of an older version
restores into a newer Comptoir).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine, make_url

SQLITE_SUFFIX = ".sqlite3"
POSTGRES_SUFFIX = ".pgdump"
SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"
# Tables that hold the shop's data; an empty database may have the schema, not rows.
MARKER_TABLES = ("products", "stock_levels", "stock_movements", "api_keys", "events")


class BackupError(Exception):
    """A backup or a restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    backend: str
    size: int


def backend_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"Backups know SQLite and PostgreSQL, not {name}.")
    return name


def default_name(backend: str, now: dt.datetime) -> str:
    suffix = SQLITE_SUFFIX if backend == "sqlite" else POSTGRES_SUFFIX
    return f"comptoir-{now:%Y%m%d-%H%M%S}{suffix}"


def backup(url: str, destination: Path) -> BackupFile:
    """Write a consistent copy of the database at ``url`` to ``destination`` (mode 0600).

    The copy is written next to its destination and renamed into place at the end, so a
    crash never leaves a half file under the final name.
    """
    backend = backend_of(url)
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        raise BackupError(f"{destination} already exists; choose another name.")
    descriptor, name = tempfile.mkstemp(prefix=".backup-", dir=destination.parent)
    os.close(descriptor)
    partial = Path(name)
    try:
        if backend == "sqlite":
            _sqlite_backup(_sqlite_path(url), partial)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                  f"--file={partial}", *_pg_args(url)], url)  # fmt: skip
        partial.chmod(0o600)
        partial.rename(destination)
    finally:
        partial.unlink(missing_ok=True)
    return BackupFile(destination, backend, destination.stat().st_size)


def restore(url: str, source: Path, engine: Engine) -> str:
    """Load ``source`` into the empty database at ``url``; returns the backend name."""
    backend = backend_of(url)
    kind = file_kind(source)
    if kind != backend:
        raise BackupError(
            f"{source} is a {kind} backup; the database is {backend}. Restore it into a "
            f"{kind} database (set COMPTOIR_DATABASE_URL)."
        )
    refuse_unless_empty(engine)
    if backend == "sqlite":
        _sqlite_restore(source, _sqlite_path(url), engine)
    else:
        _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
              "--single-transaction", *_pg_args(url), str(source)], url)  # fmt: skip
    return backend


def file_kind(path: Path) -> str:
    """``sqlite`` or ``postgresql`` from the file's first bytes (never from its name)."""
    try:
        with path.open("rb") as file:
            head = file.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"Cannot read {path}: {exc.strerror}.") from exc
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PGDUMP_MAGIC):
        return "postgresql"
    raise BackupError(f"{path} is not a Comptoir backup (neither SQLite nor pg_dump).")


def refuse_unless_empty(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    with engine.connect() as connection:
        for table in MARKER_TABLES:
            if (
                table in tables
                and connection.execute(
                    text(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608 (our own table names)
                ).first()
            ):
                raise BackupError(
                    f"The database already holds a shop (table {table} has rows). Restore into "
                    "a new, empty database, then point COMPTOIR_DATABASE_URL at it."
                )


# --- SQLite ------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("An in-memory SQLite database has nothing to back up.")
    return Path(database)


def _sqlite_backup(database: Path, target: Path) -> None:
    if not database.exists():
        raise BackupError(f"No database at {database}.")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    copy = sqlite3.connect(target)
    try:
        # A few pages at a time: writers are never blocked for long; a write in the middle
        # restarts the copy of the changed pages (the result is one consistent snapshot).
        source.backup(copy, pages=256)
        _check_integrity(copy, target)
    finally:
        copy.close()
        source.close()


def _sqlite_restore(backup_file: Path, database: Path, engine: Engine) -> None:
    source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
    try:
        _check_integrity(source, backup_file)
        engine.dispose()  # nobody may hold the file while its pages are replaced
        database.parent.mkdir(parents=True, exist_ok=True)
        target = sqlite3.connect(database)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()
    finally:
        source.close()


def _check_integrity(connection: sqlite3.Connection, path: Path) -> None:
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is damaged: {exc}.") from exc
    if not result or result[0] != "ok":
        raise BackupError(f"{path} is damaged: {result[0] if result else 'no answer'}.")


# --- PostgreSQL --------------------------------------------------------------------------


def _pg_args(url: str) -> list[str]:
    parts = make_url(url)
    args = [f"--dbname={parts.database}"]
    if parts.host:
        args.append(f"--host={parts.host}")
    if parts.port:
        args.append(f"--port={parts.port}")
    if parts.username:
        args.append(f"--username={parts.username}")
    return args


def _run(command: list[str], url: str) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: apt install postgresql-client).")
    environment = dict(os.environ)
    password = make_url(url).password
    if password:
        environment["PGPASSWORD"] = str(password)  # never on the command line (ps shows it)
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()[-800:]}")
