"""The owner's browsing reports on small hand-computed visits, through the real ingest.

The shop: a washing machine in red and in white (one product family), another white washer,
a dryer and a hose. Visitors browse on 2026-11-27 from 10:00 Paris time (09:00 UTC).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from recommender.stats import wilson_lower_bound
from store_api import db
from store_api.analytics import reports
from store_api.errors import Invalid, NotFound
from store_api.recommendations import feedback
from tests.fixtures.browsing import (
    DESKTOP,
    MOBILE,
    START,
    TABLET,
    Item,
    Shopper,
    collect,
    refresh,
    report,
)
from tests.fixtures.shop import add_product

RED = Item("LL-ACME-W8-RG", "Rouge", "Lave-linge", "549.00")
WHITE = Item("LL-ACME-W8-BL", "Blanc", "Lave-linge", "499.00")
OTHER = Item("LL-ZETA-W9-BL", "Blanc", "Lave-linge", "649.00")
DRYER = Item("SL-ACME-D8-GA", "Gris anthracite", "Sèche-linge", "699.00")
HOSE = Item("AC-TUYAU-2M", None, "Accessoires", "19.90")
DAY = START.date()


@pytest.fixture
def shop(app: Flask) -> None:
    for item, name in (
        (RED, "Lave-linge Acme W8 8 kg"),
        (WHITE, "Lave-linge Acme W8 8 kg"),
        (OTHER, "Lave-linge Zeta W9 9 kg"),
        (DRYER, "Sèche-linge Acme D8"),
        (HOSE, "Tuyau d'arrivée 2 m"),
    ):
        add_product(
            app,
            item.sku,
            name=name,
            category=item.category or "",
            price=item.price,
            colour=item.variant or "",
        )


def alice() -> Shopper:
    """Desktop, from Google: 3 min on the red washer, buys the white one 7 minutes after her
    first product view, 5 pages (red, white, search, checkout, thank-you)."""
    s = Shopper(referrer="https://www.google.com/search?q=lave-linge")
    s.page("/").wait(minutes=1).view(RED).dwell(RED, 180)
    s.view(WHITE).dwell(WHITE, 30).add_to_cart(WHITE)
    s.fee_shown("0.00", "499.00", "300.00").search("Frigo  Rouge", 3)
    s.wait(seconds=30).checkout(WHITE).shipping("0.00", WHITE)
    s.wait(minutes=3).purchase(WHITE, transaction_id="T-1")
    return s


def bob() -> Shopper:
    """Mobile, direct: 1 min on the red washer, puts it in the cart, sees a 19.90 fee at 250
    with free delivery from 300, leaves."""
    s = Shopper(user_agent=MOBILE)
    s.view(RED).dwell(RED, 60).add_to_cart(RED)
    s.fee_shown("19.90", "250.00", "300.00")
    s.search("frigo rouge", 0)
    return s


def chloe() -> Shopper:
    """Tablet, newsletter campaign: views the red washer twice (20 s), nothing else."""
    s = Shopper(user_agent=TABLET, utm="utm_source=newsletter&utm_medium=email&utm_campaign=soldes")
    s.view(RED).dwell(RED, 20).page("/").view(RED)
    s.search("Réfrigérateur", 0)
    return s


def dan() -> Shopper:
    """Desktop, from Google: looks long at a dryer and at another washer, buys the white washer
    and a hose 12 minutes after the first product view, 7 pages (5 products, checkout,
    thank-you)."""
    s = Shopper(referrer="https://www.google.fr/")
    s.view(DRYER).dwell(DRYER, 200).view(OTHER).dwell(OTHER, 300).view(RED).dwell(RED, 100)
    s.view(WHITE).dwell(WHITE, 10).view(HOSE).dwell(HOSE, 5)
    s.wait(minutes=1).checkout(WHITE, HOSE).shipping("9.90", WHITE, HOSE)
    s.fee_shown("9.90", "518.90", None)
    s.wait(seconds=45).purchase(WHITE, HOSE, shipping="9.90", transaction_id="T-2")
    return s


@pytest.fixture
def browsed(app: Flask, shop: None) -> None:
    collect(app, alice(), bob(), chloe(), dan())
    refresh(app)


def by(rows: list[dict[str, Any]], **match: Any) -> dict[str, Any]:
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, rows)
    return found[0]


def test_looked_at_a_lot_rarely_bought(app: Flask, browsed: None) -> None:
    rows = report(app, "looked-not-bought")

    red = rows[0]
    assert {k: v for k, v in red.items() if k != "median_dwell_s"} == {
        "sku": RED.sku,
        "name": "Lave-linge Acme W8 8 kg",
        "category": "Lave-linge",
        "views": 5,  # alice, bob, chloe twice, dan
        "visits": 4,
        "cart_rate": 0.25,  # bob
        "purchase_rate": 0.0,
    }
    # Dwell per visit 180, 60, 20, 100 s: the median is 80 s, read from a histogram.
    assert red["median_dwell_s"] == pytest.approx(80, rel=0.13)
    white = by(rows, sku=WHITE.sku)
    assert (white["views"], white["visits"], white["cart_rate"], white["purchase_rate"]) == (
        2,
        2,
        0.5,
        1.0,
    )
    assert white["median_dwell_s"] == pytest.approx(20, rel=0.13)  # 30 s and 10 s


def test_looked_long_at_x_bought_y_instead(app: Flask, browsed: None) -> None:
    rows = report(app, "viewed-instead", evidence="all")

    assert report(app, "viewed-instead") == []  # one visit each: not shown by default
    assert rows == [
        {
            # Dan looked longest at the Zeta washer (300 s) of the washers he did not buy; the
            # dryer (200 s) is another category, the hose he bought has no rival.
            "viewed_sku": OTHER.sku,
            "viewed_name": "Lave-linge Zeta W9 9 kg",
            "viewed_variant": "Blanc",
            "bought_sku": WHITE.sku,
            "bought_name": "Lave-linge Acme W8 8 kg",
            "bought_variant": "Blanc",
            "visits": 1,
            "share": 1.0,  # Dan is the only one who looked longest at the Zeta washer
            "share_low": pytest.approx(0.2065, abs=1e-4),  # Wilson, 1 of 1
            "significant": False,
            "median_dwell_s": 300.0,
            "colour_swap": False,
        },
        {
            "viewed_sku": RED.sku,
            "viewed_name": "Lave-linge Acme W8 8 kg",
            "viewed_variant": "Rouge",
            "bought_sku": WHITE.sku,
            "bought_name": "Lave-linge Acme W8 8 kg",
            "bought_variant": "Blanc",
            "visits": 1,
            "share": 1.0,
            "share_low": pytest.approx(0.2065, abs=1e-4),
            "significant": False,
            "median_dwell_s": 180.0,
            "colour_swap": True,
        },
    ]


def swapper(n: int, looked_at: Item, bought: Item) -> Shopper:
    """A visit that looks at one washer for 2 minutes and buys another."""
    s = Shopper(at=START + dt.timedelta(minutes=40 * n), user_agent=f"{DESKTOP} swapper/{n}")
    s.view(looked_at).dwell(looked_at, 120).view(bought).dwell(bought, 20)
    s.wait(minutes=2).purchase(bought, transaction_id=f"S-{n}")
    return s


def test_only_pairs_that_beat_chance_are_shown_by_default(app: Flask, shop: None) -> None:
    # Of the 8 visits that looked longest at the red washer and bought another washer, 6
    # bought the white one; 2 bought the Zeta. The Zeta, looked at in 6 visits, went to the
    # red one 3 times and to the white one 3 times.
    shoppers = [swapper(n, RED, WHITE) for n in range(6)]
    shoppers += [swapper(n, RED, OTHER) for n in range(6, 8)]
    shoppers += [swapper(n, OTHER, RED) for n in range(8, 11)]
    shoppers += [swapper(n, OTHER, WHITE) for n in range(11, 14)]
    collect(app, *shoppers)
    refresh(app)

    shown = report(app, "viewed-instead")
    every = report(app, "viewed-instead", evidence="all")

    # White is bought in 9 of the category's 14 swaps (0.64): red -> white, 6 of 8, has a
    # lower bound of 0.41, which does not beat it; red -> Zeta (2 visits) is too few.
    # Red is bought in 3 of 14 (0.21): Zeta -> red, 3 of 6, lower bound 0.19, does not.
    assert wilson_lower_bound(6, 8) == pytest.approx(0.409, abs=1e-3)
    assert wilson_lower_bound(3, 6) == pytest.approx(0.188, abs=1e-3)
    assert shown == []
    assert len(every) == 4 and not any(r["significant"] for r in every)
    # 4 more visits go from the Zeta to the red washer: 7 of 10 now, lower bound 0.40, and
    # red is bought in 7 of 18 swaps (0.39).
    collect(app, *[swapper(n, OTHER, RED) for n in range(14, 18)])
    refresh(app)

    shown = report(app, "viewed-instead")

    assert [(r["viewed_sku"], r["bought_sku"], r["visits"]) for r in shown] == [
        (OTHER.sku, RED.sku, 7)
    ]
    assert shown[0]["share"] == 0.7 and shown[0]["significant"] is True
    assert shown[0]["share_low"] == pytest.approx(wilson_lower_bound(7, 10), abs=1e-4)


def test_a_pair_that_beats_chance_needs_three_visits(app: Flask, shop: None) -> None:
    # The white washer was looked at longest twice and both visits bought the Zeta (2 of 2,
    # lower bound 0.34); the Zeta is bought in 2 of the category's 8 swaps (0.25): it beats
    # chance, but two visits are too few to show it.
    shoppers = [swapper(n, WHITE, OTHER) for n in range(2)]
    shoppers += [swapper(n, OTHER, RED) for n in range(2, 8)]
    collect(app, *shoppers)
    refresh(app)

    every = {
        (r["viewed_sku"], r["bought_sku"]): r for r in report(app, "viewed-instead", evidence="all")
    }

    assert wilson_lower_bound(2, 2) > 2 / 8
    assert every[(WHITE.sku, OTHER.sku)]["significant"] is False
    assert report(app, "viewed-instead") == []
    # A third visit: 3 of 3 (lower bound 0.44) against 3 of 9 (0.33), and 3 visits.
    collect(app, swapper(8, WHITE, OTHER))
    refresh(app)

    shown = report(app, "viewed-instead")

    assert [(r["viewed_sku"], r["bought_sku"], r["visits"]) for r in shown] == [
        (WHITE.sku, OTHER.sku, 3)
    ]


def test_funnel_by_device_and_source(app: Flask, browsed: None) -> None:
    rows = report(app, "funnel")

    steps = ("visits", "product_view", "cart", "checkout", "shipping", "purchase")
    table = {(r["device"], r["source"]): tuple(r[s] for s in steps) for r in rows}
    assert rows[0]["device"] == rows[0]["source"] == "all"
    assert table == {
        ("all", "all"): (4, 4, 2, 2, 2, 2),
        ("desktop", "all"): (2, 2, 1, 2, 2, 2),
        ("mobile", "all"): (1, 1, 1, 0, 0, 0),
        ("tablet", "all"): (1, 1, 0, 0, 0, 0),
        ("all", "google"): (2, 2, 1, 2, 2, 2),
        ("all", "direct"): (1, 1, 1, 0, 0, 0),
        ("all", "newsletter"): (1, 1, 0, 0, 0, 0),
    }
    assert [r["device"] for r in rows[1:4]] == ["desktop", "mobile", "tablet"]


def test_delivery_fee_abandonment_by_fee_and_distance_to_free(app: Flask, browsed: None) -> None:
    rows = report(app, "delivery-fee")

    filled = {
        (r["dimension"], r["bucket"]): (r["visits"], r["abandoned"], r["abandonment_rate"])
        for r in rows
        if r["visits"]
    }
    assert filled == {
        ("fee", "free"): (1, 0, 0.0),  # alice: free over 300
        ("fee", "15-19.99"): (1, 1, 1.0),  # bob: 19.90 at 250
        ("fee", "5-9.99"): (1, 0, 0.0),  # dan
        ("distance_to_free", "free delivery reached"): (1, 0, 0.0),
        ("distance_to_free", "50-99.99"): (1, 1, 1.0),  # bob: 300 - 250
        ("distance_to_free", "no free delivery threshold"): (1, 0, 0.0),
    }
    fee_rows = [r for r in rows if r["dimension"] == "fee"]
    assert [r["bucket_order"] for r in fee_rows] == list(range(7))
    assert by(rows, dimension="fee", bucket="free")["bucket_order"] == 0
    assert by(rows, dimension="fee", bucket="20-29.99")["abandonment_rate"] is None


def test_time_to_purchase_by_category(app: Flask, browsed: None) -> None:
    rows = report(app, "time-to-purchase")

    # alice: 7 min, 5 pages; dan: 12 min, 7 pages, and his hose counts for Accessoires.
    assert rows == [
        {"category": "Lave-linge", "purchases": 2, "median_minutes": 9.5, "median_pages": 6.0},
        {"category": "Accessoires", "purchases": 1, "median_minutes": 12.0, "median_pages": 7.0},
    ]


def test_sources_and_campaigns(app: Flask, browsed: None) -> None:
    rows = report(app, "sources")

    assert rows == [
        {
            "source": "google",
            "medium": "organic",
            "campaign": None,
            "visits": 2,
            "purchases": 2,
            "conversion_rate": 1.0,
            "revenue": Decimal("1027.80"),  # 499.00 + (499.00 + 19.90 + 9.90)
            "average_basket": Decimal("513.90"),
        },
        {
            "source": "direct",
            "medium": None,
            "campaign": None,
            "visits": 1,
            "purchases": 0,
            "conversion_rate": 0.0,
            "revenue": Decimal("0.00"),
            "average_basket": None,
        },
        {
            "source": "newsletter",
            "medium": "email",
            "campaign": "soldes",
            "visits": 1,
            "purchases": 0,
            "conversion_rate": 0.0,
            "revenue": Decimal("0.00"),
            "average_basket": None,
        },
    ]


def test_site_search_terms_with_no_result_and_that_led_to_a_purchase(
    app: Flask, browsed: None
) -> None:
    rows = report(app, "site-search")

    assert rows == [
        # "Frigo  Rouge" and "frigo rouge" are one term; alice bought, bob found nothing.
        {
            "term": "frigo rouge",
            "searches": 2,
            "no_result_searches": 1,
            "purchase_visits": 1,
            "purchase_rate": 0.5,
            **NO_API_SEARCHES,
        },
        {
            "term": "refrigerateur",
            "searches": 1,
            "no_result_searches": 1,
            "purchase_visits": 0,
            "purchase_rate": 0.0,
            **NO_API_SEARCHES,
        },
    ]


NO_API_SEARCHES = {
    "api_searches": 0,
    "api_no_result_searches": 0,
    "corrected_searches": 0,
    "correction": None,
}


def test_filters_keep_the_matching_visits(app: Flask, browsed: None) -> None:
    mobile = report(app, "funnel", device="mobile")
    google = report(app, "sources", source="google")
    red_on_tablets = report(app, "looked-not-bought", device="tablet")

    assert [(r["device"], r["source"], r["visits"]) for r in mobile] == [
        ("all", "all", 1),
        ("mobile", "all", 1),
        ("all", "direct", 1),
    ]
    assert [r["source"] for r in google] == ["google"]
    assert [(r["sku"], r["views"], r["visits"]) for r in red_on_tablets] == [(RED.sku, 2, 1)]
    assert report(app, "viewed-instead", source="direct") == []
    assert report(app, "time-to-purchase", device="mobile") == []


def test_days_are_the_shops_local_days_of_the_visit_start(app: Flask, shop: None) -> None:
    # 23:30 UTC on the 26th is 00:30 on the 27th in Paris.
    late = Shopper(at=dt.datetime(2026, 11, 26, 23, 30, tzinfo=dt.UTC)).view(RED)
    earlier = Shopper(at=dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)).view(WHITE)
    collect(app, late, earlier)
    refresh(app)

    def visits(date_from: str, date_to: str) -> int:
        rows = report(
            app, "funnel", dt.date.fromisoformat(date_from), dt.date.fromisoformat(date_to)
        )
        return int(rows[0]["visits"])

    assert visits("2026-11-27", "2026-11-27") == 1
    assert visits("2026-11-26", "2026-11-26") == 0
    assert visits("2026-11-25", "2026-11-25") == 1
    assert visits("2026-11-25", "2026-11-27") == 2
    assert report(app, "looked-not-bought", dt.date(2026, 11, 27))[0]["sku"] == RED.sku


def test_in_store_recommendations_by_product_and_by_day(app: Flask, shop: None) -> None:
    session = db.new_session(app)
    shown = {"recommendation_id": "6f1c2b8e-3a4d-4f5e-9a7b-1c2d3e4f5a6b", "suggested_sku": HOSE.sku}
    with db.write(session):
        feedback.record_events(
            session,
            [
                {**shown, "event": "reco_shown", "occurred_at": START.isoformat()},
                {**shown, "event": "reco_accepted", "occurred_at": START.isoformat()},
            ],
            channel="store",
            actor="test",
            now=START,
        )
    session.close()

    assert report(app, "recommendations") == [
        {
            "sku": HOSE.sku,
            "name": "Tuyau d'arrivée 2 m",
            "shown": 1,
            "accepted": 1,
            "sold": 0,
            "revenue": Decimal("0.00"),
        }
    ]
    assert report(app, "recommendations", group="day") == [
        {"day": DAY, "shown": 1, "accepted": 1, "sold": 0, "revenue": Decimal("0.00")}
    ]


def test_reports_on_an_empty_shop_answer_empty_rows(app: Flask) -> None:
    for slug in reports.REPORTS:
        rows = report(app, slug)
        if slug == "funnel":
            assert rows == [
                {
                    "device": "all",
                    "source": "all",
                    **dict.fromkeys(reports.FUNNEL_STEPS, 0),
                }
            ]
        elif slug == "delivery-fee":
            assert {r["visits"] for r in rows} == {0}
        else:
            assert rows == [], slug


@pytest.mark.parametrize(
    ("slug", "query", "field"),
    [
        ("funnel", reports.ReportQuery(DAY, DAY - dt.timedelta(days=1)), "to"),
        ("funnel", reports.ReportQuery(DAY - dt.timedelta(days=400), DAY), "to"),
        ("recommendations", reports.ReportQuery(DAY, DAY, {"device": "mobile"}), "device"),
        ("funnel", reports.ReportQuery(DAY, DAY, {"group": "day"}), "group"),
        ("recommendations", reports.ReportQuery(DAY, DAY, {"group": "week"}), "group"),
    ],
)
def test_a_wrong_query_is_refused_naming_the_field(
    app: Flask, slug: str, query: reports.ReportQuery, field: str
) -> None:
    session = db.new_session(app)
    with pytest.raises(Invalid) as refused:
        reports.run_report(session, slug, query)
    session.close()

    assert list(refused.value.errors) == [field]


def test_an_unknown_report_is_not_found(app: Flask) -> None:
    session = db.new_session(app)
    with pytest.raises(NotFound):
        reports.run_report(session, "bounce-rate", reports.ReportQuery(DAY, DAY))
    session.close()


def test_400_days_is_the_longest_period(app: Flask) -> None:
    session = db.new_session(app)
    found = reports.run_report(
        session, "funnel", reports.ReportQuery(DAY - dt.timedelta(days=399), DAY)
    )
    session.close()

    assert found.rows[0]["visits"] == 0
