"""Recommendation requests and answers."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from store_api.schemas import QueryArgsSchema, StrictSchema, sku_field

MAX_LIMIT = 20
MAX_CONTEXT = 50


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


class RecommendationSchema(Schema):
    sku = fields.String()
    name = fields.String()
    category = fields.String()
    price = fields.Decimal(as_string=True, places=2)
    currency = fields.Constant("EUR")
    score = fields.Float(metadata={"description": "Higher is stronger; comparable within a list."})
    reason = fields.String(metadata={"description": "Why, in words a seller can repeat."})
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
    kind = fields.String()
    skus = fields.List(fields.String(), metadata={"description": "What the suggestions are for."})
    model_version = fields.String(
        allow_none=True,
        metadata={"description": "The trained model that answered; null: best-sellers only."},
    )
    items = fields.List(fields.Nested(RecommendationSchema))
