"""Corrections to the generated OpenAPI document, so it says what the server does.

apispec renders a Decimal field as ``type: number`` with its Range bounds as Decimal objects,
which JSON turns into strings (``"maximum": "1000000"``: an invalid document, and fuzzers skip
the operation). Comptoir's money is a decimal string on the way out (``"499.00"``) and a
decimal string or a JSON number on the way in, at most two decimal places.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from marshmallow import fields, validate

_OUT_PATTERN = r"^-?\d+\.\d{2}$"


def _number(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def decimal_properties(self: Any, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
    """apispec attribute function for ``fields.Decimal`` (added after the built-in ones)."""
    if not isinstance(field, fields.Decimal):
        return {}
    bounds = {key: _number(ret.pop(key)) for key in ("minimum", "maximum") if key in ret}
    ret.pop("type", None)
    if field.as_string:
        return {"type": "string", "format": "decimal", "pattern": _OUT_PATTERN, "example": "499.00"}
    sign = "-?" if bounds.get("minimum", -1) < 0 else ""
    return {
        "anyOf": [
            {"type": "string", "format": "decimal", "pattern": rf"^{sign}\d+(\.\d{{1,2}})?$"},
            {"type": "number", **bounds},
        ],
        "example": "499.00",
    }


def ecma_patterns(self: Any, field: fields.Field, ret: dict[str, Any]) -> dict[str, Any]:
    """Python-only anchors (``\\A``, ``\\Z``) as JSON Schema (ECMA 262) ones."""
    pattern = ret.get("pattern")
    if isinstance(pattern, str) and ("\\Z" in pattern or "\\A" in pattern):
        return {"pattern": pattern.replace("\\A", "^").replace("\\Z", "$")}
    return {}


def dict_key_choices(self: Any, field: fields.Dict, ret: dict[str, Any]) -> dict[str, Any]:
    """A ``fields.Dict`` whose keys must be one of a few names: those names as properties.

    apispec documents only the values (``additionalProperties``), so any key looked valid and
    the API's 422 "Must be one of" was undocumented (found by Schemathesis).
    """
    if not isinstance(field, fields.Dict) or field.key_field is None:
        return {}
    value = ret.get("additionalProperties")
    for validator in field.key_field.validators:
        if isinstance(validator, validate.OneOf) and isinstance(value, dict):
            return {
                "properties": {str(choice): value for choice in validator.choices},
                "additionalProperties": False,
            }
    return {}
