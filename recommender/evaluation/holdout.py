"""A quick time-split check of the shop's own model, stored in every trained artifact.

The last ``test_days`` of baskets are held out, one item per basket is hidden, and a model
fitted on the earlier baskets must find it among its complements (the served configuration,
filters included). The numbers are small-sample and only compare trainings of the same shop.
"""

from __future__ import annotations

from typing import Any

from recommender.base import TrainingData
from recommender.evaluation.metrics import hit_rate, reciprocal_rank
from recommender.evaluation.splits import hide_one_item, split_by_time


def holdout_metrics(data: TrainingData, *, test_days: float = 14.0, k: int = 10) -> dict[str, Any]:
    """HR@k and MRR@k of the complements on the newest baskets, or why there are none."""
    if len(data.baskets) < 20 or len(data.basket_times) != len(data.baskets):
        return {"holdout": "skipped: fewer than 20 timed baskets"}
    split = split_by_time(data, test_days=test_days)
    known = {item for basket in split.train.baskets for item in basket}
    cases = hide_one_item(split.test_baskets, known, seed=0)
    if not split.train.baskets or not cases:
        return {"holdout": "skipped: no test basket with two known items"}
    from recommender.evaluation.uci import served_complements

    model = served_complements().fit(
        split.train.baskets, basket_times=split.train.basket_times, items=data.items
    )
    hits = mrr = 0.0
    for case in cases:
        ranked = [s.item for s in model.recommend(case.context, k=k)]
        hits += hit_rate(ranked, case.target, k)
        mrr += reciprocal_rank(ranked, case.target, k)
    return {
        "holdout": f"last {test_days:g} days, one hidden item per basket",
        "cases": len(cases),
        f"hr@{k}": round(hits / len(cases), 4),
        f"mrr@{k}": round(mrr / len(cases), 4),
    }
