"""Reservations: holds by the store and the webshop, their expiry, commit and release."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from werkzeug.test import TestResponse

from store_api.errors import Invalid
from store_api.keys.models import Role
from store_api.stock.service import StockPolicy
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product, drifts, stock_of

UNITS = {"floor": 1, "backroom": 2, "warehouse": 5}
NOW = dt.datetime(2026, 11, 27, 9, 30, tzinfo=dt.UTC)  # the clock fixture's start
END_OF_DAY = dt.datetime(2026, 11, 27, 22, 59, tzinfo=dt.UTC)  # 23:59 in Paris (UTC+1)
CREATOR = {"store": Role.SELLER, "web": Role.WEBSHOP}


@pytest.fixture
def sku(app: Flask) -> str:
    return add_product(app, "LL-8KG", UNITS)


def reserve(client: FlaskClient, keys: Keys, role: Role = Role.SELLER, **body: Any) -> TestResponse:
    return client.post("/api/v1/reservations", json=body, headers=keys.headers(role))


def reserved_id(client: FlaskClient, keys: Keys, role: Role = Role.SELLER, **body: Any) -> str:
    response = reserve(client, keys, role, **body)
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def act(client: FlaskClient, keys: Keys, role: Role, action: str, rid: str) -> TestResponse:
    """commit, extend or release a reservation."""
    headers = keys.headers(role)
    if action == "release":
        return client.delete(f"/api/v1/reservations/{rid}", headers=headers)
    return client.post(f"/api/v1/reservations/{rid}/{action}", json={}, headers=headers)


def get(client: FlaskClient, keys: Keys, rid: str, role: Role = Role.OWNER) -> dict[str, Any]:
    response = client.get(f"/api/v1/reservations/{rid}", headers=keys.headers(role))
    assert response.status_code == 200, response.json
    return response.json


def levels(app: Flask, sku: str) -> dict[str, tuple[int, int]]:
    """Per location: (on_hand, reserved)."""
    return {loc.location: (loc.on_hand, loc.reserved) for loc in stock_of(app, sku).locations}


def movements(client: FlaskClient, keys: Keys, sku: str) -> list[dict[str, Any]]:
    response = client.get(
        "/api/v1/stock/movements", query_string={"sku": sku}, headers=keys.headers(Role.OWNER)
    )
    assert response.status_code == 200, response.json
    return response.json


def expiry(body: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(body["expires_at"])


# --- making a reservation ------------------------------------------------------------


def test_a_seller_reserves_for_the_store_until_the_end_of_the_day(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    response = reserve(client, keys, sku=sku, quantity=1, note="Mme Martin, vendredi")

    assert response.status_code == 201, response.json
    body = response.json
    uuid.UUID(body["id"])
    assert {k: body[k] for k in ("sku", "quantity", "location", "status", "channel")} == {
        "sku": sku,
        "quantity": 1,
        "location": "floor",
        "status": "active",
        "channel": "store",
    }
    assert body["note"] == "Mme Martin, vendredi"
    assert body["created_by"] == "test seller"
    assert expiry(body) == END_OF_DAY
    assert dt.datetime.fromisoformat(body["created_at"]) == NOW
    assert body["closed_at"] is None
    assert get(client, keys, body["id"]) == body
    assert drifts(app) == []


def test_a_reservation_shows_in_stock_as_reserved_and_not_available(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    reserve(client, keys, sku=sku, quantity=2)

    stock = client.get(f"/api/v1/stock/{sku}", headers=keys.headers(Role.WEBSHOP)).json

    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (8, 2, 6)
    backroom = next(loc for loc in stock["locations"] if loc["location"] == "backroom")
    assert (backroom["on_hand"], backroom["reserved"], backroom["available"]) == (2, 2, 0)
    newest = movements(client, keys, sku)[0]
    assert (newest["reason"], newest["location"], newest["actor"]) == (
        "reservation",
        "backroom",
        "test seller",
    )
    assert (newest["delta_on_hand"], newest["delta_reserved"]) == (0, 2)
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("role", "quantities", "locations"),
    [
        pytest.param(Role.SELLER, [1], ["floor"], id="store: floor first"),
        pytest.param(Role.SELLER, [1, 1], ["floor", "backroom"], id="store: then backroom"),
        pytest.param(Role.SELLER, [2], ["backroom"], id="store: floor too small"),
        pytest.param(
            Role.SELLER, [1, 2, 1], ["floor", "backroom", "warehouse"], id="store: warehouse last"
        ),
        pytest.param(Role.WEBSHOP, [1], ["warehouse"], id="web: warehouse first"),
        pytest.param(Role.WEBSHOP, [5, 1], ["warehouse", "backroom"], id="web: then backroom"),
        pytest.param(Role.WEBSHOP, [5, 2, 1], ["warehouse", "backroom", "floor"], id="web: floor"),
        pytest.param(Role.OWNER, [1], ["floor"], id="owner: store by default"),
    ],
)
def test_each_channel_takes_stock_from_its_locations_in_order(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    sku: str,
    role: Role,
    quantities: list[int],
    locations: list[str],
) -> None:
    responses = [reserve(client, keys, role, sku=sku, quantity=q) for q in quantities]

    assert [r.status_code for r in responses] == [201] * len(quantities)
    assert [r.json["location"] for r in responses] == locations
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("role", "location"),
    [(Role.SELLER, "warehouse"), (Role.WEBSHOP, "floor"), (Role.SELLER, "backroom")],
)
def test_an_explicit_location_is_honoured(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, role: Role, location: str
) -> None:
    response = reserve(client, keys, role, sku=sku, quantity=1, location=location)

    assert response.status_code == 201
    assert response.json["location"] == location
    assert levels(app, sku)[location] == (UNITS[location], 1)
    assert drifts(app) == []


@pytest.mark.parametrize(
    ("body", "available", "locations"),
    [
        pytest.param(
            {"quantity": 6},
            5,
            {"floor": 1, "backroom": 2, "warehouse": 5},
            id="more than one location holds",
        ),
        pytest.param({"quantity": 2, "location": "floor"}, 1, {"floor": 1}, id="at the floor"),
    ],
)
def test_a_quantity_no_single_location_holds_is_409_with_the_figures(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    sku: str,
    body: dict[str, Any],
    available: int,
    locations: dict[str, int],
) -> None:
    response = reserve(client, keys, sku=sku, **body)

    assert response.status_code == 409
    assert response.json["code"] == "insufficient_stock"
    assert response.json["errors"] == {
        "sku": sku,
        "requested": body["quantity"],
        "available": available,
        "locations": locations,
        "total_available": sum(locations.values()),
    }
    assert stock_of(app, sku).reserved == 0
    assert drifts(app) == []


def test_reserved_units_are_not_offered_again(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    reserve(client, keys, Role.WEBSHOP, sku=sku, quantity=5)

    response = reserve(client, keys, Role.WEBSHOP, sku=sku, quantity=3)

    assert response.status_code == 409
    assert response.json["errors"]["available"] == 2
    assert response.json["errors"]["locations"] == {"warehouse": 0, "backroom": 2, "floor": 1}
    assert drifts(app) == []


# --- expiry times --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "ttl_seconds", "expected"),
    [
        pytest.param(Role.SELLER, None, END_OF_DAY, id="store: 23:59 Paris"),
        pytest.param(Role.WEBSHOP, None, NOW + dt.timedelta(minutes=15), id="web: 15 minutes"),
        pytest.param(Role.SELLER, 600, NOW + dt.timedelta(minutes=10), id="store: ttl"),
        pytest.param(Role.WEBSHOP, 3600, NOW + dt.timedelta(hours=1), id="web: ttl"),
        pytest.param(Role.SELLER, 7 * 24 * 3600, NOW + dt.timedelta(days=7), id="ttl: 7 days"),
    ],
)
def test_a_reservation_expires_by_its_channel_or_its_ttl(
    client: FlaskClient,
    keys: Keys,
    sku: str,
    role: Role,
    ttl_seconds: int | None,
    expected: dt.datetime,
) -> None:
    response = reserve(client, keys, role, sku=sku, quantity=1, ttl_seconds=ttl_seconds)

    assert response.status_code == 201
    assert expiry(response.json) == expected


@pytest.mark.parametrize(("ttl_seconds"), [7 * 24 * 3600 + 1, 0, -5, "60", 1.5])
def test_a_ttl_out_of_range_is_422_naming_ttl_seconds(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, ttl_seconds: Any
) -> None:
    response = reserve(client, keys, sku=sku, quantity=1, ttl_seconds=ttl_seconds)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["ttl_seconds"]
    assert stock_of(app, sku).reserved == 0
    assert drifts(app) == []


PARIS = StockPolicy()


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("channel", "now", "ttl_seconds", "expected"),
    [
        pytest.param(
            "store", utc(2026, 11, 27, 9, 30), None, utc(2026, 11, 27, 22, 59), id="winter"
        ),
        pytest.param("store", utc(2026, 7, 14, 8, 0), None, utc(2026, 7, 14, 21, 59), id="summer"),
        pytest.param(
            "store", utc(2026, 11, 27, 22, 58), None, utc(2026, 11, 27, 22, 59), id="23:58 local"
        ),
        pytest.param(
            "store", utc(2026, 11, 27, 22, 59), None, utc(2026, 11, 28, 22, 59), id="23:59 local"
        ),
        pytest.param(
            "store", utc(2026, 11, 27, 23, 30), None, utc(2026, 11, 28, 22, 59), id="after midnight"
        ),
        pytest.param(
            "store",
            utc(2026, 3, 28, 23, 30),
            None,
            utc(2026, 3, 29, 21, 59),
            id="spring forward: 00:30 CET, ends 23:59 CEST",
        ),
        pytest.param(
            "store",
            utc(2026, 3, 28, 22, 59, 30),
            None,
            utc(2026, 3, 29, 21, 59),
            id="spring forward: 23:59 the evening before",
        ),
        pytest.param(
            "store",
            utc(2026, 10, 24, 22, 30),
            None,
            utc(2026, 10, 25, 22, 59),
            id="fall back: 00:30 CEST, ends 23:59 CET",
        ),
        pytest.param("web", utc(2026, 11, 27, 23, 50), None, utc(2026, 11, 28, 0, 5), id="web"),
        pytest.param("store", utc(2026, 11, 27, 9, 30), 90, utc(2026, 11, 27, 9, 31, 30), id="ttl"),
        pytest.param(
            "web", utc(2026, 11, 27, 9, 30), 7 * 24 * 3600, utc(2026, 12, 4, 9, 30), id="max ttl"
        ),
    ],
)
def test_stock_policy_expiry(
    channel: str, now: dt.datetime, ttl_seconds: int | None, expected: dt.datetime
) -> None:
    result = PARIS.expiry(channel, now, ttl_seconds)

    assert result == expected
    assert result.utcoffset() == dt.timedelta(0)


def test_a_store_hold_never_ends_before_it_starts_when_clocks_fall_back() -> None:
    night_shop = StockPolicy(store_hold_until=dt.time(2, 30))
    now = utc(2026, 10, 25, 1, 15)  # 02:15 CET, the second 02:15 of the night

    result = night_shop.expiry("store", now, None)

    assert result == utc(2026, 10, 26, 1, 30)  # 02:30 CET the next night


def test_stock_policy_refuses_a_ttl_over_the_maximum() -> None:
    with pytest.raises(Invalid) as raised:
        PARIS.expiry("web", utc(2026, 11, 27, 9, 30), 7 * 24 * 3600 + 1)

    assert list(raised.value.errors) == ["ttl_seconds"]


def test_stock_policy_reads_hold_rules_from_configuration() -> None:
    policy = StockPolicy.from_config(
        {
            "STOCK_LOCATIONS": ["floor", "showroom", "warehouse"],
            "WEB_LOCATION_ORDER": ["warehouse", "backroom", "floor"],
            "WEB_HOLD_SECONDS": 600,
            "STORE_HOLD_UNTIL": "19:30",
            "TIMEZONE": "America/Montreal",
            "MAX_HOLD_SECONDS": 3600,
        }
    )

    assert policy.location_order("store") == ("floor", "showroom", "warehouse")
    assert policy.location_order("web") == ("warehouse", "floor", "showroom")
    assert policy.expiry("store", utc(2026, 11, 27, 15, 0), None) == utc(2026, 11, 28, 0, 30)
    assert policy.expiry("web", utc(2026, 11, 27, 15, 0), None) == utc(2026, 11, 27, 15, 10)


# --- extend, commit, release ---------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "body", "expected"),
    [
        pytest.param("web", {"ttl_seconds": 600}, NOW + dt.timedelta(minutes=20), id="web ttl"),
        pytest.param("web", {}, NOW + dt.timedelta(minutes=25), id="web default"),
        pytest.param("store", {"ttl_seconds": 86400}, NOW + dt.timedelta(days=1, minutes=10)),
        pytest.param("store", {}, END_OF_DAY, id="store default"),
    ],
)
def test_extending_a_reservation_sets_a_new_expiry_from_now(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
    sku: str,
    channel: str,
    body: dict[str, Any],
    expected: dt.datetime,
) -> None:
    role = CREATOR[channel]
    rid = reserved_id(client, keys, role, sku=sku, quantity=1)
    clock.advance(minutes=10)

    response = client.post(
        f"/api/v1/reservations/{rid}/extend", json=body, headers=keys.headers(role)
    )

    assert response.status_code == 200, response.json
    assert expiry(response.json) == expected
    assert response.json["status"] == "active"
    assert expiry(get(client, keys, rid)) == expected
    assert stock_of(app, sku).reserved == 1
    assert drifts(app) == []


def test_extending_beyond_the_maximum_hold_is_422_naming_ttl_seconds(
    client: FlaskClient, keys: Keys, sku: str
) -> None:
    rid = reserved_id(client, keys, sku=sku, quantity=1)

    response = client.post(
        f"/api/v1/reservations/{rid}/extend",
        json={"ttl_seconds": 7 * 24 * 3600 + 1},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["ttl_seconds"]
    assert expiry(get(client, keys, rid)) == END_OF_DAY


def test_committing_a_reservation_takes_the_units_out_of_the_shop(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, sku: str
) -> None:
    rid = reserved_id(client, keys, sku=sku, quantity=2)
    clock.advance(minutes=5)

    response = client.post(
        f"/api/v1/reservations/{rid}/commit",
        json={"reference": "TICKET-0042"},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 200, response.json
    assert response.json["status"] == "committed"
    assert response.json["reference"] == "TICKET-0042"
    assert dt.datetime.fromisoformat(response.json["closed_at"]) == clock()
    assert get(client, keys, rid)["status"] == "committed"
    assert levels(app, sku)["backroom"] == (0, 0)
    assert stock_of(app, sku).on_hand == 6
    newest = movements(client, keys, sku)[0]
    assert (newest["reason"], newest["actor"], newest["reference"]) == (
        "sale",
        "test seller",
        "TICKET-0042",
    )
    assert (newest["delta_on_hand"], newest["delta_reserved"]) == (-2, -2)
    assert (newest["on_hand_after"], newest["reserved_after"]) == (0, 0)
    assert drifts(app) == []


def test_releasing_a_reservation_makes_the_units_available_again(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    rid = reserved_id(client, keys, Role.WEBSHOP, sku=sku, quantity=5)

    response = act(client, keys, Role.WEBSHOP, "release", rid)

    assert response.status_code == 200, response.json
    assert response.json["status"] == "released"
    assert get(client, keys, rid)["status"] == "released"
    assert levels(app, sku)["warehouse"] == (5, 0)
    assert stock_of(app, sku).available == 8
    newest = movements(client, keys, sku)[0]
    assert (newest["reason"], newest["actor"], newest["reference"]) == (
        "release",
        "test webshop",
        rid,
    )
    assert (newest["delta_on_hand"], newest["delta_reserved"]) == (0, -5)
    assert drifts(app) == []


@pytest.mark.parametrize("minutes", [15, 16, 24 * 60])
@pytest.mark.parametrize("action", ["commit", "extend"])
def test_an_expired_reservation_cannot_be_committed_or_extended(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    clock: FrozenClock,
    sku: str,
    action: str,
    minutes: int,
) -> None:
    rid = reserved_id(client, keys, Role.WEBSHOP, sku=sku, quantity=1)
    clock.advance(minutes=minutes)

    response = act(client, keys, Role.WEBSHOP, action, rid)

    assert response.status_code == 409
    assert response.json["code"] == "reservation_expired"
    assert response.json["errors"]["status"] == "expired"
    assert stock_of(app, sku).on_hand == 8
    assert drifts(app) == []


@pytest.mark.parametrize("second", ["commit", "extend", "release"])
@pytest.mark.parametrize("first", ["commit", "release"])
def test_a_closed_reservation_cannot_be_changed_again(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, first: str, second: str
) -> None:
    rid = reserved_id(client, keys, sku=sku, quantity=1)
    assert act(client, keys, Role.SELLER, first, rid).status_code == 200
    before = levels(app, sku)

    response = act(client, keys, Role.SELLER, second, rid)

    assert response.status_code == 409
    assert response.json["code"] == "reservation_not_active"
    assert (
        response.json["errors"]["status"] == {"commit": "committed", "release": "released"}[first]
    )
    assert levels(app, sku) == before
    assert drifts(app) == []


@pytest.mark.parametrize("action", ["read", "commit", "extend", "release"])
def test_an_unknown_reservation_is_404(client: FlaskClient, keys: Keys, action: str) -> None:
    rid = str(uuid.uuid4())

    if action == "read":
        response = client.get(f"/api/v1/reservations/{rid}", headers=keys.headers(Role.SELLER))
    else:
        response = act(client, keys, Role.SELLER, action, rid)

    assert response.status_code == 404
    assert response.json["code"] == "reservation_not_found"


@pytest.mark.parametrize("action", ["read", "commit", "extend", "release"])
def test_a_malformed_reservation_id_is_404(client: FlaskClient, keys: Keys, action: str) -> None:
    if action == "read":
        response = client.get("/api/v1/reservations/not-a-uuid", headers=keys.headers(Role.SELLER))
    else:
        response = act(client, keys, Role.SELLER, action, "not-a-uuid")

    assert response.status_code == 404
    assert response.json["code"] == "not_found"


# --- expiry with the clock -----------------------------------------------------------


def test_an_expired_web_hold_is_released_when_the_product_is_reserved_again(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, sku: str
) -> None:
    stale = reserved_id(client, keys, Role.WEBSHOP, sku=sku, quantity=5)
    clock.advance(minutes=16)

    response = reserve(client, keys, Role.WEBSHOP, sku=sku, quantity=5)

    assert response.status_code == 201, response.json
    assert response.json["location"] == "warehouse"
    expired = get(client, keys, stale)
    assert expired["status"] == "expired"
    assert dt.datetime.fromisoformat(expired["closed_at"]) == clock()
    assert levels(app, sku)["warehouse"] == (5, 5)
    release = movements(client, keys, sku)[1]
    assert (release["reason"], release["actor"], release["reference"]) == (
        "expiry",
        "system:expiry",
        stale,
    )
    assert (release["delta_on_hand"], release["delta_reserved"]) == (0, -5)
    assert drifts(app) == []


def test_a_hold_not_yet_due_is_kept_when_the_product_is_reserved_again(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, sku: str
) -> None:
    held = reserved_id(client, keys, Role.WEBSHOP, sku=sku, quantity=5)
    clock.advance(minutes=14)

    response = reserve(client, keys, Role.WEBSHOP, sku=sku, quantity=5)

    assert response.status_code == 409
    assert get(client, keys, held)["status"] == "active"
    assert drifts(app) == []


def test_the_sweeper_releases_every_hold_past_its_expiry(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, runner: FlaskCliRunner
) -> None:
    add_product(app, "A", UNITS)
    add_product(app, "B", UNITS)
    web_a = reserved_id(client, keys, Role.WEBSHOP, sku="A", quantity=2)
    web_b = reserved_id(client, keys, Role.WEBSHOP, sku="B", quantity=1)
    store_a = reserved_id(client, keys, Role.SELLER, sku="A", quantity=1)
    clock.advance(minutes=16)

    result = runner.invoke(args=["reservations", "expire"])

    assert result.exit_code == 0, result.output
    assert "2 expired reservation(s) released." in result.output
    assert [get(client, keys, r)["status"] for r in (web_a, web_b, store_a)] == [
        "expired",
        "expired",
        "active",
    ]
    assert (stock_of(app, "A").reserved, stock_of(app, "B").reserved) == (1, 0)
    assert drifts(app) == []


def test_the_sweeper_with_nothing_due_releases_nothing(
    app: Flask, client: FlaskClient, keys: Keys, runner: FlaskCliRunner, sku: str
) -> None:
    reserved_id(client, keys, Role.WEBSHOP, sku=sku, quantity=1)

    result = runner.invoke(args=["reservations", "expire"])

    assert result.exit_code == 0
    assert "0 expired reservation(s) released." in result.output
    assert stock_of(app, sku).reserved == 1


# --- channels ------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "channel"), [(Role.SELLER, "web"), (Role.WEBSHOP, "store")])
def test_a_key_reserves_only_for_its_own_channel(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, role: Role, channel: str
) -> None:
    response = reserve(client, keys, role, sku=sku, quantity=1, channel=channel)

    assert response.status_code == 422
    assert list(response.json["errors"]) == ["channel"]
    assert stock_of(app, sku).reserved == 0


@pytest.mark.parametrize("channel", ["store", "web"])
def test_the_owner_reserves_for_either_channel(
    client: FlaskClient, keys: Keys, sku: str, channel: str
) -> None:
    response = reserve(client, keys, Role.OWNER, sku=sku, quantity=1, channel=channel)

    assert response.status_code == 201
    assert response.json["channel"] == channel
    assert response.json["location"] == {"store": "floor", "web": "warehouse"}[channel]


@pytest.mark.parametrize("action", ["read", "commit", "extend", "release"])
@pytest.mark.parametrize(("channel", "intruder"), [("web", Role.SELLER), ("store", Role.WEBSHOP)])
def test_a_key_cannot_change_a_reservation_of_the_other_channel(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    sku: str,
    channel: str,
    intruder: Role,
    action: str,
) -> None:
    rid = reserved_id(client, keys, CREATOR[channel], sku=sku, quantity=1)
    before = get(client, keys, rid)

    if action == "read":
        response = client.get(f"/api/v1/reservations/{rid}", headers=keys.headers(intruder))
    else:
        response = act(client, keys, intruder, action, rid)

    assert response.status_code == 403
    assert response.json["code"] == "forbidden"
    assert get(client, keys, rid) == before
    assert stock_of(app, sku).reserved == 1
    assert drifts(app) == []


@pytest.mark.parametrize("channel", ["store", "web"])
def test_the_owner_can_close_a_reservation_of_either_channel(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, channel: str
) -> None:
    rid = reserved_id(client, keys, CREATOR[channel], sku=sku, quantity=1)

    response = act(client, keys, Role.OWNER, "commit", rid)

    assert response.status_code == 200
    assert response.json["status"] == "committed"
    assert drifts(app) == []


def test_a_device_key_cannot_reserve(client: FlaskClient, keys: Keys, sku: str) -> None:
    response = reserve(client, keys, Role.DEVICE, sku=sku, quantity=1)

    assert response.status_code == 403


@pytest.fixture
def booked(app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock) -> dict[str, str]:
    """Five reservations a minute apart: four by the store, one by the webshop."""
    add_product(app, "A", UNITS)
    add_product(app, "B", UNITS)
    made = {}
    for name, role, sku in [
        ("store A1", Role.SELLER, "A"),
        ("web A", Role.WEBSHOP, "A"),
        ("store B1", Role.SELLER, "B"),
        ("store A2", Role.SELLER, "A"),
        ("store B2", Role.SELLER, "B"),
    ]:
        made[name] = reserved_id(client, keys, role, sku=sku, quantity=1)
        clock.advance(minutes=1)
    assert act(client, keys, Role.SELLER, "release", made["store B1"]).status_code == 200
    return made


@pytest.mark.parametrize(
    ("role", "query", "expected"),
    [
        pytest.param(
            Role.SELLER, {}, ["store B2", "store A2", "store B1", "store A1"], id="seller"
        ),
        pytest.param(Role.WEBSHOP, {}, ["web A"], id="webshop"),
        pytest.param(
            Role.SELLER,
            {"channel": "web"},
            ["store B2", "store A2", "store B1", "store A1"],
            id="seller asking for web",
        ),
        pytest.param(
            Role.OWNER,
            {},
            ["store B2", "store A2", "store B1", "web A", "store A1"],
            id="owner",
        ),
        pytest.param(Role.OWNER, {"channel": "web"}, ["web A"], id="owner: web"),
        pytest.param(Role.SELLER, {"status": "released"}, ["store B1"], id="released"),
        pytest.param(
            Role.SELLER, {"status": "active"}, ["store B2", "store A2", "store A1"], id="active"
        ),
        pytest.param(Role.SELLER, {"sku": "A"}, ["store A2", "store A1"], id="sku"),
        pytest.param(
            Role.OWNER,
            {"sku": "A", "status": "active"},
            ["store A2", "web A", "store A1"],
            id="sku+status",
        ),
    ],
)
def test_listing_reservations_shows_the_callers_channel_filtered(
    client: FlaskClient,
    keys: Keys,
    booked: dict[str, str],
    role: Role,
    query: dict[str, str],
    expected: list[str],
) -> None:
    names = {rid: name for name, rid in booked.items()}

    response = client.get("/api/v1/reservations", query_string=query, headers=keys.headers(role))

    assert response.status_code == 200, response.json
    assert [names[item["id"]] for item in response.json["items"]] == expected
    assert response.json["total"] == len(expected)


@pytest.mark.parametrize(
    ("page", "expected"),
    [(1, ["store B2", "store A2"]), (2, ["store B1", "store A1"]), (3, [])],
)
def test_listing_reservations_is_paginated(
    client: FlaskClient, keys: Keys, booked: dict[str, str], page: int, expected: list[str]
) -> None:
    names = {rid: name for name, rid in booked.items()}

    response = client.get(
        "/api/v1/reservations",
        query_string={"page": page, "page_size": 2},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 200
    assert [names[item["id"]] for item in response.json["items"]] == expected
    assert (response.json["page"], response.json["page_size"], response.json["total"]) == (
        page,
        2,
        4,
    )


def test_reservations_made_in_the_same_instant_are_each_listed_once_across_pages(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    add_product(app, "A", {"warehouse": 20})
    made = {reserved_id(client, keys, sku="A", quantity=1) for _ in range(20)}

    listed = [
        item["id"]
        for page in range(1, 11)
        for item in client.get(
            "/api/v1/reservations",
            query_string={"page": page, "page_size": 2},
            headers=keys.headers(Role.SELLER),
        ).json["items"]
    ]

    assert sorted(listed) == sorted(made)


@pytest.mark.parametrize(
    "query", [{"status": "gone"}, {"page": 0}, {"page_size": 101}, {"channel": "fax"}]
)
def test_listing_reservations_refuses_bad_filters(
    client: FlaskClient, keys: Keys, query: dict[str, Any]
) -> None:
    response = client.get(
        "/api/v1/reservations", query_string=query, headers=keys.headers(Role.OWNER)
    )

    assert response.status_code == 422
    assert list(response.json["errors"]) == list(query)


# --- refusals ------------------------------------------------------------------------


def test_an_inactive_product_cannot_be_reserved(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    deleted = client.delete(f"/api/v1/products/{sku}", headers=keys.headers(Role.OWNER))

    response = reserve(client, keys, sku=sku, quantity=1)

    assert deleted.status_code == 200
    assert response.status_code == 409
    assert response.json["code"] == "product_inactive"
    assert stock_of(app, sku).reserved == 0
    assert drifts(app) == []


def test_an_unknown_product_cannot_be_reserved(client: FlaskClient, keys: Keys) -> None:
    response = reserve(client, keys, sku="NOPE", quantity=1)

    assert response.status_code == 422
    assert response.json["code"] == "product_not_found"
    assert list(response.json["errors"]) == ["sku"]


def test_an_unknown_location_cannot_be_reserved_from(
    app: Flask, client: FlaskClient, keys: Keys, sku: str
) -> None:
    response = reserve(client, keys, sku=sku, quantity=1, location="attic")

    assert response.status_code == 422
    assert response.json["code"] == "unknown_location"
    assert list(response.json["errors"]) == ["location"]
    assert stock_of(app, sku).reserved == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"quantity": 0}, "quantity", id="quantity 0"),
        pytest.param({"quantity": -1}, "quantity", id="quantity -1"),
        pytest.param({"quantity": "1"}, "quantity", id="quantity string"),
        pytest.param({"quantity": 1.5}, "quantity", id="quantity float"),
        pytest.param({"quantity": True}, "quantity", id="quantity bool"),
        pytest.param({"quantity": 1001}, "quantity", id="quantity 1001"),
        pytest.param({"quantity": ...}, "quantity", id="quantity missing"),
        pytest.param({"sku": ...}, "sku", id="sku missing"),
        pytest.param({"channel": "fax"}, "channel", id="channel unknown"),
        pytest.param({"note": "x" * 501}, "note", id="note too long"),
        pytest.param({"quantiy": 1}, "quantiy", id="unknown field"),
    ],
)
def test_an_invalid_reservation_is_422_naming_the_field(
    app: Flask, client: FlaskClient, keys: Keys, sku: str, changes: dict[str, Any], field: str
) -> None:
    body = {"sku": sku, "quantity": 1, **changes}
    body = {k: v for k, v in body.items() if v is not ...}

    response = reserve(client, keys, Role.OWNER, **body)

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert list(response.json["errors"]) == [field]
    assert stock_of(app, sku).reserved == 0
