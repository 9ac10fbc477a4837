"""Recovery paths a review found unexercised: a webhook worker that loses its lease while its
POST is in flight, and the visitor salt when the day changes while it is cached."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from store_api import db
from store_api.clickstream.models import ClickEvent, Visit, VisitorSalt
from store_api.webhooks import service
from store_api.webhooks.models import WebhookAttempt, WebhookDelivery
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.test_webhooks import subscribe

LEASE = 60.0


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"WEBHOOK_LEASE_SECONDS": LEASE, "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"]}


def _claim(app: Flask, worker: str) -> list[service.Claimed]:
    session = db.new_session(app)
    with db.write(session):
        service.fan_out(session, app.extensions["comptoir_clock"]())
        claimed = service.claim(session, app.extensions["comptoir_clock"](), worker, 10, LEASE)
    session.close()
    return claimed


def _record(app: Flask, item: service.Claimed, worker: str, outcome: service.Outcome) -> Any:
    session = db.new_session(app)
    with db.write(session):
        recorded = service.record_result(
            session,
            delivery_id=item.delivery_id,
            worker_id=worker,
            attempted_at=app.extensions["comptoir_clock"](),
            outcome=outcome,
            now=app.extensions["comptoir_clock"](),
            policy=service.DeliveryPolicy.from_config(app.config),
        )
    session.close()
    return recorded


def _delivery(app: Flask) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    session = db.new_session(app)
    with db.read(session):
        delivery = session.scalars(select(WebhookDelivery)).one()
        attempts = list(session.scalars(select(WebhookAttempt)))
    session.close()
    return delivery, attempts


def test_a_worker_that_lost_its_lease_mid_delivery_cannot_undo_the_new_owner(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    subscribe(client, keys, "https://erp.example/hooks", event_types=["product.created"])
    add_product(app, "LL-8KG")
    (slow,) = _claim(app, "worker-a")  # A's POST hangs past its lease...
    clock.advance(seconds=LEASE + 1)
    (taken,) = _claim(app, "worker-b")  # ...so B takes the delivery over and sends it too

    late = _record(app, slow, "worker-a", service.Outcome(500, 30_000))  # A's answer lands
    done = _record(app, taken, "worker-b", service.Outcome(200, 12))

    assert taken.delivery_id == slow.delivery_id
    assert late is None  # not A's any more: only its attempt is logged
    assert done is not None and done.status == "delivered"
    delivery, attempts = _delivery(app)
    assert delivery.status == "delivered"
    assert delivery.leased_by is None
    assert sorted(a.status_code or 0 for a in attempts) == [200, 500]
    assert _claim(app, "worker-c") == []  # delivered once; nothing left to send again


def test_a_late_success_of_the_old_owner_does_not_end_the_new_owners_delivery_twice(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    subscribe(client, keys, "https://erp.example/hooks", event_types=["product.created"])
    add_product(app, "LL-8KG")
    (slow,) = _claim(app, "worker-a")
    clock.advance(seconds=LEASE + 1)
    (taken,) = _claim(app, "worker-b")

    late = _record(app, slow, "worker-a", service.Outcome(200, 30_000))
    failed = _record(app, taken, "worker-b", service.Outcome(503, 10))

    assert late is None
    assert failed is not None and failed.status == "pending"  # B's own failure is retried
    delivery, _attempts = _delivery(app)
    assert delivery.attempts == 1  # only the owner's result moved it


# --- the visitor salt across midnight --------------------------------------------------------


def _visit(client: FlaskClient, clock: FrozenClock, event_id: str) -> None:
    response = client.post(
        "/api/v1/collect",
        json={
            "events": [
                {
                    "event_id": event_id,
                    "name": "page_view",
                    "ts": int(clock().timestamp() * 1000),
                    "page": "https://shop.example/",
                }
            ]
        },
        headers={"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0 Safari/537.36"},
        environ_base={"REMOTE_ADDR": "203.0.113.50"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accepted"] == 1


def test_the_day_changes_while_the_salt_is_cached_and_the_visitor_is_new(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    clock.current = dt.datetime(2026, 11, 27, 23, 59, 30, tzinfo=dt.UTC)
    _visit(client, clock, "before-midnight")  # reads today's salt into the process cache
    _visit(client, clock, "before-midnight-2")  # served from the cache
    clock.current = dt.datetime(2026, 11, 28, 0, 0, 30, tzinfo=dt.UTC)
    _visit(client, clock, "after-midnight")

    session = db.new_session(app)
    with db.read(session):
        visitors = dict(
            session.execute(
                select(ClickEvent.event_id, Visit.visitor).join(
                    Visit, Visit.id == ClickEvent.visit_id
                )
            ).all()
        )
        salts = dict(session.execute(select(VisitorSalt.day, VisitorSalt.salt)).all())
        visits = list(session.scalars(select(Visit.visitor)))
    session.close()

    assert visitors["before-midnight"] == visitors["before-midnight-2"]
    assert visitors["after-midnight"] != visitors["before-midnight"]  # a stale salt links days
    assert set(salts) == {dt.date(2026, 11, 27), dt.date(2026, 11, 28)}
    assert len(set(salts.values())) == 2
    assert len(visits) == 2
