"""What happens after sensor events are stored: lanes follow their scales, zones ask for help.

The writer calls :func:`handle_batch` inside the transaction that stored the events, so a
handler's writes commit (or roll back) together with them and before the broker gets its acks.
Handlers never publish inside the transaction: they return the messages to send, and in the
bridge's writer process those go out from an ``after_commit`` hook (a rolled-back batch must
not have told a tablet anything; its retry computes them again).
"""

from __future__ import annotations

import functools
import json
import logging
import multiprocessing
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from iot_bridge import settings as bridge_settings
from iot_bridge.payloads import SensorReading
from store_api import config
from store_api.shelves import service as shelves

log = logging.getLogger(__name__)

# The name writer.py gives its child process: only there do handlers publish themselves.
WRITER_PROCESS = "comptoir-writer"


@dataclass(frozen=True)
class Outgoing:
    """A message to publish after commit."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


def staff_notice(notice: shelves.Notice, tablet: str = "all") -> Outgoing:
    return Outgoing(
        f"comptoir/v1/{notice.store}/staff/{tablet}/notify",
        json.dumps(notice.payload, separators=(",", ":")).encode(),
    )


@functools.cache
def help_settings() -> shelves.HelpSettings:
    return shelves.HelpSettings.from_config(config.load(), bridge_settings.ROOT / "instance")


def handle_batch(session: Session, events: Sequence[SensorReading]) -> list[Outgoing]:
    """Apply the newly stored (not duplicate) events of one batch; return what to publish."""
    weights: dict[str, list[shelves.WeightReading]] = defaultdict(list)
    presences: dict[str, list[shelves.PresenceReading]] = defaultdict(list)
    for reading in events:
        topic = reading.topic
        kind = reading.kind
        if kind == "weight" and topic.shelf is not None and topic.lane is not None:
            weights[topic.store].append(
                shelves.WeightReading(
                    topic.shelf, topic.lane, float(reading.payload["grams"]), reading.ts
                )
            )
        elif kind == "presence" and topic.zone is not None:
            presences[topic.store].append(
                shelves.PresenceReading(topic.zone, bool(reading.payload["occupied"]), reading.ts)
            )
    outgoing: list[Outgoing] = []
    for store, lane_readings in weights.items():
        # Device time orders the readings of a lane (a batch may mix devices' arrival order).
        lane_readings.sort(key=lambda r: r.ts)
        shelves.apply_weights(session, store, lane_readings)
    for store, zone_readings in presences.items():
        zone_readings.sort(key=lambda r: r.ts)
        settings = help_settings()
        notices = shelves.apply_presence(session, store, zone_readings, settings)
        # Presence sensors beat every few seconds: a good moment to escalate forgotten alerts
        # (in device time, as dwells are: one clock for both).
        notices += shelves.escalate_due(session, store, zone_readings[-1].ts, settings)
        outgoing += [staff_notice(n) for n in notices]
    if outgoing and multiprocessing.current_process().name == WRITER_PROCESS:
        publisher = _publisher()
        event.listen(session, "after_commit", lambda _s: publisher.send(outgoing), once=True)
    return outgoing


class Publisher:
    """The writer process's own MQTT connection for what the handlers send (QoS 1)."""

    def __init__(self, settings: bridge_settings.Settings) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{settings.client_id}-out",
            protocol=mqtt.MQTTv5,
        )
        if settings.username:
            client.username_pw_set(settings.username, settings.password)
        client.max_queued_messages_set(0)  # queue while (re)connecting
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.connect_async(settings.host, settings.port, keepalive=30)
        client.loop_start()
        self.client = client

    def send(self, messages: Sequence[Outgoing]) -> None:
        for message in messages:
            try:
                self.client.publish(
                    message.topic, message.payload, qos=message.qos, retain=message.retain
                )
            except Exception:  # an after_commit hook must not raise: the batch is committed
                log.exception("could not publish to %s", message.topic)


@functools.cache
def _publisher() -> Publisher:
    return Publisher(bridge_settings.load())
