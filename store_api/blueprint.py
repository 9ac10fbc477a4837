"""The project's flask-smorest Blueprint: query strings refuse unknown parameters too.

webargs ignores unknown query parameters by default, so ``?pagesize=10`` would silently give
the default page size; refusing it (422 naming the parameter) is what a client needs.
"""

from __future__ import annotations

import flask_smorest
from flask_smorest.arguments import ArgumentsMixin
from marshmallow import RAISE


class _Parser(ArgumentsMixin.ARGUMENTS_PARSER.__class__):
    DEFAULT_UNKNOWN_BY_LOCATION = {
        **ArgumentsMixin.ARGUMENTS_PARSER.DEFAULT_UNKNOWN_BY_LOCATION,
        "query": RAISE,
        "querystring": RAISE,
    }


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = _Parser()
