from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from store_api.events.schemas import TYPE_FILTERS
from store_api.schemas import PageArgsSchema, PageSchema, StrictSchema
from store_api.webhooks.models import DeliveryStatus

MAX_URL_LENGTH = 2048


def _url_field(**kwargs: Any) -> fields.Url:
    return fields.Url(
        schemes={"http", "https"},
        require_tld=False,  # an endpoint on the shop's own network (http://10.0.0.5/hook)
        validate=validate.Length(max=MAX_URL_LENGTH),
        metadata={
            "description": "Where events are POSTed: http or https, at most 2048 chars; a "
            "public address unless COMPTOIR_WEBHOOK_ALLOWED_NETWORKS lists it."
        },
        **kwargs,
    )


def _event_types_field(**kwargs: Any) -> fields.List:
    return fields.List(
        fields.String(validate=validate.OneOf(TYPE_FILTERS)),
        validate=validate.Length(max=len(TYPE_FILTERS)),
        metadata={
            "description": "Event types to receive, or families such as 'stock.*'; empty: all."
        },
        **kwargs,
    )


def _customer_data_field(**kwargs: Any) -> fields.Boolean:
    return fields.Boolean(
        metadata={
            "description": "true: payloads keep customer fields (a hold's note, customer_*). "
            "Off by default: they leave the shop's machine (docs/security.md)."
        },
        **kwargs,
    )


class WebhookCreateSchema(StrictSchema):
    url = _url_field(required=True)
    event_types = _event_types_field(load_default=list)
    description = fields.String(load_default="", validate=validate.Length(max=255))
    include_customer_data = _customer_data_field(load_default=False)


class WebhookUpdateSchema(StrictSchema):
    """Send only what changes. ``active: true`` re-enables a disabled subscription."""

    url = _url_field()
    event_types = _event_types_field()
    description = fields.String(validate=validate.Length(max=255))
    include_customer_data = _customer_data_field()
    active = fields.Boolean()
    rotate_secret = fields.Boolean(
        metadata={"description": "true: a new secret, returned once in this response."}
    )


class DeliveryCountsSchema(Schema):
    pending = fields.Integer()
    delivered = fields.Integer()
    failed = fields.Integer()


class WebhookSchema(Schema):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    event_types = fields.List(fields.String())
    secret = fields.String(
        metadata={
            "description": "Signing secret ('whsec_…'): only in the answer to a create or a "
            "rotate_secret, never again."
        }
    )
    include_customer_data = fields.Boolean()
    active = fields.Boolean()
    created_at = fields.DateTime()
    failing_since = fields.DateTime(
        allow_none=True, metadata={"description": "First failure since the last success."}
    )
    disabled_at = fields.DateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    deliveries = fields.Nested(DeliveryCountsSchema)


class AttemptSchema(Schema):
    attempted_at = fields.DateTime()
    status_code = fields.Integer(
        allow_none=True, metadata={"description": "null: no HTTP answer (see error)."}
    )
    latency_ms = fields.Integer()
    error = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.Integer()
    event_seq = fields.Integer()
    event_id = fields.UUID(metadata={"description": "The webhook-id header of every attempt."})
    event_type = fields.String()
    event_key = fields.String(metadata={"description": "Events with the same key go in order."})
    status = fields.String(metadata={"description": "pending, delivered or failed."})
    attempt_count = fields.Integer()
    next_attempt_at = fields.DateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    attempts = fields.List(fields.Nested(AttemptSchema))


class DeliveryQueryArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in DeliveryStatus]))


class DeliveryPageSchema(PageSchema):
    items = fields.List(fields.Nested(DeliverySchema))
