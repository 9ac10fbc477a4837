"""'Le mois en un coup d'œil': the month's figures from what was recorded, the page (French,
links to the detailed reports, print CSS), the PDF and ``flask month-report``."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pypdf import PdfReader

from store_api import context, db
from store_api.keys.models import Role
from store_api.month import service
from store_api.reminders import report
from store_api.shelves.models import HelpAlert
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.dashboard import login, plain
from tests.fixtures.reminders import deliver, new_customer
from tests.fixtures.sales import commit, hold, order, store_sale
from tests.fixtures.shop import add_product
from tests.fixtures.smtp import smtp_server

NOVEMBER = {"month": "2026-11"}
NOVEMBER_DAYS = "from=2026-11-01&to=2026-11-30"


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """A mail server for the tests that send reminders (``settings`` parametrised "smtp")."""
    if getattr(request, "param", None) != "smtp":
        yield {}
        return
    with smtp_server() as (_inbox, url):
        yield {"SMTP_URL": url}


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
    # Reminders: none sent this month (their own test below).
    assert (
        f'<dt>Relances envoyées</dt><dd><a href="/dashboard/reminders?{NOVEMBER_DAYS}#benefit">'
        "0</a></dd>" in text
    )
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
    assert "  Relances envoyées : 0" in printed
    assert out.read_bytes().startswith(b"%PDF-")
    english = runner.invoke(args=["month-report", "--month", "2026-11", "--lang", "en"])
    assert "  Store: €2,498.00 (2 sales, 2 units)" in english.output


def test_month_report_refuses_a_bad_month(november: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["month-report", "--month", "2026-13"])

    assert result.exit_code == 2
    assert "--month" in result.output


def _reminded(app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock) -> None:
    """November: two customers get the held-item reminder; two days later Anne comes back and
    buys a second washing machine (749,00 €), Bruno does not."""
    add_product(app, "LL-BOS-1", {"backroom": 4}, name="Lave-linge Bosch", price="749.00")
    anne = new_customer(client, keys)
    bruno = new_customer(client, keys, name="Bruno Petit", email="bruno.petit@example.fr")
    for customer in (anne, bruno):
        held = client.post(
            "/api/v1/reservations",
            json={"sku": "LL-BOS-1", "quantity": 1, "customer_id": customer},
            headers=keys.headers(Role.SELLER),
        )
        assert held.status_code == 201, held.get_json()
    assert deliver(app).sent == 2
    clock.advance(days=2)
    again = client.post(
        "/api/v1/reservations",
        json={"sku": "LL-BOS-1", "quantity": 1, "customer_id": anne},
        headers=keys.headers(Role.SELLER),
    ).get_json()
    commit(client, keys, again["id"])
    login(client, keys)


def _relances_total(client: FlaskClient, days: str) -> list[str]:
    """The 'All reminders' row of the Relances page for these days: sent, came back, rate,
    revenue."""
    page = plain(client.get(f"/dashboard/reminders?{days}").get_data(as_text=True))
    row = re.search(r"<th>Toutes les relances</th>(.*?)</tr>", page, re.S)
    assert row, "the Relances page has no total row"
    return re.findall(r'<th class="num">([^<]*)</th>', row.group(1))


@pytest.mark.parametrize("settings", ["smtp"], indirect=True)
def test_the_month_shows_what_reminders_brought_as_the_relances_page_does(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, runner: FlaskCliRunner,
    tmp_path: Path,
) -> None:  # fmt: skip
    _reminded(app, client, keys, clock)

    month = plain(client.get("/dashboard/month", query_string=NOVEMBER).get_data(as_text=True))
    relances = _relances_total(client, NOVEMBER_DAYS)
    session = db.new_session(app)
    with app.app_context(), db.read(session):
        tz = context.policy().timezone
        figures = service.reminders(session, dt.date(2026, 11, 1), dt.date(2026, 11, 30), tz, 14)
        benefit = report.benefit(
            session, dt.date(2026, 11, 1), dt.date(2026, 11, 30), timezone=tz, comeback_days=14
        ).total
    session.close()

    # The Relances page for the same days: 2 sent, 1 came back (50,0 %), 749,00 €.
    assert relances == ["2", "1", "50,0 %", "749,00 €"]
    assert (figures.sent, figures.came_back, figures.revenue) == (
        benefit.sent, benefit.came_back, benefit.revenue,
    )  # fmt: skip
    link = f'<a href="/dashboard/reminders?{NOVEMBER_DAYS}#benefit">'
    section = month[month.index('<section class="card" id="reminders">') :]
    section = section[: section.index("</section>")]
    assert "<h2>Ce qu'ont apporté les relances</h2>" in section
    assert f"<dt>Relances envoyées</dt><dd>{link}{relances[0]}</a></dd>" in section
    assert f"<dt>Clients revenus</dt><dd>{link}{relances[1]} ({relances[2]})</a></dd>" in section
    assert f"<dt>Chiffre d'affaires</dt><dd>{link}{relances[3]}</a></dd>" in section
    assert "dans les 14 jours suivant une relance envoyée ce mois-ci" in section
    # The link opens the Relances page on the same days, which shows the same total.
    assert _relances_total(client, NOVEMBER_DAYS) == relances

    # The PDF and the command line say the same; in English too.
    pdf_path = tmp_path / "month.pdf"
    pdf_path.write_bytes(client.get("/dashboard/month.pdf", query_string=NOVEMBER).data)
    words = " ".join(p.extract_text() for p in PdfReader(pdf_path).pages).replace("\xa0", " ")
    assert "Ce qu'ont apporté les relances" in words
    assert "Clients revenus 1 (50,0 %)" in words and "749,00 €" in words
    printed = runner.invoke(args=["month-report", "--month", "2026-11"]).output
    printed = printed.replace("\u202f", " ").replace("\xa0", " ")
    assert "  Relances envoyées : 2\n  Clients revenus : 1 (50,0 %)\n" in printed
    assert "  Chiffre d'affaires : 749,00 €\n" in printed.split("Ce qu'ont apporté les relances")[1]
    english = plain(
        client.get("/dashboard/month", query_string={**NOVEMBER, "lang": "en"}).get_data(
            as_text=True
        )
    )
    assert "What the reminders brought" in english and "Customers who came back" in english
    assert ">1 (50.0 %)</a>" in english and ">€749.00</a>" in english


@pytest.mark.parametrize("settings", ["smtp"], indirect=True)
def test_reminders_count_in_the_month_they_were_sent(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    _reminded(app, client, keys, clock)

    for month, days in (("2026-10", "from=2026-10-01&to=2026-10-31"),
                        ("2026-12", "from=2026-12-01&to=2026-12-31")):  # fmt: skip
        text = plain(client.get(f"/dashboard/month?month={month}").get_data(as_text=True))
        assert _relances_total(client, days) == ["0", "0", "0,0 %", "0,00 €"]
        assert f'<a href="/dashboard/reminders?{days}#benefit">0</a>' in text
        assert f'<a href="/dashboard/reminders?{days}#benefit">0 (0,0 %)</a>' in text
        assert f'<a href="/dashboard/reminders?{days}#benefit">0,00 €</a>' in text
