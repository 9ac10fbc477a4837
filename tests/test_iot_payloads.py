"""Topic parsing and payload validation: pure functions, no broker."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iot_bridge import payloads, topics

TS = "2026-11-27T09:30:00+00:00"


def common(**extra: object) -> dict[str, object]:
    return {"v": 1, "event_id": "e-1", "device_id": "shelf-1", "seq": 7, "ts": TS, **extra}


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        (
            "comptoir/v1/s1/shelf/A3/lane-2/evt/weight",
            topics.Topic(store="s1", kind="weight", shelf="A3", lane="lane-2"),
        ),
        (
            "comptoir/v1/s1/zone/entrance/-/evt/presence",
            topics.Topic("s1", "presence", zone="entrance"),
        ),
        ("comptoir/v1/s1/door/main/-/evt/footfall", topics.Topic("s1", "footfall", door="main")),
        ("comptoir/v1/s1/dev/shelf-1/status", topics.Topic("s1", "status", device="shelf-1")),
        ("comptoir/v1/s1/label/L-9/state", topics.Topic("s1", "outgoing")),
        ("comptoir/v1/s1/staff/all/notify", topics.Topic("s1", "outgoing")),
        ("comptoir/v1/s1/staff/tablet-3/notify", topics.Topic("s1", "outgoing")),
        ("comptoir/v1/s1/staff/tablet-3/ack", topics.Topic("s1", "ack", tablet="tablet-3")),
    ],
)
def test_topics_follow_the_scheme(topic: str, expected: topics.Topic) -> None:
    assert topics.parse(topic) == expected


@pytest.mark.parametrize(
    "topic",
    [
        "other/v1/s1/shelf/A3/2/evt/weight",
        "comptoir/v2/s1/shelf/A3/2/evt/weight",
        "comptoir/v1/s1/shelf/A3/2/evt/presence",
        "comptoir/v1/s1/shelf/A3/-/evt/weight",
        "comptoir/v1/s1/shelf/A3/evt/weight",
        "comptoir/v1/s1/zone/z/lane/evt/presence",
        "comptoir/v1/s1/fridge/f/-/evt/weight",
        "comptoir/v1/s1/dev/x/battery",
        "comptoir/v1/s1/staff/all/ack",
        "comptoir/v1/s1/staff/tablet-3/ack/more",
        "comptoir/v1/s1/staff/tablet-3/shout",
        "comptoir/v1/s1/shelf/A3\n/2/evt/weight",
        "comptoir/v1/s1\n/door/main/-/evt/footfall",
        "comptoir/v1",
    ],
)
def test_topics_off_the_scheme_are_refused(topic: str) -> None:
    with pytest.raises(topics.TopicError):
        topics.parse(topic)


def test_topic_builders_round_trip() -> None:
    assert topics.parse(topics.weight("s", "A", "1")).lane == "1"
    assert topics.parse(topics.presence("s", "z")).zone == "z"
    assert topics.parse(topics.footfall("s", "d")).door == "d"
    assert topics.parse(topics.status("s", "dev-1")).device == "dev-1"
    assert topics.parse(topics.label_state("s", "L")).kind == "outgoing"
    assert topics.parse(topics.staff_notify("s")).kind == "outgoing"
    assert topics.parse(topics.staff_ack("s", "tablet-1")).tablet == "tablet-1"


@pytest.mark.parametrize(
    ("topic", "document"),
    [
        ("comptoir/v1/s/shelf/A/1/evt/weight", common(grams=412.5, delta_grams=-180)),
        ("comptoir/v1/s/zone/z/-/evt/presence", common(occupied=True, people=2)),
        ("comptoir/v1/s/door/d/-/evt/footfall", common(direction="in", count=3)),
        ("comptoir/v1/s/dev/shelf-1/status", common(state="online", battery=87.5, rssi=-61)),
    ],
)
def test_valid_payloads_become_readings(topic: str, document: dict[str, object]) -> None:
    reading = payloads.parse(topics.parse(topic), json.dumps(document).encode())

    assert (reading.device_id, reading.event_id, reading.seq) == ("shelf-1", "e-1", 7)
    assert reading.ts == dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)
    assert reading.payload == document


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "bad JSON"),
        (b"\xff\xfe", "bad JSON"),
        (b"[1, 2]", "not an object"),
        (json.dumps(common()).encode(), "grams"),
        (json.dumps(common(grams="heavy")).encode(), "grams"),
        (json.dumps(common(grams=1, colour="red")).encode(), "colour"),
        (json.dumps(common(grams=1, v=2)).encode(), '"v"'),
        (json.dumps(common(grams=1, seq=-1)).encode(), "seq"),
        (json.dumps(common(grams=1, seq="7")).encode(), "seq"),
        (json.dumps(common(grams=1, ts="2026-11-27T09:30:00")).encode(), "ts"),
        (json.dumps(common(grams=1, device_id="a/b")).encode(), "device_id"),
        (json.dumps(common(grams=1, event_id="")).encode(), "event_id"),
        # PostgreSQL cannot store NUL in text: such a message would block its batch forever.
        (json.dumps(common(grams=1, event_id="e\u0000")).encode(), "event_id"),
    ],
)
def test_invalid_weight_payloads_say_why(raw: bytes, reason: str) -> None:
    topic = topics.parse("comptoir/v1/s/shelf/A/1/evt/weight")

    with pytest.raises(payloads.PayloadError, match=reason):
        payloads.parse(topic, raw)


ACK_TOPIC = topics.parse("comptoir/v1/s/staff/tablet-1/ack")


def test_an_acknowledgement_names_the_alert_and_maybe_the_seller() -> None:
    raw = payloads.dump(
        "ack", alert_id=7, seller="Julie", ts=dt.datetime(2026, 11, 27, 10, 30, tzinfo=dt.UTC)
    )
    anonymous = json.dumps({"v": 1, "alert_id": 8, "ts": "2026-11-27T11:30:00+01:00"}).encode()

    named = payloads.parse_ack(ACK_TOPIC, raw)
    plain = payloads.parse_ack(ACK_TOPIC, anonymous)

    assert (named.alert_id, named.seller, named.by) == (7, "Julie", "Julie (tablet-1)")
    assert (plain.alert_id, plain.by, plain.ts) == (
        8,
        "tablet-1",
        dt.datetime(2026, 11, 27, 10, 30, tzinfo=dt.UTC),
    )


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        ({"v": 1, "ts": "2026-11-27T10:30:00+00:00"}, "alert_id"),
        ({"v": 1, "alert_id": "7", "ts": "2026-11-27T10:30:00+00:00"}, "alert_id"),
        ({"v": 1, "alert_id": 0, "ts": "2026-11-27T10:30:00+00:00"}, "alert_id"),
        ({"v": 1, "alert_id": True, "ts": "2026-11-27T10:30:00+00:00"}, "alert_id"),
        ({"v": 1, "alert_id": 7}, "ts"),
        ({"v": 1, "alert_id": 7, "ts": "2026-11-27T10:30:00"}, "ts"),
        ({"v": 2, "alert_id": 7, "ts": "2026-11-27T10:30:00+00:00"}, '"v"'),
        ({"v": 1, "alert_id": 7, "ts": "2026-11-27T10:30:00+00:00", "seller": ""}, "seller"),
        ({"v": 1, "alert_id": 7, "ts": "2026-11-27T10:30:00+00:00", "seller": "J\u0000"}, "seller"),
        ({"v": 1, "alert_id": 7, "ts": "2026-11-27T10:30:00+00:00", "event_id": "x"}, "event_id"),
        ([7], "not an object"),
    ],
)
def test_invalid_acknowledgements_say_why(document: object, reason: str) -> None:
    raw = json.dumps(document).encode()

    with pytest.raises(payloads.PayloadError, match=reason):
        payloads.parse_ack(ACK_TOPIC, raw)


def test_a_status_must_come_from_the_device_it_names() -> None:
    topic = topics.parse("comptoir/v1/s/dev/shelf-2/status")

    with pytest.raises(payloads.PayloadError, match="does not match"):
        payloads.parse(topic, json.dumps(common(state="online")).encode())


def test_dump_validates_and_encodes() -> None:
    raw = payloads.dump(
        "footfall",
        event_id="e",
        device_id="door-1",
        seq=1,
        ts=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        direction="out",
        count=1,
    )

    assert json.loads(raw)["direction"] == "out"
    with pytest.raises(payloads.PayloadError):
        payloads.dump("footfall", event_id="e", device_id="d", seq=1, ts=TS, direction="up")


# --- the fast checks against the marshmallow schemas (the contract) ------------------------

GOOD = {
    "weight": [
        {"grams": 412.5},
        {"grams": 0, "delta_grams": -180},
        {"grams": -1e6, "delta_grams": 1e7},
        {"grams": 10_000_000},
    ],
    "presence": [
        {"occupied": True},
        {"occupied": False, "people": 0},
        {"occupied": True, "people": 1000},
    ],
    "footfall": [{"direction": "in", "count": 1}, {"direction": "out", "count": 1000}],
    "status": [
        {"state": "online"},
        {"state": "offline", "battery": 0, "firmware": "", "rssi": -61},
        {"state": "online", "battery": 100.0, "firmware": "x" * 64, "rssi": 0},
    ],
}
COMMON_VARIANTS: list[dict[str, object]] = [
    {},
    {"seq": 0},
    {"seq": 2**62},
    {"event_id": "x" * 64},
    {"device_id": "A-z_0.9:x"},
    {"ts": "2026-11-27T09:30:00Z"},
    {"ts": "2026-11-27T09:30:00.120+02:00"},
    {"ts": "2026-11-27 09:30:00.123456-05:30"},
    {"ts": "20261127T093000+0000"},
]
BAD_VALUES: list[tuple[str, object]] = [
    ("v", 2),
    ("v", True),
    ("v", 1.0),
    ("v", "1"),
    ("v", None),
    ("event_id", ""),
    ("event_id", "x" * 65),
    ("event_id", 7),
    ("device_id", "a/b"),
    ("device_id", ""),
    ("device_id", "x" * 65),
    ("device_id", "shelf-1\n"),  # re.match's "$" lets a final newline through
    ("seq", -1),
    ("seq", 2**62 + 1),
    ("seq", "7"),
    ("seq", 7.0),
    ("seq", True),
    ("ts", "2026-11-27T09:30:00"),
    ("ts", "2026-11-27"),
    ("ts", "yesterday"),
    ("ts", 1732699800),
    ("ts", None),
    ("event_id", "\ud800"),  # a lone surrogate: no UTF-8 for it, the INSERT would fail
    ("event_id", "e-\udfff"),
    ("ts", "9999-12-31T23:59:59-10:00"),  # the year 10000 in UTC
    ("ts", "0001-01-01T00:00:00+01:00"),  # the year 0 in UTC
    ("grams", "412.5"),  # marshmallow's Float takes numeric strings
    ("grams", "12"),
    ("delta_grams", "-3"),
    ("grams", "heavy"),
    ("grams", True),
    ("grams", 1e7 + 1),
    ("grams", -1e6 - 1),
    ("grams", 10**400),
    ("delta_grams", None),
    ("occupied", 1),  # 1 in {True}: marshmallow's Boolean takes it
    ("occupied", 0),
    ("occupied", 1.0),
    ("occupied", "true"),
    ("people", -1),
    ("people", 1001),
    ("people", 2.0),
    ("direction", "up"),
    ("direction", "IN"),
    ("count", 0),
    ("count", "1"),
    ("state", "asleep"),
    ("battery", 100.5),
    ("battery", "50"),
    ("battery", float("nan")),
    ("firmware", "x" * 65),
    ("firmware", 3),
    ("firmware", "1.2\ud83d"),
    ("rssi", -61.5),
    ("rssi", False),
    ("colour", "red"),
]


def corpus() -> list[tuple[str, dict[str, object]]]:
    documents: list[tuple[str, dict[str, object]]] = []
    for kind, bodies in GOOD.items():
        for body in bodies:
            for variant in COMMON_VARIANTS:
                documents.append((kind, {**common(**body), **variant}))
            for name, value in BAD_VALUES:
                documents.append((kind, {**common(**body), name: value}))
            for required in ("v", "event_id", "device_id", "seq", "ts", *body):
                documents.append((kind, {k: v for k, v in common(**body).items() if k != required}))
    return documents


@pytest.mark.parametrize(("kind", "document"), corpus())
def test_the_fast_checks_accept_only_what_the_schema_accepts(
    kind: str, document: dict[str, object]
) -> None:
    errors = payloads.SCHEMAS[kind].validate(document)
    fast = payloads.fast_load(kind, document)

    if fast is not None:
        assert errors == {}
        assert fast == payloads.schema_load(kind, document)


@pytest.mark.parametrize("kind", sorted(GOOD))
@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_strict_types_refuse_every_bad_value(kind: str, name: str, value: object) -> None:
    document = {**common(**GOOD[kind][0]), name: value}

    assert payloads.SCHEMAS[kind].validate(document)
    assert payloads.fast_load(kind, document) is None


def test_the_fast_checks_accept_every_well_formed_payload() -> None:
    documents = [(kind, common(**body)) for kind, bodies in GOOD.items() for body in bodies]

    assert all(payloads.fast_load(kind, document) is not None for kind, document in documents)


def test_valid_payloads_keep_the_text_as_sent() -> None:
    raw = b'{ "v": 1, "event_id": "e-1", "device_id": "d", "seq": 1, "ts": "%s", "grams": 1 }'
    raw = raw.replace(b"%s", TS.encode())

    reading = payloads.parse(topics.parse("comptoir/v1/s/shelf/A/1/evt/weight"), raw)

    assert reading.text == raw.decode()


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-32-le"])
def test_other_json_encodings_are_read_but_not_kept_as_text(encoding: str) -> None:
    raw = json.dumps(common(grams=1)).encode(encoding)

    reading = payloads.parse(topics.parse("comptoir/v1/s/shelf/A/1/evt/weight"), raw)

    assert (reading.payload, reading.text) == (common(grams=1), None)


@pytest.mark.parametrize(("kind", "document"), corpus())
def test_parse_gives_the_schemas_verdict(kind: str, document: dict[str, object]) -> None:
    topic = topics.Topic(store="s", kind=kind)  # no device in the topic: the schema alone decides
    errors = payloads.SCHEMAS[kind].validate(document)

    if errors:
        # NaN and Infinity are not JSON: refused while decoding, before the schema.
        with pytest.raises(payloads.PayloadError, match=r"invalid payload|bad JSON: NaN"):
            payloads.parse(topic, json.dumps(document).encode())
    else:
        assert payloads.parse(topic, json.dumps(document).encode()).payload == document


# --- poison: what stopped the bridge for good, and anything else ----------------------------

WEIGHT = topics.parse("comptoir/v1/s/shelf/A/1/evt/weight")
PRESENCE = topics.parse("comptoir/v1/s/zone/z/-/evt/presence")


def raw(**fields: object) -> bytes:
    return json.dumps(common(**fields)).encode()


POISON: list[tuple[topics.Topic, bytes, str]] = [
    # The review's three wedges: RecursionError, OverflowError, a lone surrogate at INSERT.
    (WEIGHT, b"[" * 100_000 + b"]" * 100_000, "payload too large"),
    (WEIGHT, b"[" * 5_000 + b"]" * 5_000, "bad JSON: nested too deeply"),
    (WEIGHT, b'{"grams":' + b"[" * 5_000 + b"]" * 5_000 + b"}", "bad JSON: nested too deeply"),
    (WEIGHT, raw(grams=1, ts="9999-12-31T23:59:59-10:00"), "ts"),
    (WEIGHT, raw(grams=1, event_id="\ud800"), "event_id"),
    # Types the docs promise and marshmallow alone does not hold.
    (PRESENCE, raw(occupied=1), "occupied"),
    (WEIGHT, raw(grams="12.5"), "grams"),
    # Text that Python reads and PostgreSQL's json type would refuse, or that reads ambiguously.
    (WEIGHT, raw(grams=1).replace(b'"grams": 1', b'"grams": NaN'), "NaN"),
    (WEIGHT, raw(grams=1)[:-1] + b',"grams":Infinity}', "Infinity"),
    (WEIGHT, raw(grams=1)[:-1] + b',"grams":2}', "duplicate key"),
    (WEIGHT, raw(grams=1).replace(b'"seq": 7', b'"seq": 1' + b"0" * 5000), "bad JSON"),
    (WEIGHT, b"\xed\xa0\x80", "bad JSON"),  # an encoded surrogate is not UTF-8
    (WEIGHT, b"", "bad JSON"),
    (WEIGHT, b"null", "not an object"),
]


@pytest.mark.parametrize(("topic", "payload", "reason"), POISON)
def test_poison_payloads_are_refused_with_a_reason(
    topic: topics.Topic, payload: bytes, reason: str
) -> None:
    with pytest.raises(payloads.PayloadError, match=reason):
        payloads.parse(topic, payload)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    ["v", "event_id", "device_id", "seq", "ts", "grams", "delta_grams", "occupied", "people",
     "direction", "count", "state", "battery", "firmware", "rssi", "alert_id", "seller", "x"]
)  # fmt: skip
NEAR_MISSES = st.sampled_from(
    [1, 0, -1, 1.5, "1", "12.5", "", "\ud800", "\x00", True, False, None, 2**62, 2**63,
     "in", "online", "2026-11-27T09:30:00+00:00", "9999-12-31T23:59:59-10:00",
     "0001-01-01T00:00:00+14:00", [], {}]
)  # fmt: skip
KINDS = st.sampled_from(
    [
        topics.parse("comptoir/v1/s/shelf/A/1/evt/weight"),
        topics.parse("comptoir/v1/s/zone/z/-/evt/presence"),
        topics.parse("comptoir/v1/s/door/d/-/evt/footfall"),
        topics.parse("comptoir/v1/s/dev/shelf-1/status"),
    ]
)
VALID_BODIES = {
    "weight": {"grams": 12.5},
    "presence": {"occupied": True},
    "footfall": {"direction": "in", "count": 1},
    "status": {"state": "online"},
}


def assert_storable(reading: payloads.SensorReading) -> None:
    """What the INSERT needs: text both databases take, a UTC time, a seq in range."""
    assert payloads.storable(reading.event_id) and payloads.storable(reading.device_id)
    assert reading.ts.utcoffset() == dt.timedelta(0)
    assert type(reading.seq) is int and 0 <= reading.seq <= 2**62
    if reading.text is not None:
        assert payloads.storable(reading.text)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(topic=KINDS, payload=st.binary(max_size=200))
def test_any_bytes_are_a_reading_or_a_payload_error(topic: topics.Topic, payload: bytes) -> None:
    try:
        reading = payloads.parse(topic, payload)
    except payloads.PayloadError:
        return
    assert_storable(reading)


@settings(max_examples=500, deadline=None, derandomize=True)
@given(
    topic=KINDS,
    changes=st.dictionaries(FIELD_NAMES, NEAR_MISSES | JSON_VALUES, max_size=4),
    dropped=st.sets(FIELD_NAMES, max_size=2),
)
def test_any_document_is_a_storable_reading_or_a_payload_error(
    topic: topics.Topic, changes: dict[str, object], dropped: set[str]
) -> None:
    document = {**common(device_id="shelf-1", **VALID_BODIES[topic.kind]), **changes}
    for name in dropped:
        document.pop(name, None)
    try:
        encoded = json.dumps(document).encode()
    except ValueError:
        return  # not representable as JSON
    try:
        reading = payloads.parse(topic, encoded)
    except payloads.PayloadError:
        assert payloads.SCHEMAS[topic.kind].validate(document) or topic.kind == "status"
        return
    assert not payloads.SCHEMAS[topic.kind].validate(document)
    assert_storable(reading)
