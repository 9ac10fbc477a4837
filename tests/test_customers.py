"""Customers through the API: contacts checked, consent history, export, erasure everywhere."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from store_api import db
from store_api.db import Base
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.reminders import consent, deliver, new_customer
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


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "anne@"),
        ("email", "anne martin@example.fr"),
        ("email", "a" * 250 + "@example.fr"),
        ("phone", "12"),
        ("phone", "04 78 12 34 56"),  # a landline: no text messages
        ("phone", "+33 6 12"),
        ("phone", "06 12 34 56 7x"),
    ],
)
def test_an_invalid_contact_is_a_422_naming_the_field(
    client: FlaskClient, keys: Keys, field: str, value: str
) -> None:
    body = {"name": "Anne", "email": "anne@example.fr", field: value}

    response = client.post("/api/v1/customers", json=body, headers=keys.headers(Role.SELLER))

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("+33 (0)6 12 34 56 78", "+33612345678"),
        ("0033 7.12.34.56.78", "+33712345678"),
        ("+44 7911 123456", "+447911123456"),
    ],
)
def test_mobiles_are_stored_in_international_form(
    client: FlaskClient, keys: Keys, typed: str, stored: str
) -> None:
    response = client.post(
        "/api/v1/customers",
        json={"name": "Paul", "phone": typed},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["phone"] == stored


def test_a_customer_needs_a_contact_and_is_registered_once(client: FlaskClient, keys: Keys) -> None:
    nothing = client.post(
        "/api/v1/customers", json={"name": "X"}, headers=keys.headers(Role.SELLER)
    )
    first = new_customer(client, keys, email="Anne.Martin@Example.FR")
    twice = client.post(
        "/api/v1/customers",
        json={"name": "Anne M.", "email": "anne.martin@example.fr"},
        headers=keys.headers(Role.WEBSHOP),
    )

    assert nothing.status_code == 422
    assert twice.status_code == 409
    assert twice.get_json()["code"] == "customer_exists"
    assert twice.get_json()["errors"]["customer_id"] == first


def test_consent_is_a_history_with_when_how_and_by_whom(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    customer = new_customer(client, keys, purposes=("service",))
    clock.advance(days=1)
    client.post(
        f"/api/v1/customers/{customer}/consents",
        json={"consents": [{**consent("marketing"), "wording": "J'accepte vos conseils."}]},
        headers=keys.headers(Role.SELLER),
    )
    clock.advance(days=1)
    withdrawn = client.post(
        f"/api/v1/customers/{customer}/consents",
        json={"consents": [consent("marketing", granted=False, method="phone")]},
        headers=keys.headers(Role.OWNER),
    )
    export = client.get(f"/api/v1/customers/{customer}/export", headers=keys.headers(Role.OWNER))

    assert withdrawn.status_code == 201
    in_force = withdrawn.get_json()["consents"]
    assert in_force["service"]["granted"] is True
    assert (in_force["marketing"]["granted"], in_force["marketing"]["method"]) == (False, "phone")
    history = [
        (c["purpose"], c["granted"], c["given_at"][:10], c["recorded_by"], c["collected_by"])
        for c in export.get_json()["consents"]
    ]
    assert history == [
        ("service", True, "2026-11-27", "test seller", "Julie"),
        ("marketing", True, "2026-11-28", "test seller", "Julie"),
        ("marketing", False, "2026-11-29", "test owner", "Julie"),
    ]
    assert export.get_json()["consents"][1]["wording"] == "J'accepte vos conseils."


def test_a_replayed_consent_is_recorded_once(client: FlaskClient, keys: Keys) -> None:
    """The tablet's queue sends its taps again after a lost answer, with the same key."""
    customer = new_customer(client, keys, purposes=("service",))
    body = {"consents": [consent("marketing")]}
    headers = keys.headers(Role.SELLER, **{"Idempotency-Key": "tap-7"})

    first = client.post(f"/api/v1/customers/{customer}/consents", json=body, headers=headers)
    again = client.post(f"/api/v1/customers/{customer}/consents", json=body, headers=headers)
    other = client.post(
        f"/api/v1/customers/{customer}/consents",
        json={"consents": [consent("marketing", granted=False)]},
        headers=headers,
    )
    export = client.get(f"/api/v1/customers/{customer}/export", headers=keys.headers(Role.OWNER))

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json() == first.get_json()
    assert other.status_code == 422
    assert other.get_json()["code"] == "idempotency_key_reused"
    assert [c["purpose"] for c in export.get_json()["consents"]] == ["service", "marketing"]


def test_a_consent_in_the_future_is_refused(client: FlaskClient, keys: Keys) -> None:
    customer = new_customer(client, keys)
    later = (dt.datetime(2026, 11, 28, tzinfo=dt.UTC)).isoformat()

    response = client.post(
        f"/api/v1/customers/{customer}/consents",
        json={"consents": [{**consent("marketing"), "given_at": later}]},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 422
    assert "given_at" in response.get_json()["errors"]


def test_sellers_find_customers_by_name_email_or_mobile(client: FlaskClient, keys: Keys) -> None:
    new_customer(client, keys, name="Anne Martin", email="anne@example.fr")
    new_customer(client, keys, name="Paul Durand", email=None, phone="06 98 76 54 32")

    def names(q: str) -> list[str]:
        found = client.get(f"/api/v1/customers?q={q}", headers=keys.headers(Role.SELLER))
        return [c["name"] for c in found.get_json()["items"]]

    assert names("martin") == ["Anne Martin"]
    assert names("ANNE@") == ["Anne Martin"]
    assert names("06 98 76") == ["Paul Durand"]


def _every_value(app: Flask) -> str:
    """Every row of every table, as one text to search."""
    session = db.new_session(app)
    with db.read(session):
        text = "\n".join(
            repr(tuple(row))
            for table in Base.metadata.sorted_tables
            for row in session.execute(select(table))
        )
    session.close()
    return text


def test_erasure_removes_the_customer_everywhere(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, SKU, {"backroom": 5}, name="Lave-linge Bosch")
    customer = new_customer(
        client,
        keys,
        name="Zoé Erasable",
        email="zoe.erasable@example.fr",
        phone="06 11 22 33 44",
        purposes=("service", "marketing"),
    )
    hold = client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "customer_id": customer, "note": "Zoé Erasable, jeudi"},
        headers=keys.headers(Role.SELLER),
    ).get_json()
    order = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": SKU, "quantity": 1}], "customer_id": customer},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "erase-1"}),
    ).get_json()
    client.post(
        f"/api/v1/customers/{customer}/stock-alerts",
        json={"sku": SKU},
        headers=keys.headers(Role.SELLER),
    )
    deliver(app)  # the hold's message goes out; the consumable one waits
    before = _every_value(app)

    erased = client.delete(f"/api/v1/customers/{customer}", headers=keys.headers(Role.OWNER))

    after = _every_value(app)
    assert erased.status_code == 200, erased.get_json()
    assert erased.get_json()["reservations"] == 1 and erased.get_json()["orders"] == 1
    for trace in (customer, "Zoé", "Erasable", "zoe.erasable", "+33611223344"):
        assert trace in before
        assert trace not in after, trace
    kept_hold = client.get(f"/api/v1/reservations/{hold['id']}", headers=keys.headers(Role.OWNER))
    kept_order = client.get(f"/api/v1/orders/{order['id']}", headers=keys.headers(Role.OWNER))
    assert (kept_hold.status_code, kept_hold.get_json()["customer_id"]) == (200, None)
    assert (kept_order.status_code, kept_order.get_json()["customer_id"]) == (200, None)
    gone = client.get(f"/api/v1/customers/{customer}", headers=keys.headers(Role.OWNER))
    assert gone.status_code == 404


def test_an_unknown_customer_on_a_hold_is_a_422(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, SKU, {"backroom": 5})

    response = client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "customer_id": "6f1c2b8e-3a4d-4f5e-9a7b-1c2d3e4f5a6b"},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 422
    assert response.get_json()["code"] == "customer_not_found"
    assert "customer_id" in response.get_json()["errors"]
