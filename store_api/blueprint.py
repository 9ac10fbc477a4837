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

from store_api.schemas import find_bad_text

_BaseParser = ArgumentsMixin.ARGUMENTS_PARSER.__class__


def _reject_constant(name: str) -> NoReturn:
    raise json.JSONDecodeError(f"{name} is not valid JSON", name, 0)


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
        found = find_bad_text(data, root="_body")
        if found:
            field, problem = found
            raise ValidationError({field: [problem]})
        return data


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()
