"""Customer verbs: create, find, correct, consent, attach to a hold, stock alerts, export, erase.

Consent is append-only history (when, how, by whom); the latest row of a purpose is in force.
Erasure removes the person everywhere: their row, consents and alerts are deleted; holds,
orders, reminder messages and events keep their numbers but lose every link and free text.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.customers.contact import ContactError, normalise_email, normalise_mobile
from store_api.customers.models import AlertStatus, Consent, Customer, Purpose, StockAlert
from store_api.errors import Conflict, ErrorCode, Invalid, NotFound
from store_api.events.models import Event
from store_api.orders.models import Order
from store_api.reminders.models import MessageStatus, ReminderMessage
from store_api.stock import service as stock
from store_api.stock.models import Reservation, ReservationStatus


@dataclass(frozen=True)
class ConsentInput:
    purpose: str
    granted: bool
    method: str
    collected_by: str | None = None
    wording: str | None = None
    given_at: dt.datetime | None = None


# --- reading --------------------------------------------------------------------------


def get_customer(session: Session, customer_id: uuid.UUID) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(
            ErrorCode.CUSTOMER_NOT_FOUND,
            f"No customer {customer_id}.",
            {"id": str(customer_id)},
        )
    return customer


def require_customer(session: Session, customer_id: uuid.UUID, field_name: str) -> Customer:
    """A customer named in a request body: unknown is a 422 naming the field."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise Invalid(
            ErrorCode.CUSTOMER_NOT_FOUND,
            f"No customer {customer_id}.",
            {field_name: [f"Unknown customer {customer_id}."]},
        )
    return customer


def search(
    session: Session, *, q: str | None, limit: int, offset: int
) -> tuple[list[Customer], int]:
    """Customers whose name, e-mail or mobile contains ``q`` (any case), newest first."""
    stmt = select(Customer)
    if q:
        needle = f"%{q.strip().lower()}%"
        digits = "".join(ch for ch in q if ch.isdigit())
        clauses = [func.lower(Customer.name).like(needle), Customer.email.like(needle)]
        if len(digits) >= 4:  # "06 12" finds +33612…: compare without the leading 0
            clauses.append(Customer.phone.like(f"%{digits.lstrip('0')}%"))
        stmt = stmt.where(or_(*clauses))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = session.scalars(
        stmt.order_by(Customer.created_at.desc(), Customer.id).limit(limit).offset(offset)
    ).all()
    return list(items), total


def consents_in_force(
    session: Session, customer_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, dict[str, Consent]]:
    """The latest consent row of each purpose, per customer (one query)."""
    ids = list(set(customer_ids))
    if not ids:
        return {}
    latest = (
        select(func.max(Consent.id))
        .where(Consent.customer_id.in_(ids))
        .group_by(Consent.customer_id, Consent.purpose)
    )
    found: dict[uuid.UUID, dict[str, Consent]] = {cid: {} for cid in ids}
    for consent in session.scalars(select(Consent).where(Consent.id.in_(latest))):
        found[consent.customer_id][consent.purpose] = consent
    return found


def has_consent(session: Session, customer_id: uuid.UUID, purpose: str) -> bool:
    consent = consents_in_force(session, [customer_id])[customer_id].get(purpose)
    return consent is not None and consent.granted


# --- writing --------------------------------------------------------------------------


def _contact(value: str | None, field_name: str) -> str | None:
    if value is None or not value.strip():
        return None
    try:
        return normalise_email(value) if field_name == "email" else normalise_mobile(value)
    except ContactError as exc:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR, f"Invalid {field_name}.", {field_name: [str(exc)]}
        ) from exc


def _refuse_duplicate(
    session: Session, email: str | None, phone: str | None, exclude: uuid.UUID | None
) -> None:
    """One person, one customer: an e-mail (or, without one, a mobile) already known is a 409."""
    for field_name, column, value in (
        ("email", Customer.email, email),
        ("phone", Customer.phone, phone),
    ):
        if value is None:
            continue
        stmt = select(Customer.id).where(column == value)
        if exclude is not None:
            stmt = stmt.where(Customer.id != exclude)
        existing = session.scalar(stmt.limit(1))
        if existing is not None:
            raise Conflict(
                ErrorCode.CUSTOMER_EXISTS,
                f"A customer with this {field_name} exists already: use it.",
                {"customer_id": str(existing), field_name: ["Already a customer's."]},
            )


def create_customer(
    session: Session,
    *,
    name: str,
    email: str | None,
    phone: str | None,
    consents: Sequence[ConsentInput],
    actor: str,
    now: dt.datetime,
) -> Customer:
    email, phone = _contact(email, "email"), _contact(phone, "phone")
    if email is None and phone is None:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            "A customer needs an e-mail address or a mobile number.",
            {"email": ["Give an e-mail address or a mobile number."]},
        )
    _refuse_duplicate(session, email, phone, None)
    customer = Customer(
        id=uuid.uuid4(),
        name=name.strip(),
        email=email,
        phone=phone,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(customer)
    session.flush()
    record_consents(session, customer.id, consents, actor=actor, now=now)
    return customer


def update_customer(
    session: Session, customer_id: uuid.UUID, changes: dict[str, Any], *, now: dt.datetime
) -> Customer:
    """Correct a name, an e-mail or a mobile (an empty string removes a contact)."""
    customer = get_customer(session, customer_id)
    email = _contact(changes["email"], "email") if "email" in changes else customer.email
    phone = _contact(changes["phone"], "phone") if "phone" in changes else customer.phone
    if email is None and phone is None:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            "A customer needs an e-mail address or a mobile number.",
            {"email": ["Keep an e-mail address or a mobile number."]},
        )
    _refuse_duplicate(
        session,
        email if email != customer.email else None,
        phone if phone != customer.phone else None,
        customer.id,
    )
    if "name" in changes:
        customer.name = changes["name"].strip()
    customer.email, customer.phone, customer.updated_at = email, phone, now
    session.flush()
    return customer


def record_consents(
    session: Session,
    customer_id: uuid.UUID,
    consents: Sequence[ConsentInput],
    *,
    actor: str,
    now: dt.datetime,
) -> list[Consent]:
    """Append consent rows (given or withdrawn); the newest of a purpose is in force."""
    rows = []
    for given in consents:
        when = given.given_at or now
        if when > now:
            raise Invalid(
                ErrorCode.VALIDATION_ERROR,
                "A consent cannot be given in the future.",
                {"given_at": ["Must not be later than now."]},
            )
        rows.append(
            Consent(
                customer_id=customer_id,
                purpose=str(given.purpose),
                granted=given.granted,
                given_at=when,
                method=str(given.method),
                recorded_by=actor,
                collected_by=given.collected_by,
                wording=given.wording,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def attach_to_reservation(
    session: Session,
    reservation_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    *,
    now: dt.datetime,
    channels: Collection[str] | None,
) -> Reservation:
    """Name the customer a hold is for (or nobody); an active hold gets its reminders planned."""
    from store_api.reminders import planner

    reservation = session.get(
        Reservation, reservation_id, with_for_update=True, populate_existing=True
    )
    if reservation is None:
        raise NotFound(
            ErrorCode.RESERVATION_NOT_FOUND,
            f"No reservation {reservation_id}.",
            {"id": str(reservation_id)},
        )
    stock.check_channel(reservation, channels)
    if customer_id is not None:
        require_customer(session, customer_id, "customer_id")
    reservation.customer_id = customer_id
    reservation.updated_at = now
    session.flush()
    if customer_id is not None and reservation.status == ReservationStatus.ACTIVE:
        planner.plan_hold(session, reservation, now)
    return reservation


def add_stock_alert(
    session: Session,
    customer_id: uuid.UUID,
    *,
    sku: str,
    channel: str,
    actor: str,
    now: dt.datetime,
) -> StockAlert:
    """ "Tell me when it is back". Needs the customer's consent to service messages."""
    get_customer(session, customer_id)
    product = session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    if product is None:
        raise Invalid(
            ErrorCode.PRODUCT_NOT_FOUND,
            f"No product with SKU {sku}.",
            {"sku": [f"Unknown SKU {sku!r}."]},
        )
    if not has_consent(session, customer_id, Purpose.SERVICE):
        raise Conflict(
            ErrorCode.CONSENT_REQUIRED,
            "The customer has not agreed to service messages; record that consent first.",
            {"purpose": Purpose.SERVICE.value},
        )
    existing = session.scalars(
        select(StockAlert).where(StockAlert.customer_id == customer_id, StockAlert.open_sku == sku)
    ).one_or_none()
    if existing is not None:
        return existing  # asking twice is one alert
    alert = StockAlert(
        customer_id=customer_id,
        product_id=product.id,
        sku=sku,
        open_sku=sku,
        status=AlertStatus.WAITING,
        channel=channel,
        created_by=actor,
        created_at=now,
    )
    session.add(alert)
    session.flush()
    return alert


def cancel_stock_alert(
    session: Session, customer_id: uuid.UUID, sku: str, *, now: dt.datetime
) -> StockAlert:
    get_customer(session, customer_id)
    alert = session.scalars(
        select(StockAlert).where(StockAlert.customer_id == customer_id, StockAlert.open_sku == sku)
    ).one_or_none()
    if alert is None:
        raise NotFound(
            ErrorCode.STOCK_ALERT_NOT_FOUND,
            f"No waiting stock alert for {sku}.",
            {"sku": sku},
        )
    alert.status, alert.open_sku, alert.closed_at = AlertStatus.CANCELLED, None, now
    session.execute(
        update(ReminderMessage)
        .where(
            ReminderMessage.alert_id == alert.id,
            ReminderMessage.status.in_([MessageStatus.PENDING, MessageStatus.PARKED]),
        )
        .values(status=MessageStatus.CANCELLED, outcome="alert_cancelled", updated_at=now)
    )
    session.flush()
    return alert


def stock_alerts(session: Session, customer_ids: Iterable[uuid.UUID]) -> list[StockAlert]:
    return list(
        session.scalars(
            select(StockAlert)
            .where(StockAlert.customer_id.in_(list(customer_ids)))
            .order_by(StockAlert.id)
        )
    )


# --- export and erasure ------------------------------------------------------------------


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(session: Session, customer_id: uuid.UUID) -> dict[str, Any]:
    """Everything the shop keeps about one customer (the right of access, GDPR art. 15)."""
    customer = get_customer(session, customer_id)
    consents = session.scalars(
        select(Consent).where(Consent.customer_id == customer_id).order_by(Consent.id)
    )
    holds = session.scalars(
        select(Reservation)
        .where(Reservation.customer_id == customer_id)
        .order_by(Reservation.created_at)
    )
    orders = session.scalars(
        select(Order).where(Order.customer_id == customer_id).order_by(Order.created_at)
    )
    messages = session.scalars(
        select(ReminderMessage)
        .where(ReminderMessage.customer_id == customer_id)
        .order_by(ReminderMessage.id)
    )
    return {
        "customer": {
            "id": str(customer.id),
            "name": customer.name,
            "email": customer.email,
            "phone": customer.phone,
            "created_at": _iso(customer.created_at),
            "created_by": customer.created_by,
        },
        "consents": [
            {
                "purpose": c.purpose,
                "granted": c.granted,
                "given_at": _iso(c.given_at),
                "method": c.method,
                "recorded_by": c.recorded_by,
                "collected_by": c.collected_by,
                "wording": c.wording,
            }
            for c in consents
        ],
        "stock_alerts": [
            {
                "sku": a.sku,
                "status": a.status,
                "channel": a.channel,
                "created_at": _iso(a.created_at),
                "closed_at": _iso(a.closed_at),
            }
            for a in stock_alerts(session, [customer_id])
        ],
        "reservations": [
            {
                "id": str(r.id),
                "sku": r.sku,
                "quantity": r.quantity,
                "channel": r.channel,
                "status": r.status,
                "note": r.note,
                "created_at": _iso(r.created_at),
                "expires_at": _iso(r.expires_at),
            }
            for r in holds
        ],
        "orders": [
            {
                "id": str(o.id),
                "reference": o.reference,
                "status": o.status,
                "created_at": _iso(o.created_at),
                "lines": [{"sku": ln.sku, "quantity": ln.quantity} for ln in o.lines],
            }
            for o in orders
        ],
        "reminders": [
            {
                "kind": m.kind,
                "channel": m.channel,
                "status": m.status,
                "outcome": m.outcome,
                "sku": m.sku,
                "due_at": _iso(m.due_at),
                "sent_at": _iso(m.sent_at),
            }
            for m in messages
        ],
    }


@dataclass(frozen=True)
class Erasure:
    customer_id: uuid.UUID
    erased_at: dt.datetime
    reservations: int
    orders: int
    reminders: int
    events: int


_EVENT_TYPES_WITH_CUSTOMERS = ("reservation.", "order.")


def _scrub(value: Any, customer: str) -> Any:
    """A payload without the customer: their id is nulled, and so is the note of their hold."""
    if isinstance(value, list):
        return [_scrub(item, customer) for item in value]
    if not isinstance(value, dict):
        return value
    cleaned = {key: _scrub(item, customer) for key, item in value.items()}
    if cleaned.get("customer_id") == customer:
        cleaned["customer_id"] = None
        if "note" in cleaned:
            cleaned["note"] = None
    return cleaned


def erase(session: Session, customer_id: uuid.UUID, *, now: dt.datetime) -> Erasure:
    """Remove the customer everywhere (GDPR art. 17). Holds and orders keep their numbers."""
    get_customer(session, customer_id)
    held = session.execute(
        update(Reservation)
        .where(Reservation.customer_id == customer_id)
        .values(customer_id=None, note=None)
    ).rowcount  # type: ignore[attr-defined]
    orders = list(session.scalars(select(Order).where(Order.customer_id == customer_id)))
    for order in orders:
        order.customer_id = None
        order.snapshot = {**order.snapshot, "customer_id": None}
    session.execute(
        update(ReminderMessage)
        .where(
            ReminderMessage.customer_id == customer_id,
            ReminderMessage.status.in_([MessageStatus.PENDING, MessageStatus.PARKED]),
        )
        .values(status=MessageStatus.CANCELLED, outcome="customer_erased")
    )
    reminders = session.execute(
        update(ReminderMessage)
        .where(ReminderMessage.customer_id == customer_id)
        .values(customer_id=None, context={}, last_error=None, updated_at=now)
    ).rowcount  # type: ignore[attr-defined]
    text = str(customer_id)
    scrubbed = 0
    for event in session.scalars(
        select(Event).where(
            or_(*(Event.type.startswith(prefix) for prefix in _EVENT_TYPES_WITH_CUSTOMERS)),
            cast(Event.payload, String).contains(text),
        )
    ):
        event.payload = _scrub(event.payload, text)
        scrubbed += 1
    session.execute(delete(StockAlert).where(StockAlert.customer_id == customer_id))
    session.execute(delete(Consent).where(Consent.customer_id == customer_id))
    session.execute(delete(Customer).where(Customer.id == customer_id))
    session.flush()
    return Erasure(customer_id, now, held, len(orders), reminders, scrubbed)
