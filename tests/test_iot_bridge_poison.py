"""No message can stop the bridge: poison payloads (the review's and a fuzzed set) and a
message the database refuses, published between valid events through a real Mosquitto."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from iot_bridge import writer
from store_api import db
from store_api.sensors import service
from store_api.sensors.models import DeadLetter, SensorDevice, SensorEvent, SeqGap
from tests.mqtt_servers import (
    Broker,
    Publisher,
    event_payload,
    mosquitto_server,
    send_end_marker,
    start_bridge,
    start_bridge_online,
    stored_keys,
    terminate,
)

STORE = "store-1"
WEIGHT = f"comptoir/v1/{STORE}/shelf/A/1/evt/weight"
PRESENCE = f"comptoir/v1/{STORE}/zone/Z1/-/evt/presence"
TS = "2026-11-27T09:00:00+00:00"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    with mosquitto_server(tmp_path) as running:
        yield running


def weight(device: str, seq: int, **changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "v": 1,
        "event_id": f"{device}-{seq}",
        "device_id": device,
        "seq": seq,
        "ts": TS,
        "grams": 120.5,
    }
    document.update(changes)
    return document


def presence(device: str, seq: int, **changes: object) -> dict[str, object]:
    document: dict[str, object] = {
        "v": 1,
        "event_id": f"{device}-{seq}",
        "device_id": device,
        "seq": seq,
        "ts": TS,
        "occupied": True,
    }
    document.update(changes)
    return document


def encode(document: dict[str, object]) -> bytes:
    return json.dumps(document).encode()  # ensure_ascii: "\ud800" goes out as its escape


# The review's payloads that each stopped all ingest, and the types it found stored. The bad
# events come from devices that also send valid ones, with a seq far ahead: stored, they
# would move last_seq and record a false gap.
ISSUE_POISON: list[tuple[str, bytes]] = [
    (WEIGHT, b"[" * 100_000 + b"]" * 100_000),  # RecursionError in the JSON decoder
    (WEIGHT, b"[" * 5_000 + b"]" * 5_000),  # the same under the size limit
    (WEIGHT, encode(weight("shelf-7", 5_000, ts="9999-12-31T23:59:59-10:00"))),  # OverflowError
    (WEIGHT, encode(weight("shelf-7", 5_001, event_id="\ud800"))),  # UnicodeEncodeError at INSERT
    (PRESENCE, encode(presence("zone-1", 5_002, occupied=1))),  # stored as true before
    (WEIGHT, encode(weight("shelf-7", 5_003, grams="12.5"))),  # stored before
    (WEIGHT, encode(weight("shelf-7", 5_004)).replace(b"120.5", b"NaN")),  # PostgreSQL refuses
]

WRONG_VALUES: dict[str, list[object]] = {
    "v": [2, True, "1", 1.0, None],
    "event_id": ["", 7, "x" * 65, "\ud800", "e\u0000", None],
    "device_id": ["a/b", "", "x" * 65, "shelf-7\n", 5],
    "seq": [-1, "7", 7.5, True, 2**62 + 1, None],
    "ts": ["2026-11-27T09:30:00", "yesterday", 1732699800, "9999-12-31T23:59:59-10:00"],
    "grams": ["12.5", "heavy", True, None, 1e7 + 1, [1], {"g": 1}],
}


def fuzzed(rng: random.Random, count: int) -> list[tuple[str, bytes]]:
    """Payloads that are each invalid by construction (a seeded generator: the same set on
    every run, every kind of mistake many times)."""
    found: list[tuple[str, bytes]] = []
    for n in range(count):
        document = weight("shelf-7", 10_000 + n, event_id=f"fuzz-{n}")
        mutation = n % 9
        if mutation == 0:
            name = rng.choice(sorted(WRONG_VALUES))
            document[name] = rng.choice(WRONG_VALUES[name])
            raw = encode(document)
        elif mutation == 1:
            del document[rng.choice(sorted(document))]
            raw = encode(document)
        elif mutation == 2:
            document[rng.choice(["colour", "x", "Grams", "delta"])] = rng.random()
            raw = encode(document)
        elif mutation == 3:
            whole = encode(document)
            raw = whole[: rng.randrange(0, len(whole) - 1)]
        elif mutation == 4:
            raw = b"\xff" + rng.randbytes(rng.randrange(0, 300))
        elif mutation == 5:
            depth = rng.randrange(1_000, 40_000)
            raw = b'{"grams":' + b"[" * depth + b"]" * depth + b"}"
        elif mutation == 6:
            raw = encode(document).replace(
                b"120.5", rng.choice([b"NaN", b"Infinity", b"-Infinity"])
            )
        elif mutation == 7:
            raw = encode(document)[:-1] + b', "grams": 3}'
        else:
            topic = rng.choice(
                [
                    f"comptoir/v1/{STORE}/shelf/A/-/evt/weight",
                    f"comptoir/v1/{STORE}/shelf/A%/1/evt/weight",
                ]
            )
            found.append((topic, encode(document)))
            continue
        found.append((WEIGHT, raw))
    return found


@pytest.fixture
def trap(app: Flask) -> Iterator[None]:
    """The database refuses events whose id starts with "trap-": a per-message failure the
    bridge cannot foresee (its validation accepts them)."""
    engine = db.engine_for(app)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(
                text(
                    "CREATE FUNCTION comptoir_test_trap() RETURNS trigger AS $$ BEGIN "
                    "IF NEW.event_id LIKE 'trap-%' THEN RAISE EXCEPTION 'refused by a trap'; "
                    "END IF; RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER comptoir_test_trap BEFORE INSERT ON sensor_events "
                    "FOR EACH ROW EXECUTE FUNCTION comptoir_test_trap()"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE TRIGGER comptoir_test_trap BEFORE INSERT ON sensor_events "
                    "WHEN NEW.event_id LIKE 'trap-%' "
                    "BEGIN SELECT RAISE(ABORT, 'refused by a trap'); END"
                )
            )
    try:
        yield
    finally:
        with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(text("DROP TRIGGER comptoir_test_trap ON sensor_events"))
                conn.execute(text("DROP FUNCTION comptoir_test_trap()"))
            else:
                conn.execute(text("DROP TRIGGER comptoir_test_trap"))


def dead_letters(app: Flask) -> list[DeadLetter]:
    session = db.new_session(app)
    with db.read(session):
        rows = list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))
    session.close()
    return rows


def test_poison_and_fuzzed_messages_are_dead_lettered_and_the_bridge_never_stops(
    app: Flask, migrated: str, broker: Broker, tmp_path: Path, trap: None
) -> None:
    log = tmp_path / "bridge.log"
    bridge = start_bridge_online(migrated, broker, log)
    publisher = Publisher(broker)
    bad = ISSUE_POISON + fuzzed(random.Random(15), 180)
    trapped = (WEIGHT, encode(weight("shelf-7", 20_000, event_id="trap-1")))
    valid: list[tuple[str, bytes]] = []
    try:
        sent = 0
        seq = {"shelf-7": 0, "zone-1": 0}
        for i, poison in enumerate([*bad, trapped]):
            # Two valid events around every bad one, from the same devices.
            for device in ("shelf-7", "zone-1") if i % 2 else ("zone-1", "shelf-7"):
                seq[device] += 1
                if device == "shelf-7":
                    valid.append((WEIGHT, event_payload(device, seq[device])))
                else:
                    valid.append((PRESENCE, encode(presence(device, seq[device]))))
                publisher.publish(*valid[-1])
            publisher.publish(*poison)
            sent += 3
        publisher.wait_acked(sent)
        send_end_marker(publisher, migrated)

        keys = stored_keys(migrated)
        letters = dead_letters(app)
        assert bridge.poll() is None, log.read_text()[-3000:]
        # Every valid event stored, nothing else but the end marker.
        expected = {(json.loads(raw)["device_id"], json.loads(raw)["event_id"]) for _, raw in valid}
        assert keys - {k for k in keys if k[0] == "end-marker"} == expected
        # Every bad message dead-lettered once, byte for byte, with a reason.
        assert Counter(d.raw for d in letters) == Counter(raw for _, raw in [*bad, trapped])
        assert all(d.reason for d in letters)
        reasons = {bytes(d.raw): d.reason for d in letters}
        assert reasons[trapped[1]].startswith("could not store: ")
        assert "refused by a trap" in reasons[trapped[1]]
        assert reasons[ISSUE_POISON[1][1]] == "bad JSON: nested too deeply"
        assert "grams" in reasons[ISSUE_POISON[5][1]]
        assert "occupied" in reasons[ISSUE_POISON[4][1]]
        # The bad events moved no device's sequence and recorded no gap.
        session = db.new_session(app)
        with db.read(session):
            last = {d.device_id: d.last_seq for d in session.scalars(select(SensorDevice))}
            gaps = session.scalar(select(func.count()).select_from(SeqGap))
        session.close()
        assert (last["shelf-7"], last["zone-1"], gaps) == (seq["shelf-7"], seq["zone-1"], 0)

        # Every message was acked: a restarted bridge gets none of them again.
        terminate(bridge)
        assert bridge.returncode == 0, log.read_text()[-3000:]
        bridge = start_bridge(migrated, broker, log)
        marker = send_end_marker(publisher, migrated)
        assert len(dead_letters(app)) == len(letters)
        assert stored_keys(migrated) == {*keys, marker}
    finally:
        publisher.close()
        terminate(bridge)


# --- the writer's isolation, as a unit -----------------------------------------------------


def test_a_batch_that_fails_is_halved_down_to_the_message_that_fails(
    app: Flask, trap: None
) -> None:
    sessions = db.make_sessionmaker(db.engine_for(app))
    now = db.utcnow()
    messages = [
        service.InboundMessage(WEIGHT, event_payload("shelf-1", seq), now) for seq in range(1, 8)
    ]
    messages[4] = service.InboundMessage(
        WEIGHT, encode(weight("shelf-1", 5, event_id="trap-5")), now
    )

    result = writer.store_messages(sessions, STORE, messages, writer.Retry(5))

    session = sessions()
    with db.read(session):
        seqs = sorted(session.scalars(select(SensorEvent.seq)))
        letters = [(d.raw, d.reason) for d in session.scalars(select(DeadLetter))]
        gaps = [(g.expected, g.got) for g in session.scalars(select(SeqGap))]
    session.close()
    assert result.stored == 6
    assert seqs == [1, 2, 3, 4, 6, 7]
    assert len(letters) == 1 and letters[0][0] == messages[4].payload
    assert letters[0][1].startswith("could not store: ")
    # seq 5 reached the broker (it is a dead letter): still a gap in what was stored.
    assert gaps == [(5, 6)]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_an_outage_is_retried_with_backoff_within_its_budget_then_given_up() -> None:
    from sqlalchemy.exc import OperationalError

    fake = FakeTime()
    retry = writer.Retry(10.0, sleep=fake.sleep, clock=lambda: fake.now)
    outage = OperationalError("SELECT 1", {}, Exception("connection refused"))

    for _ in range(3):
        retry.failed(outage, "3 message(s) kept unacked")
    assert fake.now == pytest.approx(0.1 + 0.2 + 0.4)  # doubling from 0.1 s
    retry.succeeded()
    retry.failed(outage, "3 message(s) kept unacked")
    assert (retry.tries, fake.now) == (1, pytest.approx(0.8))  # counted again after a success

    with pytest.raises(writer.DatabaseUnavailable):
        while True:
            retry.failed(outage, "3 message(s) kept unacked")
    assert 10.0 <= fake.now - 0.7 < 10.1  # the budget, not more
    assert max(fake.slept) <= 0.2  # in slices: a child whose bridge died notices it
    assert writer.is_outage(outage)
    assert not writer.is_outage(ValueError("a message's fault"))
