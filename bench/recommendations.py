"""Recommendation latency in process: the demo shop, its synthetic sales, a trained model.

Seeds the demo catalogue and ``seeds/demo_sales.py`` into a temporary SQLite database, trains
with ``flask recommender train``, then times calls for random demo SKUs (complements and
alternatives, limit 5; plus a 3-product basket):

* the service function (``recommend_for_product``: model + one stock query + fallback);
* the same through HTTP with the Flask test client (auth, validation, serialisation).

Target: p99 < 10 ms in process. Run with ``make bench`` or ``python -m bench.recommendations
--calls 2000``; results also go to ``bench/results/recommendations.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from store_api import create_app, db
from store_api.catalog.models import Product
from store_api.cli import upgrade_database
from store_api.keys import service as keys
from store_api.recommendations import service
from store_api.recommendations.routes import recommender_dir

RESULTS = Path(__file__).parent / "results"
TARGET_P99_MS = 10.0


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "p50_ms": round(at(0.50), 3),
        "p95_ms": round(at(0.95), 3),
        "p99_ms": round(at(0.99), 3),
        "max_ms": round(ordered[-1] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def timed(calls: int, call: Callable[[int], None]) -> list[float]:
    for i in range(min(50, calls)):  # warm-up: model load, statement cache
        call(i)
    samples = []
    for i in range(calls):
        started = time.perf_counter()
        call(i)
        samples.append(time.perf_counter() - started)
    return samples


def prepare(workdir: Path) -> tuple[Any, str]:
    app = create_app({"DATABASE_URL": f"sqlite:///{workdir / 'bench.db'}"})
    app.instance_path = str(workdir / "instance")
    upgrade_database(app)
    runner = app.test_cli_runner()
    for args in (["seed", "--no-keys"], ["seed-sales"], ["recommender", "train"]):
        result = runner.invoke(args=args)
        if result.exit_code != 0:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{result.output}{result.exception!r}")
        print(result.output.strip())
    session = db.new_session(app)
    with db.write(session):
        _key, secret = keys.create_key(session, name="bench seller", role="seller", now=db.utcnow())
    session.close()
    return app, secret


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    report: dict[str, Any] = {"calls": args.calls, "target_p99_ms": TARGET_P99_MS}
    with tempfile.TemporaryDirectory() as tmp:
        app, secret = prepare(Path(tmp))
        session = db.new_session(app)
        with db.read(session):
            skus = list(session.scalars(select(Product.sku).order_by(Product.sku)))
        policy = app.extensions["comptoir_policy"]
        with app.app_context():
            holder = service.holder_for(recommender_dir())
        kinds = ("complements", "alternatives")
        picks = [(rng.choice(skus), kinds[i % 2]) for i in range(args.calls)]
        baskets = [rng.sample(skus, 3) for _ in range(args.calls)]
        served: list[int] = []

        def call_service(i: int) -> None:
            sku, kind = picks[i]
            with db.read(session):
                found = service.recommend_for_product(
                    session, sku, kind=kind, limit=5, policy=policy, holder=holder
                )
            served.append(len(found.items))

        def call_basket(i: int) -> None:
            with db.read(session):
                service.recommend_for_context(
                    session, baskets[i], kind="complements", limit=5, policy=policy, holder=holder
                )

        client = app.test_client()
        headers = {"Authorization": f"Bearer {secret}"}

        def call_http(i: int) -> None:
            sku, kind = picks[i]
            response = client.get(
                f"/api/v1/products/{sku}/recommendations",
                query_string={"kind": kind, "limit": 5},
                headers=headers,
            )
            assert response.status_code == 200, response.get_data(as_text=True)

        for name, call in (
            ("service_product", call_service),
            ("service_basket_of_3", call_basket),
            ("http_test_client_product", call_http),
        ):
            report[name] = percentiles(timed(args.calls, call))
        report["mean_suggestions_served"] = round(statistics.fmean(served), 2)
        report["model_version"] = holder.get().version
        session.close()
        db.engine_for(app).dispose()
    print(f"{args.calls} calls each, random demo SKUs, limit 5 (target p99 < {TARGET_P99_MS} ms):")
    for name in ("service_product", "service_basket_of_3", "http_test_client_product"):
        r = report[name]
        print(
            f"  {name:<26} p50 {r['p50_ms']:6.2f} ms  p95 {r['p95_ms']:6.2f} ms  "
            f"p99 {r['p99_ms']:6.2f} ms  max {r['max_ms']:6.2f} ms"
        )
    print(f"  suggestions per answer: {report['mean_suggestions_served']} (of 5)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "recommendations.json").write_text(json.dumps(report, indent=2) + "\n")
    worst = max(report[n]["p99_ms"] for n in ("service_product", "http_test_client_product"))
    return 0 if worst < TARGET_P99_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
