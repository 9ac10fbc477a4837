"""What happens after sensor events are stored: lanes follow their scales, zones ask for help.

The writer calls :func:`handle_batch` inside the transaction that stored the events, so a
handler's writes commit (or roll back) together with them and before the broker gets its acks.
Handlers never publish: they return the messages to send, and the bridge publishes them on its
own MQTT connection once the transaction has committed (a rolled-back batch must not have told
a tablet anything; its retry computes them again). :func:`tick` is the same for what happens
with time rather than with messages (escalations, shelf vs system), run on the bridge's timer.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from iot_bridge import topics
from iot_bridge.payloads import Ack, SensorReading
from store_api import config
from store_api.errors import NotFound
from store_api.sensors.service import InboundMessage, dead_letter
from store_api.shelves import service as shelves

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outgoing:
    """A message to publish after commit."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


def staff_notice(notice: shelves.Notice, tablet: str = topics.ALL_TABLETS) -> Outgoing:
    return Outgoing(
        topics.staff_notify(notice.store, tablet),
        json.dumps(notice.payload, separators=(",", ":"), ensure_ascii=False).encode(),
    )


@functools.cache
def help_settings() -> shelves.HelpSettings:
    return shelves.HelpSettings.from_config(config.load(), config.instance_folder())


@functools.cache
def discrepancy_settings() -> shelves.DiscrepancySettings:
    return shelves.DiscrepancySettings.from_config(config.load())


def handle_batch(
    session: Session,
    events: Sequence[SensorReading],
    acks: Sequence[tuple[Ack, InboundMessage]] = (),
) -> list[Outgoing]:
    """Apply the newly stored (not duplicate) events of one batch and the tablets'
    acknowledgements; return what to publish once the batch has committed."""
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
    notices: list[shelves.Notice] = []
    for store, lane_readings in weights.items():
        # Device time orders the readings of a lane (a batch may mix devices' arrival order).
        lane_readings.sort(key=lambda r: r.ts)
        changes = shelves.apply_weights(session, store, lane_readings)
        notices += shelves.refill_notices(session, store, changes, help_settings().policy)
    for store, zone_readings in presences.items():
        zone_readings.sort(key=lambda r: r.ts)
        notices += shelves.apply_presence(session, store, zone_readings, help_settings())
    for ack, message in acks:
        notices += acknowledge(session, ack, message)
    return [staff_notice(n) for n in notices]


def acknowledge(session: Session, ack: Ack, message: InboundMessage) -> list[shelves.Notice]:
    """A tablet answered an alert: the same verb as the API; every tablet hears of it.

    The tablet's time says when the seller answered, but it may not be later than the bridge
    received the message. An unknown alert is dead-lettered like any message that names
    something unknown.
    """
    store = topics.parse(message.topic).store
    try:
        alert = shelves.acknowledge(
            session, store, ack.alert_id, ack.by, min(ack.ts, message.received_at)
        )
    except NotFound:
        session.add(dead_letter(message, f"unknown help alert {ack.alert_id}"))
        return []
    # Also when already acknowledged: a redelivered ack repeats a notice that may be lost.
    return [shelves.Notice(store, {"type": "help.acknowledged", **shelves.alert_dict(alert)})]


def tick(session: Session, store: str, now: dt.datetime) -> list[Outgoing]:
    """Time-driven work, in one transaction: escalate forgotten alerts (tablets are told),
    compare the shelves with the stock ledger for the windows that just ended (the owner sees
    those through the API and the outbox)."""
    notices = shelves.escalate_due(session, store, now, help_settings())
    raised = shelves.evaluate_discrepancies(session, store, now, discrepancy_settings())
    for found in raised:
        log.warning(
            "shelf vs system: %s %s, %d unit(s) in %s..%s",
            found.sku,
            found.kind,
            found.difference,
            found.window_start.isoformat(),
            found.window_end.isoformat(),
        )
    return [staff_notice(n) for n in notices]
