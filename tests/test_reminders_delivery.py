"""Bad input and bad days: templates that cannot work, SMTP servers that refuse or hang,
text messages, the owner's switches. Nothing is lost: what fails is retried or shown."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api.keys.models import Role
from store_api.reminders import delivery
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.reminders import FakeSms, deliver, new_customer
from tests.fixtures.shop import add_product
from tests.fixtures.smtp import Inbox, body, smtp_server

SKU = "LL-BOS-WGG244-BL"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as pair:
        yield pair


@pytest.fixture
def inbox(smtp: tuple[Inbox, str]) -> Inbox:
    return smtp[0]


@pytest.fixture
def settings(smtp: tuple[Inbox, str]) -> dict[str, Any]:
    return {"SMTP_URL": smtp[1], "SMTP_TIMEOUT_SECONDS": 1.0, "SMS_URL": "http://127.0.0.1:9/"}


def _held(app: Flask, client: FlaskClient, keys: Keys, **customer: Any) -> str:
    add_product(app, SKU, {"backroom": 3}, name="Lave-linge Bosch Serie 6")
    customer_id = new_customer(client, keys, **customer)
    response = client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "customer_id": customer_id},
        headers=keys.headers(Role.SELLER),
    )
    assert response.status_code == 201
    return customer_id


def _log(client: FlaskClient, keys: Keys) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get(
        "/api/v1/reminders/messages", headers=keys.headers(Role.OWNER)
    ).get_json()["items"]
    return items


# --- templates --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "text", "part", "words"),
    [
        ("Bonjour", "Bonjour {{ customer_name ", "body", "Syntax error on line 1"),
        ("{% if %}", "Bonjour", "subject", "Syntax error"),
        ("Bonjour", "Bonjour {{ prenom }}", "body", "Unknown placeholder(s): prenom"),
        ("{{ coupon }}", "x", "subject", "Unknown placeholder(s): coupon"),
        ("Bonjour", "{{ customer_name.__class__ }}", "body", "Cannot be filled in"),
    ],
)
def test_a_template_that_cannot_work_is_refused_naming_the_part(
    client: FlaskClient, keys: Keys, subject: str, text: str, part: str, words: str
) -> None:
    saved = client.put(
        "/api/v1/reminders/templates/held_item/email",
        json={"subject": subject, "body": text},
        headers=keys.headers(Role.OWNER),
    )
    preview = client.post(
        "/api/v1/reminders/templates/held_item/email/preview",
        json={"subject": subject, "body": text},
        headers=keys.headers(Role.OWNER),
    )

    for response in (saved, preview):
        assert response.status_code == 422, response.get_json()
        assert response.get_json()["code"] == "template_invalid"
        assert words in response.get_json()["errors"][part][0]
    templates = client.get("/api/v1/reminders/templates", headers=keys.headers(Role.OWNER))
    assert not any(t["customised"] for t in templates.get_json())


def test_a_marketing_template_must_keep_its_unsubscribe_link(
    client: FlaskClient, keys: Keys
) -> None:
    response = client.put(
        "/api/v1/reminders/templates/forgotten_checkout/email",
        json={"subject": "Revenez", "body": "Bonjour {{ customer_name }}, revenez !"},
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 422
    assert "unsubscribe_url" in response.get_json()["errors"]["body"][0]


def test_the_owner_edits_a_template_and_customers_read_the_new_text(
    app: Flask, client: FlaskClient, keys: Keys, inbox: Inbox
) -> None:
    text = "Chère {{ customer_name }}, votre {{ product_name }} est prêt au comptoir."
    preview = client.post(
        "/api/v1/reminders/templates/held_item/email/preview",
        json={"subject": "C'est prêt : {{ product_name }}", "body": text},
        headers=keys.headers(Role.OWNER),
    )
    saved = client.put(
        "/api/v1/reminders/templates/held_item/email",
        json={"subject": "C'est prêt : {{ product_name }}", "body": text},
        headers=keys.headers(Role.OWNER),
    )
    _held(app, client, keys)
    deliver(app)
    reset = client.delete(
        "/api/v1/reminders/templates/held_item/email", headers=keys.headers(Role.OWNER)
    )

    assert preview.get_json() == {
        "subject": "C'est prêt : Lave-linge hublot Bosch Serie 6 9 kg",
        "body": "Chère Anne Martin, votre Lave-linge hublot Bosch Serie 6 9 kg est prêt au "
        "comptoir.",
    }
    assert saved.status_code == 200 and saved.get_json()["customised"] is True
    [message] = inbox.messages
    assert str(message["Subject"]) == "C'est prêt : Lave-linge Bosch Serie 6"
    assert (
        body(message).strip()
        == "Chère Anne Martin, votre Lave-linge Bosch Serie 6 est prêt au comptoir."
    )
    assert reset.get_json()["customised"] is False


def test_an_unknown_kind_or_channel_is_a_404(client: FlaskClient, keys: Keys) -> None:
    for url in (
        "/api/v1/reminders/templates/birthday/email",
        "/api/v1/reminders/templates/held_item/fax",
    ):
        response = client.put(url, json={"body": "x"}, headers=keys.headers(Role.OWNER))
        assert response.status_code == 404, url


# --- the SMTP server says no, or nothing ------------------------------------------------------


def test_a_refusing_server_keeps_the_message_and_it_is_retried(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _held(app, client, keys)
    inbox.answer = "451 4.3.0 Mail server temporarily rejected message"

    refused = deliver(app)
    [waiting] = _log(client, keys)
    inbox.answer = "250 OK"
    not_yet = deliver(app)  # the backoff has not passed: nothing is tried
    clock.advance(minutes=5)
    retried = deliver(app)

    assert (refused.retrying, not_yet.sent, retried.sent) == (1, 0, 1)
    assert waiting["status"] == "pending"
    assert "451" in waiting["last_error"] and "temporarily rejected" in waiting["last_error"]
    assert len(inbox.unique()) == 1
    [sent] = _log(client, keys)
    assert (sent["status"], sent["attempts"], sent["last_error"]) == ("sent", 2, None)


def test_a_hanging_server_times_out_and_the_message_is_retried(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _held(app, client, keys)
    inbox.hang = 3.0  # longer than SMTP_TIMEOUT_SECONDS

    hung = deliver(app)
    [waiting] = _log(client, keys)
    inbox.hang = 0.0
    clock.advance(minutes=5)
    retried = deliver(app)

    assert hung.retrying == 1
    assert "timed out" in waiting["last_error"]
    assert retried.sent == 1
    # The hung DATA may still have been accepted late: the receiver dedupes on Message-ID.
    assert len(inbox.unique()) == 1


def test_a_refused_recipient_fails_clearly_and_the_owner_can_retry(
    app: Flask, client: FlaskClient, keys: Keys, inbox: Inbox
) -> None:
    _held(app, client, keys)
    inbox.answer = "550 5.1.1 Mailbox does not exist"

    deliver(app)
    [failed] = _log(client, keys)
    inbox.answer = "250 OK"
    retried = client.post(
        f"/api/v1/reminders/messages/{failed['id']}/retry", headers=keys.headers(Role.OWNER)
    )
    totals = deliver(app)

    assert (failed["status"], failed["outcome"]) == ("failed", "refused")
    assert "550" in failed["last_error"] and "Mailbox does not exist" in failed["last_error"]
    assert retried.get_json()["status"] == "pending"
    assert totals.sent == 1


def test_no_smtp_server_configured_keeps_messages_waiting(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    _held(app, client, keys)
    app.config["SMTP_URL"] = ""
    app.config["SMS_URL"] = ""

    totals = deliver(app)

    [waiting] = _log(client, keys)
    assert totals.sent == 0
    assert (waiting["status"], waiting["outcome"]) == ("pending", "no_transport_configured")


# --- text messages ----------------------------------------------------------------------------


def test_a_customer_with_only_a_mobile_gets_a_text_message(
    app: Flask, client: FlaskClient, keys: Keys, inbox: Inbox
) -> None:
    _held(app, client, keys, email=None, phone="06 12 34 56 78")
    sms = FakeSms()

    totals = deliver(app, sms=sms)

    assert totals.sent == 1
    [(to, text, reference)] = sms.sent
    assert to == "+33612345678"
    assert text.startswith("Comptoir : votre Lave-linge Bosch Serie 6 est mis de côté jusqu'au ")
    assert reference.startswith("reminder.")
    assert inbox.messages == []


def test_a_failing_sms_gateway_is_retried(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    _held(app, client, keys, email=None, phone="06 12 34 56 78")

    failing = deliver(app, sms=FakeSms(fail="SMS gateway answered 503"))
    clock.advance(minutes=5)
    working = FakeSms()
    retried = deliver(app, sms=working)

    assert (failing.retrying, retried.sent) == (1, 1)
    assert len(working.sent) == 1


# --- the owner's switches ---------------------------------------------------------------------


def test_a_switched_off_reminder_is_not_sent(
    app: Flask, client: FlaskClient, keys: Keys, inbox: Inbox
) -> None:
    switched = client.put(
        "/api/v1/reminders/settings/held_item",
        json={"enabled": False},
        headers=keys.headers(Role.OWNER),
    )
    _held(app, client, keys)

    totals = deliver(app)

    assert switched.status_code == 200 and switched.get_json()["enabled"] is False
    assert totals.sent == 0 and inbox.messages == []


def test_the_owner_sets_each_delay(client: FlaskClient, keys: Keys) -> None:
    changed = client.put(
        "/api/v1/reminders/settings/forgotten_checkout",
        json={"delay_minutes": 120},
        headers=keys.headers(Role.OWNER),
    )
    negative = client.put(
        "/api/v1/reminders/settings/forgotten_checkout",
        json={"delay_minutes": -5},
        headers=keys.headers(Role.OWNER),
    )
    listed = client.get("/api/v1/reminders/settings", headers=keys.headers(Role.OWNER)).get_json()

    assert changed.get_json()["delay_minutes"] == 120
    assert negative.status_code == 422 and "delay_minutes" in negative.get_json()["errors"]
    by_kind = {s["kind"]: (s["enabled"], s["delay_minutes"], s["purpose"]) for s in listed}
    assert by_kind == {
        "held_item": (True, 1440, "service"),
        "back_in_stock": (True, 0, "service"),
        "forgotten_checkout": (True, 120, "marketing"),
        "consumable": (True, 129600, "marketing"),
    }


def test_a_message_sent_but_not_recorded_goes_again_with_the_same_message_id(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
    inbox: Inbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _held(app, client, keys)
    with monkeypatch.context() as crash:  # the worker dies between sending and recording
        crash.setattr(delivery, "record", lambda *_args, **_kwargs: None)
        deliver(app)
    clock.advance(seconds=app.config["REMINDER_LEASE_SECONDS"] - 1)
    still_leased = deliver(app)
    clock.advance(seconds=2)
    taken_over = deliver(app)

    assert (still_leased.sent, taken_over.sent) == (0, 1)
    first, again = inbox.messages
    assert first["Message-ID"] == again["Message-ID"]
    assert len(inbox.unique()) == 1
    [sent] = _log(client, keys)
    assert sent["status"] == "sent"
