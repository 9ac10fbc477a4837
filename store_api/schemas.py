"""Schema pieces shared by every domain: strict base, pagination, error envelope, storable text."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, RAISE, Schema, fields, validate


class StrictSchema(Schema):
    """Input schemas refuse unknown fields: a typo ("quantiy") is an error, not a no-op."""

    class Meta:
        unknown = RAISE


class QueryArgsSchema(Schema):
    class Meta:
        unknown = RAISE


class PageArgsSchema(QueryArgsSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    page_size = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class PageSchema(Schema):
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class ErrorSchema(Schema):
    """The one error envelope of the API."""

    class Meta:
        unknown = EXCLUDE

    code = fields.String(metadata={"description": "Stable machine-readable error code."})
    status = fields.Integer()
    message = fields.String()
    errors = fields.Dict(metadata={"description": "Details: field name -> messages, or data."})


def positive_quantity(max_quantity: int = 10_000) -> fields.Integer:
    return fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=max_quantity)
    )


# Path segments of /api/v1/stock/... and /api/v1/products/... that a SKU must not shadow.
RESERVED_SKUS = ("movements", "adjustments", "suggest")


def sku_field(**kwargs: object) -> fields.String:
    return fields.String(
        validate=[
            validate.Length(min=1, max=64),
            validate.NoneOf(RESERVED_SKUS, error="Reserved word; choose another SKU."),
            validate.Regexp(
                r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
                error="Letters, digits, '.', '_' and '-' only.",
            ),
        ],
        **kwargs,  # type: ignore[arg-type]
    )


def bad_text(value: str) -> str | None:
    """Why a string cannot be stored as text (by either database), or None if it can."""
    if "\x00" in value:
        return "NUL characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Invalid Unicode (lone surrogate)."
    return None


def find_bad_text(data: Any, path: str = "", *, root: str = "_schema") -> tuple[str, str] | None:
    """The first string (or key) of parsed JSON that no database can store as text, with its
    dotted path (``root`` when ``data`` itself is the string).

    Raises RecursionError on absurd nesting (callers reject that input).
    """
    if isinstance(data, str):
        problem = bad_text(data)
        return (path or root, problem) if problem else None
    if isinstance(data, dict):
        items: Any = data.items()
    elif isinstance(data, list):
        items = enumerate(data)
    else:
        return None
    for key, value in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and bad_text(key):
            return where, f"Invalid field name: {bad_text(key)}"
        found = find_bad_text(value, where, root=root)
        if found:
            return found
    return None
