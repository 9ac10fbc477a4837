"""Planning reminders: the shop's events become messages in the outbox.

The planner reads the event outbox after its cursor (like the webhook fan-out) and, in the
same transaction, inserts the messages those events call for and moves the cursor. Each
message is unique per customer, kind and subject (``ON CONFLICT DO NOTHING``), so planning
twice (two workers, a replayed batch, a customer attached after the hold) never plans twice.
What is allowed to go out (consent, quiet hours, still relevant) is decided at send time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Insert, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.customers.models import AlertStatus, StockAlert
from store_api.events.models import Event
from store_api.events.service import EventType
from store_api.orders.models import Order
from store_api.recommendations import service as recommendations
from store_api.reminders import service
from store_api.reminders.kinds import RENEWAL_ATTRIBUTE, Kind
from store_api.reminders.models import (
    MessageStatus,
    PlannerCursor,
    ReminderMessage,
    new_message_id,
)
from store_api.stock.models import Channel, Reservation, ReservationStatus
from store_api.stock.service import StockPolicy

# The day-before message is not planned when it would go less than this after the first one.
EVE_MIN_GAP = dt.timedelta(hours=2)
PLANNED_EVENTS = (
    EventType.RESERVATION_CREATED,
    EventType.RESERVATION_EXTENDED,
    EventType.RESERVATION_EXPIRED,
    EventType.RESERVATION_COMMITTED,
    EventType.ORDER_CREATED,
    EventType.STOCK_BACK_IN_STOCK,
)
_messages = cast(Table, ReminderMessage.__table__)


@dataclass(frozen=True)
class Planning:
    """What planning needs from the configuration (plain values)."""

    mail_domain: str = "comptoir.example"
    accessory_category: str = "Accessoires"
    recommender_dir: Path | None = None
    policy: StockPolicy = field(default_factory=StockPolicy)


def _insert(session: Session) -> Insert:
    if session.connection().dialect.name == "postgresql":
        return postgresql.insert(_messages).on_conflict_do_nothing()
    return sqlite.insert(_messages).on_conflict_do_nothing()


def message_row(
    *,
    customer_id: uuid.UUID,
    kind: Kind,
    subject_key: str,
    due_at: dt.datetime,
    now: dt.datetime,
    domain: str,
    sku: str | None = None,
    reservation_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    alert_id: int | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One planned message, as the row to insert."""
    return {
        "customer_id": customer_id,
        "kind": kind.value,
        "subject_key": subject_key,
        "message_id": new_message_id(domain),
        "status": MessageStatus.PENDING.value,
        "due_at": due_at,
        "next_attempt_at": due_at,
        "attempts": 0,
        "sku": sku,
        "reservation_id": reservation_id,
        "order_id": order_id,
        "alert_id": alert_id,
        "context": context or {},
        "created_at": now,
        "updated_at": now,
    }


def add_messages(session: Session, rows: Sequence[dict[str, Any]]) -> int:
    """Plan messages in one statement; one a customer already has is skipped (never twice)."""
    if not rows:
        return 0
    result = session.execute(_insert(session), list(rows))
    count = result.rowcount  # type: ignore[attr-defined]
    return int(count) if count is not None and count >= 0 else len(rows)


def add_message(session: Session, **values: Any) -> bool:
    """Plan one message; False when this customer already has it."""
    return add_messages(session, [message_row(**values)]) == 1


# --- per kind ----------------------------------------------------------------------------


def eve_due(expires_at: dt.datetime, delay_minutes: int) -> dt.datetime:
    return expires_at - dt.timedelta(minutes=delay_minutes)


def plan_hold(
    session: Session, reservation: Reservation, now: dt.datetime, domain: str = ""
) -> int:
    """A store hold for a customer: a message now, and one the day before it expires."""
    if reservation.customer_id is None or reservation.channel != Channel.STORE:
        return 0
    setting = service.settings(session)[Kind.HELD_ITEM]
    if not setting.enabled:
        return 0
    domain = domain or Planning.mail_domain
    common = {
        "customer_id": reservation.customer_id,
        "kind": Kind.HELD_ITEM,
        "now": now,
        "domain": domain,
        "sku": reservation.sku,
        "reservation_id": reservation.id,
    }
    planned = int(add_message(session, subject_key=f"{reservation.id}:made", due_at=now, **common))
    eve = eve_due(reservation.expires_at, setting.delay_minutes)
    if eve >= now + EVE_MIN_GAP:
        planned += add_message(
            session,
            subject_key=f"{reservation.id}:eve",
            due_at=eve,
            context={"moment": "eve"},
            **common,
        )
    return planned


def plan_forgotten_checkout(
    session: Session, reservation: Reservation, now: dt.datetime, domain: str
) -> int:
    """A web hold expired without an order: one reminder after the owner's delay."""
    if (
        reservation.customer_id is None
        or reservation.channel != Channel.WEB
        or reservation.order_id is not None
    ):
        return 0
    setting = service.settings(session)[Kind.FORGOTTEN_CHECKOUT]
    if not setting.enabled:
        return 0
    expired_at = reservation.closed_at or now
    return int(
        add_message(
            session,
            customer_id=reservation.customer_id,
            kind=Kind.FORGOTTEN_CHECKOUT,
            subject_key=str(reservation.id),
            due_at=expired_at + dt.timedelta(minutes=setting.delay_minutes),
            now=now,
            domain=domain,
            sku=reservation.sku,
            reservation_id=reservation.id,
        )
    )


def renewal_days(product: Product) -> int | None:
    value = (product.attributes or {}).get(RENEWAL_ATTRIBUTE)
    return int(value) if isinstance(value, int | float) and value > 0 else None


def choose_consumable(session: Session, sold: Product, planning: Planning) -> Product | None:
    """The consumable that goes with a product sold: the recommender's complements first,
    kept to products of the accessory category with a renewal interval; then any such
    consumable whose attributes say it fits."""
    if sold.category == planning.accessory_category:
        return None
    holder = (
        recommendations.holder_for(planning.recommender_dir) if planning.recommender_dir else None
    )
    suggested = recommendations.recommend_for_product(
        session,
        sold.sku,
        kind="complements",
        limit=20,
        policy=planning.policy,
        holder=holder,
        accessory_category=planning.accessory_category,
    )
    skus = [item.sku for item in suggested.items if item.category == planning.accessory_category]
    by_sku = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    for sku in skus:
        product = by_sku.get(sku)
        if product is not None and renewal_days(product):
            return product
    consumables = session.scalars(
        select(Product)
        .where(Product.category == planning.accessory_category, Product.active.is_(True))
        .order_by(Product.price, Product.sku)
    )
    for product in consumables:
        if renewal_days(product) and recommendations.fits(product, sold) >= 0:  # or says nothing
            return product
    return None


def plan_consumables(
    session: Session,
    *,
    customer_id: uuid.UUID,
    sold: Sequence[str],
    sale_ref: str,
    sold_at: dt.datetime,
    now: dt.datetime,
    planning: Planning,
) -> int:
    """After a sale, the consumable of each product sold, after its usual interval."""
    setting = service.settings(session)[Kind.CONSUMABLE]
    if not setting.enabled or not sold:
        return 0
    planned = 0
    for product in session.scalars(select(Product).where(Product.sku.in_(set(sold)))):
        consumable = choose_consumable(session, product, planning)
        if consumable is None:
            continue
        days = renewal_days(consumable)
        delay = dt.timedelta(days=days) if days else dt.timedelta(minutes=setting.delay_minutes)
        planned += add_message(
            session,
            customer_id=customer_id,
            kind=Kind.CONSUMABLE,
            subject_key=f"{sale_ref}:{consumable.sku}",
            due_at=sold_at + delay,
            now=now,
            domain=planning.mail_domain,
            sku=consumable.sku,
            context={"bought_sku": product.sku, "bought_at": sold_at.isoformat()},
        )
    return planned


def plan_back_in_stock(session: Session, sku: str, now: dt.datetime, domain: str) -> int:
    """The product is back: a message for every waiting alert (a parked one is woken up)."""
    setting = service.settings(session)[Kind.BACK_IN_STOCK]
    if not setting.enabled:
        return 0
    due = now + dt.timedelta(minutes=setting.delay_minutes)
    alerts = session.execute(
        select(StockAlert.id, StockAlert.customer_id).where(
            StockAlert.sku == sku, StockAlert.status == AlertStatus.WAITING
        )
    ).all()
    planned = add_messages(
        session,
        [
            message_row(
                customer_id=customer_id,
                kind=Kind.BACK_IN_STOCK,
                subject_key=f"alert:{alert_id}",
                due_at=due,
                now=now,
                domain=domain,
                sku=sku,
                alert_id=alert_id,
            )
            for alert_id, customer_id in alerts
        ],
    )
    woken = session.execute(
        update(ReminderMessage)
        .where(
            ReminderMessage.kind == Kind.BACK_IN_STOCK.value,
            ReminderMessage.sku == sku,
            ReminderMessage.status == MessageStatus.PARKED.value,
        )
        .values(status=MessageStatus.PENDING.value, next_attempt_at=due, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    return planned + int(woken)


# --- the event loop ------------------------------------------------------------------------


def cursor(session: Session) -> int:
    return session.scalar(select(PlannerCursor.seq).where(PlannerCursor.id == 1)) or 0


@dataclass(frozen=True)
class PlanResult:
    events: int
    planned: int
    more: bool  # the batch was full: call again


def plan_new_events(
    session: Session, now: dt.datetime, planning: Planning, *, batch: int = 500
) -> PlanResult:
    """Plan what the events after the cursor call for, in one transaction with the cursor."""
    row = session.get(PlannerCursor, 1, with_for_update=True)
    if row is None:  # the first run: two workers may get here at once
        cursor_table = cast(Table, PlannerCursor.__table__)
        first = (
            postgresql.insert(cursor_table)
            if session.connection().dialect.name == "postgresql"
            else sqlite.insert(cursor_table)
        )
        session.execute(first.values(id=1, seq=0).on_conflict_do_nothing())
        row = session.get(PlannerCursor, 1, with_for_update=True, populate_existing=True)
        assert row is not None
    # The newest seq first: seqs commit in order, so every event up to it is visible now,
    # and the cursor may jump to it without skipping one committed meanwhile.
    newest = session.scalar(select(Event.seq).order_by(Event.seq.desc()).limit(1)) or 0
    events = session.execute(
        select(Event.seq, Event.type, Event.sku, Event.payload)
        .where(
            Event.seq > row.seq,
            Event.seq <= newest,
            Event.type.in_([str(t) for t in PLANNED_EVENTS]),
        )
        .order_by(Event.seq)
        .limit(batch)
    ).all()
    planned = 0
    for _seq, event_type, sku, payload in events:
        planned += _plan_event(session, event_type, sku, payload, now, planning)
    # A short page read everything up to ``newest``; a full one continues after its last.
    row.seq = newest if len(events) < batch else events[-1].seq
    session.flush()
    return PlanResult(events=len(events), planned=planned, more=len(events) == batch)


def _plan_event(
    session: Session,
    event_type: str,
    sku: str | None,
    payload: dict[str, Any],
    now: dt.datetime,
    planning: Planning,
) -> int:
    if event_type == EventType.STOCK_BACK_IN_STOCK and sku:
        return plan_back_in_stock(session, sku, now, planning.mail_domain)
    if event_type == EventType.ORDER_CREATED:
        order = session.get(Order, uuid.UUID(payload["id"]))
        if order is None or order.customer_id is None:
            return 0
        return plan_consumables(
            session,
            customer_id=order.customer_id,
            sold=[line.sku for line in order.lines],
            sale_ref=f"order:{order.id}",
            sold_at=order.created_at,
            now=now,
            planning=planning,
        )
    reservation = session.get(Reservation, uuid.UUID(payload["id"]))
    if reservation is None or reservation.customer_id is None:
        return 0
    if event_type in (EventType.RESERVATION_CREATED, EventType.RESERVATION_EXTENDED):
        if reservation.status != ReservationStatus.ACTIVE:
            return 0
        return plan_hold(session, reservation, now, planning.mail_domain)
    if event_type == EventType.RESERVATION_EXPIRED:
        return plan_forgotten_checkout(session, reservation, now, planning.mail_domain)
    if event_type == EventType.RESERVATION_COMMITTED and reservation.order_id is None:
        return plan_consumables(
            session,
            customer_id=reservation.customer_id,
            sold=[reservation.sku],
            sale_ref=f"hold:{reservation.id}",
            sold_at=reservation.closed_at or now,
            now=now,
            planning=planning,
        )
    return 0
