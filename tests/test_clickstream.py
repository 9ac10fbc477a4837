"""POST /api/v1/collect through HTTP: batches, rejections, duplicates, visits, privacy, CORS.

The frozen clock says 2026-11-27 09:30 UTC; events are dated relative to it. Browsers are
played by the test client with a real browser's user agent and a socket address.
"""

from __future__ import annotations

import datetime as dt
import json
import typing
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, Text, cast, func, select

from store_api import db
from store_api.clickstream import service
from store_api.clickstream.models import ClickEvent, DailyCounter, Visit, VisitorSalt
from store_api.keys.models import Role
from store_api.recommendations.models import RecommendationEvent
from store_api.sqlcount import count_statements
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

COLLECT = "/api/v1/collect"
SHOP = "https://shop.example"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
IP = "198.51.100.23"
SKU = "LL-BOS-WAN28-BL"


class Events:
    """Numbered events at the clock's time (or ``at``), with their own ids."""

    def __init__(self, clock: FrozenClock) -> None:
        self.clock = clock
        self.n = 0

    def __call__(
        self,
        name: str,
        *,
        at: dt.datetime | None = None,
        page: str = f"{SHOP}/p/{SKU}",
        referrer: str | None = None,
        event_id: str | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        self.n += 1
        event: dict[str, Any] = {
            "event_id": event_id or f"ev-{self.n:04d}",
            "name": name,
            "ts": int((at or self.clock()).timestamp() * 1000),
            "page": page,
            "params": params,
        }
        if referrer is not None:
            event["referrer"] = referrer
        return event


@pytest.fixture
def ev(clock: FrozenClock) -> Events:
    return Events(clock)


def send(
    client: FlaskClient,
    events: list[Any] | None = None,
    *,
    body: Any = None,
    ua: str = CHROME,
    ip: str = IP,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Any:
    data = body if body is not None else json.dumps({"events": events})
    return client.post(
        COLLECT,
        data=data,
        content_type=content_type,
        headers={"User-Agent": ua, **(headers or {})},
        environ_base={"REMOTE_ADDR": ip},
    )


def rows(app: Flask, model: Any) -> list[Any]:
    session = db.new_session(app)
    with db.read(session):
        found = list(session.scalars(select(model)))
    session.close()
    return found


def stored_events(app: Flask) -> dict[str, ClickEvent]:
    return {e.event_id: e for e in rows(app, ClickEvent)}


def counters(app: Flask, clock: FrozenClock) -> dict[str, int]:
    session = db.new_session(app)
    with db.read(session):
        found = service.counters(session, clock().date())
    session.close()
    return found


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}, body
    assert (body["code"], body["status"]) == (code, status), body
    return body


# --- a good batch --------------------------------------------------------------------------


def test_a_visit_from_product_view_to_purchase_is_stored_event_by_event(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    item = {"item_id": SKU, "item_variant": "blanc", "item_category": "Lave-linge"}
    batch = [
        ev("page_view", referrer="https://www.google.fr/"),
        ev("view_item", items=[{**item, "price": 499.0}], value=499.0, currency="EUR"),
        ev("engagement", engaged_ms=42_000, scroll_depth=75, item=item),
        ev("add_to_cart", items=[{**item, "price": "499.00", "quantity": 1}]),
        ev("delivery_fee_shown", fee=19.9, free_threshold=500, cart_value=499),
        ev("add_shipping_info", shipping=19.9, value=518.9, currency="EUR"),
        ev(
            "purchase",
            page=f"{SHOP}/merci?order=A-1&email=jean@example.org",
            value=518.9,
            currency="EUR",
            shipping=19.9,
            transaction_id="A-1",
            items=[{**item, "price": 499, "quantity": 1}],
        ),
        ev("search", page=f"{SHOP}/recherche?q=x", search_term="  Lave LINGE ", search_results=4),
    ]

    response = send(client, batch)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "accepted": 8,
        "duplicates": 0,
        "rejected": [],
        "stored": True,
        "bot": False,
        "opted_out": False,
    }
    events = stored_events(app)
    assert [events[e["event_id"]].name for e in batch] == [e["name"] for e in batch]
    assert len({e.visit_id for e in events.values()}) == 1
    view = events["ev-0002"]
    assert (view.item_id, view.item_variant, view.item_category) == (SKU, "blanc", "Lave-linge")
    assert view.params == {"price": "499.00", "quantity": 1}
    assert view.occurred_at == clock()
    dwell = events["ev-0003"]
    assert (dwell.item_id, dwell.engaged_ms, dwell.scroll_depth) == (SKU, 42_000, 75)
    fee = events["ev-0005"]
    assert (fee.shipping, fee.value) == (Decimal("19.90"), Decimal("499.00"))
    assert fee.params == {"free_threshold": "500.00"}
    purchase = events["ev-0007"]
    assert (purchase.value, purchase.currency, purchase.shipping) == (
        Decimal("518.90"),
        "EUR",
        Decimal("19.90"),
    )
    assert purchase.page_path == "/merci"
    assert purchase.params["items"] == [
        {
            "item_id": SKU,
            "item_variant": "blanc",
            "item_category": "Lave-linge",
            "price": "499.00",
            "quantity": 1,
        }
    ]
    # The webshop's order number is kept only as a salted hash.
    assert purchase.params["transaction_id"] != "A-1"
    assert len(purchase.params["transaction_id"]) == 32
    assert (events["ev-0008"].search_term, events["ev-0008"].search_results) == ("lave linge", 4)
    [visit] = rows(app, Visit)
    assert (visit.source, visit.medium, visit.campaign) == ("google", "organic", None)
    assert (visit.device, visit.browser, visit.landing_path) == ("desktop", "chrome", f"/p/{SKU}")
    assert (visit.started_at, visit.last_at) == (clock(), clock())


def test_text_plain_bodies_from_send_beacon_are_accepted(
    app: Flask, client: FlaskClient, ev: Events
) -> None:
    response = send(client, [ev("page_view")], content_type="text/plain;charset=UTF-8")

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["accepted"] == 1
    assert len(stored_events(app)) == 1


@pytest.mark.parametrize(
    "ts",
    [
        pytest.param("2026-11-27T09:29:00Z", id="ISO with Z"),
        pytest.param("2026-11-27T10:29:00+01:00", id="ISO with offset"),
        pytest.param(1_795_771_740_000, id="ms epoch"),
        pytest.param(1_795_771_740_000.5, id="ms epoch with a fraction"),
    ],
)
def test_timestamps_are_ms_epoch_or_iso_8601(
    app: Flask, client: FlaskClient, ev: Events, ts: Any
) -> None:
    event = {**ev("page_view"), "ts": ts}

    response = send(client, [event])

    assert response.get_json()["accepted"] == 1, response.get_json()
    [stored] = rows(app, ClickEvent)
    assert stored.occurred_at.replace(microsecond=0) == dt.datetime(
        2026, 11, 27, 9, 29, tzinfo=dt.UTC
    )


def test_query_strings_lose_everything_but_utm_and_search_terms_lose_contacts(
    app: Flask, client: FlaskClient, ev: Events
) -> None:
    page = f"{SHOP}/c/lave-linge?utm_source=Newsletter&utm_campaign=noel&token=s3cr3t&m=a@b.fr#top"
    batch = [
        ev("page_view", page=page),
        ev("search", search_term="lave-linge jean.dupont@example.org 06 12 34 56 78"),
    ]

    assert send(client, batch).get_json()["accepted"] == 2

    events = stored_events(app)
    assert events["ev-0001"].page_path == "/c/lave-linge?utm_source=Newsletter&utm_campaign=noel"
    assert events["ev-0002"].search_term == "lave-linge [email] [phone]"
    [visit] = rows(app, Visit)
    assert (visit.source, visit.medium, visit.campaign) == ("newsletter", None, "noel")


# --- rejections, one event at a time ---------------------------------------------------------


def test_bad_events_are_rejected_by_index_and_the_good_ones_stored(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    good = ev("page_view")
    batch: list[Any] = [
        good,
        ev("page_seen"),
        ev("add_to_cart", items=[{"item_id": SKU, "quantity": "2"}]),
        ev("view_item", at=clock() + dt.timedelta(minutes=6), items=[{"item_id": SKU}]),
        ev("page_view", at=clock() - dt.timedelta(days=1, minutes=1)),
        "page_view",
        {k: v for k, v in ev("page_view").items() if k != "event_id"},
        ev("engagement", engaged_ms=-1, scroll_depth=101),
        ev("purchase", value="lots", currency="euro", items=[]),
        {**ev("page_view"), "ts": "2026-11-27T09:00:00"},
        {**ev("page_view"), "page": "javascript:alert(1)"},
        {**ev("page_view"), "colour": "blue"},
        ev("view_item"),
        ev("search", search_term="x\x00y"),
        ev("add_to_cart", items=[{"item_id": SKU, "quantity": 1000, "price": -1}]),
        ev("view_item", items=[{"item_id": SKU}]),
    ]

    response = send(client, batch)

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    rejected = {r["index"]: r["errors"] for r in body["rejected"]}
    assert rejected == {
        1: {"name": ["Unknown event name."]},
        2: {"params.items.0.quantity": ["Not a valid integer."]},
        3: {"ts": ["More than 5 minutes ahead of the server's clock."]},
        4: {"ts": ["More than 1 day old: too late to be counted."]},
        5: {"_schema": ["An event is a JSON object."]},
        6: {"event_id": ["Missing data for required field."]},
        7: {
            "params.engaged_ms": [
                "Must be greater than or equal to 0 and less than or equal to 86400000."
            ],
            "params.scroll_depth": [
                "Must be greater than or equal to 0 and less than or equal to 100."
            ],
        },
        8: {
            "params.value": ["Not a valid number."],
            "params.currency": ["Three capital letters (ISO 4217), e.g. EUR."],
            "params.items": ["Length must be between 1 and 200."],
        },
        9: {"ts": ["Give a time zone offset (e.g. 'Z')."]},
        10: {"page": ["An absolute http(s) URL or a path starting with '/'."]},
        11: {"colour": ["Unknown field."]},
        12: {"params.items": ["Give the product: items[0].item_id or item_id."]},
        13: {"params.search_term": ["NUL characters are not allowed."]},
        14: {
            "params.items.0.quantity": [
                "Must be greater than or equal to 1 and less than or equal to 999."
            ],
            "params.items.0.price": [
                "Must be greater than or equal to 0 and less than or equal to 1000000."
            ],
        },
    }
    assert set(stored_events(app)) == {good["event_id"], batch[15]["event_id"]}
    assert counters(app, clock) == {"rejected_events": 14}


def test_an_event_a_few_minutes_ahead_is_dated_on_arrival(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    response = send(client, [ev("page_view", at=clock() + dt.timedelta(minutes=4))])

    assert response.get_json()["accepted"] == 1
    assert rows(app, ClickEvent)[0].occurred_at == clock()


# --- duplicates --------------------------------------------------------------------------


def test_a_retried_batch_and_a_repeated_event_id_are_stored_once(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    first = ev("page_view")
    batch = [first, ev("view_item", items=[{"item_id": SKU}]), dict(first)]

    once = send(client, batch).get_json()
    clock.advance(hours=2)  # a retry long after: no empty visit either
    again = send(client, batch).get_json()

    assert (once["accepted"], once["duplicates"]) == (2, 1)
    assert (again["accepted"], again["duplicates"]) == (0, 3)
    assert len(rows(app, ClickEvent)) == 2
    assert len(rows(app, Visit)) == 1


# --- visits --------------------------------------------------------------------------------


def test_a_visit_is_cut_after_30_minutes_of_inactivity(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    send(client, [ev("page_view", referrer="https://www.bing.com/")])
    clock.advance(minutes=29)
    send(client, [ev("view_item", items=[{"item_id": SKU}])])
    clock.advance(minutes=30, seconds=1)
    send(client, [ev("page_view", referrer="https://duckduckgo.com/")])

    visits = sorted(rows(app, Visit), key=lambda v: v.started_at)
    events = stored_events(app)

    assert [(v.source, v.medium) for v in visits] == [
        ("bing", "organic"),
        ("duckduckgo", "organic"),
    ]
    first, second = visits
    assert first.last_at - first.started_at == dt.timedelta(minutes=29)
    assert events["ev-0001"].visit_id == events["ev-0002"].visit_id == first.id
    assert events["ev-0003"].visit_id == second.id


def test_a_batch_spanning_a_long_pause_makes_two_visits(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    start = clock() - dt.timedelta(hours=2)
    batch = [
        ev("page_view", at=start),
        ev("page_view", at=start + dt.timedelta(minutes=20)),
        ev("page_view", at=start + dt.timedelta(minutes=51)),
    ]

    send(client, batch)

    visits = sorted(rows(app, Visit), key=lambda v: v.started_at)
    assert [(v.started_at - start, v.last_at - start) for v in visits] == [
        (dt.timedelta(0), dt.timedelta(minutes=20)),
        (dt.timedelta(minutes=51), dt.timedelta(minutes=51)),
    ]


def test_visitors_are_told_apart_by_ip_and_user_agent_and_devices_by_family(
    app: Flask, client: FlaskClient, ev: Events
) -> None:
    send(client, [ev("page_view")])
    send(client, [ev("page_view")], ua=IPHONE)
    send(client, [ev("page_view")], ip="198.51.100.24")

    visits = rows(app, Visit)
    assert len({v.visitor for v in visits}) == 3
    assert sorted((v.device, v.browser) for v in visits) == [
        ("desktop", "chrome"),
        ("desktop", "chrome"),
        ("mobile", "safari"),
    ]


@pytest.mark.parametrize(
    ("page", "referrer", "expected"),
    [
        (f"{SHOP}/", None, ("direct", None, None)),
        (f"{SHOP}/", "https://www.google.com/", ("google", "organic", None)),
        (f"{SHOP}/", "https://www.qwant.com/?q=lave", ("qwant", "organic", None)),
        (f"{SHOP}/", "https://www.ecosia.org/search", ("ecosia", "organic", None)),
        (f"{SHOP}/", "https://l.facebook.com/l.php", ("facebook", "social", None)),
        (f"{SHOP}/", "https://blog.example.net/top-10", ("blog.example.net", "referral", None)),
        (
            f"{SHOP}/?utm_source=Meta&utm_medium=cpc&utm_campaign=soldes",
            None,
            ("meta", "cpc", "soldes"),
        ),
        (f"{SHOP}/p/x", f"{SHOP}/", ("direct", None, None)),
    ],
)
def test_a_visit_takes_its_source_from_its_first_event(
    app: Flask,
    client: FlaskClient,
    ev: Events,
    page: str,
    referrer: str | None,
    expected: tuple[str, str | None, str | None],
) -> None:
    send(
        client,
        [
            ev("page_view", page=page, referrer=referrer),
            ev("page_view", referrer="https://bing.com/"),
        ],
    )

    [visit] = rows(app, Visit)
    assert (visit.source, visit.medium, visit.campaign) == expected


def test_a_visit_cut_while_browsing_on_keeps_the_source_of_the_one_before(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    send(client, [ev("page_view", page=f"{SHOP}/?utm_source=newsletter&utm_medium=email")])
    clock.advance(minutes=45)
    send(client, [ev("page_view", page=f"{SHOP}/p/x", referrer=f"{SHOP}/")])

    visits = rows(app, Visit)
    assert [(v.source, v.medium) for v in visits] == [("newsletter", "email")] * 2


# --- robots and opt-outs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/131.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0) Chrome-Lighthouse",
        "curl/8.5.0",
        "python-requests/2.32.3",
        "",
    ],
)
def test_robots_are_counted_not_stored(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock, ua: str
) -> None:
    response = send(client, [ev("page_view"), ev("page_view")], ua=ua)

    assert response.status_code == 200
    body = response.get_json()
    assert (body["accepted"], body["stored"], body["bot"]) == (0, False, True)
    assert rows(app, ClickEvent) == rows(app, Visit) == []
    assert counters(app, clock) == {"bot_events": 2}


@pytest.mark.parametrize("header", ["Sec-GPC", "DNT"])
def test_global_privacy_control_and_do_not_track_store_nothing(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock, header: str
) -> None:
    send(client, [ev("page_view")], headers={header: "1"})
    response = send(client, [ev("page_view")] * 3, headers={header: "1"})

    assert response.status_code == 200
    body = response.get_json()
    assert (body["accepted"], body["stored"], body["opted_out"]) == (0, False, True)
    assert rows(app, ClickEvent) == rows(app, Visit) == rows(app, VisitorSalt) == []
    assert counters(app, clock) == {"opted_out_events": 4}


def test_dnt_0_is_not_an_opt_out(app: Flask, client: FlaskClient, ev: Events) -> None:
    assert send(client, [ev("page_view")], headers={"DNT": "0"}).get_json()["accepted"] == 1


# --- no IP address, no user agent, anywhere ----------------------------------------------------


def test_no_ip_address_or_user_agent_is_stored_in_any_table(
    app: Flask, client: FlaskClient, ev: Events, keys: Keys, clock: FrozenClock
) -> None:
    add_product(app, SKU, {"floor": 1})
    ip = "203.0.113.197"
    ua = "Mozilla/5.0 (X11; Linux x86_64) ComptoirProbe/7.3.1 Firefox/133.0"
    batch = [
        ev("page_view", referrer="https://www.google.fr/"),
        ev("view_item", items=[{"item_id": SKU, "item_variant": "blanc"}]),
        ev("search", search_term="lave-linge"),
        ev("page_seen"),  # a rejection is counted
    ]
    send(client, batch, ip=ip, ua=ua)
    send(client, [ev("page_view")], ip=ip, ua=ua, headers={"DNT": "1"})
    send(client, [ev("page_view")], ip=ip, ua=ua + " bot")
    reco = {
        "event_id": "r-1",
        "name": "reco_shown",
        "params": {
            "recommendation_id": "6f1c2b8e-3a4d-4f5e-9a7b-1c2d3e4f5a6b",
            "suggested_sku": SKU,
        },
    }
    send(client, [reco], ip=ip, ua=ua, headers=keys.headers(Role.SELLER))
    assert len(rows(app, ClickEvent)) == 3 and len(rows(app, RecommendationEvent)) == 1

    texts, blobs = [ip, "ComptoirProbe", "X11; Linux"], [ip.encode(), b"ComptoirProbe"]
    found = []
    session = db.new_session(app)
    with db.read(session):
        for table in db.Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                for column, value in row._mapping.items():
                    if isinstance(value, bytes):
                        found += [(table.name, column) for b in blobs if b in value]
                    else:
                        text = json.dumps(value, default=str)
                        found += [(table.name, column) for t in texts if t in text]
    session.close()
    assert found == []


# --- in-store events with a seller's key -----------------------------------------------------


def reco_event(name: str = "reco_shown", **params: Any) -> dict[str, Any]:
    return {
        "event_id": f"r-{name}",
        "name": name,
        "params": {
            "recommendation_id": "6f1c2b8e-3a4d-4f5e-9a7b-1c2d3e4f5a6b",
            "suggested_sku": SKU,
            **params,
        },
    }


def test_in_store_events_with_a_seller_key_go_to_the_recommendation_feedback(
    app: Flask, client: FlaskClient, ev: Events, keys: Keys
) -> None:
    add_product(app, SKU, {"floor": 1})
    batch = [
        reco_event("reco_shown"),
        ev("page_view"),
        reco_event("reco_accepted", kind="complements"),
        reco_event("reco_shown", suggested_sku="NOPE-1"),
        {**reco_event("reco_shown"), "ts": "2026-11-27T09:40:00Z"},
        reco_event("reco_shown", colour="red"),
    ]

    response = send(client, batch, headers=keys.headers(Role.SELLER))

    body = response.get_json()
    assert response.status_code == 200, body
    assert (body["accepted"], body["duplicates"]) == (3, 0)
    assert body["rejected"] == [
        {"index": 3, "errors": {"params.suggested_sku": ["Unknown SKU 'NOPE-1'."]}},
        {"index": 4, "errors": {"ts": ["More than 5 minutes in the future."]}},
        {"index": 5, "errors": {"params.colour": ["Unknown field."]}},
    ]
    stored = rows(app, RecommendationEvent)
    assert sorted((e.event, e.channel, e.actor) for e in stored) == [
        ("accepted", "store", "test seller"),
        ("shown", "store", "test seller"),
    ]
    assert len(rows(app, ClickEvent)) == 1


def test_in_store_events_without_a_key_are_rejected_one_by_one(
    app: Flask, client: FlaskClient, ev: Events
) -> None:
    add_product(app, SKU, {"floor": 1})

    response = send(client, [ev("page_view"), reco_event()])

    body = response.get_json()
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {"index": 1, "errors": {"name": ["reco_shown needs a seller's API key (in-store event)."]}}
    ]
    assert rows(app, RecommendationEvent) == []


def test_a_key_is_optional_but_a_bad_one_is_401(
    app: Flask, client: FlaskClient, ev: Events, keys: Keys
) -> None:
    refused = send(client, [ev("page_view")], headers={"Authorization": "Bearer nonsense"})
    with_key = send(client, [ev("page_view")], headers=keys.headers(Role.WEBSHOP))

    assert_envelope(refused, 401, "unauthorized")
    assert with_key.get_json()["accepted"] == 1
    assert len(rows(app, ClickEvent)) == 1


# --- CORS ----------------------------------------------------------------------------------


ALLOWED = "http://127.0.0.1:8000"


def test_an_allowed_origin_gets_cors_headers(app: Flask, client: FlaskClient, ev: Events) -> None:
    response = send(client, [ev("page_view")], headers={"Origin": ALLOWED})

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_preflight_from_an_allowed_origin_is_answered(client: FlaskClient) -> None:
    response = client.options(
        COLLECT,
        headers={
            "Origin": "http://localhost:8000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )

    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8000"
    assert response.headers["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]


@pytest.mark.parametrize("method", ["POST", "OPTIONS"])
def test_another_origin_is_refused_and_nothing_is_stored(
    app: Flask, client: FlaskClient, ev: Events, method: str
) -> None:
    response = client.open(
        COLLECT,
        method=method,
        json={"events": [ev("page_view")]},
        headers={"Origin": "https://evil.example", "User-Agent": CHROME},
    )

    body = assert_envelope(response, 403, "forbidden")
    assert body["errors"] == {"origin": "https://evil.example"}
    assert "Access-Control-Allow-Origin" not in response.headers
    assert rows(app, ClickEvent) == []


class TestConfiguredOrigins:
    @pytest.fixture
    def settings(self) -> dict[str, Any]:
        return {"ANALYTICS_ORIGINS": ["https://shop.example"]}

    def test_the_configured_origin_is_the_only_one(self, client: FlaskClient, ev: Events) -> None:
        ok = send(client, [ev("page_view")], headers={"Origin": "https://shop.example"})
        demo = send(client, [ev("page_view")], headers={"Origin": ALLOWED})

        assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
        assert demo.status_code == 403


# --- bodies that are not a batch -------------------------------------------------------------


def test_a_body_over_the_limit_is_413(app: Flask, client: FlaskClient, ev: Events) -> None:
    events = [ev("search", search_term="x" * 400) for _ in range(700)]

    response = send(client, events)

    body = assert_envelope(response, 413, "payload_too_large")
    assert "262144 bytes" in body["message"]
    assert rows(app, ClickEvent) == []


def test_ten_thousand_events_in_one_batch_is_a_clear_413(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    events = [{"name": "page_view"} for _ in range(10_000)]

    response = send(client, events)

    body = assert_envelope(response, 413, "payload_too_large")
    assert body["message"] == ("At most 500 events per batch (10000 sent): send several batches.")
    assert body["errors"] == {"events": ["At most 500 events per batch."]}


def test_ten_thousand_full_events_are_refused_by_size_before_parsing(
    client: FlaskClient, ev: Events
) -> None:
    events = [ev("view_item", items=[{"item_id": SKU}]) for _ in range(10_000)]

    assert_envelope(send(client, events), 413, "payload_too_large")


def test_a_full_batch_of_500_is_accepted(app: Flask, client: FlaskClient, ev: Events) -> None:
    response = send(client, [ev("page_view") for _ in range(500)])

    assert response.get_json()["accepted"] == 500


def test_nul_and_lone_surrogates_escaped_in_the_body_are_rejected_event_by_event(
    app: Flask, client: FlaskClient, ev: Events
) -> None:
    batch = [
        ev("search", search_term="lave\x00linge"),
        ev("search", search_term="s\ud800che-linge"),
        ev("search", search_term="lave-linge \U0001f600"),  # a surrogate pair: fine
        ev("page_view", page=f"{SHOP}/p/\udfff"),
    ]
    body = json.dumps({"events": batch})  # ASCII: \u0000, \ud800, \ud83d\ude00, \udfff

    response = send(client, body=body, content_type="text/plain")

    assert response.status_code == 200, response.get_json()
    assert {r["index"]: r["errors"] for r in response.get_json()["rejected"]} == {
        0: {"params.search_term": ["NUL characters are not allowed."]},
        1: {"params.search_term": ["Invalid Unicode (lone surrogate)."]},
        3: {"page": ["Invalid Unicode (lone surrogate)."]},
    }
    assert set(stored_events(app)) == {batch[2]["event_id"]}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param('{"events": [', id="truncated"),
        pytest.param('{"events": [{"name": "page_view", "ts": NaN}]}', id="NaN"),
        pytest.param('{"events": [{"ts": Infinity}]}', id="Infinity"),
        pytest.param("[" * 50_000 + "]" * 50_000, id="deep"),
        pytest.param(b"\xff\xfe{}", id="not UTF-8"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_json_is_400(app: Flask, client: FlaskClient, body: Any) -> None:
    response = send(client, body=body)

    assert_envelope(response, 400, "malformed_json")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("[]", "_schema"),
        ('"events"', "_schema"),
        ("{}", "events"),
        ('{"events": {"0": {}}}', "events"),
        ('{"events": null}', "events"),
        ('{"events": []}', "events"),
        ('{"events": [], "site": "x"}', "site"),
    ],
)
def test_a_body_that_is_not_a_batch_is_422_naming_the_field(
    client: FlaskClient, body: str, field: str
) -> None:
    response = send(client, body=body)

    assert set(assert_envelope(response, 422, "validation_error")["errors"]) == {field}


def test_a_form_body_is_415(client: FlaskClient) -> None:
    response = send(client, body="events=1", content_type="application/x-www-form-urlencoded")

    assert_envelope(response, 415, "unsupported_media_type")


# --- cost ----------------------------------------------------------------------------------


def test_a_batch_of_50_costs_a_handful_of_statements(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    send(client, [ev("page_view")])  # the day's salt is made
    send(client, [ev("page_view")])  # then read once and cached
    clock.advance(minutes=1)
    batch = [ev("view_item", items=[{"item_id": f"SKU-{i}"}]) for i in range(50)]

    with count_statements(db.engine_for(app)) as counted:
        response = send(client, batch)

    assert response.get_json()["accepted"] == 50
    # the known ids with the visitor's last visit, the events, the visit's new last_at
    assert counted.count == 3, counted.statements


def test_events_are_stored_exactly_as_sqlalchemy_writes_them(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    """The route converts the rows for the driver itself (before the write lock): same bytes."""
    item = {"item_id": SKU, "item_variant": "blanc", "item_category": "Lave-linge", "price": 499.9}
    batch = [
        ev("page_view", page=f"{SHOP}/?utm_source=news&utm_campaign=noel", referrer=SHOP),
        ev("view_item", items=[item], value=499.9, currency="EUR"),
        ev("engagement", engaged_ms=41_250, scroll_depth=80, items=[item]),
        ev("search", search_term="Lave linge 8kg", search_results=0),
        ev("delivery_fee_shown", fee=29, cart_value=270.5, free_threshold=300),
        ev("add_shipping_info", shipping=29, items=[item, {"item_id": "X", "quantity": 2}]),
        ev("purchase", value=528.9, currency="EUR", shipping=29, items=[item], transaction_id="1"),
    ]
    batch[3]["ts"] = (clock() - dt.timedelta(minutes=3)).isoformat()
    assert send(client, batch).get_json()["accepted"] == len(batch)

    engine = db.engine_for(app)
    table = typing.cast(Table, ClickEvent.__table__)
    columns = [c for c in table.c if c.name != "id"]
    as_stored = select(*(cast(c, Text) for c in columns)).order_by(table.c.event_id)
    with engine.connect() as conn:
        stored = conn.execute(as_stored).all()
        values = [dict(r._mapping) for r in conn.execute(select(*columns))]
    with engine.begin() as conn:
        conn.execute(table.delete())
        conn.execute(table.insert(), values)
    with engine.connect() as conn:
        assert conn.execute(as_stored).all() == stored


# --- retention -----------------------------------------------------------------------------


def test_purge_deletes_what_is_past_retention_through_the_cli(
    app: Flask, runner: Any, clock: FrozenClock
) -> None:
    client_info = service.ClientInfo(ip=IP, user_agent=CHROME)
    now = clock()

    def collect_at(when: dt.datetime, event_id: str) -> None:
        event = {"event_id": event_id, "name": "page_view", "ts": when.isoformat(), "page": "/"}
        session = db.new_session(app)
        with db.write(session):
            service.collect(session, [event, "rejected"], client=client_info, now=when)
        session.close()

    collect_at(now, "today")
    collect_at(now - dt.timedelta(days=800), "ancient")  # 26 months: counters go too
    collect_at(now - dt.timedelta(days=400), "old")  # 13+ months
    collect_at(now - dt.timedelta(days=380), "kept")  # 12.5 months
    collect_at(now - dt.timedelta(days=2), "recent")

    result = runner.invoke(args=["analytics", "purge"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        "Deleted 2 raw event(s) before 2025-10-27 09:30 UTC, 2 visit(s) left empty, "
        "1 visitor salt(s) older than 48 h, 1 counter row(s)"
    )
    assert set(stored_events(app)) == {"kept", "recent", "today"}
    assert len(rows(app, Visit)) == 3
    # Today's salt and yesterday's stay (visitors are hashed with today's); older ones go.
    assert {s.day for s in rows(app, VisitorSalt)} == {now.date()}
    assert sorted({c.day for c in rows(app, DailyCounter)}) == sorted(
        (now - dt.timedelta(days=d)).date() for d in (400, 380, 2, 0)
    )
    again = runner.invoke(args=["analytics", "purge"])
    assert "Deleted 0 raw event(s)" in again.output


def test_salts_are_one_per_day_and_yesterdays_are_not_reused(
    app: Flask, client: FlaskClient, ev: Events, clock: FrozenClock
) -> None:
    send(client, [ev("page_view")])
    clock.advance(days=1)
    send(client, [ev("page_view")])
    clock.advance(days=2)
    send(client, [ev("page_view")])

    salts = rows(app, VisitorSalt)
    visits = rows(app, Visit)
    # A new day is a new visitor: nobody can follow a browser across days.
    assert len({v.visitor for v in visits}) == 3
    # Created on first use; days older than yesterday deleted as the new day's salt is made.
    assert [s.day for s in salts] == [clock().date()]
    assert session_count(app, ClickEvent) == 3


def session_count(app: Flask, model: Any) -> int:
    session = db.new_session(app)
    with db.read(session):
        n = session.scalar(select(func.count()).select_from(model))
    session.close()
    return int(n or 0)
