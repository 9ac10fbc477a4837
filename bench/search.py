"""Search benchmark: a generated catalogue of 20,000 products, latency through the service and
throughput through HTTP next to the authenticated no-op endpoint.

For SQLite and a throwaway PostgreSQL:

* the catalogue: the demo shop's models multiplied into 20,000 products (other model numbers,
  sizes, colours and series; see :func:`generate`), written in bulk, then one reindex;
* the first search of a process (it builds that process's index) and the index's size;
* p50/p95 per query (``catalog.search_products``: the ranked page with its product rows) and
  per suggestion (``search.suggest``), over a mix of everyday words, brands, typos, model
  numbers, sizes and as-you-type prefixes (targets: p95 < 20 ms each);
* search requests per second (``GET /api/v1/products?q=...``, 20 results with stock) next to
  ``GET /api/v1/ping`` on the same gunicorn (2 gthread workers x 4 threads), interleaved
  rounds; the ratio is what counts (target >= 0.5).

Run with ``make bench`` (or ``python -m bench.search --backend sqlite --products 20000``).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import insert, select

from bench.stock_http import database, hammer
from seeds.generate_catalog import CATALOG, COLOUR_CODE, PREFIX, Model
from store_api import create_app, db
from store_api.catalog import service as catalog
from store_api.catalog.models import Product
from store_api.cli import upgrade_database
from store_api.keys import service as keys
from store_api.search import service as search
from store_api.search.cli import DEMO_SYNONYMS, read_synonyms
from store_api.stock.models import StockLevel
from tests.servers import start_gunicorn, stop_gunicorn

RESULTS = Path(__file__).parent / "results"
SERIES = ("Pro", "Plus", "Eco", "Confort", "Silence", "Max", "Smart", "Premium", "Compact", "XL")


def _variant_code(model: Model, n: int) -> str:
    """Another model number in the same family: WGG244 -> WGG2447, WGG2453, ..."""
    return f"{model.code}{n:03d}"[: 12 + len(str(n))]


def generate(count: int, seed: int = 69) -> list[dict[str, Any]]:
    """``count`` products drawn from the demo models, deterministic for a seed."""
    rng = random.Random(seed)
    models = [(category, m) for category, ms in CATALOG.items() for m in ms]
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    n = 0
    while len(rows) < count:
        n += 1
        category, model = rng.choice(models)
        code = _variant_code(model, n)
        series = rng.choice(SERIES)
        colour = rng.choice(model.colours) if model.colours else ""
        sku = "-".join(
            p
            for p in (PREFIX[category], model.brand[:3].upper(), code, COLOUR_CODE.get(colour, ""))
            if p
        )
        if sku in seen:
            continue
        seen.add(sku)
        name = f"{model.name} {series} {code}"
        price = (
            Decimal(model.price) * Decimal(rng.choice((80, 90, 100, 110, 125))) / 100
        ).quantize(Decimal("0.01"))
        rows.append(
            {
                "sku": sku,
                "name": name,
                "description": f"{model.pitch} Série {series}, modèle {code}.",
                "brand": model.brand,
                "category": category,
                "colour": colour,
                "price": price,
                "attributes": model.attrs,
                "active": rng.random() > 0.03,
            }
        )
    return rows


def queries(rows: list[dict[str, Any]], seed: int = 7) -> tuple[list[str], list[str]]:
    """A mix of searches and of as-you-type prefixes, drawn from the catalogue itself."""
    rng = random.Random(seed)
    everyday = [
        "frigo", "lave linge", "machine a laver", "lave vaiselle", "whirpool", "delonghi",
        "microondes", "cafetiere", "sechoir", "filtre frigo", "refrigerateur americain",
        "tv oled 55 pouces", "aspirateur sans fil", "four pyrolyse bosch", "bouilloire smeg",
        "lave vaisselle 45 cm", "samsung noir", "tele", "grille pain", "robot patissier",
    ]  # fmt: skip
    picked = rng.sample(rows, 80)
    models = [r["sku"].split("-")[2] for r in picked[:30]]
    spaced = [f"{m[:3]} {m[3:]}" for m in models[:10]]
    names = [" ".join(r["name"].split()[:3]) for r in picked[30:60]]
    found = everyday + models + spaced + names
    prefixes = []
    for q in everyday[:15] + models[:10]:
        prefixes += [q[:i] for i in range(2, len(q) + 1)]
    return found, prefixes


def prepare(url: str, count: int) -> tuple[Any, str, list[dict[str, Any]]]:
    """Migrate, write ``count`` products with stock in bulk, the demo synonyms, a key."""
    app = create_app({"DATABASE_URL": url})
    upgrade_database(app)
    rows = generate(count)
    now = db.utcnow()
    session = db.new_session(app)
    with db.write(session):
        for start in range(0, len(rows), 2000):
            chunk = rows[start : start + 2000]
            session.execute(
                insert(Product),
                [
                    {
                        **r,
                        "image_url": None,
                        "search_text": "",
                        "search_generation": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                    for r in chunk
                ],
            )
        ids = session.execute(select(Product.id)).scalars().all()
        rng = random.Random(1)
        levels = [
            {
                "product_id": i,
                "location": loc,
                "on_hand": rng.choice((0, 0, 1, 3, 8)),
                "reserved": 0,
                "updated_at": now,
            }
            for i in ids
            for loc in ("floor", "backroom", "warehouse")
        ]
        for start in range(0, len(levels), 6000):
            session.execute(insert(StockLevel), levels[start : start + 6000])
        search.reindex(session)
        search.replace_synonyms(session, read_synonyms(DEMO_SYNONYMS))
        _key, secret = keys.create_key(session, name="bench seller", role="seller", now=now)
    session.close()
    return app, secret, rows


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def service_latency(app: Any, found: list[str], prefixes: list[str]) -> dict[str, Any]:
    session = db.new_session(app)
    began = time.perf_counter()
    with db.read(session):
        catalog.search_products(session, q="frigo")
    first_s = time.perf_counter() - began
    with db.read(session), search.current_index(session) as index:
        terms = len(index.postings)
        postings = sum(len(p) for p in index.postings.values())
    query_ms, suggest_ms = [], []
    for _round in range(3):
        for q in found:
            began = time.perf_counter()
            with db.read(session):
                catalog.search_products(session, q=q, page_size=20)
            query_ms.append((time.perf_counter() - began) * 1000)
        for q in prefixes:
            began = time.perf_counter()
            with db.read(session):
                search.suggest(session, q)
            suggest_ms.append((time.perf_counter() - began) * 1000)
    session.close()
    return {
        "first_search_builds_index_s": round(first_s, 2),
        "index_terms": terms,
        "index_postings": postings,
        "queries": len(query_ms),
        "query_p50_ms": round(_percentile(query_ms, 50), 2),
        "query_p95_ms": round(_percentile(query_ms, 95), 2),
        "suggestions": len(suggest_ms),
        "suggest_p50_ms": round(_percentile(suggest_ms, 50), 2),
        "suggest_p95_ms": round(_percentile(suggest_ms, 95), 2),
    }


def _warm_up(base: str, headers: dict[str, str], quick_s: float = 0.5) -> None:
    """Search until 20 answers in a row come quickly: both workers have built their index."""
    in_a_row = 0
    deadline = time.monotonic() + 300
    with requests.Session() as http:
        while in_a_row < 20 and time.monotonic() < deadline:
            began = time.monotonic()
            r = http.get(
                f"{base}/api/v1/products", params={"q": "lave"}, headers=headers, timeout=300
            )
            assert r.status_code == 200, r.text
            in_a_row = in_a_row + 1 if time.monotonic() - began < quick_s else 0


def run_backend(backend: str, count: int, clients: int, seconds: float) -> dict[str, Any]:
    with (
        tempfile.TemporaryDirectory(prefix=f"comptoir-bench-search-{backend}-") as tmp,
        database(backend, Path(tmp)) as url,
    ):
        began = time.perf_counter()
        app, secret, rows = prepare(url, count)
        prepared_s = time.perf_counter() - began
        found, prefixes = queries(rows)
        latency = service_latency(app, found, prefixes)
        db.engine_for(app).dispose()
        server = start_gunicorn(url, Path(tmp) / "gunicorn.log", workers=2, threads=4)
        headers = {"Authorization": f"Bearer {secret}"}
        base = server.url

        def ping(http: requests.Session, _i: int) -> int:
            r = http.get(f"{base}/api/v1/ping", headers=headers, timeout=30)
            assert r.status_code == 200, r.text
            return 1

        turn = [0]

        def find(http: requests.Session, i: int) -> int:
            turn[0] += 1
            q = found[(turn[0] * 7 + i) % len(found)]
            r = http.get(f"{base}/api/v1/products", params={"q": q}, headers=headers, timeout=60)
            assert r.status_code == 200, r.text
            return 1

        try:
            hammer(clients, 1.0, ping)
            _warm_up(base, headers)  # every worker builds its index at its first search
            ping_rates, search_rates = [], []
            for _round in range(2):
                ping_rates.append(hammer(clients, seconds, ping))
                search_rates.append(hammer(clients, seconds, find))
        finally:
            stop_gunicorn(server)
    ping_rate = statistics.mean(ping_rates)
    search_rate = statistics.mean(search_rates)
    return {
        "backend": backend,
        "products": count,
        "prepare_s": round(prepared_s, 1),
        **latency,
        "ping_requests_per_s": round(ping_rate, 1),
        "search_requests_per_s": round(search_rate, 1),
        "ratio_vs_noop": round(search_rate / ping_rate, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement round")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = [run_backend(b, args.products, args.clients, args.seconds) for b in backends]
    print(f"\nSearch benchmark — {args.products} products, gunicorn 2 gthread workers x 4 threads")
    print(
        f"{'backend':<11} {'first (s)':>9} {'query p50':>10} {'query p95':>10} {'sugg p50':>9}"
        f" {'sugg p95':>9} {'no-op req/s':>12} {'search req/s':>13} {'ratio':>6}"
    )
    for r in results:
        print(
            f"{r['backend']:<11} {r['first_search_builds_index_s']:>9} {r['query_p50_ms']:>10}"
            f" {r['query_p95_ms']:>10} {r['suggest_p50_ms']:>9} {r['suggest_p95_ms']:>9}"
            f" {r['ping_requests_per_s']:>12} {r['search_requests_per_s']:>13}"
            f" {r['ratio_vs_noop']:>6}"
        )
    print("(targets: p95 < 20 ms per query and per suggestion; search/no-op ratio >= 0.5)")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
