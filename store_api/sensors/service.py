"""Store a batch of sensor messages: validate, dead-letter, insert once, detect seq gaps.

Callers frame the transaction (``with db.write(session): store_batch(...)``); nothing here
commits. Devices are registered on their first valid event when ``auto_register`` is on (the
default, so a new shelf needs no set-up); with it off, events from devices that are not in
``sensor_devices`` are dead-lettered as unknown.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from iot_bridge import payloads, topics
from store_api.sensors.models import DeadLetter, SensorDevice, SensorEvent, SeqGap

DEVICE_KIND = {"weight": "shelf", "presence": "zone", "footfall": "door"}


@dataclass(frozen=True)
class InboundMessage:
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


def _insert(session: Session, table: Any) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"unsupported database {dialect}")


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
            "payload": reading.payload,
        }
        for reading, message in rows
    ]
    # One cached statement run as executemany ("insertmanyvalues" batches it into multi-row
    # INSERTs with RETURNING on both backends); core, not ORM, because it is ~10x cheaper.
    table = SensorEvent.__table__
    statement = (
        _insert(session, table)
        .on_conflict_do_nothing(index_elements=["device_id", "event_id"])
        .returning(table.c.device_id, table.c.event_id)
    )
    result = session.connection().execute(statement, values)
    inserted = {(d, e) for d, e in result}
    return inserted


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
