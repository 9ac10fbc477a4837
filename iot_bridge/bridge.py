"""The MQTT side: a persistent MQTT v5 session, QoS 1, manual acks after commit.

* ``clean_start=False`` plus a Session Expiry Interval: the broker keeps our subscription and
  queues messages while the bridge is down (without the interval, MQTT v5 ends the session at
  disconnect and the queued messages with it).
* ``manual_ack=True``: the writer acks a message only once its batch is committed.
* Receive Maximum bounds how many unacked messages the broker sends us at once.
* Subscriptions are made in ``on_connect`` so that every reconnect has them.
* A retained ``online`` status, and a last will ``offline`` on the same topic.
* paho's network loop runs in its own thread (``loop_start``): acks and notices from the
  writer's threads are queued for it rather than written to the socket by the caller.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from iot_bridge import topics
from iot_bridge.handlers import Outgoing
from iot_bridge.settings import Settings
from iot_bridge.writer import Pending, Writer
from store_api import db

log = logging.getLogger(__name__)


def status_payload(device_id: str, state: str, seq: int) -> bytes:
    now = db.utcnow()
    return json.dumps(
        {
            "v": 1,
            "event_id": f"{state}-{now.timestamp():.6f}",
            "device_id": device_id,
            "seq": seq,
            "ts": now.isoformat(),
            "state": state,
        }
    ).encode()


class Bridge:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.device_id = settings.client_id
        self.status_topic = topics.status(settings.store_id, self.device_id)
        self.generation = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._done = threading.Event()
        self.writer = Writer(
            settings.database_url,
            settings.store_id,
            self._ack,
            self._publish,
            batch_size=settings.batch_size,
            batch_seconds=settings.batch_seconds,
            timer_seconds=settings.timer_seconds,
            auto_register=settings.auto_register,
            ignore_devices=frozenset({self.device_id}),
            retry_seconds=settings.db_retry_seconds,
            sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        )
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=mqtt.MQTTv5,
            manual_ack=True,
        )
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        client.max_queued_messages_set(0)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.will_set(
            self.status_topic, status_payload(self.device_id, "offline", 0), qos=1, retain=True
        )
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client
        self.failed = False
        self.writer.on_failure = self._writer_failed

    @property
    def exit_code(self) -> int:
        """0 after a stop, the writer's code when it stopped the bridge (75: the database
        stayed unavailable, 1: the writer process died)."""
        return self.writer.exit_code if self.failed else 0

    def connect_properties(self) -> Properties:
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.settings.session_expiry_seconds
        properties.ReceiveMaximum = self.settings.receive_maximum
        return properties

    def run(self) -> None:
        """Connect (retrying with backoff) and process messages until :meth:`stop`."""
        self.writer.start()
        # Connect once the writer process can store: the broker's first burst (up to Receive
        # Maximum messages) would otherwise wait unacked while it starts.
        while not self.writer.ready.wait(0.2) and not self._stopping:
            pass
        if self.failed or self._stopping:
            self.writer.stop()
            self.writer.join()  # bounded: the writer stops its process within seconds
            return
        self.client.connect_async(
            self.settings.host,
            self.settings.port,
            keepalive=30,
            clean_start=False,
            properties=self.connect_properties(),
        )
        self.client.loop_start()
        self._done.wait()
        self.client.loop_stop()
        self.writer.stop()
        self.writer.join()

    def stop(self) -> None:
        """Say offline (retained), then disconnect; unacked messages come back next time."""
        self._stopping = True
        # Queued before the DISCONNECT packet, so it goes out first.
        self.client.publish(
            self.status_topic, status_payload(self.device_id, "offline", 0), qos=1, retain=True
        )
        self.client.disconnect()
        if not self.client.is_connected():
            self._done.set()  # no DISCONNECT to wait for

    def _writer_failed(self) -> None:
        self.failed = self.writer.exit_code != 0
        self._stopping = True
        self.client.disconnect()
        if not self.client.is_connected():
            self._done.set()

    # --- callbacks: never raise, never block --------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the connection: %s", reason)
            return
        with self._lock:
            self.generation += 1
        log.info("connected (session present: %s)", flags.session_present)
        options = SubscribeOptions(qos=1, noLocal=True, retainHandling=1)
        client.subscribe(topics.subscription(self.settings.store_id), options=options)
        client.publish(
            self.status_topic, status_payload(self.device_id, "online", 0), qos=1, retain=True
        )

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        log.info("disconnected: %s", reason)
        if self._stopping:
            self._done.set()

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            try:
                topic = message.topic
            except UnicodeDecodeError:  # Mosquitto checks topics are UTF-8; never trust it alone
                topic = bytes(getattr(message, "_topic", b"")).decode(errors="replace")
            self.writer.put(
                Pending(
                    topic,
                    bytes(message.payload),
                    time.time(),
                    message.mid,
                    message.qos,
                    self.generation,
                )
            )
        except Exception:  # a callback must not raise: the message will come back unacked
            log.exception("could not queue a message")

    def _publish(self, message: Outgoing) -> None:
        """What the handlers asked for, once their transaction committed (writer thread)."""
        try:
            self.client.publish(
                message.topic, message.payload, qos=message.qos, retain=message.retain
            )
        except Exception:
            log.exception("could not publish to %s", message.topic)

    def _ack(self, pending: Pending) -> None:
        if pending.qos == 0 or pending.generation != self.generation:
            return  # a redelivery on the new connection gets its own ack
        try:
            self.client.ack(pending.mid, pending.qos)
        except Exception:
            log.exception("ack failed")
