"""The owner's Reminders and Customers pages, through HTTP: French by default, forms with
CSRF tokens, the same rules as the API (a template that cannot work is refused with why)."""

from __future__ import annotations

import html
import re
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
from tests.fixtures.smtp import Inbox, smtp_server

SKU = "LL-BOS-WGG244-BL"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as pair:
        yield pair


@pytest.fixture
def settings(smtp: tuple[Inbox, str]) -> dict[str, Any]:
    return {"SMTP_URL": smtp[1]}


def _login(client: FlaskClient, keys: Keys) -> None:
    response = client.post("/dashboard/login", data={"key": keys[Role.OWNER]})
    assert response.status_code == 303


def _token(client: FlaskClient, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_reminders_page_shows_settings_benefit_and_messages_in_french(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, SKU, {"backroom": 2}, name="Lave-linge Bosch", price="749.00")
    customer = new_customer(client, keys)
    client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "customer_id": customer},
        headers=keys.headers(Role.SELLER),
    )
    deliver(app)  # the held-item message goes out
    clock.advance(days=2)  # she comes back and buys a second one
    hold = client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "customer_id": customer},
        headers=keys.headers(Role.SELLER),
    ).get_json()
    client.post(
        f"/api/v1/reservations/{hold['id']}/commit", json={}, headers=keys.headers(Role.SELLER)
    )
    _login(client, keys)

    page = client.get("/dashboard/reminders")
    overview = client.get("/dashboard/")

    text = _text(page)
    assert page.status_code == 200
    assert "Relances clients" in text and "Article mis de côté" in text
    assert "Ce que ça rapporte" in text
    # One message sent, the customer came back (the second hold, committed): 749,00 €.
    assert re.search(
        r"Article mis de côté</td>\s*<td class=\"num\">1</td>\s*<td class=\"num\">1</td>", text
    )
    assert "749,00\u00a0€" in text
    assert "envoyé" in text
    assert "Relances clients" in _text(overview)  # next to the recommendation report


def test_the_owner_switches_a_reminder_off_and_changes_a_delay(
    client: FlaskClient, keys: Keys
) -> None:
    _login(client, keys)
    token = _token(client, "/dashboard/reminders")
    form = {
        "csrf_token": token,
        "enabled_held_item": "on",
        "delay_held_item": "12",
        "delay_back_in_stock": "0",
        "delay_forgotten_checkout": "6",
        "enabled_consumable": "on",
        "delay_consumable": "60",
    }

    saved = client.post("/dashboard/reminders/settings", data=form)
    bad = client.post(
        "/dashboard/reminders/settings", data={**form, "delay_consumable": "beaucoup"}
    )
    no_token = client.post("/dashboard/reminders/settings", data={**form, "csrf_token": "x"})
    api = client.get("/api/v1/reminders/settings", headers=keys.headers(Role.OWNER)).get_json()

    assert saved.status_code == 303
    by_kind = {s["kind"]: (s["enabled"], s["delay_minutes"]) for s in api}
    assert by_kind == {
        "held_item": (True, 720),
        "back_in_stock": (False, 0),
        "forgotten_checkout": (False, 360),
        "consumable": (True, 86400),
    }
    assert bad.status_code == 422 and "Indiquez un nombre entier." in _text(bad)
    assert no_token.status_code == 400


def test_the_template_page_previews_saves_and_refuses_broken_text(
    client: FlaskClient, keys: Keys
) -> None:
    _login(client, keys)
    path = "/dashboard/reminders/templates/back_in_stock/email"
    token = _token(client, path)
    body = "Bonjour {{ customer_name }}, {{ product_name }} est revenu !"

    shown = client.get(path)
    preview = client.post(
        path, data={"csrf_token": token, "subject": "Revenu", "body": body, "action": "preview"}
    )
    unknown = client.post(
        path,
        data={"csrf_token": token, "subject": "x", "body": "{{ prenom }}", "action": "save"},
    )
    saved = client.post(
        path, data={"csrf_token": token, "subject": "Revenu", "body": body, "action": "save"}
    )
    after = client.get("/api/v1/reminders/templates", headers=keys.headers(Role.OWNER)).get_json()

    assert "est de retour en stock" in _text(shown)  # the built-in subject
    assert "Bonjour Anne Martin, Lave-linge hublot Bosch Serie 6 9 kg est revenu !" in _text(
        preview
    )
    assert unknown.status_code == 422
    assert "Message : Unknown placeholder(s): prenom" in _text(unknown)
    assert saved.status_code == 303
    [mine] = [t for t in after if (t["kind"], t["channel"]) == ("back_in_stock", "email")]
    assert (mine["subject"], mine["body"], mine["customised"]) == ("Revenu", body, True)


def test_a_customer_page_exports_and_erases(app: Flask, client: FlaskClient, keys: Keys) -> None:
    customer = new_customer(client, keys, name="Zoé Durand", purposes=("service", "marketing"))
    _login(client, keys)

    listed = client.get("/dashboard/customers?q=zoé")
    page = client.get(f"/dashboard/customers/{customer}")
    exported = client.get(f"/dashboard/customers/{customer}/export.json")
    token = _token(client, f"/dashboard/customers/{customer}")
    unconfirmed = client.post(f"/dashboard/customers/{customer}/erase", data={"csrf_token": token})
    erased = client.post(
        f"/dashboard/customers/{customer}/erase", data={"csrf_token": token, "confirm": "yes"}
    )
    gone = client.get(f"/dashboard/customers/{customer}")

    assert "Zoé Durand" in _text(listed)
    assert "Consentements" in _text(page) and "en magasin" in _text(page)
    assert exported.headers["Content-Disposition"].startswith("attachment")
    assert exported.get_json()["customer"]["name"] == "Zoé Durand"
    assert unconfirmed.status_code == 422
    assert erased.status_code == 303
    assert gone.status_code == 404


def test_the_pages_need_an_owner_login(client: FlaskClient) -> None:
    for path in ("/dashboard/reminders", "/dashboard/customers"):
        response = client.get(path)
        assert response.status_code == 302 and "/dashboard/login" in response.headers["Location"]
