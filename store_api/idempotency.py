"""``Idempotency-Key`` for any write endpoint: a replayed request is applied once.

A tablet queues taps while the Wi-Fi is down and replays them when it returns; a replay that
already reached the server must not hold a second unit. Put :func:`idempotent` on a view,
under ``@require`` (it scopes keys to the caller's API key)::

    @require(*RESERVERS)
    @idempotent
    @blp.arguments(ReservationCreateSchema)
    @blp.response(201, ReservationSchema)
    def post(self, data): ...

Semantics (the same as ``POST /api/v1/orders``, and Stripe's):

* No header: the view runs as usual.
* A new key: the view runs; a 2xx or 409 answer is kept with the key, **in the view's own
  transaction**, so the effect and the kept answer commit together or not at all.
* The same key again, same method, path and body: the kept answer comes back as it was
  (status and body) with ``Idempotent-Replayed: true``; the view does not run. A hold that was
  refused for stock (409) stays refused.
* The same key with another method, path or body: 422 ``idempotency_key_reused``.
* Other answers (401, 403, 404, 422, 5xx) are not kept: the request may be sent again.

Concurrent duplicates: the key row is inserted first (``ON CONFLICT DO NOTHING``), before the
view runs. On SQLite the write transaction is exclusive, so the second request waits and then
finds the kept answer. On PostgreSQL its insert waits on the unique index until the first
commits, then inserts nothing; the second request then reads and replays the first one's
answer. Kept answers are purged after
``IDEMPOTENCY_RETENTION_SECONDS`` (24 h) by the expiry sweeper.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Response, g, make_response, request
from flask_smorest import Blueprint as SmorestBlueprint
from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    update,
)
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from store_api import context, db
from store_api.db import Base, utcnow
from store_api.errors import DomainError, ErrorCode, Invalid, envelope_body

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# 1-255 visible ASCII characters (a UUID, "tablet-3:hold:42", ...).
_VALID_KEY = re.compile(r"[\x21-\x7e]{1,255}")
# A placeholder status while the request runs; never committed (see idempotent()).
_RUNNING = 0
# The claim is never loaded as an object: plain UPDATE/DELETE, nothing to synchronise.
_NO_SYNC = {"synchronize_session": False}

F = TypeVar("F", bound=Callable[..., Any])


class IdempotentRequest(Base):
    """A request sent with an Idempotency-Key and the answer it got, kept for replays."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (
        # Keys are scoped to the caller's API key: two tablets may pick the same key.
        UniqueConstraint(
            "client_key_id", "idempotency_key", name="uq_idempotent_requests_client_key"
        ),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True
    )
    client_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    idempotency_key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(Text)
    # SHA-256 of the canonical JSON body (and query string): another body is refused.
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    # The answer's body exactly as first sent (JSON text).
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)


# --- pure parts (no request) ----------------------------------------------------------------


def request_hash(body: Any, query_string: bytes = b"") -> str:
    """Fingerprint of a request: insensitive to key order and whitespace of a JSON body."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode())
    if query_string:
        digest.update(b"?" + query_string)
    return digest.hexdigest()


def valid_key(raw: str) -> str:
    if not _VALID_KEY.fullmatch(raw):
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            f"Invalid input: {HEADER}.",
            {HEADER: ["1 to 255 visible ASCII characters (no spaces)."]},
        )
    return raw


def kept(status: int) -> bool:
    """Answers worth replaying: successes, and conflicts (a refused hold stays refused)."""
    return 200 <= status < 300 or status == 409


def find(session: Session, client_key_id: int, key: str) -> IdempotentRequest | None:
    return session.scalars(
        sql_select(IdempotentRequest).where(
            IdempotentRequest.client_key_id == client_key_id,
            IdempotentRequest.idempotency_key == key,
        )
    ).one_or_none()


def check_same_request(stored: IdempotentRequest, method: str, path: str, body_hash: str) -> None:
    """The same key must come back with the same request; anything else is a client bug."""
    if (stored.method, stored.path, stored.request_hash) != (method, path, body_hash):
        raise Invalid(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            f"This {HEADER} was already used for another request "
            f"({stored.method} {stored.path} with a different body).",
            {HEADER: ["Already used with a different request; use a new key."]},
        )


def purge(session: Session, *, older_than: dt.datetime) -> int:
    """Forget kept answers created before ``older_than`` (their keys may then be reused)."""
    result = session.execute(
        delete(IdempotentRequest).where(IdempotentRequest.created_at < older_than)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- the view decorator -----------------------------------------------------------------------


def _fingerprint() -> str:
    raw = request.get_data(cache=True)
    try:
        body: Any = json.loads(raw) if raw else {}
    except ValueError:
        body = raw.hex()  # not JSON: the view refuses it; hash the bytes as they are
    return request_hash(body, request.query_string)


def _replay(stored: IdempotentRequest) -> Response:
    return Response(
        stored.response_body,
        status=stored.status,
        mimetype="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


def idempotent(view: F) -> F:
    """Honour an optional ``Idempotency-Key`` header on a write view (see the module doc)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        raw = request.headers.get(HEADER)
        if raw is None:
            return view(*args, **kwargs)
        key = valid_key(raw)
        caller = getattr(g, "caller", None)
        if caller is None:
            raise RuntimeError("@idempotent must sit under @require (it scopes keys per caller)")
        method, path, body_hash = request.method, request.path, _fingerprint()
        session = db.get_session()
        with db.write(session):
            claim_id = _claim(session, caller.key_id, key, method, path, body_hash)
            if claim_id is None:
                stored = find(session, caller.key_id, key)
                assert stored is not None and stored.status != _RUNNING  # committed answers only
                check_same_request(stored, method, path, body_hash)
                return _replay(stored)
            return _run(session, view, args, kwargs, claim_id)

    doc = SmorestBlueprint.doc(
        parameters=[
            {
                "in": "header",
                "name": HEADER,
                "required": False,
                "schema": {"type": "string", "pattern": "^[!-~]{1,255}$"},
                "description": "Optional. A retry with the same key gets the first answer "
                "again (header Idempotent-Replayed: true) and changes nothing; the same key "
                "with another body is a 422 idempotency_key_reused. Kept 24 h.",
            }
        ]
    )
    return doc(wrapper)


def _claim(
    session: Session, client_key_id: int, key: str, method: str, path: str, body_hash: str
) -> int | None:
    """Insert the key's row, or return None if the key is already there (then replay it).

    One statement: ``INSERT ... ON CONFLICT DO NOTHING RETURNING id``. On PostgreSQL, when a
    concurrent request holds the same key uncommitted, the insert waits for it to finish; if it
    committed, nothing is inserted and its answer is read next (read committed).
    """
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        dialect_insert(IdempotentRequest)
        .values(
            client_key_id=client_key_id,
            idempotency_key=key,
            method=method,
            path=path,
            request_hash=body_hash,
            status=_RUNNING,
            response_body="",
            created_at=context.now(),
        )
        .on_conflict_do_nothing(index_elements=["client_key_id", "idempotency_key"])
        .returning(IdempotentRequest.id)
    )
    claim_id: int | None = session.execute(statement).scalar_one_or_none()
    return claim_id


def _run(
    session: Session,
    view: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    claim_id: int,
) -> Response:
    """Run the view (its write is a savepoint inside ours) and keep its answer with the key."""
    try:
        response = make_response(view(*args, **kwargs))
    except DomainError as error:
        if not kept(error.status):
            raise  # not kept: the whole transaction, claim included, rolls back
        body = envelope_body(error.code, error.status, error.message, error.errors)
        response = make_response(body, error.status, error.headers)
    mine = IdempotentRequest.id == claim_id
    if not kept(response.status_code):
        session.execute(delete(IdempotentRequest).where(mine), execution_options=_NO_SYNC)
        return response
    session.execute(
        update(IdempotentRequest)
        .where(mine)
        .values(status=response.status_code, response_body=response.get_data(as_text=True)),
        execution_options=_NO_SYNC,
    )
    return response
