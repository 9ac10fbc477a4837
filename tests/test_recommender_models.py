"""Recommender models on tiny hand-made shops whose answers are computed by hand below."""

from __future__ import annotations

import csv
import json
import math
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sklearn

from recommender.alternatives import AlternativeRecommender
from recommender.base import ItemInfo, Suggestion, TrainingData
from recommender.complements import ComplementRecommender
from recommender.model import ArtifactError, ShopModel
from recommender.session import SessionKNN

ROOT = Path(__file__).resolve().parents[1]
DAY = 86_400.0

WASHERS = "washing machines"
CATALOGUE = {
    "W1": ItemInfo(WASHERS, "W1", "front loader 8kg silver"),
    "W2": ItemInfo(WASHERS, "W2", "compact 5kg steel"),
    "W3": ItemInfo(WASHERS, "W3", "top loader 6kg"),
    "W9": ItemInfo(WASHERS, "W9", "front loader 8kg white"),  # new: no history at all
    "D1": ItemInfo("dryers", "D1", "front loader 8kg white"),  # same words, other category
    "K1": ItemInfo("stacking kits", "K1", "stacking kit"),
    "H1": ItemInfo("hoses", "H1", "inlet hose 1.5m"),
}

# W1 is bought with K1 in 3 baskets, with H1 in 2, never with W2.
# N = 5 baskets; baskets containing W1: 4, K1: 3, H1: 3, W2: 1.
WASHER_BASKETS = [
    ["W1", "K1"],
    ["W1", "K1"],
    ["W1", "K1", "H1"],
    ["W1", "H1"],
    ["W2", "H1"],
]


def names(suggestions: list[Suggestion]) -> list[str]:
    return [s.item for s in suggestions]


def test_complements_rank_accessories_by_jaccard_with_reasons() -> None:
    model = ComplementRecommender().fit(WASHER_BASKETS, items=CATALOGUE)

    got = model.recommend(["W1"], k=5)

    # jaccard(W1, K1) = 3 / (4 + 3 - 3) = 0.75; jaccard(W1, H1) = 2 / (4 + 3 - 2) = 0.4
    assert got == [
        Suggestion("K1", pytest.approx(0.75), "bought together in 3 baskets"),
        Suggestion("H1", pytest.approx(0.4), "bought together in 2 baskets"),
    ]


def test_complements_keep_substitutes_out_unless_allowed() -> None:
    # Two customers bought two washers (a landlord): W1-W2 in 2 baskets, like W1-H1.
    baskets = [*WASHER_BASKETS, ["W1", "W2"], ["W1", "W2"]]
    model = ComplementRecommender(similarity="count").fit(baskets, items=CATALOGUE)

    assert names(model.recommend(["W1"])) == ["K1", "H1"]
    # count: K1 3, then W2 and H1 both 2 (ties by name).
    assert names(model.recommend(["W1"], allow_substitutes=True)) == ["K1", "H1", "W2"]
    allowing = ComplementRecommender(similarity="count", allow_substitutes=True)
    assert "W2" in names(allowing.fit(baskets, items=CATALOGUE).recommend(["W1"]))


def test_complements_of_several_items_skip_context_and_excluded() -> None:
    model = ComplementRecommender().fit(WASHER_BASKETS, items=CATALOGUE)

    # K1 is in the basket already; K1-H1 is 1 basket (< min_support 2); W2 is a substitute.
    assert model.recommend(["W1", "K1"]) == [
        Suggestion("H1", pytest.approx(0.4), "bought together with W1 in 2 baskets")
    ]
    assert names(model.recommend(["W1"], exclude={"K1"})) == ["H1"]
    assert model.recommend(["unknown"]) == []


def test_accessories_of_one_broad_category_bought_together_are_not_substitutes() -> None:
    # The demo shop files every accessory under one category. K1 and H1 sell together
    # (2 of 8 baskets: lift 2 * 8 / (3 * 3) = 1.78 > 1); K2, another stacking kit, never with K1.
    catalogue = {
        "W1": ItemInfo(WASHERS, "W1"),
        "W2": ItemInfo(WASHERS, "W2"),
        "K1": ItemInfo("accessories", "K1"),
        "K2": ItemInfo("accessories", "K2"),
        "H1": ItemInfo("accessories", "H1"),
    }
    baskets = [["W1", "K1", "H1"]] * 2 + [["W1", "K1"], ["W1", "H1"]]
    baskets += [["W2", "K2"]] * 2 + [["W1", "K2"]] * 2
    model = ComplementRecommender(similarity="count").fit(baskets, items=catalogue)

    # W1 alone: K1 3 baskets, H1 3, K2 2 (ties by name).
    assert names(model.recommend(["W1"])) == ["H1", "K1", "K2"]
    # With K1 in the basket: H1 scores 3 (with W1) + 2 (with K1); K2 is a substitute of K1.
    assert model.recommend(["W1", "K1"]) == [
        Suggestion("H1", 5.0, "bought together with W1 in 3 baskets")
    ]


def test_variants_bought_together_by_a_wholesaler_stay_substitutes() -> None:
    # Two colours of one lunch bag (same category, shared words) in the same 2 baskets:
    # lift 2 * 6 / (3 * 2) = 2 > 1, yet they are alternatives, not add-ons.
    catalogue = {
        "RED": ItemInfo("bag", "RED", "lunch bag red retrospot"),
        "PINK": ItemInfo("bag", "PINK", "lunch bag pink polkadot"),
        "CUP": ItemInfo("cup", "CUP", "paper cup"),
    }
    baskets = [["RED", "PINK", "CUP"]] * 2 + [["RED", "CUP"]] + [["OTHER"]] * 3
    model = ComplementRecommender().fit(baskets, items=catalogue)

    # jaccard(RED, CUP) = 3 / (3 + 3 - 3) = 1; jaccard(RED, PINK) = 2 / (3 + 2 - 2)
    assert names(model.recommend(["RED"])) == ["CUP"]
    assert [(s.item, s.score) for s in model.recommend(["RED"], allow_substitutes=True)] == [
        ("CUP", pytest.approx(1.0)),
        ("PINK", pytest.approx(2 / 3)),
    ]


# A is bought with the best-seller P in 3 baskets and with the rare R in 2; P sells 10 times.
# N = 12, f(A) = 5, f(P) = 10, f(R) = 2.
POPULAR_BASKETS = [["A", "P"]] * 3 + [["A", "R"]] * 2 + [["P"]] * 7


@pytest.mark.parametrize(
    ("similarity", "expected"),
    [
        ("count", [("P", 3.0), ("R", 2.0)]),
        # lift: P 3*12/(5*10) = 0.72, R 2*12/(5*2) = 2.4
        ("lift", [("R", 2.4), ("P", 0.72)]),
        # jaccard: P 3/(5+10-3) = 0.25, R 2/(5+2-2) = 0.4
        ("jaccard", [("R", 0.4), ("P", 0.25)]),
        # cosine: P 3/sqrt(5*10), R 2/sqrt(5*2)
        ("cosine", [("R", 2 / math.sqrt(10)), ("P", 3 / math.sqrt(50))]),
    ],
)
def test_popularity_correction_puts_the_rare_complement_first(
    similarity: str, expected: list[tuple[str, float]]
) -> None:
    model = ComplementRecommender(similarity=similarity).fit(POPULAR_BASKETS)

    got = [(s.item, s.score) for s in model.recommend(["A"])]

    assert got == [(item, pytest.approx(score)) for item, score in expected]


def test_time_decay_lets_a_recent_pair_outrank_an_old_one() -> None:
    # A+B in 3 baskets a year ago, A+C in 2 baskets now.
    baskets = [["A", "B"]] * 3 + [["A", "C"]] * 2
    times = [0.0] * 3 + [365 * DAY] * 2

    plain = ComplementRecommender(similarity="count").fit(baskets, times)
    decayed = ComplementRecommender(similarity="count", half_life_days=30).fit(baskets, times)

    assert names(plain.recommend(["A"])) == ["B", "C"]
    # B: 3 * 0.5 ** (365 / 30) = 0.00065; C: 2 * 1 = 2. Reasons still count real baskets.
    assert decayed.recommend(["A"]) == [
        Suggestion("C", pytest.approx(2.0), "bought together in 2 baskets"),
        Suggestion("B", pytest.approx(3 * 0.5 ** (365 / 30)), "bought together in 3 baskets"),
    ]
    with pytest.raises(ValueError, match="basket_times"):
        ComplementRecommender(half_life_days=30).fit(baskets)


# Visits that looked at W1: two bought W2, one W3, one the hose H1, one nothing.
VISITS = [["W1", "W2"], ["W1", "W2"], ["W1", "W3"], ["W1", "H1"], ["W1"]]
VISIT_PURCHASES = [["W2"], ["W2"], ["W3"], ["H1"], []]


def test_alternatives_from_viewed_and_bought_instead() -> None:
    # No shrinkage: history alone. W1 was viewed without being bought in 4 visits that ended in
    # a purchase (the 5th bought nothing): W2 2/4, W3 1/4; H1 is not a washer.
    model = AlternativeRecommender(history_shrinkage=0).fit(VISITS, VISIT_PURCHASES, CATALOGUE)

    assert model.recommend("W1") == [
        Suggestion("W2", 0.5, "viewed instead in 2 visits"),
        Suggestion("W3", 0.25, "viewed instead in 1 visit"),
    ]


def test_alternatives_blend_history_with_text() -> None:
    model = AlternativeRecommender().fit(VISITS, VISIT_PURCHASES, CATALOGUE)

    got = model.recommend("W1", k=10)

    # History weighs 4 / (4 + 5) for W1 (4 visits), text the other 5/9. W2 has no history of its
    # own, so its score for W1 is the plain text cosine (only the category words are shared).
    text_w2 = dict((item, score) for item, score, _ in model.alternatives_["W2"])["W1"]
    assert names(got) == ["W9", "W2", "W3"]  # W9 is W1 in white: the closest on paper
    assert got[0].reason == "similar: 8kg, front, loader"
    assert got[1] == Suggestion(
        "W2", pytest.approx(4 / 9 * 2 / 4 + 5 / 9 * text_w2), "viewed instead in 2 visits"
    )
    assert got[2].reason == "similar: loader"  # 1 visit of 4 weighs less than the shared word


def test_alternatives_for_a_new_item_come_from_its_text_and_category() -> None:
    model = AlternativeRecommender().fit(VISITS, VISIT_PURCHASES, CATALOGUE)

    got = model.recommend("W9", k=10)

    # W1 shares front/loader/8kg, W3 only loader, W2 only the category words; the dryer D1 has
    # the very same text but is not a washing machine.
    assert names(got) == ["W1", "W3", "W2"]
    assert got[0].reason == "similar: 8kg, front, loader"  # by weight, then by name
    assert got[1].reason == "similar: loader"
    assert got[2].reason == "similar product"
    assert model.recommend("W9", exclude={"W1"})[0].item == "W3"


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
    assert got[0].reason == "viewed in 1 similar visit"


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
    assert got[0].reason == "viewed in 2 similar visits"


def test_session_knn_samples_the_most_recent_visits() -> None:
    # Of s0, s1, s2 (all share an item with the prefix), only the latest, s2, is compared.
    model = SessionKNN(sample_size=1, idf_weighting=0).fit(SESSIONS)

    assert names(model.recommend(["a", "b"])) == ["a", "e", "f"]
    assert model.recommend(["unknown"]) == []
    assert names(model.recommend(["a", "b"], exclude={"a"})) == ["e", "f"]


def test_session_knn_refuses_an_unknown_weighting() -> None:
    with pytest.raises(ValueError, match="weighting must be one of"):
        SessionKNN(weighting="exponential").fit(SESSIONS)


def shop_data() -> TrainingData:
    return TrainingData(
        baskets=WASHER_BASKETS,
        basket_times=[i * DAY for i in range(len(WASHER_BASKETS))],
        sessions=VISITS,
        session_purchases=VISIT_PURCHASES,
        items=CATALOGUE,
    )


def test_shop_model_bundles_the_three() -> None:
    steps: list[str] = []
    model = ShopModel().fit(shop_data(), on_step=steps.append)

    assert steps == ["complements", "alternatives", "next items"]
    assert names(model.complements(["W1"])) == ["K1", "H1"]
    assert model.alternatives("W9")[0].item == "W1"
    assert names(model.next_items(["W1"], k=1)) == ["W2"]  # 2 of the 4 similar visits


def test_purchases_as_baskets_count_visit_purchases() -> None:
    data = shop_data()
    data.session_purchases = [["W1", "H1"], ["W1", "H1"], [], [], []]
    plain = ShopModel(ComplementRecommender(similarity="count")).fit(data)
    counted = ShopModel(ComplementRecommender(similarity="count"), purchases_as_baskets=True)
    counted.fit(data)

    assert plain.complements(["W1"])[0] == Suggestion("K1", 3.0, "bought together in 3 baskets")
    assert counted.complements(["W1"])[0] == Suggestion("H1", 4.0, "bought together in 4 baskets")


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
    assert metadata["data"]["baskets"] == 5 and metadata["data"]["sessions"] == 5
    assert metadata["data"]["items"] == len(CATALOGUE)
    assert metadata["metrics"] == {"hit_rate@5": 0.5}
    assert metadata["parameters"]["complements"]["similarity"] == "jaccard"
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
            [f"b{n}", f"2026-01-0{n + 1}T10:00:00", item]
            for n, basket in enumerate(WASHER_BASKETS)
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
        ["item", "category", "family", "text"],
        [[sku, info.category, info.family, info.text] for sku, info in CATALOGUE.items()],
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
    assert Path(f"{out}.json").is_file()
    model = ShopModel.load(out)
    assert names(model.complements(["W1"])) == ["K1", "H1"]
    assert names(model.alternatives("W1")) == ["W9", "W2", "W3"]
    assert model.metadata_["parameters"]["complements"]["half_life_days"] == 30


def test_train_cli_rejects_a_file_without_the_columns(tmp_path: Path) -> None:
    from recommender.training import main

    baskets = write_csv(tmp_path / "baskets.csv", ["order", "item"], [["1", "W1"]])

    assert main(["--baskets", str(baskets), "--out", str(tmp_path / "shop")]) != 0
    assert not (tmp_path / "shop.joblib").exists()


def test_a_demo_sized_shop_fits_and_answers_for_every_item() -> None:
    """Speed is measured by bench/recommendations.py, never asserted here."""
    rng = random.Random(7)
    skus = [f"P{i:03d}" for i in range(200)]
    catalogue = {
        sku: ItemInfo(f"C{i % 8}", f"F{i // 3}", f"model {i % 11} colour {i % 5}")
        for i, sku in enumerate(skus)
    }
    baskets = [rng.sample(skus, rng.randint(1, 4)) for _ in range(4000)]
    visits = [rng.sample(skus, rng.randint(1, 8)) for _ in range(4000)]
    data = TrainingData(
        baskets=baskets,
        basket_times=sorted(rng.uniform(0, 365 * DAY) for _ in baskets),
        sessions=visits,
        session_purchases=[v[-1:] if rng.random() < 0.3 else [] for v in visits],
        items=catalogue,
    )

    model = ShopModel(ComplementRecommender(half_life_days=90)).fit(data)

    for n in range(200):
        context = [skus[n], skus[(n * 7) % 200]]
        complements = model.complements(context, k=5)
        assert len(complements) == 5
        assert not {s.item for s in complements} & set(context)
        assert all(s.item != skus[n] for s in model.alternatives(skus[n], k=5))
        assert model.next_items(visits[n][:3], k=5)


def test_the_holdout_check_finds_a_pair_bought_together_every_time() -> None:
    from recommender.evaluation.holdout import holdout_metrics

    day = 86_400.0
    # Every basket pairs a washer with its kit (or a fridge with its filter): whichever item
    # is hidden, the other one names it, so the hit rate is 1.
    baskets = [["W1", "K1"] if i % 2 else ["F1", "H1"] for i in range(40)]
    data = TrainingData(
        baskets=baskets,
        basket_times=[i * day for i in range(40)],
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
