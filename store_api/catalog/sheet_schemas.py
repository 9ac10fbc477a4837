from __future__ import annotations

from marshmallow import Schema, fields, validate

from store_api.catalog.models import SheetState
from store_api.catalog.sheets import CHANNELS, MAX_TEMPLATE, REQUIREMENT
from store_api.schemas import PageArgsSchema, PageSchema, StrictSchema


class SheetQueryArgsSchema(PageArgsSchema):
    state = fields.String(validate=validate.OneOf([s.value for s in SheetState]))
    category = fields.String(validate=validate.Length(max=120))
    channel = fields.String(load_default="webshop", validate=validate.OneOf(CHANNELS))
    incomplete = fields.Boolean(load_default=False, metadata={"description": "Only incomplete."})


class ChannelCompletenessSchema(Schema):
    channel = fields.String()
    percent = fields.Integer()
    missing = fields.List(fields.String())


class SheetSchema(Schema):
    sku = fields.String()
    name = fields.String()
    category = fields.String()
    state = fields.String()
    published_at = fields.DateTime(allow_none=True)
    description = fields.String(metadata={"description": "Own, else written by the template."})
    description_generated = fields.Boolean()
    complete = fields.Boolean(metadata={"description": "Complete for the webshop."})
    channels = fields.List(fields.Nested(ChannelCompletenessSchema))


class SheetPageSchema(PageSchema):
    items = fields.List(fields.Nested(SheetSchema))


class RuleSchema(Schema):
    category = fields.String()
    required = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    template = fields.String()
    google_category = fields.String()
    saved = fields.Boolean(metadata={"description": "False: the built-in default."})


class RuleUpdateSchema(StrictSchema):
    required = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CHANNELS)),
        values=fields.List(
            fields.String(
                validate=validate.Length(max=70),
                # Documented (checked by sheets.save_rule, which names the unknown ones).
                metadata={"pattern": REQUIREMENT.pattern},
            ),
            validate=validate.Length(max=50),
        ),
        required=True,
        metadata={"description": 'Per channel: fields and "attr:<key>" a complete sheet has.'},
    )
    template = fields.String(load_default="", validate=validate.Length(max=MAX_TEMPLATE))
    google_category = fields.String(load_default="", validate=validate.Length(max=255))
