"""The tablet's customer picker and back-in-stock request, in real Chromium against gunicorn.

A hold made for a customer found by name carries their id; an out-of-stock product offers
"Prévenir le client au retour en stock", for a known customer, a customer who agrees on the
spot (the consent is recorded with who asked and the words shown) or a new walk-in customer;
a product in stock does not offer it.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import Browser
from sqlalchemy import select

from store_api import db
from store_api.customers import service as customers
from store_api.customers.models import Consent, Customer, StockAlert
from tests.fixtures.shop import add_product
from tests.fixtures.tablet import reservations, seller_key, tablet
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

pytestmark = pytest.mark.http

WASHER = "LL-BOS-WGG244-BL"
FRIDGE = "RF-SAM-RS68A8-IX"


@pytest.fixture
def server(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = start_gunicorn(migrated, tmp_path / "gunicorn.log", threads=8)
    yield live
    stop_gunicorn(live)


def register(app: Flask, name: str, email: str, *, told: bool) -> uuid.UUID:
    consents = [customers.ConsentInput("service", True, "in_store")] if told else []
    session = db.new_session(app)
    with db.write(session):
        customer = customers.create_customer(
            session,
            name=name,
            email=email,
            phone=None,
            consents=consents,
            actor="test",
            now=dt.datetime.now(dt.UTC),
        )
    session.close()
    return customer.id


def alerts_for(app: Flask, sku: str) -> list[StockAlert]:
    session = db.new_session(app)
    with db.read(session):
        found = list(session.scalars(select(StockAlert).where(StockAlert.sku == sku)))
    session.close()
    return found


def consents_of(app: Flask, customer_id: uuid.UUID) -> list[Consent]:
    session = db.new_session(app)
    with db.read(session):
        found = list(
            session.scalars(
                select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.id)
            )
        )
    session.close()
    return found


def customer_named(app: Flask, name: str) -> Customer | None:
    session = db.new_session(app)
    with db.read(session):
        found = session.scalars(select(Customer).where(Customer.name == name)).one_or_none()
    session.close()
    return found


def test_a_hold_for_a_customer_found_by_name(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    add_product(app, WASHER, {"floor": 2}, name="Lave-linge Bosch Serie 6")
    anne = register(app, "Anne Martin", "anne.martin@example.fr", told=True)
    register(app, "Bruno Martineau", "bruno@example.fr", told=False)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.go(f"#/product/{WASHER}")
        assert page.locator("#notify-back").is_hidden()  # in stock: nothing to ask for
        page.click("#reserve")
        page.fill("#customer-search", "mart")
        page.wait_for_selector(f".customer-result[data-customer='{anne}']")
        assert page.locator(".customer-result").count() == 2
        page.click(f".customer-result[data-customer='{anne}']")
        chip = page.locator(f".customer-chip[data-customer='{anne}']")
        assert "anne.martin@example.fr" in chip.inner_text()
        page.click("#hold-confirm")
        page.wait_for_selector(".toast.show >> text=Réservé")

        [hold] = reservations(app, WASHER)
        assert hold.customer_id == anne
        assert seller.problems == []


def test_a_hold_without_a_customer_stays_anonymous(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    add_product(app, WASHER, {"floor": 2}, name="Lave-linge Bosch Serie 6")
    anne = register(app, "Anne Martin", "anne.martin@example.fr", told=True)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.go(f"#/product/{WASHER}")
        page.click("#reserve")
        page.fill("#customer-search", "anne")
        page.click(f".customer-result[data-customer='{anne}']")
        page.click("#customer-clear")  # changed their mind: skip
        page.click("#hold-confirm")
        page.wait_for_selector(".toast.show >> text=Réservé")

        [hold] = reservations(app, WASHER)
        assert hold.customer_id is None


def test_out_of_stock_a_known_customer_asks_to_be_told(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    add_product(app, FRIDGE, {}, name="Réfrigérateur américain Samsung", category="Réfrigérateurs")
    anne = register(app, "Anne Martin", "anne.martin@example.fr", told=True)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.go(f"#/product/{FRIDGE}")
        button = page.locator("#notify-back")
        button.wait_for()
        assert button.inner_text() == "Prévenir le client au retour en stock"
        button.click()
        confirm = page.locator("#alert-confirm")
        assert confirm.is_disabled()  # nobody chosen yet
        assert page.locator(".sheet .customer-picker > .label").inner_text() == "Client"
        page.fill("#customer-search", "anne.mar")
        page.click(f".customer-result[data-customer='{anne}']")
        assert confirm.is_enabled()
        confirm.click()
        page.wait_for_selector(".toast.show >> text=C'est noté")

        [alert] = alerts_for(app, FRIDGE)
        assert (alert.customer_id, alert.status, alert.channel, alert.created_by) == (
            anne,
            "waiting",
            "store",
            "Tablette 1",
        )
        assert seller.problems == []


def test_a_customer_who_had_not_agreed_agrees_on_the_spot(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    add_product(app, FRIDGE, {}, name="Réfrigérateur américain Samsung", category="Réfrigérateurs")
    bruno = register(app, "Bruno Martineau", "bruno@example.fr", told=False)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.go(f"#/product/{FRIDGE}")
        page.click("#notify-back")
        page.fill("#customer-search", "bruno")
        page.click(f".customer-result[data-customer='{bruno}']")
        confirm = page.locator("#alert-confirm")
        assert confirm.is_disabled()  # no consent, no request
        page.check("#alert-consent")
        confirm.click()
        page.wait_for_selector(".toast.show >> text=C'est noté")

        [alert] = alerts_for(app, FRIDGE)
        assert alert.customer_id == bruno
        [given] = consents_of(app, bruno)
        assert (given.purpose, given.granted, given.method, given.collected_by) == (
            "service",
            True,
            "in_store",
            "Tablette 1",
        )
        assert "prévenu" in (given.wording or "")


def test_a_new_walk_in_customer_is_registered_with_the_consents_ticked(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    add_product(app, FRIDGE, {}, name="Réfrigérateur américain Samsung", category="Réfrigérateurs")
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.go(f"#/product/{FRIDGE}")
        page.click("#notify-back")
        page.fill("#customer-search", "Léa Petit")
        page.click("#customer-new")
        assert page.input_value("#new-name") == "Léa Petit"
        page.click("#new-save")  # no contact yet
        page.wait_for_selector("text=Il faut une adresse e-mail ou un mobile.")
        page.fill("#new-phone", "01 23 45 67 89")  # a landline: refused by the server
        page.click("#new-save")
        page.wait_for_selector("text=Vérifiez")
        page.fill("#new-phone", "06 12 34 56 78")
        page.check("#new-consent-service")
        page.click("#new-save")
        page.wait_for_selector(".customer-chip")
        page.click("#alert-confirm")
        page.wait_for_selector(".toast.show >> text=C'est noté")

        lea = customer_named(app, "Léa Petit")
        assert lea is not None and lea.phone == "+33612345678"
        assert [(c.purpose, c.granted, c.collected_by) for c in consents_of(app, lea.id)] == [
            ("service", True, "Tablette 1")
        ]
        [alert] = alerts_for(app, FRIDGE)
        assert alert.customer_id == lea.id
        assert seller.problems == []
