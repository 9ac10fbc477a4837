"""A throwaway real Mosquitto for tests and benches, plus the bridge as a subprocess.

Each broker gets a temporary directory (config, password file, ACL, persistence data) and a
free port; ``restart()`` stops it cleanly (SIGTERM saves the persistence file) and starts it
again on the same port and data. As root, Mosquitto would switch to the ``mosquitto`` user,
who cannot read pytest's private temporary directories, so the config says ``user root``.

The config and the ACL are the production ones (``config/mosquitto``): a login is its client
id, so every client here has its own login. The tests' observers are extra logins that only
read (``watcher-N``, added to the ACL copy of the test broker only): :meth:`Broker.watcher`
hands out a fresh one to each :class:`Subscriber`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from tests.servers import ROOT, free_port

INSTALL_HINT = "install Mosquitto: `apt-get install -y mosquitto` (or make test)"
BRIDGE_USER = ("bridge", "bridge-secret")
LABELS_USER = ("labels", "labels-secret")
# The simulator's login: a gateway the ACL lets write every event topic.
DEVICE_USER = ("simulator", "simulator-secret")
# Devices named after what their topics name: each may write only its own topics.
DOOR_USER = ("door-1", "door-1-secret")
SHELF_USER = ("A", "shelf-a-secret")
# Sellers' tablets are device users too: the ACL lets each write only its own ack topic.
TABLET_USERS = (("tablet-1", "tablet-1-secret"), ("tablet-2", "tablet-2-secret"))
# Read-only observers of the test broker (never in the production ACL).
WATCHERS = tuple((f"watcher-{n}", f"watcher-{n}-secret") for n in range(1, 13))
TEST_ACL = "".join(f"\nuser {user}\ntopic read comptoir/v1/#\n" for user, _ in WATCHERS)


def find_mosquitto() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None
    )
    if not found:
        raise RuntimeError(f"No mosquitto binary found; {INSTALL_HINT}.")
    return found


class Broker:
    def __init__(self, root: Path, port: int) -> None:
        self.root = root
        self.port = port
        self.log = root / "mosquitto.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._watchers = 0

    def url(self, user: tuple[str, str] = BRIDGE_USER) -> str:
        return f"mqtt://{user[0]}:{user[1]}@127.0.0.1:{self.port}"

    def watcher(self) -> tuple[str, str]:
        """A read-only login no other client of this broker has had (they take turns after
        twelve: a login is a client id, so two live clients must not share one)."""
        user = WATCHERS[self._watchers % len(WATCHERS)]
        self._watchers += 1
        return user

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [find_mosquitto(), "-c", str(self.root / "mosquitto.conf")],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited:\n{self.log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"mosquitto did not start:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # a clean stop writes the persistence file
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-3000:]
        return "(no log)"


def write_config(root: Path, port: int) -> None:
    passwd = root / "passwd"
    passwd.touch(mode=0o600)
    users = (BRIDGE_USER, LABELS_USER, DEVICE_USER, DOOR_USER, SHELF_USER, *TABLET_USERS, *WATCHERS)
    for user, password in users:
        subprocess.run(
            ["mosquitto_passwd", "-b", str(passwd), user, password],
            check=True,
            capture_output=True,
            timeout=30,
        )
    acl = (ROOT / "config" / "mosquitto" / "acl").read_text()
    (root / "acl").write_text(acl + TEST_ACL)
    (root / "data").mkdir()
    template = (ROOT / "config" / "mosquitto" / "mosquitto.conf").read_text()
    config = (
        template.replace("@DATA_DIR@", str(root / "data"))
        .replace("@PORT@", str(port))
        .replace("@BIND@", "127.0.0.1")
        .replace("@PASSWORD_FILE@", str(passwd))
        .replace("@ACL_FILE@", str(root / "acl"))
        .replace("@USER_LINE@", "user root" if os.geteuid() == 0 else "")
    )
    (root / "mosquitto.conf").write_text(config)


@contextlib.contextmanager
def mosquitto_server(base_dir: Path | None = None) -> Iterator[Broker]:
    """Run a throwaway Mosquitto (persistence on) and yield it; removed afterwards."""
    find_mosquitto()
    root = Path(tempfile.mkdtemp(prefix="comptoir-mqtt-", dir=base_dir))
    broker = Broker(root, free_port())
    try:
        write_config(root, broker.port)
        broker.start()
        yield broker
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)


# --- the bridge, as the real process -------------------------------------------------------


def start_bridge(
    database_url: str, broker: Broker, log: Path, store: str = "store-1", **env: str
) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "COMPTOIR_DATABASE_URL": database_url,
        "COMPTOIR_MQTT_URL": broker.url(),
        "COMPTOIR_STORE_ID": store,
        **env,
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "iot_bridge"],
            cwd=ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_bridge_online(
    database_url: str, broker: Broker, log: Path, store: str = "store-1", **env: str
) -> subprocess.Popen[bytes]:
    """:func:`start_bridge`, returned once its retained status says "online" (within 30 s;
    stopped again if it never does)."""
    status = Subscriber(broker, f"comptoir/v1/{store}/dev/comptoir-bridge-{store}/status")
    bridge = start_bridge(database_url, broker, log, store, **env)
    try:
        wait_for(lambda: any(b'"online"' in m[1] for m in status.messages), 30, "bridge online")
    except BaseException:
        terminate(bridge)
        raise
    finally:
        status.close()
    return bridge


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL: no goodbye, no flush; the broker publishes the last will."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


def terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            kill(process)


# --- a device-side publisher and a plain subscriber ----------------------------------------


class Publisher:
    """A paho client with a persistent session: QoS 1 messages survive broker restarts."""

    def __init__(
        self,
        broker: Broker,
        client_id: str = "test-publisher",
        user: tuple[str, str] = DEVICE_USER,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.acked = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.client.username_pw_set(*user)
        self.client.max_inflight_messages_set(200)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(min_delay=0.1, max_delay=1)  # type: ignore[arg-type]
        self.client.on_publish = self._on_publish
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", broker.port, clean_start=False, properties=properties)
        self.client.loop_start()

    def _on_publish(self, *_args: object) -> None:
        self.acked += 1

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain)

    def wait_acked(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.acked < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"broker acked {self.acked} of {count} publications")
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Subscriber:
    """Counts (and keeps) what arrives on a topic filter; a bare paho client at QoS 1."""

    def __init__(
        self,
        broker: Broker,
        topic: str,
        client_id: str = "test-subscriber",
        clean_start: bool = True,
        keep: bool = True,
        receive_maximum: int = 1000,
        user: tuple[str, str] | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.topic = topic
        self.keep = keep
        self.count = 0
        self.first_at = 0.0
        self.last_at = 0.0
        self.messages: list[tuple[str, bytes, bool]] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5
        )
        self.user = user or broker.watcher()
        self.subscribed = threading.Event()
        self.client.username_pw_set(*self.user)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = 3600
        properties.ReceiveMaximum = receive_maximum
        self.client.connect(
            "127.0.0.1", broker.port, clean_start=clean_start, properties=properties
        )
        self.client.loop_start()

    def _on_connect(self, client: object, *_args: object) -> None:
        self.client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, *_args: object) -> None:
        self.subscribed.set()

    def wait_subscribed(self, timeout: float = 30) -> None:
        if not self.subscribed.wait(timeout):
            raise TimeoutError(f"no SUBACK for {self.topic}")

    def _on_message(self, _client: object, _userdata: object, message: object) -> None:
        now = time.monotonic()
        if not self.count:
            self.first_at = now
        self.last_at = now
        self.count += 1
        if self.keep:
            m = message  # paho MQTTMessage
            self.messages.append((m.topic, bytes(m.payload), bool(m.retain)))  # type: ignore[attr-defined]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# --- the must-show scenario: publish while the bridge is killed and the broker restarts ----


def event_payload(device: str, seq: int) -> bytes:
    return (
        f'{{"v":1,"event_id":"{device}-{seq}","device_id":"{device}","seq":{seq},'
        f'"ts":"2026-11-27T09:00:00+00:00","grams":{seq % 1000}.5}}'
    ).encode()


def stored_keys(database_url: str) -> set[tuple[str, str]]:
    """(device_id, event_id) of every stored sensor event."""
    from sqlalchemy import select

    from store_api import db
    from store_api.sensors.models import SensorEvent

    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            return {
                (d, e) for d, e in conn.execute(select(SensorEvent.device_id, SensorEvent.event_id))
            }
    finally:
        engine.dispose()


def send_end_marker(
    publisher: Publisher, database_url: str, store: str = "store-1", timeout: float = 60
) -> tuple[str, str]:
    """Publish a valid event after everything else and wait until it is stored: the bridge
    handles one publisher's messages in order, so whatever came before is stored or
    dead-lettered by then (a positive end, where a sleep would prove nothing)."""
    import uuid

    key = ("end-marker", f"end-{uuid.uuid4().hex[:12]}")
    raw = (
        f'{{"v":1,"event_id":"{key[1]}","device_id":"{key[0]}","seq":0,'
        f'"ts":"2026-11-27T09:00:00+00:00","grams":0}}'
    ).encode()
    publisher.publish(f"comptoir/v1/{store}/shelf/END/1/evt/weight", raw)
    wait_for(lambda: key in stored_keys(database_url), timeout, "the end marker stored")
    return key


def child_pids(pid: int) -> list[int]:
    """The processes ``pid`` started (Linux /proc)."""
    found: list[int] = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as file:
                found += [int(child) for child in file.read().split()]
    return found


def alive(pid: int) -> bool:
    """Whether the process exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as file:
            return file.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def crash_scenario(
    database_url: str,
    broker: Broker,
    log_dir: Path,
    total: int,
    rate: float,
    devices: int = 4,
    store: str = "store-1",
) -> dict[str, int]:
    """Publish ``total`` QoS 1 events at about ``rate``/s; SIGKILL the bridge at 20 % and 70 %,
    restart the broker at 45 %. Returns what the database holds."""
    from sqlalchemy import func, select

    from store_api import db
    from store_api.sensors.models import SensorEvent

    engine = db.make_engine(database_url)
    bridge = start_bridge_online(database_url, broker, log_dir / "bridge.log", store)
    publisher: Publisher | None = None
    try:
        publisher = Publisher(broker)
        names = [f"shelf-{d}" for d in range(devices)]
        actions = {int(total * 0.2): "kill", int(total * 0.45): "broker", int(total * 0.7): "kill"}
        started = time.monotonic()
        for i in range(total):
            device = names[i % devices]
            seq = i // devices + 1
            publisher.publish(
                f"comptoir/v1/{store}/shelf/S{i % devices}/{i % 3}/evt/weight",
                event_payload(device, seq),
            )
            action = actions.get(i)
            if action == "kill":
                kill(bridge)
                time.sleep(0.3)
                bridge = start_bridge(database_url, broker, log_dir / "bridge.log", store)
            elif action == "broker":
                broker.restart()
            ahead = (i + 1) / rate - (time.monotonic() - started)
            if ahead > 0:
                time.sleep(ahead)
        publisher.wait_acked(total, timeout=120)

        def stored() -> int:
            with engine.connect() as conn:
                return int(conn.scalar(select(func.count()).select_from(SensorEvent)) or 0)

        with contextlib.suppress(TimeoutError):
            wait_for(lambda: stored() >= total, 120, "all events stored")
        # Anything extra (a duplicate) would have been stored before this marker.
        marker = send_end_marker(publisher, database_url, store)
        with engine.connect() as conn:
            rows = conn.execute(select(SensorEvent.device_id, SensorEvent.event_id)).all()
        rows = [row for row in rows if (row[0], row[1]) != marker]
        keys = {(d, e) for d, e in rows}
        expected = {
            (names[i % devices], f"{names[i % devices]}-{i // devices + 1}") for i in range(total)
        }
        return {
            "published": total,
            "stored": len(rows),
            "lost": len(expected - keys),
            "duplicates": len(rows) - len(keys),
            "unexpected": len(keys - expected),
            "bridge_running": int(bridge.poll() is None),
        }
    finally:
        if publisher is not None:
            publisher.close()
        terminate(bridge)
        engine.dispose()
