"""The owner's Search page in a real browser (Debian's Chromium): add a synonym after a
refused one, see it listed, try a search; screenshots at tablet and desktop sizes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from store_api.keys.models import Role
from tests.conftest import ROOT, Keys
from tests.fixtures.browser import chromium
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

pytestmark = pytest.mark.http
ARTIFACTS = ROOT / "tests" / "artifacts"


@pytest.fixture
def backoffice(
    app: Flask, migrated: str, tmp_path: Path, runner: FlaskCliRunner
) -> Iterator[LiveServer]:
    seeded = runner.invoke(args=["seed", "--no-keys"])
    assert seeded.exit_code == 0, seeded.output
    server = start_gunicorn(
        migrated, tmp_path / "gunicorn.log", env={"COMPTOIR_SECRET_KEY": "search-" + "0" * 40}
    )
    yield server
    stop_gunicorn(server)


def test_the_owner_manages_synonyms_in_a_browser(backoffice: LiveServer, keys: Keys) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []  # script errors and CSP violations
    with chromium() as browser:
        for name, viewport in (
            ("tablet", {"width": 820, "height": 1180}),
            ("desktop", {"width": 1366, "height": 900}),
        ):
            context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
            page = context.new_page()
            page.on("pageerror", lambda error: problems.append(str(error)))
            # The refused form answers 422 on purpose; anything else in red is a problem.
            page.on(
                "console",
                lambda m: (
                    problems.append(m.text)
                    if m.type == "error" and "status of 422" not in m.text
                    else None
                ),
            )
            page.goto(f"{backoffice.url}/dashboard/search")
            page.fill("#key", keys[Role.OWNER])
            page.click("button[type=submit]")
            page.wait_for_selector("table.synonyms")
            assert page.locator("nav.pages [aria-current=page]").inner_text() == "Recherche"
            assert "frigo" in page.locator("table.synonyms").inner_text()

            term = f"congélo {name}"
            page.fill("#term", term)
            page.click("form.synonym-form button[type=submit]")  # no synonym given yet
            page.wait_for_selector("#synonyms-problem")
            assert (
                page.locator("#synonyms-problem").inner_text() == "Indiquez au moins un synonyme."
            )
            page.fill("#synonyms", "réfrigérateur, congélateur")
            page.click("form.synonym-form button[type=submit]")
            page.wait_for_selector("p.notice")
            assert term in page.locator("table.synonyms").inner_text()

            page.fill("#essai", "frigo americain")
            page.click("form.try-form button[type=submit]")
            page.wait_for_selector("ol.tried li")
            assert "Réfrigérateur américain" in page.locator("ol.tried li").first.inner_text()
            page.screenshot(path=str(ARTIFACTS / f"search-synonyms-{name}.png"), full_page=True)
            context.close()
    assert problems == []
