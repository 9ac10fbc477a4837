"""Schemathesis over the whole OpenAPI document, as an admin and as a seller.

Every operation gets valid (positive) and invalid (negative) requests generated from its
schema, and every Schemathesis check runs on each answer: no 5xx, documented status codes,
bodies and headers, invalid input refused, authentication not ignored, ... The run is bounded
(``MAX_EXAMPLES`` per operation and mode) with a fixed seed per operation and mode and no
example database, so ``make test`` sends the same requests every time. Failures are collected
over all operations and reported together.

Two kinds of answer are explained rather than failed, each only where listed below, never as a
blanket exclusion of a check:

* ``EXPLAINED_422``: a request valid for the schema may still be refused with a 422 for a rule
  JSON Schema cannot say (a SKU or location that does not exist, ``to`` before ``from``, ...).
  Accepted only for the listed operation when *every* field the envelope names is listed.
* NUL characters: JSON Schema's strings may hold U+0000, which neither database stores; the API
  refuses them everywhere with a 400 or 422 naming NUL. Accepted only when the request did
  hold one.
* ``BATCHES``: batch endpoints answer 200 and refuse bad items one by one (``rejected``), so a
  schema-violating item is refused inside a 200. Accepted only when nothing was accepted and
  every item of the batch is in ``rejected``.
"""

from __future__ import annotations

import json
import re
import zlib
from typing import Any

import hypothesis
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, Phase, given
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import negative_data_rejection, positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from store_api.keys.models import Role
from tests.conftest import Keys

MAX_EXAMPLES = 5

_SEARCH_TEXT = "a stopword-only text ('de', 'à', ...) has nothing to search for"
_URL = "JSON Schema's uri format is wider than the http(s) URLs a webhook or an image may use"
_PERIOD = "'to' after 'from' and the longest period are rules between two fields"
_BLANK = "stripped of whitespace first (Python's idea of it is wider than ECMA's \\s)"
_EXISTS = "refers to a row that does not exist (422 by the API's convention for bodies)"
_LONGEST_HOLD = (
    "the longest hold is the shop's setting (COMPTOIR_MAX_HOLD_SECONDS), not the schema's"
)
_CONTACT = "an e-mail address or a mobile number (one of two fields, a real mobile number)"
_TEMPLATE = "a reminder template's placeholders and syntax (read by the template engine)"

EXPLAINED_422: dict[str, dict[str, str]] = {
    "POST /api/v1/search/synonyms": {"synonyms": _SEARCH_TEXT, "term": _SEARCH_TEXT},
    "PATCH /api/v1/search/synonyms/{synonym_id}": {"synonyms": _SEARCH_TEXT, "term": _SEARCH_TEXT},
    "GET /api/v1/products": {"gtin": "a GTIN's check digit"},
    "POST /api/v1/products": {
        "name": _BLANK,
        "gtin": "a GTIN's check digit",
        "image_url": _URL,
        "price": "at most 2 decimal places (EUR cents)",
    },
    "PATCH /api/v1/products/{sku}": {
        "name": _BLANK,
        "gtin": "a GTIN's check digit",
        "image_url": _URL,
        "price": "at most 2 decimal places (EUR cents)",
    },
    "POST /api/v1/stock/adjustments": {"location": _EXISTS, "sku": _EXISTS},
    "PUT /api/v1/stock/{sku}/locations/{location}": {"location": _EXISTS, "sku": _EXISTS},
    "POST /api/v1/reservations": {
        "sku": _EXISTS,
        "location": _EXISTS,
        "channel": "a seller key holds for the store channel only (the role, not the schema)",
        "customer_id": _EXISTS,
        "ttl_seconds": _LONGEST_HOLD,
    },
    "POST /api/v1/reservations/{reservation_id}/extend": {"ttl_seconds": _LONGEST_HOLD},
    "POST /api/v1/orders": {
        "lines.sku": _EXISTS,
        "lines.location": _EXISTS,
        "customer_id": _EXISTS,
    },
    "PUT /api/v1/reservations/{reservation_id}/customer": {"customer_id": _EXISTS},
    "POST /api/v1/customers": {"email": _CONTACT, "phone": _CONTACT},
    "PATCH /api/v1/customers/{customer_id}": {"email": _CONTACT, "phone": _CONTACT},
    "POST /api/v1/customers/{customer_id}/consents": {
        "given_at": "a consent is not given later than now (the clock, not the schema)"
    },
    "POST /api/v1/customers/{customer_id}/stock-alerts": {"sku": _EXISTS},
    "PUT /api/v1/reminders/templates/{kind}/{channel}": {"subject": _TEMPLATE, "body": _TEMPLATE},
    "POST /api/v1/reminders/templates/{kind}/{channel}/preview": {
        "subject": _TEMPLATE,
        "body": _TEMPLATE,
    },
    "GET /api/v1/reminders/report": {"to": _PERIOD},
    "GET /api/v1/reminders/messages": {"to": _PERIOD},
    "GET /api/v1/sales": {"to": _PERIOD, "by": "each grouping named once"},
    "POST /api/v1/recommendations": {"skus": _EXISTS, "sku": _EXISTS},
    "PUT /api/v1/lanes/{shelf}/{lane}": {"sku": _EXISTS},
    "POST /api/v1/webhooks": {"url": _URL},
    "PATCH /api/v1/webhooks/{webhook_id}": {"url": _URL},
    "POST /api/v1/sheets/{sku}/ready": {
        "missing": "a sheet is ready when its fields are filled (the data, not the request)",
        "sku": "the same refusal names the SKU",
    },
    "GET /api/v1/recommendations/report": {"to": _PERIOD},
    "GET /api/v1/footfall": {"to": _PERIOD},
    "GET /api/v1/analytics/reports/{slug}": {"to": _PERIOD},
}

BATCHES = {"POST /api/v1/collect", "POST /api/v1/recommendations/events"}


@pytest.fixture
def settings() -> dict[str, Any]:
    # The event stream ends quickly so that each generated call to it is short.
    return {"STREAM_MAX_SECONDS": 0.2}


def _body(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _explained(label: str, response: Any, case: Any) -> list[Any]:
    """The checks an explained answer may skip (see the module doc), else none."""
    body = _body(response)
    if not isinstance(body, dict):
        return []
    sent = repr((case.path_parameters, case.query, case.headers, case.body))
    if response.status_code in (400, 422) and "NUL" in json.dumps(body) and "\\x00" in sent:
        return [positive_data_acceptance]
    if response.status_code == 422 and label in EXPLAINED_422:
        named = {re.sub(r"\.\d+(?=\.|$)", "", field) for field in body.get("errors") or {}}
        if named and named <= EXPLAINED_422[label].keys():
            return [positive_data_acceptance]
    if response.status_code == 200 and label in BATCHES:
        items = case.body.get("events") if isinstance(case.body, dict) else None
        rejected = body.get("rejected") or []
        if body.get("accepted") == 0 and isinstance(items, list) and len(rejected) == len(items):
            return [negative_data_rejection]
    return []


def _run(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> None:
    # A fixed seed per operation and mode: what one operation gets does not depend on how
    # much randomness the operations before it used (a new endpoint shifts nothing).
    @hypothesis.seed(zlib.crc32(f"{operation.label} {mode.value}".encode()))
    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=False,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(headers=headers)
        case.validate_response(
            response,
            headers=headers,
            excluded_checks=_explained(operation.label, response, case),
            transport_kwargs={"headers": dict(headers)},
        )

    check()


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SELLER], ids=lambda role: role.value)
def test_every_operation(app: Flask, keys: Keys, role: Role) -> None:
    schema = schemathesis.openapi.from_wsgi(
        "/api/v1/openapi.json", app, config=SchemathesisConfig()
    )
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, mode, keys.headers(role))
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, operation.label  # nothing to make invalid
            except (Exception, BaseExceptionGroup) as exc:  # every failure, reported together
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert operations > 50
    assert not failures, "\n\n".join(failures)


# What the run found, kept as plain regression tests.


def test_errors_of_list_items_next_to_field_errors(client: Any, keys: Keys) -> None:
    """Marshmallow keys a list item's errors by an int next to "_schema": was a 500."""
    response = client.post(
        "/api/v1/search/synonyms",
        json={"synonyms": ["0", "0", ":"], "term": "location"},
        headers=keys.headers(Role.ADMIN),
    )
    assert response.status_code == 422
    assert set(response.json["errors"]["synonyms"]) == {"2", "_schema"}


def test_a_row_id_too_big_for_the_database_is_a_404(client: Any, keys: Keys) -> None:
    """SQLite cannot bind an int over 2**63 - 1, PostgreSQL's INTEGER stops at 2**31 - 1."""
    for path in ("/api/v1/search/synonyms/2147483648", "/api/v1/search/synonyms/" + "9" * 30):
        response = client.patch(path, json={"term": "x"}, headers=keys.headers(Role.ADMIN))
        assert response.status_code == 404, path
        assert response.json["code"] == "not_found"
    response = client.get("/api/v1/search/synonyms/2147483647", headers=keys.headers(Role.ADMIN))
    assert response.status_code == 404
