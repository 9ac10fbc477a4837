"""``python -m iot_bridge.labels``: keep the shelf labels' retained states up to date.

Follows the outbox (``product.*``, ``stock.changed``) from a cursor kept in the database,
recomputes the states of the labels those events touch, and publishes a state (retained,
QoS 1) on ``comptoir/v1/{store}/label/{label}/state`` only when it changed, after the
transaction that stored it committed. After every (re)connect it republishes every state, so a
broker that lost its retained messages is repaired.

It logs in as its own broker user (``COMPTOIR_MQTT_LABELS_URL``, default
``mqtt://labels:labels-demo@127.0.0.1:1883``), not the bridge's: the broker binds client ids
to users, so two processes with one login would keep taking each other's connection.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from iot_bridge import settings as bridge_settings
from store_api import config, db
from store_api.shelves import service as shelves
from store_api.shelves.models import LabelState

log = logging.getLogger(__name__)


def label_topic(store: str, label: str) -> str:
    return f"comptoir/v1/{store}/label/{label}/state"


def state_payload(state: LabelState) -> bytes:
    return json.dumps(
        {"v": 1, **state.state, "updated_at": state.updated_at.isoformat()},
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


class LabelPublisher:
    def __init__(
        self,
        settings: bridge_settings.Settings,
        help_settings: shelves.HelpSettings,
        poll_seconds: float = 1.0,
        login: bridge_settings.Login | None = None,
    ) -> None:
        self.settings = settings
        self.login = login or bridge_settings.labels_login()
        self.help_settings = help_settings
        self.poll_seconds = poll_seconds
        self.store = settings.store_id
        self.engine = db.make_engine(settings.database_url)
        self.sessions = db.make_sessionmaker(self.engine)
        self.stopping = threading.Event()
        self.resend_all = threading.Event()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"comptoir-labels-{settings.store_id}",
            protocol=mqtt.MQTTv5,
        )
        if self.login.username:
            client.username_pw_set(self.login.username, self.login.password)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        self.client = client

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        if reason.is_failure:
            log.warning("the broker refused the label publisher: %s", reason)
            return
        log.info("connected: publishing the labels' states")
        self.resend_all.set()  # the loop thread does it: never block in a callback

    def publish(self, states: Sequence[LabelState]) -> None:
        for state in states:
            self.client.publish(
                label_topic(self.store, state.label), state_payload(state), qos=1, retain=True
            )

    def step(self) -> int:
        """One poll: update and publish the changed labels (all of them after a connect)."""
        session = self.sessions()
        try:
            with db.write(session):
                changed = shelves.poll_labels(session, self.store, self.help_settings, db.utcnow())
            if self.resend_all.is_set():
                self.resend_all.clear()
                with db.read(session):
                    changed = shelves.label_states(session, self.store)
                    self.publish(changed)
            else:
                self.publish(changed)  # committed: now the labels may hear it
            return len(changed)
        finally:
            session.close()

    def run(self) -> None:
        self.client.connect_async(self.login.host, self.login.port, keepalive=30)
        self.client.loop_start()
        try:
            while not self.stopping.is_set():
                try:
                    self.step()
                except Exception:
                    log.exception("label update failed; retrying")
                self.stopping.wait(self.poll_seconds)
        finally:
            self.client.disconnect()
            self.client.loop_stop()
            self.engine.dispose()


def parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="python -m iot_bridge.labels",
        description="Keep the shelf labels' retained states up to date (docs/iot.md, "
        '"Shelf labels"): follow the outbox, publish a label\'s state when it changes.',
        epilog="environment: COMPTOIR_DATABASE_URL, COMPTOIR_STORE_ID, COMPTOIR_MQTT_LABELS_URL "
        "(its own login, default mqtt://labels:labels-demo@127.0.0.1:1883), "
        "COMPTOIR_LABEL_POLL_SECONDS (1)",
    )


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    cli.parse_args(argv)  # --help and unknown arguments exit here, before anything connects
    try:
        settings = bridge_settings.load()
        login = bridge_settings.labels_login()
    except ValueError as exc:
        cli.error(str(exc))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    app_config = config.load()
    publisher = LabelPublisher(
        settings,
        shelves.HelpSettings.from_config(app_config, config.instance_folder()),
        poll_seconds=float(app_config["LABEL_POLL_SECONDS"]),
        login=login,
    )

    def _stop(_signum: int, _frame: FrameType | None) -> None:
        publisher.stopping.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log.info(
        "shelf labels of store %s on %s:%d as %s",
        settings.store_id,
        login.host,
        login.port,
        login.username,
    )
    publisher.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
