"""Webhooks from the owner's pages: create (secret once), change, turn off and on, delete with
confirmation, the delivery log and sending a delivery again; French messages for bad input."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.instance import secret_key
from store_api.keys.models import Role
from store_api.webhooks import service
from store_api.webhooks.secret_box import SecretBox
from store_api.webhooks.worker import DeliveryWorker
from tests.conftest import Keys
from tests.fixtures.dashboard import form_token, login, plain
from tests.fixtures.shop import add_product
from tests.fixtures.webhook_receiver import Receiver

API = "/api/v1/webhooks"
RECEIVER = "https://compta.example.fr/comptoir"


@pytest.fixture
def settings() -> dict[str, Any]:
    # The test receiver listens on this machine: the owner listed its network (docs/security.md).
    return {
        "WEBHOOK_TIMEOUT_SECONDS": 5.0,
        "WEBHOOK_POLL_SECONDS": 0.01,
        "WEBHOOK_ALLOWED_NETWORKS": ["127.0.0.1/32"],
    }


def create(client: FlaskClient, url: str = RECEIVER, events: tuple[str, ...] = ()) -> Any:
    token = form_token(client, "/dashboard/webhooks/new")
    return client.post(
        "/dashboard/webhooks/new",
        data={
            "csrf_token": token,
            "url": url,
            "description": "Compta",
            "event_types": list(events),
        },
    )


def hooks(client: FlaskClient, keys: Keys) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = client.get(API, headers=keys.headers(Role.OWNER)).get_json()
    return found


def deliver(app: Flask) -> None:
    DeliveryWorker(
        lambda: db.new_session(app),
        service.DeliveryPolicy.from_config(app.config),
        app.extensions["comptoir_clock"],
        secret_box=SecretBox(secret_key(app)),
    ).run(once=True)


def adjust(client: FlaskClient, keys: Keys, sku: str) -> None:
    response = client.post(
        "/api/v1/stock/adjustments",
        json={"sku": sku, "location": "floor", "delta": 1, "reason": "delivery"},
        headers=keys.headers(Role.OWNER),
    )
    assert response.status_code == 201, response.get_json()


def test_creating_a_webhook_shows_its_secret_once(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)

    form = plain(client.get("/dashboard/webhooks/new").get_data(as_text=True))
    response = create(client, events=("stock.*", "order.created"))

    assert "Tout changement de stock" in form and "Commande passée" in form
    assert response.status_code == 201
    page = plain(response.get_data(as_text=True))
    [secret] = re.findall(r'<code id="secret">(whsec_[^<]+)</code>', page)
    [hook] = hooks(client, keys)
    assert (hook["url"], hook["event_types"], hook["active"]) == (
        RECEIVER,
        ["stock.*", "order.created"],
        True,
    )
    assert "secret" not in hook
    listing = plain(client.get("/dashboard/webhooks").get_data(as_text=True))
    assert RECEIVER in listing and "Tout changement de stock, Commande passée" in listing
    assert secret not in listing


@pytest.mark.parametrize(
    ("url", "events", "message"),
    [
        ("", (), "Remplissez ce champ."),
        ("ftp://compta.example.fr/", (), "commençant par https://"),
        ("pas une adresse", (), "commençant par https://"),
        ("https://" + "a" * 2050 + ".fr", (), "2048 caractères au plus"),
        (RECEIVER, ("stock.everything",), "Choisissez parmi les événements proposés."),
    ],
)
def test_a_bad_form_creates_nothing_and_says_why_in_french(
    client: FlaskClient, keys: Keys, url: str, events: tuple[str, ...], message: str
) -> None:
    login(client, keys)

    response = create(client, url, events)

    assert response.status_code == 422
    page = plain(response.get_data(as_text=True))
    assert message in page
    assert "Rien n'a été enregistré" in page
    assert hooks(client, keys) == []


def test_changing_turning_off_and_on_and_deleting(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)
    create(client)
    [hook] = hooks(client, keys)
    base = f"/dashboard/webhooks/{hook['id']}"
    token = form_token(client, base)

    edit_form = plain(client.get(f"{base}/edit").get_data(as_text=True))
    edited = client.post(
        f"{base}/edit",
        data={"csrf_token": token, "url": RECEIVER + "/v2", "event_types": ["help.*"]},
    )
    bad_edit = client.post(f"{base}/edit", data={"csrf_token": token, "url": "nope"})
    after_edit = hooks(client, keys)[0]
    off = client.post(f"{base}/disable", data={"csrf_token": token})
    after_off = hooks(client, keys)[0]
    shown_off = plain(client.get(base).get_data(as_text=True))
    on = client.post(f"{base}/enable", data={"csrf_token": token})
    after_on = hooks(client, keys)[0]
    confirm = plain(client.get(f"{base}/delete").get_data(as_text=True))
    kept = hooks(client, keys)
    deleted = client.post(f"{base}/delete", data={"csrf_token": token})

    assert RECEIVER in edit_form and "Modifier le webhook" in edit_form
    assert edited.status_code == 303
    assert bad_edit.status_code == 422
    assert (after_edit["url"], after_edit["event_types"]) == (RECEIVER + "/v2", ["help.*"])
    assert off.status_code == 303 and after_off["active"] is False
    assert "est désactivé" in shown_off and "Activer" in shown_off
    assert on.status_code == 303 and after_on["active"] is True
    assert "Supprimer le webhook" in confirm and "son journal des envois" in confirm
    assert len(kept) == 1  # asking is not deleting
    assert deleted.headers["Location"] == "/dashboard/webhooks"
    assert hooks(client, keys) == []
    assert "est supprimé" in plain(client.get("/dashboard/webhooks").get_data(as_text=True))


def test_the_delivery_log_and_sending_one_again(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "LL-8KG", {"floor": 2})
    login(client, keys)
    with Receiver() as receiver:
        create(client, receiver.url, ("stock.changed",))
        [hook] = hooks(client, keys)
        adjust(client, keys, "LL-8KG")
        deliver(app)
        base = f"/dashboard/webhooks/{hook['id']}"
        page = plain(client.get(base).get_data(as_text=True))
        [delivery] = client.get(
            f"{API}/{hook['id']}/deliveries", headers=keys.headers(Role.OWNER)
        ).get_json()["items"]
        token = form_token(client, base)

        again = client.post(
            f"{base}/deliveries/{delivery['id']}/redeliver", data={"csrf_token": token}
        )
        pending = client.get(
            f"{API}/{hook['id']}/deliveries", headers=keys.headers(Role.OWNER)
        ).get_json()["items"][0]
        deliver(app)

    assert "Stock modifié" in page and "livré" in page and "HTTP 200" in page
    assert "0 en attente, 1 livrées, 0 en échec" in page
    assert again.status_code == 303
    assert pending["status"] == "pending"
    # The same delivery twice: the receiver sees the same webhook-id again.
    assert [r.webhook_id for r in receiver.receipts] == [delivery["event_id"]] * 2
    failed_only = plain(client.get(f"{base}?status=failed").get_data(as_text=True))
    assert "Aucun envoi dans cet état." in failed_only


@pytest.mark.parametrize("query", ["?status=lost", "?page=0", "?page=abc", "?page=9999999"])
def test_a_bad_log_filter_is_a_422_page(client: FlaskClient, keys: Keys, query: str) -> None:
    login(client, keys)
    create(client)
    [hook] = hooks(client, keys)

    response = client.get(f"/dashboard/webhooks/{hook['id']}{query}")

    assert response.status_code == 422
    assert "Filtre invalide" in response.get_data(as_text=True)


def test_unknown_webhooks_and_deliveries_are_404_pages(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)
    create(client)
    [hook] = hooks(client, keys)
    token = form_token(client, "/dashboard/webhooks")

    for method, path in [
        ("get", "/dashboard/webhooks/999999"),
        ("get", "/dashboard/webhooks/999999/edit"),
        ("get", "/dashboard/webhooks/999999/delete"),
        ("post", "/dashboard/webhooks/999999/enable"),
        ("post", "/dashboard/webhooks/999999/disable"),
        ("post", "/dashboard/webhooks/999999/delete"),
        ("post", f"/dashboard/webhooks/{hook['id']}/deliveries/123/redeliver"),
    ]:
        response = getattr(client, method)(path, data={"csrf_token": token})
        assert response.status_code == 404, path
        assert "introuvable" in response.get_data(as_text=True), path


def test_forms_without_their_token_change_nothing(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)
    create(client)
    [hook] = hooks(client, keys)

    response = client.post(f"/dashboard/webhooks/{hook['id']}/delete", data={})

    assert response.status_code == 400
    assert len(hooks(client, keys)) == 1


def test_the_pages_need_an_owner_login(client: FlaskClient) -> None:
    for path in ("/dashboard/webhooks", "/dashboard/webhooks/new", "/dashboard/webhooks/1"):
        assert client.get(path).status_code == 302


def test_every_event_type_has_a_french_label(client: FlaskClient, keys: Keys) -> None:
    from store_api.events.service import EventType

    login(client, keys)
    form = plain(client.get("/dashboard/webhooks/new").get_data(as_text=True))

    for event in EventType:
        shown = re.search(rf'value="{re.escape(event.value)}"\s*> (.*?) <code>', form, flags=re.S)
        assert shown, event.value
        assert shown.group(1).strip() != event.value, f"{event.value} has no label"


def test_a_private_address_not_listed_is_refused_in_french(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)

    response = create(client, "https://192.168.1.20/hooks")

    assert response.status_code == 422
    assert "les webhooks ne partent que vers des adresses publiques" in plain(
        response.get_data(as_text=True)
    )
    assert hooks(client, keys) == []
