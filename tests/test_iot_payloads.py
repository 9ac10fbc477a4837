"""Topic parsing and payload validation: pure functions, no broker."""

from __future__ import annotations

import datetime as dt
import json

import pytest

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
    ],
)
def test_invalid_weight_payloads_say_why(raw: bytes, reason: str) -> None:
    topic = topics.parse("comptoir/v1/s/shelf/A/1/evt/weight")

    with pytest.raises(payloads.PayloadError, match=reason):
        payloads.parse(topic, raw)


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
