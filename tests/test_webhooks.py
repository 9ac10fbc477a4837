"""Webhooks: subscriptions through the API, signed deliveries to a real loopback receiver.

The worker runs in-process here (``webhooks deliver --once`` or the loop itself) against the
test database, with the frozen clock: a retry is due when the test moves the clock.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import hashlib
import hmac
import random
import re
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from store_api import db
from store_api.events.models import Event
from store_api.instance import secret_key
from store_api.keys.models import Role
from store_api.stock import service as stock
from store_api.stock.models import Reason
from store_api.webhooks import service
from store_api.webhooks.models import WebhookAttempt, WebhookDelivery
from store_api.webhooks.secret_box import SecretBox
from store_api.webhooks.worker import DeliveryWorker, Totals, parse_retry_after
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.fixtures.webhook_receiver import Receipt, Receiver

API = "/api/v1/webhooks"
BASE = 1.0
MAX = 8.0
DISABLE_AFTER = 3600


@pytest.fixture
def settings() -> dict[str, Any]:
    return {
        "WEBHOOK_RETRY_BASE_SECONDS": BASE,
        "WEBHOOK_RETRY_MAX_SECONDS": MAX,
        "WEBHOOK_DISABLE_AFTER_SECONDS": DISABLE_AFTER,
        "WEBHOOK_TIMEOUT_SECONDS": 5.0,
        "WEBHOOK_POLL_SECONDS": 0.01,
        "WEBHOOK_CONCURRENCY": 4,
        # The receiver listens on loopback, which only this setting allows.
        "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"],
    }


# --- what an integrator writes ------------------------------------------------------------


def verify(secret: str, headers: Mapping[str, str], body: bytes, tolerance: int = 300) -> bool:
    """Standard Webhooks verification, as documented in docs/webhooks.md."""
    msg_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, signature.removeprefix("v1,"))
        for signature in headers["webhook-signature"].split()
        if signature.startswith("v1,")
    )


# --- helpers --------------------------------------------------------------------------------


def subscribe(client: FlaskClient, keys: Keys, url: str, **fields: Any) -> dict[str, Any]:
    response = client.post(API, json={"url": url, **fields}, headers=keys.headers(Role.OWNER))
    assert response.status_code == 201, response.json
    body: dict[str, Any] = response.json
    return body


def deliver(app: Flask, worker_id: str | None = None) -> Totals:
    """One ``--once`` pass of the delivery loop, in this process."""
    worker = DeliveryWorker(
        lambda: db.new_session(app),
        service.DeliveryPolicy.from_config(app.config),
        app.extensions["comptoir_clock"],
        secret_box=SecretBox(secret_key(app)),
        worker_id=worker_id,
    )
    return worker.run(once=True)


def adjust(app: Flask, sku: str, delta: int = 1) -> None:
    session = db.new_session(app)
    with db.write(session):
        stock.adjust(
            session,
            sku=sku,
            location="floor",
            delta=delta,
            reason=Reason.DELIVERY,
            actor="test",
            reference=None,
            now=app.extensions["comptoir_clock"](),
            policy=app.extensions["comptoir_policy"],
        )
    session.close()


def deliveries(client: FlaskClient, keys: Keys, sub_id: int, query: str = "") -> dict[str, Any]:
    response = client.get(f"{API}/{sub_id}/deliveries{query}", headers=keys.headers(Role.OWNER))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def events_in_db(app: Flask) -> list[Event]:
    session = db.new_session(app)
    with db.read(session):
        found = list(session.scalars(select(Event).order_by(Event.seq)))
    session.close()
    return found


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def first_receipts_in_order(receipts: list[Receipt]) -> dict[str, list[int]]:
    """Per product (sku): seqs in the order each event first arrived."""
    order: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    for receipt in receipts:
        if receipt.webhook_id not in seen:
            seen.add(receipt.webhook_id)
            order[receipt.message["sku"]].append(receipt.message["seq"])
    return order


# --- the API ----------------------------------------------------------------------------------


def test_an_owner_subscribes_and_sees_the_secret_only_once(client: FlaskClient, keys: Keys) -> None:
    created = subscribe(
        client, keys, "https://erp.example/hooks", event_types=["stock.*"], description="ERP"
    )

    assert re.fullmatch(r"whsec_[A-Za-z0-9+/]{43}=", created["secret"])
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert created["active"] is True
    assert created["event_types"] == ["stock.*"]
    assert created["deliveries"] == {"pending": 0, "delivered": 0, "failed": 0}
    one = client.get(f"{API}/{created['id']}", headers=keys.headers(Role.OWNER)).json
    listed = client.get(API, headers=keys.headers(Role.ADMIN)).json
    assert "secret" not in one
    assert [s["id"] for s in listed] == [created["id"]]
    assert "secret" not in listed[0]
    assert one["disabled_at"] is None and one["failing_since"] is None


def test_an_owner_changes_rotates_and_deletes_a_subscription(
    client: FlaskClient, keys: Keys
) -> None:
    owner = keys.headers(Role.OWNER)
    created = subscribe(client, keys, "https://erp.example/hooks")

    changed = client.patch(
        f"{API}/{created['id']}",
        json={"url": "https://erp.example/v2", "event_types": ["order.created"], "active": False},
        headers=owner,
    )
    rotated = client.patch(f"{API}/{created['id']}", json={"rotate_secret": True}, headers=owner)
    deleted = client.delete(f"{API}/{created['id']}", headers=owner)
    gone = client.get(f"{API}/{created['id']}", headers=owner)

    assert changed.status_code == 200, changed.json
    assert changed.json["url"] == "https://erp.example/v2"
    assert changed.json["event_types"] == ["order.created"]
    assert changed.json["active"] is False
    assert "secret" not in changed.json
    assert rotated.json["secret"].startswith("whsec_")
    assert rotated.json["secret"] != created["secret"]
    assert deleted.status_code == 204
    assert gone.status_code == 404
    assert gone.json["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "body", "fields"),
    [
        ("POST", "", {"url": "ftp://erp.example/hooks"}, {"url"}),
        ("POST", "", {"url": "javascript:alert(1)"}, {"url"}),
        ("POST", "", {"url": "https://erp.example/" + "a" * 2048}, {"url"}),
        ("POST", "", {}, {"url"}),
        (
            "POST",
            "",
            {"url": "https://erp.example/h", "event_types": ["stock.exploded"]},
            {"event_types"},
        ),
        ("POST", "", {"url": "https://erp.example/h", "event_types": "stock.*"}, {"event_types"}),
        ("POST", "", {"url": "https://erp.example/h", "secret": "mine"}, {"secret"}),
        ("PATCH", "/{id}", {"url": "not a url", "active": "maybe"}, {"url", "active"}),
        ("PATCH", "/{id}", {"description": "x" * 256}, {"description"}),
        ("GET", "/{id}/deliveries?status=lost", None, {"status"}),
        ("GET", "/{id}/deliveries?page_size=1000", None, {"page_size"}),
    ],
)
def test_invalid_input_is_refused_naming_each_field(
    client: FlaskClient,
    keys: Keys,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    fields: set[str],
) -> None:
    created = subscribe(client, keys, "https://erp.example/hooks")

    response = client.open(
        API + path.format(id=created["id"]),
        method=method,
        json=body,
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == fields


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.ADMIN, 201),
        (Role.OWNER, 201),
        (Role.SELLER, 403),
        (Role.WEBSHOP, 403),
        (Role.DEVICE, 403),
        (None, 401),
    ],
)
def test_only_owners_and_admins_manage_webhooks(
    client: FlaskClient, keys: Keys, role: Role | None, status: int
) -> None:
    headers = keys.headers(role) if role else {}
    existing = subscribe(client, keys, "https://erp.example/hooks")

    created = client.post(API, json={"url": "https://other.example/h"}, headers=headers)
    read = client.get(f"{API}/{existing['id']}/deliveries", headers=headers)

    assert created.status_code == status
    assert read.status_code == (200 if status == 201 else status)
    listed = client.get(API, headers=keys.headers(Role.OWNER)).json
    assert len(listed) == (2 if status == 201 else 1)


def test_unknown_subscriptions_and_deliveries_are_not_found(
    client: FlaskClient, keys: Keys
) -> None:
    owner = keys.headers(Role.OWNER)
    created = subscribe(client, keys, "https://erp.example/hooks")

    for method, path in [
        ("GET", f"{API}/999"),
        ("PATCH", f"{API}/999"),
        ("DELETE", f"{API}/999"),
        ("POST", f"{API}/999/enable"),
        ("GET", f"{API}/999/deliveries"),
        ("POST", f"{API}/{created['id']}/deliveries/12/redeliver"),
        ("GET", f"{API}/99999999999999999999"),
    ]:
        response = client.open(
            path, method=method, json={} if method == "PATCH" else None, headers=owner
        )
        assert response.status_code == 404, (method, path, response.json)
        assert response.json["code"] == "not_found"


# --- signed deliveries ---------------------------------------------------------------------------


def test_every_event_arrives_signed_in_the_standard_webhooks_format(
    app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner
) -> None:
    with Receiver() as receiver:
        sub = subscribe(client, keys, receiver.url)
        add_product(app, "LL-8KG", {"floor": 2})
        adjust(app, "LL-8KG", -1)

        result = runner.invoke(args=["webhooks", "deliver", "--once"])

    assert result.exit_code == 0, result.output
    events = events_in_db(app)
    assert [r.webhook_id for r in receiver.receipts] == [str(e.id) for e in events]
    for receipt, event in zip(receiver.receipts, events, strict=True):
        assert verify(sub["secret"], receipt.headers, receipt.body)
        assert receipt.headers["content-type"] == "application/json"
        assert receipt.headers["user-agent"] == "Comptoir-Webhooks"
        assert receipt.message == {
            "type": event.type,
            "timestamp": event.occurred_at.isoformat(),
            "data": event.payload,
            "seq": event.seq,
            "sku": "LL-8KG",
        }
        assert not verify(sub["secret"], receipt.headers, receipt.body + b" ")
        assert not verify(service.new_secret(), receipt.headers, receipt.body)
    assert f"{len(events)} delivered" in result.output
    log = deliveries(client, keys, sub["id"])
    assert log["total"] == len(events) == 4
    assert {d["status"] for d in log["items"]} == {"delivered"}
    assert all(d["attempts"][0]["status_code"] == 200 for d in log["items"])
    assert all(d["attempts"][0]["latency_ms"] >= 0 for d in log["items"])


def test_sign_matches_the_standard_webhooks_example() -> None:
    # The example from the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = '{"test": 2432232314}'

    signature = service.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)

    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_new_subscription_starts_at_the_next_event_and_filters_by_type(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "OLD-1", {"floor": 1})
    with Receiver() as everything, Receiver() as stock_only, Receiver() as products:
        subscribe(client, keys, everything.url)
        subscribe(client, keys, stock_only.url, event_types=["stock.*"])
        subscribe(client, keys, products.url, event_types=["product.created"])
        add_product(app, "NEW-1", {"floor": 1})

        deliver(app)

    new = [e.type for e in events_in_db(app) if e.sku == "NEW-1"]
    assert new[:2] == ["product.created", "stock.changed"]
    assert {r.message["sku"] for r in everything.receipts} == {"NEW-1"}
    assert [r.message["type"] for r in everything.receipts] == new
    assert [r.message["type"] for r in stock_only.receipts] == new[1:]
    assert [r.message["type"] for r in products.receipts] == ["product.created"]


# --- retries -----------------------------------------------------------------------------------


def _next_attempt(client: FlaskClient, keys: Keys, sub_id: int) -> dt.datetime:
    (item,) = deliveries(client, keys, sub_id)["items"]
    return parse_time(item["next_attempt_at"])


def test_a_500_is_retried_with_growing_delays_until_it_succeeds(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "LL-8KG")
    with Receiver(lambda _m, nth: 500 if nth <= 6 else 200) as receiver:
        sub = subscribe(client, keys, receiver.url, event_types=["stock.changed"])
        adjust(app, "LL-8KG", 3)
        delays = []
        for _attempt in range(6):
            deliver(app)
            due = _next_attempt(client, keys, sub["id"])
            delays.append((due - clock()).total_seconds())
            clock.current = due
        deliver(app)

    expected = [min(BASE * 2**n, MAX) for n in range(6)]  # 1, 2, 4, 8, 8, 8
    for delay, backoff in zip(delays, expected, strict=True):
        assert 0.8 * backoff <= delay <= 1.2 * backoff
    assert delays[0] < delays[1] < delays[2] < delays[3]
    assert [r.status for r in receiver.receipts] == [500] * 6 + [200]
    assert len({r.webhook_id for r in receiver.receipts}) == 1
    (item,) = deliveries(client, keys, sub["id"])["items"]
    assert item["status"] == "delivered"
    assert item["attempt_count"] == 7
    assert [a["status_code"] for a in item["attempts"]] == [500] * 6 + [200]
    assert item["next_attempt_at"] is None


@pytest.mark.parametrize("attempt", range(1, 12))
def test_the_retry_delay_doubles_up_to_the_maximum_with_jitter(attempt: int) -> None:
    policy = service.DeliveryPolicy(retry_base_seconds=5, retry_max_seconds=3600)
    backoff = min(5 * 2 ** (attempt - 1), 3600)

    delays = [service.retry_delay(attempt, policy, random.Random(seed)) for seed in range(50)]

    assert all(0.8 * backoff <= d <= 1.2 * backoff for d in delays)
    assert len(set(delays)) > 1  # jitter: workers do not retry in lockstep


@pytest.mark.parametrize(
    ("status", "retried"),
    [(400, False), (404, False), (410, False), (408, True), (429, True), (503, True), (302, True)],
)
def test_client_errors_fail_at_once_except_408_and_429(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, status: int, retried: bool
) -> None:
    add_product(app, "LL-8KG")
    first: dict[str, int] = {}

    def respond(message: dict[str, Any], _nth: int) -> int:
        head = first.setdefault("seq", message["seq"])
        return status if message["seq"] == head else 200

    with Receiver(respond) as receiver:
        sub = subscribe(client, keys, receiver.url, event_types=["stock.changed"])
        adjust(app, "LL-8KG", 1)
        adjust(app, "LL-8KG", 1)
        deliver(app)
        clock.advance(seconds=MAX * 2)
        deliver(app)

    statuses = [r.status for r in receiver.receipts]
    if retried:
        # The head keeps failing and holds back the next event of the same product.
        assert statuses == [status, status]
        assert deliveries(client, keys, sub["id"], "?status=pending")["total"] == 2
    else:
        # Failed for good after one attempt; the next event of the product goes out.
        assert statuses == [status, 200]
        failed = deliveries(client, keys, sub["id"], "?status=failed")
        assert failed["total"] == 1
        assert failed["items"][0]["attempt_count"] == 1
        assert failed["items"][0]["last_status_code"] == status


def test_retry_after_is_honoured_on_429(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "LL-8KG")
    with Receiver(lambda _m, _nth: (429, {"Retry-After": "5"})) as receiver:
        sub = subscribe(client, keys, receiver.url, event_types=["stock.changed"])
        adjust(app, "LL-8KG")
        deliver(app)

    assert len(receiver.receipts) == 1
    assert _next_attempt(client, keys, sub["id"]) == clock() + dt.timedelta(seconds=5)


def test_a_retry_after_date_is_understood() -> None:
    in_a_minute = time.time() + 60
    header = email.utils.formatdate(in_a_minute, usegmt=True)

    assert 58 <= (parse_retry_after(header) or 0) <= 61
    assert parse_retry_after("30") == 30
    assert parse_retry_after("soon") is None


def test_a_subscription_failing_for_too_long_is_disabled_then_re_enabled(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    owner = keys.headers(Role.OWNER)
    add_product(app, "LL-8KG")
    down = True
    with Receiver(lambda _m, _nth: 503 if down else 200) as receiver:
        sub = subscribe(client, keys, receiver.url, event_types=["stock.changed"])
        adjust(app, "LL-8KG")
        started = clock()
        deliver(app)
        while clock() - started <= dt.timedelta(seconds=DISABLE_AFTER):
            clock.advance(minutes=20)
            deliver(app)
        disabled = client.get(f"{API}/{sub['id']}", headers=owner).json
        sent_while_failing = len(receiver.receipts)
        adjust(app, "LL-8KG")  # an event while disabled is kept for later
        clock.advance(hours=1)
        deliver(app)
        sent_while_disabled = len(receiver.receipts) - sent_while_failing

        down = False
        enabled = client.post(f"{API}/{sub['id']}/enable", headers=owner)
        deliver(app)

    assert disabled["active"] is False
    assert parse_time(disabled["failing_since"]) == started
    assert disabled["disabled_at"] is not None
    assert "failing since" in disabled["disabled_reason"]
    assert "503" in disabled["disabled_reason"]
    assert sent_while_disabled == 0
    assert enabled.status_code == 200
    assert enabled.json["active"] is True
    assert enabled.json["disabled_reason"] is None
    assert [r.status for r in receiver.receipts[-2:]] == [200, 200]
    final = client.get(f"{API}/{sub['id']}", headers=owner).json
    assert final["deliveries"] == {"pending": 0, "delivered": 2, "failed": 0}
    assert final["failing_since"] is None


def test_redeliver_sends_the_same_message_again(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    owner = keys.headers(Role.OWNER)
    with Receiver() as receiver, Receiver() as other:
        sub = subscribe(client, keys, receiver.url, event_types=["product.created"])
        other_sub = subscribe(client, keys, other.url)
        add_product(app, "LL-8KG")
        deliver(app)
        (item,) = deliveries(client, keys, sub["id"])["items"]

        again = client.post(f"{API}/{sub['id']}/deliveries/{item['id']}/redeliver", headers=owner)
        wrong = client.post(
            f"{API}/{other_sub['id']}/deliveries/{item['id']}/redeliver", headers=owner
        )
        deliver(app)

    assert again.status_code == 202, again.json
    assert again.json["status"] == "pending"
    assert wrong.status_code == 404
    assert [r.webhook_id for r in receiver.receipts] == [item["event_id"]] * 2
    (after,) = deliveries(client, keys, sub["id"])["items"]
    assert after["status"] == "delivered"
    assert after["attempt_count"] == 2


# --- ordering and concurrency ---------------------------------------------------------------------


def test_events_of_one_product_arrive_in_order_while_some_are_retried(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    skus = [f"SKU-{i}" for i in range(5)]
    for sku in skus:
        add_product(app, sku)
    # Every third event fails twice before it gets through.
    with Receiver(lambda m, nth: 500 if m["seq"] % 3 == 0 and nth <= 2 else 200) as receiver:
        subscribe(client, keys, receiver.url, event_types=["stock.changed"])
        for round_ in range(8):
            for sku in skus:
                adjust(app, sku, 1 + round_)
        for _pass in range(30):
            deliver(app)
            clock.advance(seconds=MAX * 1.5)
        delivered = receiver.delivered()

    assert len(delivered) == 40
    assert len({r.webhook_id for r in delivered}) == 40
    for sku, seqs in first_receipts_in_order(receiver.receipts).items():
        assert seqs == sorted(seqs), sku
        assert len(seqs) == 8
    assert any(r.status == 500 for r in receiver.receipts)


def test_two_workers_at_once_send_each_event_once_and_in_order(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    skus = [f"SKU-{i}" for i in range(10)]
    for sku in skus:
        add_product(app, sku)
    with Receiver() as receiver:
        subscribe(client, keys, receiver.url, event_types=["stock.*"])
        last_before = events_in_db(app)[-1].seq
        for round_ in range(15):
            for sku in skus:
                adjust(app, sku, 1 + round_)
        session = db.new_session(app)
        with db.write(session):  # both workers find the deliveries ready to claim
            service.fan_out(session, app.extensions["comptoir_clock"]())
        session.close()
        totals: dict[str, Totals] = {}
        start = threading.Barrier(2)

        def run(name: str) -> None:
            start.wait()
            totals[name] = deliver(app, worker_id=name)

        threads = [threading.Thread(target=run, args=(f"worker-{i}",)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        receipts = receiver.snapshot()

    expected = {str(e.id) for e in events_in_db(app) if e.seq > last_before}
    ids = [r.webhook_id for r in receipts]
    assert len(ids) == len(set(ids)), "an event was sent twice"
    assert set(ids) == expected
    assert sum(t.delivered for t in totals.values()) == len(ids)
    assert all(t.delivered > 0 for t in totals.values()), totals
    for sku, seqs in first_receipts_in_order(receipts).items():
        assert seqs == sorted(seqs), sku
    session = db.new_session(app)
    with db.read(session):
        statuses = dict(
            session.execute(
                select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status)
            ).all()
        )
    session.close()
    assert statuses == {"delivered": len(ids)}
    assert len(ids) >= 150


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-8KG", {"floor": 1})
    with Receiver() as receiver:
        subscribe(client, keys, receiver.url)
        before = events_in_db(app)
        session = db.new_session(app)
        with pytest.raises(RuntimeError), db.write(session):
            stock.adjust(
                session,
                sku="LL-8KG",
                location="floor",
                delta=5,
                reason=Reason.DELIVERY,
                actor="test",
                reference=None,
                now=app.extensions["comptoir_clock"](),
                policy=app.extensions["comptoir_policy"],
            )
            raise RuntimeError("the till crashed before commit")
        session.close()
        ghost_pass = deliver(app)
        adjust(app, "LL-8KG", 2)
        deliver(app)

    after = events_in_db(app)
    assert ghost_pass.delivered == 0
    assert [e.seq for e in after] == [e.seq for e in before] + [before[-1].seq + 1]
    assert [r.message["seq"] for r in receiver.receipts] == [before[-1].seq + 1]
    assert receiver.receipts[0].message["data"]["available_after"] == 3


def test_deleting_a_subscription_removes_its_delivery_log(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    with Receiver(lambda _m, _nth: 500) as receiver:
        sub = subscribe(client, keys, receiver.url)
        add_product(app, "LL-8KG", {"floor": 1})
        deliver(app)
        deleted = client.delete(f"{API}/{sub['id']}", headers=keys.headers(Role.OWNER))
        deliver(app)

    assert deleted.status_code == 204
    assert len(receiver.receipts) == 1  # the head of the product's queue, nothing after
    session = db.new_session(app)
    with db.read(session):
        left = session.scalar(select(func.count()).select_from(WebhookDelivery))
        attempts = session.scalar(select(func.count()).select_from(WebhookAttempt))
    session.close()
    assert (left, attempts) == (0, 0)
