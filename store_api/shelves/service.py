"""Planogram verbs and what a weight reading means in units (no Flask import).

A lane's scale reports the grams on it. Whole units of the lane's product weigh
``units * unit_weight_g``; a reading further than ``tolerance_g`` from every whole number of
units means something else was put back ("wrong item"): the lane is flagged and its unit
count is left as it was until a whole reading comes again.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Select, case, func, literal, select, tuple_
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.errors import ErrorCode, Invalid, NotFound
from store_api.events import service as events
from store_api.events.service import EventType, NewEvent, emit
from store_api.i18n import DEFAULT_LOCALE
from store_api.recommendations import service as recommendations
from store_api.sensors.models import SensorDevice, SensorEvent
from store_api.shelves import texts
from store_api.shelves.models import (
    DiscrepancyFeed,
    HelpAlert,
    LabelFeed,
    LabelState,
    Lane,
    ShelfDiscrepancy,
    ShelfMovement,
    Zone,
)
from store_api.stock.models import (
    Channel,
    Reservation,
    ReservationStatus,
    StockMovement,
)
from store_api.stock.service import StockPolicy, stock_for


@dataclass(frozen=True)
class Units:
    """What a reading means: the nearest whole number of units, and how far off it is."""

    units: int
    off_by_g: float
    whole: bool


def units_from_weight(grams: float, unit_weight_g: float, tolerance_g: float) -> Units:
    """Pure: ``grams`` on a lane of ``unit_weight_g`` items, within ``tolerance_g``."""
    units = max(0, round(grams / unit_weight_g))
    off_by = grams - units * unit_weight_g
    return Units(units=units, off_by_g=off_by, whole=abs(off_by) <= tolerance_g)


class WeightReading(NamedTuple):
    # A tuple: the bridge makes one per weight event.
    shelf: str
    lane: str
    grams: float
    ts: dt.datetime


@dataclass(frozen=True)
class LaneChange:
    """What one reading changed on a lane (units taken are ``before - after`` when > 0)."""

    store: str
    shelf: str
    lane: str
    sku: str
    units_before: int | None
    units_after: int | None
    wrong_item: bool  # the reading is not whole units of the lane's product
    ts: dt.datetime


def apply_weight(store: str, lane: Lane, reading: WeightReading) -> LaneChange | None:
    """Update ``lane`` from one reading; None when the reading is older than the last one."""
    if lane.last_reading_at is not None and reading.ts < lane.last_reading_at:
        return None  # a late redelivery must not undo a newer reading
    measured = units_from_weight(reading.grams, lane.unit_weight_g, lane.tolerance_g)
    before = lane.units_on_shelf
    lane.last_grams = reading.grams
    lane.last_reading_at = reading.ts
    lane.updated_at = reading.ts
    if measured.whole:
        lane.units_on_shelf = measured.units
        lane.wrong_item_since = None
        if lane.counting_since is None:
            lane.counting_since = reading.ts
    elif lane.wrong_item_since is None:
        lane.wrong_item_since = reading.ts
    return LaneChange(
        store=store,
        shelf=lane.shelf,
        lane=lane.lane,
        sku=lane.sku,
        units_before=before,
        units_after=lane.units_on_shelf,
        wrong_item=not measured.whole,
        ts=reading.ts,
    )


def apply_weights(
    session: Session, store: str, readings: Sequence[WeightReading]
) -> list[LaneChange]:
    """Apply readings in order to the lanes of the planogram (one query for the batch).

    Readings of lanes that are not in the planogram are ignored (the events stay stored).
    """
    if not readings:
        return []
    keys = {(r.shelf, r.lane) for r in readings}
    lanes = {
        (lane.shelf, lane.lane): lane
        for lane in session.scalars(
            select(Lane).where(Lane.store == store, tuple_(Lane.shelf, Lane.lane).in_(keys))
        )
    }
    changes = []
    for reading in readings:
        lane = lanes.get((reading.shelf, reading.lane))
        if lane is None:
            continue
        change = apply_weight(store, lane, reading)
        if change is not None:
            changes.append(change)
    record_movements(session, changes)
    return changes


def record_movements(session: Session, changes: Sequence[LaneChange]) -> None:
    """Keep each change of a lane's count: the shelf side of the discrepancy check.

    Only whole readings move the count; a lane whose count was unknown has no "before".
    """
    session.add_all(
        ShelfMovement(
            store=c.store,
            shelf=c.shelf,
            lane=c.lane,
            sku=c.sku,
            ts=c.ts,
            delta=c.units_after - c.units_before,
            units_after=c.units_after,
        )
        for c in changes
        if c.units_before is not None
        and c.units_after is not None
        and c.units_after != c.units_before
    )


# --- the planogram ----------------------------------------------------------------------


def list_lanes(session: Session, store: str, *, sku: str | None = None) -> list[Lane]:
    query = select(Lane).where(Lane.store == store)
    if sku is not None:
        query = query.where(Lane.sku == sku)
    return list(session.scalars(query.order_by(Lane.shelf, Lane.lane)))


def get_lane(session: Session, store: str, shelf: str, lane: str) -> Lane:
    found = session.scalars(
        select(Lane).where(Lane.store == store, Lane.shelf == shelf, Lane.lane == lane)
    ).first()
    if found is None:
        raise NotFound(
            ErrorCode.LANE_NOT_FOUND,
            f"No lane {shelf}/{lane} in the planogram.",
            {"shelf": shelf, "lane": lane},
        )
    return found


def put_lane(
    session: Session, store: str, shelf: str, lane: str, data: Mapping[str, Any], now: dt.datetime
) -> Lane:
    """Create or replace a lane. A new product (or a count) resets what the scale saw."""
    sku = data["sku"]
    if session.scalars(select(Product.id).where(Product.sku == sku)).first() is None:
        raise Invalid(ErrorCode.PRODUCT_NOT_FOUND, f"No product with SKU {sku}.", {"sku": [sku]})
    found = session.scalars(
        select(Lane)
        .where(Lane.store == store, Lane.shelf == shelf, Lane.lane == lane)
        .with_for_update()
    ).first()
    if found is None:
        found = Lane(store=store, shelf=shelf, lane=lane, sku=sku, units_on_shelf=None)
        session.add(found)
    elif found.sku != sku:
        found.units_on_shelf = None
        found.last_grams = None
        found.last_reading_at = None
        found.wrong_item_since = None
        found.counting_since = None
    found.sku = sku
    found.unit_weight_g = float(data["unit_weight_g"])
    found.capacity = int(data["capacity"])
    tolerance = data.get("tolerance_g")
    found.tolerance_g = (
        default_tolerance(found.unit_weight_g) if tolerance is None else float(tolerance)
    )
    if data.get("units_on_shelf") is not None:
        found.units_on_shelf = int(data["units_on_shelf"])
        found.wrong_item_since = None
        # A count by a person: the shelf's movements are followed from now on.
        found.counting_since = now
    found.updated_at = now
    session.flush()
    return found


def default_tolerance(unit_weight_g: float) -> float:
    """A quarter of a unit, at least 5 g (scale noise), when the planogram does not say."""
    return max(5.0, unit_weight_g / 4)


def seed_lanes(
    session: Session, store: str, rows: Iterable[Mapping[str, Any]], now: dt.datetime
) -> int:
    """Load planogram rows (shelf, lane, sku, unit_weight_g, capacity, units_on_shelf)."""
    count = 0
    for row in rows:
        put_lane(session, store, row["shelf"], row["lane"], row, now)
        count += 1
    return count


# --- help needed: a customer lingers at a lane ------------------------------------------


@dataclass(frozen=True)
class HelpSettings:
    """Plain values (no Flask): the API, the CLI and the bridge build it from the config."""

    policy: StockPolicy
    escalate_after_s: float = 120.0
    seller_nearby_s: float = 300.0
    recommender_dir: Path | None = None
    accessory_category: str = "Accessoires"
    # The shop's language: the texts of the notices sent to every tablet.
    locale: str = DEFAULT_LOCALE

    @classmethod
    def from_config(cls, config: Mapping[str, Any], instance_path: Path) -> HelpSettings:
        configured = str(config.get("RECOMMENDER_DIR") or "")
        return cls(
            policy=StockPolicy.from_config(config),
            escalate_after_s=float(config["HELP_ESCALATE_AFTER_SECONDS"]),
            seller_nearby_s=float(config["HELP_SELLER_NEARBY_SECONDS"]),
            recommender_dir=Path(configured) if configured else instance_path / "recommender",
            accessory_category=str(config.get("RECOMMENDER_ACCESSORY_CATEGORY", "Accessoires")),
            locale=str(config.get("DEFAULT_LOCALE") or DEFAULT_LOCALE),
        )


class PresenceReading(NamedTuple):
    zone: str
    occupied: bool
    ts: dt.datetime


@dataclass(frozen=True)
class Notice:
    """A message for the sellers' tablets (published after commit by the caller)."""

    store: str
    payload: dict[str, Any]


def apply_presence(
    session: Session, store: str, readings: Sequence[PresenceReading], settings: HelpSettings
) -> list[Notice]:
    """Follow visits in the zones; raise a help alert when a visit outlasts its threshold.

    A sensor says "occupied" again while someone stays (a heartbeat); the dwell is the device
    time since the first "occupied" of the visit. One alert per visit, and none while a seller
    who acknowledged an alert of this zone is presumed nearby (``seller_nearby_s``).
    """
    if not readings:
        return []
    names = {r.zone for r in readings}
    zones = {
        z.zone: z
        for z in session.scalars(select(Zone).where(Zone.store == store, Zone.zone.in_(names)))
    }
    notices = []
    for reading in readings:
        zone = zones.get(reading.zone)
        if zone is None:
            continue
        if zone.last_presence_at is not None and reading.ts < zone.last_presence_at:
            continue  # late: a newer reading already spoke
        zone.last_presence_at = reading.ts
        if not reading.occupied:
            zone.occupied_since = None
            continue
        if zone.occupied_since is None:
            zone.occupied_since = reading.ts
        dwell = (reading.ts - zone.occupied_since).total_seconds()
        if dwell >= zone.dwell_threshold_s and _may_ask_for_help(session, zone, settings):
            notices.append(raise_help(session, zone, dwell, reading.ts, settings))
    return notices


def _may_ask_for_help(session: Session, zone: Zone, settings: HelpSettings) -> bool:
    assert zone.occupied_since is not None
    nearby_since = zone.occupied_since - dt.timedelta(seconds=settings.seller_nearby_s)
    blocking = session.scalars(
        select(HelpAlert.id)
        .where(HelpAlert.store == zone.store, HelpAlert.zone == zone.zone)
        .where(
            (HelpAlert.raised_at >= zone.occupied_since)  # already asked for this visit
            | (HelpAlert.acknowledged_at >= nearby_since)  # a seller went there lately
        )
        .limit(1)
    ).first()
    return blocking is None


def raise_help(
    session: Session, zone: Zone, dwell_s: float, now: dt.datetime, settings: HelpSettings
) -> Notice:
    """Store an alert and say it (outbox ``help.requested``); return the tablets' notice."""
    lane = session.scalars(
        select(Lane).where(
            Lane.store == zone.store, Lane.shelf == zone.shelf, Lane.lane == zone.lane
        )
    ).first()
    alert = HelpAlert(
        store=zone.store,
        zone=zone.zone,
        shelf=zone.shelf,
        lane=zone.lane,
        sku=lane.sku if lane else None,
        dwell_s=dwell_s,
        raised_at=now,
    )
    session.add(alert)
    session.flush()
    payload = {
        **alert_dict(alert),
        **product_context(session, lane, settings),
    }
    emit(
        session,
        [NewEvent(EventType.HELP_REQUESTED, payload, sku=alert.sku, key=f"help-{alert.id}")],
        now=now,
    )
    product = payload["product"]["name"] if payload.get("product") else None
    return Notice(
        zone.store,
        {
            "type": EventType.HELP_REQUESTED.value,
            **payload,
            "text": alert_text(settings.locale, alert, product),
        },
    )


def product_context(session: Session, lane: Lane | None, settings: HelpSettings) -> dict[str, Any]:
    """What a seller needs on the way: the product, its price, availability, suggestions."""
    if lane is None:
        return {"product": None, "availability": None, "suggestions": []}
    product = session.scalars(select(Product).where(Product.sku == lane.sku)).first()
    if product is None:
        return {"product": None, "availability": None, "suggestions": []}
    stock = stock_for(session, [lane.sku], settings.policy).get(lane.sku)
    holder = (
        recommendations.holder_for(settings.recommender_dir)
        if settings.recommender_dir is not None and settings.recommender_dir.is_dir()
        else None
    )
    suggested = recommendations.recommend_for_product(
        session,
        lane.sku,
        kind="complements",
        limit=3,
        policy=settings.policy,
        holder=holder,
        accessory_category=settings.accessory_category,
    )
    return {
        "product": {"sku": product.sku, "name": product.name, "price": str(product.price)},
        "availability": {
            "on_shelf": lane.units_on_shelf,
            "available": stock.available if stock else 0,
            "at": {loc.location: loc.available for loc in stock.locations} if stock else {},
        },
        "suggestions": [
            {
                "sku": s.sku,
                "name": s.name,
                "price": str(s.price),
                "available": s.available,
                # In the shop's language (French); the code and its values for other clients.
                "reason": s.reason,
                "reason_code": s.reason_code,
                "reason_params": s.reason_params,
            }
            for s in suggested.items
        ],
    }


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def alert_dict(alert: HelpAlert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "status": alert.status,
        "zone": alert.zone,
        "shelf": alert.shelf,
        "lane": alert.lane,
        "sku": alert.sku,
        "dwell_s": round(alert.dwell_s, 1),
        "raised_at": _iso(alert.raised_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "acknowledged_by": alert.acknowledged_by,
        "escalated_at": _iso(alert.escalated_at),
    }


def acknowledge(
    session: Session, store: str, alert_id: int, by: str, now: dt.datetime
) -> HelpAlert:
    """A seller goes: the first acknowledgement counts, later ones change nothing."""
    alert = session.scalars(
        select(HelpAlert)
        .where(HelpAlert.store == store, HelpAlert.id == alert_id)
        .with_for_update()
    ).first()
    if alert is None:
        raise NotFound(
            ErrorCode.ALERT_NOT_FOUND, f"No help alert {alert_id}.", {"alert_id": alert_id}
        )
    if alert.acknowledged_at is None:
        # raised_at is the presence sensor's time: a clock behind it must not make the
        # response time negative.
        alert.acknowledged_at = max(now, alert.raised_at)
        alert.acknowledged_by = by
        emit(
            session,
            [
                NewEvent(
                    EventType.HELP_ACKNOWLEDGED,
                    alert_dict(alert),
                    sku=alert.sku,
                    key=f"help-{alert.id}",
                )
            ],
            now=now,
        )
    return alert


def escalate_due(
    session: Session, store: str, now: dt.datetime, settings: HelpSettings
) -> list[Notice]:
    """Alerts nobody acknowledged within ``escalate_after_s``: escalate each once."""
    cutoff = now - dt.timedelta(seconds=settings.escalate_after_s)
    due = list(
        session.scalars(
            select(HelpAlert)
            .where(
                HelpAlert.store == store,
                HelpAlert.acknowledged_at.is_(None),
                HelpAlert.escalated_at.is_(None),
                HelpAlert.raised_at <= cutoff,
            )
            .order_by(HelpAlert.id)
            .with_for_update()
        )
    )
    for alert in due:
        alert.escalated_at = now
    emit(
        session,
        [
            NewEvent(EventType.HELP_ESCALATED, alert_dict(a), sku=a.sku, key=f"help-{a.id}")
            for a in due
        ],
        now=now,
    )
    names = product_names(session, (a.sku for a in due)) if due else {}
    return [
        Notice(
            store,
            {
                "type": EventType.HELP_ESCALATED.value,
                **alert_dict(a),
                "text": alert_text(settings.locale, a, names.get(a.sku or "")),
            },
        )
        for a in due
    ]


def product_names(session: Session, skus: Iterable[str | None]) -> dict[str, str]:
    """The names of the products alerts are about (one query for a list)."""
    wanted = sorted({sku for sku in skus if sku})
    if not wanted:
        return {}
    rows = session.execute(select(Product.sku, Product.name).where(Product.sku.in_(wanted)))
    return {sku: name for sku, name in rows}


def alert_text(locale: str, alert: HelpAlert, product_name: str | None) -> str:
    """The alert as a sentence in ``locale`` (French by default): what a seller or owner reads."""
    code, params = texts.help_alert(
        alert.status, alert.shelf, alert.lane, product_name, alert.acknowledged_by
    )
    return texts.render(locale, code, params)


def list_alerts(
    session: Session, store: str, *, status: str | None = None, limit: int = 100
) -> list[HelpAlert]:
    query = select(HelpAlert).where(HelpAlert.store == store)
    if status == "acknowledged":
        query = query.where(HelpAlert.acknowledged_at.is_not(None))
    elif status == "open":
        query = query.where(HelpAlert.acknowledged_at.is_(None), HelpAlert.escalated_at.is_(None))
    elif status == "escalated":
        query = query.where(
            HelpAlert.acknowledged_at.is_(None), HelpAlert.escalated_at.is_not(None)
        )
    return list(session.scalars(query.order_by(HelpAlert.id.desc()).limit(limit)))


def put_zone(
    session: Session,
    store: str,
    zone: str,
    shelf: str,
    lane: str,
    dwell_threshold_s: int,
) -> Zone:
    found = session.scalars(select(Zone).where(Zone.store == store, Zone.zone == zone)).first()
    if found is None:
        found = Zone(store=store, zone=zone)
        session.add(found)
    found.shelf, found.lane, found.dwell_threshold_s = shelf, lane, dwell_threshold_s
    session.flush()
    return found


# --- shelf labels ------------------------------------------------------------------------

# The events after which a label may show something else.
LABEL_EVENT_TYPES = ("product.*", "stock.changed")
# Stock a customer can take home today (the rest is for the webshop).
ONLINE_ONLY_LOCATIONS = frozenset({"warehouse"})


def label_name(shelf: str, lane: str) -> str:
    return f"{shelf}-{lane}"


def availability(here: int, total: int, low_threshold: int) -> str:
    """What the label says: in stock, last units, or order online."""
    if here > low_threshold:
        return "in_stock"
    if here > 0:
        return "last_units"
    return "order_online"


def desired_labels(
    session: Session, lanes: Sequence[Lane], settings: HelpSettings
) -> dict[int, dict[str, Any]]:
    """The state each lane's label should show, by lane id."""
    skus = sorted({lane.sku for lane in lanes})
    products = {p.sku: p for p in session.scalars(select(Product).where(Product.sku.in_(skus)))}
    stock = stock_for(session, skus, settings.policy)
    holder = (
        recommendations.holder_for(settings.recommender_dir)
        if settings.recommender_dir is not None and settings.recommender_dir.is_dir()
        else None
    )
    states = {}
    for lane in lanes:
        product = products.get(lane.sku)
        levels = stock.get(lane.sku)
        here = (
            sum(
                loc.available
                for loc in levels.locations
                if loc.location not in ONLINE_ONLY_LOCATIONS
            )
            if levels
            else 0
        )
        total = levels.available if levels else 0
        threshold = (
            product.low_stock_threshold
            if product is not None and product.low_stock_threshold is not None
            else settings.policy.low_stock_threshold
        )
        suggestion = None
        if product is not None and product.active:
            items = recommendations.recommend_for_product(
                session,
                lane.sku,
                kind="complements",
                limit=1,
                policy=settings.policy,
                holder=holder,
                accessory_category=settings.accessory_category,
            ).items
            if items:
                suggestion = {
                    "sku": items[0].sku,
                    "name": items[0].name,
                    "price": str(items[0].price),
                }
        states[lane.id] = {
            "label": label_name(lane.shelf, lane.lane),
            "sku": lane.sku,
            "name": product.name if product else None,
            "price": str(product.price) if product else None,
            "availability": availability(here, total, threshold)
            if product is not None and product.active
            else "order_online",
            "suggestion": suggestion,
        }
    return states


def sync_labels(
    session: Session,
    store: str,
    settings: HelpSettings,
    now: dt.datetime,
    *,
    skus: Iterable[str] | None = None,
) -> list[LabelState]:
    """Bring label states up to date (all lanes, or those of ``skus``); return the changed."""
    query = select(Lane).where(Lane.store == store)
    if skus is not None:
        wanted = set(skus)
        missing = select(LabelState.label).where(LabelState.store == store)
        known = set(session.scalars(missing))
        lanes = [
            lane
            for lane in session.scalars(query)
            if lane.sku in wanted or label_name(lane.shelf, lane.lane) not in known
        ]
    else:
        lanes = list(session.scalars(query))
    if not lanes:
        return []
    desired = desired_labels(session, lanes, settings)
    current = {
        s.label: s for s in session.scalars(select(LabelState).where(LabelState.store == store))
    }
    changed = []
    for lane in lanes:
        state = desired[lane.id]
        found = current.get(state["label"])
        if found is None:
            found = LabelState(
                store=store, label=state["label"], shelf=lane.shelf, lane=lane.lane, sku=lane.sku
            )
            session.add(found)
        elif found.state == state:
            continue
        found.sku, found.state, found.updated_at = lane.sku, state, now
        changed.append(found)
    session.flush()
    return changed


def poll_labels(
    session: Session, store: str, settings: HelpSettings, now: dt.datetime, limit: int = 1000
) -> list[LabelState]:
    """Follow the outbox from the stored cursor; update the labels the new events touch."""
    feed = session.get(LabelFeed, store, with_for_update=True)
    if feed is None:
        # First run: every label from scratch, then follow the outbox from here.
        feed = LabelFeed(store=store, after_seq=events.last_seq(session))
        session.add(feed)
        return sync_labels(session, store, settings, now)
    page = events.read(session, after=feed.after_seq, limit=limit, types=LABEL_EVENT_TYPES)
    feed.after_seq = page.next_after
    return sync_labels(
        session, store, settings, now, skus={e.sku for e in page.events if e.sku is not None}
    )


def label_states(session: Session, store: str) -> list[LabelState]:
    return list(
        session.scalars(
            select(LabelState).where(LabelState.store == store).order_by(LabelState.label)
        )
    )


# --- footfall and device health --------------------------------------------------------


@dataclass(frozen=True)
class FootfallHour:
    hour: dt.datetime  # UTC, start of the hour
    visitors_in: int
    visitors_out: int
    sales: int  # store sales (committed reservations' ledger rows)
    units_sold: int


def _hour(ts: dt.datetime) -> dt.datetime:
    return ts.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def door_counts_query(store: str, start: dt.datetime, end: dt.datetime) -> Select[Any]:
    """The door counters' events of a store in [start, end) (partial index on store, ts)."""
    return select(SensorEvent.ts, SensorEvent.payload).where(
        SensorEvent.store == store,
        # Inline, not a bound parameter: the planner matches it to the index's predicate.
        SensorEvent.kind == literal("footfall", literal_execute=True),
        SensorEvent.ts >= start,
        SensorEvent.ts < end,
    )


def footfall(
    session: Session, store: str, start: dt.datetime, end: dt.datetime
) -> list[FootfallHour]:
    """Door counts per UTC hour in [start, end), next to the store's sales in that hour."""
    first, last = _hour(start), _hour(end - dt.timedelta(microseconds=1))
    hours: dict[dt.datetime, list[int]] = {}
    at = first
    while at <= last:
        hours[at] = [0, 0, 0, 0]
        at += dt.timedelta(hours=1)
    for ts, payload in session.execute(door_counts_query(store, start, end)):
        row = hours.get(_hour(ts))
        if row is not None:
            row[0 if payload.get("direction") == "in" else 1] += int(payload.get("count", 0))
    # Store sales only: a seller's hold committed at the till (a web commit or an order is
    # the webshop's sale, whoever walked through the door).
    sold = session.execute(
        select(Reservation.closed_at, Reservation.quantity).where(
            Reservation.status == ReservationStatus.COMMITTED.value,
            Reservation.channel == Channel.STORE.value,
            Reservation.order_id.is_(None),
            Reservation.closed_at >= start,
            Reservation.closed_at < end,
        )
    )
    for ts, quantity in sold:
        row = hours.get(_hour(ts)) if ts is not None else None
        if row is not None:
            row[2] += 1
            row[3] += quantity
    return [FootfallHour(hour, *values) for hour, values in hours.items()]


def list_devices(session: Session, store: str) -> list[SensorDevice]:
    return list(
        session.scalars(
            select(SensorDevice).where(SensorDevice.store == store).order_by(SensorDevice.device_id)
        )
    )


# --- tasks for sellers -------------------------------------------------------------------

REFILL_FROM = "backroom"


@dataclass(frozen=True)
class RefillTask:
    shelf: str
    lane: str
    sku: str
    name: str
    units_on_shelf: int
    capacity: int
    backroom_available: int

    @property
    def quantity(self) -> int:
        return min(self.capacity - self.units_on_shelf, self.backroom_available)

    def text(self, locale: str) -> str:
        """What a seller reads, in their language (the code and parameters: ``texts.refill``)."""
        return texts.render(locale, *texts.refill(self))


def refill_tasks(session: Session, store: str, policy: StockPolicy) -> list[RefillTask]:
    """Empty lanes (as the scales say) whose product waits in the backroom."""
    empty = list(
        session.scalars(
            select(Lane)
            .where(Lane.store == store, Lane.units_on_shelf == 0)
            .order_by(Lane.shelf, Lane.lane)
        )
    )
    if not empty:
        return []
    skus = sorted({lane.sku for lane in empty})
    stock = stock_for(session, skus, policy)
    names = {
        sku: name
        for sku, name in session.execute(
            select(Product.sku, Product.name).where(Product.sku.in_(skus))
        )
    }
    tasks = []
    for lane in empty:
        levels = stock.get(lane.sku)
        backroom = sum(
            loc.available
            for loc in (levels.locations if levels else [])
            if loc.location == REFILL_FROM
        )
        if backroom > 0 and lane.capacity > 0:
            tasks.append(
                RefillTask(
                    lane.shelf,
                    lane.lane,
                    lane.sku,
                    names.get(lane.sku, lane.sku),
                    0,
                    lane.capacity,
                    backroom,
                )
            )
    return tasks


def refill_notices(
    session: Session,
    store: str,
    changes: Sequence[LaneChange],
    policy: StockPolicy,
    locale: str = DEFAULT_LOCALE,
) -> list[Notice]:
    """Lanes these readings emptied while their product waits in the backroom: tell sellers
    (``text`` in the shop's language; ``code`` and the fields for tablets that say it their way).
    """
    emptied = {
        (c.shelf, c.lane)
        for c in changes
        if c.units_after == 0 and c.units_before is not None and c.units_before > 0
    }
    if not emptied:
        return []
    return [
        Notice(
            store,
            {
                "type": "task.refill",
                "text": task.text(locale),
                "shelf": task.shelf,
                "lane": task.lane,
                "sku": task.sku,
                "name": task.name,
                "quantity": task.quantity,
                "capacity": task.capacity,
                "backroom_available": task.backroom_available,
            },
        )
        for task in refill_tasks(session, store, policy)
        if (task.shelf, task.lane) in emptied
    ]


# --- shelf vs system: discrepancies -----------------------------------------------------

# The stock location the scaled lanes hold (the sales floor).
SHELF_LOCATION = "floor"


@dataclass(frozen=True)
class DiscrepancySettings:
    """Plain values from the config (``DISCREPANCY_*``)."""

    window_s: int = 7200
    # |difference| up to this many units raises nothing (a hold made just after the window).
    tolerance_units: int = 1
    # A window is compared this long after it ended: late sensor events and holds land first.
    settle_s: int = 300
    location: str = SHELF_LOCATION
    # After a long downtime, windows further back than this many are skipped.
    catch_up_windows: int = 12

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> DiscrepancySettings:
        return cls(
            window_s=int(config["DISCREPANCY_WINDOW_SECONDS"]),
            tolerance_units=int(config["DISCREPANCY_TOLERANCE_UNITS"]),
            settle_s=int(config["DISCREPANCY_SETTLE_SECONDS"]),
        )


def window_start(ts: dt.datetime, window_s: int) -> dt.datetime:
    """The start of the window holding ``ts``: windows are aligned on the Unix epoch (UTC)."""
    seconds = int(ts.timestamp()) // window_s * window_s
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def evaluate_discrepancies(
    session: Session, store: str, now: dt.datetime, settings: DiscrepancySettings
) -> list[ShelfDiscrepancy]:
    """Compare each window that ended ``settle_s`` ago and has not been compared yet.

    Cheap when there is nothing to do (one row read): the bridge calls it on its timer. The
    first call compares the last complete window only.
    """
    width = dt.timedelta(seconds=settings.window_s)
    due = window_start(now - dt.timedelta(seconds=settings.settle_s), settings.window_s)
    feed = session.get(DiscrepancyFeed, store, with_for_update=True)
    if feed is None:
        feed = DiscrepancyFeed(store=store, evaluated_until=due - width)
        session.add(feed)
    start = window_start(
        max(feed.evaluated_until, due - settings.catch_up_windows * width), settings.window_s
    )
    raised: list[ShelfDiscrepancy] = []
    while start + width <= due:
        raised += compare_window(session, store, start, start + width, now, settings)
        start += width
    if due > feed.evaluated_until:
        feed.evaluated_until = due
    return raised


def compare_window(
    session: Session,
    store: str,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
    settings: DiscrepancySettings,
) -> list[ShelfDiscrepancy]:
    """Per product: units that left its lanes (net of those put back) in [start, end) versus
    floor units the stock ledger says went (holds, write-offs, less deliveries and releases).

    The ledger cannot tell lanes apart, so a product on several lanes is compared as one, and
    only when each of its lanes was counted (``counting_since``) for the whole window. Raises
    (and emits ``shelf.discrepancy``) once per product and window.
    """
    # The products of the planogram whose every lane was counted during the whole window (a
    # lane set up or re-stocked with another product meanwhile would compare half a window).
    lanes: dict[str, list[str]] = defaultdict(list)
    partial: set[str] = set()
    for sku, shelf_name, lane, since in session.execute(
        select(Lane.sku, Lane.shelf, Lane.lane, Lane.counting_since).where(Lane.store == store)
    ):
        lanes[sku].append(label_name(shelf_name, lane))
        if since is None or since > start:
            partial.add(sku)
    skus = sorted(set(lanes) - partial)
    if not skus:
        return []
    taken_expr = func.sum(case((ShelfMovement.delta < 0, -ShelfMovement.delta), else_=0))
    back_expr = func.sum(case((ShelfMovement.delta > 0, ShelfMovement.delta), else_=0))
    shelf = {
        sku: (int(taken or 0), int(back or 0))
        for sku, taken, back in session.execute(
            select(ShelfMovement.sku, taken_expr, back_expr)
            .where(
                ShelfMovement.store == store,
                ShelfMovement.ts >= start,
                ShelfMovement.ts < end,
                ShelfMovement.sku.in_(skus),
            )
            .group_by(ShelfMovement.sku)
        )
    }
    accounted = {
        sku: int(units or 0)
        for sku, units in session.execute(
            select(
                Product.sku,
                func.sum(StockMovement.delta_reserved - StockMovement.delta_on_hand),
            )
            .join(Product, Product.id == StockMovement.product_id)
            .where(
                Product.sku.in_(skus),
                StockMovement.location == settings.location,
                StockMovement.created_at >= start,
                StockMovement.created_at < end,
            )
            .group_by(Product.sku)
        )
    }
    known = set(
        session.scalars(
            select(ShelfDiscrepancy.sku).where(
                ShelfDiscrepancy.store == store,
                ShelfDiscrepancy.window_start == start,
                ShelfDiscrepancy.sku.in_(skus),
            )
        )
    )
    raised = []
    for sku in skus:
        taken, back = shelf.get(sku, (0, 0))
        difference = taken - back - accounted.get(sku, 0)
        if abs(difference) <= settings.tolerance_units or sku in known:
            continue
        found = ShelfDiscrepancy(
            store=store,
            sku=sku,
            lanes=sorted(lanes[sku]),
            window_start=start,
            window_end=end,
            taken=taken,
            put_back=back,
            accounted=accounted.get(sku, 0),
            difference=difference,
            raised_at=now,
        )
        session.add(found)
        raised.append(found)
    if not raised:
        return []
    session.flush()
    emit(
        session,
        [
            NewEvent(
                EventType.SHELF_DISCREPANCY,
                discrepancy_dict(d),
                sku=d.sku,
                key=f"discrepancy-{d.id}",
            )
            for d in raised
        ],
        now=now,
    )
    return raised


def discrepancy_dict(found: ShelfDiscrepancy) -> dict[str, Any]:
    """A discrepancy as the outbox carries it (the API adds nothing)."""
    return {
        "discrepancy_id": found.id,
        "status": found.status,
        "kind": found.kind,
        "sku": found.sku,
        "lanes": list(found.lanes),
        "window_start": _iso(found.window_start),
        "window_end": _iso(found.window_end),
        "taken": found.taken,
        "put_back": found.put_back,
        "accounted": found.accounted,
        "difference": found.difference,
        "raised_at": _iso(found.raised_at),
        "resolved_at": _iso(found.resolved_at),
        "resolved_by": found.resolved_by,
        "note": found.note,
    }


def list_discrepancies(
    session: Session,
    store: str,
    *,
    status: str | None = None,
    sku: str | None = None,
    date_from: dt.datetime | None = None,
    date_to: dt.datetime | None = None,
    limit: int = 100,
) -> list[ShelfDiscrepancy]:
    """Newest window first; ``date_from``/``date_to`` bound the window's start."""
    query = select(ShelfDiscrepancy).where(ShelfDiscrepancy.store == store)
    if status == "open":
        query = query.where(ShelfDiscrepancy.resolved_at.is_(None))
    elif status == "resolved":
        query = query.where(ShelfDiscrepancy.resolved_at.is_not(None))
    if sku is not None:
        query = query.where(ShelfDiscrepancy.sku == sku)
    if date_from is not None:
        query = query.where(ShelfDiscrepancy.window_start >= date_from)
    if date_to is not None:
        query = query.where(ShelfDiscrepancy.window_start < date_to)
    order = (ShelfDiscrepancy.window_start.desc(), ShelfDiscrepancy.id.desc())
    return list(session.scalars(query.order_by(*order).limit(limit)))


def get_discrepancy(session: Session, store: str, discrepancy_id: int) -> ShelfDiscrepancy:
    found = session.scalars(
        select(ShelfDiscrepancy).where(
            ShelfDiscrepancy.store == store, ShelfDiscrepancy.id == discrepancy_id
        )
    ).first()
    if found is None:
        raise NotFound(
            ErrorCode.NOT_FOUND,
            f"No shelf discrepancy {discrepancy_id}.",
            {"discrepancy_id": discrepancy_id},
        )
    return found


def resolve_discrepancy(
    session: Session, store: str, discrepancy_id: int, by: str, note: str | None, now: dt.datetime
) -> ShelfDiscrepancy:
    """The owner looked into it: the first resolution (who, when, a note) is kept."""
    found = session.scalars(
        select(ShelfDiscrepancy)
        .where(ShelfDiscrepancy.store == store, ShelfDiscrepancy.id == discrepancy_id)
        .with_for_update()
    ).first()
    if found is None:
        raise NotFound(
            ErrorCode.NOT_FOUND,
            f"No shelf discrepancy {discrepancy_id}.",
            {"discrepancy_id": discrepancy_id},
        )
    if found.resolved_at is None:
        found.resolved_at = now
        found.resolved_by = by
        found.note = note
    return found


# --- the owner's "In store" page: local days, totals, response times --------------------------
# Read-only. Days are the shop's local days (``tz``, Europe/Paris by default), both ends
# included, like the browsing reports; the sensors and the ledger keep UTC.


def local_bounds(
    date_from: dt.date, date_to: dt.date, tz: dt.tzinfo
) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) in UTC of the local days ``date_from`` .. ``date_to``."""
    start = dt.datetime.combine(date_from, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def _days(date_from: dt.date, date_to: dt.date) -> list[dt.date]:
    return [date_from + dt.timedelta(days=n) for n in range((date_to - date_from).days + 1)]


@dataclass(frozen=True)
class FootfallTotal:
    """Door counts and store sales summed over some hours (a local day, an hour of the day)."""

    visitors_in: int = 0
    visitors_out: int = 0
    sales: int = 0  # committed store holds, as :func:`footfall` counts them
    units_sold: int = 0

    @property
    def conversion(self) -> float | None:
        """Store sales per visitor through the door; None when nobody came in."""
        return round(self.sales / self.visitors_in, 4) if self.visitors_in else None

    def plus(self, hour: FootfallHour) -> FootfallTotal:
        return FootfallTotal(
            self.visitors_in + hour.visitors_in,
            self.visitors_out + hour.visitors_out,
            self.sales + hour.sales,
            self.units_sold + hour.units_sold,
        )


@dataclass(frozen=True)
class StoreFootfall:
    days: dict[dt.date, FootfallTotal]  # every local day of the period, zeros included
    total: FootfallTotal  # the whole period
    # Conversion needs door counts: the days a door counter counted someone, summed (hours:
    # by local hour of the day, 0-23). A day without counts (counter off) would inflate it.
    counted_days: int
    counted: FootfallTotal
    hours: dict[int, FootfallTotal]


def store_footfall(
    session: Session, store: str, date_from: dt.date, date_to: dt.date, tz: dt.tzinfo
) -> StoreFootfall:
    """:func:`footfall` (UTC hours) summed by local day and by local hour of the day.

    A UTC hour falls in one local hour for whole-hour offsets (Europe/Paris); on the autumn
    night the clocks go back, both 02:00 hours count in the hour of the day 2.
    """
    start, end = local_bounds(date_from, date_to, tz)
    local = [(hour.hour.astimezone(tz), hour) for hour in footfall(session, store, start, end)]
    days = dict.fromkeys(_days(date_from, date_to), FootfallTotal())
    total = FootfallTotal()
    for at, hour in local:
        if at.date() in days:
            days[at.date()] = days[at.date()].plus(hour)
        total = total.plus(hour)
    counted_days = {day for day, sums in days.items() if sums.visitors_in > 0}
    hours = dict.fromkeys(range(24), FootfallTotal())
    counted = FootfallTotal()
    for at, hour in local:
        if at.date() in counted_days:
            hours[at.hour] = hours[at.hour].plus(hour)
            counted = counted.plus(hour)
    return StoreFootfall(days, total, len(counted_days), counted, hours)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) of ``values``, interpolated between the closest ranks (as
    numpy's default and spreadsheets' PERCENTILE do); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass(frozen=True)
class ResponseTimes:
    """Help alerts of a group (a local day, a zone, the period) and how fast a seller went."""

    alerts: int
    acknowledged: int
    # Nobody answered within HELP_ESCALATE_AFTER_SECONDS (some were acknowledged later).
    escalated: int
    acknowledged_after_escalation: int
    not_acknowledged: int  # still waiting, or nobody ever went
    median_s: float | None  # raised -> acknowledged, over the acknowledged alerts
    p90_s: float | None


def response_times(alerts: Iterable[HelpAlert]) -> ResponseTimes:
    alerts = list(alerts)
    waits = [
        (a.acknowledged_at - a.raised_at).total_seconds()
        for a in alerts
        if a.acknowledged_at is not None
    ]
    escalated = [a for a in alerts if a.escalated_at is not None]
    median = percentile(waits, 0.5)
    p90 = percentile(waits, 0.9)
    return ResponseTimes(
        alerts=len(alerts),
        acknowledged=len(waits),
        escalated=len(escalated),
        acknowledged_after_escalation=sum(a.acknowledged_at is not None for a in escalated),
        not_acknowledged=len(alerts) - len(waits),
        median_s=None if median is None else round(median, 1),
        p90_s=None if p90 is None else round(p90, 1),
    )


@dataclass(frozen=True)
class HelpResponse:
    days: dict[dt.date, ResponseTimes]  # every local day of the period (by raised_at)
    zones: dict[str, ResponseTimes]  # the zones that asked for help, by name
    total: ResponseTimes


def help_response(
    session: Session, store: str, date_from: dt.date, date_to: dt.date, tz: dt.tzinfo
) -> HelpResponse:
    """Help alerts raised in the local days ``date_from`` .. ``date_to``, with their timings."""
    start, end = local_bounds(date_from, date_to, tz)
    alerts = list(
        session.scalars(
            select(HelpAlert)
            .where(
                HelpAlert.store == store, HelpAlert.raised_at >= start, HelpAlert.raised_at < end
            )
            .order_by(HelpAlert.raised_at, HelpAlert.id)
        )
    )
    by_day: dict[dt.date, list[HelpAlert]] = {day: [] for day in _days(date_from, date_to)}
    by_zone: dict[str, list[HelpAlert]] = defaultdict(list)
    for alert in alerts:
        by_day.setdefault(alert.raised_at.astimezone(tz).date(), []).append(alert)
        by_zone[alert.zone].append(alert)
    return HelpResponse(
        days={day: response_times(found) for day, found in by_day.items()},
        zones={zone: response_times(by_zone[zone]) for zone in sorted(by_zone)},
        total=response_times(alerts),
    )


@dataclass(frozen=True)
class ShelfVsSystem:
    found: list[ShelfDiscrepancy]  # windows starting in the period: open first, newest first
    missing_per_day: dict[dt.date, int]  # units, every local day of the period
    surplus_per_day: dict[dt.date, int]
    names: dict[str, str]  # product names by SKU
    open_before: int  # still open, from windows before the period


def shelf_vs_system(
    session: Session, store: str, date_from: dt.date, date_to: dt.date, tz: dt.tzinfo
) -> ShelfVsSystem:
    """The discrepancies whose window starts in the local days, the open ones first."""
    start, end = local_bounds(date_from, date_to, tz)
    found = list(
        session.scalars(
            select(ShelfDiscrepancy)
            .where(
                ShelfDiscrepancy.store == store,
                ShelfDiscrepancy.window_start >= start,
                ShelfDiscrepancy.window_start < end,
            )
            .order_by(
                case((ShelfDiscrepancy.resolved_at.is_(None), 0), else_=1),
                ShelfDiscrepancy.window_start.desc(),
                ShelfDiscrepancy.id.desc(),
            )
        )
    )
    missing = dict.fromkeys(_days(date_from, date_to), 0)
    surplus = dict(missing)
    for item in found:
        day = item.window_start.astimezone(tz).date()
        if day in missing:
            if item.difference > 0:
                missing[day] += item.difference
            else:
                surplus[day] -= item.difference
    skus = sorted({item.sku for item in found})
    names = (
        dict(session.execute(select(Product.sku, Product.name).where(Product.sku.in_(skus))).all())
        if skus
        else {}
    )
    open_before = session.scalar(
        select(func.count())
        .select_from(ShelfDiscrepancy)
        .where(
            ShelfDiscrepancy.store == store,
            ShelfDiscrepancy.resolved_at.is_(None),
            ShelfDiscrepancy.window_start < start,
        )
    )
    return ShelfVsSystem(found, missing, surplus, names, int(open_before or 0))
