"""The SQLite files are the owner's alone, and deleted rows do not linger in them."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from store_api import create_app, db
from store_api.cli import upgrade_database
from tests.conftest import BACKEND
from tests.fixtures.clock import FrozenClock

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite files only")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """What many servers run with: new files world-readable unless the program says no."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_shop_creates_its_files_private(
    tmp_path: Path, clock: FrozenClock, loose_umask: None
) -> None:
    instance = tmp_path / "instance"
    app = create_app({"CLOCK": clock, "DATABASE_URL": f"sqlite:///{instance / 'comptoir.db'}"})
    app.instance_path = str(instance)  # the secret key and rate-limit counters go there too

    upgrade_database(app)
    with db.engine_for(app).connect() as conn:  # a reader keeps the WAL and SHM files open
        conn.execute(text("SELECT 1"))
        app.test_client().post("/api/v1/collect", json={"events": []})  # ratelimit.db, key
        files = {p.name: mode(p) for p in instance.iterdir()}
    db.engine_for(app).dispose()

    assert mode(instance) == 0o700
    assert {"comptoir.db", "comptoir.db-wal", "comptoir.db-shm"} <= set(files), files
    assert {name: m for name, m in files.items() if m & 0o077} == {}


def test_an_existing_world_readable_database_is_made_private(
    tmp_path: Path, clock: FrozenClock, loose_umask: None
) -> None:
    database = tmp_path / "shop.db"
    sqlite3.connect(database).close()
    database.chmod(0o644)
    (tmp_path / "shop.db-wal").write_bytes(b"")
    (tmp_path / "shop.db-wal").chmod(0o644)

    app = create_app({"CLOCK": clock, "DATABASE_URL": f"sqlite:///{database}"})
    db.engine_for(app).dispose()

    assert mode(database) == 0o600
    assert mode(tmp_path / "shop.db-wal") == 0o600


def test_the_project_turns_secure_delete_on_whatever_sqlite_defaults_to(tmp_path: Path) -> None:
    database = tmp_path / "x.db"

    def off_by_default() -> sqlite3.Connection:
        conn = sqlite3.connect(database, check_same_thread=False)
        conn.execute("PRAGMA secure_delete=OFF")  # as a SQLite compiled without it starts
        return conn

    engine = db.make_engine(f"sqlite:///{database}", creator=off_by_default)
    with engine.connect() as conn:
        value = conn.execute(text("PRAGMA secure_delete")).scalar()
    engine.dispose()

    assert value == 1


def test_a_deleted_value_is_gone_from_the_files(tmp_path: Path) -> None:
    database = tmp_path / "x.db"
    engine = db.make_engine(f"sqlite:///{database}")
    secret = "salt-5f2b9c0e7d1a4b3c" * 4
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE salts (day TEXT, salt TEXT)"))
        conn.execute(text("INSERT INTO salts VALUES ('2026-11-26', :s)"), {"s": secret})
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM salts"))
    with engine.connect() as conn:
        conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    engine.dispose()

    data = b"".join(p.read_bytes() for p in tmp_path.glob("x.db*"))
    assert secret.encode() not in data


def test_an_app_that_goes_away_leaves_no_open_file(tmp_path: Path) -> None:
    """A process that makes apps one after another (the tests, CLI tools) must not pile up
    descriptors: past 1024, select()-based clients such as paho's stop hearing anything."""
    import gc

    database = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = db.make_engine(database)
    engine.dispose()

    def open_files() -> int:
        gc.collect()
        return len(os.listdir("/proc/self/fd"))

    def one_write() -> None:
        makes = db.make_sessionmaker(db.make_engine(database))
        with makes() as session, db.write(session):
            session.execute(text("CREATE TABLE IF NOT EXISTS t (x INTEGER)"))
        makes.kw["bind"].dispose()

    one_write()
    before = open_files()
    for _ in range(30):
        one_write()

    assert open_files() - before < 5
