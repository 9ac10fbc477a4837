"""GET /api/v1/events/stream: Server-Sent Events for tablets.

Shape, auth, validation and the per-worker stream cap go through the Flask test client (the
body is a generator, read chunk by chunk). Live delivery, resuming, filters, starvation and
fan-out go through real HTTP against gunicorn with 2 gthread workers, with tablet-like
clients reading the stream as it arrives. Latency is measured by ``bench/events_latency.py``,
not asserted here.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.shop import add_product
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

STREAM = "/api/v1/events/stream"
# Generous bound for "the event arrives": failing it means it did not come, not that it was slow.
ARRIVAL_TIMEOUT = 10.0


@pytest.fixture
def settings() -> dict[str, Any]:
    """Short streams and fast polls, so test-client streams end on their own quickly."""
    return {
        "STREAM_MAX_SECONDS": 0.5,
        "STREAM_POLL_SECONDS": 0.02,
        "STREAM_HEARTBEAT_SECONDS": 0.1,
        "STREAM_MAX_PER_WORKER": 2,
    }


# --- a small SSE client ----------------------------------------------------------------------


@dataclass
class Message:
    id: str | None = None
    event: str | None = None
    data: str = ""
    retry: int | None = None
    comment: str | None = None

    @property
    def json(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.data)
        return body


def parse_sse(chunks: Iterable[bytes]) -> Iterator[Message]:
    """Messages from a text/event-stream, however the bytes are cut into chunks."""
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            message = Message()
            data: list[str] = []
            for line in block.decode().split("\n"):
                if line.startswith(":"):
                    message.comment = line[1:].strip()
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    data.append(value)
                elif name == "id":
                    message.id = value
                elif name == "event":
                    message.event = value
                elif name == "retry":
                    message.retry = int(value)
            message.data = "\n".join(data)
            yield message


class Tablet:
    """One streaming GET through real HTTP, read as it arrives, like a tablet's EventSource."""

    def __init__(
        self, server: LiveServer, key: str, *, last_event_id: int | None = None, **params: Any
    ) -> None:
        headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = str(last_event_id)
        self.http = requests.Session()
        self.response = self.http.get(
            server.url + STREAM, params=params, headers=headers, stream=True, timeout=(5, 10)
        )
        if self.response.status_code != 200:
            self.response.content  # noqa: B018 (read the error body before closing)
            self.close()
        self.messages = parse_sse(self.response.iter_content(chunk_size=None))

    @property
    def refused(self) -> bool:
        return self.response.status_code == 503

    def next_event(self) -> Message:
        """The next event (comments and retry skipped); fails if none comes in time."""
        deadline = time.monotonic() + ARRIVAL_TIMEOUT
        for message in self.messages:
            if message.event is not None:
                return message
            assert time.monotonic() < deadline, "no event arrived"
        raise AssertionError("the stream ended")

    def events_until(self, reservation_id: str) -> list[Message]:
        """Events up to and including the reservation.created of ``reservation_id``."""
        seen: list[Message] = []
        while True:
            seen.append(self.next_event())
            last = seen[-1]
            if last.event == "reservation.created" and last.json["payload"]["id"] == reservation_id:
                return seen

    def events_until_stock_change(self, reservation_id: str) -> list[Message]:
        """Events up to and including the stock.changed made by ``reservation_id``."""
        seen: list[Message] = []
        while True:
            seen.append(self.next_event())
            last = seen[-1]
            if last.event == "stock.changed" and last.json["payload"].get("reference") == (
                reservation_id
            ):
                return seen

    def close(self) -> None:
        self.response.close()
        self.http.close()


@contextlib.contextmanager
def tablet(server: LiveServer, key: str, **kwargs: Any) -> Iterator[Tablet]:
    """An open stream; on a 503 (this worker's slots are taken) come back, as a tablet would."""
    for _attempt in range(50):
        client = Tablet(server, key, **kwargs)
        if not client.refused:
            break
        time.sleep(0.1)
    try:
        assert client.response.status_code == 200, client.response.text
        assert next(client.messages).retry == 1000
        yield client
    finally:
        client.close()


# --- through the Flask test client -----------------------------------------------------------


def _messages(response: TestResponse) -> Iterator[Message]:
    return parse_sse(response.response)


def _events(response: TestResponse, count: int) -> list[Message]:
    events: list[Message] = []
    for message in _messages(response):
        if message.event is not None:
            events.append(message)
            if len(events) == count:
                break
    return events


def _seqs_after(client: FlaskClient, keys: Keys, after: int, query: str = "") -> list[int]:
    page = client.get(f"/api/v1/events?after={after}{query}", headers=keys.headers(Role.ADMIN))
    return [event["seq"] for event in page.json["events"]]


def test_a_stream_carries_new_events_with_their_seq_as_id(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-OLD", {"floor": 1})
    response = client.get(STREAM, headers=keys.headers(Role.DEVICE))
    add_product(app, "LL-NEW", {"floor": 1})

    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.headers["X-Accel-Buffering"] == "no"
    messages = _messages(response)
    assert next(messages).retry == 1000
    first = next(messages)
    response.close()

    body = first.json
    assert set(body) == {"seq", "id", "type", "sku", "occurred_at", "payload"}
    assert (first.id, first.event) == (str(body["seq"]), body["type"])
    assert (body["type"], body["sku"]) == ("product.created", "LL-NEW")


def test_after_starts_from_a_cursor_and_last_event_id_wins(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-8KG", {"floor": 2, "backroom": 1})
    seqs = _seqs_after(client, keys, 0)

    from_start = client.get(f"{STREAM}?after=0", headers=keys.headers(Role.SELLER))
    events = _events(from_start, len(seqs))
    from_start.close()
    resumed = client.get(
        f"{STREAM}?after=0", headers=keys.headers(Role.SELLER, **{"Last-Event-ID": str(seqs[1])})
    )
    rest = _events(resumed, len(seqs) - 2)
    resumed.close()

    assert [int(e.id or 0) for e in events] == seqs
    assert [int(e.id or 0) for e in rest] == seqs[2:]


def test_an_idle_stream_sends_keepalives_then_ends(client: FlaskClient, keys: Keys) -> None:
    response = client.get(STREAM, headers=keys.headers(Role.WEBSHOP))

    messages = list(_messages(response))  # ends by itself after STREAM_MAX_SECONDS
    response.close()

    assert messages[0].retry == 1000
    assert {m.comment for m in messages[1:]} == {"keepalive"}


@pytest.mark.parametrize(
    ("query", "feed_query"),
    [
        ("type=stock.changed", "&type=stock.changed"),
        ("type=product.*&type=stock.back_in_stock", "&type=product.*&type=stock.back_in_stock"),
        ("sku=LL-B", "&sku=LL-B"),
        ("type=stock.*&sku=LL-A", "&type=stock.*&sku=LL-A"),
    ],
)
def test_filters_match_the_pull_feed(
    app: Flask, client: FlaskClient, keys: Keys, query: str, feed_query: str
) -> None:
    add_product(app, "LL-A", {"floor": 1})
    add_product(app, "LL-B", {"backroom": 4})
    expected = _seqs_after(client, keys, 0, feed_query)

    response = client.get(f"{STREAM}?after=0&{query}", headers=keys.headers(Role.OWNER))
    events = [m for m in _messages(response) if m.event is not None]
    response.close()

    assert expected
    assert [int(e.id or 0) for e in events] == expected


def test_a_stream_needs_a_key(client: FlaskClient) -> None:
    response = client.get(STREAM)

    assert response.status_code == 401
    assert response.json["code"] == "unauthorized"


@pytest.mark.parametrize(
    ("query", "headers", "field"),
    [
        ("?type=stock.everything", {}, "type"),
        ("?after=-1", {}, "after"),
        ("?sku=not%20a%20sku", {}, "sku"),
        ("?limit=10", {}, "limit"),
        ("", {"Last-Event-ID": "seven"}, "Last-Event-ID"),
        ("", {"last-event-id": "-3"}, "Last-Event-ID"),
    ],
)
def test_invalid_input_is_a_422_naming_the_field(
    client: FlaskClient, keys: Keys, query: str, headers: dict[str, str], field: str
) -> None:
    response = client.get(STREAM + query, headers=keys.headers(Role.SELLER, **headers))

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert list(response.json["errors"]) == [field]


def test_streams_beyond_the_worker_cap_get_503_until_one_closes(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    headers = keys.headers(Role.DEVICE)
    started = client.get(STREAM, headers=headers)
    next(iter(started.response))  # its generator runs
    never_read = client.get(STREAM, headers=headers)  # its generator never starts

    refused = client.get(STREAM, headers=headers)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.json["code"] == "too_many_streams"
    assert refused.json["errors"] == {"retry_after": 5, "limit": 2}

    never_read.close()
    again = client.get(STREAM, headers=headers)
    assert again.status_code == 200
    started.close()
    again.close()
    assert app.extensions["comptoir_stream_slots"].open == 0


# --- through real HTTP against gunicorn ------------------------------------------------------

# Keepalives every 2 s keep the client's read timeout (10 s) from firing on a quiet stream.
STREAM_ENV = {"COMPTOIR_STREAM_HEARTBEAT_SECONDS": "2"}


@contextlib.contextmanager
def serving(database_url: str, log: Path, *, threads: int = 16, **env: str) -> Iterator[LiveServer]:
    server = start_gunicorn(database_url, log, workers=2, threads=threads, env=env)
    try:
        yield server
    finally:
        stop_gunicorn(server)


@pytest.fixture
def server(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    """gunicorn as served: 2 workers x 16 threads, 8 streams per worker."""
    with serving(migrated, tmp_path / "gunicorn.log", **STREAM_ENV) as live:
        yield live


def reserve(server: LiveServer, keys: Keys, sku: str) -> str:
    response = requests.post(
        server.url + "/api/v1/reservations",
        json={"sku": sku, "quantity": 1},
        headers=keys.headers(Role.SELLER),
        timeout=10,
    )
    assert response.status_code == 201, response.text
    reservation_id: str = response.json()["id"]
    return reservation_id


@pytest.mark.http
def test_a_tablet_sees_a_reservation_made_at_the_counter(
    app: Flask, keys: Keys, server: LiveServer
) -> None:
    add_product(app, "LL-LIVE", {"floor": 2})

    with tablet(server, keys[Role.DEVICE]) as shelf_tablet:
        reservation_id = reserve(server, keys, "LL-LIVE")
        seen = shelf_tablet.events_until(reservation_id)

    created = seen[-1].json
    assert created["sku"] == "LL-LIVE"
    assert created["payload"]["quantity"] == 1
    assert seen[-1].id == str(created["seq"])


@pytest.mark.http
def test_a_tablet_resumes_with_last_event_id_without_loss_or_duplicates(
    app: Flask, keys: Keys, server: LiveServer
) -> None:
    add_product(app, "LL-RESUME", {"floor": 5})
    with tablet(server, keys[Role.SELLER]) as before:
        first = reserve(server, keys, "LL-RESUME")
        last_seen = int(before.events_until(first)[-1].id or 0)
    # Offline: the shop goes on.
    second = reserve(server, keys, "LL-RESUME")
    released = requests.delete(
        f"{server.url}/api/v1/reservations/{first}", headers=keys.headers(Role.SELLER), timeout=10
    )
    assert released.status_code == 200, released.text
    reserve(server, keys, "LL-RESUME")
    missed = server.get(f"/api/v1/events?after={last_seen}", keys[Role.ADMIN]).json()["events"]

    # An EventSource reconnects to the same URL (?after=0 here) adding Last-Event-ID: it wins.
    with tablet(server, keys[Role.SELLER], last_event_id=last_seen, after=0) as after:
        resumed = [after.next_event() for _ in missed]
        fourth = reserve(server, keys, "LL-RESUME")
        following = after.events_until(fourth)

    assert [m.json for m in resumed] == missed
    assert [int(m.id or 0) for m in resumed] == list(
        range(last_seen + 1, last_seen + 1 + len(missed))
    )
    assert second in {m.json["payload"].get("id") for m in resumed}
    assert int(following[0].id or 0) == missed[-1]["seq"] + 1


@pytest.mark.http
def test_tablets_get_only_the_types_and_products_they_follow(
    app: Flask, keys: Keys, server: LiveServer
) -> None:
    add_product(app, "LL-A", {"floor": 5})
    add_product(app, "LL-B", {"floor": 5})

    with (
        tablet(server, keys[Role.DEVICE], type="reservation.*", sku="LL-A") as holds_of_a,
        tablet(server, keys[Role.DEVICE], type="stock.changed", sku="LL-B") as stock_of_b,
    ):
        on_b = reserve(server, keys, "LL-B")
        on_a = reserve(server, keys, "LL-A")
        on_b_again = reserve(server, keys, "LL-B")
        # End markers: the last hold of each product. Each stream is read up to the event its
        # filter lets through for it, so anything else let through before it is seen.
        end_a = reserve(server, keys, "LL-A")
        end_b = reserve(server, keys, "LL-B")
        a_events = holds_of_a.events_until(end_a)
        b_events = stock_of_b.events_until_stock_change(end_b)

    assert [(m.event, m.json["payload"]["id"]) for m in a_events] == [
        ("reservation.created", on_a),
        ("reservation.created", end_a),
    ]
    assert [(m.event, m.json["sku"], m.json["payload"]["reference"]) for m in b_events] == [
        ("stock.changed", "LL-B", on_b),
        ("stock.changed", "LL-B", on_b_again),
        ("stock.changed", "LL-B", end_b),
    ]


def fill(server: LiveServer, key: str, count: int) -> list[Tablet]:
    """Open ``count`` streams. Connections land on either worker: retry the 503s."""
    opened: list[Tablet] = []
    for _attempt in range(200):
        if len(opened) == count:
            break
        client = Tablet(server, key)
        if client.refused:
            time.sleep(0.05)
        else:
            opened.append(client)
    assert [c.response.status_code for c in opened] == [200] * count
    return opened


@pytest.mark.http
def test_full_stream_slots_do_not_starve_the_api(
    app: Flask, keys: Keys, migrated: str, tmp_path: Path
) -> None:
    add_product(app, "LL-BUSY", {"floor": 5})
    per_worker, workers = 3, 2
    with serving(
        migrated,
        tmp_path / "gunicorn.log",
        threads=per_worker + 5,
        COMPTOIR_STREAM_MAX_PER_WORKER=str(per_worker),
        **STREAM_ENV,
    ) as live:
        opened: list[Tablet] = []
        try:
            opened = fill(live, keys[Role.DEVICE], per_worker * workers)
            extra = [Tablet(live, keys[Role.DEVICE]).response for _ in range(4)]
            with ThreadPoolExecutor(max_workers=8) as pool:
                pings = list(
                    pool.map(
                        lambda _i: requests.get(
                            live.url + "/api/v1/ping", headers=keys.headers(Role.SELLER), timeout=10
                        ),
                        range(16),
                    )
                )
            reservation_id = reserve(live, keys, "LL-BUSY")
            delivered = [client.events_until(reservation_id)[-1] for client in opened]
        finally:
            for client in opened:
                client.close()
        # Tablets that hung up gave their slots back: as many can follow again.
        for client in fill(live, keys[Role.DEVICE], per_worker * workers):
            client.close()

    assert [r.status_code for r in extra] == [503] * 4
    assert all(r.headers["Retry-After"] == "5" for r in extra)
    assert {r.json()["code"] for r in extra} == {"too_many_streams"}
    assert [r.status_code for r in pings] == [200] * 16
    assert {m.json["payload"]["id"] for m in delivered} == {reservation_id}


@pytest.mark.http
def test_concurrent_tablets_all_receive_the_same_events(
    app: Flask, keys: Keys, server: LiveServer
) -> None:
    add_product(app, "LL-FAN", {"floor": 10})
    with contextlib.ExitStack() as stack:
        tablets = [stack.enter_context(tablet(server, keys[Role.DEVICE])) for _ in range(6)]
        holds = [reserve(server, keys, "LL-FAN") for _ in range(3)]

        def follow(client: Tablet) -> list[dict[str, Any]]:
            return [m.json for m in client.events_until(holds[-1])]

        with ThreadPoolExecutor(max_workers=len(tablets)) as pool:
            received = list(pool.map(follow, tablets))

    assert all(events == received[0] for events in received)
    created = [e["payload"]["id"] for e in received[0] if e["type"] == "reservation.created"]
    assert created == holds
