"""Payload validation with marshmallow, as pure functions: bytes + topic in, event out.

Every payload is a JSON object with ``v`` (1), ``event_id``, ``device_id``, ``seq``, ``ts``
(ISO 8601 with a UTC offset, device time) and the fields of its kind. Unknown fields are
refused: a device speaking another payload version must say so with ``v``.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from iot_bridge import topics

VERSION = 1
_NAME = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}$")


class PayloadError(ValueError):
    """The message cannot be stored; the text is the dead letter's reason."""


class _Common(Schema):
    v = fields.Integer(required=True, strict=True, validate=validate.Equal(VERSION))
    event_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    device_id = fields.String(required=True, validate=_NAME)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**62))
    ts = fields.AwareDateTime(required=True, format="iso")


class WeightSchema(_Common):
    grams = fields.Float(required=True, allow_nan=False, validate=validate.Range(-1e6, 1e7))
    # Change since the previous reading, when the device computes it.
    delta_grams = fields.Float(allow_nan=False, validate=validate.Range(-1e7, 1e7))


class PresenceSchema(_Common):
    occupied = fields.Boolean(required=True, truthy={True}, falsy={False})
    people = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))


class FootfallSchema(_Common):
    direction = fields.String(required=True, validate=validate.OneOf(["in", "out"]))
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))


class StatusSchema(_Common):
    state = fields.String(required=True, validate=validate.OneOf(["online", "offline"]))
    battery = fields.Float(allow_nan=False, validate=validate.Range(0, 100))
    firmware = fields.String(validate=validate.Length(max=64))
    rssi = fields.Integer(strict=True)


SCHEMAS: dict[str, Schema] = {
    "weight": WeightSchema(),
    "presence": PresenceSchema(),
    "footfall": FootfallSchema(),
    "status": StatusSchema(),
}


@dataclass(frozen=True)
class SensorReading:
    """A valid event, ready to store."""

    topic: topics.Topic
    device_id: str
    event_id: str
    seq: int
    ts: dt.datetime
    payload: dict[str, Any]  # the JSON object as sent

    @property
    def kind(self) -> str:
        return self.topic.kind


def parse(topic: topics.Topic, raw: bytes) -> SensorReading:
    """Validate one message; raise :class:`PayloadError` with the reason otherwise."""
    schema = SCHEMAS.get(topic.kind)
    if schema is None:
        raise PayloadError(f"no payload for {topic.kind} topics")
    try:
        document = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PayloadError(f"bad JSON: {exc}") from None
    if not isinstance(document, dict):
        raise PayloadError("bad JSON: not an object")
    try:
        data = schema.load(document)
    except ValidationError as exc:
        raise PayloadError(f"invalid payload: {json.dumps(exc.messages, sort_keys=True)}") from None
    if topic.device is not None and data["device_id"] != topic.device:
        raise PayloadError(f"device_id {data['device_id']!r} does not match the topic")
    ts: dt.datetime = data["ts"]
    return SensorReading(
        topic=topic,
        device_id=data["device_id"],
        event_id=data["event_id"],
        seq=data["seq"],
        ts=ts.astimezone(dt.UTC),
        payload=document,
    )


def dump(kind: str, **fields_: Any) -> bytes:
    """Encode a payload (devices, the simulator and tests use it); validates first."""
    document = {"v": VERSION, **fields_}
    if isinstance(document.get("ts"), dt.datetime):
        document["ts"] = document["ts"].isoformat()
    errors = SCHEMAS[kind].validate(document)
    if errors:
        raise PayloadError(f"invalid payload: {errors}")
    return json.dumps(document, separators=(",", ":")).encode()
