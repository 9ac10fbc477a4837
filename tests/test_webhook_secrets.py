"""Webhook signing secrets are stored sealed (encrypted under a key derived from SECRET_KEY)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select, text

from store_api import db
from store_api.keys.models import Role
from store_api.webhooks import service
from store_api.webhooks.models import WebhookSubscription
from store_api.webhooks.secret_box import SecretBox, SecretUnreadable
from tests.conftest import Keys
from tests.fixtures.shop import add_product
from tests.fixtures.webhook_receiver import Receiver
from tests.test_webhooks import deliver, deliveries, subscribe, verify


@pytest.fixture
def settings() -> dict[str, Any]:
    return {
        "WEBHOOK_POLL_SECONDS": 0.01,
        "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"],
        "SECRET_KEY": "the-shop-key-" + "k" * 40,
    }


def stored_secrets(app: Flask) -> list[str]:
    session = db.new_session(app)
    with db.read(session):
        found = list(session.scalars(select(WebhookSubscription.secret)))
    session.close()
    return found


def test_the_database_never_holds_a_secret_in_clear(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    created = subscribe(client, keys, "https://erp.example/hooks")
    rotated = client.patch(
        f"/api/v1/webhooks/{created['id']}",
        json={"rotate_secret": True},
        headers=keys.headers(Role.OWNER),
    ).json

    (stored,) = stored_secrets(app)
    key_part = rotated["secret"].removeprefix("whsec_")
    assert stored.startswith("enc1:")
    assert key_part not in stored and created["secret"].removeprefix("whsec_") not in stored
    assert SecretBox(app.config["SECRET_KEY"]).open(stored) == rotated["secret"]
    # The whole table, as a dump would show it.
    session = db.new_session(app)
    with db.read(session):
        dump = str(session.execute(text("SELECT * FROM webhook_subscriptions")).all())
    session.close()
    assert key_part not in dump


def test_sealed_secrets_still_sign_every_delivery(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    with Receiver() as receiver:
        sub = subscribe(client, keys, receiver.url, event_types=["product.created"])
        add_product(app, "LL-8KG")
        deliver(app)

    (receipt,) = receiver.receipts
    assert verify(sub["secret"], receipt.headers, receipt.body)


def test_secrets_stored_in_clear_before_are_sealed_by_db_upgrade(
    app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner
) -> None:
    with Receiver() as receiver:
        plain = service.new_secret()
        session = db.new_session(app)
        with db.write(session):
            session.add(
                WebhookSubscription(
                    url=receiver.url,
                    description="",
                    event_types=["product.created"],
                    secret=plain,
                    active=True,
                    cursor_seq=0,
                )
            )
        session.close()

        upgraded = runner.invoke(args=["db", "upgrade"])
        add_product(app, "LL-8KG")
        deliver(app)

    assert upgraded.exit_code == 0, upgraded.output
    assert "Sealed 1 webhook secret(s)" in upgraded.output
    (stored,) = stored_secrets(app)
    assert stored.startswith("enc1:") and plain not in stored
    (receipt,) = receiver.receipts
    assert verify(plain, receipt.headers, receipt.body)


def test_a_changed_secret_key_fails_deliveries_clearly_until_the_secret_is_rotated(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    with Receiver() as receiver:
        sub = subscribe(client, keys, receiver.url, event_types=["product.created"])
        app.config["SECRET_KEY"] = "another-key-" + "z" * 40
        add_product(app, "LL-1")
        deliver(app)
        failed = deliveries(client, keys, sub["id"])["items"][0]
        rotated = client.patch(
            f"/api/v1/webhooks/{sub['id']}",
            json={"rotate_secret": True},
            headers=keys.headers(Role.OWNER),
        ).json
        add_product(app, "LL-2")
        deliver(app)

    assert failed["status"] == "failed"
    assert failed["last_error"] == "signing secret unreadable (SECRET_KEY changed?)"
    (receipt,) = receiver.receipts  # nothing was sent unsigned or signed with junk
    assert verify(rotated["secret"], receipt.headers, receipt.body)


def test_a_tampered_sealed_secret_is_refused() -> None:
    box = SecretBox("k" * 40)
    sealed = box.seal("whsec_abc")

    with pytest.raises(SecretUnreadable):
        box.open(sealed[:-4] + "AAAA")
    with pytest.raises(SecretUnreadable):
        SecretBox("j" * 40).open(sealed)
    assert box.open(sealed) == "whsec_abc"
