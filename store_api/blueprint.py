"""The project's flask-smorest Blueprint, with a stricter request parser.

* Unknown query parameters are refused (webargs ignores them by default, so ``?pagesize=10``
  would silently give the default page size).
* JSON bodies are refused when the database could not store them or Python cannot parse them
  safely: NaN/Infinity, NUL characters and lone surrogates in strings, absurdly deep nesting.
  Each gives a clear 4xx instead of a driver error deep inside a transaction.
* A body sent with another Content-Type than JSON is a 415, not "field missing".
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

import flask
import flask_smorest
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import RAISE, ValidationError
from webargs import core

_BaseParser = ArgumentsMixin.ARGUMENTS_PARSER.__class__


def _reject_constant(name: str) -> NoReturn:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


def bad_text(value: str) -> str | None:
    """Why a string cannot be stored as text, or None if it can."""
    if "\x00" in value:
        return "NUL characters are not allowed."
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Invalid Unicode (lone surrogate)."
    return None


def _find_bad_text(data: Any, path: str = "") -> tuple[str, str] | None:
    if isinstance(data, str):
        problem = bad_text(data)
        return (path or "_body", problem) if problem else None
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
        found = _find_bad_text(value, where)
        if found:
            return found
    return None


class _Parser(_BaseParser):  # type: ignore[misc,valid-type]
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **_BaseParser.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }

    def _raw_load_json(self, req: flask.Request) -> Any:
        body = req.get_data(cache=True)
        if not core.is_json(req.mimetype):
            if body:
                flask.abort(
                    415,
                    description="Send the body as JSON with 'Content-Type: application/json'.",
                )
            return core.missing
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError("body is not UTF-8", "<bytes>", exc.start) from exc
        try:
            data = json.loads(text, parse_constant=_reject_constant)
        except RecursionError as exc:
            raise json.JSONDecodeError("nested too deeply", text[:100], 0) from exc
        found = _find_bad_text(data)
        if found:
            field, problem = found
            raise ValidationError({field: [problem]})
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()
