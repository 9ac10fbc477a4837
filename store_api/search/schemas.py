from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates

from store_api.schemas import QueryArgsSchema, StrictSchema
from store_api.search.text import words

MAX_TERM = 100
MAX_MEANINGS = 20


def _has_words(value: str) -> None:
    if not any(not w.stop for w in words(value)):
        raise ValidationError(
            "Needs at least one word with letters or digits (not only 'de', 'à'…)."
        )


_PHRASE = fields.String(validate=[validate.Length(min=1, max=MAX_TERM), _has_words])


class SuggestArgsSchema(QueryArgsSchema):
    q = fields.String(
        required=True,
        validate=validate.Length(max=200),
        metadata={"description": "What has been typed so far; the last word is a prefix."},
    )
    limit = fields.Integer(load_default=5, validate=validate.Range(min=1, max=20))


class SuggestedProductSchema(Schema):
    sku = fields.String()
    name = fields.String()
    brand = fields.String()
    category = fields.String()
    price = fields.String(metadata={"description": 'EUR, as "499.00".'})
    image_url = fields.String(allow_none=True)


class FacetSchema(Schema):
    name = fields.String()
    count = fields.Integer(metadata={"description": "Matching products with this value."})


class SuggestionsSchema(Schema):
    query = fields.String()
    products = fields.List(fields.Nested(SuggestedProductSchema))
    categories = fields.List(fields.Nested(FacetSchema))
    brands = fields.List(fields.Nested(FacetSchema))
    correction = fields.String(
        allow_none=True, metadata={"description": '"Did you mean": the query as it was read.'}
    )


class SynonymInSchema(StrictSchema):
    term = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=MAX_TERM), _has_words],
        metadata={"description": 'What people say, e.g. "frigo" or "machine à laver".'},
    )
    synonyms = fields.List(
        fields.String(validate=[validate.Length(min=1, max=MAX_TERM), _has_words]),
        required=True,
        validate=validate.Length(min=1, max=MAX_MEANINGS),
        metadata={"description": 'What the catalogue calls it, e.g. ["réfrigérateur"].'},
    )

    @validates("synonyms")
    def _distinct(self, value: list[str], **_: Any) -> None:
        keys = [" ".join(w.term for w in words(v) if not w.stop) for v in value]
        if len(set(keys)) != len(keys):
            raise ValidationError("The same synonym is given twice.")


class SynonymPatchSchema(SynonymInSchema):
    term = fields.String(validate=[validate.Length(min=1, max=MAX_TERM), _has_words])
    synonyms = fields.List(
        fields.String(validate=[validate.Length(min=1, max=MAX_TERM), _has_words]),
        validate=validate.Length(min=1, max=MAX_MEANINGS),
    )


class SynonymSchema(Schema):
    id = fields.Integer()
    term = fields.String()
    synonyms = fields.List(fields.String())
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
