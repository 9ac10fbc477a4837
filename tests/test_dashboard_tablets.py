"""The owner's "Tablets" page: list, pair (code and QR code), revoke after a confirmation.

Through the Flask client for every answer and refusal, and in Debian's Chromium for the whole
story (log in, pair, the tablet pairs through the API, revoke), with screenshots kept in the
test artifacts folder (docs/screenshots/ has the committed ones).
"""

from __future__ import annotations

import html
import os
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from store_api.dashboard.tablets import qr_svg
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.browser import chromium
from tests.servers import LiveServer

ROOT = Path(__file__).resolve().parents[1]


def text_of(response: Any) -> str:
    """The page's text as a person reads it (entities such as &#39; decoded)."""
    return html.unescape(response.get_data(as_text=True))


def login(client: FlaskClient, keys: Keys) -> None:
    response = client.post("/dashboard/login", data={"key": keys[Role.OWNER]})
    assert response.status_code == 303


def token(client: FlaskClient, path: str = "/dashboard/tablets") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', text_of(client.get(path)))
    assert match, "no form token on the page"
    return match.group(1)


def create_code(client: FlaskClient, name: str = "") -> Any:
    return client.post(
        "/dashboard/tablets/pairing-codes", data={"name": name, "csrf_token": token(client)}
    )


def shown_code(html: str) -> str:
    match = re.search(r'<p class="code"[^>]*>(\d{3}) (\d{3})</p>', html)
    assert match, "no code on the page"
    return match.group(1) + match.group(2)


def pair(client: FlaskClient, code: str, device: str = "Chrome 131, Android 14") -> Any:
    return client.post("/api/v1/tablets/pair", json={"code": code, "device": device})


def test_the_page_needs_the_owner_login(client: FlaskClient) -> None:
    response = client.get("/dashboard/tablets")

    assert response.status_code == 302
    assert "/dashboard/login" in response.headers["Location"]


def test_the_page_is_french_and_says_when_no_tablet_is_paired(
    client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)

    page = client.get("/dashboard/tablets")

    html = text_of(page)
    assert page.status_code == 200
    assert "Tablettes des vendeurs" in html
    assert "Appairer une tablette" in html
    assert "Aucune tablette n'est appairée pour l'instant" in html
    assert 'aria-current="page">Tablettes</a>' in html
    assert "<script" not in html and "style=" not in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_a_new_code_is_shown_once_with_the_qr_code_of_its_pair_url(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)

    page = create_code(client, "  Tablette   caisse ")

    html = text_of(page)
    code = shown_code(html)
    url = f"http://localhost/tablet/#pair={code}"
    assert page.status_code == 200
    assert "Appairer « Tablette caisse »" in html
    assert f'href="{url}"' in html
    assert "Valable une seule fois, jusqu'à 10:40 (10 minutes)." in html  # 09:40 UTC in Lyon
    # The QR code drawn is the one of this code's pair URL.
    assert str(qr_svg(url, "QR code pour appairer la tablette « Tablette caisse »")) in html
    assert "<script" not in html and "style=" not in html
    assert page.headers["Cache-Control"] == "no-store"
    paired = pair(client, code)
    assert paired.status_code == 201
    assert paired.get_json()["name"] == "Tablette caisse"


def test_paired_tablets_are_listed_with_their_device_and_last_check_in(
    client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)
    pair(client, shown_code(text_of(create_code(client))))

    html = text_of(client.get("/dashboard/tablets"))

    assert "Tablette 1" in html
    assert "Chrome 131, Android 14" in html
    assert "27/11/2026 10:30" in html  # paired and last seen, in Lyon time
    assert "Révoquer…" in html


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("x" * 61, 422, "Un nom compte au plus 60 caractères."),
        ("Tablette\x07", 422, "Un nom ne peut pas contenir de retour à la ligne"),
        ("Tablette 1", 409, "s'appelle déjà « Tablette 1 »"),
    ],
    ids=["too long", "control character", "taken"],
)
def test_a_bad_name_is_explained_in_french_and_no_code_is_made(
    client: FlaskClient, keys: Keys, name: str, status: int, message: str
) -> None:
    login(client, keys)
    create_code(client)  # a pending "Tablette 1"

    page = create_code(client, name)

    html = text_of(page)
    assert page.status_code == status
    assert message in html
    assert 'aria-invalid="true"' in html
    assert '<p class="code"' not in html


def test_a_form_without_its_token_is_refused(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)

    page = client.post("/dashboard/tablets/pairing-codes", data={"name": "Tablette"})

    assert page.status_code == 400
    assert "Ce formulaire a expiré" in text_of(page)


def test_revoking_asks_first_then_logs_the_tablet_out(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)
    paired = pair(client, shown_code(text_of(create_code(client, "Rayon froid"))))
    tablet_id, key = paired.get_json()["tablet_id"], paired.get_json()["key"]

    confirm = client.get(f"/dashboard/tablets/{tablet_id}/revoke")
    still_in = client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    done = client.post(f"/dashboard/tablets/{tablet_id}/revoke", data={"csrf_token": token(client)})
    listed = text_of(client.get(done.headers["Location"]))

    assert "Révoquer « Rayon froid » ?" in text_of(confirm)
    assert still_in.status_code == 200  # asking changes nothing
    assert done.status_code == 303
    assert "« Rayon froid » est révoquée" in listed
    assert "Tablettes révoquées" in listed
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 401
    again = text_of(client.get(f"/dashboard/tablets/{tablet_id}/revoke"))
    assert "Cette tablette a déjà été révoquée" in again


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_tablet_is_a_french_404(client: FlaskClient, keys: Keys, method: str) -> None:
    login(client, keys)
    data = {"csrf_token": token(client)} if method == "post" else None

    page = getattr(client, method)("/dashboard/tablets/999/revoke", data=data)

    assert page.status_code == 404
    assert "Tablette introuvable" in text_of(page)


def test_the_page_speaks_english_on_request(client: FlaskClient, keys: Keys) -> None:
    login(client, keys)

    html = text_of(client.get("/dashboard/tablets?lang=en"))

    assert "Sellers' tablets" in html
    assert "Pair a tablet" in html


# --- in a real browser ---------------------------------------------------------------------------


def _artifacts_dir() -> Path:
    path = Path(os.environ.get("COMPTOIR_TEST_ARTIFACTS") or ROOT / "tests" / "artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.mark.http
def test_the_owner_pairs_and_revokes_a_tablet_in_a_browser(
    keys: Keys, live_server: LiveServer
) -> None:
    problems: list[str] = []
    shots = _artifacts_dir()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.goto(f"{live_server.url}/dashboard/login?next=/dashboard/tablets")
        page.fill("#key", keys[Role.OWNER])
        page.click("button[type=submit]")
        page.wait_for_selector("h1:has-text('Tablettes des vendeurs')")

        page.fill("#tablet-name", "Tablette caisse")
        page.click("text=Créer un code d'appairage")
        page.wait_for_selector("p.code")
        code = page.inner_text("p.code").replace(" ", "")
        pair_link = page.get_attribute("a.pair-url", "href")
        qr_box = page.locator("svg.qr").bounding_box()
        page.screenshot(path=str(shots / "dashboard-tablets-code.png"), full_page=True)
        page.set_viewport_size({"width": 800, "height": 1280})
        page.screenshot(path=str(shots / "dashboard-tablets-code-portrait.png"), full_page=True)
        page.set_viewport_size({"width": 1280, "height": 800})

        # The tablet pairs with the code it was shown (the app does this from the link).
        paired = requests.post(
            f"{live_server.url}/api/v1/tablets/pair",
            json={"code": code, "device": "Chrome 131, Android 14"},
            timeout=30,
        )
        page.click("text=Retour aux tablettes")
        page.wait_for_selector("td.name:has-text('Tablette caisse')")
        page.screenshot(path=str(shots / "dashboard-tablets.png"), full_page=True)

        page.click("text=Révoquer…")
        page.wait_for_selector("h1:has-text('Révoquer « Tablette caisse » ?')")
        page.screenshot(path=str(shots / "dashboard-tablets-revoke.png"), full_page=True)
        page.click("button:has-text('Révoquer la tablette')")
        page.wait_for_selector("p.notice")
        notice = page.inner_text("p.notice")

    assert re.fullmatch(r"\d{6}", code)
    assert pair_link == f"{live_server.url}/tablet/#pair={code}"
    assert qr_box is not None and qr_box["width"] >= 200  # big enough to scan across a counter
    assert paired.status_code == 201, paired.text
    assert "« Tablette caisse » est révoquée" in notice
    me = requests.get(
        f"{live_server.url}/api/v1/me",
        headers={"Authorization": f"Bearer {paired.json()['key']}"},
        timeout=30,
    )
    assert me.status_code == 401
    assert problems == []  # no CSP violation, no missing asset
