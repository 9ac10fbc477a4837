from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from store_api.schemas import PageArgsSchema, PageSchema, StrictSchema, positive_quantity, sku_field
from store_api.stock.models import ADJUSTMENT_REASONS, MAX_ON_HAND, Channel, ReservationStatus

_REFERENCE = fields.String(validate=validate.Length(max=255), allow_none=True)


class LocationStockSchema(Schema):
    location = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class SupplierAvailabilitySchema(Schema):
    orderable = fields.Boolean(metadata={"description": "A supplier can deliver it."})
    availability = fields.String(
        metadata={"description": "in_stock, on_order, out_of_stock or discontinued."}
    )
    lead_days = fields.Integer(
        allow_none=True, metadata={"description": "Days to deliver (best orderable offer)."}
    )
    suppliers = fields.Integer(metadata={"description": "Suppliers that list it."})
    message = fields.String(
        metadata={"description": 'For people: "commandable, livré sous 3 jours".'}
    )


class ProductStockSchema(Schema):
    sku = fields.String()
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()
    locations = fields.List(fields.Nested(LocationStockSchema))
    supplier = fields.Nested(
        SupplierAvailabilitySchema,
        allow_none=True,
        metadata={
            "description": "Endless aisle: what suppliers can deliver (null: no supplier lists "
            "it). Shown to sellers and webshop visitors when the shop has none."
        },
    )


class StockQueryArgsSchema(StrictSchema):
    sku = fields.List(
        sku_field(),
        required=True,
        validate=validate.Length(min=1, max=100),
        metadata={"description": "Repeat for several products: ?sku=A&sku=B (at most 100)."},
    )


class StockListSchema(Schema):
    items = fields.List(fields.Nested(ProductStockSchema))
    unknown_skus = fields.List(fields.String())


class AdjustmentSchema(StrictSchema):
    sku = sku_field(required=True)
    location = fields.String(required=True, validate=validate.Length(min=1, max=32))
    delta = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=-100_000, max=100_000),
        metadata={
            "description": "Units added (delivery) or removed (negative: damage, loss). "
            f"A location never holds more than {MAX_ON_HAND} units (409 on_hand_limit)."
        },
    )
    reason = fields.String(
        required=True, validate=validate.OneOf([r.value for r in ADJUSTMENT_REASONS])
    )
    reference = _REFERENCE

    @validates("delta")
    def _not_zero(self, value: int, **_: Any) -> None:
        if value == 0:
            raise ValidationError("Must not be 0.")


class CountSchema(StrictSchema):
    on_hand = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=MAX_ON_HAND)
    )
    expected_on_hand = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=MAX_ON_HAND),
        metadata={"description": "The on_hand you read before counting; a stale value gets 409."},
    )
    reference = _REFERENCE


class MovementSchema(Schema):
    id = fields.Integer()
    sku = fields.String()
    location = fields.String()
    delta_on_hand = fields.Integer()
    delta_reserved = fields.Integer()
    on_hand_after = fields.Integer()
    reserved_after = fields.Integer()
    reason = fields.String()
    actor = fields.String()
    reference = fields.String(allow_none=True)
    created_at = fields.DateTime()


class MovementQueryArgsSchema(StrictSchema):
    sku = sku_field()
    location = fields.String(validate=validate.Length(max=32))
    before_id = fields.Integer(
        validate=validate.Range(min=1, max=2**63 - 1), metadata={"description": "Page cursor."}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ReservationCreateSchema(StrictSchema):
    sku = sku_field(required=True)
    quantity = positive_quantity(1000)
    location = fields.String(validate=validate.Length(min=1, max=32), allow_none=True)
    channel = fields.String(validate=validate.OneOf([c.value for c in Channel]))
    ttl_seconds = fields.Integer(
        strict=True,
        validate=validate.Range(min=1),
        allow_none=True,
        metadata={"description": "Default: end of day for the store, 15 minutes for the web."},
    )
    note = fields.String(validate=validate.Length(max=500), allow_none=True)
    recommendation_id = fields.UUID(
        allow_none=True,
        metadata={
            "description": "The recommendation_id of the recommendation answer that suggested "
            "this product: the sale then counts in the recommendation report."
        },
    )


class ReservationExtendSchema(StrictSchema):
    ttl_seconds = fields.Integer(strict=True, validate=validate.Range(min=1), allow_none=True)


class ReservationCommitSchema(StrictSchema):
    reference = _REFERENCE


class ReservationSchema(Schema):
    id = fields.UUID()
    sku = fields.String()
    product_name = fields.String(metadata={"description": "The product's name, for display."})
    quantity = fields.Integer()
    location = fields.String()
    channel = fields.String()
    status = fields.String()
    note = fields.String(allow_none=True)
    created_by = fields.String(metadata={"description": "Name of the key that made the hold."})
    expires_at = fields.DateTime()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    reference = fields.String(allow_none=True)
    order_id = fields.UUID(allow_none=True)
    recommendation_id = fields.UUID(allow_none=True)


class ReservationQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in ReservationStatus]))
    mine = fields.Boolean(
        load_default=False,
        metadata={"description": "true: only the holds made with the calling key (a tablet's)."},
    )
    sku = sku_field()
    channel = fields.String(validate=validate.OneOf([c.value for c in Channel]))


class ReservationPageSchema(PageSchema):
    items = fields.List(fields.Nested(ReservationSchema))
