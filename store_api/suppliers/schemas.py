from __future__ import annotations

from marshmallow import Schema, fields, validate

from store_api.schemas import PageArgsSchema, PageSchema, QueryArgsSchema, StrictSchema
from store_api.suppliers.models import Availability

SUPPLIER_CODE = validate.Regexp(
    r"^[A-Z0-9][A-Z0-9_-]{0,31}$", error="Capital letters, digits, '_' and '-'; 32 at most."
)


class SupplierFieldsSchema(StrictSchema):
    name = fields.String(validate=validate.Length(min=1, max=120))
    contact = fields.String(validate=validate.Length(max=255))
    email = fields.Email(validate=validate.Length(max=255))
    phone = fields.String(validate=validate.Length(max=40))
    default_lead_days = fields.Integer(
        strict=True,
        validate=validate.Range(min=0, max=365),
        metadata={"description": "Days to deliver when an offer gives none."},
    )
    active = fields.Boolean()
    mapping = fields.Dict(
        metadata={"description": "The mapping profile for this supplier's files (docs)."}
    )


class SupplierCreateSchema(SupplierFieldsSchema):
    code = fields.String(required=True, validate=SUPPLIER_CODE)
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))


class SupplierUpdateSchema(SupplierFieldsSchema):
    """Send only what changes; the code never changes."""


class SupplierSchema(Schema):
    code = fields.String()
    name = fields.String()
    contact = fields.String()
    email = fields.String()
    phone = fields.String()
    default_lead_days = fields.Integer()
    active = fields.Boolean()
    mapping = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class OfferQueryArgsSchema(PageArgsSchema):
    supplier = fields.String(validate=validate.Length(max=32))
    sku = fields.String(validate=validate.Length(max=64))
    listed = fields.Boolean()


class OfferSchema(Schema):
    supplier = fields.String()
    sku = fields.String()
    supplier_sku = fields.String()
    gtin = fields.String(allow_none=True)
    mpn = fields.String(allow_none=True)
    purchase_price = fields.Decimal(as_string=True, places=2, allow_none=True)
    availability = fields.String(validate=validate.OneOf([a.value for a in Availability]))
    supplier_stock = fields.Integer(allow_none=True)
    lead_days = fields.Integer(allow_none=True)
    listed = fields.Boolean()
    last_seen_at = fields.DateTime()
    updated_at = fields.DateTime()


class OfferPageSchema(PageSchema):
    items = fields.List(fields.Nested(OfferSchema))


class FeedUploadSchema(Schema):
    file = fields.Raw(
        required=True,
        metadata={"type": "string", "format": "binary", "description": "CSV, XLSX or BMEcat."},
    )


class FeedQueryArgsSchema(QueryArgsSchema):
    kind = fields.List(
        fields.String(
            validate=validate.OneOf(["new", "changed", "missing", "rejected", "skipped"])
        ),
        metadata={"description": "Entries of these kinds only (repeat the parameter)."},
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class ProblemSchema(Schema):
    code = fields.String()
    line = fields.Integer(allow_none=True)
    column = fields.String(allow_none=True)
    params = fields.Dict()
    message = fields.String(metadata={"description": "For people, in the request's language."})


class ChangeSchema(Schema):
    field = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class EntrySchema(Schema):
    kind = fields.String()
    line = fields.Integer(allow_none=True)
    supplier_sku = fields.String()
    sku = fields.String(allow_none=True)
    match = fields.String(allow_none=True)
    changes = fields.List(fields.Nested(ChangeSchema))
    product = fields.Dict()
    problems = fields.List(fields.Nested(ProblemSchema))
    action = fields.String(allow_none=True)


class EntryPageSchema(PageSchema):
    items = fields.List(fields.Nested(EntrySchema))


class FeedImportSummarySchema(Schema):
    """A feed import in a listing (no mapping, no entries)."""

    id = fields.Integer()
    supplier = fields.String()
    filename = fields.String()
    format = fields.String()
    source = fields.String()
    sha256 = fields.String()
    size = fields.Integer()
    status = fields.String()
    summary = fields.Dict()
    problem = fields.Nested(ProblemSchema, allow_none=True)
    created_by = fields.String()
    created_at = fields.DateTime()
    applied_at = fields.DateTime(allow_none=True)
    applied_by = fields.String(allow_none=True)
    note = fields.String()


class FeedImportSchema(FeedImportSummarySchema):
    """One feed import: what was detected, the mapping used and its entries."""

    detected = fields.Dict()
    mapping = fields.Dict()
    entries = fields.Nested(EntryPageSchema)


class FeedApplySchema(StrictSchema):
    skip_rejected = fields.Boolean(
        load_default=False,
        metadata={"description": "Apply the valid lines and leave the rejected ones out."},
    )
