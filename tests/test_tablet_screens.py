"""The tablet's other screens and faults in real Chromium: help on two tablets, tasks and
the inventory count (stale count), delivery, pairing and revocation, the app offline, a server
restart and a dropped stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from playwright.sync_api import Browser, Request

from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.shop import add_product, stock_of
from tests.fixtures.tablet import (
    LANDSCAPE,
    alerts,
    chromium,
    customer_lingers,
    plant_zone,
    reservations,
    seller_key,
    tablet,
    wait_for_js,
    wait_until,
)
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

pytestmark = pytest.mark.http

KETTLE = "PE-SME-KLF03-CR"
DESCALER = "AC-WPR-DES100"


@pytest.fixture
def server(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    live = start_gunicorn(
        migrated, tmp_path / "gunicorn.log", threads=8, env={"COMPTOIR_STREAM_MAX_PER_WORKER": "4"}
    )
    yield live
    stop_gunicorn(live)


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def kettles(app: Flask) -> None:
    add_product(
        app, KETTLE, {"floor": 3, "backroom": 8}, name="Bouilloire Smeg KLF03 crème",
        category="Bouilloires", brand="Smeg", price="169.00",
    )  # fmt: skip
    add_product(
        app, DESCALER, {"floor": 5}, name="Détartrant Wpro", category="Accessoires", price="9.99"
    )


def test_a_help_alert_rings_on_two_tablets_and_leaves_the_second_when_the_first_goes(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    kettles(app)
    plant_zone(app, "B", "4", KETTLE, "B4")
    with tablet(browser, server.url) as first, tablet(browser, server.url, LANDSCAPE) as second:
        first.sign_in(seller_key(app, "Tablette 1"))
        second.sign_in(seller_key(app, "Tablette 2"))
        for seller in (first, second):
            seller.go("#/help")
            seller.page.wait_for_selector("#alerts >> text=Personne n'attend")

        customer_lingers(app, "B4")
        [alert] = alerts(app)
        for seller in (first, second):
            card = seller.page.locator(f".alert-card[data-alert='{alert.id}']")
            card.wait_for()
            text = card.inner_text()
            assert "Client à aider, rayon B" in text
            assert "Devant : Bouilloire Smeg KLF03 crème" in text
            assert seller.page.evaluate("window.__comptoirRings") == 1  # rang once
            seller.page.wait_for_selector(".tab-help .count >> text=1")

        first.page.click(f".alert-card[data-alert='{alert.id}'] button[data-ack]")
        first.page.wait_for_selector(".toast.show >> text=À vous : rayon B")
        second.page.wait_for_selector(f".alert-card[data-alert='{alert.id}']", state="detached")
        second.page.wait_for_selector(".tab-help .count", state="detached")
        [alert] = alerts(app)
        assert alert.acknowledged_by == "Tablette 1"
        assert first.problems == second.problems == []


def test_a_stale_inventory_count_shows_the_new_value_and_asks_again(
    app: Flask, server: LiveServer, browser: Browser, keys: Keys
) -> None:
    kettles(app)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.page
        seller.go("#/tasks")
        page.fill("#count-sku", KETTLE)
        page.click(".inline-form button[type=submit]")
        page.wait_for_selector("#count-value")
        page.select_option("#count-location", "backroom")

        # While the seller counts, a delivery lands in the stockroom.
        delivered = requests.post(
            f"{server.url}/api/v1/stock/adjustments",
            json={"sku": KETTLE, "location": "backroom", "delta": 2, "reason": "delivery"},
            headers=keys.headers(Role.OWNER),
            timeout=10,
        )
        assert delivered.status_code == 201
        page.fill("#count-value", "7")
        page.click("#count-confirm")
        message = page.wait_for_selector("#count-message .stale-count")
        assert "maintenant 10" in message.inner_text()
        assert stock_of(app, KETTLE).locations[1].on_hand == 10  # nothing written

        page.fill("#count-value", "9")
        page.click("#count-confirm")
        page.wait_for_selector(".toast.show >> text=Comptage enregistré : 9")
        backroom = next(
            level for level in stock_of(app, KETTLE).locations if level.location == "backroom"
        )
        assert backroom.on_hand == 9
        assert seller.problems == []


def test_tasks_show_lanes_to_refill(app: Flask, server: LiveServer, browser: Browser) -> None:
    kettles(app)
    plant_zone(app, "A", "1", KETTLE, "A1")
    from store_api import db
    from store_api.shelves import service as shelves

    session = db.new_session(app)
    with db.write(session):
        lane = shelves.get_lane(session, "store-1", "A", "1")
        lane.units_on_shelf = 0
    session.close()
    with tablet(browser, server.url, LANDSCAPE) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        seller.go("#/tasks")
        task = seller.page.wait_for_selector(f"#refills .task[data-sku='{KETTLE}']")
        text = task.inner_text()
        assert "Réassort emplacement A1" in text
        assert "4 \u00d7 Bouilloire Smeg KLF03 crème depuis la réserve" in text


def test_a_delivery_is_received_line_by_line(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    kettles(app)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.page
        seller.go("#/delivery")
        page.fill("#delivery-ref", "BL-2231")
        page.fill("#delivery-find", "bouilloire smeg")
        page.click(".pick >> text=Bouilloire Smeg")
        page.fill("#delivery-qty", "6")
        page.select_option("#delivery-location", "backroom")
        page.click("#delivery-add")
        page.wait_for_selector(f"#delivery-lines .line[data-state=done][data-sku='{KETTLE}']")
        backroom = next(
            level for level in stock_of(app, KETTLE).locations if level.location == "backroom"
        )
        assert backroom.on_hand == 14
        assert "BL-2231" in page.inner_text("#delivery-lines")

        page.fill("#delivery-find", "détartrant")
        page.click(".pick >> text=Détartrant")
        page.fill("#delivery-qty", "0")
        page.click("#delivery-add")
        page.wait_for_selector(".delivery-form .error >> text=nombre entier")
        assert seller.problems == []


def test_the_app_opens_offline_with_the_last_known_stock(
    app: Flask, server: LiveServer, browser: Browser
) -> None:
    kettles(app)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.page
        seller.go(f"#/product/{KETTLE}")
        page.wait_for_selector(".stock-block .badge[data-location=floor][data-available='3']")
        wait_for_js(page, "navigator.serviceWorker.controller !== null")

        seller.context.set_offline(True)
        page.reload()
        page.wait_for_selector("main[data-ready=product]")
        page.wait_for_selector(".stock-block .stale >> text=pas à jour")
        assert (
            page.locator(".stock-block .badge[data-location=floor]").inner_text() == "En rayon\n3"
        )
        assert page.get_attribute("#status", "data-state") == "offline"
        assert "Hors ligne" in page.inner_text("#status")


def test_english_is_one_tap_away(app: Flask, server: LiveServer, browser: Browser) -> None:
    kettles(app)
    with tablet(browser, server.url) as seller:
        seller.sign_in(seller_key(app, "Tablette 1"))
        page = seller.page
        seller.go(f"#/product/{KETTLE}")
        assert page.inner_text("#reserve") == "Réserver"
        assert "169,00\u00a0€" in page.inner_text(".product-title")
        page.click("#lang")
        page.wait_for_selector("#reserve >> text=Reserve")
        assert "€169.00" in page.inner_text(".product-title")
        assert page.evaluate("document.documentElement.lang") == "en"
        page.reload()
        page.wait_for_selector("#reserve >> text=Reserve")  # the choice is kept


def test_a_server_restart_and_a_dropped_stream_lose_nothing(
    app: Flask, migrated: str, tmp_path: Path, browser: Browser
) -> None:
    kettles(app)
    live = start_gunicorn(migrated, tmp_path / "first.log", threads=8)
    port = live.url.rsplit(":", 1)[1]
    streams: list[Request] = []
    try:
        with tablet(browser, live.url) as seller:
            seller.page.on(
                "request", lambda r: streams.append(r) if "/events/stream" in r.url else None
            )
            seller.sign_in(seller_key(app, "Tablette 1"))
            page = seller.page
            seller.go(f"#/product/{KETTLE}")
            page.wait_for_selector(".stock-block .badge[data-location=floor][data-available='3']")
            # One event so the tablet has a cursor to resume from.
            seller.go("#/search")
            seller.go(f"#/product/{DESCALER}")
            page.click("#reserve")
            page.click("#hold-confirm")
            page.wait_for_selector(".toast.show >> text=Réservé")

            stop_gunicorn(live)
            page.wait_for_selector("#status:not([data-state=live])")
            page.click("#reserve")
            page.click("#hold-confirm")
            page.wait_for_selector(".toast.show >> text=en attente")
            seller.go(f"#/product/{KETTLE}")

            live = start_gunicorn(migrated, tmp_path / "second.log", threads=8, port=int(port))
            seller.wait_live()
            wait_until(lambda: seller.waiting() == 0, "the queued hold to be sent")
            assert len(reservations(app, DESCALER)) == 2

            # A change made while the stream was down reaches the tablet.
            requests.post(
                f"{live.url}/api/v1/reservations",
                json={"sku": KETTLE, "quantity": 2},
                headers={"Authorization": f"Bearer {seller_key(app, 'Tablette 2')}"},
                timeout=10,
            )
            page.wait_for_selector(".stock-block .badge[data-location=floor][data-available='1']")
            resumed = [r for r in streams if r.headers.get("last-event-id")]
            assert resumed, "the stream was not resumed with Last-Event-ID"
            assert seller.problems == []
    finally:
        stop_gunicorn(live)


def test_a_revoked_tablet_is_logged_out_and_keeps_its_queued_taps(
    app: Flask, server: LiveServer, browser: Browser, keys: Keys
) -> None:
    kettles(app)
    owner = keys.headers(Role.OWNER)
    made = requests.post(
        f"{server.url}/api/v1/tablets/pairing-codes",
        json={"name": "Tablette 3"},
        headers=owner,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    code = made.json()
    with tablet(browser, server.url) as seller:
        page = seller.page
        page.goto(
            code["pair_url"].replace("http://localhost", server.url)
            if "localhost" in code["pair_url"]
            else code["pair_url"]
        )
        page.wait_for_selector("#search")
        seller.wait_live()
        assert page.inner_text("#who") == "Tablette 3"
        assert "pair=" not in page.url  # the code leaves the address bar
        key = page.evaluate(
            """() => new Promise(r => { const q = indexedDB.open('comptoir-tablet');
                 q.onsuccess = () => {
                   const g = q.result.transaction('kv').objectStore('kv').get('key');
                   g.onsuccess = () => r(g.result); }; })"""
        )
        assert key.startswith("cpt_") and key not in page.url

        seller.go(f"#/product/{KETTLE}")
        page.wait_for_selector(".stock-block .badge")
        seller.context.set_offline(True)
        page.click("#reserve")
        page.click("#hold-confirm")
        page.wait_for_selector(".toast.show >> text=en attente")

        [listed] = [
            t
            for t in requests.get(f"{server.url}/api/v1/tablets", headers=owner, timeout=10).json()
            if t["name"] == "Tablette 3"
        ]
        revoked = requests.delete(
            f"{server.url}/api/v1/tablets/{listed['id']}", headers=owner, timeout=10
        )
        assert revoked.status_code in (200, 204)

        seller.context.set_offline(False)
        page.wait_for_selector(".logged-out >> text=Cette tablette a été déconnectée")
        assert "1 action est en attente" in page.inner_text(".logged-out")
        assert seller.waiting() == 1
        assert reservations(app, KETTLE) == []


def test_a_revoked_tablet_online_is_logged_out_at_once(
    app: Flask, server: LiveServer, browser: Browser, keys: Keys
) -> None:
    kettles(app)
    owner = keys.headers(Role.OWNER)
    made = requests.post(
        f"{server.url}/api/v1/tablets/pairing-codes",
        json={"name": "Tablette 4"},
        headers=owner,
        timeout=10,
    )
    assert made.status_code == 201, made.text
    with tablet(browser, server.url) as seller:
        page = seller.page
        page.goto(f"{server.url}/tablet/")
        page.fill("#pair-code", made.json()["code"])
        page.click(".pair form.card button[type=submit]")
        page.wait_for_selector("#search")
        seller.wait_live()
        seller.go("#/help")
        [listed] = [
            t
            for t in requests.get(f"{server.url}/api/v1/tablets", headers=owner, timeout=10).json()
            if t["name"] == "Tablette 4"
        ]
        requests.delete(f"{server.url}/api/v1/tablets/{listed['id']}", headers=owner, timeout=10)
        # No tap needed: the stream ends and the reconnection is refused.
        page.wait_for_selector(".logged-out >> text=Cette tablette a été déconnectée")
        page.fill("#pair-code", "000000")
        page.click(".pair form.card button[type=submit]")
        page.wait_for_selector(".pair .error >> text=faux ou expiré")
