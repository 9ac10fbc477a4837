"""Report queries and answers of /api/v1/analytics."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from store_api.analytics.reports import DEFAULT_DAYS, MAX_DAYS
from store_api.periods import period_errors
from store_api.schemas import QueryArgsSchema


class ReportQueryArgsSchema(QueryArgsSchema):
    date_from = fields.Date(
        data_key="from",
        metadata={
            "description": f"First day (shop's local time), YYYY-MM-DD. Default: to - "
            f"{DEFAULT_DAYS - 1}. At most {MAX_DAYS} days."
        },
    )
    date_to = fields.Date(
        data_key="to",
        metadata={"description": "Last day, included, YYYY-MM-DD. Default: today."},
    )
    device = fields.String(
        validate=validate.Length(min=1, max=16),
        metadata={"description": "Only visits from this device class: desktop, mobile, tablet."},
    )
    source = fields.String(
        validate=validate.Length(min=1, max=120),
        metadata={"description": "Only visits from this source (as in the sources report)."},
    )
    group = fields.String(
        validate=validate.OneOf(["product", "day"]),
        metadata={"description": "recommendations only: rows per product (default) or per day."},
    )
    evidence = fields.String(
        validate=validate.OneOf(["significant", "all"]),
        metadata={
            "description": "viewed-instead only: significant pairs (default: at least 3 visits "
            "and a 95 % Wilson lower bound above chance) or all pairs."
        },
    )
    format = fields.String(
        load_default="json",
        validate=validate.OneOf(["json", "csv"]),
        metadata={"description": "csv: the rows as a CSV file with a header row."},
    )

    @validates_schema
    def _period(self, data: dict[str, Any], **_: Any) -> None:
        if "date_from" in data and "date_to" in data:
            errors = period_errors(data["date_from"], data["date_to"], max_days=MAX_DAYS)
            if errors:
                raise ValidationError(errors)


class ColumnSchema(Schema):
    key = fields.String(metadata={"description": "The key of the value in each row."})
    label = fields.String()
    kind = fields.String(
        metadata={
            "description": "text, integer, rate (0 to 1), money (string, 2 decimals), seconds, "
            "minutes, number, boolean, date."
        }
    )


class ReportInfoSchema(Schema):
    slug = fields.String()
    title = fields.String()
    description = fields.String()
    filters = fields.List(fields.String(), metadata={"description": "Query filters it accepts."})
    columns = fields.List(fields.Nested(ColumnSchema))


class ReportListSchema(Schema):
    reports = fields.List(fields.Nested(ReportInfoSchema))


class ReportSchema(Schema):
    slug = fields.String()
    title = fields.String()
    description = fields.String()
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    filters = fields.Dict(keys=fields.String(), values=fields.String())
    currency = fields.Constant("EUR")
    columns = fields.List(fields.Nested(ColumnSchema))
    rows = fields.List(
        fields.Dict(),
        metadata={"description": "One object per row, keyed by the columns' keys."},
    )
