"""Search through HTTP: relevance, the index kept in step with the catalogue, suggestions,
synonyms, search counts, and whatever a person types never breaking anything."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from sqlalchemy import select

from store_api import create_app, db
from store_api.catalog import service as catalog
from store_api.keys.models import Role
from store_api.search.models import SearchDay
from tests.conftest import Keys
from tests.fixtures.shop import add_product

PRODUCTS = "/api/v1/products"
SUGGEST = "/api/v1/products/suggest"
SYNONYMS = "/api/v1/search/synonyms"


def skus(client: FlaskClient, keys: Keys, q: str, **params: Any) -> list[str]:
    response = client.get(
        PRODUCTS,
        query_string={"q": q, "page_size": 50, **params},
        headers=keys.headers(Role.SELLER),
    )
    assert response.status_code == 200, response.json
    return [item["sku"] for item in response.json["items"]]


@pytest.fixture
def kitchen(app: Flask) -> None:
    add_product(
        app,
        "RF-1",
        {"floor": 0},
        name="Réfrigérateur américain Samsung",
        category="Réfrigérateurs",
        brand="Samsung",
        colour="Inox",
        price="1499.00",
    )
    add_product(
        app,
        "RF-2",
        {"floor": 2},
        name="Réfrigérateur combiné Bosch",
        category="Réfrigérateurs",
        brand="Bosch",
        colour="Blanc",
        price="799.00",
    )
    add_product(
        app,
        "AC-1",
        {"floor": 9},
        name="Filtre à eau Samsung pour réfrigérateur américain",
        category="Accessoires",
        brand="Samsung",
        price="34.90",
        attributes={"compatible_avec": ["Réfrigérateurs"]},
    )
    add_product(
        app,
        "LV-1",
        {"floor": 1},
        name="Lave-vaisselle Whirlpool 14 couverts",
        category="Lave-vaisselle",
        brand="Whirlpool",
        price="449.00",
        gtin="2069000000029",
    )


# --- relevance -------------------------------------------------------------------------------


def test_fridges_come_before_what_mentions_fridges(
    kitchen: None, client: FlaskClient, keys: Keys
) -> None:
    found = skus(client, keys, "réfrigérateur")

    assert found == ["RF-1", "RF-2", "AC-1"]  # equal fridges by name, the filter last


def test_the_accessory_comes_first_when_asked_for(
    kitchen: None, client: FlaskClient, keys: Keys
) -> None:
    assert skus(client, keys, "filtre réfrigérateur")[0] == "AC-1"


def test_typos_plurals_and_hyphens(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    assert skus(client, keys, "whirpool") == ["LV-1"]
    assert skus(client, keys, "lavevaisselle") == ["LV-1"]
    assert skus(client, keys, "lave vaiselle") == ["LV-1"]
    assert skus(client, keys, "REFRIGERATEURS") == ["RF-1", "RF-2", "AC-1"]


def test_a_typo_gives_a_did_you_mean(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    page = client.get(
        PRODUCTS, query_string={"q": "lave vaiselle"}, headers=keys.headers(Role.SELLER)
    )
    exact = client.get(
        PRODUCTS, query_string={"q": "lave vaisselle"}, headers=keys.headers(Role.SELLER)
    )

    assert page.json["correction"] == "lave vaisselle"
    assert exact.json["correction"] is None


def test_a_full_gtin_finds_its_product(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    assert skus(client, keys, "2069000000029") == ["LV-1"]


def test_in_stock_boost_and_filter(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    plain = skus(client, keys, "samsung")
    boosted = skus(client, keys, "samsung", boost_in_stock="true")
    only = skus(client, keys, "réfrigérateur", in_stock="true")

    assert plain == ["RF-1", "AC-1"]  # equally relevant: the accessory after the appliance
    assert boosted == ["AC-1", "RF-1"]  # RF-1 has nothing available
    assert only == ["RF-2", "AC-1"]


def test_sort_orders_the_same_matches(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    assert skus(client, keys, "réfrigérateur", sort="price") == ["AC-1", "RF-2", "RF-1"]
    assert skus(client, keys, "réfrigérateur", sort="-price") == ["RF-1", "RF-2", "AC-1"]
    listed = client.get(
        PRODUCTS, query_string={"sort": "-price"}, headers=keys.headers(Role.SELLER)
    )
    assert [p["sku"] for p in listed.json["items"]] == ["RF-1", "RF-2", "LV-1", "AC-1"]


def test_filters_and_pages_apply_to_ranked_results(
    kitchen: None, client: FlaskClient, keys: Keys
) -> None:
    seller = keys.headers(Role.SELLER)
    first = client.get(
        PRODUCTS, query_string={"q": "réfrigérateur", "page_size": 2}, headers=seller
    )
    second = client.get(
        PRODUCTS, query_string={"q": "réfrigérateur", "page_size": 2, "page": 2}, headers=seller
    )

    assert [p["sku"] for p in first.json["items"]] == ["RF-1", "RF-2"]
    assert [p["sku"] for p in second.json["items"]] == ["AC-1"]
    assert first.json["total"] == second.json["total"] == 3
    assert skus(client, keys, "réfrigérateur", brand="SAMSUNG") == ["RF-1", "AC-1"]
    assert skus(client, keys, "samsung", category="accessoires") == ["AC-1"]
    assert "stock" in first.json["items"][0]


# --- the index follows the catalogue, in the same transaction -----------------------------------


def test_created_changed_and_retired_products_are_found_at_once(
    client: FlaskClient, keys: Keys
) -> None:
    owner = keys.headers(Role.OWNER)
    client.post(PRODUCTS, json={"sku": "K-1", "name": "Bouilloire", "price": "30"}, headers=owner)
    assert skus(client, keys, "bouilloire") == ["K-1"]

    client.patch(f"{PRODUCTS}/K-1", json={"name": "Théière électrique"}, headers=owner)
    assert skus(client, keys, "bouilloire") == []
    assert skus(client, keys, "theiere") == ["K-1"]

    client.delete(f"{PRODUCTS}/K-1", headers=owner)
    assert skus(client, keys, "theiere") == []
    assert skus(client, keys, "theiere", include_inactive="true") == ["K-1"]


def test_a_rolled_back_change_is_never_found(app: Flask, client: FlaskClient, keys: Keys) -> None:
    assert skus(client, keys, "bouilloire") == []  # the index is built before the change
    session = db.new_session(app)
    with pytest.raises(RuntimeError), db.write(session):
        catalog.create_product(
            session,
            {"sku": "K-1", "name": "Bouilloire", "price": 30},
            locations=["floor"],
            now=dt.datetime.now(dt.UTC),
        )
        raise RuntimeError("the caller changes its mind")
    session.close()

    assert skus(client, keys, "bouilloire") == []
    assert client.get(f"{PRODUCTS}/K-1", headers=keys.headers(Role.SELLER)).status_code == 404


@pytest.fixture
def second_worker(app: Flask, migrated: str) -> Iterator[FlaskClient]:
    """Another process would have its own index: another app, engine and cache."""
    other = create_app({"DATABASE_URL": migrated, "TESTING": True})
    yield other.test_client()
    db.engine_for(other).dispose()


def test_every_worker_sees_a_change_made_by_another(
    client: FlaskClient, second_worker: FlaskClient, keys: Keys
) -> None:
    owner, seller = keys.headers(Role.OWNER), keys.headers(Role.SELLER)
    assert (
        second_worker.get(PRODUCTS, query_string={"q": "bouilloire"}, headers=seller).json["total"]
        == 0
    )

    client.post(PRODUCTS, json={"sku": "K-1", "name": "Bouilloire", "price": "30"}, headers=owner)
    client.post(SYNONYMS, json={"term": "kettle", "synonyms": ["bouilloire"]}, headers=owner)

    for q in ("bouilloire", "kettle"):
        found = second_worker.get(PRODUCTS, query_string={"q": q}, headers=seller)
        assert [p["sku"] for p in found.json["items"]] == ["K-1"], q


def test_imported_products_are_found(
    runner: FlaskCliRunner, client: FlaskClient, keys: Keys, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.csv"
    with feed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sku", "name", "brand", "price"])
        writer.writerow(["GP-1", "Grille-pain 2 fentes", "Moulinex", "39.90"])
    assert skus(client, keys, "moulinex") == []

    result = runner.invoke(args=["catalog", "import", str(feed)])

    assert result.exit_code == 0, result.output
    assert skus(client, keys, "grillepain moulinex") == ["GP-1"]


def test_reindex_reads_products_written_around_the_catalog_verbs(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "K-1", name="Bouilloire")
    assert skus(client, keys, "bouilloire") == ["K-1"]
    with db.engine_for(app).begin() as conn:
        conn.exec_driver_sql("UPDATE products SET name = 'Théière' WHERE sku = 'K-1'")

    result = runner.invoke(args=["search", "reindex"])

    assert result.exit_code == 0, result.output
    assert skus(client, keys, "theiere") == ["K-1"]


# --- suggestions ---------------------------------------------------------------------------------


def test_suggest_gives_products_categories_and_brands_for_a_prefix(
    kitchen: None, client: FlaskClient, keys: Keys
) -> None:
    response = client.get(SUGGEST, query_string={"q": "réfrig"}, headers=keys.headers(Role.WEBSHOP))

    assert response.status_code == 200, response.json
    assert response.json == {
        "query": "réfrig",
        "products": [
            {
                "sku": "RF-1",
                "name": "Réfrigérateur américain Samsung",
                "brand": "Samsung",
                "category": "Réfrigérateurs",
                "price": "1499.00",
                "image_url": None,
            },
            {
                "sku": "RF-2",
                "name": "Réfrigérateur combiné Bosch",
                "brand": "Bosch",
                "category": "Réfrigérateurs",
                "price": "799.00",
                "image_url": None,
            },
            {
                "sku": "AC-1",
                "name": "Filtre à eau Samsung pour réfrigérateur américain",
                "brand": "Samsung",
                "category": "Accessoires",
                "price": "34.90",
                "image_url": None,
            },
        ],
        "categories": [{"name": "Réfrigérateurs", "count": 2}, {"name": "Accessoires", "count": 1}],
        "brands": [{"name": "Samsung", "count": 2}, {"name": "Bosch", "count": 1}],
        "correction": None,
    }


def test_suggest_limits_and_corrects(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    seller = keys.headers(Role.SELLER)
    one = client.get(SUGGEST, query_string={"q": "sam", "limit": 1}, headers=seller).json
    typo = client.get(SUGGEST, query_string={"q": "whirpool "}, headers=seller).json
    nothing = client.get(SUGGEST, query_string={"q": "x"}, headers=seller).json

    assert [p["sku"] for p in one["products"]] == ["RF-1"]
    assert one["brands"] == [{"name": "Samsung", "count": 2}]
    assert typo["correction"] == "whirlpool"
    assert [p["sku"] for p in typo["products"]] == ["LV-1"]
    assert nothing == {
        "query": "x",
        "products": [],
        "categories": [],
        "brands": [],
        "correction": None,
    }


def test_suggest_hides_retired_products(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, "K-1", name="Bouilloire", active=False)

    found = client.get(SUGGEST, query_string={"q": "bouil"}, headers=keys.headers(Role.SELLER))

    assert found.json["products"] == [] and found.json["categories"] == []


# --- synonyms ------------------------------------------------------------------------------------


def test_an_owner_manages_synonyms_and_search_follows(
    kitchen: None, client: FlaskClient, keys: Keys
) -> None:
    owner = keys.headers(Role.OWNER)
    assert skus(client, keys, "frigo") == []

    created = client.post(
        SYNONYMS, json={"term": "Frigo", "synonyms": ["réfrigérateur"]}, headers=owner
    )
    assert created.status_code == 201, created.json
    assert skus(client, keys, "frigo") == ["RF-1", "RF-2", "AC-1"]

    synonym_id = created.json["id"]
    changed = client.patch(
        f"{SYNONYMS}/{synonym_id}", json={"synonyms": ["lave-vaisselle"]}, headers=owner
    )
    assert changed.json["synonyms"] == ["lave-vaisselle"]
    assert skus(client, keys, "frigo") == ["LV-1"]

    listed = client.get(SYNONYMS, headers=owner).json
    assert [(s["term"], s["synonyms"]) for s in listed] == [("Frigo", ["lave-vaisselle"])]
    assert client.get(f"{SYNONYMS}/{synonym_id}", headers=owner).json["term"] == "Frigo"

    assert client.delete(f"{SYNONYMS}/{synonym_id}", headers=owner).status_code == 204
    assert skus(client, keys, "frigo") == []
    assert client.get(f"{SYNONYMS}/{synonym_id}", headers=owner).status_code == 404


def test_a_multi_word_synonym(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    owner = keys.headers(Role.OWNER)
    client.post(
        SYNONYMS,
        json={"term": "machine à vaisselle", "synonyms": ["lave-vaisselle"]},
        headers=owner,
    )

    assert skus(client, keys, "machine a vaisselle whirlpool") == ["LV-1"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"synonyms": ["réfrigérateur"]}, "term"),
        ({"term": "frigo"}, "synonyms"),
        ({"term": "", "synonyms": ["réfrigérateur"]}, "term"),
        ({"term": "de la", "synonyms": ["réfrigérateur"]}, "term"),
        ({"term": "frigo", "synonyms": []}, "synonyms"),
        ({"term": "frigo", "synonyms": ["!!!"]}, "synonyms"),
        ({"term": "frigo", "synonyms": ["a" * 101]}, "synonyms"),
        ({"term": "frigo", "synonyms": ["Réfrigérateur", "refrigerateurs"]}, "synonyms"),
        ({"term": "frigo", "synonyms": "réfrigérateur"}, "synonyms"),
        ({"term": "frigo", "synonyms": ["x"] * 21}, "synonyms"),
        ({"term": "frigo", "synonyms": ["réfrigérateur"], "two_way": True}, "two_way"),
    ],
)
def test_a_bad_synonym_is_a_422_naming_the_field(
    client: FlaskClient, keys: Keys, body: dict[str, Any], field: str
) -> None:
    response = client.post(SYNONYMS, json=body, headers=keys.headers(Role.OWNER))

    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert client.get(SYNONYMS, headers=keys.headers(Role.OWNER)).json == []


def test_the_same_term_twice_is_a_conflict(client: FlaskClient, keys: Keys) -> None:
    owner = keys.headers(Role.OWNER)
    client.post(SYNONYMS, json={"term": "Frigo", "synonyms": ["réfrigérateur"]}, headers=owner)
    other = client.post(SYNONYMS, json={"term": "aspi", "synonyms": ["aspirateur"]}, headers=owner)

    again = client.post(
        SYNONYMS, json={"term": "frigos", "synonyms": ["congélateur"]}, headers=owner
    )
    renamed = client.patch(f"{SYNONYMS}/{other.json['id']}", json={"term": "FRIGO"}, headers=owner)

    assert again.status_code == 409 and again.json["code"] == "synonym_already_exists"
    assert renamed.status_code == 409 and "term" in renamed.json["errors"]
    assert client.patch(f"{SYNONYMS}/999", json={"term": "x1"}, headers=owner).status_code == 404


# --- search counts for the owner ------------------------------------------------------------------


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"SEARCH_STATS_FLUSH_SECONDS": 0}


def counted(app: Flask) -> list[tuple[str, str, int, int, int, str | None]]:
    session = db.new_session(app)
    with db.read(session):
        rows = session.scalars(select(SearchDay).order_by(SearchDay.term, SearchDay.role)).all()
    session.close()
    return [
        (r.term, r.role, r.searches, r.no_result_searches, r.corrected_searches, r.correction)
        for r in rows
    ]


def test_searches_are_counted_without_anything_personal(
    app: Flask, kitchen: None, client: FlaskClient, keys: Keys
) -> None:
    for q in ("Frigo", "frigo ", "whirpool", "réfrigérateur"):
        skus(client, keys, q)
    skus(client, keys, "réfrigérateur", page=2)  # the next page is not another search
    client.get(
        PRODUCTS,
        query_string={"q": "mme martin 06 12 34 56 78"},
        headers=keys.headers(Role.WEBSHOP),
    )
    client.get(SUGGEST, query_string={"q": "fri"}, headers=keys.headers(Role.SELLER))  # keystrokes

    assert counted(app) == [
        ("frigo", "seller", 2, 2, 0, None),
        ("mme martin [phone]", "webshop", 1, 1, 0, None),
        ("refrigerateur", "seller", 1, 0, 0, None),
        ("whirpool", "seller", 1, 0, 1, "whirlpool"),
    ]


def test_api_searches_feed_the_site_search_report(
    app: Flask, kitchen: None, client: FlaskClient, keys: Keys, clock: Any
) -> None:
    for q in ("frigo", "frigo", "whirpool", "réfrigérateur"):
        skus(client, keys, q)
    day = clock().date().isoformat()

    report = client.get(
        "/api/v1/analytics/reports/site-search",
        query_string={"from": day, "to": day},
        headers=keys.headers(Role.OWNER),
    )
    filtered = client.get(
        "/api/v1/analytics/reports/site-search",
        query_string={"from": day, "to": day, "device": "mobile"},
        headers=keys.headers(Role.OWNER),
    )

    assert report.status_code == 200, report.json
    rows = {r["term"]: r for r in report.json["rows"]}
    assert list(rows) == ["frigo", "refrigerateur", "whirpool"]
    assert rows["frigo"]["api_searches"] == 2 and rows["frigo"]["api_no_result_searches"] == 2
    assert rows["frigo"]["searches"] == 0  # no webshop visitor searched it
    assert (rows["whirpool"]["corrected_searches"], rows["whirpool"]["correction"]) == (
        1,
        "whirlpool",
    )
    assert filtered.json["rows"] == []  # API searches have no device


# --- whatever is typed ---------------------------------------------------------------------------

NASTY = [
    "",
    " ",
    "a",
    "é",
    "x" * 200,
    "lave " * 40,
    "🧊❄️ frigo 🧊",
    "frigo\x00noir",
    '"lave linge"',
    "lave*",
    "NEAR(lave linge)",
    "lave -linge",
    "name:frigo",
    "(frigo OR tv) AND NOT bosch",
    "' OR 1=1 --",
    "%_%",
    "\\",
    "\u202e\u200b",
]


@pytest.mark.parametrize("q", NASTY)
def test_nothing_typed_breaks_search(
    kitchen: None, client: FlaskClient, keys: Keys, q: str
) -> None:
    seller = keys.headers(Role.SELLER)
    for url in (PRODUCTS, SUGGEST):
        response = client.get(url, query_string={"q": q}, headers=seller)
        # NUL anywhere in a URL is refused up front (400) by the API, like every endpoint.
        assert response.status_code in (200, 400, 422), (url, q, response.status_code)
        if response.status_code == 422:
            assert "q" in response.json["errors"]


def test_a_query_over_200_characters_is_a_422_naming_q(client: FlaskClient, keys: Keys) -> None:
    for url in (PRODUCTS, SUGGEST):
        response = client.get(url, query_string={"q": "x" * 201}, headers=keys.headers(Role.SELLER))
        assert response.status_code == 422
        assert set(response.json["errors"]) == {"q"}


def test_syntax_characters_are_plain_text(kitchen: None, client: FlaskClient, keys: Keys) -> None:
    assert skus(client, keys, '"whirlpool"') == ["LV-1"]
    assert skus(client, keys, "(samsung) filtre*") == ["AC-1"]
    assert skus(client, keys, "samsung AND filtre") == []  # "and" is a word like any other
    # No operators: "-" does not exclude, both words must match.
    assert skus(client, keys, "bosch -réfrigérateur") == ["RF-2"]


@hypothesis_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(q=st.text(st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_text_gives_an_answer_never_a_crash(
    kitchen: None, client: FlaskClient, keys: Keys, q: str
) -> None:
    for url in (PRODUCTS, SUGGEST):
        response = client.get(url, query_string={"q": q}, headers=keys.headers(Role.SELLER))
        assert response.status_code in (200, 400, 422), (q, response.status_code)


def test_a_search_result_is_the_product_as_read_alone(
    kitchen: None, client: FlaskClient, keys: Keys
) -> None:
    seller = keys.headers(Role.SELLER)
    client.patch(
        f"{PRODUCTS}/AC-1",
        json={"description": "Filtre d'origine.", "low_stock_threshold": 4},
        headers=keys.headers(Role.OWNER),
    )

    for sku, q in (("AC-1", "filtre"), ("LV-1", "2069000000029"), ("RF-1", "américain")):
        found = client.get(PRODUCTS, query_string={"q": q}, headers=seller).json["items"]
        alone = client.get(f"{PRODUCTS}/{sku}", headers=seller).json
        assert next(item for item in found if item["sku"] == sku) == alone
