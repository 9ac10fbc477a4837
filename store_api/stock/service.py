"""Stock verbs: read levels, adjust, count, reserve, extend, commit, release, expire, check.

The rule that keeps the store and the webshop from selling the same unit twice: every change
of ``on_hand`` or ``reserved`` is one guarded UPDATE (the guard is in the WHERE clause, so
the database decides under concurrency, never a read-check-write in Python) or happens under
row locks, and writes a ledger row in the same transaction. Callers frame the transaction.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Table, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.catalog.service import get_product
from store_api.db import UTCDateTime
from store_api.errors import (
    Conflict,
    ErrorCode,
    Forbidden,
    InsufficientStock,
    Invalid,
    NotFound,
    OnHandLimit,
)
from store_api.events.service import EventType, NewEvent
from store_api.events.service import emit as emit_events
from store_api.stock import journal
from store_api.stock.models import (
    MAX_ON_HAND,
    Channel,
    Reason,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
)

SYSTEM_EXPIRY_ACTOR = "system:expiry"
ALL_CHANNELS = tuple(c.value for c in Channel)
# A lost race for the last units at one location is retried on the next one this many times.
_RESERVE_ATTEMPTS = 3


@dataclass(frozen=True)
class StockPolicy:
    """The shop's stock rules, from configuration (plain values: no Flask here)."""

    locations: tuple[str, ...] = ("floor", "backroom", "warehouse")
    web_order: tuple[str, ...] = ("warehouse", "backroom", "floor")
    web_hold_seconds: int = 900
    store_hold_until: dt.time = dt.time(23, 59)
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    max_hold_seconds: int = 7 * 24 * 3600
    # Default for products without their own low_stock_threshold (stock.low events).
    low_stock_threshold: int = 2

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> StockPolicy:
        locations = tuple(config["STOCK_LOCATIONS"])
        web_order = tuple(loc for loc in config["WEB_LOCATION_ORDER"] if loc in locations)
        web_order += tuple(loc for loc in locations if loc not in web_order)
        hour, minute = (int(part) for part in str(config["STORE_HOLD_UNTIL"]).split(":"))
        return cls(
            locations=locations,
            web_order=web_order,
            web_hold_seconds=int(config["WEB_HOLD_SECONDS"]),
            store_hold_until=dt.time(hour, minute),
            timezone=ZoneInfo(config["TIMEZONE"]),
            max_hold_seconds=int(config["MAX_HOLD_SECONDS"]),
            low_stock_threshold=int(config.get("LOW_STOCK_THRESHOLD", 2)),
        )

    def location_order(self, channel: str) -> tuple[str, ...]:
        """The store takes from the floor first; the webshop from the warehouse first."""
        return self.web_order if channel == Channel.WEB else self.locations

    def expiry(self, channel: str, now: dt.datetime, ttl_seconds: int | None) -> dt.datetime:
        if ttl_seconds is not None:
            if ttl_seconds > self.max_hold_seconds:
                raise Invalid(
                    ErrorCode.VALIDATION_ERROR,
                    f"A hold lasts at most {self.max_hold_seconds} seconds.",
                    {"ttl_seconds": [f"Must be at most {self.max_hold_seconds}."]},
                )
            return now + dt.timedelta(seconds=ttl_seconds)
        if channel == Channel.WEB:
            return now + dt.timedelta(seconds=self.web_hold_seconds)
        local_now = now.astimezone(self.timezone)
        end = dt.datetime.combine(local_now.date(), self.store_hold_until, tzinfo=self.timezone)
        if end <= now:  # a sale agreed after closing time holds until the next evening
            end = dt.datetime.combine(
                local_now.date() + dt.timedelta(days=1), self.store_hold_until, tzinfo=self.timezone
            )
        return end.astimezone(dt.UTC)

    def check_location(self, location: str | None) -> None:
        if location is not None and location not in self.locations:
            raise Invalid(
                ErrorCode.UNKNOWN_LOCATION,
                f"Unknown location {location!r}; known: {', '.join(self.locations)}.",
                {"location": [f"Must be one of: {', '.join(self.locations)}."]},
            )


# --- reading -------------------------------------------------------------------------


@dataclass(frozen=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


@dataclass(frozen=True)
class ProductStock:
    sku: str
    locations: list[LocationStock]

    @property
    def on_hand(self) -> int:
        return sum(loc.on_hand for loc in self.locations)

    @property
    def reserved(self) -> int:
        return sum(loc.reserved for loc in self.locations)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def stock_for(
    session: Session, skus: Sequence[str], policy: StockPolicy
) -> dict[str, ProductStock]:
    """Stock of several products in one query; unknown SKUs are simply absent."""
    rows = session.execute(
        select(Product.sku, StockLevel.location, StockLevel.on_hand, StockLevel.reserved)
        .join(StockLevel, StockLevel.product_id == Product.id, isouter=True)
        .where(Product.sku.in_(set(skus)))
    ).all()
    found: dict[str, dict[str, LocationStock]] = {}
    for sku, location, on_hand, reserved in rows:
        levels = found.setdefault(sku, {})
        if location is not None:
            levels[location] = LocationStock(location, on_hand, reserved)
    result = {}
    for sku, levels in found.items():
        ordered = [levels.get(loc, LocationStock(loc, 0, 0)) for loc in policy.locations]
        ordered += [lvl for loc, lvl in sorted(levels.items()) if loc not in policy.locations]
        result[sku] = ProductStock(sku, ordered)
    return result


def stock_of(session: Session, sku: str, policy: StockPolicy) -> ProductStock:
    stock = stock_for(session, [sku], policy).get(sku)
    if stock is None:
        raise NotFound(ErrorCode.PRODUCT_NOT_FOUND, f"No product with SKU {sku}.", {"sku": sku})
    return stock


def movements(
    session: Session, *, sku: str | None, location: str | None, limit: int, before_id: int | None
) -> list[tuple[StockMovement, str]]:
    """The ledger, newest first, with each row's SKU."""
    stmt = select(StockMovement, Product.sku).join(Product, Product.id == StockMovement.product_id)
    if sku:
        stmt = stmt.where(Product.sku == sku)
    if location:
        stmt = stmt.where(StockMovement.location == location)
    if before_id:
        stmt = stmt.where(StockMovement.id < before_id)
    rows = session.execute(stmt.order_by(StockMovement.id.desc()).limit(limit)).all()
    return [(movement, row_sku) for movement, row_sku in rows]


# --- guarded updates -----------------------------------------------------------------


def guarded_update(session: Session, where: Sequence[Any], values: Mapping[str, Any]) -> Any | None:
    """One UPDATE of a stock level whose WHERE clause is the guard; None if the guard said no."""
    stmt = update(journal.levels).where(*where).values(**values).returning(*journal.LEVEL_RETURNING)
    return session.connection().execute(stmt).first()


def record(
    session: Session,
    changes: Sequence[journal.Change],
    *,
    reason: str,
    actor: str,
    reference: str | None,
    now: dt.datetime,
    policy: StockPolicy,
    extra_events: Sequence[NewEvent] = (),
) -> None:
    """The ledger rows and events of one stock operation, with the shop's low-stock rule."""
    journal.record(
        session,
        changes,
        reason=reason,
        actor=actor,
        reference=reference,
        now=now,
        default_threshold=policy.low_stock_threshold,
        extra_events=extra_events,
    )


def reservation_payload(res: Any) -> dict[str, Any]:
    """A reservation as events carry it (from an ORM object or a RETURNING row)."""
    return {
        "id": str(res.id),
        "sku": res.sku,
        "quantity": res.quantity,
        "location": res.location,
        "channel": res.channel,
        "status": res.status,
        "expires_at": res.expires_at.isoformat() if res.expires_at else None,
        "created_by": res.created_by,
        "note": getattr(res, "note", None),
        "reference": getattr(res, "reference", None),
        "order_id": str(res.order_id) if getattr(res, "order_id", None) else None,
        "recommendation_id": (
            str(res.recommendation_id) if getattr(res, "recommendation_id", None) else None
        ),
        # Only the id: a customer's name or contact never travels in an event.
        "customer_id": str(res.customer_id) if getattr(res, "customer_id", None) else None,
        # Set once the hold is committed (the sale): money as strings with two decimals.
        "unit_price": _money_text(getattr(res, "unit_price", None)),
        "total": _money_text(getattr(res, "total", None)),
    }


CENT = Decimal("0.01")


def _money_text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _product_id_of(sku: str) -> Any:
    return select(Product.id).where(Product.sku == sku).scalar_subquery()


def _require_product(session: Session, sku: str, *, field_name: str = "sku") -> Product:
    product = session.scalars(select(Product).where(Product.sku == sku)).one_or_none()
    if product is None:
        raise Invalid(
            ErrorCode.PRODUCT_NOT_FOUND,
            f"No product with SKU {sku}.",
            {field_name: [f"Unknown SKU {sku!r}."]},
        )
    return product


def _ensure_level(session: Session, product_id: int, location: str, now: dt.datetime) -> None:
    """A location added to the configuration after the product was created has no row yet."""
    exists = session.scalar(
        select(StockLevel.id).where(
            StockLevel.product_id == product_id, StockLevel.location == location
        )
    )
    if exists is None:
        session.add(
            StockLevel(
                product_id=product_id, location=location, on_hand=0, reserved=0, updated_at=now
            )
        )
        session.flush()


# --- adjustments and counts ----------------------------------------------------------


def adjust(
    session: Session,
    *,
    sku: str,
    location: str,
    delta: int,
    reason: str,
    actor: str,
    reference: str | None,
    now: dt.datetime,
    policy: StockPolicy,
) -> LocationStock:
    """Deliveries, damage, corrections: on_hand += delta, never below what is reserved."""
    policy.check_location(location)
    if not -MAX_ON_HAND <= delta <= MAX_ON_HAND:  # the API allows less; the CLI and imports too
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            f"An adjustment moves at most {MAX_ON_HAND} units.",
            {"delta": [f"Must be between -{MAX_ON_HAND} and {MAX_ON_HAND}."]},
        )
    where = [
        StockLevel.product_id == _product_id_of(sku),
        StockLevel.location == location,
        StockLevel.on_hand + delta >= StockLevel.reserved,
        StockLevel.on_hand + delta <= MAX_ON_HAND,
    ]
    values = {"on_hand": StockLevel.on_hand + delta, "updated_at": now}
    row = guarded_update(session, where, values)
    if row is None:
        product = _require_product(session, sku)
        _ensure_level(session, product.id, location, now)
        row = guarded_update(session, where, values)
    if row is None:
        current = stock_of(session, sku, policy)
        level = next(loc for loc in current.locations if loc.location == location)
        if level.on_hand + delta > MAX_ON_HAND:
            raise OnHandLimit(sku, location, level.on_hand, delta, MAX_ON_HAND)
        raise Conflict(
            ErrorCode.BELOW_RESERVED,
            f"Cannot remove {-delta} unit(s) of {sku} at {location}: {level.on_hand} on hand, "
            f"{level.reserved} reserved.",
            {
                "sku": sku,
                "location": location,
                "on_hand": level.on_hand,
                "reserved": level.reserved,
            },
        )
    record(
        session,
        [journal.Change(row, delta, 0)],
        reason=reason,
        actor=actor,
        reference=reference,
        now=now,
        policy=policy,
    )
    return LocationStock(row.location, row.on_hand, row.reserved)


def count(
    session: Session,
    *,
    sku: str,
    location: str,
    on_hand: int,
    expected_on_hand: int,
    actor: str,
    reference: str | None,
    now: dt.datetime,
    policy: StockPolicy,
) -> LocationStock:
    """An inventory count, compare-and-set: refused if on_hand moved since it was read."""
    policy.check_location(location)
    if not 0 <= on_hand <= MAX_ON_HAND:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            f"A count is between 0 and {MAX_ON_HAND} units.",
            {"on_hand": [f"Must be between 0 and {MAX_ON_HAND}."]},
        )
    product = get_product(session, sku)
    _ensure_level(session, product.id, location, now)
    row = guarded_update(
        session,
        [
            StockLevel.product_id == product.id,
            StockLevel.location == location,
            StockLevel.on_hand == expected_on_hand,
            StockLevel.reserved <= on_hand,
        ],
        {"on_hand": on_hand, "updated_at": now},
    )
    if row is None:
        level = session.execute(
            select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.product_id == product.id, StockLevel.location == location
            )
        ).one()
        details = {
            "sku": sku,
            "location": location,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
        }
        if level.on_hand != expected_on_hand:
            raise Conflict(
                ErrorCode.STALE_COUNT,
                f"Stock of {sku} at {location} is now {level.on_hand}, not {expected_on_hand}: "
                "count again or resend with the current value.",
                details,
            )
        raise Conflict(
            ErrorCode.BELOW_RESERVED,
            f"{level.reserved} unit(s) of {sku} at {location} are reserved; a count of "
            f"{on_hand} is below that. Release reservations first.",
            details,
        )
    delta = on_hand - expected_on_hand
    record(
        session,
        [journal.Change(row, delta, 0)],
        reason=Reason.COUNT,
        actor=actor,
        reference=reference,
        now=now,
        policy=policy,
    )
    return LocationStock(row.location, row.on_hand, row.reserved)


# --- prebuilt statements for the hot paths -------------------------------------------
# Reserving and releasing run on every tablet tap and webshop checkout: their statements are
# built once with bind parameters (SQLAlchemy then reuses the compiled SQL), and run as Core
# statements, without the ORM's unit of work.

_levels = journal.levels
_products = journal.products
_holds = cast(Table, Reservation.__table__)
_NOW = bindparam("now", type_=UTCDateTime())
_LEVEL_RETURNING = journal.LEVEL_RETURNING
# Everything an expired or released hold's event says about it.
_HOLD_RETURNING = tuple(_holds.c)

_EXPIRE_SKU = (
    update(_holds)
    .where(
        _holds.c.sku == bindparam("p_sku"),
        _holds.c.status == ReservationStatus.ACTIVE.value,
        _holds.c.expires_at <= _NOW,
    )
    .values(status=ReservationStatus.EXPIRED.value, closed_at=_NOW, updated_at=_NOW)
    .returning(*_HOLD_RETURNING)
)

_GIVE_BACK = (
    update(_levels)
    .where(
        _levels.c.product_id == bindparam("p_product_id"),
        _levels.c.location == bindparam("p_location"),
        _levels.c.reserved >= bindparam("p_quantity"),
    )
    .values(reserved=_levels.c.reserved - bindparam("p_quantity"), updated_at=_NOW)
    .returning(*_LEVEL_RETURNING)
)

_RELEASE = (
    update(_holds)
    .where(
        _holds.c.id == bindparam("reservation_id"),
        _holds.c.status == ReservationStatus.ACTIVE.value,
        _holds.c.channel.in_(bindparam("channels", expanding=True)),
    )
    .values(status=ReservationStatus.RELEASED.value, closed_at=_NOW, updated_at=_NOW)
    .returning(*_holds.c)
)

_INSERT_HOLD = insert(_holds)


@functools.cache
def _take_stmt(order: tuple[str, ...]) -> Any:
    """Reserve from the first location, in ``order``, that has enough: one guarded UPDATE."""
    quantity = bindparam("p_quantity", type_=Integer())
    priority = case({loc: i for i, loc in enumerate(order)}, value=_levels.c.location)
    target = (
        select(_levels.c.id)
        .join(_products, _products.c.id == _levels.c.product_id)
        .where(
            _products.c.sku == bindparam("p_sku"),
            _products.c.active.is_(True),
            _levels.c.location.in_(order),
            _levels.c.on_hand - _levels.c.reserved >= quantity,
        )
        .order_by(priority)
        .limit(1)
        .scalar_subquery()
    )
    return take_from(target)


def take_from(target: Any) -> Any:
    """The UPDATE that reserves ``:p_quantity`` on the level ``target`` (an id or a subquery).

    The choice of ``target`` may be stale when the UPDATE runs: PostgreSQL (READ COMMITTED)
    evaluates the subquery on the statement's snapshot, then waits for a concurrent hold's row
    lock and re-checks only this WHERE on the row it then sees. So the availability guard
    is repeated here, on the row written; without it two holds both take the last unit.
    (SQLite serialises writers, so there the race cannot happen; tests/test_stock_guard.py
    replays the stale choice on both databases.)
    """
    quantity = bindparam("p_quantity", type_=Integer())
    return (
        update(_levels)
        .where(_levels.c.id == target, _levels.c.on_hand - _levels.c.reserved >= quantity)
        .values(reserved=_levels.c.reserved + quantity, updated_at=_NOW)
        .returning(*_LEVEL_RETURNING)
    )


# --- reservations --------------------------------------------------------------------


def _release_rows(
    session: Session,
    rows: Sequence[Any],
    *,
    reason: str,
    actor: str,
    now: dt.datetime,
    policy: StockPolicy,
) -> None:
    """Give back the reserved units of reservations that just left the active state."""
    conn = session.connection()
    changes = []
    for res in rows:
        level = conn.execute(
            _GIVE_BACK,
            {
                "p_product_id": res.product_id,
                "p_location": res.location,
                "p_quantity": res.quantity,
                "now": now,
            },
        ).first()
        if level is None:  # the CHECK constraints make this unreachable unless data drifted
            raise RuntimeError(f"reserved counter drift for reservation {res.id}")
        changes.append(journal.Change(level, 0, -res.quantity, reference=str(res.id)))
    kind = (
        EventType.RESERVATION_EXPIRED if reason == Reason.EXPIRY else EventType.RESERVATION_RELEASED
    )
    record(
        session,
        changes,
        reason=reason,
        actor=actor,
        reference=None,
        now=now,
        policy=policy,
        extra_events=[NewEvent(kind, reservation_payload(r), sku=r.sku) for r in rows],
    )


def expire_due(
    session: Session, *, now: dt.datetime, policy: StockPolicy, product_filter: Any = None
) -> int:
    """Release every active reservation past its expiry (optionally of some products only).

    One UPDATE flips the status and returns the rows it flipped, so two sweepers (or a
    sweeper and a lazy expiry) never release the same reservation twice.
    """
    stmt = update(_holds).where(
        _holds.c.status == ReservationStatus.ACTIVE.value, _holds.c.expires_at <= now
    )
    if product_filter is not None:
        stmt = stmt.where(product_filter)
    flip = stmt.values(
        status=ReservationStatus.EXPIRED.value, closed_at=now, updated_at=now
    ).returning(*_HOLD_RETURNING)
    return _release_expired(session, session.connection().execute(flip).all(), now, policy)


def expire_due_for_sku(session: Session, *, sku: str, now: dt.datetime, policy: StockPolicy) -> int:
    """Release the expired holds of one product (the lazy expiry)."""
    expired = session.connection().execute(_EXPIRE_SKU, {"p_sku": sku, "now": now}).all()
    return _release_expired(session, expired, now, policy)


def _release_expired(
    session: Session, expired: Sequence[Any], now: dt.datetime, policy: StockPolicy
) -> int:
    if expired:
        _release_rows(
            session,
            expired,
            reason=Reason.EXPIRY,
            actor=SYSTEM_EXPIRY_ACTOR,
            now=now,
            policy=policy,
        )
    return len(expired)


def reserve(
    session: Session,
    *,
    sku: str,
    quantity: int,
    channel: str,
    location: str | None,
    ttl_seconds: int | None,
    note: str | None,
    actor: str,
    now: dt.datetime,
    policy: StockPolicy,
    recommendation_id: uuid.UUID | None = None,
    customer_id: uuid.UUID | None = None,
    created_by_key_id: int | None = None,
) -> Reservation:
    """Hold ``quantity`` units at one location: four statements when stock is there.

    ``recommendation_id``: the recommendation answer that led to it (stored with the hold, so
    the sale is credited to the suggestion; no extra statement). ``created_by_key_id``: the
    API key that asked (a tablet lists its own holds with it).

    Expired holds of the product are released lazily when they stand in the way: if the
    first attempt finds too few units, they are released and the reservation is retried.
    The sweeper releases the others within ``EXPIRY_SWEEP_SECONDS``.
    """
    policy.check_location(location)
    expires_at = policy.expiry(channel, now, ttl_seconds)
    order = (location,) if location else policy.location_order(channel)
    conn = session.connection()
    params = {"p_sku": sku, "p_quantity": quantity, "now": now}
    level = conn.execute(_take_stmt(order), params).first()
    if level is None:
        expire_due_for_sku(session, sku=sku, now=now, policy=policy)
        for _attempt in range(_RESERVE_ATTEMPTS):
            level = conn.execute(_take_stmt(order), params).first()
            if level is not None:
                break
            _raise_if_unreservable(session, sku=sku, quantity=quantity, order=order, policy=policy)
        else:
            raise InsufficientStock(sku, quantity, 0, reason="contention")
    values = {
        "id": uuid.uuid4(),
        "product_id": level.product_id,
        "sku": sku,
        "location": level.location,
        "quantity": quantity,
        "channel": str(channel),
        "status": ReservationStatus.ACTIVE.value,
        "note": note,
        "created_by": actor,
        "created_by_key_id": created_by_key_id,
        "expires_at": expires_at,
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
        "reference": None,
        "order_id": None,
        "recommendation_id": recommendation_id,
        "customer_id": customer_id,
        "unit_price": None,
        "total": None,
        "price_estimated": False,
    }
    conn.execute(_INSERT_HOLD, values)
    reservation = Reservation(**values)
    record(
        session,
        [journal.Change(level, 0, quantity)],
        reason=Reason.RESERVATION,
        actor=actor,
        reference=str(values["id"]),
        now=now,
        policy=policy,
        extra_events=[
            NewEvent(EventType.RESERVATION_CREATED, reservation_payload(reservation), sku=sku)
        ],
    )
    return reservation


def _raise_if_unreservable(
    session: Session, *, sku: str, quantity: int, order: Sequence[str], policy: StockPolicy
) -> None:
    """Explain why nothing was reserved; return only if a retry may succeed (lost race)."""
    product = _require_product(session, sku)
    if not product.active:
        raise Conflict(ErrorCode.PRODUCT_INACTIVE, f"{sku} is no longer sold.", {"sku": sku})
    stock = stock_of(session, sku, policy)
    by_location = {loc.location: loc.available for loc in stock.locations if loc.location in order}
    best = max(by_location.values(), default=0)
    if best >= quantity:
        return
    raise InsufficientStock(
        sku,
        quantity,
        best,
        locations=by_location,
        total_available=sum(by_location.values()),
    )


def _locked_reservation(session: Session, reservation_id: uuid.UUID) -> Reservation:
    reservation = session.get(
        Reservation, reservation_id, with_for_update=True, populate_existing=True
    )
    if reservation is None:
        raise NotFound(
            ErrorCode.RESERVATION_NOT_FOUND,
            f"No reservation {reservation_id}.",
            {"id": str(reservation_id)},
        )
    return reservation


def _require_active(reservation: Reservation, now: dt.datetime, verb: str) -> None:
    details = {"id": str(reservation.id), "status": reservation.status}
    if reservation.status == ReservationStatus.EXPIRED or (
        reservation.status == ReservationStatus.ACTIVE and reservation.expires_at <= now
    ):
        raise Conflict(
            ErrorCode.RESERVATION_EXPIRED,
            f"Reservation {reservation.id} expired at {reservation.expires_at.isoformat()}; "
            f"it cannot be {verb}. Make a new reservation.",
            {
                **details,
                "status": ReservationStatus.EXPIRED,
                "expired_at": reservation.expires_at.isoformat(),
            },
        )
    if reservation.status != ReservationStatus.ACTIVE:
        raise Conflict(
            ErrorCode.RESERVATION_NOT_ACTIVE,
            f"Reservation {reservation.id} is {reservation.status}; it cannot be {verb}.",
            details,
        )


def get_reservation(session: Session, reservation_id: uuid.UUID) -> Reservation:
    reservation = session.get(Reservation, reservation_id)
    if reservation is None:
        raise NotFound(
            ErrorCode.RESERVATION_NOT_FOUND,
            f"No reservation {reservation_id}.",
            {"id": str(reservation_id)},
        )
    return reservation


def list_reservations(
    session: Session,
    *,
    status: str | None,
    sku: str | None,
    channel: str | None,
    limit: int,
    offset: int,
    created_by_key_id: int | None = None,
) -> tuple[list[Reservation], int]:
    stmt = select(Reservation)
    if created_by_key_id is not None:
        stmt = stmt.where(Reservation.created_by_key_id == created_by_key_id)
    if status:
        stmt = stmt.where(Reservation.status == status)
    if sku:
        stmt = stmt.where(Reservation.sku == sku)
    if channel:
        stmt = stmt.where(Reservation.channel == channel)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = session.scalars(
        stmt.order_by(Reservation.created_at.desc(), Reservation.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total


def product_names(session: Session, product_ids: Collection[int]) -> dict[int, str]:
    """Names to show next to holds (one query for a whole page)."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(Product.id, Product.name).where(Product.id.in_(sorted(set(product_ids))))
    )
    return {pid: name for pid, name in rows}


def extend(
    session: Session,
    reservation_id: uuid.UUID,
    *,
    ttl_seconds: int | None,
    now: dt.datetime,
    policy: StockPolicy,
    channels: Collection[str] | None = None,
) -> Reservation:
    reservation = _locked_reservation(session, reservation_id)
    check_channel(reservation, channels)
    _require_active(reservation, now, "extended")
    reservation.expires_at = policy.expiry(reservation.channel, now, ttl_seconds)
    reservation.updated_at = now
    session.flush()
    emit_events(
        session,
        [
            NewEvent(
                EventType.RESERVATION_EXTENDED,
                reservation_payload(reservation),
                sku=reservation.sku,
            )
        ],
        now=now,
    )
    return reservation


def commit_reservation(
    session: Session,
    reservation_id: uuid.UUID,
    *,
    actor: str,
    reference: str | None,
    now: dt.datetime,
    policy: StockPolicy,
    order_id: uuid.UUID | None = None,
    channels: Collection[str] | None = None,
) -> Reservation:
    """The sale happened: the held units leave the shop (on_hand and reserved go down)."""
    reservation = _locked_reservation(session, reservation_id)
    check_channel(reservation, channels)
    _require_active(reservation, now, "committed")
    q = reservation.quantity
    level = guarded_update(
        session,
        [
            StockLevel.product_id == reservation.product_id,
            StockLevel.location == reservation.location,
            StockLevel.reserved >= q,
            StockLevel.on_hand >= q,
        ],
        {"on_hand": StockLevel.on_hand - q, "reserved": StockLevel.reserved - q, "updated_at": now},
    )
    if level is None:
        raise RuntimeError(f"reserved counter drift for reservation {reservation.id}")
    price = session.scalar(select(Product.price).where(Product.id == reservation.product_id))
    reservation.status = ReservationStatus.COMMITTED
    reservation.closed_at = now
    reservation.updated_at = now
    reservation.reference = reference
    reservation.order_id = order_id
    # The sale's price is the catalogue's at this moment; later changes do not touch it.
    reservation.unit_price = Decimal(price or 0).quantize(CENT)
    reservation.total = (reservation.unit_price * q).quantize(CENT)
    session.flush()
    record(
        session,
        [journal.Change(level, -q, -q)],
        reason=Reason.SALE,
        actor=actor,
        reference=reference or str(reservation.id),
        now=now,
        policy=policy,
        extra_events=[
            NewEvent(
                EventType.RESERVATION_COMMITTED,
                reservation_payload(reservation),
                sku=reservation.sku,
            )
        ],
    )
    return reservation


def release(
    session: Session,
    reservation_id: uuid.UUID,
    *,
    actor: str,
    now: dt.datetime,
    policy: StockPolicy,
    channels: Collection[str] | None = None,
) -> Reservation:
    """The customer changed their mind: the units are available again at once.

    ``channels`` limits which reservations the caller may touch (a seller: the store's).
    """
    row = (
        session.connection()
        .execute(
            _RELEASE,
            {
                "reservation_id": reservation_id,
                "now": now,
                "channels": list(channels or ALL_CHANNELS),
            },
        )
        .first()
    )
    if row is None:
        reservation = get_reservation(session, reservation_id)
        check_channel(reservation, channels)
        _require_active(reservation, now, "released")
        raise RuntimeError("unreachable: an active reservation was not released")
    _release_rows(session, [row], reason=Reason.RELEASE, actor=actor, now=now, policy=policy)
    return Reservation(**row._mapping)


def check_channel(reservation: Reservation, channels: Collection[str] | None) -> None:
    if channels is not None and reservation.channel not in channels:
        raise Forbidden(
            f"This is a {reservation.channel} reservation; your key may only change "
            f"{' or '.join(sorted(channels))} reservations.",
            {"channel": reservation.channel},
        )


# --- drift check ---------------------------------------------------------------------


@dataclass(frozen=True)
class Drift:
    sku: str
    location: str
    field: str
    stored: int
    expected: int
    source: str


def check(session: Session) -> list[Drift]:
    """Recompute every counter from the ledger and from active reservations."""
    ledger = (
        select(
            StockMovement.product_id,
            StockMovement.location,
            func.sum(StockMovement.delta_on_hand).label("on_hand"),
            func.sum(StockMovement.delta_reserved).label("reserved"),
        )
        .group_by(StockMovement.product_id, StockMovement.location)
        .subquery()
    )
    holds = (
        select(
            Reservation.product_id,
            Reservation.location,
            func.sum(Reservation.quantity).label("reserved"),
        )
        .where(Reservation.status == ReservationStatus.ACTIVE)
        .group_by(Reservation.product_id, Reservation.location)
        .subquery()
    )
    rows = session.execute(
        select(
            Product.sku,
            StockLevel.location,
            StockLevel.on_hand,
            StockLevel.reserved,
            func.coalesce(ledger.c.on_hand, 0),
            func.coalesce(ledger.c.reserved, 0),
            func.coalesce(holds.c.reserved, 0),
        )
        .join(Product, Product.id == StockLevel.product_id)
        .join(
            ledger,
            (ledger.c.product_id == StockLevel.product_id)
            & (ledger.c.location == StockLevel.location),
            isouter=True,
        )
        .join(
            holds,
            (holds.c.product_id == StockLevel.product_id)
            & (holds.c.location == StockLevel.location),
            isouter=True,
        )
        .order_by(Product.sku, StockLevel.location)
    ).all()
    drifts = []
    for sku, location, on_hand, reserved, ledger_on_hand, ledger_reserved, held in rows:
        if on_hand != ledger_on_hand:
            drifts.append(Drift(sku, location, "on_hand", on_hand, int(ledger_on_hand), "ledger"))
        if reserved != ledger_reserved:
            drifts.append(
                Drift(sku, location, "reserved", reserved, int(ledger_reserved), "ledger")
            )
        if reserved != held:
            drifts.append(
                Drift(sku, location, "reserved", reserved, int(held), "active reservations")
            )
    return drifts
