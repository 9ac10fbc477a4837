"""Screenshots of every screen of the seller's tablet, portrait and landscape, in French.

    python -m bench.tablet_screens [--out docs/screenshots/tablet]

Seeds the demo shop (bench/tablet_demo.py), raises a help alert, makes a few holds, then
drives Debian's Chromium through each screen at 800 x 1280 and 1280 x 800.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import requests
from playwright.sync_api import Browser

from bench.tablet_demo import ROOT, DemoShop, demo_shop
from tests.fixtures.tablet import LANDSCAPE, PORTRAIT, Tablet, chromium, customer_lingers, tablet

WASHER = "LL-BOS-WGG244-GA"
KETTLE = "PE-SME-KLF03-CR"
SOLD_OUT = "LL-BOS-WAN28-BL"  # nothing on the floor nor in the stockroom: alternatives show


def prepare(shop: DemoShop, key: str, other: str) -> None:
    """What a morning in the shop leaves on the screens: holds, an alert, a refused hold."""
    api = f"{shop.server.url}/api/v1"
    mine = {"Authorization": f"Bearer {key}"}
    for body in (
        {"sku": KETTLE, "quantity": 1, "note": "M. Durand, repasse à 17 h"},
        {"sku": "TV-SAM-UE55CU7105-NR", "quantity": 1, "note": "Mme Martin, livraison jeudi"},
    ):
        requests.post(f"{api}/reservations", json=body, headers=mine, timeout=10)
    requests.post(
        f"{api}/reservations",
        json={"sku": "PE-SME-KLF03-RG", "quantity": 1, "note": "Client au téléphone"},
        headers={"Authorization": f"Bearer {other}"},
        timeout=10,
    )
    customer_lingers(shop.app, "A1")


def shoot(page_tablet: Tablet, out: Path, name: str, orientation: str) -> None:
    if "offline" not in name:  # the last toast would hide part of the next screen
        page_tablet.page.evaluate(
            "() => document.getElementById('toast')?.classList.remove('show')"
        )
    path = out / f"{name}-{orientation}.png"
    page_tablet.page.wait_for_timeout(400)  # fonts and the toast settle; not a measurement
    page_tablet.page.screenshot(path=str(path))
    print(f"  {path}", file=sys.stderr)


def screens(browser: Browser, shop: DemoShop, key: str, out: Path, orientation: str) -> None:
    viewport = PORTRAIT if orientation == "portrait" else LANDSCAPE
    with tablet(browser, shop.server.url, viewport) as fresh:
        fresh.page.goto(f"{shop.server.url}/tablet/")
        fresh.page.wait_for_selector("#pair-code")
        shoot(fresh, out, "1-pairing", orientation)
    with tablet(browser, shop.server.url, viewport) as seller:
        seller.sign_in(key)
        page = seller.page
        page.fill("#search", "lave linge bosch")
        page.wait_for_selector(".result .badge")
        shoot(seller, out, "2-search", orientation)

        seller.go(f"#/product/{WASHER}")
        page.wait_for_selector(".suggestion")
        shoot(seller, out, "3-product", orientation)
        page.click("#reserve")
        page.fill("#hold-note", "Mme Petit, livraison samedi")
        shoot(seller, out, "3-product-reserve", orientation)
        page.click("#hold-confirm")
        page.wait_for_selector(".toast.show")

        seller.go(f"#/product/{SOLD_OUT}")
        page.wait_for_selector(".suggestion-list[data-kind=alternatives]")
        shoot(seller, out, "3-product-alternatives", orientation)

        # Offline: a hold queued, the stock not current (the product was opened before).
        seller.go(f"#/product/{KETTLE}")
        page.wait_for_selector(".stock-block .badge")
        seller.go("#/holds")
        page.wait_for_selector("#active-holds .hold-card")
        seller.go("#/search")
        seller.context.set_offline(True)
        seller.go(f"#/product/{KETTLE}")
        page.wait_for_selector(".stock-block .stale")
        page.click("#reserve")
        page.click("#hold-confirm")
        page.wait_for_selector(".toast.show")
        shoot(seller, out, "3-product-offline", orientation)
        seller.go("#/holds")
        page.wait_for_selector("#waiting .hold-card")
        shoot(seller, out, "4-holds-offline", orientation)
        seller.context.set_offline(False)
        seller.wait_live()
        page.wait_for_selector("#waiting .hold-card", state="detached")
        page.wait_for_selector("#active-holds .hold-card")
        shoot(seller, out, "4-holds", orientation)

        seller.go("#/help")
        page.wait_for_selector(".alert-card .badge")
        page.wait_for_timeout(800)  # its suggestions arrive after the card
        shoot(seller, out, "5-help", orientation)

        seller.go("#/tasks")
        page.wait_for_selector("#refills .task")
        shoot(seller, out, "6-tasks", orientation)
        page.fill("#count-sku", KETTLE)
        page.click(".inline-form button[type=submit]")
        page.wait_for_selector("#count-value")
        page.fill("#count-value", "2")
        requests.post(
            f"{shop.server.url}/api/v1/stock/adjustments",
            json={"sku": KETTLE, "location": "floor", "delta": 1, "reason": "return"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
        page.click("#count-confirm")
        page.wait_for_selector("#count-message .stale-count")
        shoot(seller, out, "6-tasks-stale-count", orientation)
        page.keyboard.press("Escape")

        seller.go("#/delivery")
        page.fill("#delivery-ref", "BL-2231")
        page.fill("#delivery-find", "bouilloire smeg")
        page.click(".pick >> nth=0")
        page.fill("#delivery-qty", "6")
        page.click("#delivery-add")
        page.wait_for_selector("#delivery-lines .line[data-state=done]")
        shoot(seller, out, "7-delivery", orientation)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots" / "tablet")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with demo_shop() as shop, chromium() as browser:
        key = shop.key("seller", "Tablette 1")
        prepare(shop, key, shop.key("seller", "Tablette 2"))
        for orientation in ("portrait", "landscape"):
            screens(browser, shop, key, args.out, orientation)
            customer_lingers(shop.app, "B4")  # the landscape tablet gets its own alert
    return 0


if __name__ == "__main__":
    sys.exit(main())
