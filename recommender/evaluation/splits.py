"""Time-based splits and hide-one-item test cases (no look into the future)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from recommender.base import TrainingData

DAY = 86_400.0


@dataclass(frozen=True)
class TimeSplit:
    """Baskets before ``boundary`` train the models; baskets at or after it are the test."""

    train: TrainingData
    test_baskets: list[tuple[str, ...]]
    test_times: list[float]
    boundary: float


def split_by_time(data: TrainingData, test_days: float = 30.0) -> TimeSplit:
    """Use the last ``test_days`` days (counted back from the newest basket) as the test.

    UCI ends on 2011-12-09, so "the last month" is 2011-11-09 12:50 onwards; a calendar
    month would leave only nine days of December.
    """
    times = list(data.basket_times)
    if len(times) != len(data.baskets):
        raise ValueError("every basket needs a time")
    if not times:
        raise ValueError("no baskets to split")
    boundary = max(times) - test_days * DAY
    train = [i for i, time in enumerate(times) if time < boundary]
    test = [i for i, time in enumerate(times) if time >= boundary]
    return TimeSplit(
        train=TrainingData(
            baskets=[tuple(data.baskets[i]) for i in train],
            basket_times=[times[i] for i in train],
            items=data.items,
        ),
        test_baskets=[tuple(data.baskets[i]) for i in test],
        test_times=[times[i] for i in test],
        boundary=boundary,
    )


@dataclass(frozen=True)
class HiddenItemCase:
    """One test: the model sees ``context`` (the rest of the basket) and must find ``target``."""

    context: tuple[str, ...]
    target: str


def hide_one_item(
    baskets: Sequence[Sequence[str]],
    known_items: set[str] | frozenset[str],
    seed: int = 0,
    limit: int | None = None,
) -> list[HiddenItemCase]:
    """One case per test basket: a random item the models could know is hidden, the others
    are the context. Deterministic for a given ``seed``.

    The hidden item must occur in training (no model can rank an unknown item, session-rec
    drops such test events too) and the basket needs at least two distinct items. With
    ``limit``, a seeded random sample of that many cases is kept, in basket order.
    """
    rng = random.Random(seed)
    cases = []
    for basket in baskets:
        distinct = list(dict.fromkeys(basket))
        candidates = [item for item in distinct if item in known_items]
        if len(distinct) < 2 or not candidates:
            continue
        target = rng.choice(candidates)
        cases.append(HiddenItemCase(tuple(i for i in distinct if i != target), target))
    if limit is not None and limit < len(cases):
        keep = sorted(rng.sample(range(len(cases)), limit))
        cases = [cases[i] for i in keep]
    return cases


@dataclass(frozen=True)
class NextItemCase:
    """One next-item test: after the clicks in ``prefix``, the next click is ``target``."""

    session_id: str
    position: int
    prefix: tuple[str, ...]
    target: str


def next_item_cases(session_id: str, items: Sequence[str]) -> list[NextItemCase]:
    """Every prefix of a session with the click that follows it (session-rec's protocol);
    ``position`` is the 0-based index of the prefix's last click, as in its saved lists."""
    return [
        NextItemCase(session_id, position, tuple(items[: position + 1]), items[position + 1])
        for position in range(len(items) - 1)
    ]
