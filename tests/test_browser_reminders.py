"""The owner edits a reminder in a real browser (Debian Chromium): preview, a refused
placeholder, save; the Reminders and Customers pages render with no script or CSP error.
Screenshots of each page (desktop and tablet) go to tests/artifacts/ (docs/screenshots/ has
the ones the docs show)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Page

from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.reminders import deliver, new_customer
from tests.fixtures.shop import add_product
from tests.fixtures.smtp import Inbox, smtp_server
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

ROOT = Path(__file__).resolve().parents[1]
SKU = "LL-BOS-WGG244-BL"
SIZES = {"desktop": {"width": 1366, "height": 900}, "tablet": {"width": 820, "height": 1180}}


def _artifacts() -> Path:
    path = Path(os.environ.get("COMPTOIR_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as pair:
        yield pair


@pytest.fixture
def settings(smtp: tuple[Inbox, str]) -> dict[str, Any]:
    return {"SMTP_URL": smtp[1]}


@pytest.fixture
def backoffice(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_gunicorn(
        migrated,
        tmp_path / "gunicorn.log",
        env={"COMPTOIR_SECRET_KEY": "browser-test-" + "0" * 40},
    )
    yield server
    stop_gunicorn(server)


def _shop_with_reminders(app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock) -> None:
    add_product(app, SKU, {"backroom": 3}, name="Lave-linge hublot Bosch Serie 6 9 kg", price="749")
    add_product(app, "RF-SAM-RS68A8-IX", {}, name="Réfrigérateur américain Samsung", price="1399")
    anne = new_customer(client, keys, purposes=("service", "marketing"))
    paul = new_customer(client, keys, name="Paul Durand", email=None, phone="06 98 76 54 32")
    client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "customer_id": anne, "ttl_seconds": 3 * 86400},
        headers=keys.headers(Role.SELLER),
    )
    client.post(
        f"/api/v1/customers/{paul}/stock-alerts",
        json={"sku": "RF-SAM-RS68A8-IX"},
        headers=keys.headers(Role.SELLER),
    )
    deliver(app)
    clock.advance(days=1)
    hold = client.post(
        "/api/v1/reservations",
        json={"sku": SKU, "quantity": 1, "customer_id": anne},
        headers=keys.headers(Role.SELLER),
    ).get_json()
    client.post(
        f"/api/v1/reservations/{hold['id']}/commit", json={}, headers=keys.headers(Role.SELLER)
    )


def _watch(page: Page) -> list[str]:
    problems: list[str] = []  # script errors and CSP violations
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return problems


def _login(page: Page, server: LiveServer, keys: Keys, path: str) -> None:
    page.goto(f"{server.url}{path}")
    page.fill("#key", keys[Role.OWNER])
    page.click("button[type=submit]")
    page.wait_for_url(f"**{path}")


def test_the_owner_previews_fixes_and_saves_a_reminder_in_the_browser(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
    backoffice: LiveServer,
    browser: Browser,
) -> None:
    path = "/dashboard/reminders/templates/back_in_stock/email"
    page = browser.new_context(viewport=SIZES["desktop"]).new_page()
    problems = _watch(page)
    _login(page, backoffice, keys, path)
    assert page.input_value("input[name=subject]") == "{{ product_name }} est de retour en stock"

    page.fill("textarea[name=body]", "Bonjour {{ prenom }}, {{ product_name }} est revenu.")
    page.click("button[value=preview]")
    refused = page.text_content("#problem") or ""
    page.fill("textarea[name=body]", "Bonjour {{ customer_name }}, {{ product_name }} est revenu.")
    page.click("button[value=preview]")
    previewed = page.text_content("#preview") or ""
    page.click("button[value=save]")
    page.wait_for_selector(".notice")
    page.screenshot(path=str(_artifacts() / "reminders-template.png"), full_page=True)

    assert "Unknown placeholder(s): prenom" in refused and refused.startswith("Message")
    assert "Bonjour Anne Martin, Lave-linge hublot Bosch Serie 6 9 kg est revenu." in previewed
    saved = client.get("/api/v1/reminders/templates", headers=keys.headers(Role.OWNER))
    [mine] = [
        t for t in saved.get_json() if t["kind"] == "back_in_stock" and t["channel"] == "email"
    ]
    assert mine["body"] == "Bonjour {{ customer_name }}, {{ product_name }} est revenu."
    # The refused preview is a 422 page on purpose; anything else is a script or CSP error.
    assert [p for p in problems if "status of 422" not in p] == []


@pytest.mark.parametrize("size", SIZES)
def test_the_reminders_and_customers_pages_render_cleanly(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
    backoffice: LiveServer,
    browser: Browser,
    size: str,
) -> None:
    _shop_with_reminders(app, client, keys, clock)
    page = browser.new_context(viewport=SIZES[size]).new_page()
    problems = _watch(page)
    _login(page, backoffice, keys, "/dashboard/reminders")
    page.screenshot(path=str(_artifacts() / f"reminders-{size}.png"), full_page=True)
    benefit = page.text_content("#benefit") or ""
    page.click("text=Clients")
    page.wait_for_url("**/dashboard/customers")
    page.click("text=Anne Martin")
    page.wait_for_selector("text=Consentements")
    page.screenshot(path=str(_artifacts() / f"customer-{size}.png"), full_page=True)

    assert "Article mis de côté" in benefit and "749,00" in benefit
    assert problems == []
