"""One error envelope ``{code, status, message, errors}`` everywhere, and never a 500."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.shop import add_product, drifts, stock_of

SKU = "LL-1"
UNITS = {"floor": 1, "backroom": 2, "warehouse": 5}
JSON = "application/json"


def assert_envelope(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.is_json
    body: dict[str, Any] = response.get_json()
    assert set(body) == {"code", "status", "message", "errors"}
    assert body["status"] == status
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["errors"], dict)
    return body


def levels(app: Flask) -> list[tuple[str, int, int]]:
    return [(loc.location, loc.on_hand, loc.reserved) for loc in stock_of(app, SKU).locations]


def post_raw(client: FlaskClient, keys: Keys, body: str | bytes, **headers: str) -> TestResponse:
    return client.post(
        "/api/v1/reservations",
        data=body,
        headers=keys.headers(Role.WEBSHOP, **{"Content-Type": JSON, **headers}),
    )


# --- bodies that are not what the API reads ------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("{bad", id="truncated"),
        pytest.param('{"sku": "LL-1", "quantity": 1,}', id="trailing-comma"),
        pytest.param("{'sku': 'LL-1'}", id="single-quotes"),
        pytest.param(b'{"sku": "\xff\xfe"}', id="not-utf8"),
        pytest.param("[" * 100_000 + "]" * 100_000, id="nested-100k-deep"),
    ],
)
def test_a_malformed_json_body_is_a_400(
    app: Flask, client: FlaskClient, keys: Keys, body: str | bytes
) -> None:
    add_product(app, SKU, UNITS)

    response = post_raw(client, keys, body)

    assert assert_envelope(response, 400)["code"] == "malformed_json"
    assert stock_of(app, SKU).reserved == 0


@pytest.mark.parametrize("body", ["[]", '[{"sku": "LL-1", "quantity": 1}]', '"x"', "1", "null"])
def test_a_json_body_that_is_not_an_object_is_a_422(
    app: Flask, client: FlaskClient, keys: Keys, body: str
) -> None:
    add_product(app, SKU, UNITS)

    response = post_raw(client, keys, body)

    assert assert_envelope(response, 422)["code"] == "validation_error"
    assert stock_of(app, SKU).reserved == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_sent_with_another_content_type_is_a_415(
    app: Flask, client: FlaskClient, keys: Keys, content_type: str
) -> None:
    add_product(app, SKU, UNITS)

    response = post_raw(
        client, keys, '{"sku": "LL-1", "quantity": 1}', **{"Content-Type": content_type}
    )

    # Only application/json bodies are read; saying so beats "sku: missing".
    body = assert_envelope(response, 415)
    assert body["code"] == "unsupported_media_type"
    assert "application/json" in body["message"]
    assert stock_of(app, SKU).reserved == 0


def test_a_body_over_the_size_limit_is_a_413(app: Flask, client: FlaskClient, keys: Keys) -> None:
    add_product(app, SKU, UNITS)
    body = json.dumps({"sku": SKU, "quantity": 1, "note": "x" * 2 * 1024 * 1024})

    response = post_raw(client, keys, body)

    assert assert_envelope(response, 413)["code"] == "payload_too_large"
    assert stock_of(app, SKU).reserved == 0
    assert drifts(app) == []


# --- routes, methods, query strings, keys ---------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/nothing-here", "/api/v2/products"])
def test_an_unknown_route_is_a_404_envelope(client: FlaskClient, keys: Keys, path: str) -> None:
    response = client.get(path, headers=keys.headers(Role.OWNER))

    assert assert_envelope(response, 404)["code"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path"),
    [("delete", "/api/v1/orders"), ("get", "/api/v1/orders"), ("patch", "/api/v1/reservations")],
)
def test_a_wrong_method_is_a_405_envelope(
    client: FlaskClient, keys: Keys, method: str, path: str
) -> None:
    response = getattr(client, method)(path, headers=keys.headers(Role.OWNER))

    assert assert_envelope(response, 405)["code"] == "method_not_allowed"


def test_a_405_says_which_methods_are_allowed(client: FlaskClient, keys: Keys) -> None:
    response = client.delete("/api/v1/orders", headers=keys.headers(Role.OWNER))

    assert response.status_code == 405
    assert "POST" in response.headers.get("Allow", "")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"Authorization": "Bearer not-a-key"}, 401),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, 401),
        (None, 403),
    ],
    ids=["no-key", "unknown-key", "basic-auth", "wrong-role"],
)
def test_a_caller_without_the_right_key_gets_the_envelope(
    client: FlaskClient, keys: Keys, headers: dict[str, str] | None, status: int
) -> None:
    response = client.get(
        "/api/v1/stock/movements",
        headers=keys.headers(Role.WEBSHOP) if headers is None else headers,
    )

    assert_envelope(response, status)


def test_a_401_names_the_bearer_scheme(client: FlaskClient) -> None:
    response = client.get("/api/v1/ping")

    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate", "").startswith("Bearer")


@pytest.mark.parametrize(
    ("url", "unknown"),
    [
        ("/api/v1/products?bogus=1", "bogus"),
        ("/api/v1/products?pagesize=5", "pagesize"),
        ("/api/v1/reservations?stauts=active", "stauts"),
        ("/api/v1/stock?sku=LL-1&bogus=1", "bogus"),
        ("/api/v1/stock/movements?bogus=1", "bogus"),
    ],
)
def test_an_unknown_query_parameter_is_a_422_naming_it(
    app: Flask, client: FlaskClient, keys: Keys, url: str, unknown: str
) -> None:
    add_product(app, SKU, UNITS)

    response = client.get(url, headers=keys.headers(Role.OWNER))

    body = assert_envelope(response, 422)
    assert body["code"] == "validation_error"
    assert list(body["errors"]) == [unknown]


@pytest.mark.parametrize(
    ("url", "role", "headers"),
    [
        pytest.param("/api/v1/stock/LL%00", Role.WEBSHOP, {}, id="stock-path"),
        pytest.param("/api/v1/products/LL%00", Role.WEBSHOP, {}, id="product-path"),
        pytest.param("/api/v1/products?q=%00", Role.WEBSHOP, {}, id="search-q"),
        pytest.param("/api/v1/products?category=a%00b", Role.WEBSHOP, {}, id="search-category"),
        pytest.param(
            "/api/v1/stock/movements?location=%00",
            Role.OWNER,
            {},
            id="ledger-location",
        ),
        pytest.param("/api/v1/reservations?sku=LL%00", Role.WEBSHOP, {}, id="reservations-sku"),
        pytest.param("/api/v1/stock?sku=LL%00", Role.WEBSHOP, {}, id="stock-list-sku"),
        pytest.param(
            "/api/v1/orders",
            Role.WEBSHOP,
            {"Idempotency-Key": "cart\x00"},
            id="idempotency-key",
        ),
    ],
)
def test_nul_characters_outside_the_body_never_give_a_500(
    app: Flask, client: FlaskClient, keys: Keys, url: str, role: Role, headers: dict[str, str]
) -> None:
    add_product(app, SKU, UNITS)

    if url == "/api/v1/orders":
        body = {"lines": [{"sku": SKU, "quantity": 1}]}
        response = client.post(url, json=body, headers=keys.headers(role, **headers))
    else:
        response = client.get(url, headers=keys.headers(role, **headers))

    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    assert drifts(app) == []


def test_an_out_of_range_ledger_cursor_is_a_422(client: FlaskClient, keys: Keys) -> None:
    response = client.get(
        "/api/v1/stock/movements?before_id=" + "9" * 30, headers=keys.headers(Role.OWNER)
    )

    assert assert_envelope(response, 422)["code"] == "validation_error"


# --- the sweep: nasty bodies on every endpoint that reads one ----------------------------


class Endpoint(NamedTuple):
    method: str
    path: str
    role: Role
    valid_body: dict[str, Any]
    headers: dict[str, str]


ENDPOINTS = {
    "reserve": Endpoint(
        "post", "/api/v1/reservations", Role.WEBSHOP, {"sku": SKU, "quantity": 1}, {}
    ),
    "extend": Endpoint("post", "/api/v1/reservations/{hold}/extend", Role.WEBSHOP, {}, {}),
    "commit": Endpoint("post", "/api/v1/reservations/{hold}/commit", Role.WEBSHOP, {}, {}),
    "order": Endpoint(
        "post",
        "/api/v1/orders",
        Role.WEBSHOP,
        {"lines": [{"sku": SKU, "quantity": 1}]},
        {"Idempotency-Key": "sweep"},
    ),
    "create-product": Endpoint(
        "post",
        "/api/v1/products",
        Role.OWNER,
        {"sku": "LL-NEW", "name": "Lave-linge neuf", "price": "499.00"},
        {},
    ),
    "update-product": Endpoint("patch", "/api/v1/products/{sku}", Role.OWNER, {}, {}),
    "adjust": Endpoint(
        "post",
        "/api/v1/stock/adjustments",
        Role.OWNER,
        {"sku": SKU, "location": "floor", "delta": 1, "reason": "delivery"},
        {},
    ),
    "count": Endpoint(
        "put",
        "/api/v1/stock/{sku}/locations/floor",
        Role.OWNER,
        {"on_hand": 3, "expected_on_hand": 1},
        {},
    ),
}

# Whole bodies, as raw JSON text so that 1e309 reaches the parser as written.
WHOLE_BODIES = {
    "null": "null",
    "empty-object": "{}",
    "array": "[]",
    "string": '"x"',
    "number": "1",
    "sku-null": '{"sku": null}',
    "sku-number": '{"sku": 123}',
    "quantity-1e309": '{"quantity": 1e309}',
    "quantity-10e30": '{"quantity": 1' + "0" * 30 + "}",
    "long-strings": json.dumps({"sku": "x" * 100_000, "note": "y" * 100_000}),
    "nested-objects": '{"sku": {"a": {"b": [{"c": {}}]}}, "quantity": [[1]]}',
    "emoji": '{"sku": "\U0001f6d2", "note": "\U0001f6d2"}',
    "nul": '{"sku": "LL\\u0000", "note": "a\\u0000b"}',
}
# An empty object is a complete, valid request for these: it is no nasty body for them.
EMPTY_IS_VALID = {"extend", "commit", "update-product"}

HUGE = "1" + "0" * 30
NUL = '"a\\u0000b"'
SURROGATE = '"\\udc00"'
LONG = json.dumps("x" * 100_000)

# One field of a valid body replaced by a raw JSON value: (endpoint, field, value, marks).
POISONED: list[tuple[str, str, str, Any]] = [
    ("reserve", "quantity", "1e309", ()),
    ("reserve", "quantity", HUGE, ()),
    ("reserve", "quantity", '"1"', ()),
    ("reserve", "quantity", "1.5", ()),
    ("reserve", "quantity", "true", ()),
    ("reserve", "quantity", "null", ()),
    ("reserve", "quantity", "NaN", ()),
    ("reserve", "sku", '"LL-1\\u0000"', ()),
    ("reserve", "sku", '"\U0001f6d2"', ()),
    ("reserve", "sku", LONG, ()),
    ("reserve", "sku", '{"a": 1}', ()),
    ("reserve", "sku", SURROGATE, ()),
    ("reserve", "note", NUL, ()),
    ("reserve", "note", SURROGATE, ()),
    ("reserve", "note", json.dumps("x" * 501), ()),
    ("reserve", "note", '{"a": 1}', ()),
    ("reserve", "location", '"floor\\u0000"', ()),
    ("reserve", "location", '"\U0001f6d2"', ()),
    ("reserve", "ttl_seconds", HUGE, ()),
    ("reserve", "ttl_seconds", "1e309", ()),
    ("reserve", "ttl_seconds", "0", ()),
    ("reserve", "channel", '"\\u0000"', ()),
    ("extend", "ttl_seconds", HUGE, ()),
    ("extend", "ttl_seconds", "1e309", ()),
    ("extend", "ttl_seconds", "-1", ()),
    ("extend", "ttl_seconds", '"60"', ()),
    ("commit", "reference", NUL, ()),
    ("commit", "reference", SURROGATE, ()),
    ("commit", "reference", json.dumps("x" * 256), ()),
    ("commit", "reference", '{"a": 1}', ()),
    ("order", "lines", '"x"', ()),
    ("order", "lines", "[null]", ()),
    ("order", "lines", "[[]]", ()),
    ("order", "lines", '[{"sku": "LL-1", "quantity": 1e309}]', ()),
    ("order", "lines", '[{"sku": "LL-1", "quantity": ' + HUGE + "}]", ()),
    ("order", "lines", '[{"sku": "LL-1\\u0000", "quantity": 1}]', ()),
    ("order", "lines", '[{"sku": ' + SURROGATE + ', "quantity": 1}]', ()),
    ("order", "reservation_ids", '["\\u0000"]', ()),
    ("order", "reservation_ids", "[null]", ()),
    ("order", "reservation_ids", '"x"', ()),
    ("order", "reference", NUL, ()),
    ("order", "reference", SURROGATE, ()),
    ("order", "reference", json.dumps("x" * 256), ()),
    ("create-product", "price", "1e309", ()),
    ("create-product", "price", '"NaN"', ()),
    ("create-product", "price", '"Infinity"', ()),
    ("create-product", "price", HUGE, ()),
    ("create-product", "price", '"1e999999999"', ()),
    ("create-product", "price", '"0.001"', ()),
    ("create-product", "price", "-1", ()),
    ("create-product", "sku", '"LL\\u0000"', ()),
    ("create-product", "name", NUL, ()),
    ("create-product", "name", SURROGATE, ()),
    ("create-product", "name", '""', ()),
    ("create-product", "name", LONG, ()),
    ("create-product", "description", NUL, ()),
    ("create-product", "attributes", '{"energy": NaN}', ()),
    ("create-product", "attributes", '{"energy": Infinity}', ()),
    ("create-product", "attributes", '"x"', ()),
    ("create-product", "attributes", json.dumps({"k": "x" * 20_000}), ()),
    ("create-product", "image_url", '"javascript:alert(1)"', ()),
    ("create-product", "active", '"maybe"', ()),
    ("update-product", "name", NUL, ()),
    ("update-product", "name", '"   "', ()),
    ("update-product", "price", '"NaN"', ()),
    ("update-product", "price", "1e309", ()),
    ("update-product", "sku", '"LL-2"', ()),
    ("update-product", "attributes", '{"energy": NaN}', ()),
    ("adjust", "delta", "1e309", ()),
    ("adjust", "delta", HUGE, ()),
    ("adjust", "delta", "0", ()),
    ("adjust", "delta", '"1"', ()),
    ("adjust", "delta", "-2", ()),
    ("adjust", "location", '"floor\\u0000"', ()),
    ("adjust", "reason", '"sale"', ()),
    ("adjust", "reason", '"\\u0000"', ()),
    ("adjust", "reference", NUL, ()),
    ("adjust", "reference", SURROGATE, ()),
    ("count", "on_hand", HUGE, ()),
    ("count", "on_hand", "1e309", ()),
    ("count", "on_hand", "-1", ()),
    ("count", "expected_on_hand", HUGE, ()),
    ("count", "expected_on_hand", str(2**40), ()),
    ("count", "expected_on_hand", "1e309", ()),
    ("count", "reference", NUL, ()),
]


def _poison(endpoint: str, field: str, raw: str) -> str:
    body = json.dumps({**ENDPOINTS[endpoint].valid_body, field: "__POISON__"})
    return body.replace('"__POISON__"', raw)


SWEEP = [
    pytest.param(
        endpoint, _poison(endpoint, field, raw), id=f"{endpoint}-{field}={raw[:20]}", marks=marks
    )
    for endpoint, field, raw, marks in POISONED
]


@pytest.fixture
def hold(app: Flask, client: FlaskClient, keys: Keys) -> str:
    """A product in stock with one active web reservation: the sweep's target."""
    add_product(app, SKU, UNITS)
    response = client.post(
        "/api/v1/reservations", json={"sku": SKU, "quantity": 1}, headers=keys.headers(Role.WEBSHOP)
    )
    hold_id: str = response.get_json()["id"]
    return hold_id


def send(client: FlaskClient, keys: Keys, endpoint: str, body: str, hold: str) -> TestResponse:
    target = ENDPOINTS[endpoint]
    return client.open(
        target.path.format(hold=hold, sku=SKU),
        method=target.method.upper(),
        data=body,
        headers=keys.headers(target.role, **{"Content-Type": JSON, **target.headers}),
    )


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_the_sweep_starts_from_bodies_the_endpoint_accepts(
    app: Flask, client: FlaskClient, keys: Keys, hold: str, endpoint: str
) -> None:
    response = send(client, keys, endpoint, json.dumps(ENDPOINTS[endpoint].valid_body), hold)

    assert 200 <= response.status_code < 300, response.get_json()
    assert drifts(app) == []


def assert_refused(app: Flask, response: TestResponse, before: list[tuple[str, int, int]]) -> None:
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)[:500]
    assert_envelope(response, response.status_code)
    assert levels(app) == before
    assert drifts(app) == []


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_a_body_that_is_no_request_is_refused_with_the_envelope(
    app: Flask,
    client: FlaskClient,
    keys: Keys,
    hold: str,
    endpoint: str,
    subtests: pytest.Subtests,
) -> None:
    before = levels(app)
    for label, body in WHOLE_BODIES.items():
        if label == "empty-object" and endpoint in EMPTY_IS_VALID:
            continue
        with subtests.test(body=label):
            response = send(client, keys, endpoint, body, hold)

            assert_refused(app, response, before)


@pytest.mark.parametrize(("endpoint", "body"), SWEEP)
def test_a_valid_body_with_one_nasty_field_is_refused_with_the_envelope(
    app: Flask, client: FlaskClient, keys: Keys, hold: str, endpoint: str, body: str
) -> None:
    before = levels(app)

    response = send(client, keys, endpoint, body, hold)

    assert_refused(app, response, before)


# --- the OpenAPI document ----------------------------------------------------------------


def test_the_openapi_document_describes_the_api_and_its_bearer_keys(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    spec = response.get_json()
    assert {"/api/v1/reservations", "/api/v1/orders", "/api/v1/stock/{sku}"} <= set(spec["paths"])
    schemes = spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"} in schemes.values()


def test_the_documented_error_schema_is_the_envelope(client: FlaskClient) -> None:
    error = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Error"]

    assert error["properties"]["code"]["type"] == "string"
    assert error["properties"]["status"]["type"] == "integer"


def test_the_api_docs_are_an_html_page(client: FlaskClient) -> None:
    response = client.get("/api/docs")

    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "/api/v1/openapi.json" in response.get_data(as_text=True)
