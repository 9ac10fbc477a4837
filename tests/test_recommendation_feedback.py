"""Recommendation feedback through HTTP: shown, accepted, sold, and what it brought in.

A small shop: a Bosch washer on the floor and the accessories that fit it. A few store sales
without recommendations make the feet a best-seller, so the washer's suggestions are not
empty without a trained model (those sales never count as a suggestion's).
"""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from store_api import db
from store_api.keys.models import Role
from store_api.recommendations import feedback
from store_api.recommendations.models import RecommendationEvent
from store_api.sqlcount import count_statements
from store_api.stock import service as stock
from store_api.stock.models import Channel
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product

WASHER = "LL-BOS-WAN28-BL"
FEET = "AC-XAV-AVF4"
KIT = "AC-BOS-WTZ27400-BL"
FEET_PRICE = "19.90"
KIT_PRICE = "34.50"
# Two kinds of accessory (one product of each kind is shown): names as the catalogue has them.
FEET_NAME = "Pieds anti-vibration Xavax pour lave-linge (lot de 4)"
KIT_NAME = "Kit de superposition Bosch"

EVENTS = "/api/v1/recommendations/events"
REPORT = "/api/v1/recommendations/report"
TODAY = "2026-11-27"  # the frozen clock: 2026-11-27 09:30 UTC, 10:30 in Paris


@pytest.fixture
def shop(app: Flask, clock: FrozenClock) -> None:
    add_product(app, WASHER, {"floor": 3, "warehouse": 10}, brand="Bosch")
    for sku, price, name in ((FEET, FEET_PRICE, FEET_NAME), (KIT, KIT_PRICE, KIT_NAME)):
        add_product(
            app,
            sku,
            {"floor": 10, "warehouse": 10},
            name=name,
            category="Accessoires",
            price=price,
            attributes={"compatible_avec": ["Lave-linge"]},
        )
    policy = app.extensions["comptoir_policy"]
    session = db.new_session(app)
    with db.write(session):
        for sku in (WASHER, FEET, FEET, KIT):
            held = stock.reserve(
                session,
                sku=sku,
                quantity=1,
                channel=Channel.STORE,
                location=None,
                ttl_seconds=None,
                note=None,
                actor="Tablet 0",
                now=clock(),
                policy=policy,
            )
            stock.commit_reservation(
                session, held.id, actor="Tablet 0", reference=None, now=clock(), policy=policy
            )
    session.close()


def recommend(client: FlaskClient, keys: Keys, role: Role = Role.SELLER) -> dict[str, Any]:
    response = client.get(
        f"/api/v1/products/{WASHER}/recommendations",
        query_string={"kind": "complements", "limit": 2},
        headers=keys.headers(role),
    )
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def event(name: str, recommendation_id: str, sku: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": name,
        "recommendation_id": recommendation_id,
        "suggested_sku": sku,
        "context_sku": WASHER,
        "kind": "complements",
        **extra,
    }


def send(
    client: FlaskClient, keys: Keys, events: list[Any], role: Role = Role.SELLER
) -> dict[str, Any]:
    response = client.post(EVENTS, json={"events": events}, headers=keys.headers(role))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def reserve(
    client: FlaskClient, keys: Keys, sku: str, recommendation_id: str | None, role: Role
) -> dict[str, Any]:
    body: dict[str, Any] = {"sku": sku, "quantity": 1}
    if recommendation_id is not None:
        body["recommendation_id"] = recommendation_id
    response = client.post("/api/v1/reservations", json=body, headers=keys.headers(role))
    assert response.status_code == 201, response.json
    held: dict[str, Any] = response.json
    return held


def sell(
    client: FlaskClient,
    keys: Keys,
    sku: str,
    recommendation_id: str | None,
    role: Role = Role.SELLER,
) -> dict[str, Any]:
    held = reserve(client, keys, sku, recommendation_id, role)
    response = client.post(
        f"/api/v1/reservations/{held['id']}/commit", json={}, headers=keys.headers(role)
    )
    assert response.status_code == 200, response.json
    sold: dict[str, Any] = response.json
    return sold


def report(client: FlaskClient, keys: Keys, **params: str) -> dict[str, Any]:
    query = {"from": TODAY, "to": TODAY, **params}
    response = client.get(REPORT, query_string=query, headers=keys.headers(Role.OWNER))
    assert response.status_code == 200, response.json
    body: dict[str, Any] = response.json
    return body


def rows_by_sku(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["sku"]: row for row in body["rows"]}


def stored_events(app: Flask) -> int:
    session = db.new_session(app)
    with db.read(session):
        n = session.scalar(select(func.count()).select_from(RecommendationEvent)) or 0
    session.close()
    return n


# --- the recommendation_id of every answer --------------------------------------------------


def test_every_answer_carries_a_new_recommendation_id_and_serving_writes_nothing(
    app: Flask, shop: None, client: FlaskClient, keys: Keys
) -> None:
    with count_statements(db.engine_for(app)) as counter:
        first = recommend(client, keys)
        second = recommend(client, keys)
        basket = client.post(
            "/api/v1/recommendations", json={"skus": [WASHER]}, headers=keys.headers(Role.SELLER)
        )

    assert basket.status_code == 200, basket.json
    ids = [
        first["recommendation_id"],
        second["recommendation_id"],
        basket.json["recommendation_id"],
    ]
    assert len({uuid.UUID(i) for i in ids}) == 3
    assert [i["sku"] for i in first["items"]] == [FEET, KIT]
    assert all(s.upper().startswith("SELECT") for s in counter.statements), counter.statements


# --- the seller's flow ----------------------------------------------------------------------


def test_shown_accepted_reserved_and_sold_shows_in_the_report_with_its_revenue(
    app: Flask, shop: None, client: FlaskClient, keys: Keys
) -> None:
    answer = recommend(client, keys)
    rid = answer["recommendation_id"]
    shown = send(client, keys, [event("reco_shown", rid, i["sku"]) for i in answer["items"]])
    accepted = send(client, keys, [event("reco_accepted", rid, FEET)])

    held = reserve(client, keys, FEET, rid, Role.SELLER)
    response = client.post(
        f"/api/v1/reservations/{held['id']}/commit", json={}, headers=keys.headers(Role.SELLER)
    )
    body = report(client, keys)

    assert shown == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert accepted == {"accepted": 1, "duplicates": 0, "rejected": []}
    assert held["recommendation_id"] == rid
    assert response.status_code == 200 and response.json["recommendation_id"] == rid
    rows = rows_by_sku(body)
    assert rows[FEET] == {
        "sku": FEET,
        "name": FEET_NAME,
        "shown": 1,
        "accepted": 1,
        "sold": 1,
        "units": 1,
        "acceptance_rate": 1.0,
        "conversion_rate": 1.0,
        "revenue": FEET_PRICE,
    }
    assert (rows[KIT]["shown"], rows[KIT]["accepted"], rows[KIT]["sold"]) == (1, 0, 0)
    assert rows[KIT]["revenue"] == "0.00" and rows[KIT]["acceptance_rate"] == 0.0
    assert list(rows) == [FEET, KIT]  # most revenue first
    assert body["totals"]["shown"] == 2 and body["totals"]["revenue"] == FEET_PRICE
    assert (body["from"], body["to"], body["group"], body["currency"]) == (
        TODAY,
        TODAY,
        "product",
        "EUR",
    )


def test_the_reservation_events_carry_the_recommendation_id(
    shop: None, client: FlaskClient, keys: Keys
) -> None:
    rid = recommend(client, keys)["recommendation_id"]
    after = client.get("/api/v1/events", headers=keys.headers(Role.OWNER)).json["last_seq"]

    sell(client, keys, FEET, rid)
    feed = client.get(
        "/api/v1/events",
        query_string={"after": after, "type": "reservation.*"},
        headers=keys.headers(Role.OWNER),
    ).json["events"]

    assert [(e["type"], e["payload"]["recommendation_id"]) for e in feed] == [
        ("reservation.created", rid),
        ("reservation.committed", rid),
    ]


def test_a_reservation_without_recommendation_says_null(
    shop: None, client: FlaskClient, keys: Keys
) -> None:
    assert reserve(client, keys, FEET, None, Role.SELLER)["recommendation_id"] is None


@pytest.mark.parametrize("value", ["not-a-uuid", 42])
def test_a_reservation_with_a_malformed_recommendation_id_is_422(
    shop: None, client: FlaskClient, keys: Keys, value: Any
) -> None:
    response = client.post(
        "/api/v1/reservations",
        json={"sku": FEET, "quantity": 1, "recommendation_id": value},
        headers=keys.headers(Role.SELLER),
    )

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"recommendation_id"}


# --- retries and rejections -----------------------------------------------------------------


def test_a_retried_batch_is_stored_once(
    app: Flask, shop: None, client: FlaskClient, keys: Keys
) -> None:
    rid = str(uuid.uuid4())
    batch = [event("reco_shown", rid, FEET), event("reco_accepted", rid, FEET)]

    first = send(client, keys, batch)
    again = send(client, keys, batch)
    twice_in_one = send(client, keys, [event("reco_shown", rid, KIT)] * 2)

    assert first == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert twice_in_one == {"accepted": 1, "duplicates": 1, "rejected": []}
    assert stored_events(app) == 3
    rows = rows_by_sku(report(client, keys))
    assert (rows[FEET]["shown"], rows[FEET]["accepted"], rows[KIT]["shown"]) == (1, 1, 1)


def test_bad_events_are_rejected_by_index_and_the_good_ones_stored(
    app: Flask, shop: None, client: FlaskClient, keys: Keys
) -> None:
    rid = str(uuid.uuid4())
    batch: list[Any] = [
        event("reco_shown", rid, FEET),
        event("reco_clicked", rid, FEET),
        {"event": "reco_shown", "suggested_sku": FEET},
        event("reco_shown", rid, "NOPE-1"),
        event("reco_shown", rid, KIT, occurred_at="2026-11-27T09:45:00+00:00"),
        event("reco_shown", rid, KIT, occurred_at="2026-11-27T09:00:00"),
        event("reco_shown", rid, KIT, visitor="abc"),
        "reco_shown",
        event("reco_shown", rid, KIT, context_sku="NOPE-2", kind="bogus"),
        event("reco_accepted", rid, KIT, occurred_at="2026-11-27T09:33:00+00:00"),
        None,
    ]

    body = send(client, keys, batch)

    assert body["accepted"] == 2 and body["duplicates"] == 0
    rejected = {r["index"]: set(r["errors"]) for r in body["rejected"]}
    assert rejected == {
        1: {"event"},
        2: {"recommendation_id"},
        3: {"suggested_sku"},
        4: {"occurred_at"},  # 15 minutes ahead of the server
        5: {"occurred_at"},  # no time zone
        6: {"visitor"},
        7: {"_schema"},
        8: {"kind"},
        10: {"_schema"},
    }
    unknown = next(r for r in body["rejected"] if r["index"] == 3)
    assert unknown["errors"] == {"suggested_sku": ["Unknown SKU 'NOPE-1'."]}
    assert stored_events(app) == 2


def test_an_unknown_context_product_is_rejected_naming_it(
    shop: None, client: FlaskClient, keys: Keys
) -> None:
    body = send(client, keys, [event("reco_shown", str(uuid.uuid4()), FEET, context_sku="NOPE")])

    assert body["rejected"] == [{"index": 0, "errors": {"context_sku": ["Unknown SKU 'NOPE'."]}}]


def test_a_minimal_event_is_enough_and_dated_on_arrival(
    app: Flask, shop: None, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    rid = uuid.uuid4()
    minimal = {"event": "reco_shown", "recommendation_id": str(rid), "suggested_sku": FEET}

    assert send(client, keys, [minimal], role=Role.WEBSHOP)["accepted"] == 1
    session = db.new_session(app)
    with db.read(session):
        stored = session.scalars(select(RecommendationEvent)).one()
    session.close()
    assert (stored.recommendation_id, stored.event, stored.suggested_sku) == (rid, "shown", FEET)
    assert (stored.context_sku, stored.kind, stored.channel) == (None, None, "web")
    assert stored.actor == "test webshop"
    assert stored.occurred_at == stored.received_at == clock()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"events": []},
        {"events": [{"event": "reco_shown"}] * 201},
        {"events": "reco_shown"},
        {"events": [], "visitor": "x"},
    ],
    ids=["missing", "empty", "too-many", "not-a-list", "unknown-field"],
)
def test_a_batch_that_is_not_a_batch_is_422(
    app: Flask, shop: None, client: FlaskClient, keys: Keys, body: dict[str, Any]
) -> None:
    response = client.post(EVENTS, json=body, headers=keys.headers(Role.SELLER))

    assert response.status_code == 422
    assert response.json["code"] == "validation_error"
    assert "events" in response.json["errors"] or "visitor" in response.json["errors"]
    assert stored_events(app) == 0


# --- what counts as sold ----------------------------------------------------------------------


def test_only_sales_of_a_suggested_product_of_a_shown_recommendation_count(
    shop: None, client: FlaskClient, keys: Keys
) -> None:
    rid = recommend(client, keys)["recommendation_id"]
    send(client, keys, [event("reco_shown", rid, FEET)])

    sell(client, keys, WASHER, rid)  # the product the suggestion was for, not the suggestion
    sell(client, keys, KIT, rid)  # suggested by that answer, but never reported shown
    sell(client, keys, FEET, str(uuid.uuid4()))  # an answer nobody reported
    sell(client, keys, FEET, None)
    released = reserve(client, keys, FEET, rid, Role.SELLER)
    client.delete(f"/api/v1/reservations/{released['id']}", headers=keys.headers(Role.SELLER))
    reserve(client, keys, FEET, rid, Role.SELLER)  # held, not sold (yet)

    rows = rows_by_sku(report(client, keys))

    assert set(rows) == {FEET}
    assert (rows[FEET]["shown"], rows[FEET]["sold"], rows[FEET]["revenue"]) == (1, 0, "0.00")


def test_a_web_sale_counts_through_its_reservation_until_the_order_is_cancelled(
    shop: None, client: FlaskClient, keys: Keys
) -> None:
    rid = recommend(client, keys, Role.WEBSHOP)["recommendation_id"]
    send(client, keys, [event("reco_shown", rid, KIT)], role=Role.WEBSHOP)
    held = reserve(client, keys, KIT, rid, Role.WEBSHOP)
    placed = client.post(
        "/api/v1/orders",
        json={"lines": [{"sku": KIT, "quantity": 1}], "reservation_ids": [held["id"]]},
        headers=keys.headers(Role.WEBSHOP, **{"Idempotency-Key": "web-1"}),
    )
    assert placed.status_code == 201, placed.json

    web = rows_by_sku(report(client, keys, channel="web"))
    store = report(client, keys, channel="store")
    cancel = client.post(
        f"/api/v1/orders/{placed.json['id']}/cancel", headers=keys.headers(Role.WEBSHOP)
    )
    assert cancel.status_code == 200, cancel.json
    cancelled = rows_by_sku(report(client, keys))

    assert (web[KIT]["shown"], web[KIT]["sold"], web[KIT]["revenue"]) == (1, 1, KIT_PRICE)
    assert store["rows"] == []
    assert (cancelled[KIT]["shown"], cancelled[KIT]["sold"]) == (1, 0)


# --- by day, CSV, the period --------------------------------------------------------------------


def test_by_day_every_day_of_the_period_in_the_shops_time_zone(
    shop: None, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    rid = str(uuid.uuid4())
    send(
        client,
        keys,
        [
            event("reco_shown", rid, FEET, occurred_at="2026-11-25T10:00:00+01:00"),
            # 23:30 UTC on the 25th is already the 26th in Paris.
            event("reco_shown", rid, KIT, occurred_at="2026-11-25T23:30:00+00:00"),
            event("reco_accepted", rid, FEET, occurred_at="2026-11-26T09:00:00+00:00"),
        ],
    )
    sell(client, keys, FEET, rid)  # today

    body = report(client, keys, **{"from": "2026-11-24", "group": "day"})

    assert [
        (r["day"], r["shown"], r["accepted"], r["sold"], r["revenue"]) for r in body["rows"]
    ] == [
        ("2026-11-24", 0, 0, 0, "0.00"),
        ("2026-11-25", 1, 0, 0, "0.00"),
        ("2026-11-26", 1, 1, 0, "0.00"),
        ("2026-11-27", 0, 0, 1, FEET_PRICE),
    ]
    assert body["rows"][0]["acceptance_rate"] is None  # nothing shown: no rate
    assert "sku" not in body["rows"][0]
    assert (body["totals"]["shown"], body["totals"]["sold"]) == (2, 1)


@pytest.mark.parametrize(
    ("group", "header", "first"),
    [
        (
            "product",
            ["sku", "name", "shown", "accepted", "sold", "units", "acceptance_rate"],
            [FEET, FEET_NAME, "1", "1", "1", "1", "1.0"],
        ),
        ("day", ["day", "shown", "accepted", "sold", "units"], [TODAY, "2", "1", "1", "1"]),
    ],
)
def test_csv_export_has_a_header_row_and_a_file_name(
    shop: None,
    client: FlaskClient,
    keys: Keys,
    group: str,
    header: list[str],
    first: list[str],
) -> None:
    rid = recommend(client, keys)["recommendation_id"]
    send(
        client,
        keys,
        [
            event("reco_shown", rid, FEET),
            event("reco_shown", rid, KIT),
            event("reco_accepted", rid, FEET),
        ],
    )
    sell(client, keys, FEET, rid)

    response = client.get(
        REPORT,
        query_string={"from": TODAY, "to": TODAY, "group": group, "format": "csv"},
        headers=keys.headers(Role.OWNER),
    )

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="recommendations-{group}-{TODAY}-{TODAY}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][: len(header)] == header
    assert rows[0][-3:] == ["acceptance_rate", "conversion_rate", "revenue"]
    assert rows[1][: len(first)] == first
    assert rows[1][-1] == FEET_PRICE
    assert len(rows) == (3 if group == "product" else 2)


def test_without_dates_the_report_covers_the_last_30_days(
    shop: None, client: FlaskClient, keys: Keys
) -> None:
    response = client.get(REPORT, headers=keys.headers(Role.OWNER))

    assert response.status_code == 200, response.json
    assert (response.json["from"], response.json["to"]) == ("2026-10-29", TODAY)
    assert response.json["rows"] == []


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"from": "2026-11-27", "to": "2026-11-26"}, {"to"}),
        ({"from": "2025-11-26", "to": "2026-11-27"}, {"to"}),  # 367 days
        ({"from": "2026-12-01"}, {"to"}),  # after today, the default end
        ({"from": "27/11/2026", "to": "2026-11-27"}, {"from"}),
        ({"to": "2026-02-30"}, {"to"}),
        ({"group": "week", "format": "xlsx"}, {"group", "format"}),
        ({"channel": "phone"}, {"channel"}),
        ({"form": "2026-11-01"}, {"form"}),
    ],
)
def test_an_invalid_report_query_is_422_naming_fields(
    shop: None, client: FlaskClient, keys: Keys, params: dict[str, str], fields: set[str]
) -> None:
    response = client.get(REPORT, query_string=params, headers=keys.headers(Role.OWNER))

    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_error"
    assert set(response.json["errors"]) == fields


def test_a_full_year_is_allowed(shop: None, client: FlaskClient, keys: Keys) -> None:
    body = report(client, keys, **{"from": "2025-11-27", "group": "day"})

    assert len(body["rows"]) == 366


# --- roles and cost ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "events", "report_status"),
    [
        (Role.ADMIN, 200, 200),
        (Role.OWNER, 200, 200),
        (Role.SELLER, 200, 403),
        (Role.WEBSHOP, 200, 403),
        (Role.DEVICE, 403, 403),
    ],
)
def test_roles(
    shop: None, client: FlaskClient, keys: Keys, role: Role, events: int, report_status: int
) -> None:
    batch = {"events": [event("reco_shown", str(uuid.uuid4()), FEET)]}

    sent = client.post(EVENTS, json=batch, headers=keys.headers(role))
    read = client.get(REPORT, headers=keys.headers(role))

    assert (sent.status_code, read.status_code) == (events, report_status)
    assert client.post(EVENTS, json=batch).status_code == 401
    assert client.get(REPORT).status_code == 401


def test_a_batch_costs_two_statements_and_a_reservation_with_a_recommendation_four(
    app: Flask, shop: None, clock: FrozenClock
) -> None:
    rid = uuid.uuid4()
    batch = [event("reco_shown", str(rid), sku) for sku in (FEET, KIT)]
    session = db.new_session(app)
    with count_statements(db.engine_for(app)) as recorded, db.write(session):
        result = feedback.record_events(
            session, batch, channel="store", actor="Tablet 1", now=clock()
        )
    with count_statements(db.engine_for(app)) as reserved, db.write(session):
        held = stock.reserve(
            session,
            sku=FEET,
            quantity=1,
            channel=Channel.STORE,
            location=None,
            ttl_seconds=None,
            note=None,
            actor="Tablet 1",
            now=clock(),
            policy=app.extensions["comptoir_policy"],
            recommendation_id=rid,
        )
    session.close()

    assert result == feedback.BatchResult(accepted=2, duplicates=0, rejected=[])
    assert recorded.count == 2, recorded.statements
    assert reserved.count <= 4, reserved.statements
    assert held.recommendation_id == rid
