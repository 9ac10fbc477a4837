"""The owner's dashboard: login with an API key, report pages, charts data, CSV, bad input."""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import stat
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.analytics import reports
from store_api.dashboard import cards, webshop
from store_api.instance import instance_secret_key
from store_api.keys import service as keys_service
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

SLUGS = [
    "looked-not-bought",
    "viewed-instead",
    "funnel",
    "delivery-fee",
    "time-to-purchase",
    "sources",
    "site-search",
    "recommendations",
]
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
SHOP = "https://shop.example"


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"ANALYTICS_ORIGINS": [SHOP]}


def login(client: FlaskClient, key: str) -> Any:
    return client.post("/dashboard/login", data={"key": key})


def embedded(page: str) -> dict[str, Any]:
    """The chart configs embedded in a page, by chart id."""
    found = re.findall(r'<script type="application/json" id="data-([^"]+)">(.*?)</script>', page)
    return {chart_id: json.loads(body) for chart_id, body in found}


def collect(client: FlaskClient, clock: FrozenClock, events: list[dict[str, Any]]) -> None:
    ms = int(clock().timestamp() * 1000)
    batch = [
        {"event_id": str(uuid.uuid4()), "ts": ms + i * 1000, "page": f"{SHOP}/p/x", **event}
        for i, event in enumerate(events)
    ]
    response = client.post(
        "/api/v1/collect",
        data=json.dumps({"events": batch}),
        headers={"Content-Type": "text/plain", "User-Agent": BROWSER, "Origin": SHOP},
    )
    assert response.status_code < 300, response.get_data(as_text=True)
    assert response.get_json()["rejected"] == []


# --- login ---------------------------------------------------------------------------------


def test_login_form_is_a_page_with_a_password_field(client: FlaskClient) -> None:
    response = client.get("/dashboard/login")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert 'type="password"' in response.get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN])
def test_owner_key_logs_in_with_a_strict_http_only_cookie(
    client: FlaskClient, keys: Keys, role: Role
) -> None:
    response = login(client, keys[role])

    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/dashboard" in cookie
    assert client.get("/dashboard/").status_code == 200


@pytest.mark.parametrize("role", [Role.SELLER, Role.WEBSHOP, Role.DEVICE])
def test_other_roles_get_a_clear_403_page(client: FlaskClient, keys: Keys, role: Role) -> None:
    response = login(client, keys[role])

    assert response.status_code == 403
    assert response.mimetype == "text/html"
    assert "clé de gérant" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize("key", ["cpt_not-a-key", "", "x" * 500])
def test_unknown_key_shows_the_form_again_with_401(client: FlaskClient, key: str) -> None:
    response = login(client, key)

    assert response.status_code == 401
    assert "Clé inconnue ou révoquée" in response.get_data(as_text=True)
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(
    "path",
    ["/dashboard", "/dashboard/", "/dashboard/reports/funnel", "/dashboard/reports/funnel.csv"],
)
def test_pages_without_a_login_redirect_to_the_form(client: FlaskClient, path: str) -> None:
    response = client.get(path + "?from=2026-11-01")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login?next=")


def test_login_returns_to_the_page_asked_for_but_never_to_another_site(
    client: FlaskClient, keys: Keys
) -> None:
    back = client.post(
        "/dashboard/login", data={"key": keys[Role.OWNER], "next": "/dashboard/reports/funnel"}
    )
    away = client.post(
        "/dashboard/login", data={"key": keys[Role.OWNER], "next": "https://evil.example/"}
    )
    sneaky = client.post(
        "/dashboard/login", data={"key": keys[Role.OWNER], "next": "/dashboard//evil.example"}
    )

    assert back.headers["Location"] == "/dashboard/reports/funnel"
    assert away.headers["Location"] == "/dashboard/"
    assert sneaky.headers["Location"] == "/dashboard/"


def form_token(client: FlaskClient, path: str = "/dashboard/store") -> str:
    """The CSRF token a logged-in page puts in its forms."""
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no form token"
    return match.group(1)


def test_logout_ends_the_session(client: FlaskClient, keys: Keys) -> None:
    login(client, keys[Role.OWNER])

    response = client.post("/dashboard/logout", data={"csrf_token": form_token(client)})

    assert response.status_code == 303
    assert client.get("/dashboard/").status_code == 302


@pytest.mark.parametrize("token", [None, "", "forged"])
def test_a_form_without_the_session_token_is_refused(
    client: FlaskClient, keys: Keys, token: str | None
) -> None:
    login(client, keys[Role.OWNER])
    form_token(client)

    response = client.post("/dashboard/logout", data={} if token is None else {"csrf_token": token})

    assert response.status_code == 400
    assert "Ce formulaire a expiré" in response.get_data(as_text=True)
    assert client.get("/dashboard/store").status_code == 200  # still logged in


def test_revoking_the_key_logs_the_dashboard_out(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    login(client, keys[Role.OWNER])
    session = db.new_session(app)
    with db.write(session):
        key = keys_service.authenticate(session, keys[Role.OWNER])
        assert key is not None
        keys_service.revoke(session, key.id, clock())
    session.close()

    assert client.get("/dashboard/").status_code == 302


def test_a_login_expires_after_the_configured_hours(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    login(client, keys[Role.OWNER])
    clock.advance(hours=11)
    assert client.get("/dashboard/").status_code == 200

    clock.advance(hours=2)

    assert client.get("/dashboard/").status_code == 302


def test_secret_key_is_generated_once_into_the_instance_folder(tmp_path: Path) -> None:
    first = instance_secret_key(tmp_path)
    second = instance_secret_key(tmp_path)

    assert first == second
    assert len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_configured_secret_key_wins(app: Flask, client: FlaskClient, keys: Keys) -> None:
    app.config["SECRET_KEY"] = "from-the-environment-" + "x" * 20

    login(client, keys[Role.OWNER])

    assert app.config["SECRET_KEY"].startswith("from-the-environment-")
    assert not (Path(app.instance_path) / "secret_key").exists()


# --- pages ---------------------------------------------------------------------------------


def test_dashboard_shows_every_report_with_a_csv_link_and_a_strict_csp(
    client: FlaskClient, keys: Keys
) -> None:
    login(client, keys[Role.OWNER])

    response = client.get("/dashboard/")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for slug in SLUGS:
        assert f'id="{slug}"' in page
        assert f"/dashboard/reports/{slug}.csv?from=2026-10-29&amp;to=2026-11-27" in page
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["Cache-Control"] == "no-store"
    assert "<script>" not in page  # nothing inline: the CSP would block it


def test_empty_period_says_so_instead_of_drawing_empty_charts(
    client: FlaskClient, keys: Keys
) -> None:
    login(client, keys[Role.OWNER])

    page = client.get("/dashboard/?from=2020-01-01&to=2020-01-31").get_data(as_text=True)

    assert page.count("No data for this period") == len(SLUGS)
    assert embedded(page) == {}
    assert 'value="2020-01-01"' in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-13-01", "YYYY-MM-DD"),
        ("to=yesterday", "YYYY-MM-DD"),
        ("from=2026-1-1", "YYYY-MM-DD"),
        ("from=2026-11-20&to=2026-11-01", "on or after"),
        ("from=2020-01-01&to=2026-11-27", "at most"),
        ("device=" + "x" * 200, "too long"),
    ],
)
def test_bad_period_or_filter_is_a_422_page_not_a_500(
    client: FlaskClient, keys: Keys, query: str, message: str
) -> None:
    login(client, keys[Role.OWNER])

    for path in ("/dashboard/", "/dashboard/reports/funnel", "/dashboard/reports/funnel.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 422, path
        assert response.mimetype == "text/html"
        assert message in html.unescape(response.get_data(as_text=True))


def test_unknown_report_is_a_404_page(client: FlaskClient, keys: Keys) -> None:
    login(client, keys[Role.OWNER])

    for path in ("/dashboard/reports/nope", "/dashboard/reports/nope.csv"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.mimetype == "text/html"


@pytest.mark.parametrize("slug", SLUGS)
def test_csv_download_is_an_attachment_with_a_header_row(
    client: FlaskClient, keys: Keys, slug: str
) -> None:
    login(client, keys[Role.OWNER])

    response = client.get(f"/dashboard/reports/{slug}.csv?from=2026-11-01&to=2026-11-27")

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="{slug}_2026-11-01_2026-11-27.csv"'
    )
    assert response.get_data(as_text=True).splitlines()[0].count(",") >= 1


@pytest.mark.parametrize("slug", SLUGS)
def test_each_report_has_its_own_page(client: FlaskClient, keys: Keys, slug: str) -> None:
    login(client, keys[Role.OWNER])

    response = client.get(f"/dashboard/reports/{slug}")

    assert response.status_code == 200
    assert f"/dashboard/reports/{slug}.csv?" in response.get_data(as_text=True)


def test_collected_events_show_in_the_embedded_chart_data(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, "LL-7001", {"warehouse": 2}, name="Lave-linge Écume 8 kg", price="599.00")
    item = {"item_id": "LL-7001", "item_variant": "blanc", "item_category": "Lave-linge"}
    collect(
        client,
        clock,
        [
            {"name": "page_view", "referrer": "https://www.google.com/"},
            {"name": "view_item", "params": {"items": [{**item, "price": 599}]}},
            {"name": "engagement", "params": {"engaged_ms": 42_000, "items": [item]}},
            {"name": "add_to_cart", "params": {"items": [{**item, "price": 599}]}},
            {"name": "begin_checkout", "params": {"value": 599, "items": [item]}},
            {
                "name": "delivery_fee_shown",
                "params": {"fee": 29.9, "free_threshold": 800, "cart_value": 599},
            },
            {"name": "add_shipping_info", "params": {"shipping": 29.9, "items": [item]}},
            {
                "name": "purchase",
                "params": {
                    "value": 628.9,
                    "currency": "EUR",
                    "shipping": 29.9,
                    "transaction_id": "T-1",
                    "items": [{**item, "price": 599, "quantity": 1}],
                },
            },
            {"name": "search", "params": {"search_term": "sèche-linge", "search_results": 0}},
        ],
    )
    login(client, keys[Role.OWNER])

    page = client.get("/dashboard/").get_data(as_text=True)

    charts = embedded(page)
    looked = charts["looked-not-bought-0"]["data"]
    assert looked["skus"] == ["LL-7001"]
    assert looked["labels"] == [["LL-7001", "Lave-linge Écume 8 kg"]]
    assert looked["datasets"][0]["data"] == [1]
    funnel = charts["funnel-0"]["data"]["datasets"][0]["data"]
    assert funnel[0] == 1 and funnel[-1] == 1
    assert "site-search-0" in charts
    assert "seche-linge" in page  # terms are normalised: no accents, lower case
    assert 'class="flag"' in page  # the search that found nothing stands out


def test_product_names_from_supplier_feeds_are_escaped(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    name = "</script><script>alert(1)</script> & Co"
    add_product(app, "XSS-1", {"warehouse": 1}, name=name)
    item = {"item_id": "XSS-1", "price": 10}
    collect(client, clock, [{"name": "view_item", "params": {"items": [item]}}])
    login(client, keys[Role.OWNER])

    page = client.get("/dashboard/").get_data(as_text=True)

    assert "<script>alert(1)" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in page
    assert embedded(page)["looked-not-bought-0"]["data"]["labels"][0][1].startswith("</script>")


def test_funnel_filter_picks_the_device_row(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    collect(client, clock, [{"name": "page_view"}])
    login(client, keys[Role.OWNER])

    desktop = embedded(client.get("/dashboard/?device=desktop").get_data(as_text=True))
    mobile = client.get("/dashboard/?device=mobile").get_data(as_text=True)

    assert desktop["funnel-0"]["data"]["datasets"][0]["data"][0] == 1
    assert "funnel-0" not in embedded(mobile)
    assert "No visits match these filters" in mobile


# --- chart building, on made-up reports (no database) ---------------------------------------


def _report(slug: str, rows: list[dict[str, Any]]) -> reports.Report:
    return reports.Report(
        slug=slug,
        title=slug,
        description="",
        columns=list(reports.REPORTS[slug].columns),
        rows=rows,
        date_from=dt.date(2026, 11, 1),
        date_to=dt.date(2026, 11, 27),
    )


def test_delivery_fee_draws_one_chart_per_dimension_in_bucket_order() -> None:
    rows = [
        {"dimension": "fee", "bucket": "10-20 €", "bucket_order": 2, "visits": 5,
         "abandoned": 2, "abandonment_rate": 0.4},
        {"dimension": "fee", "bucket": "free", "bucket_order": 0, "visits": 10,
         "abandoned": 1, "abandonment_rate": 0.1},
        {"dimension": "distance_to_free", "bucket": "0-50 €", "bucket_order": 0, "visits": 3,
         "abandoned": 3, "abandonment_rate": 1.0},
    ]  # fmt: skip

    card = webshop.build_card(_report("delivery-fee", rows))

    fee, distance = (chart.config["data"] for chart in card.charts)
    assert fee["labels"] == ["free", "10-20 €"]
    assert fee["datasets"][0]["data"] == [10.0, 40.0]
    assert distance["datasets"][0]["data"] == [100.0]


def test_site_search_stacks_found_and_not_found_and_flags_rows() -> None:
    rows = [
        {"term": "hublot", "searches": 4, "no_result_searches": 0},
        {"term": "frigo rose", "searches": 3, "no_result_searches": 3},
    ]

    card = webshop.build_card(_report("site-search", rows))

    data = card.charts[0].config["data"]
    assert data["labels"] == ["hublot", "frigo rose"]
    assert [d["data"] for d in data["datasets"]] == [[4.0, 0.0], [0.0, 3.0]]
    assert card.highlighted == {1}


def test_site_search_adds_the_api_searches() -> None:
    rows = [
        {"term": "frigo", "searches": 1, "no_result_searches": 1, "api_searches": 5,
         "api_no_result_searches": 0},
        {"term": "lave vaiselle", "searches": 0, "no_result_searches": 0, "api_searches": 2,
         "api_no_result_searches": 2},
        {"term": "hublot", "searches": 3, "no_result_searches": 0},
    ]  # fmt: skip

    card = webshop.build_card(_report("site-search", rows))

    data = card.charts[0].config["data"]
    assert data["labels"] == ["frigo", "hublot", "lave vaiselle"]
    assert [d["data"] for d in data["datasets"]] == [[5.0, 3.0, 0.0], [1.0, 0.0, 2.0]]
    assert card.highlighted == {0, 1}


def test_viewed_instead_marks_colour_swaps() -> None:
    rows = [
        {"viewed_sku": "A", "viewed_name": "Frigo", "viewed_variant": "rouge", "bought_sku": "B",
         "bought_name": "Frigo", "bought_variant": "blanc", "visits": 2, "colour_swap": True},
        {"viewed_sku": "C", "viewed_name": "Four", "viewed_variant": None, "bought_sku": "D",
         "bought_name": "Four pyro", "bought_variant": None, "visits": 5, "colour_swap": False},
    ]  # fmt: skip

    card = webshop.build_card(_report("viewed-instead", rows))

    data = card.charts[0].config["data"]
    assert data["labels"] == [["Four", "→ Four pyro"], ["Frigo (rouge)", "→ Frigo (blanc)"]]
    assert data["datasets"][0]["backgroundColor"] == [cards.BLUE, cards.AMBER]


@pytest.mark.parametrize("slug", SLUGS)
def test_reports_without_rows_have_no_chart(slug: str) -> None:
    assert webshop.build_card(_report(slug, [])).empty


@pytest.mark.parametrize(
    ("value", "column", "shown"),
    [
        (0.125, reports.Column("cart_rate", "", "rate"), "12.5 %"),
        (Decimal("1234.50"), reports.Column("revenue", "", "money"), "1\u202f234.50 €"),
        (12345, reports.Column("views", "", "integer"), "12\u202f345"),
        (12.34, reports.Column("median_minutes", "", "minutes"), "12.3"),
        (True, reports.Column("colour_swap", "", "boolean"), "yes"),
        (None, reports.Column("purchase_rate", "", "rate"), "-"),
        ("<b>", reports.Column("name", "", "text"), "<b>"),  # Jinja escapes it later
    ],
)
def test_cells_are_formatted_by_column_kind(value: Any, column: reports.Column, shown: str) -> None:
    assert cards.format_cell(value, column) == shown
