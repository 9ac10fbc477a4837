"""The reports over HTTP (JSON, CSV, bad input) and the ``flask analytics`` commands.

Browsing goes through POST /api/v1/collect, as the tracker sends it; the frozen clock is set
to the time of each batch.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from store_api.keys.models import Role
from tests.conftest import ROOT, Keys
from tests.fixtures.browsing import MOBILE, START, Item, Shopper, collect, post, report
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

REPORTS = "/api/v1/analytics/reports"
RED = Item("LL-ACME-W8-RG", "Rouge", "Lave-linge", "549.00")
WHITE = Item("LL-ACME-W8-BL", "Blanc", "Lave-linge", "499.00")


@pytest.fixture
def shop(app: Flask) -> None:
    for item in (RED, WHITE):
        add_product(app, item.sku, name="=Lave-linge Acme W8", colour=item.variant or "")


def browse(client: FlaskClient, clock: FrozenClock, shopper: Shopper) -> None:
    clock.current = shopper.at
    response = post(client, shopper)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["rejected"] == []


def buyer() -> Shopper:
    s = Shopper(referrer="https://www.google.com/")
    s.view(RED).dwell(RED, 180).view(WHITE).dwell(WHITE, 20).add_to_cart(WHITE)
    s.fee_shown("19.90", "250.00", "300.00").checkout(WHITE).shipping("19.90", WHITE)
    return s.wait(minutes=3).purchase(WHITE, shipping="19.90", transaction_id="W-1")


def get(client: FlaskClient, keys: Keys, url: str, role: Role = Role.OWNER) -> Any:
    return client.get(url, headers=keys.headers(role))


def test_the_list_names_the_eight_reports_with_their_columns(
    client: FlaskClient, keys: Keys
) -> None:
    response = get(client, keys, REPORTS)

    assert response.status_code == 200
    listed = response.get_json()["reports"]
    assert [r["slug"] for r in listed] == [
        "looked-not-bought",
        "viewed-instead",
        "funnel",
        "delivery-fee",
        "time-to-purchase",
        "sources",
        "site-search",
        "recommendations",
    ]
    funnel = listed[2]
    assert funnel["filters"] == ["device", "source"]
    assert [c["key"] for c in funnel["columns"]] == [
        "device",
        "source",
        "visits",
        "product_view",
        "cart",
        "checkout",
        "shipping",
        "purchase",
    ]


def test_a_visit_just_collected_shows_in_the_report_without_a_rollup_run(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, shop: None
) -> None:
    browse(client, clock, buyer())
    clock.current = START.replace(hour=15)

    response = get(
        client, keys, f"{REPORTS}/viewed-instead?from=2026-11-27&to=2026-11-27&evidence=all"
    )

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["slug"], body["from"], body["to"], body["filters"]) == (
        "viewed-instead",
        "2026-11-27",
        "2026-11-27",
        {"evidence": "all"},
    )
    assert body["rows"] == [
        {
            "viewed_sku": RED.sku,
            "viewed_name": "=Lave-linge Acme W8",
            "viewed_variant": "Rouge",
            "bought_sku": WHITE.sku,
            "bought_name": "=Lave-linge Acme W8",
            "bought_variant": "Blanc",
            "visits": 1,
            "share": 1.0,
            "share_low": 0.2065,
            "significant": False,
            "median_dwell_s": 180.0,
            "colour_swap": True,
        }
    ]


def test_money_is_a_string_with_two_decimals_and_rates_are_fractions(
    client: FlaskClient, keys: Keys, clock: FrozenClock, shop: None
) -> None:
    browse(client, clock, buyer())
    browse(client, clock, Shopper(user_agent=MOBILE).view(RED))

    rows = get(client, keys, f"{REPORTS}/sources").get_json()["rows"]

    assert rows[0] == {
        "source": "google",
        "medium": "organic",
        "campaign": None,
        "visits": 1,
        "purchases": 1,
        "conversion_rate": 1.0,
        "revenue": "518.90",
        "average_basket": "518.90",
    }
    assert rows[1]["source"] == "direct"


def test_the_default_period_is_the_last_30_days(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    body = get(client, keys, f"{REPORTS}/funnel").get_json()

    assert (body["from"], body["to"]) == ("2026-10-29", "2026-11-27")
    only_to = get(client, keys, f"{REPORTS}/funnel?to=2026-11-10").get_json()
    assert (only_to["from"], only_to["to"]) == ("2026-10-12", "2026-11-10")


def test_csv_export_is_an_attachment_with_a_header_row(
    client: FlaskClient, keys: Keys, clock: FrozenClock, shop: None
) -> None:
    browse(client, clock, buyer())

    response = get(
        client, keys, f"{REPORTS}/looked-not-bought?from=2026-11-27&to=2026-11-27&format=csv"
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="looked-not-bought-2026-11-27-2026-11-27.csv"'
    )
    table = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert table[0] == [
        "sku",
        "name",
        "category",
        "views",
        "visits",
        "median_dwell_s",
        "cart_rate",
        "purchase_rate",
    ]
    # A name starting with "=" stays text in a spreadsheet.
    assert [row[:5] + row[6:] for row in table[1:]] == [
        [RED.sku, "'=Lave-linge Acme W8", "Lave-linge", "1", "1", "0.0", "0.0"],
        [WHITE.sku, "'=Lave-linge Acme W8", "Lave-linge", "1", "1", "1.0", "1.0"],
    ]


def test_csv_money_and_booleans(
    client: FlaskClient, keys: Keys, clock: FrozenClock, shop: None
) -> None:
    browse(client, clock, buyer())

    sources = get(client, keys, f"{REPORTS}/sources?format=csv").get_data(as_text=True)
    swaps = get(client, keys, f"{REPORTS}/viewed-instead?format=csv&evidence=all").get_data(
        as_text=True
    )

    assert sources.splitlines()[1] == "google,organic,,1,1,1.0,518.90,518.90"
    assert swaps.splitlines()[1].endswith(",1,1.0,0.2065,false,180.0,true")


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2026-11-27&to=2026-11-26", "to"),
        ("from=2025-10-01&to=2026-11-27", "to"),
        ("from=2026-12-01", "to"),  # after today, the default 'to'
        ("from=27/11/2026", "from"),
        ("to=tomorrow", "to"),
        ("format=xlsx", "format"),
        ("sort=views", "sort"),
        ("device=", "device"),
        ("group=day", "group"),  # recommendations only
        ("evidence=all", "evidence"),  # viewed-instead only
        ("evidence=some", "evidence"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    client: FlaskClient, keys: Keys, query: str, field: str
) -> None:
    response = get(client, keys, f"{REPORTS}/funnel?{query}")

    assert response.status_code == 422, response.get_json()
    body = response.get_json()
    assert body["code"] == "validation_error"
    assert field in body["errors"], body


def test_filters_a_report_does_not_have_are_refused(client: FlaskClient, keys: Keys) -> None:
    response = get(client, keys, f"{REPORTS}/recommendations?device=mobile")

    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == ["device"]
    assert get(client, keys, f"{REPORTS}/recommendations?group=day").status_code == 200


def test_an_unknown_report_is_a_404_envelope(client: FlaskClient, keys: Keys) -> None:
    response = get(client, keys, f"{REPORTS}/bounce-rate")

    assert response.status_code == 404
    body = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["code"] == "not_found"
    assert "funnel" in body["errors"]["slug"][0]


@pytest.mark.parametrize("role", [Role.SELLER, Role.WEBSHOP, Role.DEVICE])
def test_only_the_owner_and_admin_read_reports(client: FlaskClient, keys: Keys, role: Role) -> None:
    assert get(client, keys, f"{REPORTS}/funnel", role).status_code == 403
    assert get(client, keys, REPORTS, role).status_code == 403
    assert get(client, keys, f"{REPORTS}/funnel", Role.ADMIN).status_code == 200


# --- flask analytics ... --------------------------------------------------------------------


def test_rollup_command_folds_what_was_collected(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys, shop: None
) -> None:
    collect(app, buyer(), Shopper().view(RED))

    status_before = runner.invoke(args=["analytics", "status"])
    first = runner.invoke(args=["analytics", "rollup"])
    second = runner.invoke(args=["analytics", "rollup"])
    status_after = runner.invoke(args=["analytics", "status"])

    assert first.exit_code == 0, first.output
    assert "15 event(s) folded" in first.output
    assert "0 event(s) folded" in second.output
    assert "about 15 event(s) waiting" in status_before.output
    assert "Folded up to event #15" in status_after.output
    assert "about 0 event(s) waiting" in status_after.output
    funnel = get(client, keys, f"{REPORTS}/funnel?from=2026-11-27&to=2026-11-27")
    assert funnel.get_json()["rows"][0]["visits"] == 2


def test_rollup_rebuild_folds_everything_again(
    app: Flask, runner: FlaskCliRunner, shop: None
) -> None:
    collect(app, buyer())
    runner.invoke(args=["analytics", "rollup"])

    rebuilt = runner.invoke(args=["analytics", "rollup", "--rebuild"])

    assert rebuilt.exit_code == 0, rebuilt.output
    assert "Rollup tables emptied" in rebuilt.output
    assert "13 event(s) folded" in rebuilt.output
    assert report(app, "funnel")[0]["purchase"] == 1


def test_the_rollup_runs_in_the_procfile() -> None:
    procfile = (ROOT / "Procfile").read_text(encoding="utf-8")

    assert "analytics: flask --app store_api analytics rollup --every 30" in procfile.splitlines()
