"""The four reminders end to end: HTTP in, a real SMTP server on 127.0.0.1 out.

Each test drives the shop through the API (customers, holds, orders, stock), runs one pass
of the reminder worker in-process (with the test clock), and reads what the SMTP server got.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.reminders import deliver, new_customer
from tests.fixtures.shop import add_product
from tests.fixtures.smtp import Inbox, body, smtp_server

WASHER = "LL-BOS-WGG244-BL"
COFFEE = "PEM-DEL-ECAM22110-NR"
FILTER = "AC-DEL-DLSC002"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as pair:
        yield pair


@pytest.fixture
def inbox(smtp: tuple[Inbox, str]) -> Inbox:
    return smtp[0]


@pytest.fixture
def settings(smtp: tuple[Inbox, str]) -> dict[str, Any]:
    return {"SMTP_URL": smtp[1], "SMTP_TIMEOUT_SECONDS": 2.0, "SHOP_NAME": "Comptoir Lyon"}


def _washer(app: Flask, units: int = 4) -> None:
    add_product(
        app,
        WASHER,
        {"backroom": units},
        name="Lave-linge hublot Bosch Serie 6 9 kg",
        price="749.00",
        brand="Bosch",
    )


def _hold(client: FlaskClient, keys: Keys, customer_id: str, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/api/v1/reservations",
        json={"sku": WASHER, "quantity": 1, "customer_id": customer_id, **extra},
        headers=keys.headers(Role.SELLER),
    )
    assert response.status_code == 201, response.get_json()
    hold: dict[str, Any] = response.get_json()
    return hold


# --- 1. a held item is waiting ---------------------------------------------------------------


def test_a_held_item_gets_a_message_at_once_and_one_the_day_before_it_expires(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _washer(app)
    customer = new_customer(client, keys)
    hold = _hold(client, keys, customer, ttl_seconds=3 * 24 * 3600)  # until Monday 10:30

    first = deliver(app)
    clock.advance(days=2)  # Sunday 10:30: 24 hours before it expires
    second = deliver(app)
    clock.advance(hours=1)
    third = deliver(app)

    assert (first.sent, second.sent, third.sent) == (1, 1, 0)
    made, eve = inbox.messages
    assert str(made["Subject"]) == "Votre Lave-linge hublot Bosch Serie 6 9 kg est mis de côté"
    assert str(made["To"]) == "Anne Martin <anne.martin@example.fr>"
    assert "Bonjour Anne Martin," in body(made)
    assert "Il vous attend en magasin jusqu'au lundi 30 novembre 2026 à 10 h 30." in body(made)
    assert "L'équipe Comptoir Lyon" in body(made)
    assert str(eve["Subject"]) == (
        "Rappel : votre Lave-linge hublot Bosch Serie 6 9 kg vous attend jusqu'au lundi 30 novembre"
    )
    assert "Petit rappel" in body(eve)
    assert made["Message-ID"] != eve["Message-ID"]
    assert made["List-Unsubscribe"] is None  # a service message, not marketing
    assert hold["customer_id"] == customer


def test_a_hold_collected_before_the_day_before_gets_no_second_message(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _washer(app)
    hold = _hold(client, keys, new_customer(client, keys), ttl_seconds=3 * 24 * 3600)
    deliver(app)

    client.post(
        f"/api/v1/reservations/{hold['id']}/commit", json={}, headers=keys.headers(Role.SELLER)
    )
    clock.advance(days=2)
    totals = deliver(app)

    assert totals.sent == 0
    assert len(inbox.messages) == 1
    log = client.get("/api/v1/reminders/messages", headers=keys.headers(Role.OWNER)).get_json()
    assert {(m["status"], m["outcome"]) for m in log["items"]} == {
        ("sent", None),
        ("cancelled", "hold_closed"),
    }


def test_a_customer_attached_after_the_hold_gets_the_message(
    app: Flask, client: FlaskClient, keys: Keys, inbox: Inbox
) -> None:
    _washer(app)
    response = client.post(
        "/api/v1/reservations",
        json={"sku": WASHER, "quantity": 1},
        headers=keys.headers(Role.SELLER),
    )
    hold_id = response.get_json()["id"]
    customer = new_customer(client, keys)
    deliver(app)  # the hold's event is planned before anyone is attached: nothing to send

    attached = client.put(
        f"/api/v1/reservations/{hold_id}/customer",
        json={"customer_id": customer},
        headers=keys.headers(Role.SELLER),
    )
    totals = deliver(app)
    again = deliver(app)

    assert attached.status_code == 200, attached.get_json()
    assert attached.get_json()["customer_id"] == customer
    assert (totals.sent, again.sent) == (1, 0)
    assert "est mis de côté" in str(inbox.messages[0]["Subject"])


# --- 2. back in stock --------------------------------------------------------------------------


def _deliver_stock(client: FlaskClient, keys: Keys, sku: str, units: int) -> None:
    response = client.post(
        "/api/v1/stock/adjustments",
        json={"sku": sku, "location": "backroom", "delta": units, "reason": "delivery"},
        headers=keys.headers(Role.SELLER),
    )
    assert response.status_code == 201, response.get_json()


def _sell_out(client: FlaskClient, keys: Keys, sku: str, units: int) -> None:
    response = client.post(
        "/api/v1/stock/adjustments",
        json={"sku": sku, "location": "backroom", "delta": -units, "reason": "loss"},
        headers=keys.headers(Role.SELLER),
    )
    assert response.status_code == 201, response.get_json()


def test_back_in_stock_is_sent_once_when_the_product_returns(
    app: Flask, client: FlaskClient, keys: Keys, inbox: Inbox
) -> None:
    _washer(app, units=0)
    customer = new_customer(client, keys, role=Role.WEBSHOP, email="paul@example.fr", name="Paul")
    asked = client.post(
        f"/api/v1/customers/{customer}/stock-alerts",
        json={"sku": WASHER},
        headers=keys.headers(Role.WEBSHOP),
    )
    before = deliver(app)

    _deliver_stock(client, keys, WASHER, 2)
    sent = deliver(app)
    _sell_out(client, keys, WASHER, 2)
    _deliver_stock(client, keys, WASHER, 1)  # back in stock a second time
    after = deliver(app)

    assert asked.status_code == 201, asked.get_json()
    assert (before.sent, sent.sent, after.sent) == (0, 1, 0)
    [message] = inbox.messages
    assert str(message["Subject"]) == "Lave-linge hublot Bosch Serie 6 9 kg est de retour en stock"
    assert "au prix de 749,00\u00a0€" in body(message)
    alerts = client.get(f"/api/v1/customers/{customer}", headers=keys.headers(Role.WEBSHOP))
    assert [a["status"] for a in alerts.get_json()["stock_alerts"]] == ["notified"]


def test_back_in_stock_waits_while_the_product_is_gone_again(
    app: Flask, client: FlaskClient, keys: Keys, inbox: Inbox
) -> None:
    _washer(app, units=0)
    customer = new_customer(client, keys)
    client.post(
        f"/api/v1/customers/{customer}/stock-alerts",
        json={"sku": WASHER},
        headers=keys.headers(Role.SELLER),
    )
    _deliver_stock(client, keys, WASHER, 1)
    _sell_out(client, keys, WASHER, 1)  # gone before the worker ran

    parked = deliver(app)
    _deliver_stock(client, keys, WASHER, 3)
    sent = deliver(app)

    assert (parked.sent, sent.sent) == (0, 1)
    assert len(inbox.messages) == 1


def test_a_stock_alert_needs_service_consent(app: Flask, client: FlaskClient, keys: Keys) -> None:
    _washer(app, units=0)
    customer = new_customer(client, keys, purposes=())

    response = client.post(
        f"/api/v1/customers/{customer}/stock-alerts",
        json={"sku": WASHER},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "consent_required"


# --- 3. a forgotten web checkout ----------------------------------------------------------------


def _forgotten_checkout(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, purposes: tuple[str, ...]
) -> str:
    _washer(app)
    customer = new_customer(
        client, keys, role=Role.WEBSHOP, email="lea@example.fr", name="Léa", purposes=purposes
    )
    response = client.post(
        "/api/v1/reservations",
        json={"sku": WASHER, "quantity": 1, "customer_id": customer},
        headers=keys.headers(Role.WEBSHOP),
    )
    assert response.status_code == 201, response.get_json()
    clock.advance(minutes=20)
    result = app.test_cli_runner().invoke(args=["reservations", "expire"])
    assert "1 expired" in result.output, result.output
    return customer


def test_a_forgotten_checkout_is_reminded_once_after_the_delay(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _forgotten_checkout(app, client, keys, clock, ("service", "marketing"))

    early = deliver(app)
    clock.advance(hours=4)
    sent = deliver(app)
    clock.advance(days=1)
    later = deliver(app)

    assert (early.sent, sent.sent, later.sent) == (0, 1, 0)
    [message] = inbox.messages
    assert (
        str(message["Subject"]) == "Votre Lave-linge hublot Bosch Serie 6 9 kg vous attend toujours"
    )
    assert "sans terminer votre commande" in body(message)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = str(message["List-Unsubscribe"]).strip("<>")
    assert url.startswith("http://127.0.0.1:8000/unsubscribe/")
    assert url in body(message)


def test_no_marketing_consent_no_forgotten_checkout_reminder(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    customer = _forgotten_checkout(app, client, keys, clock, ("service",))

    clock.advance(hours=5)
    totals = deliver(app)

    assert totals.sent == 0
    assert inbox.messages == []
    log = client.get(
        f"/api/v1/reminders/messages?customer_id={customer}", headers=keys.headers(Role.OWNER)
    ).get_json()
    assert [(m["kind"], m["status"], m["outcome"]) for m in log["items"]] == [
        ("forgotten_checkout", "cancelled", "no_consent")
    ]


def test_a_forgotten_checkout_is_not_reminded_when_the_product_is_gone(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _forgotten_checkout(app, client, keys, clock, ("service", "marketing"))
    _sell_out(client, keys, WASHER, 4)

    clock.advance(hours=5)
    totals = deliver(app)

    assert totals.sent == 0
    assert inbox.messages == []


# --- 4. the consumable after the sale -----------------------------------------------------------


def _coffee_shop(app: Flask) -> None:
    add_product(
        app,
        COFFEE,
        {"floor": 3},
        name="Expresso broyeur De'Longhi Magnifica S ECAM22110",
        category="Petit électroménager",
        brand="De'Longhi",
        price="399.00",
    )
    add_product(
        app,
        FILTER,
        {"floor": 10},
        name="Filtre à eau De'Longhi pour machine à café",
        category="Accessoires",
        brand="De'Longhi",
        price="14.90",
        attributes={
            "compatible_avec": ["Petit électroménager"],
            "marques": ["De'Longhi"],
            "modeles": ["ECAM22110"],
            "renouvellement_jours": 60,
        },
    )


def test_the_consumable_is_suggested_after_its_usual_interval(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _coffee_shop(app)
    customer = new_customer(client, keys, purposes=("service", "marketing"))
    hold = client.post(
        "/api/v1/reservations",
        json={"sku": COFFEE, "quantity": 1, "customer_id": customer},
        headers=keys.headers(Role.SELLER),
    ).get_json()
    client.post(
        f"/api/v1/reservations/{hold['id']}/commit", json={}, headers=keys.headers(Role.SELLER)
    )
    # Sold before the worker ran: no held-item message; the filter waits for its interval.
    at_sale = deliver(app)

    clock.advance(days=59)
    too_early = deliver(app)
    clock.advance(days=1)
    due = deliver(app)

    assert (at_sale.sent, too_early.sent, due.sent) == (0, 0, 1)
    message = inbox.messages[-1]
    assert str(message["Subject"]) == (
        "Le moment de renouveler : Filtre à eau De'Longhi pour machine à café"
    )
    text = body(message)
    assert "Vous avez acheté Expresso broyeur De'Longhi Magnifica S ECAM22110 chez nous le " in text
    assert "27 novembre 2026" in text
    assert "Filtre à eau De'Longhi pour machine à café : 14,90\u00a0€" in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_web_order_with_a_customer_plans_the_consumable(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    _coffee_shop(app)
    customer = new_customer(client, keys, role=Role.WEBSHOP, purposes=("marketing",))
    order = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": COFFEE, "quantity": 1}], "customer_id": customer},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "o-1"}),
    )

    deliver(app)
    clock.advance(days=60)
    totals = deliver(app)

    assert order.status_code == 201, order.get_json()
    assert order.get_json()["customer_id"] == customer
    assert totals.sent == 1
    assert "Filtre à eau" in str(inbox.messages[0]["Subject"])


# --- delivery rules: quiet hours, daily cap, unsubscribe ----------------------------------------


def test_quiet_hours_delay_a_message_to_nine_in_the_morning(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    clock.current = dt.datetime(2026, 11, 27, 19, 30, tzinfo=dt.UTC)  # 20:30 in Lyon
    _washer(app)
    _hold(client, keys, new_customer(client, keys), ttl_seconds=2 * 24 * 3600)

    evening = deliver(app)
    clock.current = dt.datetime(2026, 11, 28, 7, 59, tzinfo=dt.UTC)  # 08:59
    before_nine = deliver(app)
    clock.current = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)  # 09:00
    at_nine = deliver(app)

    assert (evening.sent, before_nine.sent, at_nine.sent) == (0, 0, 1)
    assert len(inbox.messages) == 1


def test_a_customer_gets_at_most_the_daily_cap(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    skus = [f"LL-OUT-{n}" for n in range(3)]
    for sku in skus:
        add_product(app, sku, {})
    customer = new_customer(client, keys)
    for sku in skus:
        client.post(
            f"/api/v1/customers/{customer}/stock-alerts",
            json={"sku": sku},
            headers=keys.headers(Role.SELLER),
        )
        _deliver_stock(client, keys, sku, 1)

    today = deliver(app)
    clock.advance(hours=4)
    same_day = deliver(app)
    clock.current = dt.datetime(2026, 11, 28, 8, 0, tzinfo=dt.UTC)  # 09:00 the next day
    tomorrow = deliver(app)

    assert (today.sent, same_day.sent, tomorrow.sent) == (2, 0, 1)
    assert len(inbox.unique()) == 3


def test_the_one_click_unsubscribe_stops_marketing_messages(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, inbox: Inbox
) -> None:
    customer = _forgotten_checkout(app, client, keys, clock, ("service", "marketing"))
    clock.advance(hours=5)
    deliver(app)
    url = str(inbox.messages[0]["List-Unsubscribe"]).strip("<>")
    path = url.removeprefix("http://127.0.0.1:8000")

    page = client.get(path)
    one_click = client.post(path, data={"List-Unsubscribe": "One-Click"})
    again = client.post(path, data={"List-Unsubscribe": "One-Click"})
    forged = client.post(path[:-3] + "xyz", data={"List-Unsubscribe": "One-Click"})
    after = client.get(f"/api/v1/customers/{customer}", headers=keys.headers(Role.OWNER))

    assert page.status_code == 200 and "Me désinscrire" in page.get_data(as_text=True)
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert one_click.status_code == 200
    assert "vous ne recevrez plus nos suggestions" in one_click.get_data(as_text=True)
    assert again.status_code == 200
    assert forged.status_code == 404
    marketing = after.get_json()["consents"]["marketing"]
    assert (marketing["granted"], marketing["method"]) == (False, "unsubscribe_link")
    assert after.get_json()["consents"]["service"]["granted"] is True
