"""Run the offline comparisons: UCI Online Retail (hide one item per basket) and YooChoose
(next click after every prefix), our models against baselines and session-rec's lists."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from recommender.base import Suggestion
from recommender.evaluation import metrics
from recommender.evaluation.baselines import (
    CooccurrenceCount,
    ItemKNNCosine,
    Popularity,
)
from recommender.evaluation.bootstrap import DifferenceCI, MeanCI, bootstrap_mean, paired_bootstrap
from recommender.evaluation.datasets import (
    SESSIONREC_LISTS,
    YOOCHOOSE_TEST,
    YOOCHOOSE_TRAIN,
    read_sessionrec_lists,
    read_sessions,
)
from recommender.evaluation.splits import (
    NextItemCase,
    next_item_cases,
)

K = 20
K_SMALL = 10
#: The metrics every table gives with a confidence interval.
HEADLINE = ("HR@10", "HR@20", "MRR@20", "NDCG@20")

#: HR@20 / MRR@20 of session-rec's saved lists, as printed in the data set's README.
SESSIONREC_PRINTED = {
    "ar": (0.5917, 0.3160),
    "sr": (0.5607, 0.3275),
    "vsknn": (0.6098, 0.3342),
    "gru4rec": (0.5711, 0.3289),
}
PRINTED_DECIMALS = 4


class Recommends(Protocol):
    """Anything that ranks items for a context: baselines return ids, our models Suggestions."""

    def recommend(self, context: Sequence[str], k: int) -> Sequence[str] | Sequence[Suggestion]:
        """Top ``k`` items for the context, best first."""
        ...


def item_ids(ranked: Sequence[str] | Sequence[Suggestion]) -> list[str]:
    """Item ids of a ranked list, whether it holds ids or :class:`Suggestion` objects."""
    return [entry.item if isinstance(entry, Suggestion) else entry for entry in ranked]


@dataclass
class ModelScores:
    """Per-case metrics of one model on one set of cases, plus list-level metrics."""

    name: str
    hr10: np.ndarray
    hr20: np.ndarray
    mrr20: np.ndarray
    ndcg20: np.ndarray
    coverage: float
    substitute_share: float | None
    seconds: float
    note: str = ""
    intervals: dict[str, MeanCI] = field(default_factory=dict)

    def metric(self, name: str) -> np.ndarray:
        """Per-case values of a headline metric (``HR@10``, ``HR@20``, ``MRR@20``, ``NDCG@20``)."""
        series = {"HR@10": self.hr10, "HR@20": self.hr20, "MRR@20": self.mrr20, "NDCG@20": None}
        found = series[name]
        return self.ndcg20 if found is None else found

    def with_intervals(self, groups: Sequence[str] | None = None, seed: int = 0) -> ModelScores:
        """Add a 95 % bootstrap interval to every headline metric (whole groups resampled)."""
        if self.hr20.size:
            self.intervals = {
                name: bootstrap_mean(self.metric(name), groups=groups, seed=seed)
                for name in HEADLINE
            }
        return self

    def summary(self) -> dict[str, Any]:
        """Means over the cases (and their intervals), ready for the table and the JSON file."""
        row: dict[str, Any] = {"model": self.name}
        for name in HEADLINE:
            values = self.metric(name)
            row[name] = float(values.mean()) if values.size else 0.0
        row.update(
            {
                "coverage@20": self.coverage,
                "substitutes@10": self.substitute_share,
                "cases": int(self.hr20.size),
                "seconds": round(self.seconds, 1),
                "note": self.note,
                "intervals": {
                    name: {"low": ci.low, "high": ci.high, "confidence": ci.confidence}
                    for name, ci in self.intervals.items()
                },
            }
        )
        return row


def score_lists(
    name: str,
    contexts: Sequence[Sequence[str]],
    targets: Sequence[str],
    lists: Sequence[Sequence[str]],
    catalogue_size: int,
    same_kind: Callable[[str, str], bool] | None = None,
    seconds: float = 0.0,
    note: str = "",
) -> ModelScores:
    """Metrics of already computed ranked lists (ours, a baseline's or session-rec's);
    ``same_kind`` (e.g. a fitted catalogue's) gives the share of same-kind suggestions."""
    share = None
    if same_kind is not None:
        share = metrics.substitute_share(zip(contexts, lists, strict=True), same_kind, K_SMALL)
    return ModelScores(
        name=name,
        hr10=np.array(
            [metrics.hit_rate(r, t, K_SMALL) for r, t in zip(lists, targets, strict=True)]
        ),
        hr20=np.array([metrics.hit_rate(r, t, K) for r, t in zip(lists, targets, strict=True)]),
        mrr20=np.array(
            [metrics.reciprocal_rank(r, t, K) for r, t in zip(lists, targets, strict=True)]
        ),
        ndcg20=np.array([metrics.ndcg(r, t, K) for r, t in zip(lists, targets, strict=True)]),
        coverage=metrics.coverage(lists, catalogue_size, K),
        substitute_share=share,
        seconds=seconds,
        note=note,
    )


def evaluate_model(
    name: str,
    model: Recommends,
    contexts: Sequence[Sequence[str]],
    targets: Sequence[str],
    catalogue_size: int,
    same_kind: Callable[[str, str], bool] | None = None,
) -> ModelScores:
    """Ask a fitted model for its top 20 on every context and score the lists."""
    started = time.perf_counter()
    lists = [item_ids(model.recommend(list(context), K)) for context in contexts]
    elapsed = time.perf_counter() - started
    return score_lists(name, contexts, targets, lists, catalogue_size, same_kind, elapsed)


@dataclass
class Comparison:
    """Ours minus the best baseline on one metric, with its paired bootstrap CI."""

    metric: str
    ours: str
    baseline: str
    ci: DifferenceCI

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "metric": self.metric,
            "ours": self.ours,
            "baseline": self.baseline,
            "difference": self.ci.difference,
            "low": self.ci.low,
            "high": self.ci.high,
            "ratio": self.ci.ratio,
            "ratio_low": self.ci.ratio_low,
            "ratio_high": self.ci.ratio_high,
            "confidence": self.ci.confidence,
            "significant": self.ci.significant,
        }


def compare_to_best(
    ours: ModelScores,
    baselines: Sequence[ModelScores],
    groups: Sequence[str] | None = None,
    seed: int = 0,
    metrics_: Sequence[str] = HEADLINE,
) -> list[Comparison]:
    """Paired bootstrap of ours against the best baseline on each headline metric: the
    difference and the ratio of the means, each with its 95 % interval.

    The best baseline is picked per metric on the same test cases, which flatters the
    baseline a little: a win that survives this is a real one.
    """
    comparisons: list[Comparison] = []
    if ours.hr20.size == 0 or not baselines:
        return comparisons
    for metric in metrics_:
        best = max(baselines, key=lambda scores: float(scores.metric(metric).mean()))
        ci = paired_bootstrap(ours.metric(metric), best.metric(metric), groups=groups, seed=seed)
        comparisons.append(Comparison(metric, ours.name, best.name, ci))
    return comparisons


@dataclass
class Report:
    """Everything one data set's run produced: tables, comparisons and notes."""

    dataset: str
    tables: dict[str, list[ModelScores]] = field(default_factory=dict)
    comparisons: dict[str, list[Comparison]] = field(default_factory=dict)
    reproduction: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "dataset": self.dataset,
            "tables": {
                name: [scores.summary() for scores in rows] for name, rows in self.tables.items()
            },
            "comparisons": {
                name: [comparison.as_dict() for comparison in rows]
                for name, rows in self.comparisons.items()
            },
            "reproduction": self.reproduction,
            "notes": self.notes,
        }


def _fit_ours(
    label: str, fit: Callable[[], Recommends], report: Report
) -> tuple[Recommends | None, float]:
    """Fit one of our models; a missing or broken model is reported, not fatal."""
    started = time.perf_counter()
    try:
        model = fit()
    except ImportError as error:
        report.notes.append(f"{label}: not available ({error})")
        return None, 0.0
    return model, time.perf_counter() - started


def _fit_session_knn(sessions: Sequence[Sequence[str]], **params: Any) -> Recommends:
    from recommender.session import SessionKNN

    fitted: Recommends = SessionKNN(**params).fit(sessions)
    return fitted


#: Our session models: as shipped (viewed items may come back, as in session-rec's V-SKNN)
#: and hiding the viewed items, the cost of that product choice.
OURS_SESSIONS: dict[str, Callable[[Sequence[Sequence[str]]], Recommends]] = {
    "ours-sessionknn": lambda train: _fit_session_knn(train),
    "ours-sessionknn -seen": lambda train: _fit_session_knn(train, remove_seen=True),
}


def reproduce_sessionrec(
    datasets: Path, test: Mapping[str, Sequence[str]], catalogue_size: int
) -> tuple[list[NextItemCase], list[ModelScores], list[dict[str, Any]]]:
    """Score session-rec's saved lists and check them against the README's numbers."""
    rows, checks = [], []
    cases: list[NextItemCase] = []
    for name, relative in SESSIONREC_LISTS.items():
        saved = read_sessionrec_lists(datasets / relative)
        targets = [test[entry.session_id][entry.position + 1] for entry in saved]
        contexts = [tuple(test[e.session_id][: e.position + 1]) for e in saved]
        lists = [entry.items for entry in saved]
        scores = score_lists(f"session-rec {name}", contexts, targets, lists, catalogue_size)
        printed_hr, printed_mrr = SESSIONREC_PRINTED[name]
        hr, mrr = float(scores.hr20.mean()), float(scores.mrr20.mean())
        checks.append(
            {
                "list": name,
                "predictions": len(saved),
                "HR@20": hr,
                "MRR@20": mrr,
                "printed HR@20": printed_hr,
                "printed MRR@20": printed_mrr,
                "match": round(hr, PRINTED_DECIMALS) == printed_hr
                and round(mrr, PRINTED_DECIMALS) == printed_mrr,
            }
        )
        rows.append(scores)
        if not cases:
            cases = [
                NextItemCase(e.session_id, e.position, context, target)
                for e, context, target in zip(saved, contexts, targets, strict=True)
            ]
    return cases, rows, checks


def _session_baselines(train: Sequence[Sequence[str]]) -> dict[str, Recommends]:
    """Session baselines in session-rec's spirit, keeping the clicked items (shoppers often
    go back to an item they viewed) and, marked ``-seen``, hiding them like a widget that
    never shows what was just viewed."""
    models: dict[str, Recommends] = {"popularity": Popularity(exclude_context=False).fit(train)}
    for suffix, hide in (("", False), (" -seen", True)):
        last_click = ItemKNNCosine(exclude_context=hide).fit(train)
        models[f"itemknn-cosine (last click){suffix}"] = _LastClick(last_click)
        models[f"cooccurrence (whole prefix){suffix}"] = CooccurrenceCount(
            exclude_context=hide
        ).fit(train)
    return models


class _LastClick:
    """Item-kNN on the last click only (session-rec's IKNN)."""

    def __init__(self, model: Popularity) -> None:
        self.model = model

    def recommend(self, context: Sequence[str], k: int) -> list[str]:
        ranked = self.model.recommend(context[-1:], k + len(context))
        if self.model.exclude_context:
            ranked = [item for item in ranked if item not in context]
        return ranked[:k]


def _hides_seen(name: str) -> bool:
    return name.endswith("-seen")


def _score_cases(
    label: str,
    models: Mapping[str, Recommends],
    cases: Sequence[NextItemCase],
    catalogue_size: int,
    log: Callable[[str], None],
) -> list[ModelScores]:
    contexts = [case.prefix for case in cases]
    targets = [case.target for case in cases]
    rows = []
    for name, model in models.items():
        log(f"yoochoose {label}: {name}")
        rows.append(evaluate_model(name, model, contexts, targets, catalogue_size))
    return rows


def run_yoochoose(
    datasets: Path,
    limit: int | None = None,
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> Report:
    """YooChoose 100k: session-rec's lists reproduced, then ours on the same 387
    predictions and on every prefix of the (first ``limit``) test sessions."""
    report = Report("yoochoose_rsc15_sessionrec_100k")
    train_sessions = read_sessions(datasets / YOOCHOOSE_TRAIN)
    test_sessions = read_sessions(datasets / YOOCHOOSE_TEST)
    train = [session.items for session in train_sessions]
    catalogue = {item for items in train for item in items}
    test = {session.session_id: session.items for session in test_sessions}
    log(f"yoochoose: {len(train)} train sessions, {len(test)} test sessions")

    reference_cases, reference_rows, checks = reproduce_sessionrec(datasets, test, len(catalogue))
    report.reproduction = checks

    models = _session_baselines(train)
    baseline_names = list(models)
    ours_names = []
    for name, fit in OURS_SESSIONS.items():
        log(f"yoochoose: fit {name}")
        model, _ = _fit_ours(name, partial(fit, train), report)
        if model is not None:
            models[name] = model
            ours_names.append(name)

    rows = _score_cases("99 sessions", models, reference_cases, len(catalogue), log)
    groups = [case.session_id for case in reference_cases]
    report.tables["sessionrec-99"] = [
        r.with_intervals(groups, seed) for r in (*reference_rows, *rows)
    ]
    # session-rec's lists keep the viewed items: only our rows that do too are compared.
    for ours in (row for row in rows if row.name in ours_names and not _hides_seen(row.name)):
        report.comparisons.setdefault("sessionrec-99", []).extend(
            compare_to_best(ours, reference_rows, groups=groups, seed=seed)
        )

    chosen = test_sessions if limit is None else test_sessions[:limit]
    cases = [case for s in chosen for case in next_item_cases(s.session_id, s.items)]
    report.notes.append(
        f"{len(train)} train sessions, {len(catalogue)} items; full test: {len(chosen)} "
        f"sessions, {len(cases)} next-item predictions; CIs resample whole sessions"
    )
    rows = _score_cases("full test", models, cases, len(catalogue), log)
    groups = [case.session_id for case in cases]
    report.tables["full-test"] = [r.with_intervals(groups, seed) for r in rows]
    for ours in (row for row in rows if row.name in ours_names):
        report.comparisons.setdefault("full-test", []).extend(
            compare_to_best(
                ours,
                [
                    r
                    for r in rows
                    if r.name in baseline_names and _hides_seen(r.name) == _hides_seen(ours.name)
                ],
                groups=groups,
                seed=seed,
            )
        )
    return report


def _optional(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _cell(scores: ModelScores, metric: str) -> str:
    """``0.3181 [0.300,0.337]``: the mean and its interval."""
    mean = float(scores.metric(metric).mean()) if scores.hr20.size else 0.0
    ci = scores.intervals.get(metric)
    if ci is None:
        return f"{mean:.4f}{'':>14}"
    return f"{mean:.4f} [{ci.low:.3f},{ci.high:.3f}]"


def format_comparison(comparison: Comparison) -> str:
    """One line: ratio and difference of the means, each with its interval."""
    ci = comparison.ci
    return (
        f"{comparison.metric}: {comparison.ours} / {comparison.baseline} = {ci.ratio:.3f}x "
        f"[{ci.ratio_low:.3f}x, {ci.ratio_high:.3f}x]; difference {ci.difference:+.4f} "
        f"[{ci.low:+.4f}, {ci.high:+.4f}]{'  (significant)' if ci.significant else ''}"
    )


def format_report(report: Report) -> str:
    """Plain-text tables for the terminal and the docs (means with 95 % intervals)."""
    lines = [f"== {report.dataset} =="]
    lines.extend(f"  {note}" for note in report.notes)
    if report.reproduction:
        lines.append("")
        lines.append("session-rec saved lists (first 99 test sessions), reproduced vs README:")
        lines.append(
            f"  {'list':<10}{'n':>5}{'HR@20':>9}{'printed':>9}{'MRR@20':>9}{'printed':>9}  match"
        )
        for check in report.reproduction:
            lines.append(
                f"  {check['list']:<10}{check['predictions']:>5}{check['HR@20']:>9.4f}"
                f"{check['printed HR@20']:>9.4f}{check['MRR@20']:>9.4f}"
                f"{check['printed MRR@20']:>9.4f}  {'yes' if check['match'] else 'NO'}"
            )
    header = (
        f"  {'model':<36}"
        + "".join(f"  {metric:<20}" for metric in HEADLINE)
        + f"{'cov@20':>8}{'kind@10':>8}{'cases':>7}{'sec':>7}"
    )
    for table, rows in report.tables.items():
        lines.append("")
        lines.append(f"[{table}]")
        lines.append(header)
        for scores in rows:
            row = scores.summary()
            lines.append(
                f"  {row['model'][:36]:<36}"
                + "".join(f"  {_cell(scores, metric):<20}" for metric in HEADLINE)
                + f"{row['coverage@20']:>8.4f}{_optional(row['substitutes@10']):>8}"
                f"{row['cases']:>7}{row['seconds']:>7.1f}"
            )
        for comparison in report.comparisons.get(table, []):
            lines.append("  " + format_comparison(comparison))
    return "\n".join(lines)
