"""The delivery state machine: claim due messages, decide what may go, record the results.

Per message, at send time (``prepare``, one write transaction per batch):

1. the kind is still switched on, the customer still exists and has the consent the kind
   needs, and has an address (e-mail first, else a mobile when SMS is configured);
2. the subject is still relevant (the hold is active, the product is available...);
3. not in quiet hours, and under the customer's daily cap: otherwise the message waits;
4. it renders; a template that fails keeps the message pending, retried with a backoff.

Then the worker sends outside any transaction and ``record`` marks each result. A worker
killed between sending and recording leaves its lease to run out; the message is sent again
with the same Message-ID: at least once, and the receiver's dedupe key makes it once.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast
from zoneinfo import ZoneInfo

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy import Integer, Table, bindparam, func, or_, select, update
from sqlalchemy.orm import Session

from store_api import i18n
from store_api.catalog.models import Product
from store_api.customers import service as customers
from store_api.customers.models import AlertStatus, Customer, StockAlert
from store_api.db import UTCDateTime
from store_api.orders.models import Order
from store_api.reminders import french, planner, service, templates
from store_api.reminders.kinds import RULES, Channel, Kind
from store_api.reminders.models import MessageStatus, ReminderMessage
from store_api.reminders.transport import Outgoing
from store_api.stock.models import Reservation, ReservationStatus, StockLevel

UNSUBSCRIBE_SALT = "comptoir-unsubscribe"
_messages = cast(Table, ReminderMessage.__table__)
_NOW = bindparam("now", type_=UTCDateTime())
# A moved hold: the day-before message waits for its new time when that is this far away.
_RESCHEDULE_SLACK = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class QuietHours:
    """No message between ``start`` and ``end`` local time (the window may cross midnight)."""

    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> QuietHours | None:
        """``"20:00-09:00"``; ``"off"`` or empty: none."""
        text = text.strip().lower()
        if text in ("", "off", "none"):
            return None
        try:
            start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError as exc:
            raise ValueError(
                f"Quiet hours must look like 20:00-09:00 (or off), not {text!r}."
            ) from exc
        return cls(start, end)

    def contains(self, local: dt.time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_end(self, local: dt.datetime) -> dt.datetime:
        end = local.replace(hour=self.end.hour, minute=self.end.minute, second=0, microsecond=0)
        return end if end > local else end + dt.timedelta(days=1)


@dataclass(frozen=True)
class DeliveryPolicy:
    """The REMINDER_* and mail settings the state machine needs (plain values)."""

    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    quiet_hours: QuietHours | None = field(
        default_factory=lambda: QuietHours(dt.time(20), dt.time(9))
    )
    daily_cap: int = 2
    lease_seconds: float = 120.0
    retry_base_seconds: float = 60.0
    retry_max_seconds: float = 3600.0
    give_up_after: dt.timedelta = dt.timedelta(hours=48)
    email_enabled: bool = True
    sms_enabled: bool = False
    shop_name: str = "Comptoir"
    shop_url: str = "https://comptoir.example"
    public_url: str = "http://127.0.0.1:8000"
    signing_key: str = ""
    planning: planner.Planning = field(default_factory=planner.Planning)

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, signing_key: str, recommender_dir: Any = None
    ) -> DeliveryPolicy:
        from store_api.stock.service import StockPolicy

        sender = str(config["MAIL_FROM"])
        domain = sender.rsplit("@", 1)[-1].strip(" >") or "comptoir.example"
        return cls(
            timezone=ZoneInfo(config["TIMEZONE"]),
            quiet_hours=QuietHours.parse(str(config["REMINDER_QUIET_HOURS"])),
            daily_cap=int(config["REMINDER_DAILY_CAP"]),
            lease_seconds=float(config["REMINDER_LEASE_SECONDS"]),
            retry_base_seconds=float(config["REMINDER_RETRY_BASE_SECONDS"]),
            retry_max_seconds=float(config["REMINDER_RETRY_MAX_SECONDS"]),
            give_up_after=dt.timedelta(hours=float(config["REMINDER_GIVE_UP_HOURS"])),
            email_enabled=bool(config["SMTP_URL"]),
            sms_enabled=bool(config["SMS_URL"]),
            shop_name=str(config["SHOP_NAME"]),
            shop_url=str(config["SHOP_URL"]),
            public_url=(str(config["PUBLIC_URL"]) or _bind_url()).rstrip("/"),
            signing_key=signing_key,
            planning=planner.Planning(
                mail_domain=domain,
                accessory_category=str(config["RECOMMENDER_ACCESSORY_CATEGORY"]),
                recommender_dir=recommender_dir,
                policy=StockPolicy.from_config(config),
            ),
        )


# --- unsubscribe links -------------------------------------------------------------------


def _bind_url() -> str:
    """No PUBLIC_URL: the address gunicorn binds (fine on the shop's network, not for customers)."""
    return "http://" + os.environ.get("COMPTOIR_BIND", "127.0.0.1:8000")


def unsubscribe_token(signing_key: str, customer_id: uuid.UUID) -> str:
    return URLSafeSerializer(signing_key, salt=UNSUBSCRIBE_SALT).dumps(str(customer_id))


def read_unsubscribe_token(signing_key: str, token: str) -> uuid.UUID | None:
    """The customer a link was made for; None for a token that is not ours."""
    try:
        value = URLSafeSerializer(signing_key, salt=UNSUBSCRIBE_SALT).loads(token)
        return uuid.UUID(str(value))
    except (BadData, ValueError, TypeError):
        return None


# --- claiming --------------------------------------------------------------------------------


def _lease_statement() -> Any:
    due = (
        select(_messages.c.id)
        .where(
            _messages.c.status == MessageStatus.PENDING.value,
            _messages.c.next_attempt_at <= _NOW,
            or_(_messages.c.lease_until.is_(None), _messages.c.lease_until <= _NOW),
        )
        .order_by(_messages.c.next_attempt_at, _messages.c.id)
        .limit(bindparam("limit", type_=Integer()))
        .with_for_update(skip_locked=True)
    )
    return (
        update(_messages)
        .where(_messages.c.id.in_(due))
        .values(
            lease_until=bindparam("lease_end", type_=UTCDateTime()),
            leased_by=bindparam("worker"),
        )
        .returning(_messages.c.id)
    )


_LEASE = _lease_statement()


def claim(
    session: Session, now: dt.datetime, worker_id: str, limit: int, lease_seconds: float
) -> list[int]:
    """Lease up to ``limit`` due messages to this worker (two workers never share one)."""
    if limit <= 0:
        return []
    rows = session.connection().execute(
        _LEASE,
        {
            "now": now,
            "limit": limit,
            "lease_end": now + dt.timedelta(seconds=lease_seconds),
            "worker": worker_id,
        },
    )
    return sorted(rows.scalars())


# --- deciding ----------------------------------------------------------------------------------


def retry_delay(attempt: int, policy: DeliveryPolicy) -> float:
    backoff = policy.retry_base_seconds * 2.0 ** min(max(attempt - 1, 0), 30)
    return min(backoff, policy.retry_max_seconds) * random.uniform(0.8, 1.2)


@dataclass
class _Batch:
    """What one prepare call read, so each message is decided without another query."""

    customers: dict[uuid.UUID, Customer]
    consents: dict[uuid.UUID, dict[str, Any]]
    products: dict[str, Product]
    # Prices as customers read them (Babel formatting is slow: once per product and batch).
    prices: dict[str, str]
    available: dict[str, int]
    holds: dict[uuid.UUID, Reservation]
    alerts: dict[int, StockAlert]
    counted: dict[uuid.UUID, int]
    settings: dict[Kind, service.Setting]
    templates: dict[tuple[Kind, Channel], service.TemplateSource]


def _load(session: Session, found: Sequence[ReminderMessage], today: dt.date) -> _Batch:
    customer_ids = sorted({m.customer_id for m in found if m.customer_id is not None})
    # Lock the customers in key order: two workers cannot both pass one customer's cap.
    people = {
        c.id: c
        for c in session.scalars(
            select(Customer)
            .where(Customer.id.in_(customer_ids))
            .order_by(Customer.id)
            .with_for_update()
        )
    }
    skus = {m.sku for m in found if m.sku} | {
        str(m.context.get("bought_sku")) for m in found if m.context.get("bought_sku")
    }
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    available = dict(
        session.execute(
            select(Product.sku, func.sum(StockLevel.on_hand - StockLevel.reserved))
            .join(StockLevel, StockLevel.product_id == Product.id)
            .where(Product.sku.in_(skus))
            .group_by(Product.sku)
        ).all()
    )
    hold_ids = [m.reservation_id for m in found if m.reservation_id]
    holds = {
        r.id: r for r in session.scalars(select(Reservation).where(Reservation.id.in_(hold_ids)))
    }
    alert_ids = [m.alert_id for m in found if m.alert_id]
    alerts = {
        a.id: a for a in session.scalars(select(StockAlert).where(StockAlert.id.in_(alert_ids)))
    }
    mine = [m.id for m in found]
    counted: dict[Any, int] = dict(
        session.execute(
            select(ReminderMessage.customer_id, func.count())
            .where(
                ReminderMessage.customer_id.in_(customer_ids),
                ReminderMessage.cap_day == today,
                ReminderMessage.id.not_in(mine),
                ReminderMessage.status.in_([MessageStatus.SENT, MessageStatus.PENDING]),
            )
            .group_by(ReminderMessage.customer_id)
        ).all()
    )
    return _Batch(
        customers=people,
        consents=customers.consents_in_force(session, customer_ids),
        products=products,
        prices={sku: i18n.format_money(p.price, "fr") for sku, p in products.items()},
        available={sku: int(n or 0) for sku, n in available.items()},
        holds=holds,
        alerts=alerts,
        counted=defaultdict(int, counted),
        settings=service.settings(session),
        templates={(t.kind, t.channel): t for t in service.all_templates(session)},
    )


def _came_back(session: Session, message: ReminderMessage, since: dt.datetime) -> bool:
    """The customer held or ordered the product again after the forgotten checkout."""
    held = session.scalar(
        select(Reservation.id)
        .where(
            Reservation.customer_id == message.customer_id,
            Reservation.sku == message.sku,
            Reservation.created_at > since,
        )
        .limit(1)
    )
    ordered = session.scalar(
        select(Order.id)
        .where(Order.customer_id == message.customer_id, Order.created_at > since)
        .limit(1)
    )
    return held is not None or ordered is not None


class _Decision(Exception):
    """How a message leaves ``prepare`` without being sent."""

    def __init__(self, status: MessageStatus, outcome: str, when: dt.datetime | None = None):
        super().__init__(outcome)
        self.status, self.outcome, self.when = status, outcome, when


def _relevance(
    session: Session, message: ReminderMessage, batch: _Batch, now: dt.datetime
) -> dict[str, Any]:
    """The kind's own conditions; returns the template values they looked up."""
    kind = Kind(message.kind)
    product = batch.products.get(message.sku or "")
    if product is None:
        raise _Decision(MessageStatus.CANCELLED, "product_gone")
    values: dict[str, Any] = {
        "product_name": product.name,
        "sku": product.sku,
        "price": batch.prices[product.sku],
    }
    in_stock = product.active and batch.available.get(product.sku, 0) > 0
    if kind == Kind.HELD_ITEM:
        hold = batch.holds.get(message.reservation_id) if message.reservation_id else None
        if hold is None or hold.status != ReservationStatus.ACTIVE or hold.expires_at <= now:
            raise _Decision(MessageStatus.CANCELLED, "hold_closed")
        moment = message.context.get("moment", "made")
        if moment == "eve":
            wanted = planner.eve_due(hold.expires_at, batch.settings[kind].delay_minutes)
            if wanted > now + _RESCHEDULE_SLACK:  # the hold was extended meanwhile
                raise _Decision(MessageStatus.PENDING, "hold_extended", wanted)
        values.update(
            quantity=hold.quantity,
            moment=moment,
            expires_at=french.moment(hold.expires_at, _tz(session)),
            expires_on=french.day(hold.expires_at.astimezone(_tz(session)).date(), year=False),
        )
    elif kind == Kind.BACK_IN_STOCK:
        alert = batch.alerts.get(message.alert_id) if message.alert_id else None
        if alert is None or alert.status != AlertStatus.WAITING:
            raise _Decision(MessageStatus.CANCELLED, "alert_closed")
        if not in_stock:  # gone again before we could say so: wait for the next return
            raise _Decision(MessageStatus.PARKED, "out_of_stock")
    elif kind == Kind.FORGOTTEN_CHECKOUT:
        if not in_stock:
            raise _Decision(MessageStatus.CANCELLED, "out_of_stock")
        hold = batch.holds.get(message.reservation_id) if message.reservation_id else None
        if hold is not None and _came_back(session, message, hold.created_at):
            raise _Decision(MessageStatus.CANCELLED, "came_back")
    elif kind == Kind.CONSUMABLE:
        if not in_stock:
            raise _Decision(MessageStatus.CANCELLED, "out_of_stock")
        bought = batch.products.get(str(message.context.get("bought_sku")))
        bought_at = dt.datetime.fromisoformat(str(message.context.get("bought_at")))
        values.update(
            bought_product_name=bought.name if bought else product.name,
            bought_on=french.day(bought_at.astimezone(_tz(session)).date(), weekday=False),
        )
    return values


def _tz(session: Session) -> ZoneInfo:
    tz: ZoneInfo = session.info["comptoir_reminder_tz"]
    return tz


def _next_day_start(local: dt.datetime, policy: DeliveryPolicy) -> dt.datetime:
    start = policy.quiet_hours.end if policy.quiet_hours else dt.time(0)
    tomorrow = local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, start, tzinfo=local.tzinfo)


def _decide(
    session: Session,
    message: ReminderMessage,
    batch: _Batch,
    now: dt.datetime,
    policy: DeliveryPolicy,
) -> Outgoing:
    kind = Kind(message.kind)
    customer = batch.customers.get(message.customer_id) if message.customer_id else None
    if customer is None:
        raise _Decision(MessageStatus.CANCELLED, "customer_erased")
    if not batch.settings[kind].enabled:
        raise _Decision(MessageStatus.CANCELLED, "kind_disabled")
    consent = batch.consents.get(customer.id, {}).get(RULES[kind].purpose.value)
    if consent is None or not consent.granted:
        raise _Decision(MessageStatus.CANCELLED, "no_consent")
    if customer.email and policy.email_enabled:
        channel, recipient = Channel.EMAIL, customer.email
    elif customer.phone and policy.sms_enabled:
        channel, recipient = Channel.SMS, customer.phone
    elif customer.email or customer.phone:
        raise _Decision(MessageStatus.PENDING, "no_transport_configured")
    else:
        raise _Decision(MessageStatus.CANCELLED, "no_address")
    values = _relevance(session, message, batch, now)
    local = now.astimezone(policy.timezone)
    if policy.quiet_hours and policy.quiet_hours.contains(local.time()):
        raise _Decision(MessageStatus.PENDING, "quiet_hours", policy.quiet_hours.next_end(local))
    if batch.counted[customer.id] >= policy.daily_cap:
        raise _Decision(MessageStatus.PENDING, "daily_cap", _next_day_start(local, policy))
    unsubscribe = None
    if RULES[kind].purpose.value == "marketing":
        token = unsubscribe_token(policy.signing_key, customer.id)
        unsubscribe = f"{policy.public_url}/unsubscribe/{token}"
        values["unsubscribe_url"] = unsubscribe
    values.update(customer_name=customer.name, shop_name=policy.shop_name, shop_url=policy.shop_url)
    source = batch.templates[(kind, channel)]
    rendered = templates.render(channel, source.subject, source.body, values)
    batch.counted[customer.id] += 1
    return Outgoing(
        pk=message.id,
        channel=channel.value,
        recipient=recipient,
        recipient_name=customer.name,
        message_id=message.message_id,
        subject=rendered.subject,
        body=rendered.body,
        unsubscribe_url=unsubscribe,
    )


def prepare(
    session: Session, ids: Sequence[int], now: dt.datetime, worker_id: str, policy: DeliveryPolicy
) -> list[Outgoing]:
    """Decide each leased message: ready to send (returned), or waiting, parked, cancelled."""
    found = list(
        session.scalars(
            select(ReminderMessage)
            .where(ReminderMessage.id.in_(ids), ReminderMessage.leased_by == worker_id)
            .order_by(ReminderMessage.id)
        )
    )
    if not found:
        return []
    session.info["comptoir_reminder_tz"] = policy.timezone
    today = now.astimezone(policy.timezone).date()
    batch = _load(session, found, today)
    changes: dict[int, dict[str, Any]] = {}
    ready = []
    for message in found:
        try:
            out = _decide(session, message, batch, now, policy)
        except _Decision as decision:
            changes[message.id] = _decided(message, decision, now, policy)
            continue
        except templates.TemplateProblem as problem:
            changes[message.id] = _retry_later(
                message, f"Template {problem.part}: {problem.message}", now, policy
            )
            continue
        changes[message.id] = {"channel": out.channel, "cap_day": today}
        ready.append(out)
    # The ORM objects were only read; the decisions are written as grouped UPDATEs below.
    for message in found:
        session.expunge(message)
    _write(session, changes, now)
    return ready


def _write(session: Session, changes: Mapping[int, Mapping[str, Any]], now: dt.datetime) -> None:
    """One UPDATE per distinct set of values (a batch has few: sent now, quiet hours...)."""
    groups: dict[tuple[tuple[str, Any], ...], list[int]] = defaultdict(list)
    for pk, values in changes.items():
        groups[tuple(sorted(values.items()))].append(pk)
    for items, pks in groups.items():
        session.execute(
            update(ReminderMessage)
            .where(ReminderMessage.id.in_(pks))
            .values({**dict(items), "updated_at": now})
            .execution_options(synchronize_session=False)
        )


def _retry_later(
    message: ReminderMessage, error: str, now: dt.datetime, policy: DeliveryPolicy
) -> dict[str, Any]:
    attempts = message.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_error": error[:500],
        "lease_until": None,
        "leased_by": None,
    }
    if now - message.due_at > policy.give_up_after:
        values["status"] = MessageStatus.FAILED.value
        return values
    values["next_attempt_at"] = now + dt.timedelta(seconds=retry_delay(attempts, policy))
    return values


def _decided(
    message: ReminderMessage, decision: _Decision, now: dt.datetime, policy: DeliveryPolicy
) -> dict[str, Any]:
    values: dict[str, Any] = {"lease_until": None, "leased_by": None, "outcome": decision.outcome}
    if decision.status != MessageStatus.PENDING:
        values["status"] = decision.status.value
    elif decision.when is not None:
        values["next_attempt_at"] = decision.when.astimezone(dt.UTC)
    else:  # nothing can send it yet: retry with a backoff
        error = {
            "no_transport_configured": "Neither COMPTOIR_SMTP_URL nor COMPTOIR_SMS_URL "
            "can reach this customer."
        }.get(decision.outcome, decision.outcome)
        values.update(_retry_later(message, error, now, policy))
    return values


# --- recording ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    pk: int
    error: str | None = None
    permanent: bool = False

    @property
    def sent(self) -> bool:
        return self.error is None


def record(
    session: Session,
    results: Sequence[Result],
    now: dt.datetime,
    worker_id: str,
    policy: DeliveryPolicy,
) -> None:
    """Mark what was sent, and put what failed back in the queue (or fail it for good)."""
    sent = [r.pk for r in results if r.sent]
    if sent:
        session.execute(
            update(ReminderMessage)
            .where(
                ReminderMessage.id.in_(sent),
                ReminderMessage.status == MessageStatus.PENDING.value,
            )
            .values(
                status=MessageStatus.SENT.value,
                sent_at=now,
                attempts=ReminderMessage.attempts + 1,
                lease_until=None,
                leased_by=None,
                last_error=None,
                outcome=None,
                updated_at=now,
            )
        )
        alert_ids = select(ReminderMessage.alert_id).where(
            ReminderMessage.id.in_(sent), ReminderMessage.alert_id.is_not(None)
        )
        session.execute(
            update(StockAlert)
            .where(StockAlert.id.in_(alert_ids), StockAlert.status == AlertStatus.WAITING.value)
            .values(status=AlertStatus.NOTIFIED.value, open_sku=None, closed_at=now)
        )
    for result in results:
        if result.sent:
            continue
        message = session.get(ReminderMessage, result.pk, with_for_update=True)
        if (
            message is None
            or message.status != MessageStatus.PENDING
            or (message.leased_by != worker_id)
        ):
            continue  # another worker owns it now
        message.attempts += 1
        message.last_error = result.error[:500] if result.error else None
        message.lease_until = message.leased_by = None
        message.cap_day = None  # not sent: it does not count against the daily cap
        message.updated_at = now
        if result.permanent or now - message.due_at > policy.give_up_after:
            message.status = MessageStatus.FAILED.value
            message.outcome = "refused" if result.permanent else "gave_up"
        else:
            message.next_attempt_at = now + dt.timedelta(
                seconds=retry_delay(message.attempts, policy)
            )
    session.flush()


def retry(session: Session, message_pk: int, now: dt.datetime) -> ReminderMessage | None:
    """The owner sends a failed message again (after fixing an address or the server)."""
    message = session.get(ReminderMessage, message_pk, with_for_update=True)
    if message is None:
        return None
    if message.status == MessageStatus.FAILED:
        message.status = MessageStatus.PENDING.value
        message.next_attempt_at = now
        message.due_at = now
        message.outcome = None
        message.updated_at = now
    return message
