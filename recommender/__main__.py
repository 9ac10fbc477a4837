"""``python -m recommender train|evaluate ...`` (see ``--help`` of each)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in {"train", "evaluate"}:
        print("usage: python -m recommender {train,evaluate} [--help]", file=sys.stderr)
        return 2
    if args[0] == "train":
        from recommender.training import main as train

        return train(args[1:])
    from recommender.evaluation.cli import main as evaluate

    return evaluate(args[1:])


if __name__ == "__main__":
    raise SystemExit(main())
