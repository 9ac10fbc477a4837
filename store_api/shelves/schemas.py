from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from store_api.schemas import QueryArgsSchema, StrictSchema, sku_field

NAME_PATTERN = r"^[A-Za-z0-9_.:-]{1,64}$"


class LaneSchema(Schema):
    shelf = fields.String()
    lane = fields.String()
    sku = fields.String()
    unit_weight_g = fields.Float()
    capacity = fields.Integer()
    tolerance_g = fields.Float()
    units_on_shelf = fields.Integer(allow_none=True)
    last_grams = fields.Float(allow_none=True)
    last_reading_at = fields.AwareDateTime(allow_none=True)
    wrong_item = fields.Boolean(metadata={"description": "The scale shows a foreign item."})
    wrong_item_since = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime()


class LanePutSchema(StrictSchema):
    sku = sku_field(required=True)
    unit_weight_g = fields.Float(
        required=True, allow_nan=False, validate=validate.Range(min=0.1, max=100_000)
    )
    capacity = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=10_000)
    )
    tolerance_g = fields.Float(
        allow_nan=False,
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "Default: a quarter of a unit, at least 5 g."},
    )
    units_on_shelf = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=0, max=10_000),
        metadata={"description": "A count by a person; the next whole reading replaces it."},
    )


class LaneQueryArgsSchema(QueryArgsSchema):
    sku = sku_field()


class AlertSchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "open, escalated or acknowledged"})
    zone = fields.String()
    shelf = fields.String()
    lane = fields.String()
    sku = fields.String(allow_none=True)
    product_name = fields.String(
        allow_none=True, metadata={"description": "The product the customer looked at."}
    )
    dwell_s = fields.Float(metadata={"description": "How long the customer had waited."})
    raised_at = fields.AwareDateTime()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    acknowledged_by = fields.String(allow_none=True)
    escalated_at = fields.AwareDateTime(allow_none=True)
    response_s = fields.Float(
        allow_none=True, metadata={"description": "Seconds from raised to acknowledged."}
    )


class AlertQueryArgsSchema(QueryArgsSchema):
    status = fields.String(validate=validate.OneOf(["open", "escalated", "acknowledged"]))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class FootfallQueryArgsSchema(QueryArgsSchema):
    date_from = fields.AwareDateTime(
        data_key="from", required=True, metadata={"description": "ISO 8601 with offset."}
    )
    date_to = fields.AwareDateTime(
        data_key="to", required=True, metadata={"description": "Excluded; at most 31 days on."}
    )

    @validates_schema
    def _window(self, data: dict[str, Any], **_kwargs: Any) -> None:
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and not (start < end <= start + dt.timedelta(days=31)):
            raise ValidationError("Must be after 'from', by at most 31 days.", "to")


class FootfallHourSchema(Schema):
    hour = fields.AwareDateTime()
    visitors_in = fields.Integer()
    visitors_out = fields.Integer()
    sales = fields.Integer(metadata={"description": "Store sales (committed holds) that hour."})
    units_sold = fields.Integer()


class DeviceSchema(Schema):
    device_id = fields.String()
    kind = fields.String()
    last_seen = fields.AwareDateTime(allow_none=True)
    online = fields.Boolean()
    battery = fields.Float(allow_none=True)
    last_seq = fields.Integer(allow_none=True)


class TaskSchema(Schema):
    kind = fields.Constant("refill")
    text = fields.String()
    shelf = fields.String()
    lane = fields.String()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Integer(metadata={"description": "Units to bring: up to capacity."})
    units_on_shelf = fields.Integer()
    capacity = fields.Integer()
    backroom_available = fields.Integer()


class DiscrepancySchema(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "open or resolved"})
    kind = fields.String(
        metadata={
            "description": "missing: units left the shelf that no hold, sale or write-off "
            "explains (shrinkage, put elsewhere); surplus: the ledger moved more floor units "
            "than left the shelf (sold from elsewhere, unrecorded refill, a scale that missed it)"
        }
    )
    sku = fields.String()
    lanes = fields.List(fields.String(), metadata={"description": "Labels such as A-3."})
    window_start = fields.AwareDateTime()
    window_end = fields.AwareDateTime(metadata={"description": "Excluded."})
    taken = fields.Integer(metadata={"description": "Units that left the lanes."})
    put_back = fields.Integer(metadata={"description": "Units that came onto the lanes."})
    accounted = fields.Integer(
        metadata={"description": "Floor units held, sold or written off, less those returned."}
    )
    difference = fields.Integer(metadata={"description": "taken - put_back - accounted"})
    raised_at = fields.AwareDateTime()
    resolved_at = fields.AwareDateTime(allow_none=True)
    resolved_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class DiscrepancyQueryArgsSchema(QueryArgsSchema):
    status = fields.String(validate=validate.OneOf(["open", "resolved"]))
    sku = sku_field()
    date_from = fields.AwareDateTime(
        data_key="from", metadata={"description": "Windows starting at or after (ISO 8601)."}
    )
    date_to = fields.AwareDateTime(
        data_key="to", metadata={"description": "Windows starting before (ISO 8601)."}
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class DiscrepancyResolveSchema(StrictSchema):
    note = fields.String(
        validate=validate.Length(max=500),
        allow_none=True,
        metadata={"description": "What the owner found (a count, a misplaced box)."},
    )
