from __future__ import annotations

from marshmallow import Schema, fields, validate

from store_api.customers.models import ConsentMethod, Purpose
from store_api.schemas import PageArgsSchema, PageSchema, StrictSchema, sku_field

_NAME = fields.String(validate=validate.Length(min=1, max=120))


class ConsentInputSchema(StrictSchema):
    purpose = fields.String(
        required=True,
        validate=validate.OneOf([p.value for p in Purpose]),
        metadata={"description": "service: about their own hold or order; marketing: offers."},
    )
    granted = fields.Boolean(required=True, metadata={"description": "false withdraws it."})
    method = fields.String(
        required=True,
        validate=validate.OneOf([m.value for m in ConsentMethod]),
        metadata={"description": "How it was collected."},
    )
    collected_by = fields.String(
        validate=validate.Length(max=120),
        allow_none=True,
        metadata={"description": "The seller who asked (the key's name is kept too)."},
    )
    wording = fields.String(
        validate=validate.Length(max=1000),
        allow_none=True,
        metadata={"description": "The sentence the customer agreed to, as shown."},
    )
    given_at = fields.AwareDateTime(
        allow_none=True, metadata={"description": "Default: now. Not in the future."}
    )


class CustomerCreateSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = fields.String(
        validate=validate.Length(max=254), allow_none=True, metadata={"example": "anne@example.fr"}
    )
    phone = fields.String(
        validate=validate.Length(max=32),
        allow_none=True,
        metadata={"description": "A mobile: 06 12 34 56 78 or +33 6 …", "example": "0612345678"},
    )
    consents = fields.List(
        fields.Nested(ConsentInputSchema), load_default=list, validate=validate.Length(max=10)
    )


class CustomerUpdateSchema(StrictSchema):
    name = _NAME
    email = fields.String(validate=validate.Length(max=254), allow_none=True)
    phone = fields.String(validate=validate.Length(max=32), allow_none=True)


class ConsentsSchema(StrictSchema):
    consents = fields.List(
        fields.Nested(ConsentInputSchema), required=True, validate=validate.Length(min=1, max=10)
    )


class ConsentSchema(Schema):
    purpose = fields.String()
    granted = fields.Boolean()
    given_at = fields.DateTime()
    method = fields.String()
    recorded_by = fields.String()
    collected_by = fields.String(allow_none=True)
    wording = fields.String(allow_none=True)


class StockAlertSchema(Schema):
    sku = fields.String()
    status = fields.String()
    channel = fields.String()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)


class CustomerSchema(Schema):
    id = fields.UUID()
    name = fields.String()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.String()
    consents = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(ConsentSchema),
        metadata={"description": "The consent in force per purpose (absent: never asked)."},
    )
    stock_alerts = fields.List(fields.Nested(StockAlertSchema))


class CustomerQueryArgsSchema(PageArgsSchema):
    q = fields.String(
        validate=validate.Length(min=1, max=120),
        metadata={"description": "Part of a name, e-mail or mobile number."},
    )


class CustomerPageSchema(PageSchema):
    items = fields.List(fields.Nested(CustomerSchema))


class StockAlertCreateSchema(StrictSchema):
    sku = sku_field(required=True)


class ErasureSchema(Schema):
    customer_id = fields.UUID()
    erased_at = fields.DateTime()
    reservations = fields.Integer(metadata={"description": "Holds that lost the link and note."})
    orders = fields.Integer()
    reminders = fields.Integer()
    events = fields.Integer(metadata={"description": "Event payloads scrubbed."})


class CustomerExportSchema(Schema):
    customer = fields.Dict()
    consents = fields.List(fields.Dict())
    stock_alerts = fields.List(fields.Dict())
    reservations = fields.List(fields.Dict())
    orders = fields.List(fields.Dict())
    reminders = fields.List(fields.Dict())
