"""Idempotency-Key on the tablet's write endpoints: a queued tap replayed is applied once.

Every endpoint of the tablet contract is replayed through HTTP: the replay answers exactly
what the first request answered and changes no row of the database (stock, ledger, events,
holds). A refused hold stays refused; answers that are not kept (404, 422) can be retried
with the same key; concurrent duplicates apply once on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select, text
from werkzeug.test import TestResponse

from store_api import db
from store_api.db import Base
from store_api.events.models import Event
from store_api.idempotency import IdempotentRequest
from store_api.keys.models import Role
from store_api.shelves import service as shelves
from store_api.stock import service as stock_service
from store_api.stock.models import Reservation, StockMovement
from tests.conftest import BACKEND, Keys, LiveServer
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product, drifts, stock_of

SKU = "LL-BOSCH-6"
UNITS = {"floor": 1, "backroom": 2}


def send(
    client: FlaskClient,
    keys: Keys,
    method: str,
    url: str,
    body: Any = None,
    key: str | None = "tap-1",
    role: Role = Role.SELLER,
) -> TestResponse:
    headers = keys.headers(role) if key is None else keys.headers(role, **{"Idempotency-Key": key})
    return client.open(url, method=method, json=body, headers=headers)


def count(app: Flask, model: type[Base]) -> int:
    session = db.new_session(app)
    with db.read(session):
        found = session.scalar(select(func.count()).select_from(model)) or 0
    session.close()
    return found


def database(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table: a replay must leave all of them as they were."""
    session = db.new_session(app)
    with db.read(session):
        rows = {
            table.name: [
                tuple(row)
                for row in session.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in Base.metadata.sorted_tables
        }
    session.close()
    return rows


def hold(app: Flask, clock: FrozenClock) -> str:
    """A store hold made directly (not through the endpoint under test)."""
    session = db.new_session(app)
    with db.write(session):
        made = stock_service.reserve(
            session,
            sku=SKU,
            quantity=1,
            channel="store",
            location=None,
            ttl_seconds=None,
            note=None,
            actor="setup",
            now=clock(),
            policy=app.extensions["comptoir_policy"],
        )
    session.close()
    return str(made.id)


def help_alert(app: Flask, clock: FrozenClock) -> int:
    store = app.config["STORE_ID"]
    session = db.new_session(app)
    with db.write(session):
        shelves.put_lane(
            session, store, "B", "2", {"sku": SKU, "unit_weight_g": 60000, "capacity": 2}, clock()
        )
        zone = shelves.put_zone(session, store, "B2", "B", "2", 30)
        notice = shelves.raise_help(
            session, zone, 45.0, clock(), shelves.HelpSettings(app.extensions["comptoir_policy"])
        )
    session.close()
    alert_id: int = notice.payload["alert_id"]
    return alert_id


@dataclass(frozen=True)
class Tap:
    """One endpoint of the contract and a valid request to it."""

    method: str
    url: Callable[[Flask, FrozenClock], str]
    body: dict[str, Any] | None
    success: int


TAPS = {
    "hold": Tap("POST", lambda a, c: "/api/v1/reservations", {"sku": SKU, "quantity": 1}, 201),
    "release": Tap("DELETE", lambda a, c: f"/api/v1/reservations/{hold(a, c)}", None, 200),
    "extend": Tap(
        "POST",
        lambda a, c: f"/api/v1/reservations/{hold(a, c)}/extend",
        {"ttl_seconds": 3600},
        200,
    ),
    "commit": Tap(
        "POST",
        lambda a, c: f"/api/v1/reservations/{hold(a, c)}/commit",
        {"reference": "ticket 2231"},
        200,
    ),
    "ack": Tap("POST", lambda a, c: f"/api/v1/alerts/{help_alert(a, c)}/ack", None, 200),
    "delivery": Tap(
        "POST",
        lambda a, c: "/api/v1/stock/adjustments",
        {"sku": SKU, "location": "backroom", "delta": 4, "reason": "delivery"},
        201,
    ),
    "count": Tap(
        "PUT",
        lambda a, c: f"/api/v1/stock/{SKU}/locations/floor",
        {"on_hand": 3, "expected_on_hand": 1},
        200,
    ),
}


@pytest.mark.parametrize("name", TAPS)
def test_a_replayed_tap_gets_the_first_answer_and_changes_nothing(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, name: str
) -> None:
    add_product(app, SKU, UNITS)
    tap = TAPS[name]
    url = tap.url(app, clock)
    first = send(client, keys, tap.method, url, tap.body)
    after_first = database(app)
    clock.advance(minutes=5)  # a replay later in the day

    replay = send(client, keys, tap.method, url, tap.body)

    assert first.status_code == tap.success, first.get_json()
    assert "Idempotent-Replayed" not in first.headers
    assert replay.status_code == tap.success
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == first.get_data()
    assert database(app) == after_first
    assert drifts(app) == []


@pytest.mark.parametrize("name", TAPS)
def test_without_a_key_each_tap_is_applied_as_before(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, name: str
) -> None:
    add_product(app, SKU, UNITS)
    tap = TAPS[name]
    url = tap.url(app, clock)
    before = count(app, Event)

    response = send(client, keys, tap.method, url, tap.body, key=None)

    assert response.status_code == tap.success, response.get_json()
    assert "Idempotent-Replayed" not in response.headers
    assert count(app, IdempotentRequest) == 0
    assert count(app, Event) > before


def test_a_hold_replayed_three_times_holds_one_unit_and_writes_one_ledger_row(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, SKU, UNITS)
    ledger_before = count(app, StockMovement)
    body = {"sku": SKU, "quantity": 1, "note": "Mme Martin"}
    answers = [send(client, keys, "POST", "/api/v1/reservations", body)]
    events_after_first = count(app, Event)

    answers += [send(client, keys, "POST", "/api/v1/reservations", body) for _ in range(2)]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    assert count(app, Reservation) == 1
    assert count(app, StockMovement) == ledger_before + 1
    assert count(app, Event) == events_after_first
    assert stock_of(app, SKU).reserved == 1


def test_the_replay_is_the_original_answer_not_the_hold_as_it_is_now(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, SKU, UNITS)
    first = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})
    hold_id = first.get_json()["id"]
    send(client, keys, "POST", f"/api/v1/reservations/{hold_id}/commit", {}, key="till")

    replay = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})

    assert replay.get_json() == first.get_json()
    assert replay.get_json()["status"] == "active"
    assert stock_of(app, SKU).on_hand == 2


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/api/v1/reservations", {"sku": SKU, "quantity": 2}),
        ("POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1, "note": "another"}),
        (
            "POST",
            "/api/v1/stock/adjustments",
            {"sku": SKU, "location": "floor", "delta": 1, "reason": "delivery"},
        ),
    ],
    ids=["another quantity", "another note", "another endpoint"],
)
def test_the_same_key_with_another_request_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, keys: Keys, method: str, url: str, body: Any
) -> None:
    add_product(app, SKU, UNITS)
    send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})
    before = database(app)

    response = send(client, keys, method, url, body)

    assert response.status_code == 422
    answer = response.get_json()
    assert answer["code"] == "idempotency_key_reused"
    assert "Idempotency-Key" in answer["errors"]
    assert database(app) == before


def test_the_same_body_in_another_key_order_and_spacing_is_the_same_request(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, SKU, UNITS)
    send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})

    replay = client.post(
        "/api/v1/reservations",
        data=f'{{ "quantity" : 1,   "sku": "{SKU}" }}',
        content_type="application/json",
        headers=keys.headers(Role.SELLER, **{"Idempotency-Key": "tap-1"}),
    )

    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert count(app, Reservation) == 1


def test_a_hold_refused_for_stock_stays_refused_on_replay(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, SKU, UNITS)
    body = {"sku": SKU, "quantity": 3}
    refused = send(client, keys, "POST", "/api/v1/reservations", body)
    # A delivery arrives meanwhile: a new hold would now succeed, the replayed one must not.
    delivery = {"sku": SKU, "location": "floor", "delta": 5, "reason": "delivery"}
    send(client, keys, "POST", "/api/v1/stock/adjustments", delivery, key="delivery-1")

    replay = send(client, keys, "POST", "/api/v1/reservations", body)

    assert refused.status_code == 409
    assert refused.get_json()["code"] == "insufficient_stock"
    assert replay.status_code == 409
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_data() == refused.get_data()
    assert count(app, Reservation) == 0
    assert stock_of(app, SKU).reserved == 0


def test_a_stale_count_stays_stale_on_replay(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, SKU, UNITS)
    url = f"/api/v1/stock/{SKU}/locations/floor"
    stale = send(client, keys, "PUT", url, {"on_hand": 4, "expected_on_hand": 9})
    before = database(app)

    replay = send(client, keys, "PUT", url, {"on_hand": 4, "expected_on_hand": 9})

    assert stale.status_code == replay.status_code == 409
    assert replay.get_json()["code"] == "stale_count"
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert database(app) == before


def test_answers_that_are_not_kept_can_be_retried_with_the_same_key(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    invalid = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 0})
    unknown = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})
    forbidden = send(
        client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1}, role=Role.DEVICE
    )
    add_product(app, SKU, UNITS)

    retried = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})

    assert invalid.status_code == 422
    assert unknown.status_code in (404, 422)
    assert forbidden.status_code == 403
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    assert count(app, Reservation) == 1


def test_a_key_belongs_to_the_api_key_that_sent_it(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, SKU, UNITS)
    body = {"sku": SKU, "quantity": 1}
    first = send(client, keys, "POST", "/api/v1/reservations", body, key="tap-1")

    other = send(client, keys, "POST", "/api/v1/reservations", body, key="tap-1", role=Role.OWNER)

    assert other.status_code == 201
    assert "Idempotent-Replayed" not in other.headers
    assert other.get_json()["id"] != first.get_json()["id"]
    assert count(app, Reservation) == 2


def test_a_revoked_key_gets_401_even_for_a_replay(
    app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner
) -> None:
    add_product(app, SKU, UNITS)
    send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})
    listed = runner.invoke(args=["keys", "list"]).output
    seller_id = next(line.split()[0] for line in listed.splitlines() if "test seller" in line)
    runner.invoke(args=["keys", "revoke", seller_id])

    replay = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})

    assert replay.status_code == 401


@pytest.mark.parametrize("key", ["", " ", "tap 1", "é-accent", "x" * 256, "tab\there"], ids=repr)
def test_an_invalid_key_is_refused_naming_the_header(
    app: Flask, client: FlaskClient, keys: Keys, key: str
) -> None:
    add_product(app, SKU, UNITS)
    before = database(app)

    response = client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1},
        headers={**keys.headers(Role.SELLER), "Idempotency-Key": key.encode().decode("latin-1")},
    )

    assert response.status_code == 422, response.get_data(as_text=True)
    assert "Idempotency-Key" in response.get_json()["errors"]
    assert database(app) == before


def test_a_key_of_255_visible_characters_is_accepted(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, SKU, UNITS)
    key = "k" * 254 + "~"

    first = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1}, key)
    replay = send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1}, key)

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.headers["Idempotent-Replayed"] == "true"


def test_the_sweeper_forgets_kept_answers_after_a_day(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, runner: FlaskCliRunner
) -> None:
    add_product(app, SKU, {"floor": 5})
    body = {"sku": SKU, "quantity": 1, "ttl_seconds": 7 * 24 * 3600}
    send(client, keys, "POST", "/api/v1/reservations", body, key="old")
    clock.advance(hours=23)
    send(client, keys, "POST", "/api/v1/reservations", body, key="recent")
    clock.advance(hours=2)

    swept = runner.invoke(args=["reservations", "expire"])
    again = send(client, keys, "POST", "/api/v1/reservations", body, key="old")
    recent = send(client, keys, "POST", "/api/v1/reservations", body, key="recent")

    assert swept.exit_code == 0, swept.output
    assert "1 idempotency key(s) older than 24 h forgotten" in swept.output
    assert "Idempotent-Replayed" not in again.headers  # forgotten: applied as a new tap
    assert recent.headers["Idempotent-Replayed"] == "true"
    assert count(app, Reservation) == 3


def test_the_openapi_document_lists_the_header_on_every_tablet_write(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    documented = {
        (method.upper(), path)
        for path, item in paths.items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        and any(p.get("name") == "Idempotency-Key" for p in operation.get("parameters", []))
    }

    assert {
        ("POST", "/api/v1/reservations"),
        ("DELETE", "/api/v1/reservations/{reservation_id}"),
        ("POST", "/api/v1/reservations/{reservation_id}/extend"),
        ("POST", "/api/v1/reservations/{reservation_id}/commit"),
        ("POST", "/api/v1/alerts/{alert_id}/ack"),
        ("POST", "/api/v1/stock/adjustments"),
        ("PUT", "/api/v1/stock/{sku}/locations/{location}"),
    } <= documented
    # The path parameters are still documented next to the header.
    assert "parameters" in paths["/api/v1/reservations/{reservation_id}/commit"]


# --- concurrent duplicates ----------------------------------------------------------------------


def _in_threads(n: int, call: Callable[[int], TestResponse]) -> list[TestResponse]:
    start = threading.Barrier(n)

    def one(i: int) -> TestResponse:
        start.wait()
        return call(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_two_duplicates_sent_at_the_same_moment_hold_one_unit(app: Flask, keys: Keys) -> None:
    add_product(app, SKU, UNITS)
    body = {"sku": SKU, "quantity": 1}

    answers = _in_threads(
        2,
        lambda _i: app.test_client().post(
            "/api/v1/reservations",
            json=body,
            headers=keys.headers(Role.SELLER, **{"Idempotency-Key": "same-tap"}),
        ),
    )

    assert [a.status_code for a in answers] == [201, 201], [a.get_json() for a in answers]
    assert answers[0].get_data() == answers[1].get_data()
    assert sorted(a.headers.get("Idempotent-Replayed", "") for a in answers) == ["", "true"]
    assert count(app, Reservation) == 1
    assert stock_of(app, SKU).reserved == 1
    assert drifts(app) == []


def _second_is_waiting(app: Flask, gate_waiters: list[int]) -> bool:
    """Positive evidence that the duplicate is blocked behind the first request."""
    if BACKEND == "postgresql":
        with db.engine_for(app).connect() as conn:
            waiting = conn.execute(
                text("SELECT count(*) FROM pg_locks WHERE NOT granted")
            ).scalar_one()
        return bool(waiting)
    return bool(gate_waiters)


def test_a_duplicate_sent_while_the_first_is_running_waits_and_replays_its_answer(
    app: Flask, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_product(app, SKU, UNITS)
    entered, go = threading.Event(), threading.Event()
    real_reserve = stock_service.reserve

    def paused_reserve(*args: Any, **kwargs: Any) -> Any:
        if not entered.is_set():
            entered.set()
            assert go.wait(30), "the test never let the first hold finish"
        return real_reserve(*args, **kwargs)

    monkeypatch.setattr(stock_service, "reserve", paused_reserve)
    gate_waiters: list[int] = []
    real_hold = db.SqliteWriteGate.hold

    def counting_hold(self: db.SqliteWriteGate) -> Any:
        if entered.is_set():
            gate_waiters.append(threading.get_ident())
        return real_hold(self)

    monkeypatch.setattr(db.SqliteWriteGate, "hold", counting_hold)

    def tap() -> TestResponse:
        return app.test_client().post(
            "/api/v1/reservations",
            json={"sku": SKU, "quantity": 1},
            headers=keys.headers(Role.SELLER, **{"Idempotency-Key": "queued-tap"}),
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(tap)
        assert entered.wait(30), "the first hold never started"
        second = pool.submit(tap)
        deadline = time.monotonic() + 30
        while not _second_is_waiting(app, gate_waiters):
            assert time.monotonic() < deadline, "the duplicate never reached the key"
            assert not second.done(), second.result().get_json()
            time.sleep(0.01)
        go.set()
        answers = [first.result(timeout=30), second.result(timeout=30)]

    assert [a.status_code for a in answers] == [201, 201], [a.get_json() for a in answers]
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert answers[1].get_data() == answers[0].get_data()
    assert count(app, Reservation) == 1
    assert stock_of(app, SKU).reserved == 1


def test_kept_answers_older_than_the_retention_are_purged_by_created_at(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    from store_api import idempotency

    add_product(app, SKU, UNITS)
    send(client, keys, "POST", "/api/v1/reservations", {"sku": SKU, "quantity": 1})
    session = db.new_session(app)
    with db.write(session):
        kept_young = idempotency.purge(session, older_than=clock() - dt.timedelta(seconds=1))
    with db.write(session):
        purged = idempotency.purge(session, older_than=clock() + dt.timedelta(seconds=1))
    session.close()

    assert (kept_young, purged) == (0, 1)


@pytest.mark.http
def test_a_hold_replayed_twenty_times_at_once_through_gunicorn_holds_one_unit(
    app: Flask, keys: Keys, live_server: LiveServer, runner: FlaskCliRunner
) -> None:
    """Two worker processes, twenty threads, one Idempotency-Key: one hold, one answer."""
    add_product(app, SKU, UNITS)
    start = threading.Barrier(20)

    def tap(_i: int) -> requests.Response:
        start.wait()
        return requests.post(
            f"{live_server.url}/api/v1/reservations",
            json={"sku": SKU, "quantity": 1, "note": "Mme Martin"},
            headers=keys.headers(Role.SELLER, **{"Idempotency-Key": "offline-tap-7"}),
            timeout=60,
        )

    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(tap, range(20)))

    assert {r.status_code for r in responses} == {201}, [r.text for r in responses]
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("Idempotent-Replayed") == "true" for r in responses) == 19
    assert count(app, Reservation) == 1
    assert stock_of(app, SKU).reserved == 1
    assert runner.invoke(args=["stock", "check"]).exit_code == 0
