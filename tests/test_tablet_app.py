"""The tablet app as served: shell, strict CSP, service worker, manifest, icons, texts."""

from __future__ import annotations

import gzip
import json
import re
import struct
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api.tablet import catalog, routes

STATIC = Path(routes.__file__).parent / "static"


def test_the_app_lives_at_tablet_slash(client: FlaskClient) -> None:
    response = client.get("/tablet")
    assert response.status_code == 308
    assert response.headers["Location"].endswith("/tablet/")


def test_the_shell_allows_no_inline_script_nor_style(client: FlaskClient) -> None:
    response = client.get("/tablet/")
    html = response.get_data(as_text=True)
    csp = response.headers["Content-Security-Policy"]
    assert response.status_code == 200
    assert "script-src 'self'" in csp and "style-src 'self'" in csp
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "connect-src 'self'" in csp  # the key only ever goes to this server
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "inline script"
    assert "<style" not in html and " style=" not in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-cache"
    assert '<html lang="fr"' in html


def test_every_module_is_preloaded_and_served_for_keeps(client: FlaskClient) -> None:
    html = client.get("/tablet/").get_data(as_text=True)
    version = routes.build().version
    preloaded = set(re.findall(r'rel="modulepreload" href="/tablet/v/[0-9a-f]+/([^"]+)"', html))
    modules = {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*.js") if p.name != "sw.js"}
    assert preloaded == modules  # one round trip for the whole app, not one per import level
    answer = client.get(f"/tablet/v/{version}/app.js")
    assert answer.status_code == 200
    assert answer.mimetype == "text/javascript"
    assert "immutable" in answer.headers["Cache-Control"]
    packed = client.get(f"/tablet/v/{version}/app.js", headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == answer.data
    assert packed.headers["ETag"] != answer.headers["ETag"]
    old = client.get("/tablet/v/0123456789abcdef/app.js")
    assert old.status_code == 200 and "immutable" not in old.headers["Cache-Control"]


@pytest.mark.parametrize(
    "path",
    [
        "/tablet/v/x/sw.js",
        "/tablet/v/x/../routes.py",
        "/tablet/v/x/nothing.js",
        "/tablet/i18n/de.json",
    ],
)
def test_unknown_files_are_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_the_service_worker_precaches_this_build(client: FlaskClient) -> None:
    response = client.get("/tablet/sw.js")
    source = response.get_data(as_text=True)
    version = routes.build().version
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/tablet/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "__VERSION__" not in source and "__PRECACHE__" not in source
    assert f'import {{ flush }} from "/tablet/v/{version}/queue.js"' in source
    precache = json.loads(re.search(r"const PRECACHE = (\[.*?\]);", source).group(1))
    assert f"/tablet/v/{version}/app.js" in precache
    assert f"/tablet/v/{version}/icons/icon-192.png" in precache
    assert {"/tablet/i18n/fr.json", "/tablet/i18n/en.json"} <= set(precache)
    for url in precache:
        assert client.get(url).status_code == 200, url
    assert (
        client.get("/tablet/sw.js", headers={"If-None-Match": response.headers["ETag"]}).status_code
        == 304
    )


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_manifest_makes_it_installable(client: FlaskClient) -> None:
    response = client.get("/tablet/manifest.webmanifest")
    manifest = response.get_json(force=True)
    assert response.mimetype == "application/manifest+json"
    assert manifest["start_url"] == "/tablet/" and manifest["scope"] == "/tablet/"
    assert manifest["display"] == "standalone" and manifest["lang"] == "fr"
    sizes = {}
    for icon in manifest["icons"]:
        data = client.get(icon["src"]).data
        sizes[(icon["sizes"], icon.get("purpose", "any"))] = _png_size(data)
    assert sizes == {
        ("192x192", "any"): (192, 192),
        ("512x512", "any"): (512, 512),
        ("512x512", "maskable"): (512, 512),
    }


def test_texts_are_french_by_default_and_english_on_request(client: FlaskClient) -> None:
    french = client.get("/tablet/i18n/fr.json").get_json()
    english = client.get("/tablet/i18n/en.json").get_json()
    assert french["locale"] == "fr"
    shop_words = {
        "Reserve": "Réserver",
        "In the stockroom": "En réserve",
        "Warehouse": "Entrepôt",
        "On the floor": "En rayon",
        "Customer needs help, aisle {shelf}": "Client à aider, rayon {shelf}",
        "I'm going": "J'y vais",
        "not current": "pas à jour",
    }
    for msgid, text in shop_words.items():
        assert french["messages"][msgid] == text
    assert french["messages"]["{n} available"][0] == "{n} disponible"
    assert english == {"locale": "en", "messages": {}}  # the msgids are English


def test_every_text_of_the_app_has_a_french_translation() -> None:
    from babel.messages.extract import extract_from_dir

    used = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(STATIC), [("**.js", "javascript")], keywords={"_": None, "ngettext": (1, 2)}
        )
    }
    french = catalog.messages("fr")
    assert len(used) > 150
    assert sorted(used - french.keys()) == []


def test_the_api_key_never_reaches_a_url_or_a_log(app: Flask) -> None:
    """The key is read from IndexedDB and sent only in the Authorization header."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in STATIC.rglob("*.js"))
    assert 'localStorage.setItem("key"' not in sources
    assert re.findall(r"Authorization: `Bearer \$\{key\}`", sources)
    assert "console.log" not in sources
    assert not re.search(r"[?&]key=", sources)


def test_the_first_load_fits_the_budget(client: FlaskClient) -> None:
    """Every module is preloaded: the first load is all of the JavaScript and the CSS."""
    version = routes.build().version
    total = 0
    for name in routes.build().files:
        if name.endswith((".js", ".css")):
            answer = client.get(f"/tablet/v/{version}/{name}", headers={"Accept-Encoding": "gzip"})
            total += len(answer.data)
    assert total <= 100 * 1024
