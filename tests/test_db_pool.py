"""PostgreSQL pool: a connection the server dropped is replaced before a request uses it.

Connections idle in the pool for longer than ``ping_after_idle_s`` are pinged at checkout; a
dead one is thrown away and a new one opened, so a database restart costs no failed request.
"""

from __future__ import annotations

import time

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from store_api import db


@pytest.fixture(autouse=True)
def _postgresql_only(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite opens a file: no server to drop the connection")


def backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(text("SELECT pg_backend_pid()")) or 0)


def drop_other_connections(database_url: str) -> int:
    """What a database restart does to the pool: every other session of the database ends."""
    others = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
    killer = db.make_engine(database_url)
    try:
        with killer.connect() as conn:
            pids = list(conn.scalars(text(f"SELECT pid {others}")))
            ended = conn.scalar(text(f"SELECT count(pg_terminate_backend(pid)) {others}"))
            # Done when the server no longer lists those backends (not after some sleep).
            deadline = time.monotonic() + 30
            gone = text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)")
            while conn.scalar(gone, {"pids": pids}):
                assert time.monotonic() < deadline, "the terminated backends never went away"
                conn.rollback()  # a fresh snapshot of pg_stat_activity
                time.sleep(0.01)
    finally:
        killer.dispose()
    return int(ended or 0)


def test_a_dropped_connection_idle_in_the_pool_is_replaced_at_checkout(
    database_url: str,
) -> None:
    # Any time in the pool counts as idle: the checkout after the drop pings.
    engine = db.make_engine(database_url, ping_after_idle_s=0.0)
    try:
        before = backend_pid(engine)  # one connection, back in the pool
        assert drop_other_connections(database_url) >= 1

        after = backend_pid(engine)  # the same pooled connection: pinged, found dead, replaced
        assert after != before
    finally:
        engine.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(database_url: str) -> None:
    """The counterpart (and why the ping matters): within the idle window the pool trusts the
    connection, so a server-side drop in that window reaches the caller."""
    engine = db.make_engine(database_url, ping_after_idle_s=3600)
    try:
        backend_pid(engine)
        drop_other_connections(database_url)
        with pytest.raises(DBAPIError) as raised:
            backend_pid(engine)
        assert raised.value.connection_invalidated
        assert backend_pid(engine) > 0  # and the pool recovers on the next checkout
    finally:
        engine.dispose()


def test_the_api_answers_after_the_database_dropped_its_connections(
    app: Flask, client: FlaskClient, database_url: str
) -> None:
    assert client.get("/healthz").status_code == 200  # the app's pool holds a connection
    drop_other_connections(database_url)
    time.sleep(db.PING_AFTER_IDLE_SECONDS + 0.1)

    response = client.get("/healthz")

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"status": "ok", "database": "postgresql"}
