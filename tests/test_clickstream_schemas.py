"""The hand-written fast paths load exactly what the marshmallow schemas load, or step aside.

Ingest validates most events without marshmallow (it is most of a request's time); anything
the fast path is not sure about goes to the schema, which words the errors.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from store_api.clickstream.schemas import (
    ITEM,
    PARAMS,
    CollectEventSchema,
    json_text_is_clean,
    load_event_fast,
    load_item_fast,
    load_params_fast,
)
from store_api.schemas import find_bad_text

TS = 1_795_771_800_000
EVENT = {"event_id": "9b2f0c1e-1", "name": "page_view", "ts": TS, "page": "https://shop.example/"}


@pytest.mark.parametrize(
    "raw",
    [
        EVENT,
        {**EVENT, "ts": TS + 0.5},
        {**EVENT, "page": "/p/LL-1?utm_source=x"},
        {**EVENT, "referrer": "https://www.google.fr/"},
        {**EVENT, "referrer": None},
        {**EVENT, "referrer": ""},
        {**EVENT, "params": {}},
        {**EVENT, "name": "view_item", "params": {"items": [{"item_id": "X"}], "page_title": "t"}},
    ],
)
def test_the_fast_envelope_loads_what_the_schema_loads(raw: dict[str, Any]) -> None:
    fast = load_event_fast(raw)

    assert fast is not None
    assert fast == CollectEventSchema().load(raw)


@pytest.mark.parametrize(
    "raw",
    [
        {**EVENT, "ts": "2026-11-27T09:30:00Z"},
        {**EVENT, "ts": True},
        {**EVENT, "ts": 0},
        {**EVENT, "ts": 10**15},
        {**EVENT, "colour": "blue"},
        {k: v for k, v in EVENT.items() if k != "event_id"},
        {**EVENT, "event_id": "a b"},
        {**EVENT, "event_id": "abc\n"},
        {**EVENT, "event_id": "x" * 65},
        {**EVENT, "name": "page_seen"},
        {**EVENT, "name": ["page_view"]},
        {**EVENT, "page": "javascript:alert(1)"},
        {**EVENT, "page": ""},
        {**EVENT, "page": "/" + "a" * 2048},
        {**EVENT, "referrer": 3},
        {**EVENT, "params": []},
        {**EVENT, "params": None},
    ],
)
def test_the_fast_envelope_leaves_anything_unusual_to_the_schema(raw: dict[str, Any]) -> None:
    assert load_event_fast(raw) is None


ITEM_A = {"item_id": "LL-1", "item_variant": "blanc", "item_category": "Lave-linge"}


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("page_view", {}),
        ("page_view", {"page_title": "Accueil"}),
        ("view_item", {"items": [ITEM_A]}),
        ("view_item", {"items": [{**ITEM_A, "price": 499}], "value": 499.9, "currency": "EUR"}),
        ("add_to_cart", {"items": [{"item_id": "X", "price": 0.125, "quantity": 3}]}),
        ("add_to_cart", {"items": [{"item_id": "X", "price": None, "item_variant": None}]}),
        ("remove_from_cart", {"items": [{"item_id": "X"}, {"item_id": "Y"}]}),
        ("select_item", {"items": [{"item_id": "X", "price": 1000000}]}),
        ("view_item_list", {"items": []}),
        ("view_item_list", {}),
        ("view_cart", {"items": [ITEM_A], "value": None, "currency": None}),
        ("begin_checkout", {"items": [ITEM_A], "value": 12.3}),
        ("engagement", {"engaged_ms": 0}),
        ("engagement", {"engaged_ms": 86_400_000, "scroll_depth": 100, "item": "LL-1"}),
        ("engagement", {"engaged_ms": 5000, "scroll_depth": None, "item": ITEM_A}),
        ("engagement", {"engaged_ms": 5000, "items": [ITEM_A]}),
        ("view_item", {"items": [{"item_id": "X", "item_name": "Lave-linge", "index": 2}]}),
        ("view_item_list", {"item_list_name": "Lave-linge", "items": [ITEM_A, ITEM_A]}),
        ("add_shipping_info", {"shipping": 19.9, "items": [ITEM_A], "shipping_tier": "express"}),
        ("purchase", {"value": 1, "currency": "EUR", "items": [{"item_id": "X"}]}),
        (
            "purchase",
            {
                "value": 549.9,
                "currency": "EUR",
                "shipping": None,
                "items": [ITEM_A],
                "transaction_id": "A-1",
                "tax": 91.65,
            },
        ),
        ("search", {"search_term": "x"}),
        ("search", {"search_term": "lave linge", "search_results": 0}),
        ("search", {"search_term": "lave linge", "search_results": None}),
        ("delivery_fee_shown", {"fee": 0, "cart_value": 498.9}),
        (
            "delivery_fee_shown",
            {"fee": 29, "cart_value": 1, "free_threshold": 300, "currency": "EUR"},
        ),
    ],
)
def test_the_fast_params_load_what_the_schemas_load(name: str, params: dict[str, Any]) -> None:
    fast = load_params_fast(name, params)

    assert fast is not None
    assert fast == PARAMS[name].load(params)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("view_item", {"item_id": "X"}),
        ("view_item", {"items": []}),
        ("view_item", {"items": [{"item_id": "X", "price": "499.00"}]}),
        ("view_item", {"items": [{"item_id": "X", "quantity": 0}]}),
        ("view_item", {"items": [{"item_id": "X", "quantity": True}]}),
        ("view_item", {"items": [{"item_id": "X", "quantity": 2.0}]}),
        ("view_item", {"items": [{"item_id": "X", "price": -1}]}),
        ("view_item", {"items": [{"item_id": ""}]}),
        ("view_item", {"items": [{"item_id": "X", "item_variant": "v" * 65}]}),
        ("view_item", {"items": [{"item_id": "X"}], "currency": "eur"}),
        ("view_item", {"items": [{"item_id": "X"}], "currency": "EUR\n"}),
        ("view_item", {"items": "X"}),
        ("engagement", {"engaged_ms": -1}),
        ("engagement", {"engaged_ms": 1.5}),
        ("engagement", {"engaged_ms": 10, "scroll_depth": 101}),
        ("engagement", {"engaged_ms": 10, "item_id": "X"}),
        ("view_item", {"items": [ITEM_A], "item_id": "X"}),
        ("engagement", {"engaged_ms": 10, "items": [ITEM_A], "price": 3}),
        ("view_item_list", {"items": None}),
        ("view_cart", {"value": "12.00"}),
        ("add_shipping_info", {"items": [ITEM_A]}),
        ("purchase", {"value": 1, "currency": "EUR", "items": []}),
        ("purchase", {"value": 1, "items": [ITEM_A]}),
        ("purchase", {"value": 1, "currency": "EUR", "items": [ITEM_A], "transaction_id": ""}),
        ("search", {"search_term": ""}),
        ("search", {"search_term": "x", "search_results": -1}),
        ("delivery_fee_shown", {"fee": 1}),
        ("delivery_fee_shown", {"fee": None, "cart_value": 1}),
    ],
)
def test_the_fast_params_leave_anything_unusual_to_the_schemas(
    name: str, params: dict[str, Any]
) -> None:
    assert load_params_fast(name, params) is None


@pytest.mark.parametrize("item", [ITEM_A, {"item_id": "X", "price": 19.999, "quantity": 999}])
def test_the_fast_item_loads_what_the_schema_loads(item: dict[str, Any]) -> None:
    assert load_item_fast(item) == ITEM.load(item)


# --- the body scan that spares the walk over every string -----------------------------------


@pytest.mark.parametrize(
    ("body", "clean"),
    [
        (b'{"events": [{"name": "search", "params": {"search_term": "lave linge"}}]}', True),
        ('{"t": "sèche-linge à 299 €"}'.encode(), True),
        (b'{"t": "s\\u00e8che-linge \\u20ac"}', True),
        (b'{"t": "x\\u0000y"}', False),
        (b'{"t": "\\ud800"}', False),
        (b'{"t": "\\uDFFF"}', False),
        (b'{"t": "\\ud83d\\ude00"}', False),  # a valid pair: a maybe, the events are checked
        (b'{"t": "\\\\u0000"}', False),  # an escaped backslash: a false alarm, as cheap
    ],
)
def test_the_body_scan_finds_every_escaped_nul_or_surrogate(body: bytes, clean: bool) -> None:
    assert json_text_is_clean(body) is clean


@pytest.mark.parametrize("ascii_only", [True, False])
def test_a_body_the_scan_calls_clean_holds_no_text_a_database_refuses(ascii_only: bool) -> None:
    texts = ["a", "\x00", "\x01", "é", "€", "\ud800", "\udbff\udc00", "\U0001f600", "\\u0000", "\\"]
    for first in texts:
        for second in texts:
            body = json.dumps({"t": first + second, first: [second]}, ensure_ascii=ascii_only)
            try:
                encoded = body.encode("utf-8")
            except UnicodeEncodeError:
                continue  # not UTF-8: the route answers 400 before any scan
            if json_text_is_clean(encoded):
                assert find_bad_text(json.loads(body)) is None, body
