"""GET /t.js: what the webshop downloads on every page (its behaviour: tests/test_browser.py)."""

from __future__ import annotations

import gzip
import re

import pytest
from flask.testing import FlaskClient

from store_api.clickstream.tracker import SOURCE, minify

GZIP_BUDGET_BYTES = 3072


def test_tracker_is_javascript_cached_for_an_hour_with_an_etag(client: FlaskClient) -> None:
    response = client.get("/t.js")

    assert response.status_code == 200
    assert response.mimetype == "application/javascript"
    assert response.headers["Cache-Control"] in {"public, max-age=3600", "max-age=3600, public"}
    assert response.headers["ETag"]
    assert "Set-Cookie" not in response.headers
    assert b"/api/v1/collect" in response.data


def test_tracker_is_gzipped_for_clients_that_accept_it_and_under_3_kb(client: FlaskClient) -> None:
    response = client.get("/t.js", headers={"Accept-Encoding": "gzip, deflate, br"})

    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.data) < GZIP_BUDGET_BYTES
    assert gzip.decompress(response.data) == client.get("/t.js").data


def test_served_script_is_small_even_without_gzip(client: FlaskClient) -> None:
    plain = client.get("/t.js", headers={"Accept-Encoding": "identity"})

    assert "Content-Encoding" not in plain.headers
    assert len(gzip.compress(plain.data)) < GZIP_BUDGET_BYTES
    assert len(plain.data) < len(SOURCE.read_bytes())  # comments and indentation are stripped


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_matching_etag_revalidates_with_304(client: FlaskClient, encoding: str) -> None:
    first = client.get("/t.js", headers={"Accept-Encoding": encoding})

    again = client.get(
        "/t.js", headers={"Accept-Encoding": encoding, "If-None-Match": first.headers["ETag"]}
    )

    assert again.status_code == 304
    assert again.data == b""


def test_each_encoding_has_its_own_etag(client: FlaskClient) -> None:
    zipped = client.get("/t.js", headers={"Accept-Encoding": "gzip"})
    plain = client.get("/t.js", headers={"Accept-Encoding": "identity"})

    assert zipped.headers["ETag"] != plain.headers["ETag"]


@pytest.mark.parametrize("api", ["document.cookie", "localStorage", "sessionStorage", "indexedDB"])
def test_tracker_never_touches_cookies_or_browser_storage(client: FlaskClient, api: str) -> None:
    assert api not in SOURCE.read_text()
    assert api.encode() not in client.get("/t.js").data


@pytest.mark.parametrize("signal", ["globalPrivacyControl", "doNotTrack", "comptoirOptOut"])
def test_tracker_honours_privacy_signals(client: FlaskClient, signal: str) -> None:
    assert signal.encode() in client.get("/t.js").data


def test_minify_keeps_code_lines_and_drops_comments() -> None:
    source = (
        "// header\n(function () {\n    // why\n    var a = 1; // kept: not a full line\n})();\n"
    )

    assert minify(source) == "(function () {\nvar a = 1; // kept: not a full line\n})();\n"


def test_source_has_no_multiline_string_that_minify_would_break() -> None:
    # Stripping indentation is only safe without template literals spanning lines.
    assert not re.search(r"`[^`]*\n[^`]*`", SOURCE.read_text())
