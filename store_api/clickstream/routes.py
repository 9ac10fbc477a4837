"""POST /api/v1/collect: the webshop's events, from browsers (no key) and tablets (a key).

Browsers send with ``navigator.sendBeacon`` (``text/plain``: no CORS preflight) or ``fetch``
with ``keepalive``; the body is parsed here, with the same hardening as the API's JSON parser,
because flask-smorest's parser only takes ``application/json``. CORS answers only the
configured webshop origins; a request without Origin (a server) is allowed.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Response, current_app, g, request
from flask.views import MethodView

from store_api import context, db
from store_api.auth import _authenticate
from store_api.blueprint import Blueprint
from store_api.clickstream import service
from store_api.clickstream.schemas import (
    CollectBatchSchema,
    CollectResultSchema,
    json_text_is_clean,
)
from store_api.errors import DomainError, ErrorCode, envelope
from store_api.keys.models import Role

blp = Blueprint(
    "clickstream", __name__, url_prefix="", description="Cookieless webshop clickstream."
)

COLLECT = "/api/v1/collect"
# Keys that may send in-store events (reco_shown, reco_accepted) with a batch.
RECO_SENDERS = {Role.ADMIN, Role.OWNER, Role.SELLER, Role.WEBSHOP}
_JSON_TYPES = {"", "application/json", "text/plain"}


class BodyError(DomainError):
    """A batch that cannot be read at all (its events cannot be told apart)."""

    def __init__(
        self, status: int, code: ErrorCode, message: str, errors: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, errors)
        self.status = status
        self.code = code


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _allowed_origins() -> list[str]:
    origins: list[str] = current_app.config["ANALYTICS_ORIGINS"]
    return origins


def _origin_allowed(origin: str) -> bool:
    allowed = _allowed_origins()
    return "*" in allowed or origin.rstrip("/") in (o.rstrip("/") for o in allowed)


@blp.before_request
def _refuse_other_origins() -> tuple[Response, int] | None:
    origin = request.headers.get("Origin")
    if origin is not None and not _origin_allowed(origin):
        return envelope(
            ErrorCode.FORBIDDEN,
            403,
            f"Origin {origin!r} may not send events; see COMPTOIR_ANALYTICS_ORIGINS.",
            {"origin": origin},
        )
    return None


@blp.after_request
def _cors_headers(response: Response) -> Response:
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    if origin is not None and _origin_allowed(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "POST"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type, Authorization"
            response.headers["Access-Control-Max-Age"] = "86400"
    return response


def _read_batch() -> tuple[list[Any], bool]:
    """The ``events`` list of the body, and whether its text was found clean (no NUL, no lone
    surrogate: see ``json_text_is_clean``); anything that is not a batch is one clear 4xx."""
    limit: int = current_app.config["ANALYTICS_MAX_BODY_BYTES"]
    too_large = BodyError(
        413,
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"The request body is too large (at most {limit} bytes): send several batches.",
    )
    if (request.content_length or 0) > limit:
        raise too_large
    mimetype = request.mimetype
    if mimetype not in _JSON_TYPES and not mimetype.endswith("+json"):
        raise BodyError(
            415,
            ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            "Send the batch as JSON, with Content-Type application/json or text/plain.",
        )
    body = request.get_data(cache=False)
    if len(body) > limit:
        raise too_large
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are both
        raise BodyError(
            400,
            ErrorCode.MALFORMED_JSON,
            "The request body is not valid JSON.",
            {"json": ["Invalid JSON body."]},
        ) from None
    if not isinstance(data, dict):
        raise _invalid({"_schema": ['The body is a JSON object: {"events": [...]}.']})
    unknown = sorted(str(key) for key in data if key != "events")
    if unknown:
        raise _invalid({key[:64]: ["Unknown field."] for key in unknown})
    events = data.get("events")
    if events is None:
        raise _invalid({"events": ["Missing data for required field."]})
    if not isinstance(events, list):
        raise _invalid({"events": ["Not a valid list."]})
    if not events:
        raise _invalid({"events": ["At least one event."]})
    most: int = current_app.config["ANALYTICS_MAX_EVENTS"]
    if len(events) > most:
        raise BodyError(
            413,
            ErrorCode.PAYLOAD_TOO_LARGE,
            f"At most {most} events per batch ({len(events)} sent): send several batches.",
            {"events": [f"At most {most} events per batch."]},
        )
    return events, json_text_is_clean(body)


def _batch() -> tuple[list[Any], bool]:
    """``_read_batch()`` once per request: the rate limiter reads it first, to count events."""
    cached = g.get("comptoir_batch")
    if cached is None:
        try:
            cached = _read_batch()
        except BodyError as error:
            cached = error
        g.comptoir_batch = cached
    if isinstance(cached, BodyError):
        raise cached
    events, clean = cached
    return events, clean


def batch_size() -> int:
    """What a batch costs against the collect limits: its events (1 if it is unreadable)."""
    try:
        events, _clean = _batch()
    except BodyError:
        return 1
    return max(1, len(events))


def _invalid(errors: dict[str, Any]) -> BodyError:
    fields = ", ".join(sorted(errors))
    return BodyError(422, ErrorCode.VALIDATION_ERROR, f"Invalid input: {fields}.", errors)


def _opted_out() -> bool:
    return "1" in (
        request.headers.get("Sec-GPC", "").strip(),
        request.headers.get("DNT", "").strip(),
    )


def _reco_sender() -> service.RecoSender | None:
    """The key, if one is sent: it must be valid (401), but browsers send none."""
    if "Authorization" not in request.headers:
        return None
    caller = _authenticate()
    if caller.role not in RECO_SENDERS:
        return None
    return service.RecoSender(channel=caller.own_channel or "store", actor=caller.name)


@blp.route(COLLECT)
class Collect(MethodView):
    @blp.doc(
        security=[{}, {"bearerAuth": []}],
        requestBody={
            "required": True,
            "content": {
                "text/plain": {"schema": CollectBatchSchema},
                "application/json": {"schema": CollectBatchSchema},
            },
        },
    )
    @blp.response(200, CollectResultSchema)
    def post(self) -> dict[str, Any]:
        """Store a batch of webshop events (no key), or in-store events (a seller's key).

        Each event is checked on its own: the valid ones are stored, the others come back in
        ``rejected`` by index with their errors. An ``event_id`` sent again is stored once
        (``duplicates``). With ``Sec-GPC: 1`` or ``DNT: 1``, or from a robot, nothing is
        stored (``stored: false``). Limits: COMPTOIR_ANALYTICS_MAX_BODY_BYTES (256 KiB) and
        COMPTOIR_ANALYTICS_MAX_EVENTS (500) per batch, else 413. See docs/clickstream.md.
        """
        reco = _reco_sender()
        events, clean = _batch()
        client = service.ClientInfo(
            ip=context.client_address(),
            user_agent=request.headers.get("User-Agent", ""),
            gpc=_opted_out(),
        )
        settings = current_app.extensions.get("comptoir_collect_settings")
        if settings is None:
            settings = service.CollectSettings.from_config(current_app.config)
            current_app.extensions["comptoir_collect_settings"] = settings
        # Validated and converted before the write transaction: on SQLite, writers queue.
        batch = service.prepare(
            events,
            client=client,
            now=context.now(),
            settings=settings,
            text_checked=clean,
            dialect=db.engine_for(current_app).dialect,
        )
        session = db.get_session()
        with db.write(session):
            result = service.store(session, batch, reco=reco)
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": [{"index": r.index, "errors": r.errors} for r in result.rejected],
            "stored": not (result.bot or result.opted_out),
            "bot": result.bot,
            "opted_out": result.opted_out,
        }
