"""A real browser (Debian's Chromium through Playwright) on the owner's French pages.

1. The story: log in → webshop overview → one report → in store → resolve a discrepancy with a
   note → create an API key (secret shown once) → add a webhook → sales → the month, with
   screenshots at desktop and tablet widths (``COMPTOIR_SCREENSHOTS`` keeps them, e.g. for
   docs/screenshots/owner/).
2. Every page under /dashboard, reached by following the links from the overview: French, no
   English navigation or heading left (any text a catalogue translates differently, shown in
   its English form, fails the test), no script error or CSP violation.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from playwright.sync_api import Browser, Page

from store_api import db
from store_api.keys.models import Role
from store_api.shelves.models import HelpAlert, ShelfDiscrepancy
from tests.conftest import Keys
from tests.fixtures.browser import chromium
from tests.fixtures.sales import commit, hold, order, store_sale
from tests.fixtures.shop import add_product
from tests.servers import LiveServer

pytestmark = pytest.mark.http

ROOT = Path(__file__).resolve().parents[1]
DESKTOP = {"width": 1366, "height": 900}
TABLET = {"width": 820, "height": 1180}
# What people read as navigation and headings.
LABELS = "nav a, h1, h2, h3, th, label, legend, button, dt, figcaption, caption, summary, a.button"
MAX_PAGES = 80


def _shots() -> Path:
    path = Path(
        os.environ.get("COMPTOIR_SCREENSHOTS")
        or os.environ.get("COMPTOIR_TEST_ARTIFACTS")
        or ROOT / "tests" / "artifacts"
    )
    path.mkdir(parents=True, exist_ok=True)
    return path


def english_only() -> set[str]:
    """Texts of the server catalogues whose French differs: seen as is, they are untranslated."""
    english: set[str] = set()
    french: set[str] = set()
    for po in [
        *sorted(ROOT.glob("store_api/*/translations/fr/LC_MESSAGES/messages.po")),
        ROOT / "store_api/translations/fr/LC_MESSAGES/messages.po",
    ]:
        if "/tablet/" in str(po):
            continue  # the tablet's own texts are not the owner's
        with po.open("rb") as handle:
            catalogue = read_po(handle)
        for message in catalogue:
            if (
                not message.id
                or isinstance(message.id, tuple)
                or "%(" in message.id
                or not re.search(r"[A-Za-z]{2}", message.id)  # "#" → "N°": a sign, not English
            ):
                continue
            if message.string and message.string != message.id:
                english.add(message.id.strip())
                french.add(str(message.string).strip())
    return english - french


def untranslated(page: Page, english: set[str]) -> list[str]:
    texts: list[str] = page.eval_on_selector_all(
        LABELS, "els => els.map(e => (e.innerText || '').trim())"
    )
    found = []
    for whole in texts:
        # "Site web \u203a Entonnoir d'achat \u00b7 du ...": each part of a heading on its own.
        for part in re.split("\\s*[\u00b7\u203a\u2190\u2192]\\s*|\n", whole):
            if part.strip() in english:
                found.append(part.strip())
    return found


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium("--lang=fr-FR") as launched:  # date fields the French way (jj/mm/aaaa)
        yield launched


def _discrepancy(app: Flask, sku: str, start: dt.datetime) -> None:
    session = db.new_session(app)
    with db.write(session):
        session.add(
            ShelfDiscrepancy(
                store="store-1", sku=sku, lanes=["A-2"], window_start=start,
                window_end=start + dt.timedelta(hours=2), taken=5, put_back=0, accounted=1,
                difference=4, raised_at=start + dt.timedelta(hours=2, minutes=5),
            )
        )  # fmt: skip
        for hours, after in ((5, 45), (4, 150), (3, None)):
            raised = start - dt.timedelta(hours=hours)
            session.add(
                HelpAlert(
                    store="store-1", zone="Z1", shelf="A", lane="A-2", sku=sku, dwell_s=70.0,
                    raised_at=raised,
                    acknowledged_at=None if after is None else raised + dt.timedelta(seconds=after),
                    acknowledged_by=None if after is None else "Julie (tablette 1)",
                )
            )  # fmt: skip
    session.close()


@pytest.fixture
def shop(app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner) -> Flask:
    """A small November: a week of webshop browsing, sales in both channels, a last unit both
    wanted, help alerts and an open discrepancy (the live server reads the same database)."""
    add_product(app, "LL-HUB-9", {"floor": 6, "warehouse": 4}, name="Lave-linge Hublot 9 kg",
                category="Lave-linge", price="649.00")  # fmt: skip
    add_product(app, "FR-CMB-1", {"floor": 2}, name="Réfrigérateur combiné 340 L",
                category="Froid", price="899.90")  # fmt: skip
    add_product(app, "PE-KET-1", {"floor": 10}, name="Bouilloire Écume 1,7 L",
                category="Petit électroménager", price="39.99")  # fmt: skip
    add_product(app, "LAST-1", {"floor": 1}, name="Four encastrable Pyro", category="Cuisson",
                price="549.00")  # fmt: skip
    store_sale(client, keys, "LL-HUB-9")
    store_sale(client, keys, "PE-KET-1", 2)
    code = client.post("/api/v1/tablets/pairing-codes", json={"name": "Tablette caisse"},
                       headers=keys.headers(Role.OWNER)).get_json()["code"]  # fmt: skip
    tablet = {"Authorization": "Bearer " + client.post(
        "/api/v1/tablets/pair", json={"code": code}).get_json()["key"]}  # fmt: skip
    for sku in ("FR-CMB-1", "PE-KET-1"):
        held = client.post("/api/v1/reservations", json={"sku": sku, "quantity": 1},
                           headers=tablet)  # fmt: skip
        assert held.status_code == 201, held.get_json()
    commit(client, keys, held.get_json()["id"])  # the kettle sold, the fridge still held
    order(client, keys, {"FR-CMB-1": 1, "PE-KET-1": 1})
    commit(client, keys, hold(client, keys, "LL-HUB-9"))
    hold(client, keys, "LAST-1", 1, role=Role.WEBSHOP)
    client.post("/api/v1/reservations", json={"sku": "LAST-1", "quantity": 1},
                headers=keys.headers(Role.SELLER))  # fmt: skip
    _discrepancy(app, "PE-KET-1", dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC))
    browsing = runner.invoke(
        args=["seed-browsing", "--weeks", "1", "--visits-per-day", "60", "--force"]
    )
    assert browsing.exit_code == 0, browsing.output
    return app


def _login(page: Page, server: LiveServer, keys: Keys) -> None:
    page.goto(f"{server.url}/dashboard/login")
    page.fill("#key", keys[Role.OWNER])
    page.click("button[type=submit]")
    page.wait_for_selector("nav.pages")


def _shot(page: Page, name: str) -> None:
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(_shots() / f"{name}.png"), full_page=True)
    page.set_viewport_size(TABLET)
    page.screenshot(path=str(_shots() / f"{name}-tablet.png"), full_page=True)
    page.set_viewport_size(DESKTOP)


def test_the_owner_story_in_french(
    shop: Flask, keys: Keys, live_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    english = english_only()
    november = "from=2026-11-01&to=2026-11-30"

    page.goto(f"{live_server.url}/dashboard/login")
    assert page.inner_text("h1") == "L'arrière-boutique"
    _shot(page, "login")
    _login(page, live_server, keys)

    page.goto(f"{live_server.url}/dashboard?{november}")
    assert page.inner_text("h1").startswith("Site web · du 1 novembre 2026 au 30 novembre 2026")
    _shot(page, "overview")
    page.click("#funnel header a:has-text('Toutes les lignes')")
    page.wait_for_selector('h1:has-text("Entonnoir d\'achat")')
    _shot(page, "report")

    page.click("nav.pages a:has-text('En magasin')")
    page.wait_for_selector("h1:has-text('En magasin')")
    _shot(page, "store")

    # A discrepancy resolved from a page, with a note (no more curl).
    page.click("a:has-text('Tous les écarts ouverts')")
    page.click("table a:has-text('Résoudre')")
    page.fill("#note", "Recompté : 4 bouilloires rangées en réserve.")
    _shot(page, "discrepancy")
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector(".notice")
    assert "résolu" in page.inner_text(".notice")

    # An API key: the secret is shown once.
    page.click('nav.pages a:has-text("Clés d\'accès")')
    page.fill("#name", "Caisse du magasin")
    page.check("input[name=role][value=seller]")
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#secret")
    _shot(page, "key-created")

    # A webhook to the accountant's software.
    page.goto(f"{live_server.url}/dashboard/webhooks/new")
    page.fill("#url", "https://compta.example.fr/comptoir")
    page.check("input[name=event_types][value='order.*']")
    _shot(page, "webhook-form")
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("#secret")
    page.goto(f"{live_server.url}/dashboard/webhooks")
    assert "https://compta.example.fr/comptoir" in page.inner_text("main")
    _shot(page, "webhooks")

    page.goto(f"{live_server.url}/dashboard/sales?{november}&by=channel")
    # 649,00 + 2 x 39,99 + 649,00 + 39,99 in the store; 899,90 + 39,99 on the web.
    assert "2 357,86 €" in page.inner_text("dl.figures").replace("\u202f", " ").replace("\xa0", " ")
    _shot(page, "sales")

    page.goto(f"{live_server.url}/dashboard/month?month=2026-11")
    assert page.inner_text("h1") == "Le mois en un coup d'œil : novembre 2026"
    main = page.inner_text("main").replace("\u202f", " ")
    assert "Dernières unités voulues par les deux canaux" in main
    assert "Ce qu'ont apporté les relances" in main and "Clients revenus" in main
    assert "non disponible" not in main
    _shot(page, "month")
    page.emulate_media(media="print")
    page.screenshot(path=str(_shots() / "month-print.png"), full_page=True)
    assert not page.is_visible("nav.pages")  # the print CSS hides the navigation
    page.emulate_media(media="screen")
    with page.expect_download() as download:
        page.click("a:has-text('Télécharger en PDF')")
    assert download.value.suggested_filename == "mois-2026-11.pdf"

    assert untranslated(page, english) == []
    assert problems == []
    context.close()


def test_every_owner_page_is_french(
    shop: Flask, keys: Keys, live_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error"
            else None)  # fmt: skip
    english = english_only()
    assert {"Webshop", "In store", "Sales"} <= english  # the check can see English
    _login(page, live_server, keys)

    queue = ["/dashboard", "/dashboard/month?month=2026-11"]
    seen_shapes: set[str] = set()
    visited: list[str] = []
    failures: dict[str, list[str]] = {}
    while queue and len(visited) < MAX_PAGES:
        path = queue.pop(0)
        shape = re.sub(r"/\d+", "/N", urlsplit(path).path)
        if shape in seen_shapes:
            continue
        seen_shapes.add(shape)
        response = page.goto(live_server.url + path)
        assert response is not None and response.status < 500, path
        visited.append(path)
        assert page.get_attribute("html", "lang") == "fr", path
        found = untranslated(page, english)
        if found:
            failures[path] = found
        for href in page.eval_on_selector_all(
            "a[href]", "els => els.map(e => e.getAttribute('href'))"
        ):
            target = urlsplit(href)
            if (
                target.netloc
                or not target.path.startswith("/dashboard")
                or target.path.endswith((".csv", ".pdf", ".json", ".svg"))
                or "lang=" in target.query
                or "/static/" in target.path
            ):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))

    assert failures == {}
    # The crawl reached every page group of the navigation.
    for group in ("/dashboard/store", "/dashboard/sales", "/dashboard/month", "/dashboard/keys",
                  "/dashboard/webhooks", "/dashboard/search", "/dashboard/tablets",
                  "/dashboard/suppliers", "/dashboard/sheets"):  # fmt: skip
        assert any(urlsplit(path).path == group for path in visited), group
    assert problems == []
    context.close()


def test_english_on_request(
    shop: Flask, keys: Keys, live_server: LiveServer, browser: Browser
) -> None:
    context = browser.new_context(viewport=DESKTOP, locale="fr-FR")
    page = context.new_page()
    _login(page, live_server, keys)

    page.goto(f"{live_server.url}/dashboard/month?month=2026-11&lang=en")
    assert page.inner_text("h1") == "The month at a glance: November 2026"
    page.goto(f"{live_server.url}/dashboard/sales")  # the choice is remembered
    assert page.inner_text("nav.pages a[aria-current=page]") == "Sales"
    page.goto(f"{live_server.url}/dashboard/sales?lang=fr")
    assert page.inner_text("nav.pages a[aria-current=page]") == "Ventes"
    context.close()
