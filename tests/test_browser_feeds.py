"""A real browser (Debian's Chromium through Playwright): the owner uploads a supplier file,
reads the diff, applies it, completes a product sheet, publishes it, and the webshop finds the
product in the JSON-LD and the Merchant Center feed."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from defusedxml import ElementTree as SafeXml
from flask import Flask
from playwright.sync_api import Browser, Page

from seeds import supplier_feeds
from store_api import db
from store_api.keys.models import Role
from store_api.suppliers import service as suppliers
from tests.conftest import Keys
from tests.fixtures.browser import chromium
from tests.fixtures.suppliers import CSV_PROFILE, csv_text
from tests.servers import LiveServer

pytestmark = pytest.mark.http

ROOT = Path(__file__).resolve().parents[1]
G = "{http://base.google.com/ns/1.0}"
IMAGE = "https://images.distrilec.example/1.jpg"
COMPLETE = ["DR1", supplier_feeds.gtin13(1), "Bosch", "WGG244", "Lave-linge hublot Bosch 9 kg",
            "LAVAGE FRONTAL", "Blanc", "412,50", "749,00", "3", "2", "9", "1 400", "A", "598",
            IMAGE]  # fmt: skip
# No spin speed: its sheet is not complete for the webshop until the owner fills it in.
NO_SPIN = ["DR2", supplier_feeds.gtin13(2), "Siemens", "WG44G2", "Lave-linge hublot Siemens 8 kg",
           "LAVAGE FRONTAL", "Blanc", "389,00", "699,00", "0", "3", "8", "", "B", "598",
           "https://images.distrilec.example/2.jpg"]  # fmt: skip
BAD = ["DR3", supplier_feeds.gtin13(3), "Beko", "B300", "Lave-linge Beko 7 kg", "LAVAGE FRONTAL",
       "Blanc", "199,00", "-299,00"]  # fmt: skip


def _artifacts() -> Path:
    path = Path(os.environ.get("COMPTOIR_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _get(url: str, key: str) -> tuple[str, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (our own server)
        return response.headers.get_content_type(), response.read()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(_artifacts() / name), full_page=True)


def test_upload_diff_apply_complete_publish_and_the_webshop_sees_it(
    app: Flask, keys: Keys, live_server: LiveServer, browser: Browser, tmp_path: Path
) -> None:
    session = db.new_session(app)
    with db.write(session):
        suppliers.create_supplier(
            session, {"code": "DISTRILEC", "name": "Distrilec Rhône", "mapping": CSV_PROFILE},
            now=app.extensions["comptoir_clock"](),
        )  # fmt: skip
    session.close()
    export = tmp_path / "distrilec-export.csv"
    export.write_bytes(csv_text([COMPLETE, NO_SPIN, BAD]))
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="fr-FR")
    page = context.new_page()
    problems: list[str] = []  # script errors and CSP violations
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)

    page.goto(f"{live_server.url}/dashboard/login")
    page.fill("#key", keys[Role.OWNER])
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/dashboard/suppliers/DISTRILEC")
    _shot(page, "supplier.png")
    page.set_input_files("input[type=file]", str(export))
    page.click("form.upload button[type=submit]")

    # The diff: one line rejected in French, naming line and column; nothing applied yet.
    page.wait_for_selector("text=Lignes rejetées (1)")
    assert "Ligne 4, colonne PVC TTC : -299,00 est négatif." in page.inner_text("main")
    _shot(page, "feeds-diff-rejected.png")
    page.click("text=Nouveaux produits (2)")
    page.wait_for_selector("text=Lave-linge hublot Siemens 8 kg")
    _shot(page, "feeds-diff.png")
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet
    _shot(page, "feeds-diff-tablet.png")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.check("input[name=skip_rejected]")
    page.click("form.apply button[type=submit]")
    page.wait_for_selector("text=Appliqué : 2 nouveau(x) produit(s)")

    # Sheets to complete: the Siemens lacks its spin speed.
    page.goto(f"{live_server.url}/dashboard/sheets?incomplete=1")
    page.wait_for_selector("text=Lave-linge hublot Siemens 8 kg")
    assert "essorage tr min" in page.inner_text("main")
    _shot(page, "sheets.png")
    page.click("text=Lave-linge hublot Siemens 8 kg")
    page.fill("input[name='attr:essorage_tr_min']", "1 200")
    page.click("form.stacked button[type=submit]")
    page.wait_for_selector("text=Fiche enregistrée.")
    assert (
        "Lave-linge 8 kg, essorage 1\u202f200 tr/min, classe énergétique B, 59,8 cm de large."
        in (page.inner_text("main"))
    )
    page.click("button:has-text('Marquer prête')")
    page.wait_for_selector("text=Fiche prête")
    page.click("button:has-text('Publier')")
    page.wait_for_selector("text=Publié : le site le montre.")
    _shot(page, "sheet-published.png")
    page.goto(f"{live_server.url}/dashboard/suppliers/DISTRILEC/mapping")
    page.wait_for_selector("text=Profil de correspondance")
    _shot(page, "mapping.png")
    page.goto(f"{live_server.url}/dashboard/sheets/rules/Lave-linge")
    page.wait_for_selector("text=Modèle de description")
    _shot(page, "sheet-rule.png")
    assert problems == []

    # The webshop pulls the published product: JSON-LD and the Merchant Center feed.
    kind, body = _get(f"{live_server.url}/api/v1/products/DISTRILEC-DR2/jsonld", keys[Role.WEBSHOP])
    data = json.loads(body)
    assert kind == "application/ld+json"
    assert (data["@type"], data["gtin13"], data["offers"]["price"]) == (
        "Product",
        supplier_feeds.gtin13(2),
        "699.00",
    )
    # None in the shop; the supplier has none either (stock 0 in the file).
    assert data["offers"]["availability"] == "https://schema.org/OutOfStock"
    _kind, feed = _get(f"{live_server.url}/api/v1/channels/merchant-feed", keys[Role.WEBSHOP])
    items = SafeXml.fromstring(feed).findall("channel/item")
    assert [i.findtext(f"{G}id") for i in items] == ["DISTRILEC-DR2"]
    assert items[0].findtext(f"{G}description", "").startswith("Lave-linge 8 kg, essorage")
