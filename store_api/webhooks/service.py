"""Webhook subscriptions, and the delivery state machine the worker drives.

Every event of the outbox becomes one delivery row per matching subscription (``fan_out``),
workers lease due deliveries (``claim``), POST them outside any transaction, then record what
happened (``record_result``): delivered, failed for good, or pending again after a backoff.

Ordering: deliveries that share a key (the product's SKU, or the order) go out one at a time in
event order. Only the head of each key's queue, the pending delivery with the lowest seq, can be
claimed; the next one becomes due when the head is delivered or has failed for good.

Nothing here commits or speaks HTTP: the caller frames ``with db.write(session):`` and the
worker (``store_api.webhooks.worker``) does the POSTs.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import random
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store_api.db import UTCDateTime
from store_api.errors import ErrorCode, Invalid, NotFound
from store_api.events.models import Event
from store_api.events.service import EventType, last_seq
from store_api.events.visibility import Reader, visible_payload
from store_api.webhooks.destinations import DestinationPolicy, DestinationRefused, check_url
from store_api.webhooks.models import (
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from store_api.webhooks.secret_box import SecretBox, is_sealed

SECRET_PREFIX = "whsec_"  # noqa: S105 (a format prefix, not a secret)
USER_AGENT = "Comptoir-Webhooks"
# Client errors that say "not now" rather than "never": retried like 5xx.
RETRIED_CLIENT_ERRORS = frozenset({408, 429})
# Statuses whose Retry-After header is followed instead of the backoff.
RETRY_AFTER_STATUSES = frozenset({429, 503})
# New events fanned out per subscription and call, so a long backlog goes in slices.
FAN_OUT_BATCH = 1000

_deliveries = cast(Table, WebhookDelivery.__table__)
_subscriptions = cast(Table, WebhookSubscription.__table__)
_attempts = cast(Table, WebhookAttempt.__table__)
_events = cast(Table, Event.__table__)
_NOW = bindparam("now", type_=UTCDateTime())

_PENDING = DeliveryStatus.PENDING.value
_DELIVERED = DeliveryStatus.DELIVERED.value
_FAILED = DeliveryStatus.FAILED.value


@dataclass(frozen=True)
class DeliveryPolicy:
    """The WEBHOOK_* settings the worker and the state machine need."""

    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 3600.0
    timeout_seconds: float = 10.0
    disable_after_seconds: float = 3 * 24 * 3600
    lease_seconds: float = 60.0
    concurrency: int = 8
    poll_seconds: float = 0.5
    destinations: DestinationPolicy = field(default_factory=DestinationPolicy)

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DeliveryPolicy:
        return cls(
            destinations=DestinationPolicy.from_config(config),
            retry_base_seconds=float(config["WEBHOOK_RETRY_BASE_SECONDS"]),
            retry_max_seconds=float(config["WEBHOOK_RETRY_MAX_SECONDS"]),
            timeout_seconds=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
            disable_after_seconds=float(config["WEBHOOK_DISABLE_AFTER_SECONDS"]),
            lease_seconds=float(config["WEBHOOK_LEASE_SECONDS"]),
            concurrency=int(config["WEBHOOK_CONCURRENCY"]),
            poll_seconds=float(config["WEBHOOK_POLL_SECONDS"]),
        )


# --- subscriptions -------------------------------------------------------------------


def new_secret() -> str:
    """Standard Webhooks secret: ``whsec_`` + base64 of 32 random bytes (the HMAC key)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def expand_types(event_types: Sequence[str]) -> list[str]:
    """The event types a subscription receives; ``stock.*`` is every stock event."""
    wanted: list[str] = []
    for name in event_types:
        if name.endswith(".*"):
            wanted += [t.value for t in EventType if t.value.startswith(name[:-1])]
        else:
            wanted.append(name)
    return list(dict.fromkeys(wanted))


def check_destination(url: str, destinations: DestinationPolicy) -> None:
    """422 naming ``url`` when it can never receive deliveries (see ``destinations``)."""
    try:
        check_url(url, destinations)
    except DestinationRefused as refused:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            f"Invalid input: url. {refused.reason[:1].upper()}{refused.reason[1:]}.",
            {"url": [f"Not allowed: {refused.reason}. {_ALLOW_HINT}"]},
        ) from None


_ALLOW_HINT = (
    "Webhooks go to public addresses; list an on-premises receiver's network in "
    "COMPTOIR_WEBHOOK_ALLOWED_NETWORKS (docs/security.md)."
)


def create_subscription(
    session: Session,
    *,
    url: str,
    event_types: Sequence[str] = (),
    description: str = "",
    include_customer_data: bool = False,
    now: dt.datetime,
    destinations: DestinationPolicy,
    box: SecretBox,
) -> tuple[WebhookSubscription, str]:
    """Subscribe an endpoint. It receives events from now on, not the outbox's history.

    Returns the subscription and its signing secret, in clear this once (it is stored sealed).
    """
    check_destination(url, destinations)
    secret = new_secret()
    subscription = WebhookSubscription(
        url=url,
        description=description,
        include_customer_data=include_customer_data,
        event_types=list(dict.fromkeys(event_types)),
        secret=box.seal(secret),
        active=True,
        created_at=now,
        cursor_seq=last_seq(session),
    )
    session.add(subscription)
    session.flush()
    return subscription, secret


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    subscription = session.get(WebhookSubscription, subscription_id, populate_existing=True)
    if subscription is None:
        raise NotFound(
            ErrorCode.NOT_FOUND,
            f"No webhook subscription {subscription_id}.",
            {"webhook_id": subscription_id},
        )
    return subscription


def update_subscription(
    session: Session,
    subscription_id: int,
    changes: Mapping[str, Any],
    *,
    now: dt.datetime,
    destinations: DestinationPolicy,
    box: SecretBox,
) -> tuple[WebhookSubscription, str | None]:
    """Change url, description, event types or active; ``rotate_secret`` makes a new secret.

    Setting ``active`` back to true on a disabled subscription is the same as :func:`enable`.
    Returns the subscription and, after a rotation, the new secret in clear (else None).
    """
    subscription = get_subscription(session, subscription_id)
    if "url" in changes:
        check_destination(changes["url"], destinations)
    # Deliveries before the subscription row: the lock order record_result() uses too.
    if changes.get("active") and not subscription.active:
        _enable(session, subscription, now)
    elif changes.get("active") is False:
        subscription.active = False
    for name in ("url", "description", "include_customer_data"):
        if name in changes:
            setattr(subscription, name, changes[name])
    if "event_types" in changes:
        subscription.event_types = list(dict.fromkeys(changes["event_types"]))
    rotated = None
    if changes.get("rotate_secret"):
        rotated = new_secret()
        subscription.secret = box.seal(rotated)
    session.flush()
    return subscription, rotated


def seal_plain_secrets(session: Session, box: SecretBox) -> int:
    """Seal secrets stored in clear before sealing existed (``flask db upgrade`` runs this)."""
    sealed = 0
    for subscription in session.scalars(select(WebhookSubscription)):
        if not is_sealed(subscription.secret):
            subscription.secret = box.seal(subscription.secret)
            sealed += 1
    session.flush()
    return sealed


def delete_subscription(session: Session, subscription_id: int) -> None:
    """Delete a subscription with its deliveries and their attempts."""
    get_subscription(session, subscription_id)
    # Deliveries first (their attempts go by ON DELETE CASCADE), then the subscription: the
    # lock order record_result() uses, so the two never wait for each other in a cycle.
    session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription_id)
    )
    session.execute(delete(WebhookSubscription).where(WebhookSubscription.id == subscription_id))


def enable(session: Session, subscription_id: int, *, now: dt.datetime) -> WebhookSubscription:
    """Re-enable a subscription: its waiting deliveries are due now, with a fresh retry run.

    Events that happened while it was disabled were kept (the cursor did not move), so they
    are delivered too, in order.
    """
    subscription = get_subscription(session, subscription_id)
    _enable(session, subscription, now)
    session.flush()
    return subscription


def _enable(session: Session, subscription: WebhookSubscription, now: dt.datetime) -> None:
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.status == _PENDING,
        )
        .values(next_attempt_at=now, retrying_since=None)
    )
    subscription.active = True
    subscription.disabled_at = None
    subscription.disabled_reason = None
    subscription.failing_since = None


def delivery_counts(session: Session, subscription_ids: Sequence[int]) -> dict[int, dict[str, int]]:
    """Deliveries per status for each subscription (every status present, 0 if none)."""
    counts = {sid: {s.value: 0 for s in DeliveryStatus} for sid in subscription_ids}
    if not subscription_ids:
        return counts
    rows = session.execute(
        select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count())
        .where(WebhookDelivery.subscription_id.in_(subscription_ids))
        .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)
    )
    for sid, status, n in rows:
        counts[sid][status] = n
    return counts


# --- the delivery log ------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedDelivery:
    delivery: WebhookDelivery
    event_id: uuid.UUID
    event_type: str
    attempts: list[WebhookAttempt] = field(default_factory=list)


@dataclass(frozen=True)
class DeliveryLog:
    items: list[LoggedDelivery]
    total: int


def list_deliveries(
    session: Session,
    subscription_id: int,
    *,
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> DeliveryLog:
    """A subscription's deliveries, newest event first, each with its attempts."""
    get_subscription(session, subscription_id)
    where = [WebhookDelivery.subscription_id == subscription_id]
    if status:
        where.append(WebhookDelivery.status == status)
    total = session.scalar(select(func.count()).select_from(WebhookDelivery).where(*where)) or 0
    rows = session.execute(
        select(WebhookDelivery, Event.id, Event.type)
        .join(Event, Event.seq == WebhookDelivery.event_seq)
        .where(*where)
        .order_by(WebhookDelivery.event_seq.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
        .execution_options(populate_existing=True)
    ).all()
    attempts: dict[int, list[WebhookAttempt]] = {row[0].id: [] for row in rows}
    if attempts:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(attempts))
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    items = [LoggedDelivery(d, eid, etype, attempts[d.id]) for d, eid, etype in rows]
    return DeliveryLog(items, total)


def get_delivery(session: Session, subscription_id: int, delivery_id: int) -> LoggedDelivery:
    row = session.execute(
        select(WebhookDelivery, Event.id, Event.type)
        .join(Event, Event.seq == WebhookDelivery.event_seq)
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
        )
        .execution_options(populate_existing=True)
    ).first()
    if row is None:
        get_subscription(session, subscription_id)
        raise NotFound(
            ErrorCode.NOT_FOUND,
            f"No delivery {delivery_id} for webhook subscription {subscription_id}.",
            {"webhook_id": subscription_id, "delivery_id": delivery_id},
        )
    attempts = list(
        session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
    )
    return LoggedDelivery(row[0], row[1], row[2], attempts)


def redeliver(
    session: Session, subscription_id: int, delivery_id: int, *, now: dt.datetime
) -> LoggedDelivery:
    """Send a delivery again as soon as possible, whatever its state (same webhook-id).

    A delivered or failed delivery becomes pending, so it goes out before any newer event of
    the same product.
    """
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.subscription_id == subscription_id
        )
        .values(status=_PENDING, next_attempt_at=now, retrying_since=None, delivered_at=None)
    )
    return get_delivery(session, subscription_id, delivery_id)


# --- fan-out ---------------------------------------------------------------------------


def _insert_ignoring_duplicates(session: Session) -> Insert:
    table = cast(Table, WebhookDelivery.__table__)
    if session.connection().dialect.name == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


def needs_fan_out(session: Session) -> bool:
    """Cheap read: has any active subscription not yet seen the newest event?"""
    behind = select(WebhookSubscription.id).where(
        WebhookSubscription.active, WebhookSubscription.cursor_seq < last_seq(session)
    )
    return session.scalar(behind.limit(1)) is not None


def fan_out(session: Session, now: dt.datetime, *, batch: int = FAN_OUT_BATCH) -> int:
    """Add a pending delivery per new matching event to each active subscription.

    One INSERT … SELECT per subscription, then its cursor moves. Several workers may call
    this at once: on PostgreSQL each subscription row is locked (SKIP LOCKED, so the others
    move on); SQLite serialises writers; UNIQUE(subscription_id, event_seq) is the backstop.
    Seqs are gapless and committed in order, so "seq <= newest" misses nothing.
    """
    newest = last_seq(session)
    subs = session.execute(
        select(
            WebhookSubscription.id, WebhookSubscription.cursor_seq, WebhookSubscription.event_types
        )
        .where(WebhookSubscription.active, WebhookSubscription.cursor_seq < newest)
        .order_by(WebhookSubscription.id)
        .with_for_update(skip_locked=True)
    ).all()
    added = 0
    for sub_id, cursor, event_types in subs:
        upto = min(newest, cursor + batch)
        source = select(
            literal(sub_id),
            Event.seq,
            Event.key,
            literal(_PENDING),
            literal(0),
            literal(now, UTCDateTime()),
            literal(now, UTCDateTime()),
        ).where(Event.seq > cursor, Event.seq <= upto)
        if event_types:  # empty: every event
            source = source.where(Event.type.in_(expand_types(event_types)))
        result = session.execute(
            _insert_ignoring_duplicates(session).from_select(
                [
                    "subscription_id",
                    "event_seq",
                    "event_key",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                source,
            )
        )
        added += result.rowcount  # type: ignore[attr-defined]
        session.execute(
            update(WebhookSubscription)
            .where(WebhookSubscription.id == sub_id)
            .values(cursor_seq=upto)
        )
    return added


# --- claiming --------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    """A leased delivery with everything needed to send it, as plain values."""

    delivery_id: int
    subscription_id: int
    url: str
    secret: str  # as stored: sealed (open it with the SecretBox)
    attempt: int
    event_id: uuid.UUID
    event_seq: int
    event_type: str
    sku: str | None
    occurred_at: dt.datetime
    payload: dict[str, Any]
    include_customer_data: bool = False


def _claim_statements() -> tuple[Update, Select[Any]]:
    """Built once: the worker runs these for every batch."""
    candidate = _deliveries.alias("candidate")
    earlier = _deliveries.alias("earlier")
    blocked = (
        select(earlier.c.id)
        .where(
            earlier.c.subscription_id == candidate.c.subscription_id,
            earlier.c.event_key == candidate.c.event_key,
            earlier.c.status == _PENDING,
            earlier.c.event_seq < candidate.c.event_seq,
        )
        .exists()
    )
    active = select(_subscriptions.c.id).where(_subscriptions.c.active)
    due = (
        select(candidate.c.id)
        .where(
            candidate.c.status == _PENDING,
            candidate.c.next_attempt_at <= _NOW,
            or_(candidate.c.lease_until.is_(None), candidate.c.lease_until <= _NOW),
            candidate.c.subscription_id.in_(active),
            ~blocked,
        )
        .order_by(candidate.c.event_seq)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True)
    )
    lease = (
        update(_deliveries)
        .where(_deliveries.c.id.in_(due))
        .values(
            lease_until=bindparam("lease_end", type_=UTCDateTime()),
            leased_by=bindparam("worker"),
        )
        .returning(_deliveries.c.id)
    )
    d, s, e = _deliveries, _subscriptions, _events
    details = (
        select(
            d.c.id,
            d.c.subscription_id,
            s.c.url,
            s.c.secret,
            d.c.attempts,
            e.c.id,
            e.c.seq,
            e.c.type,
            e.c.sku,
            e.c.occurred_at,
            e.c.payload,
            s.c.include_customer_data,
        )
        .select_from(d.join(s, s.c.id == d.c.subscription_id).join(e, e.c.seq == d.c.event_seq))
        .where(d.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(d.c.event_seq)
    )
    return lease, details


_LEASE, _CLAIMED = _claim_statements()


def claim(
    session: Session, now: dt.datetime, worker_id: str, limit: int, lease_seconds: float
) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries to ``worker_id``, oldest events first.

    Due: pending, next_attempt_at reached, lease free or expired, subscription active, and
    the head of its key's queue (no earlier pending delivery for the same subscription and
    key). One ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``: two
    workers never lease the same row (SQLite: writers are serialised instead).
    """
    if limit <= 0:
        return []
    conn = session.connection()
    lease_end = now + dt.timedelta(seconds=lease_seconds)
    leased = list(
        conn.execute(
            _LEASE, {"now": now, "limit": limit, "lease_end": lease_end, "worker": worker_id}
        ).scalars()
    )
    if not leased:
        return []
    return [
        Claimed(
            delivery_id=r[0],
            subscription_id=r[1],
            url=r[2],
            secret=r[3],
            attempt=r[4] + 1,
            event_id=r[5],
            event_seq=r[6],
            event_type=r[7],
            sku=r[8],
            occurred_at=r[9],
            payload=r[10],
            include_customer_data=r[11],
        )
        for r in conn.execute(_CLAIMED, {"ids": leased})
    ]


# --- the message -----------------------------------------------------------------------


def message_body(claimed: Claimed) -> bytes:
    """Standard Webhooks payload: ``type``, ``timestamp``, ``data``; plus ``seq`` and ``sku``.

    ``data`` is the event's payload without customer fields unless the subscription includes
    them (``events.visibility``).
    """
    reader = Reader.webhook(claimed.include_customer_data)
    message = {
        "type": claimed.event_type,
        "timestamp": claimed.occurred_at.isoformat(),
        "data": visible_payload(claimed.event_type, claimed.payload, reader),
        "seq": claimed.event_seq,
        "sku": claimed.sku,
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes | str) -> str:
    """``v1,<base64 HMAC-SHA256>`` of ``{id}.{timestamp}.{body}`` with the decoded secret."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    signed = f"{msg_id}.{timestamp}.".encode() + raw
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def message_headers(claimed: Claimed, timestamp: int, body: bytes, secret: str) -> dict[str, str]:
    """The Standard Webhooks headers; ``secret`` is the subscription's, opened (SecretBox)."""
    msg_id = str(claimed.event_id)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


# --- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one POST gave: an HTTP status, or no response at all (``error``)."""

    status_code: int | None
    latency_ms: int
    # A short reason from a fixed list (see worker.HttpSender), never the receiver's words.
    error: str | None = None
    retry_after_seconds: float | None = None
    # No retry can succeed: the destination is not allowed.
    permanent: bool = False

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def retryable(self) -> bool:
        if self.permanent:
            return False
        code = self.status_code
        return code is None or not (400 <= code < 500) or code in RETRIED_CLIENT_ERRORS

    def describe(self) -> str:
        return f"status {self.status_code}" if self.status_code is not None else str(self.error)


@dataclass(frozen=True)
class Recorded:
    status: str
    next_attempt_at: dt.datetime | None = None
    # Set when this result disabled the subscription.
    disabled_reason: str | None = None


def retry_delay(attempt: int, policy: DeliveryPolicy, rng: random.Random | None = None) -> float:
    """Seconds before retry ``attempt + 1``: base * 2^(attempt-1), capped, ±20 % jitter."""
    backoff = min(policy.retry_base_seconds * 2.0 ** min(attempt - 1, 60), policy.retry_max_seconds)
    return backoff * (rng or random).uniform(0.8, 1.2)


def _short(text: str | None, limit: int = 500) -> str | None:
    return None if text is None else text[:limit]


_d = _deliveries
# The hot path, a 2xx: one UPDATE, guarded by the lease, says whose subscription it was.
_MARK_DELIVERED = (
    update(_d)
    .where(
        _d.c.id == bindparam("delivery_id"),
        _d.c.status == _PENDING,
        _d.c.leased_by == bindparam("worker"),
    )
    .values(
        status=_DELIVERED,
        attempts=_d.c.attempts + 1,
        delivered_at=_NOW,
        lease_until=None,
        leased_by=None,
        last_status_code=bindparam("status_code", type_=Integer()),
        last_error=None,
        retrying_since=None,
    )
    .returning(_d.c.subscription_id)
)
_STILL_FAILING = (
    update(_subscriptions)
    .where(
        _subscriptions.c.id == bindparam("subscription_id"),
        _subscriptions.c.failing_since.is_not(None),
    )
    .values(failing_since=None)
)
# The attempt is logged whoever owns the delivery now, as long as it still exists.
_LOG_ATTEMPT = insert(_attempts).from_select(
    ["delivery_id", "attempted_at", "status_code", "latency_ms", "error"],
    select(
        _d.c.id,
        bindparam("attempted_at", type_=UTCDateTime()),
        bindparam("status_code", type_=Integer()),
        bindparam("latency_ms", type_=Integer()),
        bindparam("error", type_=String(500)),
    ).where(_d.c.id == bindparam("delivery_id")),
)
_LOCK_DELIVERY = (
    select(_d.c.status, _d.c.leased_by, _d.c.attempts, _d.c.retrying_since, _d.c.subscription_id)
    .where(_d.c.id == bindparam("delivery_id"))
    .with_for_update()
)


def record_result(
    session: Session,
    *,
    delivery_id: int,
    worker_id: str,
    attempted_at: dt.datetime,
    outcome: Outcome,
    now: dt.datetime,
    policy: DeliveryPolicy,
    rng: random.Random | None = None,
) -> Recorded | None:
    """Log the attempt and move the delivery on: delivered, failed, or pending again.

    None when the delivery is gone (subscription deleted) or no longer this worker's (its
    lease expired and another worker took it over): then only the attempt is logged.
    """
    conn = session.connection()
    attempt = {
        "delivery_id": delivery_id,
        "attempted_at": attempted_at,
        "status_code": outcome.status_code,
        "latency_ms": outcome.latency_ms,
        "error": _short(outcome.error),
    }
    if outcome.succeeded:
        mine = conn.execute(
            _MARK_DELIVERED,
            {
                "delivery_id": delivery_id,
                "worker": worker_id,
                "now": now,
                "status_code": outcome.status_code,
            },
        ).first()
        conn.execute(_LOG_ATTEMPT, attempt)
        if mine is None:
            return None
        conn.execute(_STILL_FAILING, {"subscription_id": mine.subscription_id})
        return Recorded(_DELIVERED)

    row = conn.execute(_LOCK_DELIVERY, {"delivery_id": delivery_id}).first()
    conn.execute(_LOG_ATTEMPT, attempt)
    if row is None or row.status != _PENDING or row.leased_by != worker_id:
        return None
    attempts = row.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "lease_until": None,
        "leased_by": None,
        "last_status_code": outcome.status_code,
        "last_error": _short(outcome.error),
    }
    disabled = _note_failure(session, row.subscription_id, outcome, now=now, policy=policy)
    retrying_since = row.retrying_since or now
    # A delivery that fails alone for as long as a subscription may fail is given up; not
    # when its subscription is disabled meanwhile: re-enabling it gives it a fresh run.
    gave_up = not disabled and (now - retrying_since).total_seconds() > policy.disable_after_seconds
    if not outcome.retryable or gave_up:
        if gave_up:
            values["last_error"] = _short(
                f"Gave up after retrying since {retrying_since.isoformat()}; "
                f"last {outcome.describe()}."
            )
        values.update(status=_FAILED)
        result = Recorded(_FAILED, disabled_reason=disabled)
    else:
        delay = retry_delay(attempts, policy, rng)
        if outcome.retry_after_seconds is not None and outcome.status_code in (
            RETRY_AFTER_STATUSES
        ):
            delay = min(max(outcome.retry_after_seconds, 0.0), policy.retry_max_seconds)
        next_attempt_at = now + dt.timedelta(seconds=delay)
        values.update(next_attempt_at=next_attempt_at, retrying_since=retrying_since)
        result = Recorded(_PENDING, next_attempt_at, disabled)
    conn.execute(update(_d).where(_d.c.id == delivery_id).values(**values))
    return result


def _note_failure(
    session: Session,
    subscription_id: int,
    outcome: Outcome,
    *,
    now: dt.datetime,
    policy: DeliveryPolicy,
) -> str | None:
    """Start the failing period, or disable the subscription when it has lasted too long."""
    subscription = WebhookSubscription.id == subscription_id
    session.execute(
        update(WebhookSubscription)
        .where(subscription, WebhookSubscription.failing_since.is_(None))
        .values(failing_since=now)
    )
    since = session.scalar(
        select(WebhookSubscription.failing_since).where(subscription, WebhookSubscription.active)
    )
    if since is None or (now - since).total_seconds() <= policy.disable_after_seconds:
        return None
    reason = (
        f"Disabled automatically: failing since {since.isoformat()} without a success; "
        f"last {outcome.describe()}."
    )
    session.execute(
        update(WebhookSubscription)
        .where(subscription)
        .values(active=False, disabled_at=now, disabled_reason=_short(reason))
    )
    return reason
