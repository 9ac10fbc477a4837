"""The OpenAPI document is valid (checked by openapi-spec-validator) and says what the server
does: numbers for bounds, decimal strings for money, the CSV answers, the footfall window."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from store_api.keys.models import Role
from tests.conftest import Keys

DOC = "/api/v1/openapi.json"


@pytest.fixture
def spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get(DOC)
    assert response.status_code == 200
    body: dict[str, Any] = response.json
    return body


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def test_the_document_is_valid_openapi(spec: dict[str, Any]) -> None:
    validate(spec)


def test_every_bound_is_a_number(spec: dict[str, Any]) -> None:
    bad = [
        (path, key, node[key])
        for path, node in walk(spec)
        for key in ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems")
        if key in node and not isinstance(node[key], int | float)
    ]
    assert bad == []


def test_money_is_a_decimal_string_out_and_a_string_or_number_in(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name, field in [("Product", "price"), ("RecommendationReportRow", "revenue")]:
        out = schemas[name]["properties"][field]
        assert out["type"] == "string", (name, out)
        assert out["pattern"] == r"^-?\d+\.\d{2}$"
    price_in = schemas["ProductCreate"]["properties"]["price"]
    assert [branch["type"] for branch in price_in["anyOf"]] == ["string", "number"]
    assert price_in["anyOf"][1]["maximum"] == 1_000_000


def test_the_csv_answers_are_declared_and_real(
    spec: dict[str, Any], client: FlaskClient, keys: Keys
) -> None:
    for path in ("/api/v1/analytics/reports/{slug}", "/api/v1/recommendations/report"):
        content = spec["paths"][path]["get"]["responses"]["200"]["content"]
        assert {"application/json", "text/csv"} <= set(content), path
    answer = client.get(
        "/api/v1/recommendations/report?format=csv", headers=keys.headers(Role.OWNER)
    )
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"


def test_the_footfall_window_rule_is_documented_and_enforced(
    spec: dict[str, Any], client: FlaskClient, keys: Keys
) -> None:
    operation = spec["paths"]["/api/v1/footfall"]["get"]
    text = operation["description"] + str(operation["parameters"])
    assert "31 days" in text

    response = client.get(
        "/api/v1/footfall?from=2026-11-01T00:00:00%2B00:00&to=2026-12-03T00:00:00%2B00:00",
        headers=keys.headers(Role.OWNER),
    )
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"to"}


def test_the_new_refusals_are_documented(spec: dict[str, Any]) -> None:
    adjustments = spec["paths"]["/api/v1/stock/adjustments"]["post"]["responses"]
    assert "409" in adjustments
    webhook = spec["components"]["schemas"]["WebhookCreate"]["properties"]
    assert "include_customer_data" in webhook
    assert "COMPTOIR_WEBHOOK_ALLOWED_NETWORKS" in webhook["url"]["description"]
