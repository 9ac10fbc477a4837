"""'Le mois en un coup d'œil': the month's figures from what was recorded, the page (French,
links to the detailed reports, print CSS), the PDF and ``flask month-report``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pypdf import PdfReader

from store_api import db
from store_api.keys.models import Role
from store_api.shelves.models import HelpAlert
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.dashboard import login, plain
from tests.fixtures.sales import commit, hold, order, store_sale
from tests.fixtures.shop import add_product

NOVEMBER = {"month": "2026-11"}


def _pair_tablet(client: FlaskClient, keys: Keys) -> str:
    code = client.post(
        "/api/v1/tablets/pairing-codes",
        json={"name": "Tablette 1"},
        headers=keys.headers(Role.OWNER),
    ).get_json()["code"]
    paired = client.post("/api/v1/tablets/pair", json={"code": code})
    assert paired.status_code == 201, paired.get_json()
    return str(paired.get_json()["key"])


def _tablet_hold(client: FlaskClient, key: str, sku: str) -> str:
    response = client.post(
        "/api/v1/reservations",
        json={"sku": sku, "quantity": 1},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["id"])


def _help_alert(app: Flask, raised: dt.datetime, answered_after_s: int | None) -> None:
    session = db.new_session(app)
    with db.write(session):
        session.add(
            HelpAlert(
                store="lyon-1", zone="Z1", shelf="A", lane="A2", sku=None, dwell_s=60.0,
                raised_at=raised,
                acknowledged_at=None if answered_after_s is None
                else raised + dt.timedelta(seconds=answered_after_s),
            )
        )  # fmt: skip
    session.close()


@pytest.fixture
def november(app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock) -> Flask:
    """27 Nov 2026: a store sale, a web order, two tablet holds (one sold), a last unit both
    channels wanted, three help alerts."""
    add_product(app, "LL-1", {"floor": 5}, category="Lave-linge", price="1249.00")
    add_product(app, "AC-1", {"floor": 10}, category="Accessoires", price="19.99")
    add_product(app, "LAST-1", {"floor": 1}, category="Froid", price="899.00")
    store_sale(client, keys, "LL-1")
    order(client, keys, {"AC-1": 2})
    tablet = _pair_tablet(client, keys)
    sold = _tablet_hold(client, tablet, "LL-1")
    commit(client, keys, sold)
    _tablet_hold(client, tablet, "AC-1")  # still held: not a sale
    hold(client, keys, "LAST-1", 1, role=Role.WEBSHOP)
    refused = client.post(
        "/api/v1/reservations", json={"sku": "LAST-1", "quantity": 1},
        headers=keys.headers(Role.SELLER),
    )  # fmt: skip
    assert refused.get_json()["code"] == "insufficient_stock"
    too_many = client.post(
        "/api/v1/reservations", json={"sku": "LL-1", "quantity": 10},
        headers=keys.headers(Role.SELLER),
    )  # fmt: skip
    assert too_many.get_json()["code"] == "insufficient_stock"  # nobody else had them: not counted
    now = clock()
    _help_alert(app, now - dt.timedelta(hours=3), 40)
    _help_alert(app, now - dt.timedelta(hours=2), 200)
    _help_alert(app, now - dt.timedelta(hours=1), None)
    _help_alert(app, now - dt.timedelta(days=40), 10)  # October: not this month
    login(client, keys)
    return app


def test_the_month_page_in_french_with_each_figure(november: Flask, client: FlaskClient) -> None:
    response = client.get("/dashboard/month", query_string=NOVEMBER)

    text = plain(response.get_data(as_text=True))
    assert response.status_code == 200
    assert "<h1>Le mois en un coup d'œil : novembre 2026</h1>" in text
    assert "Du 1 novembre 2026 au 30 novembre 2026 ; le mois n'est pas encore terminé." in text
    # Store: the seller's sale and the tablet's sold hold; web: the order.
    assert "2 498,00 € (2 ventes, 2 unités)" in text
    assert "39,98 € (1 vente, 2 unités)" in text
    assert "2 537,98 €" in text
    # Tablets: two holds, one sold (50 %), at 1 249,00 €.
    assert '<dt>Réservations</dt><dd><a href="/dashboard/tablets">2</a></dd>' in text
    assert ">1 (50 %)</a>" in text
    # The last unit both channels wanted: the seller refused, the webshop had it.
    assert (
        "<dt>Refusées : l'autre canal les avait</dt><dd><a href=\"/dashboard/sales?"
        'from=2026-11-01&to=2026-11-30&by=day">1</a></dd>' in text
    )
    # Help: three alerts this month, two answered (40 s and 3 min 20 s), one nobody took.
    assert "<dt>Alertes</dt>" in text and ">3</a></dd>" in text
    assert "2 min 00 s" in text  # median of 40 s and 200 s
    assert "non disponible" in text  # reminders: not installed yet
    assert 'href="/dashboard/sales?from=2026-11-01&to=2026-11-30&by=channel"' in text
    assert (
        'href="/dashboard/reports/recommendations?from=2026-11-01&to=2026-11-30&group=day"' in text
    )


def test_the_month_in_english_on_request(november: Flask, client: FlaskClient) -> None:
    text = plain(
        client.get("/dashboard/month", query_string={**NOVEMBER, "lang": "en"}).get_data(
            as_text=True
        )
    )

    assert "<h1>The month at a glance: November 2026</h1>" in text
    assert "€2,498.00 (2 sales, 2 units)" in text


def test_a_month_with_nothing_shows_zeros_not_errors(november: Flask, client: FlaskClient) -> None:
    text = plain(client.get("/dashboard/month?month=2026-08").get_data(as_text=True))

    assert "<h1>Le mois en un coup d'œil : août 2026</h1>" in text
    assert "Du 1 août 2026 au 31 août 2026." in text
    assert "0,00 € (0 vente, 0 unité)" in text


@pytest.mark.parametrize("month", ["2026-13", "novembre", "26-11", "2026-11-01", "1999-01"])
def test_a_bad_month_is_a_french_422(november: Flask, client: FlaskClient, month: str) -> None:
    response = client.get("/dashboard/month", query_string={"month": month})

    assert response.status_code == 422
    assert "« Mois »" in plain(response.get_data(as_text=True))
    assert client.get("/dashboard/month.pdf", query_string={"month": month}).status_code == 422


def test_the_pdf_holds_the_same_figures(
    november: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    response = client.get("/dashboard/month.pdf", query_string=NOVEMBER)

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert 'filename="mois-2026-11.pdf"' in response.headers["Content-Disposition"]
    path = tmp_path / "month.pdf"
    path.write_bytes(response.data)
    words = " ".join(page.extract_text() for page in PdfReader(path).pages).replace("\xa0", " ")
    assert "Le mois en un coup d'œil : novembre 2026" in words
    assert "2 498,00 € (2 ventes, 2 unités)" in words
    assert "Dernières unités voulues par les deux canaux" in words


def test_month_report_command_prints_and_writes_a_pdf(
    november: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    out = tmp_path / "novembre.pdf"

    result = runner.invoke(args=["month-report", "--month", "2026-11", "--pdf", str(out)])

    assert result.exit_code == 0, result.output
    printed = result.output.replace("\u202f", " ").replace("\xa0", " ")
    assert "Le mois en un coup d'œil : novembre 2026" in printed
    assert "  Magasin : 2 498,00 € (2 ventes, 2 unités)" in printed
    assert "  Relances envoyées : non disponible" in printed
    assert out.read_bytes().startswith(b"%PDF-")
    english = runner.invoke(args=["month-report", "--month", "2026-11", "--lang", "en"])
    assert "  Store: €2,498.00 (2 sales, 2 units)" in english.output


def test_month_report_refuses_a_bad_month(november: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["month-report", "--month", "2026-13"])

    assert result.exit_code == 2
    assert "--month" in result.output
