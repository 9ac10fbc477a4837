"""The demo browsing: a deterministic generator of valid tracker batches, and its CLI seed.

The generator is checked on what it produces (the behaviours the reports are meant to find are
really in the data), then its batches go through the real ingest with zero rejections, and
``flask seed-browsing`` loads a small history once.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from seeds import demo_browsing as browsing
from store_api import db
from store_api.analytics import rollup
from store_api.clickstream import service
from store_api.clickstream.models import ClickEvent, Visit
from tests.fixtures.clock import FrozenClock

END = FrozenClock().current  # 2026-11-27 09:30 UTC, a Friday
PARIS = browsing.TIMEZONE

Events = list[dict[str, Any]]


@pytest.fixture(scope="module")
def products() -> list[browsing.Product]:
    return browsing.load_catalog()


@pytest.fixture(scope="module")
def by_sku(products: list[browsing.Product]) -> dict[str, browsing.Product]:
    return {p.sku: p for p in products}


@pytest.fixture(scope="module")
def weeks(products: list[browsing.Product]) -> list[browsing.Batch]:
    """Three weeks of the demo shop: enough visits for the behaviours to show."""
    return list(browsing.generate(products, end=END, days=21))


def by_visit(batches: Sequence[browsing.Batch]) -> dict[int, Events]:
    visits: dict[int, Events] = defaultdict(list)
    for batch in batches:
        visits[batch.visit].extend(batch.events)
    return visits


def humans(batches: Sequence[browsing.Batch]) -> dict[int, Events]:
    return by_visit([b for b in batches if b.browser.device != "bot"])


def named(events: Events, name: str) -> Events:
    return [e for e in events if e["name"] == name]


def bought(events: Events) -> list[dict[str, Any]]:
    return [item for e in named(events, "purchase") for item in e["params"]["items"]]


def longest_look(events: Events) -> str | None:
    dwell: Counter[str] = Counter()
    for e in named(events, "engagement"):
        dwell[e["params"]["items"][0]["item_id"]] += e["params"]["engaged_ms"]
    return dwell.most_common(1)[0][0] if dwell else None


def first_page(events: Events) -> tuple[str, str]:
    return events[0]["page"], events[0]["referrer"]


# --- determinism ---------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_batches(products: list[browsing.Product]) -> None:
    first = list(browsing.generate(products, end=END, days=2, seed=7))
    second = list(browsing.generate(products, end=END, days=2, seed=7))
    other = list(browsing.generate(products, end=END, days=2, seed=8))

    assert first == second
    assert json.dumps([b.body() for b in first]) == json.dumps([b.body() for b in second])
    assert [b.body() for b in other] != [b.body() for b in first]


def test_the_product_order_does_not_matter(products: list[browsing.Product]) -> None:
    forwards = list(browsing.generate(products, end=END, days=1, seed=3))
    backwards = list(browsing.generate(products[::-1], end=END, days=1, seed=3))

    assert forwards == backwards


def test_batches_arrive_in_order_and_never_from_the_future(
    weeks: list[browsing.Batch],
) -> None:
    arrivals = [b.received_at for b in weeks]

    assert arrivals == sorted(arrivals)
    assert arrivals[-1] <= END
    first_day = (END.astimezone(PARIS) - dt.timedelta(days=20)).date()
    assert arrivals[0].astimezone(PARIS).date() == first_day
    for batch in weeks:
        stamps = [e["ts"] for e in batch.events]
        assert stamps == sorted(stamps)
        assert stamps[-1] <= batch.received_at.timestamp() * 1000
        assert len({e["page"] for e in batch.events}) == 1  # one page per batch (page hide)
        assert batch.events[0]["name"] == "page_view"


def test_event_ids_are_unique(weeks: list[browsing.Batch]) -> None:
    ids = [e["event_id"] for b in weeks for e in b.events]

    assert len(ids) == len(set(ids))


# --- realism -------------------------------------------------------------------------------


def test_traffic_has_a_daily_volume_a_weekly_rhythm_and_paris_hours(
    weeks: list[browsing.Batch],
) -> None:
    starts: dict[int, dt.datetime] = {}
    for batch in weeks:
        starts.setdefault(batch.visit, batch.received_at.astimezone(PARIS))
    full_days = Counter(t.date() for t in starts.values() if t.date() < END.date())
    per_weekday: dict[int, list[int]] = defaultdict(list)
    for day, n in full_days.items():
        per_weekday[day.isoweekday()].append(n)
    hours = Counter(t.hour for t in starts.values())

    assert 150 <= statistics.median(full_days.values()) <= 300
    weekend = statistics.mean(per_weekday[6] + per_weekday[7])
    weekdays = statistics.mean(n for d in range(1, 6) for n in per_weekday[d])
    assert weekend > 1.15 * weekdays
    assert hours[20] > 5 * hours[3]
    assert hours[12] > 3 * hours[5]


def test_every_source_and_device_converts_differently(weeks: list[browsing.Batch]) -> None:
    device_of = {b.visit: b.browser.device for b in weeks}
    visits: Counter[str] = Counter()
    purchases: Counter[str] = Counter()
    for number, events in humans(weeks).items():
        page, referrer = first_page(events)
        source = (
            "newsletter"
            if "utm_source=newsletter&utm_medium=email&utm_campaign=" in page
            else "facebook"
            if "utm_source=facebook&utm_medium=cpc&utm_campaign=" in page
            else referrer.split("/")[2]
            if referrer
            else "direct"
        )
        for key in (source, device_of[number]):
            visits[key] += 1
            purchases[key] += bool(named(events, "purchase"))
    rate = {key: purchases[key] / visits[key] for key in visits}

    assert {"direct", "www.google.fr", "www.bing.com", "newsletter", "facebook"} <= set(visits)
    assert {"www.idealo.fr", "www.ledenicheur.fr"} <= set(visits)
    assert {"mobile", "desktop", "tablet"} <= set(visits)
    assert all(purchases[key] > 0 for key in visits), purchases
    assert rate["mobile"] < rate["desktop"]
    assert rate["facebook"] < rate["www.google.fr"] < rate["www.idealo.fr"]


def test_big_appliances_are_studied_for_minutes_accessories_for_seconds(
    weeks: list[browsing.Batch],
) -> None:
    dwell: dict[str, list[int]] = defaultdict(list)
    for batch in weeks:
        for e in named(batch.events, "engagement"):
            assert 0 <= e["params"]["scroll_depth"] <= 100
            dwell[e["params"]["items"][0]["item_category"]].append(e["params"]["engaged_ms"])

    assert statistics.median(dwell["Réfrigérateurs"]) > 60_000
    assert statistics.median(dwell["Accessoires"]) < 20_000
    assert statistics.median(dwell["Lave-linge"]) > 5 * statistics.median(dwell["Accessoires"])


def test_big_purchases_take_longer_and_more_pages_than_small_ones(
    weeks: list[browsing.Batch],
) -> None:
    minutes: dict[str, list[float]] = defaultdict(list)
    pages: dict[str, list[int]] = defaultdict(list)
    for events in humans(weeks).values():
        purchase = named(events, "purchase")
        if not purchase:
            continue
        first_view = named(events, "view_item")[0]
        kind = "big" if purchase[0]["params"]["items"][0]["item_category"] in browsing.BIG else ""
        kind = kind or ("small" if purchase[0]["params"]["value"] < 100 else "")
        if kind:
            minutes[kind].append((purchase[0]["ts"] - first_view["ts"]) / 60_000)
            pages[kind].append(len(named(events, "page_view")))

    assert statistics.median(minutes["big"]) > 2 * statistics.median(minutes["small"])
    assert statistics.median(pages["big"]) > statistics.median(pages["small"])


def test_some_big_purchases_happen_in_a_later_visit(weeks: list[browsing.Batch]) -> None:
    returning = [
        events
        for events in humans(weeks).values()
        if named(events, "purchase")
        and not named(events, "view_item_list")
        and not named(events, "search")
        and len(named(events, "view_item")) <= 2
        and events[0]["page"].startswith(browsing.SHOP + "/p/")
        and events[0]["params"] == {}
        and first_page(events)[1] in ("", "https://www.google.fr/")
    ]

    assert any(bought(e)[0]["item_category"] in browsing.BIG for e in returning)


def test_visitors_buy_another_model_than_the_one_they_studied(
    weeks: list[browsing.Batch], by_sku: dict[str, browsing.Product]
) -> None:
    substitutions, colour_swaps = [], []
    for events in humans(weeks).values():
        items = bought(events)
        studied = longest_look(events)
        if not items or studied is None or studied in {i["item_id"] for i in items}:
            continue
        same_category = [i for i in items if i["item_category"] == by_sku[studied].category]
        if same_category:
            substitutions.append(studied)
        for item in same_category:
            other = by_sku[item["item_id"]]
            if other.name == by_sku[studied].name and other.colour != by_sku[studied].colour:
                colour_swaps.append((studied, other.sku))

    assert len(substitutions) >= 20
    assert len(colour_swaps) >= 5
    assert len({sku for sku, _ in colour_swaps}) >= 3


def test_searches_include_typos_and_terms_with_no_result(
    weeks: list[browsing.Batch], products: list[browsing.Product]
) -> None:
    searches = [e["params"] for b in weeks for e in named(b.events, "search")]
    empty = {s["search_term"] for s in searches if s["search_results"] == 0}

    assert {"sèche-linge pompe à chaleur 10kg", "refrigirateur", "frigo"} <= empty
    assert 0.05 < len([s for s in searches if s["search_results"] == 0]) / len(searches) < 0.4
    for term in ("machine à café", "lave vaisselle"):
        assert browsing.search_results(term, products) > 0
        assert term not in empty


def test_abandonment_rises_with_the_fee_and_the_distance_to_free_delivery() -> None:
    leaves = browsing.abandonment_probability
    fee = browsing.delivery_fee

    assert fee(Decimal("300.00"), "Corse et zones éloignées") == 0
    assert fee(Decimal("299.99"), "Lyon et Métropole") == Decimal("9.90")
    assert leaves(Decimal("0"), Decimal("350")) < leaves(Decimal("9.90"), Decimal("280"))
    assert leaves(Decimal("9.90"), Decimal("280")) < leaves(Decimal("19.90"), Decimal("280"))
    assert leaves(Decimal("19.90"), Decimal("280")) < leaves(Decimal("39.00"), Decimal("280"))
    nineteen = Decimal("19.90")
    assert leaves(nineteen, Decimal("280")) < leaves(nineteen, Decimal("120"))
    assert leaves(nineteen, Decimal("120")) < leaves(nineteen, Decimal("20"))


def test_carts_are_abandoned_more_with_a_fee_and_far_from_free_delivery(
    weeks: list[browsing.Batch],
) -> None:
    by_fee: dict[float, list[bool]] = defaultdict(list)
    by_distance: dict[str, list[bool]] = defaultdict(list)
    topped_up = 0
    for events in humans(weeks).values():
        shown = named(events, "delivery_fee_shown")
        if not shown:
            continue
        last = shown[-1]["params"]
        assert last["free_threshold"] == 300.0
        assert (last["fee"] == 0) == (last["cart_value"] >= 300)
        left = not named(events, "purchase")
        by_fee[last["fee"]].append(left)
        if last["fee"]:
            by_distance["near" if 300 - last["cart_value"] < 100 else "far"].append(left)
        if shown[0]["params"]["fee"] > 0 and last["fee"] == 0:
            topped_up += 1  # added something to reach free delivery
    fee_rate = {fee: sum(left) / len(left) for fee, left in by_fee.items()}
    distance_rate = {group: sum(left) / len(left) for group, left in by_distance.items()}

    assert set(by_fee) == {0.0, 9.9, 19.9, 39.0}
    assert len(by_fee[0.0]) >= 100
    assert len(by_fee[9.9]) >= 20
    assert len(by_fee[19.9]) >= 40
    assert fee_rate[0.0] + 0.2 < fee_rate[9.9] < fee_rate[19.9]
    assert len(by_distance["near"]) >= 8
    assert distance_rate["near"] + 0.2 < distance_rate["far"]
    assert topped_up >= 3


def test_purchases_carry_what_the_reports_need(weeks: list[browsing.Batch]) -> None:
    purchases = [e["params"] for b in weeks for e in named(b.events, "purchase")]
    transactions = [p["transaction_id"] for p in purchases]

    assert len(purchases) >= 100
    assert len(set(transactions)) == len(transactions)
    for p in purchases:
        assert p["currency"] == "EUR"
        total = sum(Decimal(str(i["price"])) * i["quantity"] for i in p["items"])
        assert Decimal(str(p["value"])) == total
        assert p["shipping"] in (0, 9.9, 19.9, 39.0)
        if total >= browsing.FREE_THRESHOLD:
            assert p["shipping"] == 0


def test_robots_visit_too(weeks: list[browsing.Batch]) -> None:
    robots = [b for b in weeks if b.browser.device == "bot"]

    assert 0.01 < len({b.visit for b in robots}) / len({b.visit for b in weeks}) < 0.08
    assert all(not named(b.events, "engagement") for b in robots)
    agents = " ".join({b.browser.user_agent for b in robots})
    assert "Googlebot" in agents
    assert "HeadlessChrome" in agents


# --- through the real ingest ---------------------------------------------------------------


def _collect(app: Flask, batches: Sequence[browsing.Batch]) -> list[service.CollectResult]:
    settings = service.CollectSettings.from_config(app.config)
    session = db.new_session(app)
    results = []
    with db.write(session):
        for batch in batches:
            client = service.ClientInfo(batch.browser.ip, batch.browser.user_agent)
            results.append(
                service.collect(
                    session, batch.events, client=client, now=batch.received_at, settings=settings
                )
            )
    session.close()
    return results


def test_every_generated_event_is_accepted_by_the_ingest(
    app: Flask, products: list[browsing.Product]
) -> None:
    batches = list(browsing.generate(products, end=END, days=2, visits_per_day=60, seed=11))

    results = _collect(app, batches)

    assert [r.rejected for r in results if r.rejected] == []
    human = [(b, r) for b, r in zip(batches, results, strict=True) if b.browser.device != "bot"]
    assert all(not r.bot and r.accepted == len(b.events) for b, r in human)
    robots = [r for b, r in zip(batches, results, strict=True) if b.browser.device == "bot"]
    assert robots and all(r.bot and r.accepted == 0 for r in robots)
    session = db.new_session(app)
    with db.read(session):
        stored = session.scalar(select(func.count()).select_from(ClickEvent))
        visits = session.execute(select(Visit.source, Visit.device)).all()
    session.close()
    assert stored == sum(len(b.events) for b, _r in human)
    # The visitor is a hash under the UTC day's salt: a visit across midnight UTC is two.
    assert len(visits) == len({(b.visit, b.received_at.date()) for b, _r in human})
    assert {"direct", "google", "facebook", "newsletter"} <= {v.source for v in visits}
    assert {"mobile", "desktop"} <= {v.device for v in visits}


def test_a_day_of_batches_posted_to_collect_is_accepted(
    client: FlaskClient, products: list[browsing.Product], clock: FrozenClock
) -> None:
    batches = [
        b
        for b in browsing.generate(products, end=END, days=1, visits_per_day=40, seed=5)
        if b.browser.device != "bot"
    ][-40:]
    clock.current = batches[-1].received_at

    responses = [
        client.post(
            "/api/v1/collect",
            data=json.dumps(batch.body()),
            content_type="text/plain",
            headers={"User-Agent": batch.browser.user_agent},
            environ_base={"REMOTE_ADDR": batch.browser.ip},
        )
        for batch in batches
    ]

    assert {r.status_code for r in responses} == {200}, responses[0].get_data(as_text=True)
    answers = [r.get_json() for r in responses]
    assert [a["rejected"] for a in answers if a["rejected"]] == []
    assert sum(a["accepted"] for a in answers) == sum(len(b.events) for b in batches)


# --- flask seed-browsing -------------------------------------------------------------------


def test_seed_browsing_loads_a_week_once(
    app: Flask, runner: FlaskCliRunner, clock: FrozenClock
) -> None:
    assert runner.invoke(args=["seed", "--no-keys"]).exit_code == 0

    first = runner.invoke(args=["seed-browsing", "--weeks", "1", "--visits-per-day", "25"])
    again = runner.invoke(args=["seed-browsing", "--weeks", "1", "--visits-per-day", "25"])

    assert first.exit_code == 0, first.output
    assert " 0 rejected" in first.output
    assert again.exit_code == 0, again.output
    assert "already has events; no demo browsing added" in again.output
    session = db.new_session(app)
    with db.read(session):
        events = session.scalar(select(func.count()).select_from(ClickEvent)) or 0
        days = {v.astimezone(PARIS).date() for v in session.scalars(select(Visit.started_at))}
        pending = rollup.pending(session)
    session.close()
    assert events > 500
    assert f"{events} event(s)" in first.output
    today = clock().astimezone(PARIS).date()
    assert max(days) == today
    assert min(days) == today - dt.timedelta(days=6)
    assert pending == 0  # the reports are up to date


def test_seed_browsing_leaves_a_real_shop_alone(app: Flask, runner: FlaskCliRunner) -> None:
    from tests.fixtures.shop import add_product

    add_product(app, "MY-OWN-WASHER", {"floor": 1})

    result = runner.invoke(args=["seed-browsing", "--weeks", "1"])

    assert result.exit_code == 0, result.output
    assert "looks like a real shop" in result.output
    session = db.new_session(app)
    with db.read(session):
        assert session.scalar(select(func.count()).select_from(ClickEvent)) == 0
    session.close()
