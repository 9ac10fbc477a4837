from __future__ import annotations

from marshmallow import Schema, fields, validate

from store_api.events.service import EventType
from store_api.schemas import QueryArgsSchema, sku_field

EVENT_TYPES = [t.value for t in EventType]
TYPE_FILTERS = EVENT_TYPES + sorted({t.split(".")[0] + ".*" for t in EVENT_TYPES})


class EventSchema(Schema):
    seq = fields.Integer(metadata={"description": "Global, gapless, increasing: the cursor."})
    id = fields.UUID(metadata={"description": "Unique event id (also the webhook-id)."})
    type = fields.String()
    sku = fields.String(allow_none=True)
    occurred_at = fields.DateTime()
    payload = fields.Dict()


class EventQueryArgsSchema(QueryArgsSchema):
    after = fields.Integer(
        load_default=0,
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "Return events with seq > after (0: from the start)."},
    )
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    type = fields.List(
        fields.String(validate=validate.OneOf(TYPE_FILTERS)),
        load_default=list,
        metadata={"description": "Repeat to filter by several types; 'stock.*' for a family."},
    )
    sku = fields.List(sku_field(), load_default=list, validate=validate.Length(max=100))


class EventPageSchema(Schema):
    events = fields.List(fields.Nested(EventSchema))
    next_after = fields.Integer(
        metadata={"description": "Pass as ?after= to continue; equals `after` when up to date."}
    )
    last_seq = fields.Integer(metadata={"description": "The newest event's seq right now."})


class EventStreamQueryArgsSchema(QueryArgsSchema):
    after = fields.Integer(
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={
            "description": "Start after this seq (0: from the start). Default: only new events. "
            "A Last-Event-ID header wins: it is what a reconnecting client last saw."
        },
    )
    type = fields.List(
        fields.String(validate=validate.OneOf(TYPE_FILTERS)),
        load_default=list,
        metadata={"description": "Repeat to filter by several types; 'stock.*' for a family."},
    )
    sku = fields.List(sku_field(), load_default=list, validate=validate.Length(max=100))


class EventStreamHeadersSchema(Schema):
    # Headers carry much else (Authorization, User-Agent...): only this one is read.
    last_event_id = fields.Integer(
        data_key="Last-Event-ID",
        validate=validate.Range(min=0, max=2**63 - 1),
        metadata={"description": "The last seq the client received; sent by EventSource."},
    )
