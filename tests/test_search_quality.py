"""The shop-floor query set (tests/search_queries.csv) against the demo shop, through HTTP.

Each line: a query a seller or a webshop visitor types, and the SKUs (shell patterns) one of
which a seller expects *first* (an empty expectation: nothing may be found). At least 95 % must
pass, on SQLite and on PostgreSQL alike; the pass rate is printed (pytest -s or -rA).
"""

from __future__ import annotations

import csv
import fnmatch
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient, FlaskCliRunner

from store_api.keys.models import Role
from tests.conftest import BACKEND, ROOT, Keys

QUERIES = ROOT / "tests" / "search_queries.csv"
PASS_RATE = 0.95


@dataclass(frozen=True)
class Case:
    query: str
    expected: list[str]
    kind: str

    def passes(self, skus: list[str]) -> bool:
        if not self.expected:
            return not skus
        return bool(skus) and any(fnmatch.fnmatchcase(skus[0], p) for p in self.expected)


def load_cases() -> list[Case]:
    with QUERIES.open(encoding="utf-8", newline="") as handle:
        return [
            Case(row["query"], [p for p in row["expected_first"].split("|") if p], row["kind"])
            for row in csv.DictReader(handle)
        ]


def test_the_query_set_is_big_and_varied() -> None:
    cases = load_cases()

    assert len(cases) >= 60
    assert len({c.query for c in cases}) == len(cases)
    kinds = " ".join(c.kind for c in cases)
    for needed in ("typo", "synonym", "brand", "model", "colour", "size", "accessor", "prefix"):
        assert needed in kinds, needed


@pytest.fixture
def demo_shop(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["seed", "--no-keys"])
    assert result.exit_code == 0, result.output


def test_at_least_95_percent_of_shop_floor_queries_put_the_expected_product_first(
    demo_shop: None, client: FlaskClient, keys: Keys, capsys: pytest.CaptureFixture[str]
) -> None:
    seller = keys.headers(Role.SELLER)
    failures = []
    cases = load_cases()
    for case in cases:
        response = client.get(
            "/api/v1/products", query_string={"q": case.query, "page_size": 5}, headers=seller
        )
        assert response.status_code == 200, (case.query, response.json)
        skus = [item["sku"] for item in response.json["items"]]
        if not case.passes(skus):
            failures.append(f"  {case.query!r} ({case.kind}): expected {case.expected}, got {skus}")

    passed = len(cases) - len(failures)
    rate = passed / len(cases)
    with capsys.disabled():
        print(f"\nsearch query set on {BACKEND}: {passed}/{len(cases)} pass ({rate:.1%})")
        for line in failures:
            print(line)
    assert rate >= PASS_RATE, "\n".join(failures)
