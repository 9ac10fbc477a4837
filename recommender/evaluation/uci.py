"""UCI Online Retail: the complements the shop serves, tuned on one month, reported on the next.

Three periods, by time, never looking ahead:

* **train**: everything before the validation month;
* **validation** (the 30 days before the test month): where every setting was chosen
  (``--tune`` prints the grid);
* **test** (the last 30 days): reported once, with models refitted on everything before it.

The first row of each table is the **served configuration**: ``ShopModel()``'s complement
model, its exact estimator, parameters and filters (substitutes, significance, price sanity),
as ``store_api`` trains it. The same model with its filters off (``unfiltered``) and the five
baselines follow. Every headline metric has a 95 % bootstrap interval, and the served model
is compared with the best baseline per metric: paired bootstrap of the ratio and of the
difference of the means.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sklearn.base import clone

from recommender.base import TrainingData
from recommender.catalog import Catalog
from recommender.complements import ComplementRecommender
from recommender.evaluation.baselines import all_baselines
from recommender.evaluation.datasets import UCI_FILE, read_online_retail
from recommender.evaluation.runner import (
    ModelScores,
    Report,
    compare_to_best,
    evaluate_model,
    item_ids,
)
from recommender.evaluation.splits import HiddenItemCase, hide_one_item, split_by_time

SERVED = "served: ShopModel() complements"
UNFILTERED = "unfiltered: same model, filters off"

#: The validation grid of ``--tune`` (the served parameters are among them).
TUNING_GRID: tuple[dict[str, Any], ...] = (
    *(
        {"similarity": "ease", "l2": l2, "half_life_days": half_life, "top_n": 10}
        for l2 in (10.0, 20.0, 50.0)
        for half_life in (None, 90.0, 180.0, 365.0)
    ),
    {"similarity": "ease", "l2": 20.0, "half_life_days": 180.0, "top_n": 20},
    {"similarity": "ease", "l2": 20.0, "half_life_days": 180.0, "top_n": 50},
    {"similarity": "jaccard", "half_life_days": None, "top_n": 10},
    {"similarity": "jaccard", "half_life_days": 180.0, "top_n": 10},
)


def served_complements() -> ComplementRecommender:
    """A fresh copy of the complement model the shop serves (``ShopModel()``'s)."""
    from recommender.model import ShopModel

    served: ComplementRecommender = ShopModel().complement_model
    return clone(served)


def unfiltered(model: ComplementRecommender) -> ComplementRecommender:
    """The same estimator with its seller's filters off: substitutes allowed, no support or
    significance gate, no price rule."""
    copy: ComplementRecommender = clone(model).set_params(
        allow_substitutes=True, min_support=1, confidence=None, price_ratio=None
    )
    return copy


class _Ranked:
    """A fitted complement model as the evaluation asks it: context in, item ids out."""

    def __init__(self, model: ComplementRecommender) -> None:
        self.model = model

    def recommend(self, context: Sequence[str], k: int) -> list[str]:
        return item_ids(self.model.recommend(context, k))


def uci_file(path: Path) -> Path:
    """The UCI file from its own path, its folder, or the data sets folder holding that."""
    for candidate in (path, path / UCI_FILE.name, path / UCI_FILE):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"UCI Online Retail ({UCI_FILE.name}) not found at {path}")


def uci_data(path: Path) -> TrainingData:
    """UCI Online Retail read from ``path`` (see :func:`uci_file`)."""
    return read_online_retail(uci_file(path))


def _period(
    label: str,
    train: TrainingData,
    test_baskets: Sequence[Sequence[str]],
    models: dict[str, ComplementRecommender],
    same_kind: Callable[[str, str], bool],
    seed: int,
    limit: int | None,
    log: Callable[[str], None],
) -> tuple[list[ModelScores], list[ModelScores], list[HiddenItemCase]]:
    """Our models first, then the baselines; each with intervals on every headline metric."""
    known = {item for basket in train.baskets for item in basket}
    cases = hide_one_item(test_baskets, known, seed=seed, limit=limit)
    contexts = [case.context for case in cases]
    targets = [case.target for case in cases]
    ours: list[ModelScores] = []
    for name, model in models.items():
        log(f"uci {label}: {name}")
        started = time.perf_counter()
        model.fit(train.baskets, train.basket_times, train.items)
        scores = evaluate_model(name, _Ranked(model), contexts, targets, len(known), same_kind)
        scores.seconds = time.perf_counter() - started  # fit included
        ours.append(scores.with_intervals(seed=seed))
    baselines: list[ModelScores] = []
    for name, baseline in all_baselines().items():
        log(f"uci {label}: {name}")
        started = time.perf_counter()
        baseline.fit(train.baskets)
        scores = evaluate_model(name, baseline, contexts, targets, len(known), same_kind)
        scores.seconds = time.perf_counter() - started
        baselines.append(scores.with_intervals(seed=seed))
    return ours, baselines, cases


def _day(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(seconds))


def run_uci(
    datasets: Path,
    limit: int | None = 5000,
    seed: int = 0,
    test_days: float = 30.0,
    validation_days: float = 30.0,
    tune: bool = False,
    log: Callable[[str], None] = print,
) -> Report:
    """Validation month (tuning) then test month (reported), served configuration first."""
    report = Report("uci_online_retail")
    data = uci_data(datasets)
    outer = split_by_time(data, test_days)
    inner = split_by_time(outer.train, validation_days)
    served = served_complements()
    catalogue = Catalog(kind_threshold=served.kind_threshold).fit(data.items)
    report.notes.append(
        f"served parameters: {served.get_params()}; same kind (kind@10 column): the served "
        f"catalogue reading of the descriptions (recommender.catalog)"
    )

    if tune:
        grid = {
            f"{i:02d} {_label(params)}": clone(served).set_params(**params)
            for i, params in enumerate(TUNING_GRID)
        }
        rows, baselines, cases = _period(
            "tuning", inner.train, inner.test_baskets, grid, catalogue.is_same_kind, seed,
            limit, log,
        )  # fmt: skip
        best_baseline = max(baselines, key=lambda r: float(r.hr10.mean()))
        ranked = sorted(rows, key=lambda r: -float(r.hr10.mean()))
        report.tables["tuning (validation month)"] = [*ranked, best_baseline]

    models = {SERVED: served, UNFILTERED: unfiltered(served)}
    rows, baselines, cases = _period(
        "validation", inner.train, inner.test_baskets, models, catalogue.is_same_kind, seed,
        limit, log,
    )  # fmt: skip
    report.tables["validation"] = [rows[0], *baselines, *rows[1:]]
    report.comparisons["validation"] = compare_to_best(rows[0], baselines, seed=seed)
    report.notes.append(
        f"validation: train < {_day(inner.boundary)} UTC ({len(inner.train.baskets)} baskets), "
        f"validate {_day(inner.boundary)} to {_day(outer.boundary)} "
        f"({len(inner.test_baskets)} baskets, {len(cases)} hide-one cases)"
    )

    models = {SERVED: served_complements(), UNFILTERED: unfiltered(served)}
    rows, baselines, cases = _period(
        "test", outer.train, outer.test_baskets, models, catalogue.is_same_kind, seed, limit,
        log,
    )  # fmt: skip
    report.tables["test"] = [rows[0], *baselines, *rows[1:]]
    report.comparisons["test"] = [
        *compare_to_best(rows[0], baselines, seed=seed),
        *compare_to_best(rows[1], baselines, seed=seed),
    ]
    known = {item for basket in outer.train.baskets for item in basket}
    report.notes.append(
        f"test: train < {_day(outer.boundary)} UTC ({len(outer.train.baskets)} baskets), test "
        f"{_day(outer.boundary)} to {_day(max(outer.test_times))} ({len(outer.test_baskets)} "
        f"baskets, {len(cases)} hide-one cases, seed {seed}, limit {limit}), {len(known)} "
        f"known items; intervals: 95 % percentile bootstrap, 2000 resamples"
    )
    return report


def _label(params: dict[str, Any]) -> str:
    """``ease l2=20 hl=180 top10``: short enough for the table's first column."""
    words = [str(params.get("similarity", ""))]
    if "l2" in params:
        words.append(f"l2={params['l2']:g}")
    half_life = params.get("half_life_days")
    words.append("no decay" if half_life is None else f"hl={half_life:g}")
    words.append(f"top{params.get('top_n')}")
    return " ".join(words)
