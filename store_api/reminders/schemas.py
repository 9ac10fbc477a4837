from __future__ import annotations

from marshmallow import Schema, fields, validate

from store_api.reminders.kinds import Kind
from store_api.reminders.models import MessageStatus
from store_api.reminders.service import MAX_DELAY_MINUTES
from store_api.reminders.templates import MAX_TEMPLATE_CHARS
from store_api.schemas import PageArgsSchema, PageSchema, QueryArgsSchema, StrictSchema


class SettingSchema(Schema):
    kind = fields.String()
    enabled = fields.Boolean()
    delay_minutes = fields.Integer()
    delay_meaning = fields.String()
    purpose = fields.String(metadata={"description": "The consent this reminder needs."})
    updated_at = fields.DateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)


class SettingUpdateSchema(StrictSchema):
    enabled = fields.Boolean()
    delay_minutes = fields.Integer(
        strict=True, validate=validate.Range(min=0, max=MAX_DELAY_MINUTES)
    )


class TemplateSchema(Schema):
    kind = fields.String()
    channel = fields.String()
    subject = fields.String()
    body = fields.String()
    customised = fields.Boolean(metadata={"description": "false: the built-in French text."})
    updated_at = fields.DateTime(allow_none=True)
    updated_by = fields.String(allow_none=True)


class TemplateInputSchema(StrictSchema):
    subject = fields.String(
        load_default="",
        validate=validate.Length(max=255),
        metadata={"description": "E-mail subject (Jinja); ignored for SMS."},
    )
    body = fields.String(required=True, validate=validate.Length(min=1, max=MAX_TEMPLATE_CHARS))


class RenderedSchema(Schema):
    subject = fields.String()
    body = fields.String()


class MessageQueryArgsSchema(PageArgsSchema):
    customer_id = fields.UUID()
    kind = fields.String(validate=validate.OneOf([k.value for k in Kind]))
    status = fields.String(validate=validate.OneOf([s.value for s in MessageStatus]))


class MessageSchema(Schema):
    id = fields.Integer()
    customer_id = fields.UUID(allow_none=True)
    kind = fields.String()
    subject_key = fields.String()
    message_id = fields.String()
    status = fields.String()
    outcome = fields.String(allow_none=True)
    channel = fields.String(allow_none=True)
    sku = fields.String(allow_none=True)
    due_at = fields.DateTime()
    next_attempt_at = fields.DateTime()
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class MessagePageSchema(PageSchema):
    items = fields.List(fields.Nested(MessageSchema))


class ReportArgsSchema(QueryArgsSchema):
    date_from = fields.Date(
        data_key="from", metadata={"description": "Local day (default: 30 days ago)."}
    )
    date_to = fields.Date(
        data_key="to", metadata={"description": "Local day, included (default: today)."}
    )


class KindFiguresSchema(Schema):
    kind = fields.String()
    sent = fields.Integer()
    came_back = fields.Integer()
    return_rate = fields.Float()
    revenue = fields.Decimal(as_string=True)


class BenefitSchema(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")
    comeback_days = fields.Integer()
    kinds = fields.List(fields.Nested(KindFiguresSchema))
    total = fields.Nested(KindFiguresSchema)
