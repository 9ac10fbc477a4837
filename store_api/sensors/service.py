"""Store a batch of sensor messages: validate, dead-letter, insert once, detect seq gaps.

Callers frame the transaction (``with db.write(session): store_batch(...)``); nothing here
commits. Devices are registered on their first valid event when ``auto_register`` is on (the
default, so a new shelf needs no set-up); with it off, events from devices that are not in
``sensor_devices`` are dead-lettered as unknown.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from iot_bridge import payloads, topics
from store_api.sensors.models import DeadLetter, SensorDevice, SeqGap

log = logging.getLogger(__name__)

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
    # Tablets' acknowledgements of help alerts: not sensor events, applied by the handlers.
    acks: list[tuple[payloads.Ack, InboundMessage]] = field(default_factory=list)


# PostgreSQL: the batch goes as one JSON document, unpacked by the server. One short
# statement whatever the batch size (a multi-row VALUES has 12 placeholders per event, and
# psycopg took longer to split that query text than the server took to insert), and no
# per-element quoting in Python (text arrays of payloads cost psycopg a regex per element).
_INSERT_EVENTS_JSON = text(
    "INSERT INTO sensor_events "
    "(device_id, event_id, seq, kind, store, shelf, lane, zone, door, ts, received_at, payload) "
    "SELECT e.d, e.e, e.s, e.k, :store, e.sh, e.l, e.z, e.dr, e.t, e.r, e.p::json "
    "FROM json_to_recordset(CAST(:rows AS json)) AS e("
    "d varchar, e varchar, s bigint, k varchar, sh varchar, l varchar, z varchar, dr varchar, "
    "t timestamptz, r timestamptz, p text) "
    "ON CONFLICT (device_id, event_id) DO NOTHING RETURNING device_id, event_id"
)


# SQLite: one multi-row INSERT per chunk, run as driver SQL with positional parameters.
# SQLAlchemy's per-row parameter processing (a type per column, datetimes formatted in Python)
# cost more than SQLite took to insert; timestamps go in formatted as SQLAlchemy stores them.
_SQLITE_ROW = "(" + ",".join("?" * 12) + ")"
_SQLITE_INSERT = (
    "INSERT INTO sensor_events "
    "(device_id, event_id, seq, kind, store, shelf, lane, zone, door, ts, received_at, payload) "
    "VALUES {rows} ON CONFLICT (device_id, event_id) DO NOTHING RETURNING device_id, event_id"
)
# 12 parameters a row; SQLite allows 32766 parameters a statement.
_SQLITE_CHUNK = 1000


def _sqlite_time(value: dt.datetime) -> str:
    """What SQLAlchemy's SQLite DATETIME stores (naive UTC, always with microseconds)."""
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


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
            if topic.kind == "ack":
                result.acks.append((payloads.parse_ack(topic, message.payload), message))
                continue
            reading = payloads.parse(topic, message.payload)
        except ValueError as exc:  # TopicError and PayloadError
            dead.append(dead_letter(message, str(exc)))
            continue
        except Exception as exc:
            # A failure nobody foresaw is this message's, not the batch's: it must never stop
            # the others (the review found RecursionError and OverflowError here).
            log.exception("could not read a message on %s; dead-lettered", message.topic)
            dead.append(dead_letter(message, f"could not read: {type(exc).__name__}: {exc}"))
            continue
        readings.append((reading, message))

    devices = _devices(session, {r.device_id for r, _ in readings})
    accepted: dict[tuple[str, str], tuple[payloads.SensorReading, InboundMessage]] = {}
    for reading, message in readings:
        if reading.device_id not in devices and not auto_register:
            dead.append(dead_letter(message, f"unknown device {reading.device_id!r}"))
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


def dead_letter(message: InboundMessage, reason: str) -> DeadLetter:
    return DeadLetter(
        topic=storable_text(message.topic)[:1024],
        raw=bytes(message.payload),
        reason=storable_text(reason)[:1000],
        received_at=message.received_at,
    )


def storable_text(value: str) -> str:
    """The text with what a database would refuse escaped (NUL, lone surrogates): a dead
    letter must always be writable, whatever the message held."""
    if payloads.storable(value):
        return value
    return value.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode()


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
        document = [
            {
                "d": reading.device_id,
                "e": reading.event_id,
                "s": reading.seq,
                "k": reading.topic.kind,
                "sh": reading.topic.shelf,
                "l": reading.topic.lane,
                "z": reading.topic.zone,
                "dr": reading.topic.door,
                "t": reading.ts.isoformat(),
                "r": message.received_at.isoformat(),
                "p": _payload_text(reading),
            }
            for reading, message in rows
        ]
        result = connection.execute(
            _INSERT_EVENTS_JSON, {"store": store, "rows": json.dumps(document)}
        )
        return {(d, e) for d, e in result}
    if dialect != "sqlite":
        raise RuntimeError(f"unsupported database {dialect}")
    new: set[tuple[str, str]] = set()
    for first in range(0, len(rows), _SQLITE_CHUNK):
        chunk = rows[first : first + _SQLITE_CHUNK]
        values: list[Any] = []
        for reading, message in chunk:
            topic = reading.topic
            values += (
                reading.device_id,
                reading.event_id,
                reading.seq,
                topic.kind,
                store,
                topic.shelf,
                topic.lane,
                topic.zone,
                topic.door,
                _sqlite_time(reading.ts),
                _sqlite_time(message.received_at),
                _payload_text(reading),
            )
        statement = _SQLITE_INSERT.format(rows=",".join([_SQLITE_ROW] * len(chunk)))
        new.update((d, e) for d, e in connection.exec_driver_sql(statement, tuple(values)))
    return new


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
        online = True
        # Plain locals in the loop, one ORM write per device after it (ORM sets cost).
        last = device.last_seq
        readings.sort(key=_seq_of)
        for reading in readings:
            seq = reading.seq
            if reading.topic.kind == "status":
                online = reading.payload["state"] == "online"
                if "battery" in reading.payload:
                    device.battery = float(reading.payload["battery"])
            if last is not None and seq > last + 1:
                session.add(
                    SeqGap(device_id=device_id, expected=last + 1, got=seq, detected_at=now)
                )
                gaps += 1
            # A lower seq is a late event (or the device restarted its counter): no gap.
            if last is None or seq > last:
                last = seq
        device.online = online
        device.last_seq = last
    return gaps


def _seq_of(reading: payloads.SensorReading) -> int:
    return reading.seq
