"""Store a batch of sensor messages: validate, dead-letter, insert once, detect seq gaps.

Callers frame the transaction (``with db.write(session): store_batch(...)``); nothing here
commits. Devices are registered on their first valid event when ``auto_register`` is on (the
default, so a new shelf needs no set-up); with it off, events from devices that are not in
``sensor_devices`` are dead-lettered as unknown.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Text, bindparam, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from iot_bridge import payloads, topics
from store_api.sensors.models import DeadLetter, SensorDevice, SensorEvent, SeqGap

DEVICE_KIND = {"weight": "shelf", "presence": "zone", "footfall": "door"}


class InboundMessage(NamedTuple):
    # A tuple, not a dataclass: one is made per MQTT message and pickled to the writer process.
    topic: str
    payload: bytes
    received_at: dt.datetime


@dataclass
class BatchResult:
    stored: list[payloads.SensorReading] = field(default_factory=list)
    duplicates: int = 0
    dead_letters: int = 0
    gaps: int = 0
    ignored: int = 0  # our own outgoing topics and status


_EVENT_COLUMNS = (
    *("device_id", "event_id", "seq", "kind", "shelf", "lane", "zone", "door"),
    *("ts", "received_at", "payload"),
)
# PostgreSQL: one row per array element. One short statement whatever the batch size: the
# multi-row VALUES that executemany builds has 12 placeholders per event, and psycopg spent
# more time splitting that query text than the server spent inserting.
_INSERT_EVENTS_UNNEST = text(
    "INSERT INTO sensor_events "
    "(device_id, event_id, seq, kind, store, shelf, lane, zone, door, ts, received_at, payload) "
    "SELECT device_id, event_id, seq, kind, :store, shelf, lane, zone, door, ts, received_at, "
    "payload::json FROM unnest("
    "CAST(:device_id AS varchar[]), CAST(:event_id AS varchar[]), CAST(:seq AS bigint[]), "
    "CAST(:kind AS varchar[]), CAST(:shelf AS varchar[]), CAST(:lane AS varchar[]), "
    "CAST(:zone AS varchar[]), CAST(:door AS varchar[]), CAST(:ts AS timestamptz[]), "
    "CAST(:received_at AS timestamptz[]), CAST(:payload AS text[])) "
    "AS e(device_id, event_id, seq, kind, shelf, lane, zone, door, ts, received_at, payload) "
    "ON CONFLICT (device_id, event_id) DO NOTHING RETURNING device_id, event_id"
)


@cache
def _insert_events_statement() -> Any:
    """SQLite: INSERT ... ON CONFLICT DO NOTHING RETURNING the new keys, run as executemany.

    The payload goes in as the text the device sent: a JSON column would re-serialise the
    parsed object, and SQLite stores JSON as text anyway.
    """
    table: Any = SensorEvent.__table__
    return (
        sqlite.insert(table)
        .values(payload=bindparam("payload", type_=Text()))
        .on_conflict_do_nothing(index_elements=["device_id", "event_id"])
        .returning(table.c.device_id, table.c.event_id)
    )


def store_batch(
    session: Session,
    store: str,
    messages: Sequence[InboundMessage],
    *,
    now: dt.datetime,
    auto_register: bool = True,
    ignore_devices: frozenset[str] = frozenset(),
) -> BatchResult:
    """Store what is valid, dead-letter the rest; duplicates are counted, not stored."""
    result = BatchResult()
    readings: list[tuple[payloads.SensorReading, InboundMessage]] = []
    dead: list[DeadLetter] = []
    for message in messages:
        try:
            topic = topics.parse(message.topic)
            if topic.kind == "outgoing" or topic.device in ignore_devices:
                result.ignored += 1
                continue
            if topic.store != store:
                raise payloads.PayloadError(f"topic is for store {topic.store!r}, not {store!r}")
            reading = payloads.parse(topic, message.payload)
        except ValueError as exc:  # TopicError and PayloadError
            dead.append(_dead_letter(message, str(exc)))
            continue
        readings.append((reading, message))

    devices = _devices(session, {r.device_id for r, _ in readings})
    accepted: dict[tuple[str, str], tuple[payloads.SensorReading, InboundMessage]] = {}
    for reading, message in readings:
        if reading.device_id not in devices and not auto_register:
            dead.append(_dead_letter(message, f"unknown device {reading.device_id!r}"))
            continue
        key = (reading.device_id, reading.event_id)
        if key in accepted:
            result.duplicates += 1
        else:
            accepted[key] = (reading, message)

    session.add_all(dead)
    result.dead_letters = len(dead)
    inserted = _insert_events(session, store, list(accepted.values()))
    result.duplicates += len(accepted) - len(inserted)
    result.stored = [accepted[key][0] for key in accepted if key in inserted]
    result.gaps = _update_devices(session, store, devices, result.stored, now)
    return result


def _dead_letter(message: InboundMessage, reason: str) -> DeadLetter:
    return DeadLetter(
        topic=message.topic[:1024],
        raw=message.payload,
        reason=reason[:1000],
        received_at=message.received_at,
    )


def _devices(session: Session, ids: set[str]) -> dict[str, SensorDevice]:
    if not ids:
        return {}
    # Locked in key order: two bridges of the same store never interleave device updates.
    rows = session.scalars(
        select(SensorDevice)
        .where(SensorDevice.device_id.in_(sorted(ids)))
        .order_by(SensorDevice.device_id)
        .with_for_update()
    )
    return {device.device_id: device for device in rows}


def _insert_events(
    session: Session,
    store: str,
    rows: list[tuple[payloads.SensorReading, InboundMessage]],
) -> set[tuple[str, str]]:
    """INSERT ... ON CONFLICT DO NOTHING; return the keys that were new."""
    if not rows:
        return set()
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect == "postgresql":
        columns: dict[str, list[Any]] = {name: [] for name in _EVENT_COLUMNS}
        for reading, message in rows:
            topic = reading.topic
            columns["device_id"].append(reading.device_id)
            columns["event_id"].append(reading.event_id)
            columns["seq"].append(reading.seq)
            columns["kind"].append(topic.kind)
            columns["shelf"].append(topic.shelf)
            columns["lane"].append(topic.lane)
            columns["zone"].append(topic.zone)
            columns["door"].append(topic.door)
            columns["ts"].append(reading.ts)
            columns["received_at"].append(message.received_at)
            columns["payload"].append(_payload_text(reading))
        result = connection.execute(_INSERT_EVENTS_UNNEST, {"store": store, **columns})
        return {(d, e) for d, e in result}
    if dialect != "sqlite":
        raise RuntimeError(f"unsupported database {dialect}")
    values = [
        {
            "device_id": reading.device_id,
            "event_id": reading.event_id,
            "seq": reading.seq,
            "kind": reading.kind,
            "store": store,
            "shelf": reading.topic.shelf,
            "lane": reading.topic.lane,
            "zone": reading.topic.zone,
            "door": reading.topic.door,
            "ts": reading.ts,
            "received_at": message.received_at,
            "payload": _payload_text(reading),
        }
        for reading, message in rows
    ]
    # executemany: "insertmanyvalues" batches it into multi-row INSERTs with RETURNING; core,
    # not ORM, because it is ~10x cheaper.
    result = connection.execute(_insert_events_statement(), values)
    return {(d, e) for d, e in result}


def _payload_text(reading: payloads.SensorReading) -> str:
    return reading.text if reading.text is not None else json.dumps(reading.payload)


def _update_devices(
    session: Session,
    store: str,
    devices: dict[str, SensorDevice],
    stored: list[payloads.SensorReading],
    now: dt.datetime,
) -> int:
    """Record last_seen/online/battery and the gaps in each device's sequence numbers."""
    by_device: dict[str, list[payloads.SensorReading]] = {}
    for reading in stored:
        by_device.setdefault(reading.device_id, []).append(reading)
    gaps = 0
    for device_id, readings in sorted(by_device.items()):
        device = devices.get(device_id)
        if device is None:
            first = readings[0]
            device = SensorDevice(
                device_id=device_id,
                kind=DEVICE_KIND.get(first.kind, "device"),
                store=store,
                online=False,
            )
            session.add(device)
            devices[device_id] = device
        elif device.kind == "device" and readings[0].kind in DEVICE_KIND:
            device.kind = DEVICE_KIND[readings[0].kind]
        device.last_seen = now
        device.online = True
        for reading in sorted(readings, key=lambda r: r.seq):
            if reading.kind == "status":
                device.online = reading.payload["state"] == "online"
                if "battery" in reading.payload:
                    device.battery = float(reading.payload["battery"])
            if device.last_seq is not None and reading.seq > device.last_seq + 1:
                session.add(
                    SeqGap(
                        device_id=device_id,
                        expected=device.last_seq + 1,
                        got=reading.seq,
                        detected_at=now,
                    )
                )
                gaps += 1
            # A lower seq is a late event (or the device restarted its counter): no gap.
            if device.last_seq is None or reading.seq > device.last_seq:
                device.last_seq = reading.seq
    return gaps
