"""The interactive API documentation works offline: vendored Swagger UI lists every operation."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests
from flask.testing import FlaskClient

from tests.fixtures.browser import chromium
from tests.servers import LiveServer

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def test_the_docs_page_and_its_assets_are_served_by_comptoir(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    body = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert "<script>" not in body  # no inline script
    for asset in (
        "/api/docs/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/api/docs/static/vendor/swagger-ui/swagger-ui.css",
        "/api/docs/static/start.js",
    ):
        assert asset in body
        with client.get(asset) as response:
            assert response.status_code == 200, asset
            assert len(response.get_data()) > 100
    assert 'data-spec-url="/api/v1/openapi.json"' in body


@pytest.mark.http
def test_a_browser_lists_every_operation_without_the_internet(live_server: LiveServer) -> None:
    spec = requests.get(f"{live_server.url}/api/v1/openapi.json", timeout=10).json()
    operations = sum(
        1 for item in spec["paths"].values() for method in item if method in HTTP_METHODS
    )
    served = urlsplit(live_server.url).netloc
    elsewhere: list[str] = []
    problems: list[str] = []

    with chromium() as browser:
        page = browser.new_page()
        page.on(
            "request", lambda r: urlsplit(r.url).netloc in (served, "") or elsewhere.append(r.url)
        )
        page.on("console", lambda m: m.type == "error" and problems.append(m.text))
        page.goto(f"{live_server.url}/api/docs")
        page.wait_for_selector(".opblock", timeout=20_000)
        shown = page.locator(".opblock").count()
        title = page.locator(".info .title").inner_text()

    assert shown == operations
    assert "Comptoir API" in title
    assert elsewhere == []  # nothing from a CDN
    assert problems == []  # no CSP violation, no failed asset
