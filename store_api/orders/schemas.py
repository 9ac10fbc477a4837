from __future__ import annotations

from marshmallow import Schema, fields, validate

from store_api.schemas import StrictSchema, positive_quantity, sku_field


class OrderLineRequestSchema(StrictSchema):
    sku = sku_field(required=True)
    quantity = positive_quantity(1000)


class OrderCreateSchema(StrictSchema):
    lines = fields.List(
        fields.Nested(OrderLineRequestSchema),
        required=True,
        validate=validate.Length(min=1, max=100),
    )
    reservation_ids = fields.List(
        fields.UUID(),
        load_default=list,
        validate=validate.Length(max=100),
        metadata={"description": "Web reservations made at checkout, turned into this sale."},
    )
    reference = fields.String(
        validate=validate.Length(max=255),
        allow_none=True,
        metadata={"description": "The webshop's own order number."},
    )
    customer_id = fields.UUID(
        allow_none=True,
        metadata={"description": "The customer (POST /customers first): reminders after sale."},
    )


class IdempotencyHeaderSchema(Schema):
    class Meta:
        unknown = "exclude"

    idempotency_key = fields.String(
        data_key="Idempotency-Key",
        required=True,
        validate=validate.Regexp(
            r"^[!-~]{1,255}$", error="1 to 255 visible ASCII characters (no spaces)."
        ),
        metadata={"description": "Unique per order attempt; a retry with the same key is safe."},
    )


class AllocationSchema(Schema):
    location = fields.String()
    quantity = fields.Integer()
    reservation_id = fields.String()


class OrderLineSchema(Schema):
    sku = fields.String()
    quantity = fields.Integer()
    unit_price = fields.String(
        metadata={"description": "The product's price when the order was placed, e.g. '649.00'."}
    )
    line_total = fields.String(metadata={"description": "quantity x unit_price"})
    price_estimated = fields.Boolean(
        metadata={
            "description": "true for orders placed before prices were recorded (migration "
            "0015): priced from the catalogue of that day."
        }
    )
    allocations = fields.List(fields.Nested(AllocationSchema))


class OrderSchema(Schema):
    id = fields.String()
    status = fields.String()
    reference = fields.String(allow_none=True)
    created_at = fields.String()
    cancelled_at = fields.String(allow_none=True)
    total = fields.String(metadata={"description": "Sum of the lines, e.g. '1298.00'."})
    currency = fields.String(metadata={"description": "Always EUR."})
    lines = fields.List(fields.Nested(OrderLineSchema))
    customer_id = fields.String(allow_none=True)
