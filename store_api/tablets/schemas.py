from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates

from store_api.schemas import StrictSchema
from store_api.tablets.service import normalise_code

_PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="No control characters.")


class PairingCodeCreateSchema(StrictSchema):
    name = fields.String(
        allow_none=True,
        validate=[validate.Length(min=1, max=60), _PRINTABLE],
        metadata={
            "description": 'The tablet\'s name, e.g. "Tablette caisse". Default: the '
            'next free "Tablette N".'
        },
    )

    @pre_load
    def _strip(self, data: Any, **_: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            data = {**data, "name": data["name"].strip()}
        return data


class PairingCodeSchema(Schema):
    code = fields.String(metadata={"description": "6 digits, single use."})
    name = fields.String()
    expires_at = fields.AwareDateTime(metadata={"description": "10 minutes after creation."})
    pair_url = fields.String(
        metadata={"description": "Open on the tablet (or scan its QR code): …/tablet/#pair=<code>"}
    )


class PairSchema(StrictSchema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=32),
        metadata={
            "description": 'The 6 digits shown to the owner (spaces and "-" ignored).',
            "pattern": r"^[\s.-]*(?:[0-9][\s.-]*){6}$",
        },
    )
    device = fields.String(
        allow_none=True,
        validate=[validate.Length(max=255), _PRINTABLE],
        metadata={"description": 'What the tablet is, e.g. "Chrome 131, Android 14".'},
    )

    @validates("code")
    def _digits(self, value: str, **_: Any) -> None:
        if normalise_code(value) is None:
            raise ValidationError("6 digits.")


class PairedSchema(Schema):
    tablet_id = fields.Integer()
    name = fields.String()
    key = fields.String(
        metadata={"description": "The tablet's seller API key, shown once: keep it on the tablet."}
    )


class TabletSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    device = fields.String(allow_none=True)
    key_prefix = fields.String(metadata={"description": "First characters of its API key."})
    paired_at = fields.AwareDateTime()
    last_seen_at = fields.AwareDateTime(
        allow_none=True,
        metadata={"description": "Last check-in (GET /me, its live stream), to the minute."},
    )
    revoked_at = fields.AwareDateTime(allow_none=True)


class MeSchema(Schema):
    name = fields.String()
    role = fields.String()
    tablet_id = fields.Integer(
        allow_none=True, metadata={"description": "Set when the key is a paired tablet's."}
    )
