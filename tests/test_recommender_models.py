"""Recommender models on tiny hand-made shops whose answers are worked out by hand below."""

from __future__ import annotations

import csv
import json
import math
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import sklearn

from recommender.alternatives import AlternativeRecommender
from recommender.base import ItemInfo, Suggestion, TrainingData
from recommender.complements import ComplementRecommender
from recommender.model import ArtifactError, ShopModel
from recommender.pairs import ease
from recommender.session import SessionKNN
from recommender.stats import wilson_lower_bound

ROOT = Path(__file__).resolve().parents[1]
DAY = 86_400.0

# --- a small appliance shop --------------------------------------------------------------
WASHERS = "Lave-linge"
ACCESSORIES = "Accessoires"


def washer(name: str, brand: str, price: float) -> ItemInfo:
    return ItemInfo(WASHERS, "", name, name=name, brand=brand, price=price)


def accessory(name: str, brand: str, price: float, **attributes: object) -> ItemInfo:
    return ItemInfo(
        ACCESSORIES, "", name, name=name, brand=brand, price=price, attributes=attributes
    )


SHOP = {
    "W1": washer("Lave-linge hublot Bosch Serie 6 9 kg", "Bosch", 749.0),
    "W2": washer("Lave-linge hublot Samsung EcoBubble 9 kg", "Samsung", 549.0),
    "W9": washer("Lave-linge hublot Bosch Serie 8 9 kg", "Bosch", 899.0),  # no history at all
    "KIT": accessory(
        "Kit de superposition Bosch",
        "Bosch",
        39.9,
        compatible_avec=[WASHERS],
        marques=["Bosch"],
        modeles=["W1"],
    ),
    "SKIT": accessory(
        "Kit de superposition Samsung",
        "Samsung",
        44.9,
        compatible_avec=[WASHERS],
        marques=["Samsung"],
    ),
    "FEET": accessory("Pieds anti-vibration pour lave-linge", "Xavax", 14.9),  # says so by name
    "MAT": accessory("Tapis anti-vibration", "Wpro", 19.9, compatible_avec=[WASHERS]),
    "DESC": accessory("Détartrant lave-linge", "Wpro", 9.99, compatible_avec=[WASHERS]),
    "WAR": accessory(
        "Extension de garantie 3 ans",
        "Comptoir",
        89.0,
        compatible_avec=[WASHERS],
        prix_appareil_min=500,
        prix_appareil_max=1000,
        service=True,
    ),
    "BAG": ItemInfo("Sacs", "", "Sac de transport", name="Sac de transport", brand="X", price=12.0),
    "TV": ItemInfo("Téléviseurs", "", "TV OLED 55", name="TV OLED LG 55", brand="LG", price=1499.0),
    "HDMI": accessory("Câble HDMI 1,5 m", "Meliconi", 14.9, compatible_avec=["Téléviseurs"]),
    "HDMI3": accessory("Câble HDMI 3 m", "Meliconi", 19.9, compatible_avec=["Téléviseurs"]),
}
# 30 baskets: W1 with its Bosch kit (6), the feet (5), a carry bag (5); W2 with its Samsung kit;
# unrelated baskets that keep base rates low; one W1 bought with the Samsung kit (a mistake).
SHOP_BASKETS = (
    [["W1", "KIT", "FEET", "BAG"]] * 4
    + [["W1", "KIT", "BAG"]] * 2
    + [["W1", "FEET"]]
    + [["W2", "SKIT"]] * 4
    + [["W1", "SKIT"]]
    + [["TV", "HDMI"]] * 3
    + [["BAG"]] * 2
    + [["MAT"], ["DESC"]] * 6
)
SHOP_TIMES = [i * DAY for i in range(len(SHOP_BASKETS))]


def plain(**params: object) -> ComplementRecommender:
    """No filters, no decay: scores are the textbook formulas."""
    base: dict[str, object] = {
        "half_life_days": None,
        "min_support": 1,
        "confidence": None,
        "price_ratio": None,
        "allow_substitutes": True,
    }
    base.update(params)
    return ComplementRecommender(**base)  # type: ignore[arg-type]


def names(suggestions: list[Suggestion]) -> list[str]:
    return [s.item for s in suggestions]


def neighbour_scores(model: ComplementRecommender, item: str) -> dict[str, float]:
    return {n.item: n.score for n in model.neighbours_.get(item, [])}


# --- pair scores ---------------------------------------------------------------------------

# A is bought with the best-seller P in 3 baskets and with the rare R in 2; P sells 10 times.
# N = 12, f(A) = 5, f(P) = 10, f(R) = 2.
POPULAR_BASKETS = [["A", "P"]] * 3 + [["A", "R"]] * 2 + [["P"]] * 7


@pytest.mark.parametrize(
    ("similarity", "expected"),
    [
        ("count", {"P": 3.0, "R": 2.0}),
        # lift: P 3*12/(5*10) = 0.72, R 2*12/(5*2) = 2.4
        ("lift", {"R": 2.4, "P": 0.72}),
        # jaccard: P 3/(5+10-3) = 0.25, R 2/(5+2-2) = 0.4
        ("jaccard", {"R": 0.4, "P": 0.25}),
        # cosine: P 3/sqrt(5*10), R 2/sqrt(5*2)
        ("cosine", {"R": 2 / math.sqrt(10), "P": 3 / math.sqrt(50)}),
    ],
)
def test_popularity_correction_puts_the_rare_complement_first(
    similarity: str, expected: dict[str, float]
) -> None:
    model = plain(similarity=similarity).fit(POPULAR_BASKETS)

    assert neighbour_scores(model, "A") == pytest.approx(expected)
    assert names(model.recommend(["A"])) == sorted(expected, key=lambda i: -expected[i])


def test_ease_weights_match_the_closed_form_on_two_items() -> None:
    # G = [[a, c], [c, b]]: P = (G + l2 I)^-1, B[0, 1] = -P01 / P11 = c / (a + l2).
    a, b, c, l2 = 5.0, 3.0, 2.0, 1.5
    weights = ease(np.array([[a, c], [c, b]]), l2)

    assert weights[0, 1] == pytest.approx(c / (a + l2))
    assert weights[1, 0] == pytest.approx(c / (b + l2))
    assert weights[0, 0] == weights[1, 1] == 0.0


def test_ease_explains_away_a_pair_that_only_rides_along() -> None:
    # B is always bought with A; C with A half of the time and never without it. Jaccard
    # ranks B over C for A; so does EASE, and C's weight is smaller than B's.
    baskets = [["A", "B"]] * 6 + [["A", "B", "C"]] * 3 + [["Z"]] * 10
    model = plain(similarity="ease", l2=1.0).fit(baskets)

    scores = neighbour_scores(model, "A")
    assert scores["B"] > scores["C"] > 0


def test_time_decay_lets_a_recent_pair_outrank_an_old_one() -> None:
    # A+B in 3 baskets a year ago, A+C in 2 baskets now.
    baskets = [["A", "B"]] * 3 + [["A", "C"]] * 2
    times = [0.0] * 3 + [365 * DAY] * 2

    undecayed = plain(similarity="count").fit(baskets, times)
    decayed = plain(similarity="count", half_life_days=30).fit(baskets, times)

    assert names(undecayed.recommend(["A"])) == ["B", "C"]
    # Weights 0.5 ** (365/30) for the old baskets and 1 now, normalised to a mean of 1.
    old, new = 0.5 ** (365 / 30), 1.0
    mean = (3 * old + 2 * new) / 5
    assert neighbour_scores(decayed, "A") == pytest.approx(
        {"C": 2 * new / mean, "B": 3 * old / mean}
    )
    # Reasons still count real baskets.
    assert [(s.item, s.params) for s in decayed.recommend(["A"])] == [
        ("C", {"baskets": 2}),
        ("B", {"baskets": 3}),
    ]
    with pytest.raises(ValueError, match="basket_times"):
        ComplementRecommender(half_life_days=30).fit(baskets)


# --- significance ------------------------------------------------------------------------


def test_wilson_lower_bound_by_hand() -> None:
    # 34 of 40 at z = 1.96: centre (0.85 + 1.96^2/80) / (1 + 1.96^2/40) = 0.8193, half width
    # 1.96 * sqrt(0.85*0.15/40 + 1.96^2/6400) / 1.09604 = 0.1101.
    assert wilson_lower_bound(34, 40) == pytest.approx(0.7093, abs=1e-4)
    assert wilson_lower_bound(0, 0) == 0.0
    assert wilson_lower_bound(2, 2) == pytest.approx(0.3424, abs=1e-4)  # 2 of 2 says little
    assert list(wilson_lower_bound(np.array([34.0, 2.0]), np.array([40.0, 2.0]))) == (
        pytest.approx([0.7093, 0.3424], abs=1e-4)
    )


def test_a_pair_needs_support_and_a_lower_bound_above_chance() -> None:
    # X: 40 baskets. With X: Y in 20 (Y sells 22 of 100: 20/40 beats 0.22 by far), P in 10
    # (P sells 25 of 100: the lower bound of 10/40, 0.14, is below 0.25), R in 2 (R sells 2:
    # 2/40 is far above 0.02, but 2 baskets are fewer than min_support 3).
    baskets = [["X", "Y"]] * 20 + [["X", "P"]] * 10 + [["X", "R"]] * 2 + [["X"]] * 8
    baskets += [["Y"]] * 2 + [["P"]] * 15 + [["Z"]] * 43
    model = ComplementRecommender(similarity="count", half_life_days=None, price_ratio=None)

    model.fit(baskets)

    assert set(neighbour_scores(model, "X")) == {"Y"}
    assert wilson_lower_bound(10, 40) < 25 / 100 < 20 / 40
    relaxed = ComplementRecommender(
        similarity="count", half_life_days=None, price_ratio=None, min_support=2, confidence=None
    ).fit(baskets)
    assert set(neighbour_scores(relaxed, "X")) == {"Y", "P", "R"}


# --- what a seller expects -----------------------------------------------------------------


def shop_model(**params: object) -> ComplementRecommender:
    model = ComplementRecommender(**params)  # type: ignore[arg-type]
    return model.fit(SHOP_BASKETS, SHOP_TIMES, SHOP)


def test_compatible_accessories_then_consumables_then_other_complements_then_services() -> None:
    got = shop_model().recommend(["W1"], k=10)

    # The kit made for this model, then what fits any washer (by attribute or by name), the
    # descaler (a consumable), the bag bought with it (data only), the warranty of its price
    # band. Never the Samsung kit (declared for Samsung), the TV or its cable.
    assert names(got) == ["KIT", "FEET", "MAT", "DESC", "BAG", "WAR"]
    assert [s.tier for s in got] == [
        "compatible",
        "compatible",
        "compatible",
        "consumable",
        "",
        "service",
    ]
    assert got[0].reason == "compatible"
    assert got[0].params == {
        "for_sku": "W1",
        "category": WASHERS,
        "type": "",
        "brand": "Bosch",
        "baskets": 6,
    }
    assert got[1].params["brand"] == ""  # fits every washer: no brand to name
    assert got[4].reason == "bought_together" and got[4].params == {"baskets": 6}
    assert [s.score for s in got] == sorted((s.score for s in got), reverse=True)


def test_the_warranty_of_another_price_band_is_not_offered() -> None:
    cheap = dict(SHOP)
    cheap["W1"] = washer("Lave-linge hublot Bosch Serie 6 9 kg", "Bosch", 449.0)
    model = ComplementRecommender().fit(SHOP_BASKETS, SHOP_TIMES, cheap)

    assert "WAR" not in names(model.recommend(["W1"], k=10))


def test_no_substitute_and_one_product_of_each_kind() -> None:
    model = shop_model()

    # W2 is a washer like W1: never a complement. The kit made for W2 (Samsung) is not either.
    assert not {"W2", "W9", "SKIT"} & set(names(model.recommend(["W1"], k=20)))
    # Next to the Bosch kit: the feet, the mat, the descaler are for the same washers, the bag
    # is bought with it; the Samsung kit is the same kind of product (a second stacking kit),
    # the warranty goes with the washer only, and the washer itself costs more than 3 x the
    # kit with 6 baskets of 6 (a lower bound of 0.61 < 0.7: not overwhelming).
    assert names(model.recommend(["KIT"], k=10)) == ["FEET", "MAT", "DESC", "BAG"]
    feet = model.recommend(["KIT"], k=1)[0]
    assert feet.reason == "same_appliance" and feet.params["category"] == WASHERS


def test_one_product_of_each_kind_in_a_list() -> None:
    # Both cables fit the TV; the one bought with it comes first, the other is the same kind.
    model = shop_model()

    assert names(model.recommend(["TV"], k=10)) == ["HDMI"]
    assert names(model.recommend(["TV"], k=10, exclude={"HDMI"})) == ["HDMI3"]
    assert names(model.recommend(["TV"], k=10, allow_substitutes=True)) == ["HDMI", "HDMI3"]


def test_variants_bought_together_are_complements_and_substitutes_otherwise() -> None:
    # A wholesaler buys the red and the pink lunch bag together (significantly); the blue one
    # is never bought with the red one: it stays a substitute.
    catalogue = {
        "RED": ItemInfo("", "1", "LUNCH BAG RED RETROSPOT", name="LUNCH BAG RED RETROSPOT"),
        "PINK": ItemInfo("", "1", "LUNCH BAG PINK POLKADOT", name="LUNCH BAG PINK POLKADOT"),
        "BLUE": ItemInfo("", "1", "LUNCH BAG BLUE", name="LUNCH BAG BLUE"),
        "CUP": ItemInfo("", "2", "PAPER CUP", name="PAPER CUP"),
    }
    baskets = [["RED", "PINK", "CUP"]] * 6 + [["BLUE", "CUP"]] * 6 + [["OTHER"]] * 20
    model = ComplementRecommender(similarity="count", half_life_days=None).fit(
        baskets, items=catalogue
    )

    assert names(model.recommend(["RED"])) == ["CUP", "PINK"]
    assert names(model.recommend(["RED", "CUP"])) == ["PINK"]  # BLUE: a substitute of RED
    # ... by the substitute rule itself, not only because PINK is a lunch bag already shown.
    assert names(model.recommend(["RED", "CUP"], one_per_kind=False)) == ["PINK"]
    assert "BLUE" in names(model.recommend(["RED", "CUP"], allow_substitutes=True))


def test_a_big_ticket_item_is_not_the_complement_of_a_cheap_one_without_overwhelming_data() -> None:
    model = shop_model()

    # The cable was bought with the TV in 3 of 3 baskets: a lower bound of 0.44 < 0.7.
    assert wilson_lower_bound(3, 3) < 0.7
    assert "TV" not in names(model.recommend(["HDMI"], k=10))
    assert names(model.recommend(["TV"], k=10)) == ["HDMI"]  # cheap next to the TV: fine
    # 40 of 40 baskets: overwhelming.
    baskets = [*SHOP_BASKETS, *[["TV", "HDMI"]] * 37]
    many = ComplementRecommender().fit(baskets, [i * DAY for i in range(len(baskets))], SHOP)
    assert "TV" in names(many.recommend(["HDMI"], k=10))
    assert names(shop_model(price_ratio=None).recommend(["HDMI"], k=10)) == ["TV"]


def test_made_for_this_model_comes_before_made_for_any_washer() -> None:
    # The feet sell with W1 twice as often as its own kit: the kit still comes first.
    baskets = [["W1", "FEET"]] * 8 + [["W1", "KIT"]] * 4 + [["BAG"], ["DESC"]] * 10
    model = ComplementRecommender(half_life_days=None).fit(baskets, items=SHOP)

    assert model.neighbours_["W1"][0].item == "FEET"  # the data alone prefer the feet
    assert names(model.recommend(["W1"], k=2)) == ["KIT", "FEET"]


def test_webshop_carts_and_views_are_weaker_evidence() -> None:
    catalogue = {sku: ItemInfo("Cat" + sku, "", sku, name=sku) for sku in "ABCDE"}
    catalogue["S"] = ItemInfo(
        "Services",
        "",
        "S",
        name="Service",
        attributes={"service": True, "compatible_avec": ["CatA"]},
    )
    baskets = [["A", "B"]] * 5 + [["Z"]] * 20
    # C is put in the cart with A in 6 visits; D only viewed with A (6 visits); E nothing.
    sessions = [["A", "C"]] * 6 + [["A", "D"]] * 6 + [["E"]] * 20
    carts = [["A", "C"]] * 6 + [[]] * 26
    model = ComplementRecommender(half_life_days=None).fit(
        baskets, items=catalogue, sessions=sessions, session_carts=carts
    )

    got = model.recommend(["A"], k=5)

    # Sales, then carts, then the service for A, then what was only viewed with it.
    assert names(got) == ["B", "C", "S", "D"]
    assert [(s.reason, s.params) for s in got if s.item != "S"] == [
        ("bought_together", {"baskets": 5}),
        ("carted_together", {"visits": 6}),
        ("viewed_together", {"visits": 6}),
    ]
    no_clicks = ComplementRecommender(half_life_days=None, cart_weight=0.0, view_weight=0.0)
    assert names(no_clicks.fit(baskets, items=catalogue).recommend(["A"])) == ["B", "S"]


def test_a_new_product_gets_what_fits_it_and_what_similar_products_sell_with() -> None:
    model = shop_model()

    # W9 (in the catalogue, never sold) borrows the neighbours of W1, the most similar washer;
    # W1's kit is declared for model W1 only, so not for W9.
    got = model.recommend(["W9"], k=10)
    assert names(got) == ["FEET", "MAT", "DESC", "BAG", "WAR"]
    assert got[3].reason == "bought_with_similar"
    assert got[3].params == {"baskets": 6, "with_sku": "W1"}
    # A product created after the training: described by the caller.
    new = washer("Lave-linge hublot Bosch Serie 6 10 kg", "Bosch", 799.0)
    found = model.recommend(["NEW"], k=10, infos={"NEW": new})
    assert names(found) == ["FEET", "MAT", "DESC", "BAG", "WAR"]
    assert model.recommend(["UNKNOWN"]) == []


def test_complements_of_several_items_skip_context_and_excluded() -> None:
    model = shop_model()

    got = model.recommend(["W1", "KIT"], k=10)
    assert "KIT" not in names(got) and "W1" not in names(got)
    assert names(model.recommend(["W1"], k=10, exclude={"KIT", "FEET"}))[:2] == ["MAT", "DESC"]
    bag = next(s for s in got if s.item == "BAG")
    assert bag.params == {"baskets": 6, "with_sku": "W1"}  # with which item of the basket


# --- alternatives --------------------------------------------------------------------------

# Visits that looked at W1: W2 bought instead in 4, W9 in 1 (too few), nothing in 2; and 14
# other visits bought the bag.
VISITS = [["W1", "W2"]] * 4 + [["W1", "W9"]] + [["W1"]] * 2 + [["BAG"]] * 14
VISIT_PURCHASES = [["W2"]] * 4 + [["W9"]] + [[]] * 2 + [["BAG"]] * 14


def test_alternatives_from_viewed_and_bought_instead_when_significant() -> None:
    model = AlternativeRecommender(history_shrinkage=0).fit(VISITS, VISIT_PURCHASES, SHOP)

    got = model.recommend("W1")

    # W1 viewed, not bought, in 5 visits that bought something: W2 4 of 5 (the share of
    # visits buying W2 is 4/19), W9 1 of 5 (below min_support 3: no history, text only).
    assert got[0] == Suggestion("W2", pytest.approx(4 / 5), "viewed_instead", {"visits": 4})
    assert "W9" not in [s.item for s in got if s.reason == "viewed_instead"]
    assert all(s.item in {"W2", "W9"} for s in got)  # washers only: never the kit or the bag


def test_alternatives_for_a_new_item_come_from_its_text_with_shared_traits() -> None:
    catalogue = {
        "A": ItemInfo(
            WASHERS, "A", "Lave-linge hublot Bosch 9 kg", name="Lave-linge hublot Bosch",
            brand="Bosch", attributes={"capacite_kg": 9, "essorage_tr_min": 1400},
        ),
        "B": ItemInfo(
            WASHERS, "B", "Lave-linge hublot Bosch 8 kg", name="Lave-linge hublot Bosch",
            brand="Bosch", attributes={"capacite_kg": 8, "essorage_tr_min": 1400},
        ),
        "C": ItemInfo(
            WASHERS, "C", "Lave-linge top Brandt 6 kg", name="Lave-linge top Brandt",
            brand="Brandt", attributes={"capacite_kg": 6, "essorage_tr_min": 1200},
        ),
        "K": ItemInfo(
            "Grille-pain", "K", "Grille-pain Bosch", name="Grille-pain Bosch", brand="Bosch"
        ),
    }  # fmt: skip
    model = AlternativeRecommender().fit([], [], catalogue)

    got = model.recommend("A", k=10)

    assert names(got) == ["B", "C"]  # never the toaster
    assert got[0] == Suggestion(
        "B", got[0].score, "similar", {"brand": "Bosch", "traits": ["1400 tr/min"]}
    )
    assert got[1].params == {"brand": "", "traits": []}


# --- next items ----------------------------------------------------------------------------

# Past visits, oldest first.
SESSIONS = [["a", "b", "c"], ["b", "d"], ["a", "e", "f"], ["x", "y"]]
LN2, LN4 = math.log(2), math.log(4)


@pytest.mark.parametrize(
    ("prefix", "k", "expected"),
    [
        # Linear weights ("div"): a 1/2, b 1 (latest); similarity = shared weight / 2 items.
        # s0 {a,b,c}: 0.75, s1 {b,d}: 0.5, s2 {a,e,f}: 0.25 whose latest shared click (a) is
        # 2 steps back, so its vote is halved: 0.125. s3 shares nothing.
        (
            ["a", "b"],
            100,
            [("c", 0.75), ("d", 0.5), ("e", 0.125), ("f", 0.125)],
        ),
        # Only the 2 nearest visits (s0, s1) vote.
        (["a", "b"], 2, [("c", 0.75), ("d", 0.5)]),
        # Order matters: a is now the latest (1), b 1/2: s2 (0.5) beats s1 (0.25, halved).
        (
            ["b", "a"],
            100,
            [("c", 0.75), ("e", 0.5), ("f", 0.5), ("d", 0.125)],
        ),
    ],
)
def test_session_knn_scores_next_items(
    prefix: list[str], k: int, expected: list[tuple[str, float]]
) -> None:
    model = SessionKNN(k=k, remove_seen=True, weighting="div", idf_weighting=0).fit(SESSIONS)

    got = model.recommend(prefix, k=10)

    assert [(s.item, s.score) for s in got] == [(i, pytest.approx(x)) for i, x in expected]
    assert (got[0].reason, got[0].params) == ("viewed_next", {"visits": 1})


def test_session_knn_defaults_keep_viewed_items_and_favour_rare_ones() -> None:
    model = SessionKNN().fit(SESSIONS)

    got = model.recommend(["a", "b"], k=10)

    # Quadratic weights a 1/4, b 1, over 2 items: s0 0.625, s1 0.5, s2 0.125 halved (0.0625).
    # Votes times 1 + 5 idf, idf = log(4 visits / clicks): a, b log 2; c, d, e, f log 4.
    # The viewed items a (0.6875) and b (1.125) stay in the list.
    assert [(s.item, s.score) for s in got] == [
        ("b", pytest.approx(1.125 * (1 + 5 * LN2))),
        ("c", pytest.approx(0.625 * (1 + 5 * LN4))),
        ("d", pytest.approx(0.5 * (1 + 5 * LN4))),
        ("a", pytest.approx(0.6875 * (1 + 5 * LN2))),
        ("e", pytest.approx(0.0625 * (1 + 5 * LN4))),
        ("f", pytest.approx(0.0625 * (1 + 5 * LN4))),
    ]
    assert got[0].params == {"visits": 2}


def test_session_knn_samples_the_most_recent_visits() -> None:
    # Of s0, s1, s2 (all share an item with the prefix), only the latest, s2, is compared.
    model = SessionKNN(sample_size=1, idf_weighting=0).fit(SESSIONS)

    assert names(model.recommend(["a", "b"])) == ["a", "e", "f"]
    assert model.recommend(["unknown"]) == []
    assert names(model.recommend(["a", "b"], exclude={"a"})) == ["e", "f"]


def test_session_knn_refuses_an_unknown_weighting() -> None:
    with pytest.raises(ValueError, match="weighting must be one of"):
        SessionKNN(weighting="exponential").fit(SESSIONS)


# --- the shop model, its artifact and its command line -----------------------------------------


def shop_data() -> TrainingData:
    return TrainingData(
        baskets=SHOP_BASKETS,
        basket_times=SHOP_TIMES,
        sessions=VISITS,
        session_purchases=VISIT_PURCHASES,
        items=SHOP,
    )


def test_shop_model_bundles_the_three() -> None:
    steps: list[str] = []
    model = ShopModel().fit(shop_data(), on_step=steps.append)

    assert steps == ["complements", "alternatives", "next items"]
    assert names(model.complements(["W1"], k=2)) == ["KIT", "FEET"]
    assert model.alternatives("W1")[0].item == "W2"
    assert names(model.next_items(["W1"], k=1)) == ["W1"]  # shoppers come back to it
    assert model.knows("W1") and not model.knows("W9")


def test_the_served_configuration_is_shop_models_default() -> None:
    from recommender.evaluation.uci import served_complements

    assert served_complements().get_params() == ShopModel().complement_model.get_params()
    assert ShopModel().parameters()["complements"]["similarity"] == "ease"


def test_purchases_as_baskets_count_visit_purchases() -> None:
    data = shop_data()
    data.session_purchases = [["W1", "BAG"]] * 10 + [[]] * (len(VISITS) - 10)
    plain_model = ShopModel(plain(similarity="count")).fit(data)
    counted = ShopModel(plain(similarity="count"), purchases_as_baskets=True).fit(data)

    assert neighbour_scores(plain_model.complement_model, "W1")["BAG"] == 6.0
    assert neighbour_scores(counted.complement_model, "W1")["BAG"] == 16.0


def test_save_and_load_give_the_same_recommendations(tmp_path: Path) -> None:
    model = ShopModel().fit(shop_data())

    model_path, meta_path = model.save(tmp_path / "shop", metrics={"hit_rate@5": 0.5})
    loaded = ShopModel.load(tmp_path / "shop")

    assert (model_path.name, meta_path.name) == ("shop.joblib", "shop.json")
    assert loaded.complements(["W1"]) == model.complements(["W1"])
    assert loaded.alternatives("W9") == model.alternatives("W9")
    assert loaded.next_items(["a", "W1"]) == model.next_items(["a", "W1"])
    metadata = json.loads(meta_path.read_text())
    assert metadata["versions"]["scikit-learn"] == sklearn.__version__
    assert {"numpy", "scipy"} <= metadata["versions"].keys()
    assert metadata["data"]["baskets"] == len(SHOP_BASKETS)
    assert metadata["data"]["sessions"] == len(VISITS)
    assert metadata["data"]["items"] == len(SHOP)
    assert metadata["metrics"] == {"hit_rate@5": 0.5}
    assert metadata["parameters"]["complements"]["similarity"] == "ease"
    assert "created_at" in metadata
    assert loaded.metadata_ == metadata
    assert ShopModel.load(model_path).complements(["W1"]) == model.complements(["W1"])


def test_load_refuses_another_scikit_learn_version(tmp_path: Path) -> None:
    _, meta_path = ShopModel().fit(shop_data()).save(tmp_path / "shop")
    metadata = json.loads(meta_path.read_text())
    metadata["versions"]["scikit-learn"] = "0.24.2"
    meta_path.write_text(json.dumps(metadata))

    with pytest.raises(ArtifactError) as refused:
        ShopModel.load(tmp_path / "shop")

    assert isinstance(refused.value, ValueError)
    assert "0.24.2" in str(refused.value) and sklearn.__version__ in str(refused.value)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda meta, _: meta.unlink(), "missing"),
        (lambda meta, _: meta.write_text('{"format": "someone-else"}'), "not describe"),
        (lambda meta, _: meta.write_text("not json"), "not readable"),
        (lambda _, model: model.write_bytes(model.read_bytes() + b"x"), "checksum"),
    ],
)
def test_load_refuses_an_artifact_that_is_not_ours(
    tmp_path: Path, damage: Callable[[Path, Path], object], message: str
) -> None:
    model_path, meta_path = ShopModel().fit(shop_data()).save(tmp_path / "shop")
    damage(meta_path, model_path)

    with pytest.raises(ArtifactError, match=message):
        ShopModel.load(tmp_path / "shop")


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_train_cli_writes_model_and_metadata(tmp_path: Path) -> None:
    baskets = write_csv(
        tmp_path / "baskets.csv",
        ["basket_id", "timestamp", "item"],
        [
            [f"b{n}", str(1_767_000_000 + n * 3600), item]
            for n, basket in enumerate(SHOP_BASKETS)
            for item in basket
        ],
    )
    sessions = write_csv(
        tmp_path / "sessions.csv",
        ["session_id", "timestamp", "item", "action"],
        [
            [f"v{n}", str(1_767_000_000 + n * 100 + t), item, "view"]
            for n, visit in enumerate(VISITS)
            for t, item in enumerate(visit)
        ]
        + [
            [f"v{n}", str(1_767_000_000 + n * 100 + 50), item, "purchase"]
            for n, bought in enumerate(VISIT_PURCHASES)
            for item in bought
        ],
    )
    items = write_csv(
        tmp_path / "items.csv",
        ["item", "category", "family", "text", "name", "brand", "price", "attributes"],
        [
            [
                *(sku, info.category, info.family, info.text, info.name, info.brand),
                str(info.price),
                json.dumps(dict(info.attributes)),
            ]
            for sku, info in SHOP.items()
        ],
    )
    out = tmp_path / "models" / "shop"

    done = subprocess.run(
        [
            *(sys.executable, "-m", "recommender", "train", "--baskets", str(baskets)),
            *("--sessions", str(sessions), "--items", str(items), "--out", str(out)),
            *("--half-life-days", "30"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    assert f"model: {out}.joblib" in done.stdout
    assert f"metadata: {out}.json" in done.stdout
    model = ShopModel.load(out)
    assert names(model.complements(["W1"], k=2)) == ["KIT", "FEET"]
    assert model.alternatives("W1")[0].item == "W2"
    assert model.metadata_["parameters"]["complements"]["half_life_days"] == 30


@pytest.mark.parametrize(
    ("header", "row"),
    [
        (["order", "item"], ["1", "W1"]),  # missing columns
        (["basket_id", "timestamp", "item"], ["1", "yesterday", "W1"]),  # not a time
    ],
)
def test_train_cli_rejects_a_bad_file(tmp_path: Path, header: list[str], row: list[str]) -> None:
    from recommender.training import main

    baskets = write_csv(tmp_path / "baskets.csv", header, [row])

    assert main(["--baskets", str(baskets), "--out", str(tmp_path / "shop")]) != 0
    assert not (tmp_path / "shop.joblib").exists()


def test_train_cli_rejects_attributes_that_are_not_json(tmp_path: Path) -> None:
    from recommender.training import main

    baskets = write_csv(tmp_path / "b.csv", ["basket_id", "timestamp", "item"], [["1", "0", "W1"]])
    items = write_csv(
        tmp_path / "i.csv",
        ["item", "category", "family", "text", "attributes"],
        [["W1", WASHERS, "", "", "{not json"]],
    )

    args = ["--baskets", str(baskets), "--items", str(items), "--out", str(tmp_path / "shop")]
    assert main(args) != 0
    assert not (tmp_path / "shop.joblib").exists()


def test_a_demo_sized_shop_fits_and_answers_for_every_item() -> None:
    """Speed is measured by bench/recommendations.py, never asserted here."""
    rng = random.Random(7)
    skus = [f"P{i:03d}" for i in range(200)]
    catalogue = {
        sku: ItemInfo(f"C{i % 8}", f"F{i // 3}", f"model {i % 11} colour {i % 5}")
        for i, sku in enumerate(skus)
    }
    pairs = [(skus[i], skus[(i * 7 + 3) % 200]) for i in range(200)]
    baskets = [list(rng.choice(pairs)) + rng.sample(skus, rng.randint(0, 2)) for _ in range(4000)]
    visits = [rng.sample(skus, rng.randint(1, 8)) for _ in range(4000)]
    data = TrainingData(
        baskets=baskets,
        basket_times=sorted(rng.uniform(0, 365 * DAY) for _ in baskets),
        sessions=visits,
        session_purchases=[v[-1:] if rng.random() < 0.3 else [] for v in visits],
        items=catalogue,
    )

    model = ShopModel().fit(data)

    for n in range(200):
        context = [skus[n], skus[(n * 13) % 200]]
        complements = model.complements(context, k=5)
        assert complements
        assert not {s.item for s in complements} & set(context)
        assert all(s.item != skus[n] for s in model.alternatives(skus[n], k=5))
        assert model.next_items(visits[n][:3], k=5)


def test_the_holdout_check_finds_a_pair_bought_together_every_time() -> None:
    from recommender.evaluation.holdout import holdout_metrics

    # Every basket pairs a washer with its kit (or a fridge with its filter): whichever item
    # is hidden, the other one names it, so the hit rate is 1.
    baskets = [["W1", "K1"] if i % 2 else ["F1", "H1"] for i in range(40)]
    data = TrainingData(
        baskets=baskets,
        basket_times=[i * DAY for i in range(40)],
        items={
            "W1": ItemInfo("Lave-linge"),
            "K1": ItemInfo("Accessoires"),
            "F1": ItemInfo("Réfrigérateurs"),
            "H1": ItemInfo("Accessoires"),
        },
    )

    metrics = holdout_metrics(data, test_days=10)

    assert metrics["cases"] == 11
    assert metrics["hr@10"] == 1.0
    assert metrics["mrr@10"] == 1.0
    assert holdout_metrics(TrainingData(baskets=baskets[:5], basket_times=[0.0] * 5))[
        "holdout"
    ].startswith("skipped")
