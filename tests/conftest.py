"""Fixtures: ``app``, ``client``, ``runner``, ``clock``, ``keys``, ``live_server``.

The same suite runs on SQLite (default) and on a real PostgreSQL started here:
``COMPTOIR_TEST_DB=postgresql pytest`` (or point ``COMPTOIR_TEST_DATABASE_URL`` at a database
you own; it is emptied between tests).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import text

from store_api import create_app, db
from store_api.cli import upgrade_database
from store_api.db import Base
from store_api.keys import service as keys_service
from store_api.keys.models import Role
from tests.fixtures.clock import FrozenClock
from tests.servers import LiveServer, postgres_server, start_gunicorn, stop_gunicorn

ROOT = Path(__file__).resolve().parents[1]
BACKEND = os.environ.get("COMPTOIR_TEST_DB", "sqlite")


def pytest_report_header() -> str:
    return f"comptoir database backend: {BACKEND}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("COMPTOIR_TEST_DATABASE_URL")
    if given:
        yield given
    elif BACKEND == "postgresql":
        with postgres_server(tmp_path_factory.mktemp("postgres")) as url:
            yield url
    elif BACKEND == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'comptoir.db'}"
    else:
        raise pytest.UsageError(f"COMPTOIR_TEST_DB must be sqlite or postgresql, not {BACKEND!r}")


@pytest.fixture(scope="session")
def migrated(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The schema comes from the Alembic migrations, exactly as in production."""
    app = create_app({"DATABASE_URL": database_url})
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    upgrade_database(app)
    db.engine_for(app).dispose()
    return database_url


def _empty_all_tables(app: Flask) -> None:
    engine = db.engine_for(app)
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (our own table names)
        # The migration's one counter row (PostgreSQL event sequence).
        conn.execute(text("INSERT INTO event_counter (id, value) VALUES (1, 0)"))


# The limiter runs in every test (its storage and headers are part of every request), with
# limits no test reaches; tests/test_ratelimit.py sets real ones.
UNTHROTTLED = {
    "RATELIMIT_COLLECT_PER_ADDRESS": "1000000 per minute",
    "RATELIMIT_COLLECT_PER_SITE": "1000000 per minute",
    "RATELIMIT_WRITES_PER_KEY": "1000000 per minute",
}


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings() -> dict[str, Any]:
    """Override in a test module to change configuration."""
    return {}


@pytest.fixture
def app(
    migrated: str, clock: FrozenClock, settings: dict[str, Any], tmp_path: Path
) -> Iterator[Flask]:
    app = create_app(
        {"DATABASE_URL": migrated, "CLOCK": clock, "TESTING": True, **UNTHROTTLED, **settings}
    )
    app.instance_path = str(tmp_path)
    _empty_all_tables(app)
    yield app
    db.engine_for(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


class Keys(dict[Role, str]):
    """One key per role; ``keys.headers(Role.SELLER)`` gives request headers."""

    def headers(self, role: Role, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self[role]}", **extra}


@pytest.fixture
def keys(app: Flask, clock: FrozenClock) -> Keys:
    session = db.new_session(app)
    result = Keys()
    with db.write(session):
        for role in Role:
            _key, secret = keys_service.create_key(
                session, name=f"test {role.value}", role=role, now=clock()
            )
            result[role] = secret
    session.close()
    return result


@pytest.fixture
def live_server(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    """gunicorn with 2 workers on the test database (emptied by ``app`` first)."""
    server = start_gunicorn(migrated, tmp_path / "gunicorn.log")
    yield server
    stop_gunicorn(server)
