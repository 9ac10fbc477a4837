"""The bridge's recovery paths, each through the real process and a real Mosquitto: the
database down at start (and for good), a batch retried after a database error, the writer
process dying, a message from an earlier connection, and a clean stop in every state."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.engine import make_url

from iot_bridge import settings as bridge_settings
from iot_bridge.bridge import Bridge
from iot_bridge.writer import DATABASE_UNAVAILABLE, Pending
from store_api import db
from tests.fixtures.tcp_proxy import TcpProxy
from tests.mqtt_servers import (
    Broker,
    Publisher,
    alive,
    child_pids,
    event_payload,
    kill,
    mosquitto_server,
    send_end_marker,
    start_bridge,
    start_bridge_online,
    stored_keys,
    terminate,
    wait_for,
)
from tests.servers import free_port

STORE = "store-1"
WEIGHT = f"comptoir/v1/{STORE}/shelf/A/1/evt/weight"
UNAVAILABLE = "the database is unavailable"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


class DownDatabase:
    """The test database behind a URL that leads nowhere until :meth:`come_up`."""

    def __init__(self, migrated: str, tmp_path: Path) -> None:
        parsed = make_url(migrated)
        self.proxy: TcpProxy | None = None
        if parsed.get_backend_name() == "sqlite":
            assert parsed.database is not None
            self.real_dir = Path(parsed.database).parent
            self.link = tmp_path / "database-later"
            # Through a directory that does not exist yet: "unable to open database file".
            self.url = f"sqlite:///{self.link / Path(parsed.database).name}"
        else:
            port = free_port()
            self.proxy = TcpProxy(port, (parsed.host or "127.0.0.1", parsed.port or 5432))
            self.url = parsed.set(port=port).render_as_string(hide_password=False)

    def come_up(self) -> None:
        if self.proxy is not None:
            self.proxy.start()
        else:
            self.link.symlink_to(self.real_dir, target_is_directory=True)

    def close(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()


@pytest.fixture
def down_database(migrated: str, tmp_path: Path) -> Iterator[DownDatabase]:
    database = DownDatabase(migrated, tmp_path)
    yield database
    database.close()


def logged(log: Path, needle: str) -> Callable[[], bool]:
    return lambda: log.exists() and needle in log.read_text()


def writer_pid(bridge: subprocess.Popen[bytes]) -> int:
    """The bridge's writer process (its other child is multiprocessing's resource tracker)."""
    found: list[int] = []

    def look() -> bool:
        for pid in child_pids(bridge.pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in command:
                found.append(pid)
                return True
        return False

    wait_for(look, 60, "the writer process")
    return found[0]


def stop_within(process: subprocess.Popen[bytes], seconds: float = 15) -> int:
    """SIGTERM, then its exit code; a process still running after ``seconds`` fails."""
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        kill(process)
        raise AssertionError(f"still running {seconds} s after SIGTERM") from None


def test_a_database_down_at_start_is_waited_for_then_queued_events_are_stored(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path, down_database: DownDatabase
) -> None:
    log = tmp_path / "bridge.log"
    terminate(start_bridge_online(migrated, broker, log))  # its session queues from now on
    publisher = Publisher(broker)
    bridge = start_bridge(down_database.url, broker, log)
    try:
        for seq in range(1, 4):
            publisher.publish(WEIGHT, event_payload("shelf-1", seq))
        publisher.wait_acked(3)
        wait_for(logged(log, UNAVAILABLE), 60, "the bridge saying the database is unavailable")
        assert bridge.poll() is None

        down_database.come_up()
        send_end_marker(publisher, migrated)
        assert {("shelf-1", f"shelf-1-{seq}") for seq in range(1, 4)} <= stored_keys(migrated)
        assert "the database is back" in log.read_text()
    finally:
        publisher.close()
        terminate(bridge)


def test_a_database_that_stays_down_stops_the_bridge_with_exit_code_75(
    app: Flask, broker: Broker, tmp_path: Path, down_database: DownDatabase
) -> None:
    log = tmp_path / "bridge.log"
    bridge = start_bridge(down_database.url, broker, log, COMPTOIR_BRIDGE_DB_RETRY_SECONDS="2")
    try:
        code = bridge.wait(timeout=60)
    finally:
        terminate(bridge)
    assert code == DATABASE_UNAVAILABLE, log.read_text()[-3000:]
    assert "giving up" in log.read_text()
    assert "stayed unavailable" in log.read_text()


def test_sigterm_stops_a_bridge_waiting_for_its_database_and_its_writer(
    app: Flask, broker: Broker, tmp_path: Path, down_database: DownDatabase
) -> None:
    log = tmp_path / "bridge.log"
    bridge = start_bridge(down_database.url, broker, log)
    try:
        child = writer_pid(bridge)
        wait_for(logged(log, UNAVAILABLE), 60, "the database unavailable")
        assert stop_within(bridge) == 0, log.read_text()[-3000:]
        wait_for(lambda: not alive(child), 15, "the writer process gone")
    finally:
        terminate(bridge)


def test_the_writer_process_does_not_outlive_a_killed_bridge(
    app: Flask, broker: Broker, tmp_path: Path, down_database: DownDatabase
) -> None:
    log = tmp_path / "bridge.log"
    bridge = start_bridge(down_database.url, broker, log)
    try:
        child = writer_pid(bridge)
        wait_for(logged(log, UNAVAILABLE), 60, "the database unavailable")  # busy retrying
        kill(bridge)
        wait_for(lambda: not alive(child), 15, "the writer process gone after its bridge")
    finally:
        terminate(bridge)


def test_sigterm_stops_a_running_bridge_and_its_writer(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    bridge = start_bridge_online(migrated, broker, log)
    publisher = Publisher(broker)
    try:
        child = writer_pid(bridge)
        publisher.publish(WEIGHT, event_payload("shelf-1", 1))
        send_end_marker(publisher, migrated)
        assert stop_within(bridge) == 0, log.read_text()[-3000:]
        assert not alive(child)
    finally:
        publisher.close()
        terminate(bridge)


def test_when_the_writer_process_dies_the_bridge_stops_and_nothing_is_lost(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    log = tmp_path / "bridge.log"
    bridge = start_bridge_online(migrated, broker, log)
    publisher = Publisher(broker)
    try:
        for seq in range(1, 51):
            publisher.publish(WEIGHT, event_payload("shelf-1", seq))
            if seq == 25:
                os.kill(writer_pid(bridge), signal.SIGKILL)
        publisher.wait_acked(50)
        assert bridge.wait(timeout=30) == 1, log.read_text()[-3000:]
        assert "the writer process is gone" in log.read_text()

        bridge = start_bridge_online(migrated, broker, log)
        send_end_marker(publisher, migrated)
        shelf = {key for key in stored_keys(migrated) if key[0] == "shelf-1"}
        assert shelf == {("shelf-1", f"shelf-1-{seq}") for seq in range(1, 51)}
    finally:
        publisher.close()
        terminate(bridge)


def test_a_batch_is_retried_after_a_database_error(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path
) -> None:
    """The database fails the batch (SQLite: locked past the busy timeout; PostgreSQL: the
    writer's connection terminated while it waits for a lock): it is retried, unacked, and
    stored once the database is back."""
    log = tmp_path / "bridge.log"
    bridge = start_bridge_online(
        migrated,
        broker,
        log,
        COMPTOIR_SQLITE_BUSY_TIMEOUT_MS="100",
        COMPTOIR_BRIDGE_TIMER_SECONDS="60",
    )
    publisher = Publisher(broker)
    engine = db.engine_for(app)
    try:
        if engine.dialect.name == "sqlite":
            url = make_url(migrated)
            lock = sqlite3.connect(str(url.database), isolation_level=None)
            lock.execute("BEGIN IMMEDIATE")
            try:
                publisher.publish(WEIGHT, event_payload("shelf-1", 1))
                wait_for(logged(log, "kept unacked"), 60, "the batch failing on the lock")
            finally:
                lock.execute("ROLLBACK")
                lock.close()
        else:
            with engine.connect() as conn:
                conn.execute(
                    text("LOCK TABLE sensor_devices, sensor_events IN ACCESS EXCLUSIVE MODE")
                )
                publisher.publish(WEIGHT, event_payload("shelf-1", 1))

                def terminate_waiting_writer() -> bool:
                    with engine.connect() as other:
                        return bool(
                            other.execute(
                                text(
                                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                    "WHERE wait_event_type = 'Lock' AND pid <> :me"
                                ),
                                {"me": conn.connection.dbapi_connection.info.backend_pid},  # type: ignore[union-attr]
                            ).all()
                        )

                wait_for(terminate_waiting_writer, 60, "the writer waiting for the lock")
                wait_for(logged(log, "kept unacked"), 60, "the batch failing")
                conn.rollback()
        send_end_marker(publisher, migrated)
        assert ("shelf-1", "shelf-1-1") in stored_keys(migrated)
        assert bridge.poll() is None
    finally:
        publisher.close()
        terminate(bridge)


# --- a message from an earlier connection -------------------------------------------------


def test_a_message_from_an_earlier_connection_is_not_acked_on_the_new_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Packet ids belong to a connection: acking an old one on a new connection would ack
    another message, stored or not. Its redelivery on the new connection gets the ack."""
    settings = bridge_settings.load({"COMPTOIR_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    bridge = Bridge(settings)
    acked: list[int] = []
    monkeypatch.setattr(bridge.client, "ack", lambda mid, qos: acked.append(mid))
    bridge.generation = 2

    for mid, qos, generation in ((1, 1, 1), (2, 1, 2), (3, 0, 2)):
        bridge._ack(Pending(WEIGHT, b"{}", time.time(), mid, qos, generation))

    assert acked == [2]
