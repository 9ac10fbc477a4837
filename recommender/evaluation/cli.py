"""``python -m recommender evaluate uci|yoochoose|all [--datasets PATH] [--limit N] [--out F]``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from recommender.evaluation.datasets import DEFAULT_DATASETS
from recommender.evaluation.runner import format_report, run_yoochoose
from recommender.evaluation.uci import run_uci


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m recommender evaluate",
        description=(
            "Offline evaluation on the shared public data sets: full-catalogue ranking, "
            "time-based splits, paired bootstrap CIs of ours minus the best baseline."
        ),
    )
    parser.add_argument("dataset", choices=["uci", "yoochoose", "all"])
    parser.add_argument(
        "--datasets",
        type=Path,
        default=DEFAULT_DATASETS,
        help=f"folder holding the data sets (default: {DEFAULT_DATASETS}); for uci alone "
        "also the uci_online_retail folder or its online_retail.csv.gz",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="UCI: hide-one test cases to sample (default 5000); "
        "YooChoose: first N test sessions of the full-test run (default: all)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for sampling and bootstrap")
    parser.add_argument(
        "--tune",
        action="store_true",
        help="UCI: also print the validation-month grid the served parameters were chosen on",
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the results as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the chosen evaluations, print one table per data set, optionally save JSON."""
    args = _parser().parse_args(argv)
    if not args.datasets.exists() or (args.dataset != "uci" and not args.datasets.is_dir()):
        print(f"data set folder not found: {args.datasets}", file=sys.stderr)
        return 2

    def log(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    reports = []
    if args.dataset in {"uci", "all"}:
        uci_limit = 5000 if args.limit is None else args.limit
        reports.append(
            run_uci(args.datasets, limit=uci_limit, seed=args.seed, tune=args.tune, log=log)
        )
    if args.dataset in {"yoochoose", "all"}:
        reports.append(run_yoochoose(args.datasets, limit=args.limit, seed=args.seed, log=log))
    for report in reports:
        print(format_report(report))
        print()
    if args.out is not None:
        payload = {report.dataset: report.as_dict() for report in reports}
        args.out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0
