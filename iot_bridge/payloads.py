"""Payload validation, as pure functions: bytes + topic in, event out.

Every payload is a JSON object with ``v`` (1), ``event_id``, ``device_id``, ``seq``, ``ts``
(ISO 8601 with a UTC offset, device time) and the fields of its kind. Unknown fields are
refused: a device speaking another payload version must say so with ``v``.

The marshmallow schemas below are the contract. Checking a payload with them costs about
60 us, more than everything else the bridge does with a message, so :func:`parse` first
tries hand-written checks (:data:`FAST_CHECKS`) that accept only payloads the schemas accept,
and asks marshmallow for the verdict (and the error messages) whenever they do not accept.
Tests hold the two to the same verdicts on a corpus of good and bad payloads.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from marshmallow import Schema, ValidationError, fields, validate

from iot_bridge import topics

VERSION = 1
_NAME = validate.Regexp(r"^[A-Za-z0-9_.:-]{1,64}\Z")  # \Z: "$" lets a final newline in
# A sensor payload is a few hundred bytes; anything this large is refused before decoding.
MAX_PAYLOAD_BYTES = 64 * 1024


class PayloadError(ValueError):
    """The message cannot be stored; the text is the dead letter's reason."""


def storable(value: str) -> bool:
    """Whether both databases can store the text: no NUL (PostgreSQL refuses it in text) and
    no lone surrogate (JSON's ``"\\ud800"`` decodes to one; it has no UTF-8 encoding)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _storable(value: str) -> None:
    """Refused here, or the INSERT of the whole batch would fail on it."""
    if not storable(value):
        raise ValidationError("NUL characters and lone surrogates are not allowed.")


def _to_utc(value: dt.datetime) -> dt.datetime:
    """The UTC time, or a :class:`ValidationError` when there is none
    (``9999-12-31T23:59:59-10:00`` is in the year 10000 in UTC)."""
    try:
        return value.astimezone(dt.UTC)
    except OverflowError:
        raise ValidationError("Out of range once converted to UTC.") from None


class StrictFloat(fields.Float):
    """A JSON number: marshmallow's Float also takes numeric strings (``"12.5"``)."""

    def _validated(self, value: Any) -> float:
        if type(value) is not int and type(value) is not float:
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class StrictBoolean(fields.Boolean):
    """``true`` or ``false``: with ``truthy={True}``, marshmallow still takes ``1`` (1 == True)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid", input=value)


class AwareUTCDateTime(fields.AwareDateTime):
    """ISO 8601 with an offset, that has a UTC time."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.datetime:
        parsed: dt.datetime = super()._deserialize(value, attr, data, **kwargs)
        return _to_utc(parsed)


class _Common(Schema):
    v = fields.Integer(required=True, strict=True, validate=validate.Equal(VERSION))
    event_id = fields.String(required=True, validate=[validate.Length(min=1, max=64), _storable])
    device_id = fields.String(required=True, validate=_NAME)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=2**62))
    ts = AwareUTCDateTime(required=True, format="iso")


class WeightSchema(_Common):
    grams = StrictFloat(required=True, allow_nan=False, validate=validate.Range(-1e6, 1e7))
    # Change since the previous reading, when the device computes it.
    delta_grams = StrictFloat(allow_nan=False, validate=validate.Range(-1e7, 1e7))


class PresenceSchema(_Common):
    occupied = StrictBoolean(required=True)
    people = fields.Integer(strict=True, validate=validate.Range(min=0, max=1000))


class FootfallSchema(_Common):
    direction = fields.String(required=True, validate=validate.OneOf(["in", "out"]))
    count = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=1000))


class StatusSchema(_Common):
    state = fields.String(required=True, validate=validate.OneOf(["online", "offline"]))
    battery = StrictFloat(allow_nan=False, validate=validate.Range(0, 100))
    firmware = fields.String(validate=[validate.Length(max=64), _storable])
    rssi = fields.Integer(strict=True)


SCHEMAS: dict[str, Schema] = {
    "weight": WeightSchema(),
    "presence": PresenceSchema(),
    "footfall": FootfallSchema(),
    "status": StatusSchema(),
}


class AckSchema(Schema):
    """A seller's tablet acknowledges a help alert (``staff/{tablet}/ack``): not a sensor
    event, so no event_id or seq; acknowledging twice changes nothing."""

    v = fields.Integer(required=True, strict=True, validate=validate.Equal(VERSION))
    alert_id = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    seller = fields.String(validate=[validate.Length(min=1, max=120), _storable])
    ts = AwareUTCDateTime(required=True, format="iso")


ACK_SCHEMA = AckSchema()


class SensorReading(NamedTuple):
    """A valid event, ready to store (a tuple: one is made per message, and cheaply)."""

    topic: topics.Topic
    device_id: str
    event_id: str
    seq: int
    ts: dt.datetime
    payload: dict[str, Any]  # the JSON object as sent
    # The same object as the UTF-8 text that was sent (stored as is, not re-serialised);
    # None when the device used another encoding JSON allows.
    text: str | None = None

    @property
    def kind(self) -> str:
        return self.topic.kind


# --- the fast path: checks that accept a subset of what the schemas accept ----------------

Check = Callable[[Any], bool]
_FULL_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _integer(low: int | None = None, high: int | None = None) -> Check:
    # type() rather than isinstance(): bools are ints, and marshmallow refuses them.
    if low is None or high is None:
        return lambda value: type(value) is int
    return lambda value: type(value) is int and low <= value <= high


def _float(low: float, high: float) -> Check:
    def check(value: Any) -> bool:
        kind = type(value)
        if kind is int:
            return low <= value <= high
        return kind is float and math.isfinite(value) and low <= value <= high

    return check


def _string(low: int, high: int) -> Check:
    return lambda value: type(value) is str and low <= len(value) <= high and storable(value)


def _one_of(*choices: str) -> Check:
    allowed = frozenset(choices)
    return lambda value: type(value) is str and value in allowed


def _boolean(value: Any) -> bool:
    return value is True or value is False


def _name(value: Any) -> bool:
    return type(value) is str and _FULL_NAME.fullmatch(value) is not None


@dataclass(frozen=True)
class FastCheck:
    required: frozenset[str]
    fields: dict[str, Check]  # every allowed field except ts


_COMMON: dict[str, Check] = {
    "v": lambda value: type(value) is int and value == VERSION,
    "event_id": _string(1, 64),
    "device_id": _name,
    "seq": _integer(0, 2**62),
}
_COMMON_REQUIRED = {"v", "event_id", "device_id", "seq", "ts"}

FAST_CHECKS: dict[str, FastCheck] = {
    "weight": FastCheck(
        frozenset({*_COMMON_REQUIRED, "grams"}),
        {**_COMMON, "grams": _float(-1e6, 1e7), "delta_grams": _float(-1e7, 1e7)},
    ),
    "presence": FastCheck(
        frozenset({*_COMMON_REQUIRED, "occupied"}),
        {**_COMMON, "occupied": _boolean, "people": _integer(0, 1000)},
    ),
    "footfall": FastCheck(
        frozenset({*_COMMON_REQUIRED, "direction", "count"}),
        {**_COMMON, "direction": _one_of("in", "out"), "count": _integer(1, 1000)},
    ),
    "status": FastCheck(
        frozenset({*_COMMON_REQUIRED, "state"}),
        {
            **_COMMON,
            "state": _one_of("online", "offline"),
            "battery": _float(0, 100),
            "firmware": _string(0, 64),
            "rssi": _integer(),
        },
    ),
}


def fast_load(kind: str, document: dict[str, Any]) -> dt.datetime | None:
    """The device time (UTC) of a payload the schema of ``kind`` accepts; None: "ask it"."""
    check = FAST_CHECKS[kind]
    if not check.required <= document.keys():
        return None
    for name, value in document.items():
        if name == "ts":
            continue
        field_check = check.fields.get(name)
        if field_check is None or not field_check(value):
            return None
    ts = document["ts"]
    if type(ts) is not str:
        return None
    try:
        parsed = dt.datetime.fromisoformat(ts)  # what fields.AwareDateTime(format="iso") uses
    except ValueError:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        return None
    try:
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        return None


def schema_load(kind: str, document: dict[str, Any]) -> dt.datetime:
    """The device time (UTC) of a payload, by the schema; raise :class:`PayloadError` saying
    why not."""
    try:
        data = SCHEMAS[kind].load(document)
    except ValidationError as exc:
        raise PayloadError(f"invalid payload: {json.dumps(exc.messages, sort_keys=True)}") from None
    ts: dt.datetime = data["ts"]
    return ts


def _refuse_constant(name: str) -> Any:
    # Python reads NaN and Infinity; PostgreSQL's json type (and the JSON standard) does not.
    raise ValueError(f"{name} is not JSON")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        # {"grams": NaN, "grams": 1} reads as 1 here, but the text is what gets stored.
        raise ValueError("duplicate key in an object")
    return document


def _loads(text: str | bytes) -> Any:
    return json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_object)


def _decode(raw: bytes) -> tuple[Any, str | None]:
    if len(raw) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload too large: {len(raw)} bytes (at most {MAX_PAYLOAD_BYTES})")
    try:
        try:
            text = raw.decode()
            return _loads(text), text
        except ValueError:  # not UTF-8, or not JSON as UTF-8 text
            pass
        # A BOM, UTF-16 or UTF-32: json.loads() detects them.
        return _loads(raw), None
    except RecursionError:
        raise PayloadError("bad JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, the hooks, huge integers
        raise PayloadError(f"bad JSON: {exc}") from None


def parse(topic: topics.Topic, raw: bytes) -> SensorReading:
    """Validate one message; raise :class:`PayloadError` with the reason otherwise."""
    kind = topic.kind
    if kind not in SCHEMAS:
        raise PayloadError(f"no payload for {kind} topics")
    document, text = _decode(raw)
    if type(document) is not dict:
        raise PayloadError("bad JSON: not an object")
    ts = fast_load(kind, document) or schema_load(kind, document)
    # Both loaders hand the strings and integers back unchanged.
    device_id: str = document["device_id"]
    if topic.device is not None and device_id != topic.device:
        raise PayloadError(f"device_id {device_id!r} does not match the topic")
    return SensorReading(
        topic=topic,
        device_id=device_id,
        event_id=document["event_id"],
        seq=document["seq"],
        ts=ts,
        payload=document,
        text=text,
    )


@dataclass(frozen=True)
class Ack:
    """A valid acknowledgement from a tablet."""

    tablet: str
    alert_id: int
    seller: str | None
    ts: dt.datetime

    @property
    def by(self) -> str:
        """Who answered: the tablet is the broker's login, the seller is what it says."""
        return f"{self.seller} ({self.tablet})" if self.seller else self.tablet


def parse_ack(topic: topics.Topic, raw: bytes) -> Ack:
    """Validate an acknowledgement; raise :class:`PayloadError` with the reason otherwise."""
    assert topic.kind == "ack" and topic.tablet is not None
    document, _text = _decode(raw)
    if type(document) is not dict:
        raise PayloadError("bad JSON: not an object")
    try:
        data = ACK_SCHEMA.load(document)
    except ValidationError as exc:
        raise PayloadError(f"invalid payload: {json.dumps(exc.messages, sort_keys=True)}") from None
    return Ack(
        tablet=topic.tablet,
        alert_id=data["alert_id"],
        seller=data.get("seller"),
        ts=data["ts"],
    )


def dump(kind: str, **fields_: Any) -> bytes:
    """Encode a payload (devices, the simulator and tests use it); validates first."""
    document = {"v": VERSION, **fields_}
    if isinstance(document.get("ts"), dt.datetime):
        document["ts"] = document["ts"].isoformat()
    errors = (ACK_SCHEMA if kind == "ack" else SCHEMAS[kind]).validate(document)
    if errors:
        raise PayloadError(f"invalid payload: {errors}")
    return json.dumps(document, separators=(",", ":")).encode()
