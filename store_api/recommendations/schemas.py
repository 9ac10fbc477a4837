"""Recommendation requests and answers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from store_api.periods import period_errors
from store_api.schemas import QueryArgsSchema, StrictSchema, sku_field

MAX_LIMIT = 20
MAX_CONTEXT = 50
KINDS = ("complements", "alternatives", "next")
MAX_EVENTS = 200
MAX_REPORT_DAYS = 366
# What clients send -> what is stored (the clickstream's event names).
WIRE_EVENTS = {"reco_shown": "shown", "reco_accepted": "accepted"}


def _limit(*, strict: bool) -> fields.Integer:
    """Query strings are text ("5"); a JSON body must send a number."""
    return fields.Integer(
        load_default=5,
        strict=strict,
        validate=validate.Range(min=1, max=MAX_LIMIT),
        metadata={"description": f"How many suggestions (1 to {MAX_LIMIT})."},
    )


class RecommendationQueryArgsSchema(QueryArgsSchema):
    kind = fields.String(
        load_default="complements",
        validate=validate.OneOf(["complements", "alternatives"]),
        metadata={
            "description": "complements: what goes with it (accessories, consumables); "
            "alternatives: what to offer instead (same category)."
        },
    )
    limit = _limit(strict=False)
    lang = fields.String(
        validate=validate.OneOf(["fr", "en"]),
        metadata={
            "description": "Language of the reasons: fr (default) or en; Accept-Language works too."
        },
    )


class RecommendationContextSchema(StrictSchema):
    skus = fields.List(
        sku_field(),
        required=True,
        validate=validate.Length(min=1, max=MAX_CONTEXT),
        metadata={
            "description": "The basket (complements, alternatives) or the products viewed in "
            "this visit, oldest first (next)."
        },
    )
    kind = fields.String(
        load_default="complements",
        validate=validate.OneOf(["complements", "alternatives", "next"]),
    )
    limit = _limit(strict=True)


class LocationAvailabilitySchema(Schema):
    location = fields.String()
    available = fields.Integer()


class ReasonSchema(Schema):
    code = fields.String(
        metadata={
            "description": "compatible, consumable, service, same_appliance, bought_together, "
            "carted_together, viewed_together, bought_with_similar, viewed_instead, similar, "
            "viewed_next, best_seller or on_shelf (docs/recommendations.md)."
        }
    )
    params = fields.Dict(
        metadata={"description": 'The code\'s values, e.g. {"baskets": 34}, {"shelf": "B"}.'}
    )
    text = fields.String(metadata={"description": "In the caller's language (French default)."})


class RecommendationSchema(Schema):
    sku = fields.String()
    name = fields.String()
    category = fields.String()
    price = fields.Decimal(as_string=True, places=2)
    currency = fields.Constant("EUR")
    score = fields.Float(metadata={"description": "Higher is stronger; comparable within a list."})
    reason = fields.String(
        metadata={
            "description": "Why, in words a seller can repeat, in the caller's language "
            "(?lang= or Accept-Language; French by default): the first of reasons."
        }
    )
    reason_code = fields.String(metadata={"description": "The code of reason."})
    reason_params = fields.Dict(metadata={"description": "The parameters of reason_code."})
    reasons = fields.List(
        fields.Nested(ReasonSchema),
        metadata={
            "description": "Every reason, the main one first, e.g. compatible, then the sales "
            "behind it, then the shelf it is on (sellers)."
        },
    )
    tier = fields.String(
        metadata={
            "description": "complements: compatible (an accessory made for it), consumable, "
            "service (needs no stock) or empty (from the data)."
        }
    )
    available = fields.Integer(metadata={"description": "Units available in all locations."})
    available_at = fields.List(
        fields.Nested(LocationAvailabilitySchema),
        metadata={
            "description": "Locations with units available, in the caller's pick order (a "
            "list: JSON objects have no order)."
        },
    )
    available_here = fields.Boolean(
        metadata={
            "description": "Available at the caller's first location (the store floor for "
            "sellers, the warehouse for the webshop)."
        }
    )


class RecommendationListSchema(Schema):
    recommendation_id = fields.UUID(
        metadata={
            "description": "New for every answer. Send it back with reco_shown / reco_accepted "
            "(POST /api/v1/recommendations/events) and with the reservation of a suggested "
            "product, so the sale is credited to the suggestion."
        }
    )
    kind = fields.String()
    skus = fields.List(fields.String(), metadata={"description": "What the suggestions are for."})
    model_version = fields.String(
        allow_none=True,
        metadata={"description": "The trained model that answered; null: best-sellers only."},
    )
    items = fields.List(fields.Nested(RecommendationSchema))


# --- feedback: shown, accepted, sold -------------------------------------------------


class RecommendationEventSchema(StrictSchema):
    """One suggestion shown to, or accepted by, a customer (one element of a batch)."""

    event = fields.String(
        required=True,
        validate=validate.OneOf(list(WIRE_EVENTS)),
        metadata={"description": "reco_shown: on screen; reco_accepted: the customer took it."},
    )
    recommendation_id = fields.UUID(
        required=True, metadata={"description": "From the recommendation answer."}
    )
    suggested_sku = sku_field(required=True, metadata={"description": "The suggested product."})
    context_sku = sku_field(
        allow_none=True,
        metadata={"description": "The product the suggestion was for (null: a basket, a visit)."},
    )
    kind = fields.String(allow_none=True, validate=validate.OneOf(KINDS))
    occurred_at = fields.AwareDateTime(
        allow_none=True,
        metadata={
            "description": "When it happened, on the client's clock, with its offset; at most "
            "5 minutes ahead of the server. Default: when the server receives it."
        },
    )


class _CheckedOneByOne(fields.Nested):
    """Documented as the nested schema, loaded as sent: the service validates each element on
    its own, so one bad event is reported by its index instead of refusing the whole batch."""

    def _deserialize(
        self,
        value: Any,
        attr: str | None,
        data: Mapping[str, Any] | None,
        partial: bool | Sequence[str] | AbstractSet[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        return value


class RecommendationEventBatchSchema(StrictSchema):
    events = fields.List(
        _CheckedOneByOne(RecommendationEventSchema, allow_none=True),
        required=True,
        validate=validate.Length(min=1, max=MAX_EVENTS),
        metadata={"description": f"1 to {MAX_EVENTS} events, each a RecommendationEvent."},
    )


class RejectedEventSchema(Schema):
    index = fields.Integer(metadata={"description": "Position in the batch, from 0."})
    errors = fields.Dict(metadata={"description": "Field name -> messages."})


class RecommendationEventResultSchema(Schema):
    accepted = fields.Integer(metadata={"description": "Events stored now."})
    duplicates = fields.Integer(
        metadata={"description": "Valid events stored before (a retry): not counted twice."}
    )
    rejected = fields.List(fields.Nested(RejectedEventSchema))


class RecommendationReportQueryArgsSchema(QueryArgsSchema):
    date_from = fields.Date(
        data_key="from",
        metadata={"description": "First day (shop's local time), YYYY-MM-DD. Default: to - 29."},
    )
    date_to = fields.Date(
        data_key="to",
        metadata={"description": "Last day, included, YYYY-MM-DD. Default: today."},
    )
    group = fields.String(load_default="product", validate=validate.OneOf(["product", "day"]))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
    channel = fields.String(
        validate=validate.OneOf(["store", "web"]),
        metadata={"description": "Only the store's (tablets) or the webshop's. Default: both."},
    )

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        if "date_from" in data and "date_to" in data:
            errors = period_errors(data["date_from"], data["date_to"], max_days=MAX_REPORT_DAYS)
            if errors:
                raise ValidationError(errors)


class RecommendationReportRowSchema(Schema):
    sku = fields.String(metadata={"description": "group=product: the suggested product."})
    name = fields.String(allow_none=True)
    day = fields.Date(metadata={"description": "group=day: the day, shop's local time."})
    shown = fields.Integer()
    accepted = fields.Integer()
    sold = fields.Integer(
        metadata={"description": "Sales (committed reservations) of the suggested product."}
    )
    units = fields.Integer(metadata={"description": "Units of those sales."})
    acceptance_rate = fields.Float(allow_none=True, metadata={"description": "accepted / shown"})
    conversion_rate = fields.Float(allow_none=True, metadata={"description": "sold / shown"})
    revenue = fields.Decimal(
        as_string=True, places=2, metadata={"description": "units x current price"}
    )


class RecommendationReportSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    group = fields.String()
    channel = fields.String(allow_none=True)
    currency = fields.Constant("EUR")
    rows = fields.List(fields.Nested(RecommendationReportRowSchema))
    totals = fields.Nested(RecommendationReportRowSchema)
