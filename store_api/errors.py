"""Domain errors and the one JSON error envelope ``{code, status, message, errors}``.

Services raise :class:`DomainError` subclasses that carry data; nothing in a service knows
about HTTP beyond the status its error maps to. Every error a client can see, including
Werkzeug's and flask-smorest's validation errors, leaves through :func:`envelope`.
"""

from __future__ import annotations

import enum
import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from store_api.serving import RequestReadTimeout

log = logging.getLogger(__name__)


class ErrorCode(enum.StrEnum):
    VALIDATION_ERROR = "validation_error"
    BAD_REQUEST = "bad_request"
    MALFORMED_JSON = "malformed_json"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    INTERNAL_ERROR = "internal_error"
    # catalog
    PRODUCT_NOT_FOUND = "product_not_found"
    SKU_ALREADY_EXISTS = "sku_already_exists"
    PRODUCT_INACTIVE = "product_inactive"
    GTIN_ALREADY_EXISTS = "gtin_already_exists"
    # stock
    UNKNOWN_LOCATION = "unknown_location"
    INSUFFICIENT_STOCK = "insufficient_stock"
    BELOW_RESERVED = "below_reserved"
    STALE_COUNT = "stale_count"
    ON_HAND_LIMIT = "on_hand_limit"
    # reservations
    RESERVATION_NOT_FOUND = "reservation_not_found"
    RESERVATION_EXPIRED = "reservation_expired"
    RESERVATION_NOT_ACTIVE = "reservation_not_active"
    # orders
    ORDER_NOT_FOUND = "order_not_found"
    ORDER_NOT_CANCELLABLE = "order_not_cancellable"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    # shelves
    LANE_NOT_FOUND = "lane_not_found"
    ALERT_NOT_FOUND = "alert_not_found"
    # search
    SYNONYM_NOT_FOUND = "synonym_not_found"
    SYNONYM_ALREADY_EXISTS = "synonym_already_exists"
    # event stream
    TOO_MANY_STREAMS = "too_many_streams"
    # customers and reminders
    CUSTOMER_NOT_FOUND = "customer_not_found"
    CUSTOMER_EXISTS = "customer_exists"
    CONSENT_REQUIRED = "consent_required"
    STOCK_ALERT_NOT_FOUND = "stock_alert_not_found"
    TEMPLATE_INVALID = "template_invalid"
    # rate limits and slow clients
    RATE_LIMITED = "rate_limited"
    REQUEST_TIMEOUT = "request_timeout"
    # tablets
    TABLET_NOT_FOUND = "tablet_not_found"
    TABLET_NAME_TAKEN = "tablet_name_taken"
    INVALID_PAIRING_CODE = "invalid_pairing_code"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    # suppliers and feeds
    SUPPLIER_NOT_FOUND = "supplier_not_found"
    SUPPLIER_ALREADY_EXISTS = "supplier_already_exists"
    FEED_NOT_FOUND = "feed_not_found"
    FEED_NOT_APPLICABLE = "feed_not_applicable"
    FEED_STALE = "feed_stale"
    FEED_HAS_REJECTED_LINES = "feed_has_rejected_lines"
    FEED_TOO_LARGE = "feed_too_large"
    # product sheets
    SHEET_INCOMPLETE = "sheet_incomplete"
    SHEET_WRONG_STATE = "sheet_wrong_state"
    PRODUCT_NOT_PUBLISHED = "product_not_published"
    INVALID_TEMPLATE = "invalid_template"


class DomainError(Exception):
    """A business rule said no. Carries a stable code, an HTTP status and details."""

    status = 400
    code = ErrorCode.BAD_REQUEST
    headers: dict[str, str] = {}

    def __init__(self, message: str, errors: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class Unauthorized(DomainError):
    status = 401
    code = ErrorCode.UNAUTHORIZED
    # RFC 9110: a 401 names the authentication scheme the client should use.
    headers = {"WWW-Authenticate": 'Bearer realm="comptoir"'}


class Forbidden(DomainError):
    status = 403
    code = ErrorCode.FORBIDDEN


class NotFound(DomainError):
    status = 404
    code = ErrorCode.NOT_FOUND

    def __init__(self, code: ErrorCode, message: str, errors: dict[str, Any] | None = None):
        super().__init__(message, errors)
        self.code = code


class Conflict(DomainError):
    status = 409

    def __init__(self, code: ErrorCode, message: str, errors: dict[str, Any] | None = None):
        super().__init__(message, errors)
        self.code = code


class Invalid(DomainError):
    """Well-formed input that names something that does not fit (unknown SKU, location)."""

    status = 422

    def __init__(self, code: ErrorCode, message: str, errors: dict[str, Any] | None = None):
        super().__init__(message, errors)
        self.code = code


class TooManyStreams(DomainError):
    """Every stream slot of this worker is taken: come back later (or on another worker)."""

    status = 503
    code = ErrorCode.TOO_MANY_STREAMS
    retry_after_seconds = 5
    headers = {"Retry-After": str(retry_after_seconds)}


class TooManyAttempts(DomainError):
    """Too many failed tries from one address (or overall): wait before trying again."""

    status = 429
    code = ErrorCode.TOO_MANY_ATTEMPTS

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message, {"retry_after": retry_after_seconds})
        self.headers = {"Retry-After": str(retry_after_seconds)}


class InsufficientStock(Conflict):
    def __init__(self, sku: str, requested: int, available: int, **extra: Any) -> None:
        super().__init__(
            ErrorCode.INSUFFICIENT_STOCK,
            f"Only {available} unit(s) of {sku} available, {requested} requested.",
            {"sku": sku, "requested": requested, "available": available, **extra},
        )
        self.sku = sku
        self.requested = requested
        self.available = available


class OnHandLimit(Conflict):
    """A change would leave more units at one location than MAX_ON_HAND (what a count sets)."""

    def __init__(self, sku: str, location: str, on_hand: int, adding: int, most: int) -> None:
        super().__init__(
            ErrorCode.ON_HAND_LIMIT,
            f"{sku} at {location} holds {on_hand} unit(s); adding {adding} would pass the "
            f"limit of {most} per location.",
            {
                "sku": sku,
                "location": location,
                "on_hand": on_hand,
                "adding": adding,
                "max_on_hand": most,
            },
        )


def _string_keys(value: Any) -> Any:
    """Marshmallow keys a list item's errors by its index (an int) next to field names; JSON
    keys are strings, and sorting a mix of both fails (a 500 instead of the 422)."""
    if isinstance(value, dict):
        return {str(key): _string_keys(item) for key, item in value.items()}
    return value


def envelope_body(
    code: str, status: int, message: str, errors: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "code": str(code),
        "status": status,
        "message": message,
        "errors": _string_keys(errors or {}),
    }


def envelope(
    code: str, status: int, message: str, errors: dict[str, Any] | None = None
) -> tuple[Response, int]:
    return jsonify(envelope_body(code, status, message, errors)), status


_HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    422: ErrorCode.VALIDATION_ERROR,
    429: ErrorCode.RATE_LIMITED,
}


def _flatten_webargs(messages: Any) -> dict[str, Any]:
    """webargs nests messages under the request location; clients want field names."""
    if not isinstance(messages, dict):
        return {"_request": messages}
    flat: dict[str, Any] = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return flat


def handle_http_exception(exc: HTTPException) -> tuple[Response, int]:
    if isinstance(exc.__context__, RequestReadTimeout):  # werkzeug saw a "disconnect"
        response, status, headers = handle_read_timeout(exc.__context__)
        response.headers.update(headers)
        return response, status
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if messages is not None:
        errors = _flatten_webargs(messages)
        if any("Invalid JSON body" in str(v) for v in errors.values()):
            return envelope(
                ErrorCode.MALFORMED_JSON,
                400,
                "The request body is not valid JSON.",
                {"json": ["Invalid JSON body."]},
            )
        fields = ", ".join(sorted(errors))
        return envelope(ErrorCode.VALIDATION_ERROR, status, f"Invalid input: {fields}.", errors)
    code = _HTTP_CODES.get(
        status, ErrorCode.BAD_REQUEST if status < 500 else ErrorCode.INTERNAL_ERROR
    )
    message = data.get("message") or exc.description or exc.name
    details: dict[str, Any] | None = data.get("errors")
    wait: int | None = None
    if status == 413:
        message = "The request body is too large."
    if status == 429:  # a rate limit (store_api.ratelimit): when to come back, in both places
        from store_api.ratelimit import retry_after

        wait = retry_after()
        details = {"retry_after": wait, "limit": str(exc.description)}
        message = f"Too many requests (limit: {exc.description}); retry in {wait} s."
    response, status = envelope(code, status, str(message), details)
    if wait is not None:
        response.headers["Retry-After"] = str(wait)
    # Keep what Werkzeug says in headers, e.g. Allow on a 405.
    for name, value in exc.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def handle_data_error(exc: DataError) -> tuple[Response, int]:
    """A value the database refused (out of range, invalid text): the client's, not ours."""
    log.warning("database refused a value: %s", exc.orig)
    return envelope(
        ErrorCode.VALIDATION_ERROR,
        422,
        "A value is out of range or not valid for storage.",
        {"_request": [str(exc.orig).splitlines()[0][:200]]},
    )


def reject_bad_request_text() -> tuple[Response, int] | None:
    """NUL characters in the path, query or headers: refused before they reach SQL."""
    parts = [request.path, *request.args.keys(), *request.args.values()]
    parts += [value for _name, value in request.headers.items()]
    if any("\x00" in part for part in parts):
        return envelope(
            ErrorCode.BAD_REQUEST, 400, "NUL characters are not allowed in URLs or headers."
        )
    return None


def handle_domain_error(exc: DomainError) -> tuple[Response, int, dict[str, str]]:
    response, status = envelope(exc.code, exc.status, exc.message, exc.errors)
    return response, status, exc.headers


def handle_read_timeout(exc: Exception) -> tuple[Response, int, dict[str, str]]:
    """The client stopped sending its body (store_api.serving's read deadline)."""
    response, status = envelope(
        ErrorCode.REQUEST_TIMEOUT, 408, "The request body did not arrive in time."
    )
    return response, status, {"Connection": "close"}


def handle_unexpected(exc: Exception) -> tuple[Response, int]:
    log.exception("unhandled error", exc_info=exc)
    return envelope(ErrorCode.INTERNAL_ERROR, 500, "Internal error; it has been logged.")


def init_app(app: Flask) -> None:
    app.before_request(reject_bad_request_text)
    app.register_error_handler(DataError, handle_data_error)
    app.register_error_handler(RequestReadTimeout, handle_read_timeout)
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
