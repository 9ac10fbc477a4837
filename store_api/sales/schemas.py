"""Query and answer of GET /api/v1/sales."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from webargs.fields import DelimitedList

from store_api.periods import DEFAULT_DAYS, period_errors
from store_api.sales.service import GROUPS, MAX_DAYS
from store_api.schemas import QueryArgsSchema


class SalesQueryArgsSchema(QueryArgsSchema):
    date_from = fields.Date(
        data_key="from",
        metadata={
            "description": f"First day (shop's local time), YYYY-MM-DD. Default: to - "
            f"{DEFAULT_DAYS - 1}. At most {MAX_DAYS} days."
        },
    )
    date_to = fields.Date(
        data_key="to", metadata={"description": "Last day, included, YYYY-MM-DD. Default: today."}
    )
    by = DelimitedList(
        fields.String(validate=validate.OneOf(GROUPS)),
        load_default=lambda: list(GROUPS),  # a callable: the document shows no string default
        validate=validate.Length(min=1, max=len(GROUPS)),
        metadata={
            "description": "Rows per day, channel and/or category (comma-separated). "
            "Default: all three."
        },
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv: the rows as a CSV file with a header row of keys."},
    )

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        if len(set(data.get("by", []))) != len(data.get("by", [])):
            raise ValidationError({"by": ["Name each grouping once."]})
        if "date_from" in data and "date_to" in data:
            errors = period_errors(data["date_from"], data["date_to"], max_days=MAX_DAYS)
            if errors:
                raise ValidationError(errors)


class SalesTotalsSchema(Schema):
    sales = fields.Integer(metadata={"description": "Purchases: orders and committed holds."})
    units = fields.Integer()
    revenue = fields.String(metadata={"description": "Money, 2 decimals, EUR."})
    average_basket = fields.String(allow_none=True)
    estimated_revenue = fields.String(
        metadata={"description": "Part of revenue priced from the catalogue (before 0015)."}
    )


class SalesSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    by = fields.List(fields.String())
    currency = fields.Constant("EUR")
    total = fields.Nested(SalesTotalsSchema)
    rows = fields.List(
        fields.Dict(),
        metadata={
            "description": "Per group: day/channel/category as asked, sales, units, revenue, "
            "average_basket, estimated_revenue (money as strings)."
        },
    )
