from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates

from store_api.catalog.gtin import gtin_problem, normalize_gtin
from store_api.schemas import PageArgsSchema, PageSchema, StrictSchema, sku_field

_MAX_ATTRIBUTES_JSON = 10_000


def _check_price(value: Decimal) -> None:
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValidationError("At most 2 decimal places (EUR cents).")


def _check_attributes(value: dict[str, Any]) -> None:
    if len(json.dumps(value)) > _MAX_ATTRIBUTES_JSON:
        raise ValidationError(f"At most {_MAX_ATTRIBUTES_JSON} characters once encoded as JSON.")


class GtinField(fields.String):
    """A barcode as scanned or typed: separators dropped, length and GS1 check digit verified."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        # None never reaches here: marshmallow answers allow_none itself.
        text = super()._deserialize(value, attr, data, **kwargs)
        if len(text) > 40:
            raise ValidationError("A GTIN has 8, 12, 13 or 14 digits.")
        code = normalize_gtin(text)
        problem = gtin_problem(code)
        if problem:
            raise ValidationError(problem)
        return code


def gtin_field(
    description: str = "Barcode: GTIN-8, -12 (UPC), -13 (EAN) or -14, check digit verified; "
    "spaces and dashes are ignored, stored as digits.",
    **kwargs: Any,
) -> GtinField:
    return GtinField(metadata={"description": description, "example": "2000000000008"}, **kwargs)


class ProductFieldsSchema(StrictSchema):
    @post_load
    def _no_negative_zero(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if "price" in data and data["price"] == 0:
            data["price"] = Decimal("0.00")
        return data

    name = fields.String(validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=5000))
    brand = fields.String(validate=validate.Length(max=120))
    category = fields.String(validate=validate.Length(max=120))
    colour = fields.String(validate=validate.Length(max=60))
    price = fields.Decimal(
        validate=[validate.Range(min=0, max=1_000_000), _check_price],
        metadata={"description": 'EUR, up to 2 decimal places; a string such as "499.00".'},
    )
    image_url = fields.Url(
        allow_none=True, schemes={"http", "https"}, validate=validate.Length(max=1024)
    )
    attributes = fields.Dict(
        keys=fields.String(validate=validate.Length(max=100)), validate=_check_attributes
    )
    gtin = gtin_field(allow_none=True)
    mpn = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=64),
        metadata={"description": "Manufacturer's reference; feeds match brand + mpn."},
    )
    active = fields.Boolean()
    low_stock_threshold = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=0, max=100_000),
        metadata={"description": "stock.low fires at or below this; null: the shop default."},
    )


class ProductCreateSchema(ProductFieldsSchema):
    sku = sku_field(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    price = fields.Decimal(
        required=True, validate=[validate.Range(min=0, max=1_000_000), _check_price]
    )


class ProductUpdateSchema(ProductFieldsSchema):
    """Every field optional: send only what changes. The SKU never changes."""

    @validates("name")
    def _name_not_blank(self, value: str, **_: Any) -> None:
        if not value.strip():
            raise ValidationError("Must not be blank.")


class StockSummarySchema(Schema):
    on_hand = fields.Integer()
    reserved = fields.Integer()
    available = fields.Integer()


class ProductSchema(Schema):
    sku = fields.String()
    gtin = fields.String(allow_none=True)
    mpn = fields.String(allow_none=True)
    name = fields.String()
    description = fields.String()
    brand = fields.String()
    category = fields.String()
    colour = fields.String()
    price = fields.Decimal(as_string=True, places=2)
    currency = fields.Constant("EUR")
    image_url = fields.String(allow_none=True)
    attributes = fields.Dict()
    active = fields.Boolean()
    low_stock_threshold = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    stock = fields.Nested(
        StockSummarySchema, metadata={"description": "Totals over all locations."}
    )


class ProductQueryArgsSchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Words to find."})
    gtin = gtin_field("Exact barcode (GTIN-8/12/13/14); 422 if it is not one.")
    category = fields.String(validate=validate.Length(max=120))
    brand = fields.String(validate=validate.Length(max=120))
    colour = fields.String(validate=validate.Length(max=60))
    in_stock = fields.Boolean(
        load_default=False, metadata={"description": "Only products with units available."}
    )
    include_inactive = fields.Boolean(load_default=False)
    boost_in_stock = fields.Boolean(
        load_default=False,
        metadata={"description": "With q: among equally relevant products, available ones first."},
    )
    sort = fields.String(
        validate=validate.OneOf(("relevance", "name", "price", "-price")),
        metadata={
            "description": "relevance (the default with q), name, price or -price; without q "
            "the list goes by category and name unless sort says otherwise."
        },
    )


class ProductPageSchema(PageSchema):
    items = fields.List(fields.Nested(ProductSchema))
    correction = fields.String(
        allow_none=True,
        metadata={
            "description": 'With q: "did you mean", the query as it was read when a word was '
            "found only through a typo (e.g. whirpool -> whirlpool); null otherwise."
        },
    )


class CategorySchema(Schema):
    category = fields.String()
    products = fields.Integer()
