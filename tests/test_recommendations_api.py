"""Recommendations through HTTP: trained on the shop's own sales, in stock only, with reasons.

The shop below is small on purpose: two Bosch-compatible washer accessories bought with a
Bosch washer, a TV mount bought with a TV, one accessory since retired and one sold out.
Sales go through the stock services (store sales) and the orders API (web orders), and the
model is trained with the real CLI command.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from store_api import db
from store_api.catalog import service as catalog
from store_api.keys.models import Role
from store_api.recommendations import service
from store_api.recommendations.routes import warm_up
from store_api.shelves.models import Lane
from store_api.stock import service as stock
from store_api.stock.models import Channel
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.servers import start_gunicorn, stop_gunicorn

WASHER = "LL-BOS-WAN28-BL"
WASHER_BLACK = "LL-BOS-WAN28-NR"
OTHER_WASHER = "LL-SAM-WW90-BL"
SOLD_OUT_WASHER = "LL-LG-F94-BL"
TV = "TV-SAM-QE55-NR"
STACKING_KIT = "AC-BOS-WTZ27400-BL"
FEET = "AC-XAV-AVF4"
RETIRED = "AC-OLD-HOSE"
SOLD_OUT = "AC-WPR-DES100"
TV_MOUNT = "AC-MEL-SS400S-NR"
NEW_ACCESSORY = "AC-WPR-AVM100"

FALLBACK = "Parmi les meilleures ventes du rayon {}"


def product_url(sku: str) -> str:
    return f"/api/v1/products/{sku}/recommendations"


CONTEXT = "/api/v1/recommendations"


def washer_accessory(app: Flask, sku: str, units: int, name: str, **attributes: Any) -> str:
    return add_product(
        app,
        sku,
        {"floor": units // 2, "warehouse": units - units // 2},
        name=name,
        category="Accessoires",
        price="19.90",
        attributes={"compatible_avec": ["Lave-linge", "Sèche-linge"], **attributes},
    )


@pytest.fixture
def shop(app: Flask) -> None:
    for sku, brand, units in (
        (WASHER, "Bosch", {"floor": 1, "warehouse": 30}),
        (WASHER_BLACK, "Bosch", {"warehouse": 3}),
        (OTHER_WASHER, "Samsung", {"floor": 2, "warehouse": 30}),
        (SOLD_OUT_WASHER, "LG", {}),
    ):
        add_product(app, sku, units, name=f"Lave-linge hublot {brand} 8 kg", brand=brand)
    add_product(
        app,
        TV,
        {"warehouse": 10},
        name="TV QLED Samsung 55 pouces",
        category="Téléviseurs",
        brand="Samsung",
    )
    washer_accessory(
        app, STACKING_KIT, 20, "Kit de superposition Bosch", marques=["Bosch", "Siemens"]
    )
    washer_accessory(app, FEET, 30, "Pieds anti-vibration pour lave-linge")
    washer_accessory(app, RETIRED, 10, "Tuyau d'arrivée d'eau")
    add_product(
        app,
        SOLD_OUT,
        {"warehouse": 2},
        name="Détartrant",
        category="Accessoires",
        price="9.99",
        attributes={"compatible_avec": ["Lave-linge", "Lave-vaisselle"]},
    )
    add_product(
        app,
        TV_MOUNT,
        {"floor": 5, "warehouse": 5},
        name="Support mural TV",
        category="Accessoires",
        price="49.90",
        attributes={"compatible_avec": ["Téléviseurs"]},
    )


def sell_in_store(
    app: Flask, clock: FrozenClock, skus: list[str], seller: str = "Tablet 1"
) -> None:
    """A seller's visit: one reservation per product, committed a minute apart."""
    policy = app.extensions["comptoir_policy"]
    session = db.new_session(app)
    with db.write(session):
        for sku in skus:
            held = stock.reserve(
                session,
                sku=sku,
                quantity=1,
                channel=Channel.STORE,
                location=None,
                ttl_seconds=None,
                note=None,
                actor=seller,
                now=clock(),
                policy=policy,
            )
            stock.commit_reservation(
                session, held.id, actor=seller, reference=None, now=clock(), policy=policy
            )
            clock.advance(minutes=1)
    session.close()
    clock.advance(hours=1)  # the next customer


def order_online(client: FlaskClient, keys: Keys, clock: FrozenClock, skus: list[str]) -> None:
    response = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": sku, "quantity": 1} for sku in skus]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": uuid.uuid4().hex}),
    )
    assert response.status_code == 201, response.json
    clock.advance(hours=1)


def deactivate(app: Flask, sku: str, clock: FrozenClock) -> None:
    session = db.new_session(app)
    with db.write(session):
        catalog.deactivate_product(session, sku, now=clock())
    session.close()


@pytest.fixture
def sales(app: Flask, shop: None, client: FlaskClient, keys: Keys, clock: FrozenClock) -> None:
    for _ in range(4):
        sell_in_store(app, clock, [WASHER, STACKING_KIT, FEET])
    for _ in range(3):
        sell_in_store(app, clock, [WASHER, RETIRED], seller="Tablet 2")
    for _ in range(2):
        sell_in_store(app, clock, [WASHER, SOLD_OUT])  # sells its last units
    for _ in range(3):
        order_online(client, keys, clock, [OTHER_WASHER, FEET])
    for _ in range(3):
        order_online(client, keys, clock, [TV, TV_MOUNT])
    deactivate(app, RETIRED, clock)


def train(runner: FlaskCliRunner) -> str:
    result = runner.invoke(args=["recommender", "train"])
    assert result.exit_code == 0, result.output
    return result.output


def recommend(
    client: FlaskClient,
    keys: Keys,
    sku: str,
    role: Role = Role.SELLER,
    **params: Any,
) -> dict[str, Any]:
    response = client.get(product_url(sku), query_string=params, headers=keys.headers(role))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def skus_of(body: dict[str, Any]) -> list[str]:
    return [item["sku"] for item in body["items"]]


def category_of(app: Flask, sku: str) -> str:
    session = db.new_session(app)
    with db.read(session):
        category = catalog.get_product(session, sku).category
    session.close()
    return category


# --- training ------------------------------------------------------------------------


def test_train_reports_what_it_learned_from_and_where_the_model_is(
    app: Flask, sales: None, runner: FlaskCliRunner
) -> None:
    output = train(runner)

    # 9 store visits + 6 web orders; 10 products in the catalogue, 8 of them sold.
    assert (
        "15 basket(s), 8 product(s) sold, 0 webshop visit(s) that viewed products, "
        "10 product(s) in the catalogue." in output
    )
    directory = Path(app.instance_path) / "recommender"
    version = service.current_version(directory)
    assert version is not None and version in output
    assert (directory / "versions" / version / "model.joblib").is_file()
    assert (directory / "versions" / version / "model.json").is_file()


def test_a_sellers_commits_within_30_minutes_are_one_basket(
    app: Flask, shop: None, clock: FrozenClock
) -> None:
    policy = app.extensions["comptoir_policy"]
    session = db.new_session(app)
    with db.write(session):
        for sku, seller, minutes_later in (
            (WASHER, "Tablet 1", 0),
            (FEET, "Tablet 2", 1),  # another seller, another customer
            (STACKING_KIT, "Tablet 1", 20),
            (TV, "Tablet 1", 45),  # 65 minutes after this seller's visit began: a new one
        ):
            held = stock.reserve(
                session,
                sku=sku,
                quantity=1,
                channel=Channel.STORE,
                location=None,
                ttl_seconds=None,
                note=None,
                actor=seller,
                now=clock.advance(minutes=minutes_later),
                policy=policy,
            )
            stock.commit_reservation(
                session, held.id, actor=seller, reference=None, now=clock(), policy=policy
            )
    with db.read(session):
        data = service.training_data(session)
    session.close()

    assert sorted(map(list, data.baskets)) == sorted([[WASHER, STACKING_KIT], [FEET], [TV]])
    assert data.items[WASHER_BLACK].family == data.items[WASHER].family == "LL-BOS-WAN28"
    assert data.items[TV].family == "TV-SAM-QE55"
    assert "Bosch" in data.items[STACKING_KIT].text and "Siemens" in data.items[STACKING_KIT].text


# --- serving -------------------------------------------------------------------------


def test_complements_of_a_washer_are_accessories_that_fit_in_stock_with_reasons(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    train(runner)

    body = recommend(client, keys, WASHER, kind="complements", limit=5)

    assert body["kind"] == "complements" and body["skus"] == [WASHER]
    assert body["model_version"] is not None
    # The kit made for Bosch washers first, then the feet for any washer; never a washer,
    # the retired or the sold-out accessory.
    assert skus_of(body) == [STACKING_KIT, FEET]
    kit, feet = body["items"]
    assert kit["reason"] == "Compatible avec ce lave-linge Bosch"
    assert (kit["reason_code"], kit["tier"]) == ("compatible", "compatible")
    assert kit["reason_params"]["brand"] == "Bosch"
    assert kit["reasons"][0] == {
        "code": "compatible",
        "params": kit["reason_params"],
        "text": "Compatible avec ce lave-linge Bosch",
    }
    assert feet["reason"] == "Compatible avec ce lave-linge"
    for item in body["items"]:
        assert item["available"] > 0
        assert sum(at["available"] for at in item["available_at"]) == item["available"]
        assert item["currency"] == "EUR" and item["price"] == "19.90"
    assert kit["score"] > feet["score"]


@pytest.mark.parametrize(
    ("query", "headers", "expected"),
    [
        ({}, {}, "Compatible avec ce lave-linge Bosch"),
        ({"lang": "en"}, {}, "Compatible with this Bosch washing machine"),
        ({}, {"Accept-Language": "en-GB,en;q=0.9"}, "Compatible with this Bosch washing machine"),
        ({"lang": "fr"}, {"Accept-Language": "en"}, "Compatible avec ce lave-linge Bosch"),
        ({}, {"Accept-Language": "de-DE"}, "Compatible avec ce lave-linge Bosch"),
    ],
)
def test_reasons_speak_french_unless_english_is_asked_for(
    sales: None,
    runner: FlaskCliRunner,
    client: FlaskClient,
    keys: Keys,
    query: dict[str, str],
    headers: dict[str, str],
    expected: str,
) -> None:
    train(runner)

    got = client.get(
        product_url(WASHER),
        query_string={"limit": 1, **query},
        headers=keys.headers(Role.SELLER, **headers),
    )
    posted = client.post(
        CONTEXT + (f"?lang={query['lang']}" if "lang" in query else ""),
        json={"skus": [WASHER], "limit": 1},
        headers=keys.headers(Role.SELLER, **headers),
    )

    assert got.status_code == posted.status_code == 200, got.json
    assert got.json["items"][0]["reason"] == posted.json["items"][0]["reason"] == expected
    assert got.json["items"][0]["reason_code"] == "compatible"  # the code stays for clients


def test_an_unknown_language_is_422_naming_it(shop: None, client: FlaskClient, keys: Keys) -> None:
    response = client.get(
        product_url(WASHER), query_string={"lang": "de"}, headers=keys.headers(Role.SELLER)
    )

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"lang"}


def put_on_shelf(app: Flask, sku: str, shelf: str, units: int | None) -> None:
    session = db.new_session(app)
    with db.write(session):
        session.add(
            Lane(
                store=app.config["STORE_ID"],
                shelf=shelf,
                lane="1",
                sku=sku,
                unit_weight_g=200.0,
                capacity=10,
                tolerance_g=20.0,
                units_on_shelf=units,
            )
        )
    session.close()


def test_a_seller_hears_which_shelf_holds_it(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    put_on_shelf(app, STACKING_KIT, "B", 3)
    put_on_shelf(app, FEET, "C", 0)  # its lane is empty: not said
    train(runner)

    seller = recommend(client, keys, WASHER, limit=2)
    webshop = recommend(client, keys, WASHER, role=Role.WEBSHOP, limit=2)

    kit, feet = seller["items"]
    assert [r["text"] for r in kit["reasons"]] == [
        "Compatible avec ce lave-linge Bosch",
        "En stock au rayon B",
    ]
    assert kit["reasons"][1] == {
        "code": "on_shelf",
        "params": {"shelf": "B"},
        "text": "En stock au rayon B",
    }
    assert [r["code"] for r in feet["reasons"]] == ["compatible"]
    assert all(r["code"] != "on_shelf" for i in webshop["items"] for r in i["reasons"])


def test_a_warranty_is_offered_without_stock_and_a_consumable_after_the_accessories(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    add_product(
        app,
        "AC-CPT-EG3",
        {},
        name="Extension de garantie 3 ans",
        category="Accessoires",
        price="49.00",
        attributes={"compatible_avec": ["Lave-linge"], "prix_appareil_max": 500, "service": True},
    )
    add_product(
        app,
        "AC-WPR-DES200",
        {"floor": 4},
        name="Détartrant lave-linge",
        category="Accessoires",
        price="9.90",
        attributes={"compatible_avec": ["Lave-linge"]},
    )
    train(runner)

    body = recommend(client, keys, WASHER, limit=10)

    assert skus_of(body) == [STACKING_KIT, FEET, "AC-WPR-DES200", "AC-CPT-EG3"]
    assert [i["tier"] for i in body["items"]] == [
        "compatible",
        "compatible",
        "consumable",
        "service",
    ]
    warranty = body["items"][-1]
    assert (warranty["available"], warranty["available_at"]) == (0, [])
    assert warranty["reason"] == "Service conseillé pour ce lave-linge"
    assert body["items"][2]["reason"] == "Consommable pour ce lave-linge"


def test_consumables_of_a_product_for_reminders(
    app: Flask, sales: None, runner: FlaskCliRunner
) -> None:
    add_product(
        app,
        "AC-WPR-DES200",
        {"warehouse": 4},
        name="Détartrant lave-linge",
        category="Accessoires",
        price="9.90",
        attributes={"compatible_avec": ["Lave-linge"]},
    )
    train(runner)
    policy = app.extensions["comptoir_policy"]
    holder = service.holder_for(Path(app.instance_path) / "recommender")
    session = db.new_session(app)
    with db.read(session):
        found = service.consumables_for(session, WASHER, limit=5, policy=policy, holder=holder)
        untrained = service.consumables_for(session, WASHER, limit=5, policy=policy, holder=None)
    session.close()

    for answer in (found, untrained):
        assert [i.sku for i in answer.items] == ["AC-WPR-DES200"]
        assert answer.items[0].reason == "Consommable pour ce lave-linge"


def test_a_product_with_no_history_gets_fitting_best_sellers(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    train(runner)

    body = recommend(client, keys, WASHER_BLACK, kind="complements")

    # Never sold: what the catalogue says fits it (never the TV mount), the Bosch kit first.
    assert skus_of(body) == [STACKING_KIT, FEET]
    assert [item["reason"] for item in body["items"]] == [
        "Compatible avec ce lave-linge Bosch",
        "Compatible avec ce lave-linge",
    ]


def test_alternatives_of_a_sold_out_product_are_in_stock_products_of_its_category(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    train(runner)

    body = recommend(client, keys, SOLD_OUT_WASHER, kind="alternatives", limit=10)

    found = skus_of(body)
    assert set(found) == {WASHER, WASHER_BLACK, OTHER_WASHER}
    assert all(item["available"] > 0 and item["reason"] for item in body["items"])
    assert {category_of(app, sku) for sku in found} == {"Lave-linge"}


def browse(client: FlaskClient, clock: FrozenClock, visitor: int, viewed: str, bought: str) -> None:
    """A webshop visit through the tracker's endpoint: looks at one washer, buys another."""
    at = clock().timestamp() * 1000
    item = {"item_category": "Lave-linge", "price": 499.0, "quantity": 1}
    events = [
        {"name": "view_item", "params": {"items": [{"item_id": viewed, **item}]}},
        {"name": "view_item", "params": {"items": [{"item_id": bought, **item}]}},
        {
            "name": "purchase",
            "params": {
                "value": 499.0,
                "currency": "EUR",
                "shipping": 0,
                "items": [{"item_id": bought, **item}],
            },
        },
    ]
    batch = [
        {"event_id": f"v{visitor}-{n}", "ts": at + n, "page": "https://shop.example/p", **event}
        for n, event in enumerate(events)
    ]
    response = client.post(
        "/api/v1/collect",
        json={"events": batch},
        headers={"User-Agent": f"Mozilla/5.0 (X11; Linux x86_64) Firefox/13{visitor}.0"},
    )
    assert response.status_code == 200 and response.json["accepted"] == 3, response.json


def test_webshop_visits_teach_what_customers_viewed_instead(
    app: Flask,
    sales: None,
    runner: FlaskCliRunner,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
) -> None:
    for visitor in range(3):
        browse(client, clock, visitor, viewed=SOLD_OUT_WASHER, bought=OTHER_WASHER)
    for visitor in range(3, 8):  # other visits bought the TV they looked at
        browse(client, clock, visitor, viewed=TV, bought=TV)

    assert "8 webshop visit(s) that viewed products" in train(runner)

    body = recommend(client, keys, SOLD_OUT_WASHER, kind="alternatives", limit=10)
    first = body["items"][0]
    assert first["sku"] == OTHER_WASHER
    assert first["reason"] == "Choisi à sa place par 3 visiteurs du site"
    assert (first["reason_code"], first["reason_params"]) == ("viewed_instead", {"visits": 3})


@pytest.mark.parametrize("trained", [True, False], ids=["model", "no-model"])
@pytest.mark.parametrize("kind", ["complements", "alternatives"])
def test_inactive_and_sold_out_products_never_appear(
    app: Flask,
    sales: None,
    runner: FlaskCliRunner,
    client: FlaskClient,
    keys: Keys,
    trained: bool,
    kind: str,
) -> None:
    if trained:
        train(runner)

    for sku in (WASHER, WASHER_BLACK, OTHER_WASHER, SOLD_OUT_WASHER, TV, FEET, STACKING_KIT):
        found = skus_of(recommend(client, keys, sku, kind=kind, limit=20))
        assert not {RETIRED, SOLD_OUT, SOLD_OUT_WASHER, sku} & set(found), (sku, found)


def test_without_a_model_best_sellers_answer_with_the_fallback_reason(
    app: Flask, sales: None, client: FlaskClient, keys: Keys
) -> None:
    complements = recommend(client, keys, WASHER, kind="complements")
    alternatives = recommend(client, keys, SOLD_OUT_WASHER, kind="alternatives")

    assert complements["model_version"] is None
    # What the catalogue says fits, the kit made for Bosch first; the retired and sold-out
    # ones go.
    assert skus_of(complements) == [STACKING_KIT, FEET]
    assert [i["reason_code"] for i in complements["items"]] == ["compatible", "compatible"]
    assert complements["items"][1]["reason"] == "Compatible avec ce lave-linge"
    assert skus_of(alternatives) == [WASHER, OTHER_WASHER]  # 9 sold, 3 sold
    assert {i["reason"] for i in alternatives["items"]} == {FALLBACK.format("Lave-linge")}
    assert alternatives["items"][0]["reason_params"] == {"category": "Lave-linge"}
    assert [i["score"] for i in alternatives["items"]] == [1.0, 0.5]


def test_the_model_is_loaded_before_the_first_request_and_never_by_one(
    app: Flask,
    sales: None,
    runner: FlaskCliRunner,
    client: FlaskClient,
    keys: Keys,
    caplog: pytest.LogCaptureFixture,
) -> None:
    train(runner)
    directory = Path(app.instance_path) / "recommender"
    holder = service.holder_for(directory)
    holder.forget()  # as if this worker had just started

    assert warm_up(app) == service.current_version(directory)  # gunicorn's post_worker_init
    assert "warm-up failed" not in caplog.text  # every warm-up call went through
    loads = holder.loads
    for _ in range(3):
        recommend(client, keys, WASHER)

    assert holder.loads == loads  # requests never loaded anything


def test_a_retrain_elsewhere_is_loaded_in_the_background_and_swapped_whole(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    train(runner)
    directory = Path(app.instance_path) / "recommender"
    holder = service.holder_for(directory)
    old = service.current_version(directory)
    assert old is not None
    # Another process (the nightly `flask recommender train`) publishes a new version.
    new = "29991231T000000000000-abcdef"
    shutil.copytree(directory / "versions" / old, directory / "versions" / new)
    service.publish(directory, new)

    first = recommend(client, keys, WASHER)  # answered at once, by the old model or the new
    holder.wait(timeout=60)
    after = recommend(client, keys, WASHER)

    assert first["model_version"] in {old, new}
    assert after["model_version"] == new
    assert holder.loaded_by == "recommender-model-load"  # not a request's thread


def test_a_gunicorn_worker_loads_the_model_before_it_takes_requests(
    app: Flask,
    sales: None,
    runner: FlaskCliRunner,
    keys: Keys,
    migrated: str,
    tmp_path: Path,
) -> None:
    train(runner)
    directory = Path(app.instance_path) / "recommender"
    version = service.current_version(directory)
    log = tmp_path / "gunicorn.log"

    server = start_gunicorn(
        migrated,
        log,
        workers=1,
        env={"COMPTOIR_RECOMMENDER_DIR": str(directory)},
        log_level="info",
        start_timeout=180,  # the worker loads the model first: slow on a loaded machine
    )
    try:
        # The readiness check (/healthz) got an answer: the worker had finished post_worker_init.
        ready = [
            line for line in log.read_text().splitlines() if "ready, recommender model" in line
        ]
        answer = server.get(product_url(WASHER), keys[Role.SELLER])
    finally:
        stop_gunicorn(server)

    assert ready and ready[0].endswith(f"recommender model {version}"), log.read_text()
    assert answer.status_code == 200
    assert answer.json()["model_version"] == version


def test_a_broken_artifact_is_ignored_and_best_sellers_answer(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    train(runner)
    directory = Path(app.instance_path) / "recommender"
    version = service.current_version(directory)
    assert version is not None
    (directory / "versions" / version / "model.json").write_text('{"format": "something else"}')
    service.holder_for(directory).forget()  # as if this worker started now

    body = recommend(client, keys, WASHER)

    assert body["model_version"] is None
    assert skus_of(body) == [STACKING_KIT, FEET]
    assert {i["reason_code"] for i in body["items"]} == {"compatible"}


def test_availability_is_listed_in_the_callers_pick_order(
    app: Flask, sales: None, client: FlaskClient, keys: Keys
) -> None:
    seller = recommend(client, keys, SOLD_OUT_WASHER, kind="alternatives")
    webshop = recommend(client, keys, SOLD_OUT_WASHER, role=Role.WEBSHOP, kind="alternatives")

    washer = {r["sku"]: r for r in seller["items"]}[OTHER_WASHER]
    assert washer["available_at"] == [
        {"location": "floor", "available": 2},
        {"location": "warehouse", "available": 27},
    ]
    assert washer["available_here"] is True  # on the floor: the seller can show it now
    online = {r["sku"]: r for r in webshop["items"]}[OTHER_WASHER]
    assert [at["location"] for at in online["available_at"]] == ["warehouse", "floor"]
    assert online["available_here"] is True


def test_a_basket_gets_what_goes_with_it_minus_what_is_in_it(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys
) -> None:
    train(runner)

    response = client.post(
        CONTEXT,
        json={"skus": [WASHER, STACKING_KIT], "kind": "complements", "limit": 3},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 200, response.json
    body = response.json
    assert body["skus"] == [WASHER, STACKING_KIT]
    assert skus_of(body) == [FEET]
    assert body["items"][0]["reason"]


@pytest.mark.parametrize("kind", ["alternatives", "next"])
def test_a_visit_context_gets_in_stock_products_of_the_last_category(
    app: Flask, sales: None, runner: FlaskCliRunner, client: FlaskClient, keys: Keys, kind: str
) -> None:
    train(runner)

    response = client.post(
        CONTEXT,
        json={"skus": [TV, SOLD_OUT_WASHER], "kind": kind},
        headers=keys.headers(Role.WEBSHOP),
    )

    assert response.status_code == 200, response.json
    found = skus_of(response.json)
    assert found and set(found) <= {WASHER, WASHER_BLACK, OTHER_WASHER}


def test_hot_swap_a_new_training_is_served_without_restarting(
    app: Flask,
    sales: None,
    runner: FlaskCliRunner,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
) -> None:
    train(runner)
    before = recommend(client, keys, OTHER_WASHER)
    washer_accessory(app, NEW_ACCESSORY, 40, "Tapis anti-vibration")
    for _ in range(6):
        sell_in_store(app, clock, [OTHER_WASHER, NEW_ACCESSORY])

    train(runner)
    after = recommend(client, keys, OTHER_WASHER)

    assert after["model_version"] != before["model_version"]
    assert NEW_ACCESSORY not in skus_of(before)
    assert skus_of(after)[0] == NEW_ACCESSORY
    assert [r["text"] for r in after["items"][0]["reasons"]] == [
        "Compatible avec ce lave-linge",
        "Souvent acheté avec (6 paniers)",
    ]
    directory = Path(app.instance_path) / "recommender"
    assert service.current_version(directory) == after["model_version"]


# --- errors and roles ----------------------------------------------------------------


def test_an_unknown_product_is_404(client: FlaskClient, keys: Keys) -> None:
    response = client.get(product_url("NOPE-1"), headers=keys.headers(Role.SELLER))

    assert response.status_code == 404
    assert response.json["code"] == "product_not_found"


def test_an_unknown_sku_in_a_basket_is_422_naming_it(
    shop: None, client: FlaskClient, keys: Keys
) -> None:
    response = client.post(
        CONTEXT, json={"skus": [WASHER, "NOPE-1"]}, headers=keys.headers(Role.SELLER)
    )

    assert response.status_code == 422
    assert response.json["code"] == "product_not_found"
    assert response.json["errors"] == {"skus": ["Unknown SKU 'NOPE-1'."]}


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"kind": "next"}, {"kind"}),
        ({"limit": 0}, {"limit"}),
        ({"limit": 21, "kind": "bogus"}, {"limit", "kind"}),
        ({"limt": 3}, {"limt"}),
    ],
)
def test_invalid_query_is_422_naming_fields(
    shop: None, client: FlaskClient, keys: Keys, params: dict[str, Any], fields: set[str]
) -> None:
    response = client.get(
        product_url(WASHER), query_string=params, headers=keys.headers(Role.SELLER)
    )

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == fields


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"skus"}),
        ({"skus": []}, {"skus"}),
        ({"skus": [f"SKU-{n}" for n in range(51)]}, {"skus"}),
        ({"skus": [WASHER], "kind": "bogus", "limit": "5"}, {"kind", "limit"}),
        ({"skus": [WASHER], "visitor": "x"}, {"visitor"}),
    ],
)
def test_invalid_context_is_422_naming_fields(
    shop: None, client: FlaskClient, keys: Keys, body: dict[str, Any], fields: set[str]
) -> None:
    response = client.post(CONTEXT, json=body, headers=keys.headers(Role.SELLER))

    assert response.status_code == 422
    assert set(response.json["errors"]) == fields


@pytest.mark.parametrize(
    ("role", "product", "context"),
    [
        (Role.ADMIN, 200, 200),
        (Role.OWNER, 200, 200),
        (Role.SELLER, 200, 200),
        (Role.WEBSHOP, 200, 200),
        (Role.DEVICE, 200, 403),  # a shelf label shows one suggestion; baskets are not its job
    ],
)
def test_roles(
    shop: None, client: FlaskClient, keys: Keys, role: Role, product: int, context: int
) -> None:
    got = client.get(product_url(WASHER), query_string={"limit": 1}, headers=keys.headers(role))
    posted = client.post(CONTEXT, json={"skus": [WASHER]}, headers=keys.headers(role))

    assert (got.status_code, posted.status_code) == (product, context)
    if context == 403:
        assert posted.json["code"] == "forbidden"


def test_no_key_is_401(client: FlaskClient) -> None:
    assert client.get(product_url(WASHER)).status_code == 401
    assert client.post(CONTEXT, json={"skus": [WASHER]}).status_code == 401


# --- the demo shop (make run) ----------------------------------------------------------


def test_the_demo_shop_gets_a_sales_history_once_and_suggestions_at_once(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    assert runner.invoke(args=["seed", "--no-keys"]).exit_code == 0
    first = runner.invoke(args=["seed-sales", "--visits", "150"])
    again = runner.invoke(args=["seed-sales"])
    train(runner)

    assert first.exit_code == 0 and "Demo sales history:" in first.output, first.output
    assert "already has sales" in again.output
    check = runner.invoke(args=["stock", "check"])
    assert check.exit_code == 0, check.output  # the history went through the ledger
    body = recommend(client, keys, "LL-SAM-WW90T534-BL", kind="complements")
    assert body["model_version"] is not None and body["items"]
    for item in body["items"]:
        assert item["category"] == "Accessoires", item
        assert item["reason"]
    # The store sales' accessories were suggested by the tablet: the report has a history.
    today = clock().date()
    report = client.get(
        f"/api/v1/recommendations/report?from={today - dt.timedelta(days=95)}&to={today}",
        headers=keys.headers(Role.OWNER),
    )
    assert report.status_code == 200, report.json
    rows = report.json["rows"]
    assert sum(row["accepted"] for row in rows) > 0
    assert sum(row["shown"] for row in rows) > sum(row["accepted"] for row in rows)
    assert 0 < sum(row["sold"] for row in rows) <= sum(row["accepted"] for row in rows)


def test_a_real_shop_gets_no_made_up_sales(app: Flask, shop: None, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["seed-sales"])

    assert result.exit_code == 0, result.output
    assert "not from the demo catalogue" in result.output
    session = db.new_session(app)
    with db.read(session):
        assert service.training_data(session).baskets == []
    session.close()


def test_the_fallback_keeps_the_models_price_rule() -> None:
    from recommender.complements import ComplementRecommender

    assert ComplementRecommender().price_ratio == service.PRICE_RATIO
