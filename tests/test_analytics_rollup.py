"""Incremental rollups: folding in chunks, as events arrive, equals folding all at once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Table, select, text

from store_api import db
from store_api.analytics import rollup
from store_api.analytics.models import RollupState
from store_api.clickstream import service
from store_api.db import Base
from tests.conftest import BACKEND
from tests.fixtures.browsing import MOBILE, START, Item, Shopper, collect, refresh, report
from tests.fixtures.shop import add_product

RED = Item("LL-ACME-W8-RG", "Rouge", "Lave-linge", "549.00")
WHITE = Item("LL-ACME-W8-BL", "Blanc", "Lave-linge", "499.00")
HOSE = Item("AC-TUYAU-2M", None, "Accessoires", "19.90")


def rollup_tables() -> list[Table]:
    return [
        t
        for t in Base.metadata.sorted_tables
        if t.name.startswith("analytics_") and t.name != "analytics_rollup_state"
    ]


def snapshot(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """Every rollup row; daily rows whose counters all went back to zero do not count."""
    session = db.new_session(app)
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with db.read(session):
        for table in rollup_tables():
            keys = {c.name for c in table.primary_key.columns}
            counters = [i for i, c in enumerate(table.columns) if c.name not in keys]
            rows = [tuple(r) for r in session.execute(select(table))]
            if table.name.startswith("analytics_daily_"):
                rows = [r for r in rows if any(r[i] for i in counters)]
            tables[table.name] = sorted(rows, key=repr)
    session.close()
    return tables


def watermark(app: Flask) -> int:
    session = db.new_session(app)
    with db.read(session):
        value = session.scalar(select(RollupState.value))
    session.close()
    return int(value or 0)


def rebuild(app: Flask) -> None:
    session = db.new_session(app)
    with db.write(session):
        rollup.rebuild(session)
    session.close()


@pytest.fixture
def shop(app: Flask) -> None:
    for item in (RED, WHITE, HOSE):
        add_product(app, item.sku, name="Lave-linge Acme W8", category=item.category or "")


def test_folding_as_events_arrive_equals_folding_them_all_at_once(app: Flask, shop: None) -> None:
    anna = Shopper(referrer="https://www.bing.com/")
    ben = Shopper(user_agent=MOBILE)
    # First batches: anna hesitates over the red washer, ben searches and gives up.
    anna.view(RED).dwell(RED, 120).view(WHITE).dwell(WHITE, 40).add_to_cart(WHITE)
    anna.fee_shown("19.90", "250.00", "300.00")
    ben.search("tuyau", 0).view(HOSE).dwell(HOSE, 5)
    collect(app, anna, ben)
    refresh(app, chunk_size=3)
    # Twenty minutes later, in the same visit: anna comes back, sees free delivery, buys.
    anna.wait(minutes=20).view(RED).dwell(RED, 60).add_to_cart(HOSE)
    anna.fee_shown("0.00", "518.90", "300.00").checkout(WHITE, HOSE).shipping("0.00", WHITE)
    anna.wait(minutes=2).purchase(WHITE, HOSE, transaction_id="A-1")
    ben.wait(minutes=5).search("Tuyau", 4)
    collect(app, anna)
    refresh(app, chunk_size=4)
    collect(app, ben)
    refresh(app, chunk_size=1)
    incremental = snapshot(app)

    rebuild(app)
    folded = refresh(app)

    assert folded == 25
    assert snapshot(app) == incremental
    assert len(incremental["analytics_visits"]) == 2
    fee = report(app, "delivery-fee")
    assert [(r["bucket"], r["visits"], r["abandoned"]) for r in fee if r["visits"]] == [
        ("free", 1, 0),
        ("free delivery reached", 1, 0),
    ]
    swaps = report(app, "viewed-instead", evidence="all")
    assert swaps[0]["median_dwell_s"] == 180.0  # 120 s + 60 s


def test_a_purchase_20_minutes_after_the_fee_turns_abandonment_into_a_sale(
    app: Flask, shop: None
) -> None:
    cora = Shopper()
    cora.view(WHITE).add_to_cart(WHITE).fee_shown("19.90", "250.00", "300.00")
    collect(app, cora)
    refresh(app)
    before = report(app, "delivery-fee")

    cora.wait(minutes=20).purchase(WHITE, shipping="19.90")
    collect(app, cora)
    refresh(app)
    after = report(app, "delivery-fee")

    def distance(rows: list[dict[str, Any]]) -> tuple[Any, ...]:
        row = next(r for r in rows if r["bucket"] == "50-99.99")
        return row["visits"], row["abandoned"], row["abandonment_rate"]

    assert distance(before) == (1, 1, 1.0)
    assert distance(after) == (1, 0, 0.0)
    assert report(app, "funnel")[0]["purchase"] == 1


def test_refresh_is_idempotent(app: Flask, shop: None) -> None:
    collect(app, Shopper().view(RED).dwell(RED, 30).add_to_cart(RED))
    first = refresh(app)
    tables = snapshot(app)

    again = refresh(app)

    assert (first, again) == (4, 0)
    assert snapshot(app) == tables
    assert report(app, "looked-not-bought")[0]["views"] == 1


def test_a_limit_folds_that_many_events_and_the_rest_next_time(app: Flask, shop: None) -> None:
    collect(app, Shopper().view(RED).view(WHITE).view(HOSE))

    first = refresh(app, limit=4)
    behind = watermark(app)
    rest = refresh(app, limit=4)

    assert (first, rest) == (4, 2)
    assert behind == 4
    assert report(app, "funnel")[0]["product_view"] == 1
    assert [r["views"] for r in report(app, "looked-not-bought")] == [1, 1, 1]


def test_the_same_transaction_sent_twice_is_one_sale(app: Flask, shop: None) -> None:
    dora = Shopper().view(WHITE).purchase(WHITE, transaction_id="T-9")
    dora.wait(seconds=10).purchase(WHITE, transaction_id="T-9")  # the thank-you page reloaded
    collect(app, dora)
    refresh(app)

    row = report(app, "sources")[0]

    assert (row["purchases"], row["revenue"]) == (1, Decimal("499.00"))


def test_refresh_inside_the_callers_transaction_folds_everything_there(
    app: Flask, shop: None
) -> None:
    collect(app, Shopper().view(RED), Shopper().view(WHITE))
    session = db.new_session(app)
    with db.write(session):
        folded = rollup.refresh(session, now=START, chunk_size=1)
    session.close()

    assert folded == 4
    assert report(app, "funnel")[0]["visits"] == 2


def test_purge_deletes_the_rollup_rows_of_old_days_only(app: Flask, shop: None) -> None:
    old = Shopper(at=START - dt.timedelta(days=3)).view(RED).purchase(RED)
    recent = Shopper().view(WHITE).search("hublot", 0)
    collect(app, old, recent)
    refresh(app)
    session = db.new_session(app)

    with db.write(session):
        deleted = rollup.purge(session, before=START.date() - dt.timedelta(days=1))
    session.close()

    assert deleted > 0
    everything = report(app, "funnel", START.date() - dt.timedelta(days=5), START.date())
    assert everything[0]["visits"] == 1
    assert report(app, "time-to-purchase", START.date() - dt.timedelta(days=5)) == []
    assert report(app, "site-search")[0]["term"] == "hublot"
    assert all(len(rows) <= 1 for rows in snapshot(app).values())


@pytest.mark.skipif(BACKEND != "postgresql", reason="SQLite has one writer at a time")
def test_an_event_committed_after_a_later_one_is_not_skipped(app: Flask, shop: None) -> None:
    collect(app, Shopper().view(RED))  # the day's visitor salt, committed
    refresh(app)
    slow = db.new_session(app)
    slow.begin()
    service.collect(
        slow,
        Shopper().view(WHITE).take(),
        client=service.ClientInfo(ip="192.0.2.1", user_agent="Mozilla/5.0 Firefox/133.0"),
        now=START,
    )
    collect(app, Shopper().view(HOSE))  # larger ids, committed first
    folded: list[int] = []
    folder = threading.Thread(target=lambda: folded.append(refresh(app)))

    folder.start()
    _wait_for_a_lock_wait(app)
    slow.commit()
    slow.close()
    folder.join(timeout=60)

    assert folded == [4]
    assert len(report(app, "looked-not-bought")) == 3


def _wait_for_a_lock_wait(app: Flask) -> None:
    """Until the refresh waits for the open ingest transaction (or gives up after 30 s)."""
    deadline = time.monotonic() + 30
    with db.engine_for(app).connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND query LIKE 'LOCK TABLE clickstream%'"
                )
            ).scalar()
            conn.rollback()
            if waiting:
                return
            time.sleep(0.01)


def test_nothing_to_fold_writes_nothing(app: Flask) -> None:
    assert refresh(app) == 0
    assert watermark(app) == 0


# --- the pieces -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dwell_ms", "bucket"),
    [(0, 0), (999, 0), (1000, 1), (1259, 1), (1260, 2), (2000, 4), (60_000, 18), (10**9, 39)],
)
def test_dwell_buckets_are_log_spaced(dwell_ms: int, bucket: int) -> None:
    assert rollup.dwell_bucket(dwell_ms) == bucket


@pytest.mark.parametrize(
    "dwells",
    [[180], [3, 5], [20, 60, 100, 180], [7, 7, 8, 9, 1200], [0.4, 30, 31, 32, 600, 601]],
)
def test_the_histogram_median_is_within_12_percent(dwells: list[float]) -> None:
    counts = [0] * rollup.DWELL_BUCKETS
    for seconds in dwells:
        counts[rollup.dwell_bucket(int(seconds * 1000))] += 1
    ordered = sorted(dwells)
    middle = len(ordered) // 2
    exact = ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2

    assert rollup.histogram_median(counts) == pytest.approx(exact, rel=0.12)
    assert rollup.histogram_median([0] * rollup.DWELL_BUCKETS) is None


@pytest.mark.parametrize(
    ("cart", "threshold", "label"),
    [
        ("250.00", "300.00", "50-99.99"),
        ("299.99", "300.00", "0.01-9.99"),
        ("300.00", "300.00", "free delivery reached"),
        ("80.00", "300.00", "200 and more"),
        ("80.00", None, "no free delivery threshold"),
    ],
)
def test_distance_to_free_delivery_buckets(cart: str, threshold: str | None, label: str) -> None:
    order = rollup.distance_bucket(Decimal(cart), Decimal(threshold) if threshold else None)

    assert rollup.DISTANCE_BUCKETS[order].label == label


@pytest.mark.parametrize(
    ("fee", "label"),
    [("0.00", "free"), ("4.99", "0.01-4.99"), ("19.90", "15-19.99"), ("49.00", "30 and more")],
)
def test_fee_buckets(fee: str, label: str) -> None:
    assert rollup.FEE_BUCKETS[rollup.fee_bucket(Decimal(fee))].label == label


@pytest.mark.parametrize(
    ("viewed", "bought", "swap"),
    [
        (("LL-SAM-WW90T534-NR", "Noir"), ("LL-SAM-WW90T534-BL", "Blanc"), True),
        (("LL-SAM-WW90T534-BL", "Blanc"), ("LL-BOS-WAN28-BL", "Blanc"), False),
        (("LL-SAM-WW90T534-BL", "Blanc"), ("LL-SAM-WW11BB944-NR", "Noir"), False),
        (("LL-8KG", "Rouge"), ("LL-9KG", "Blanc"), False),
        (("X100", "Rouge"), ("X101", "Blanc"), True),  # same name once the colour is out
        (("X100", None), ("X101", "Blanc"), False),
    ],
)
def test_a_colour_swap_is_the_same_product_in_another_colour(
    viewed: tuple[str, str | None], bought: tuple[str, str | None], swap: bool
) -> None:
    names = {"X100": "Frigo Rétro Rouge", "X101": "Frigo rétro blanc", "LL-8KG": "A", "LL-9KG": "B"}

    assert rollup.is_colour_swap(viewed[0], viewed[1], bought[0], bought[1], names) is swap


def test_search_terms_are_normalised() -> None:
    assert rollup.normalise_term("  Réfrigérateur   Américain ") == "refrigerateur americain"
