"""The collect wire format: a batch of GA4-named events, each validated on its own.

The envelope of an event is strict (a misspelt field is an error); the params of each event
name are not: GA4 tags send more than we keep (``page_title``, ``item_name`` ...), and what we
do not know we do not store.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from store_api.recommendations.schemas import WIRE_EVENTS
from store_api.schemas import StrictSchema

MAX_MONEY = Decimal("1000000")
MAX_QUANTITY = 999
MAX_ENGAGED_MS = 24 * 3600 * 1000
MAX_URL = 2048
MAX_ITEMS = 200
MAX_MS = 10**14  # the year 5138: beyond, a number is not a timestamp
EVENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}\Z")

# Web events and the params each one carries (docs/clickstream.md has the table).
WEB_EVENTS = (
    "page_view",
    "view_item_list",
    "select_item",
    "view_item",
    "add_to_cart",
    "remove_from_cart",
    "view_cart",
    "begin_checkout",
    "add_shipping_info",
    "purchase",
    "search",
    "engagement",
    "delivery_fee_shown",
)
ITEM_EVENTS = ("select_item", "view_item", "add_to_cart", "remove_from_cart")
# In-store events: sent by tablets with a seller's key, stored by recommendations.feedback.
RECO_EVENTS = tuple(WIRE_EVENTS)
EVENT_NAMES = WEB_EVENTS + RECO_EVENTS


_CURRENCY_RE = re.compile(r"^[A-Z]{3}\Z")
_CURRENCY = validate.Regexp(_CURRENCY_RE, error="Three capital letters (ISO 4217), e.g. EUR.")


def _money(**kwargs: Any) -> fields.Decimal:
    return fields.Decimal(
        places=2,
        validate=validate.Range(min=0, max=MAX_MONEY),
        metadata={"description": "Euros, a number (or a decimal string)."},
        **kwargs,
    )


def StrictInteger(**kwargs: Any) -> fields.Integer:  # noqa: N802 (reads as a field class)
    """A JSON integer: not 3.0, not "3" (marshmallow already refuses true/false)."""
    return fields.Integer(strict=True, **kwargs)


class Timestamp(fields.Field[dt.datetime]):
    """Milliseconds since the epoch (a JSON number) or ISO-8601 with a time zone offset."""

    default_error_messages = {
        "invalid": "Milliseconds since 1970 (a number) or ISO-8601 with an offset.",
        "naive": "Give a time zone offset (e.g. 'Z').",
    }

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dt.datetime:
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not 0 < value < MAX_MS:
                raise self.make_error("invalid")
            return from_ms(value)
        if isinstance(value, str) and len(value) <= 40:
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                raise self.make_error("invalid") from None
            if parsed.tzinfo is None:
                raise self.make_error("naive")
            return parsed.astimezone(dt.UTC)
        raise self.make_error("invalid")


def from_ms(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(float(value) / 1000, dt.UTC)


def _url_problem(value: str) -> str | None:
    if value.startswith("/"):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return "Not a URL."
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "An absolute http(s) URL or a path starting with '/'."
    return None


def _url_or_path(value: str) -> None:
    problem = _url_problem(value)
    if problem:
        raise ValidationError(problem)


class CollectEventSchema(StrictSchema):
    """One event of a batch: what happened, when, on which page, coming from where."""

    event_id = fields.String(
        required=True,
        validate=validate.Regexp(EVENT_ID, error="1 to 64 letters, digits, '.', '_', ':' or '-'."),
        metadata={"description": "The browser's id for the event (a UUID): sent twice, kept once."},
    )
    name = fields.String(
        required=True,
        validate=validate.OneOf(EVENT_NAMES, error="Unknown event name."),
        metadata={"description": "A GA4 event name; see docs/clickstream.md."},
    )
    ts = Timestamp(
        required=True,
        metadata={
            "description": "When it happened on the browser's clock: ms since 1970 or ISO-8601 "
            "with an offset; at most 5 minutes ahead of the server and 1 day old."
        },
    )
    page = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_URL), _url_or_path],
        metadata={"description": "location.href; only the path and utm_* parameters are kept."},
    )
    referrer = fields.String(
        allow_none=True,
        load_default=None,
        validate=validate.Length(max=MAX_URL),
        metadata={"description": "document.referrer; only its host is kept."},
    )
    params = fields.Dict(
        keys=fields.String(),
        load_default=dict,
        metadata={"description": "The event's parameters (GA4 names)."},
    )


_ENVELOPE_KEYS = frozenset(("event_id", "name", "ts", "page", "referrer", "params"))


def load_event_fast(raw: dict[str, Any]) -> dict[str, Any] | None:
    """What :class:`CollectEventSchema` would load, for the usual well-formed web event.

    marshmallow costs about 20 microseconds an event here; at 50 events a batch that is most of
    an ingest request. Anything unusual (an ISO timestamp, a missing or extra field, a wrong
    type) answers None, and the schema loads it and words the errors. Tests check both agree.
    """
    if not raw.keys() <= _ENVELOPE_KEYS:
        return None
    event_id, name, ts, page = raw.get("event_id"), raw.get("name"), raw.get("ts"), raw.get("page")
    referrer, params = raw.get("referrer"), raw.get("params", {})
    if not (
        type(event_id) is str
        and EVENT_ID.match(event_id)
        and type(name) is str
        and name in PARAMS
        and (type(ts) is int or type(ts) is float)  # exact: not bool; subclasses: the schema
        and 0 < ts < MAX_MS
        and type(page) is str
        and 0 < len(page) <= MAX_URL
        and _url_problem(page) is None
        and (referrer is None or (type(referrer) is str and len(referrer) <= MAX_URL))
        and type(params) is dict
        and all(type(key) is str for key in params)
    ):
        return None
    return {
        "event_id": event_id,
        "name": name,
        "ts": from_ms(ts),
        "page": page,
        "referrer": referrer,
        "params": params,
    }


class CollectRecoEventSchema(StrictSchema):
    """reco_shown / reco_accepted: params are a RecommendationEvent's fields."""

    event_id = fields.String(validate=validate.Length(max=64))
    name = fields.String(required=True, validate=validate.OneOf(RECO_EVENTS))
    ts = Timestamp(allow_none=True, load_default=None)
    page = fields.String(allow_none=True, validate=validate.Length(max=MAX_URL))
    referrer = fields.String(allow_none=True, validate=validate.Length(max=MAX_URL))
    params = fields.Dict(keys=fields.String(), required=True)


def has_clean_text(data: Any) -> bool:
    """True when no string of ``data`` has a NUL or a lone surrogate (one C-speed pass).

    ``json.dumps`` escapes NUL as ``\\u0000`` and keeps lone surrogates, which UTF-8 refuses;
    a false alarm (a literal backslash-u0000) only costs the exact walk.
    """
    try:
        dumped = json.dumps(data, ensure_ascii=False)
        dumped.encode("utf-8")
    except (TypeError, ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        return False
    return "\\u0000" not in dumped


# In JSON text, a NUL or a surrogate can only come from a \u escape: raw control characters
# are invalid JSON and raw surrogates invalid UTF-8, both refused by the parser.
_NUL_OR_SURROGATE_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")


def json_text_is_clean(body: bytes) -> bool:
    """True when the strings parsed from this JSON body can hold no NUL and no lone surrogate.

    One scan of the bytes instead of a walk of the parsed events. False is only a maybe (an
    escaped backslash before ``u0000``, a valid surrogate pair): the events are then checked.
    """
    return _NUL_OR_SURROGATE_ESCAPE.search(body) is None


# --- params, by event name ---------------------------------------------------------------


class _Params(Schema):
    class Meta:
        unknown = EXCLUDE


class CollectItemSchema(_Params):
    item_id = fields.String(
        required=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Our SKU."},
    )
    item_variant = fields.String(
        allow_none=True, validate=validate.Length(max=64), metadata={"description": "Colour."}
    )
    item_category = fields.String(allow_none=True, validate=validate.Length(max=120))
    price = _money(allow_none=True)
    quantity = StrictInteger(load_default=1, validate=validate.Range(min=1, max=MAX_QUANTITY))


def _items(*, least: int = 0, **kwargs: Any) -> fields.List:
    return fields.List(
        fields.Nested(CollectItemSchema),
        validate=validate.Length(min=least, max=MAX_ITEMS),
        **kwargs,
    )


class _OneItem(_Params):
    """An item event's product: ``items[0]`` (GA4) or flat ``item_id``, ``item_variant`` ..."""

    items = _items(load_default=list)
    item_id = fields.String(validate=validate.Length(min=1, max=64))
    item_variant = fields.String(allow_none=True, validate=validate.Length(max=64))
    item_category = fields.String(allow_none=True, validate=validate.Length(max=120))
    price = _money(allow_none=True)
    quantity = StrictInteger(validate=validate.Range(min=1, max=MAX_QUANTITY))


class ItemParams(_OneItem):
    value = _money(allow_none=True)
    currency = fields.String(allow_none=True, validate=_CURRENCY)

    @validates_schema
    def _one_item(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("items") and not data.get("item_id"):
            raise ValidationError("Give the product: items[0].item_id or item_id.", "items")


class ListParams(_Params):
    items = _items(load_default=list)
    value = _money(allow_none=True)
    currency = fields.String(allow_none=True, validate=_CURRENCY)


class ShippingParams(ListParams):
    shipping = _money(required=True)


class PurchaseParams(_Params):
    value = _money(required=True)
    currency = fields.String(required=True, validate=_CURRENCY)
    shipping = _money(allow_none=True, load_default=None)
    items = _items(required=True, least=1)
    transaction_id = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Stored only as a salted hash (dedupes within the day)."},
    )


class SearchParams(_Params):
    search_term = fields.String(required=True, validate=validate.Length(min=1, max=500))
    search_results = StrictInteger(allow_none=True, validate=validate.Range(min=0, max=1_000_000))


class EngagementParams(_OneItem):
    engaged_ms = StrictInteger(required=True, validate=validate.Range(min=0, max=MAX_ENGAGED_MS))
    scroll_depth = StrictInteger(allow_none=True, validate=validate.Range(min=0, max=100))
    item = fields.Raw(
        allow_none=True,
        metadata={"description": "The product page's item: a SKU or {item_id, item_variant}."},
    )


class DeliveryFeeParams(_Params):
    fee = _money(required=True)
    free_threshold = _money(allow_none=True, load_default=None)
    cart_value = _money(required=True)
    currency = fields.String(allow_none=True, validate=_CURRENCY)


PARAMS: dict[str, Schema] = {
    "page_view": _Params(),
    "view_item_list": ListParams(),
    "select_item": ItemParams(),
    "view_item": ItemParams(),
    "add_to_cart": ItemParams(),
    "remove_from_cart": ItemParams(),
    "view_cart": ListParams(),
    "begin_checkout": ListParams(),
    "add_shipping_info": ShippingParams(),
    "purchase": PurchaseParams(),
    "search": SearchParams(),
    "engagement": EngagementParams(),
    "delivery_fee_shown": DeliveryFeeParams(),
}
ITEM = CollectItemSchema()


# --- fast paths for the usual params (same output as the schemas; tests check) ---------------

_ITEM_KEYS = ("item_id", "item_variant", "item_category", "price", "quantity")
_CENT = Decimal("0.01")
_BAD: Any = object()
_NO_DEFAULT: Any = object()


def _money_fast(value: Any) -> Any:
    if type(value) not in (int, float) or not 0 <= value <= MAX_MONEY:
        return _BAD
    return Decimal(str(value)).quantize(_CENT)


def load_item_fast(item: Any) -> dict[str, Any] | None:
    """What :class:`CollectItemSchema` would load for a plain item; None: let it decide."""
    if type(item) is not dict:
        return None
    item_id = item.get("item_id")
    if type(item_id) is not str or not 0 < len(item_id) <= 64:
        return None
    loaded: dict[str, Any] = {"item_id": item_id, "quantity": 1}
    for key, most in (("item_variant", 64), ("item_category", 120)):
        if key in item:
            text = item[key]
            if text is not None and (type(text) is not str or len(text) > most):
                return None
            loaded[key] = text
    if item.get("price") is not None:
        price = _money_fast(item["price"])
        if price is _BAD:
            return None
        loaded["price"] = price
    elif "price" in item:
        loaded["price"] = None
    if "quantity" in item:
        quantity = item["quantity"]
        if type(quantity) is not int or not 0 < quantity <= MAX_QUANTITY:
            return None
        loaded["quantity"] = quantity
    return loaded


def _items_fast(value: Any) -> Any:
    if type(value) is not list or len(value) > MAX_ITEMS:
        return _BAD
    items = [load_item_fast(item) for item in value]
    return _BAD if None in items else items


def _nullable(check: Any) -> Any:
    return lambda value: None if value is None else check(value)


def _currency_fast(value: Any) -> Any:
    return value if type(value) is str and _CURRENCY_RE.match(value) else _BAD


def _int_fast(low: int, high: int) -> Any:
    return lambda value: value if type(value) is int and low <= value <= high else _BAD


def _text_fast(value: Any) -> Any:
    return value if type(value) is str and 0 < len(value) <= 500 else _BAD


def _transaction_fast(value: Any) -> Any:
    return value if type(value) is str and 0 < len(value) <= 64 else _BAD


# Per event name: field -> (check, required, default when absent). A field the schema has but
# the table does not (flat item_id ...) sends the event to the schema.
_Spec = dict[str, tuple[Any, bool, Any]]
_LIST: _Spec = {
    "items": (_items_fast, False, list),
    "value": (_nullable(_money_fast), False, _NO_DEFAULT),
    "currency": (_nullable(_currency_fast), False, _NO_DEFAULT),
}
_FAST: dict[str, _Spec] = {
    "page_view": {},
    "view_item_list": _LIST,
    "view_cart": _LIST,
    "begin_checkout": _LIST,
    **dict.fromkeys(ITEM_EVENTS, _LIST),
    "add_shipping_info": {**_LIST, "shipping": (_money_fast, True, _NO_DEFAULT)},
    "purchase": {
        "value": (_money_fast, True, _NO_DEFAULT),
        "currency": (_currency_fast, True, _NO_DEFAULT),
        "shipping": (_nullable(_money_fast), False, lambda: None),
        "items": (_items_fast, True, _NO_DEFAULT),
        "transaction_id": (_nullable(_transaction_fast), False, _NO_DEFAULT),
    },
    "search": {
        "search_term": (_text_fast, True, _NO_DEFAULT),
        "search_results": (_nullable(_int_fast(0, 1_000_000)), False, _NO_DEFAULT),
    },
    "engagement": {
        "items": (_items_fast, False, list),
        "engaged_ms": (_int_fast(0, MAX_ENGAGED_MS), True, _NO_DEFAULT),
        "scroll_depth": (_nullable(_int_fast(0, 100)), False, _NO_DEFAULT),
        "item": (lambda value: value, False, _NO_DEFAULT),
    },
    "delivery_fee_shown": {
        "fee": (_money_fast, True, _NO_DEFAULT),
        "free_threshold": (_nullable(_money_fast), False, lambda: None),
        "cart_value": (_money_fast, True, _NO_DEFAULT),
        "currency": (_nullable(_currency_fast), False, _NO_DEFAULT),
    },
}


# Fields a schema knows that the fast path leaves to it (the flat item of item events).
_STEP_ASIDE = {
    name: frozenset(schema.fields) - set(_FAST.get(name, {})) for name, schema in PARAMS.items()
}


def load_params_fast(name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """What ``PARAMS[name]`` would load for usual params; None: let the schema decide.

    Unknown params are dropped, as the schemas do (``EXCLUDE``).
    """
    spec = _FAST.get(name)
    if spec is None or not _STEP_ASIDE[name].isdisjoint(params):
        return None
    loaded: dict[str, Any] = {}
    for key, (check, required, default) in spec.items():
        if key in params:
            value = check(params[key])
            if value is _BAD:
                return None
            loaded[key] = value
        elif required:
            return None
        elif default is not _NO_DEFAULT:
            loaded[key] = default()
    if name in ITEM_EVENTS and not loaded["items"]:
        return None
    if name == "purchase" and not loaded["items"]:
        return None
    return loaded


# --- documentation of the endpoint (the body is parsed by hand: text/plain too) --------------


class CollectBatchSchema(StrictSchema):
    events = fields.List(
        fields.Nested(CollectEventSchema),
        required=True,
        metadata={"description": "1 to COMPTOIR_ANALYTICS_MAX_EVENTS (500) events.", "minItems": 1},
    )


class CollectRejectedSchema(Schema):
    index = fields.Integer(metadata={"description": "Position in the batch, from 0."})
    errors = fields.Dict(metadata={"description": "Field (dotted path) -> messages."})


class CollectResultSchema(Schema):
    accepted = fields.Integer(metadata={"description": "Events stored now."})
    duplicates = fields.Integer(metadata={"description": "Valid events stored before (retry)."})
    rejected = fields.List(fields.Nested(CollectRejectedSchema))
    stored = fields.Boolean(
        metadata={"description": "False: a robot or an opt-out; nothing of the batch was kept."}
    )
    bot = fields.Boolean()
    opted_out = fields.Boolean(metadata={"description": "Sec-GPC: 1 or DNT: 1 was sent."})
