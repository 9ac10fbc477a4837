"""Ranking metrics for one ranked list against one held-out target, plus list-level metrics.

All ranking is over the full catalogue (no negative sampling): a model returns its top-k of
every item it knows, and the target either is in that list or scores zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence


def rank_of(ranked: Sequence[str], target: str, k: int) -> int | None:
    """1-based rank of ``target`` within the first ``k`` items, or None if it is not there."""
    for position, item in enumerate(ranked[:k], start=1):
        if item == target:
            return position
    return None


def hit_rate(ranked: Sequence[str], target: str, k: int) -> float:
    """1.0 if the target is in the top k (HR@k, also called Recall@k for one target)."""
    return 0.0 if rank_of(ranked, target, k) is None else 1.0


def reciprocal_rank(ranked: Sequence[str], target: str, k: int) -> float:
    """1/rank of the target if it is in the top k, else 0 (averaged, this is MRR@k)."""
    rank = rank_of(ranked, target, k)
    return 0.0 if rank is None else 1.0 / rank


def ndcg(ranked: Sequence[str], target: str, k: int) -> float:
    """NDCG@k with one relevant item: 1/log2(rank + 1); the ideal DCG is 1."""
    rank = rank_of(ranked, target, k)
    return 0.0 if rank is None else 1.0 / math.log2(rank + 1)


def coverage(lists: Iterable[Sequence[str]], catalogue_size: int, k: int) -> float:
    """Share of the catalogue that appears in at least one top-k list.

    Low coverage means the model shows the same few items to everybody.
    """
    if catalogue_size <= 0:
        return 0.0
    shown: set[str] = set()
    for ranked in lists:
        shown.update(ranked[:k])
    return len(shown) / catalogue_size


def is_substitute(item: str, context: Iterable[str], same_kind: Callable[[str, str], bool]) -> bool:
    """True if ``item`` is the same kind as an item of the context (``same_kind``, e.g. a
    fitted :class:`recommender.catalog.Catalog`'s ``is_same_kind``).

    A complement recommender should mostly suggest *other kinds* of products: a second
    colour of the mug already in the basket is an alternative, not an add-on, unless the
    data show the two bought together.
    """
    return any(other != item and same_kind(other, item) for other in context)


def substitute_share(
    lists: Iterable[tuple[Sequence[str], Sequence[str]]],
    same_kind: Callable[[str, str], bool],
    k: int,
) -> float:
    """Share of all suggestions (top k of each ``(context, ranked)`` pair) that are the same
    kind as their context (see :func:`is_substitute`)."""
    substitutes = shown = 0
    for context, ranked in lists:
        for item in ranked[:k]:
            shown += 1
            substitutes += is_substitute(item, context, same_kind)
    return substitutes / shown if shown else 0.0
