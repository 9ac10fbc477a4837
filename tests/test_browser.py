"""A real browser (Debian's Chromium, driven by Playwright) browses a test shop with /t.js.

The shop pages (tests/browser/*.html) are served by a tiny HTTP server on ``localhost`` while
the back office runs in gunicorn on ``127.0.0.1``: another site, as in production, so the
tracker's cross-origin beacons and the ingest's CORS origin list are exercised for real.
Chromium is the system one (``/usr/bin/chromium``, ``scripts/ensure-system-packages.sh
chromium``); Playwright never downloads a browser here.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, sync_playwright
from sqlalchemy import select

from iot_bridge import payloads
from store_api import db
from store_api.clickstream.models import ClickEvent
from store_api.keys.models import Role
from store_api.sensors import service as sensors
from tests.conftest import Keys
from tests.fixtures.shop import add_product
from tests.servers import LiveServer, free_port, start_gunicorn, stop_gunicorn

pytestmark = pytest.mark.http

CHROMIUM = Path("/usr/bin/chromium")
PAGES = Path(__file__).parent / "browser"
ROOT = Path(__file__).resolve().parents[1]
# Headless Chromium says "HeadlessChrome" in its user agent, which the ingest rightly drops as
# a robot (store_api/clickstream/bots.py). The test plays a person on a desktop Chrome. It is set
# for the whole browser (--user-agent): a context's user_agent does not reach sendBeacon
# requests, which the browser process sends with its own user agent.
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
DEADLINE_SECONDS = 30
TRACKER_READY = "window.comptoir && window.comptoir.ready === true"
SKU = "LL-BR-9001"
PRODUCT = {
    "sku": SKU,
    "name": "Lave-linge Hublot Écume 9 kg",
    "category": "Lave-linge",
    "price": "649.00",
    "fee": "29.90",
    "free_threshold": "800.00",
}


def _artifacts_dir() -> Path:
    path = Path(os.environ.get("COMPTOIR_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


class ShopServer:
    """Serves the test shop's pages with the back office's address filled in."""

    ROUTES = {"/cart": "cart.html", "/thanks": "thanks.html"}

    def __init__(self) -> None:
        self.port = free_port()
        self.origin = f"http://localhost:{self.port}"
        self.values: dict[str, str] = {}
        shop = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                name = "product.html" if path.startswith("/p/") else shop.ROUTES.get(path)
                if name is None:
                    self.send_error(404)
                    return
                body = (PAGES / name).read_text(encoding="utf-8")
                for key, value in shop.values.items():
                    body = body.replace("{{" + key + "}}", value)
                data = body.encode("utf-8")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ShopServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def shop() -> Iterator[ShopServer]:
    with ShopServer() as server:
        yield server


@pytest.fixture
def backoffice(app: Flask, migrated: str, tmp_path: Path, shop: ShopServer) -> Iterator[LiveServer]:
    """The live server of conftest.py, told that the test shop's origin may send events."""
    server = start_gunicorn(
        migrated,
        tmp_path / "gunicorn.log",
        env={
            "COMPTOIR_ANALYTICS_ORIGINS": shop.origin,
            "COMPTOIR_SECRET_KEY": "browser-test-" + "0" * 40,
        },
    )
    yield server
    stop_gunicorn(server)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run scripts/ensure-system-packages.sh chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=[f"--user-agent={DESKTOP_CHROME}"]
        )
        yield browser
        browser.close()


def _events(app: Flask) -> list[ClickEvent]:
    session = db.new_session(app)
    with db.read(session):
        found = list(session.scalars(select(ClickEvent).order_by(ClickEvent.id)))
    session.close()
    return found


def _wait_for_events(app: Flask, server: LiveServer, names: set[str]) -> list[ClickEvent]:
    """Poll the database until events of all ``names`` are stored; fail after the deadline.

    The wait only bounds the test: nothing about timing is asserted.
    """
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        events = _events(app)
        if names <= {event.name for event in events}:
            return events
        if time.monotonic() > deadline:
            pytest.fail(
                f"gave up waiting for {sorted(names)}; stored: {[e.name for e in events]}\n"
                f"gunicorn log:\n{server.log_tail()}"
            )
        time.sleep(0.2)


def test_browsing_a_product_page_reaches_the_dashboard_charts(
    app: Flask, keys: Keys, shop: ShopServer, backoffice: LiveServer, browser: Browser
) -> None:
    add_product(app, SKU, {"warehouse": 3}, name=PRODUCT["name"], price=PRODUCT["price"])
    total = Decimal(PRODUCT["price"]) + Decimal(PRODUCT["fee"])
    shop.values = {**PRODUCT, "backoffice": backoffice.url, "total": str(total)}
    context = browser.new_context(
        user_agent=DESKTOP_CHROME, viewport={"width": 1280, "height": 720}
    )
    page = context.new_page()

    # A visitor comes from a newsletter, reads the product page, buys it with delivery.
    page.goto(f"{shop.origin}/p/{SKU}?utm_source=newsletter&utm_medium=email&ref=abc#reviews")
    page.wait_for_function(TRACKER_READY)
    page.mouse.wheel(0, 600)
    page.wait_for_timeout(1500)  # the dwell being measured, not an assertion
    page.click("#add")
    page.wait_for_url(f"{shop.origin}/cart")
    page.click("#checkout")
    page.click("#buy")
    page.wait_for_url(f"{shop.origin}/thanks")
    page.fill("input[name=q]", "hublot jean.dupont@example.com 06 12 34 56 78")
    page.click("#search button")
    page.wait_for_function("document.title === 'searched'")
    page.close(run_before_unload=True)  # pagehide: the tracker flushes with sendBeacon
    context.close()

    wanted = {"page_view", "view_item", "engagement", "add_to_cart", "view_cart"}
    wanted |= {"delivery_fee_shown", "begin_checkout", "add_shipping_info", "purchase", "search"}
    events = _wait_for_events(app, backoffice, wanted)

    by_name = {event.name: event for event in events}
    assert by_name["view_item"].item_id == SKU
    assert by_name["engagement"].item_id == SKU
    assert (by_name["engagement"].engaged_ms or 0) > 0
    assert (by_name["engagement"].scroll_depth or 0) > 0
    assert by_name["purchase"].value == total
    assert by_name["purchase"].shipping == Decimal(PRODUCT["fee"])
    assert by_name["delivery_fee_shown"].shipping == Decimal(PRODUCT["fee"])
    assert by_name["search"].search_term == "hublot"
    landing = by_name["view_item"].page_path or ""
    assert landing.startswith(f"/p/{SKU}") and "utm_source=newsletter" in landing
    assert "ref=" not in landing and "#" not in landing
    assert len({event.visit_id for event in events}) == 1

    # The owner logs in to the dashboard and sees the product in the charts.
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    problems: list[str] = []  # script errors and CSP violations
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{backoffice.url}/dashboard")
    page.fill("#key", keys[Role.OWNER])
    page.click("button[type=submit]")
    page.wait_for_selector("#canvas-funnel-0")
    assert problems == []

    screenshot = _artifacts_dir() / "dashboard.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"dashboard screenshot: {screenshot}")
    looked = page.evaluate(
        "() => Chart.getChart(document.getElementById('canvas-looked-not-bought-0')).data"
    )
    assert looked["skus"] == [SKU]
    assert looked["labels"] == [[SKU, PRODUCT["name"]]]
    funnel = page.evaluate("() => Chart.getChart(document.getElementById('canvas-funnel-0')).data")
    assert funnel["labels"][-1] == "Achat"  # French by default, in the charts too
    assert funnel["datasets"][0]["data"][-1] == 1
    assert funnel["datasets"][0]["data"][0] == 1  # one visit

    # A door counter counts three people in: the "In store" page draws them.
    now = dt.datetime.now(dt.UTC)
    door = payloads.dump(
        "footfall", event_id="d-1", device_id="door-1", seq=1, ts=now, direction="in", count=3
    )
    session = db.new_session(app)
    with db.write(session):
        topic = "comptoir/v1/store-1/door/main/-/evt/footfall"
        sensors.store_batch(session, "store-1", [sensors.InboundMessage(topic, door, now)], now=now)
    session.close()
    page.click("nav.pages >> text=En magasin")
    page.wait_for_selector("#canvas-footfall-0")
    footfall = page.evaluate(
        "() => Chart.getChart(document.getElementById('canvas-footfall-0')).data.datasets[0].data"
    )
    assert footfall[-1] == 3
    assert problems == []
    context.close()


OPT_OUTS = {
    # The shop's opt-out link sets this flag on its pages (docs/dashboard.md).
    "opt-out link": "window.comptoirOptOut = true;",
    "Global Privacy Control": (
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true});"
    ),
    "Do Not Track": "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'});",
}


@pytest.mark.parametrize("signal", list(OPT_OUTS))
def test_visitor_who_opted_out_sends_nothing(
    app: Flask, shop: ShopServer, backoffice: LiveServer, browser: Browser, signal: str
) -> None:
    add_product(app, SKU, {"warehouse": 3}, name=PRODUCT["name"], price=PRODUCT["price"])
    shop.values = {**PRODUCT, "backoffice": backoffice.url, "total": PRODUCT["price"]}
    context = browser.new_context()
    # Only the product page says no, so the next page's event shows when beacons have arrived.
    context.add_init_script(f"if (location.pathname.startsWith('/p/')) {{ {OPT_OUTS[signal]} }}")
    page = context.new_page()

    page.goto(f"{shop.origin}/p/{SKU}")
    page.wait_for_function(TRACKER_READY)
    page.wait_for_timeout(300)  # some dwell that must not be reported
    page.click("#add")
    page.wait_for_url(f"{shop.origin}/cart")
    page.goto(f"{shop.origin}/thanks")
    page.wait_for_function(TRACKER_READY)
    page.close(run_before_unload=True)
    context.close()

    events = _wait_for_events(app, backoffice, {"page_view"})
    assert "/p/" not in " ".join(e.page_path or "" for e in events)
    assert {e.name for e in events} <= {"page_view", "view_cart", "delivery_fee_shown"}


def test_batches_go_out_while_the_page_stays_open(
    app: Flask, shop: ShopServer, backoffice: LiveServer, browser: Browser
) -> None:
    """20 waiting events are sent at once, the rest after a few seconds (fetch keepalive)."""
    add_product(app, SKU, {"warehouse": 3}, name=PRODUCT["name"], price=PRODUCT["price"])
    shop.values = {**PRODUCT, "backoffice": backoffice.url, "total": PRODUCT["price"]}
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{shop.origin}/thanks")
    page.wait_for_function(TRACKER_READY)

    page.evaluate(
        """() => { for (let i = 0; i < 24; i++) {
            comptoir('event', 'search', {search_term: 'terme ' + i, search_results: i});
        } }"""
    )

    events = _wait_for_events(app, backoffice, {"page_view", "search"})
    deadline = time.monotonic() + DEADLINE_SECONDS
    while len(events) < 25 and time.monotonic() < deadline:
        time.sleep(0.2)
        events = _events(app)
    assert page.evaluate("document.visibilityState") == "visible"  # no page-hide flush
    assert len(events) == 25
    assert sorted(e.search_results for e in events if e.name == "search") == list(range(24))
    context.close()
