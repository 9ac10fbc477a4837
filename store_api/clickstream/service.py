"""Collect webshop events into visits, and purge what is past its retention.

:func:`collect` is the one way in (the API, the demo seed): each event is validated on its own,
duplicates by ``event_id`` are stored once, events are cut into visits after 30 minutes of
inactivity, and nothing that identifies a person is written (see ``privacy``). It is
:func:`prepare` (validation and conversion, no database) then :func:`store` (the SQL), so that
the route does the first before it takes the write lock. Built for throughput: per batch a
handful of statements (the known ids and the visitor's last visit in one, a new visit if any,
one insert of the events, at most one visit update), prebuilt statements, the day's salt cached
in memory. The caller commits.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import hashlib
import hmac
import importlib
import secrets
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast

from marshmallow import ValidationError
from sqlalchemy import (
    CompoundSelect,
    Connection,
    Engine,
    Row,
    Select,
    Table,
    any_,
    bindparam,
    delete,
    exists,
    insert,
    null,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from store_api.clickstream import bots, privacy
from store_api.clickstream.models import ClickEvent, DailyCounter, Visit, VisitorSalt
from store_api.clickstream.schemas import (
    ITEM,
    ITEM_EVENTS,
    PARAMS,
    RECO_EVENTS,
    CollectEventSchema,
    CollectRecoEventSchema,
    has_clean_text,
    load_event_fast,
    load_item_fast,
    load_params_fast,
)
from store_api.recommendations import feedback
from store_api.schemas import find_bad_text

_events = cast(Table, ClickEvent.__table__)
_visits = cast(Table, Visit.__table__)
_salts = cast(Table, VisitorSalt.__table__)
_counters = cast(Table, DailyCounter.__table__)

_event_schema = CollectEventSchema()
_reco_schema = CollectRecoEventSchema()

BOT_EVENTS = "bot_events"
OPTED_OUT_EVENTS = "opted_out_events"
REJECTED_EVENTS = "rejected_events"


# --- inputs and outputs ----------------------------------------------------------------


@dataclass(frozen=True)
class ClientInfo:
    """Who sent the batch, used only to derive the visitor, device and browser; never stored."""

    ip: str
    user_agent: str
    gpc: bool = False  # Sec-GPC: 1 or DNT: 1


@dataclass(frozen=True)
class RecoSender:
    """The key that sent in-store events (reco_shown, reco_accepted)."""

    channel: str
    actor: str


@dataclass(frozen=True)
class CollectSettings:
    site: str = "store-1"
    # The shop's own hosts (besides each page's): a referrer from them is not a new source.
    shop_hosts: frozenset[str] = frozenset()
    visit_gap: dt.timedelta = dt.timedelta(minutes=30)
    future_tolerance: dt.timedelta = dt.timedelta(minutes=5)
    max_age: dt.timedelta = dt.timedelta(days=1)
    raw_retention_months: int = 13
    aggregate_retention_months: int = 25

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CollectSettings:
        hosts = {privacy.host_of(origin) for origin in config.get("ANALYTICS_ORIGINS", ())}
        return cls(
            site=config.get("ANALYTICS_SITE") or config.get("STORE_ID") or cls.site,
            shop_hosts=frozenset(h for h in hosts if h),
            raw_retention_months=int(config.get("ANALYTICS_RAW_RETENTION_MONTHS", 13)),
            aggregate_retention_months=int(config.get("ANALYTICS_AGGREGATE_RETENTION_MONTHS", 25)),
        )


@dataclass(frozen=True)
class CollectResult:
    accepted: int
    duplicates: int
    rejected: list[feedback.Rejected] = field(default_factory=list)
    bot: bool = False
    opted_out: bool = False


# --- collect ---------------------------------------------------------------------------


def collect(
    session: Session,
    raw_events: Sequence[Any],
    *,
    client: ClientInfo,
    now: dt.datetime,
    settings: CollectSettings | None = None,
    reco: RecoSender | None = None,
) -> CollectResult:
    """Store a batch's valid events; report the others by index with field-named reasons.

    A robot's or an opted-out browser's web events are counted, not stored. In-store events
    (reco_shown, reco_accepted) need ``reco`` (the sender's key) and are recorded by
    ``recommendations.feedback``; without it each is rejected. :func:`prepare` then
    :func:`store`: callers that hold a lock to write (the route) prepare before taking it.
    """
    return store(session, prepare(raw_events, client=client, now=now, settings=settings), reco=reco)


@dataclass
class _Event:
    index: int
    event_id: str
    occurred_at: dt.datetime
    page: str
    referrer: str | None
    row: dict[str, Any]
    transaction_id: str | None = None  # a purchase's; stored hashed under the day's salt
    bound: list[Any] | None = None  # ``row`` converted for the driver by ``bound_by``
    bound_by: _EventInsert | None = None


@dataclass(frozen=True)
class Batch:
    """A batch validated and cut into events, before any SQL; :func:`store` writes it once."""

    client: ClientInfo
    now: dt.datetime
    settings: CollectSettings
    web: int  # web events received, whatever became of them
    events: list[_Event]  # the valid web events to store, one per event_id, oldest first
    duplicates: int  # event_ids repeated within the batch
    in_store: list[tuple[int, Any]]
    rejected: dict[int, dict[str, Any]]
    bot: bool


def prepare(
    raw_events: Sequence[Any],
    *,
    client: ClientInfo,
    now: dt.datetime,
    settings: CollectSettings | None = None,
    text_checked: bool = False,
    dialect: Dialect | None = None,
) -> Batch:
    """Validate a batch's web events and drop repeats within it; no database, no lock.

    ``text_checked``: the caller has made sure no string of the batch holds a NUL or a lone
    surrogate (the route scans the request body, which is cheaper than walking the events).
    ``dialect``: the database's, to convert the rows for its driver here rather than in
    :func:`store` (see ``_EventInsert``).
    """
    settings = settings or CollectSettings()
    web: list[tuple[int, Any]] = []
    in_store: list[tuple[int, Any]] = []
    for index, raw in enumerate(raw_events):
        name = raw.get("name") if isinstance(raw, dict) else None
        (in_store if name in RECO_EVENTS else web).append((index, raw))
    bot = bots.is_bot(client.user_agent)
    rejected: dict[int, dict[str, Any]] = {}
    unique: dict[str, _Event] = {}
    duplicates = 0
    if web and not client.gpc and not bot:
        clean = text_checked or has_clean_text([raw for _index, raw in web])
        window = _Window.around(now, settings)
        for index, raw in web:
            event, errors = _parse(index, raw, window, clean)
            if event is None:
                rejected[index] = errors
            elif event.event_id in unique:
                duplicates += 1  # the first of a batch wins, as it would across retries
            else:
                unique[event.event_id] = event
    events = sorted(unique.values(), key=lambda e: e.occurred_at)
    if dialect is not None and events:
        inserts = _event_insert(dialect)
        for event, bound in zip(events, inserts.bind([e.row for e in events]), strict=True):
            event.bound, event.bound_by = bound, inserts
    return Batch(client, now, settings, len(web), events, duplicates, in_store, rejected, bot)


def store(session: Session, batch: Batch, *, reco: RecoSender | None = None) -> CollectResult:
    """Write a prepared batch: its events and visits, its in-store events, the day's counters.

    Per batch of web events: the known ids, the visitor's last visit, the new visit (if any),
    the events, the extended visit (if any). The caller commits.
    """
    rejected = dict(batch.rejected)
    accepted = duplicates = 0
    if batch.in_store:
        if reco is None:
            for index, raw in batch.in_store:
                rejected[index] = {
                    "name": [f"{raw['name']} needs a seller's API key (in-store event)."]
                }
        else:
            accepted, duplicates = _record_in_store(
                session, batch.in_store, reco, batch.now, rejected
            )

    counts: dict[str, int] = {}
    if batch.web and batch.client.gpc:
        counts[OPTED_OUT_EVENTS] = batch.web
    elif batch.web and batch.bot:
        counts[BOT_EVENTS] = batch.web
    elif batch.events:
        stored, repeated = _store_web(session, batch)
        accepted += stored
        duplicates += repeated + batch.duplicates
    if rejected:
        counts[REJECTED_EVENTS] = len(rejected)
    if counts:
        _add_counts(session, batch.now.astimezone(dt.UTC).date(), counts)
    return CollectResult(
        accepted=accepted,
        duplicates=duplicates,
        rejected=[feedback.Rejected(i, errors) for i, errors in sorted(rejected.items())],
        bot=batch.bot,
        opted_out=batch.client.gpc,
    )


@dataclass
class _Visit:
    id: int | None
    started_at: dt.datetime
    last_at: dt.datetime
    attribution: privacy.Attribution
    touched: bool = False
    events: list[_Event] = field(default_factory=list)


class _EventInsert:
    """The events' INSERT for one dialect, compiled once, and rows converted for its driver.

    ``conn.execute(insert(...), rows)`` converts every value (datetimes, money, JSON) with the
    column types' bind processors while it runs: on SQLite that is half of the insert's time,
    spent holding the database's only write lock. The same processors applied in
    :func:`prepare`, and the same statement handed to the driver's ``executemany``, leave the
    lock to the SQL alone. ON CONFLICT DO NOTHING only guards a concurrent retry (ids already
    stored are taken out first); both drivers report the rows actually inserted.
    """

    def __init__(self, dialect: Dialect) -> None:
        insert_for = postgresql.insert if dialect.name == "postgresql" else sqlite.insert
        stmt = insert_for(_events).on_conflict_do_nothing(index_elements=["event_id"])
        columns = [c.key for c in _events.c if c.key != "id"]
        compiled = stmt.compile(dialect=dialect, column_keys=columns)
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        self.keys: list[str] = list(compiled.positiontup or ()) if self.positional else columns
        types = {c.key: c.type.dialect_impl(dialect) for c in _events.c}
        self.processors = [types[key].bind_processor(dialect) for key in self.keys]
        self.visit_slot = self.keys.index("visit_id")
        self.params_slot = self.keys.index("params")
        slots = list(enumerate(zip(self.keys, self.processors, strict=True)))
        self._plain = [(slot, key) for slot, (key, process) in slots if process is None]
        self._processed = [(slot, key, process) for slot, (key, process) in slots if process]

    def bind(self, rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
        """The rows' values in the statement's order, as the driver takes them.

        A value that is the very object of the row before (the batch's arrival time, None) is
        converted once.
        """
        last: list[tuple[Any, Any]] = [(_UNSET, None)] * len(self.keys)
        bound_rows = []
        for row in rows:
            bound: list[Any] = [None] * len(self.keys)
            for slot, key in self._plain:
                bound[slot] = row.get(key)
            for slot, key, process in self._processed:
                value = row.get(key)
                seen, converted = last[slot]
                if value is not seen:
                    converted = process(value)
                    last[slot] = (value, converted)
                bound[slot] = converted
            bound_rows.append(bound)
        return bound_rows

    def value(self, slot: int, value: Any) -> Any:
        process = self.processors[slot]
        return value if process is None else process(value)

    def parameters(self, bound: list[Any]) -> Any:
        return tuple(bound) if self.positional else dict(zip(self.keys, bound, strict=True))


_UNSET: Any = object()
_EVENT_INSERTS: weakref.WeakKeyDictionary[Dialect, _EventInsert] = weakref.WeakKeyDictionary()


def _event_insert(dialect: Dialect) -> _EventInsert:
    found = _EVENT_INSERTS.get(dialect)
    if found is None:
        found = _EVENT_INSERTS[dialect] = _EventInsert(dialect)
    return found


# Statements built once: building and cache-keying one costs as much as running it.
_LAST_VISIT = (
    select(
        _visits.c.id,
        _visits.c.started_at,
        _visits.c.last_at,
        _visits.c.source,
        _visits.c.medium,
        _visits.c.campaign,
        _visits.c.referrer_host,
    )
    .where(_visits.c.visitor == bindparam("visitor"))
    .order_by(_visits.c.last_at.desc())
    .limit(1)
)
_NEW_VISIT = insert(_visits).returning(_visits.c.id)
_NEW_VISITS = insert(_visits).returning(_visits.c.id, sort_by_parameter_order=True)
_EXTEND_VISIT = (
    update(_visits)
    .where(_visits.c.id == bindparam("visit"))
    .values(started_at=bindparam("started"), last_at=bindparam("last"))
)


def _store_web(session: Session, batch: Batch) -> tuple[int, int]:
    """Drop the ids stored before, cut into visits, insert. Returns (stored, duplicates)."""
    salt = day_salt(session, batch.now)
    conn = session.connection()
    client, settings = batch.client, batch.settings
    visitor = privacy.visitor_hash(salt, settings.site, client.ip, client.user_agent)
    known, last = _known_ids_and_last_visit(conn, [e.event_id for e in batch.events], visitor)
    fresh = [e for e in batch.events if e.event_id not in known]
    if not fresh:
        return 0, len(batch.events)

    visits = _assign_visits(last, fresh, settings)
    _save_visits(conn, visitor, visits, client)
    inserts = _event_insert(conn.dialect)
    unbound = [e for e in fresh if e.bound_by is not inserts]
    for event, bound in zip(unbound, inserts.bind([e.row for e in unbound]), strict=True):
        event.bound, event.bound_by = bound, inserts
    rows = []
    for visit in visits:
        visit_id = inserts.value(inserts.visit_slot, visit.id)
        for event in visit.events:
            bound = cast(list[Any], event.bound)
            bound[inserts.visit_slot] = visit_id
            if event.transaction_id is not None:
                params = {**event.row["params"]}
                params["transaction_id"] = _order_digest(salt, event.transaction_id)
                bound[inserts.params_slot] = inserts.value(inserts.params_slot, params)
            rows.append(inserts.parameters(bound))
    # A plain executemany (psycopg pipelines it) costs half an INSERT ... RETURNING here.
    stored = conn.exec_driver_sql(inserts.sql, rows).rowcount
    return stored, len(batch.events) - stored


# SQLite: a few prebuilt IN lists (10, 25 ... 500 placeholders, the rest padded with a repeated
# id), as SQLAlchemy renders an ``in_(ids)`` list anew at every call, which costs more than the
# lookup itself. PostgreSQL: one array parameter, so one statement whatever the batch's size
# (psycopg converts a statement's placeholders once only up to 50 parameters).
_ID_SLOTS = (10, 25, 50, 100, 250, 500)


@functools.cache
def _known_ids_statement(
    slots: int | None, *, with_last_visit: bool
) -> Select[Any] | CompoundSelect:
    """Which ids are stored (``slots`` placeholders, or None: an ``ids`` array); with the
    visitor's last visit as one more row (its event_id NULL), so that both cost one round trip."""
    if slots is None:
        ids = bindparam("ids", type_=postgresql.ARRAY(_events.c.event_id.type))
        match = _events.c.event_id == any_(ids)
    else:
        match = _events.c.event_id.in_([bindparam(f"id{i}") for i in range(slots)])
    padding = [type_coerce(null(), c.type).label(c.key) for c in _LAST_VISIT.selected_columns]
    known = select(_events.c.event_id, *padding).where(match)
    if not with_last_visit:
        return known
    last = _LAST_VISIT.subquery()
    visit = select(type_coerce(null(), _events.c.event_id.type).label("event_id"), *last.c)
    return union_all(known, visit)


def _known_ids_and_last_visit(
    conn: Connection, ids: list[str], visitor: str
) -> tuple[set[str], Row[Any] | None]:
    """The ids of ``ids`` already stored, and the visitor's last visit (None: a new visitor)."""
    lookups: list[tuple[Select[Any] | CompoundSelect, dict[str, Any]]] = []
    if conn.dialect.name == "postgresql":
        lookups.append((_known_ids_statement(None, with_last_visit=True), {"ids": ids}))
    else:
        for first in range(0, len(ids), _ID_SLOTS[-1]):
            part = ids[first : first + _ID_SLOTS[-1]]
            slots = next(n for n in _ID_SLOTS if n >= len(part))
            padded = part + [part[0]] * (slots - len(part))
            statement = _known_ids_statement(slots, with_last_visit=first == 0)
            lookups.append((statement, {f"id{i}": event_id for i, event_id in enumerate(padded)}))
    lookups[0][1]["visitor"] = visitor
    known: set[str] = set()
    last = None
    for statement, params in lookups:
        for row in conn.execute(statement, params):
            if row.event_id is not None:
                known.add(row.event_id)
            else:
                last = row
    return known, last


def _order_digest(salt: bytes, transaction_id: str) -> str:
    """Enough to count a purchase once within the day; useless to find the order (and its
    customer) once the salt is deleted."""
    digest = hmac.new(salt, b"order|" + transaction_id.encode(), hashlib.sha256)
    return digest.hexdigest()[: privacy.VISITOR_HEX]


def _assign_visits(
    last: Row[Any] | None, events: list[_Event], settings: CollectSettings
) -> list[_Visit]:
    """Events (oldest first) into the visitor's open visit or new ones, 30-minute gaps cut.

    A new visit takes its source from its first event; one whose referrer is the shop itself
    (a visit cut while browsing on) keeps the source of the visitor's previous visit.
    """
    previous = (
        privacy.Attribution(last.source, last.medium, last.campaign, last.referrer_host)
        if last
        else None
    )
    current = (
        _Visit(last.id, last.started_at, last.last_at, previous) if last and previous else None
    )
    visits: list[_Visit] = []
    gap = settings.visit_gap
    for event in events:
        when = event.occurred_at
        if current is None or when > current.last_at + gap or when < current.started_at - gap:
            found = privacy.attribute(event.page, event.referrer, settings.shop_hosts)
            if found.internal and previous is not None:
                found = previous
            current = _Visit(None, when, when, found, touched=True)
            visits.append(current)
        elif current.id is not None and not current.events:
            visits.append(current)
        if when > current.last_at:
            current.last_at, current.touched = when, True
        if when < current.started_at:
            current.started_at, current.touched = when, True
        current.events.append(event)
    return visits


def _save_visits(conn: Connection, visitor: str, visits: list[_Visit], client: ClientInfo) -> None:
    new = [v for v in visits if v.id is None]
    if new:
        device = privacy.device_class(client.user_agent)
        browser = privacy.browser_family(client.user_agent)
        rows = [
            {
                "visitor": visitor,
                "started_at": v.started_at,
                "last_at": v.last_at,
                "source": v.attribution.source,
                "medium": v.attribution.medium,
                "campaign": v.attribution.campaign,
                "referrer_host": v.attribution.referrer_host,
                "landing_path": v.events[0].row["page_path"] or "/",
                "device": device,
                "browser": browser,
            }
            for v in new
        ]
        if len(rows) == 1:  # the usual case; an executemany with RETURNING costs more
            new[0].id = conn.execute(_NEW_VISIT, rows[0]).scalar_one()
        else:
            ids = conn.execute(_NEW_VISITS, rows).scalars()
            for visit, visit_id in zip(new, ids, strict=True):
                visit.id = visit_id
    for visit in visits:
        if visit.id is not None and visit not in new and visit.touched:
            conn.execute(
                _EXTEND_VISIT,
                {"visit": visit.id, "started": visit.started_at, "last": visit.last_at},
            )


# --- one event -------------------------------------------------------------------------


def _flat(messages: Any, prefix: str = "") -> dict[str, Any]:
    """marshmallow's nested messages as dotted field paths: {"params.items.0.quantity": [...]}."""
    if isinstance(messages, dict):
        flat: dict[str, Any] = {}
        for key, value in messages.items():
            flat.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    return {prefix or "_schema": messages if isinstance(messages, list) else [messages]}


def _bad_text(raw: Any) -> dict[str, Any] | None:
    """Strings no database stores (NUL, lone surrogates), or nesting too deep to check."""
    try:
        found = find_bad_text(raw)
    except RecursionError:
        return {"_schema": ["Nested too deeply."]}
    return {found[0]: [found[1]]} if found else None


def _load(schema: Any, raw: Any, prefix: str = "") -> tuple[dict[str, Any] | None, dict[str, Any]]:
    try:
        return schema.load(raw), {}
    except ValidationError as exc:
        return None, _flat(exc.messages, prefix)


@dataclass(frozen=True)
class _Window:
    """The batch's arrival time and the event times it takes (computed once a batch)."""

    now: dt.datetime
    earliest: dt.datetime
    latest: dt.datetime
    settings: CollectSettings

    @classmethod
    def around(cls, now: dt.datetime, settings: CollectSettings) -> _Window:
        return cls(now, now - settings.max_age, now + settings.future_tolerance, settings)


def _parse(
    index: int, raw: Any, window: _Window, clean: bool
) -> tuple[_Event | None, dict[str, Any]]:
    if not isinstance(raw, dict):
        return None, {"_schema": ["An event is a JSON object."]}
    bad = None if clean else _bad_text(raw)
    if bad:
        return None, bad
    data = load_event_fast(raw)
    errors: dict[str, Any] = {}
    if data is None:
        data, errors = _load(_event_schema, raw)
    params: dict[str, Any] | None = None
    name: str = raw.get("name", "")
    given = raw.get("params", {})
    if isinstance(name, str) and name in PARAMS and isinstance(given, dict):
        params = load_params_fast(name, given)
        if params is None:
            params, param_errors = _load(PARAMS[name], given, "params")
            errors.update(param_errors)
    if data is None or params is None:
        return None, errors
    occurred_at: dt.datetime = data["ts"]
    now = window.now
    if occurred_at > window.latest:
        minutes = int(window.settings.future_tolerance.total_seconds() // 60)
        return None, {"ts": [f"More than {minutes} minutes ahead of the server's clock."]}
    if occurred_at < window.earliest:
        return None, {"ts": ["More than 1 day old: too late to be counted."]}
    row, item_errors = _columns(name, params)
    if item_errors:
        return None, item_errors
    row.update(
        event_id=data["event_id"],
        name=name,
        occurred_at=min(occurred_at, now),
        received_at=now,
        page_path=privacy.page_path(data["page"]),
    )
    event = _Event(index, data["event_id"], row["occurred_at"], data["page"], data["referrer"], row)
    if name == "purchase":
        event.transaction_id = params.get("transaction_id") or None
    return event, {}


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _item(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "item_id": item["item_id"],
        "item_variant": item.get("item_variant"),
        "item_category": item.get("item_category"),
        "price": _money(item.get("price")),
        "quantity": item.get("quantity", 1),
    }


_ITEM_FIELDS = ("item_id", "item_variant", "item_category", "price", "quantity")


def _one_item(params: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The product of an item or engagement event, wherever the tag put it."""
    if params.get("items"):
        return params["items"][0], {}
    given = params.get("item")
    if isinstance(given, str):
        given = {"item_id": given}
    if given is not None:
        fast = load_item_fast(given)
        return (fast, {}) if fast is not None else _load(ITEM, given, "params.item")
    if params.get("item_id"):
        return {k: params[k] for k in _ITEM_FIELDS if k in params}, {}
    return None, {}


_EMPTY_ROW = dict.fromkeys(
    (
        "item_id",
        "item_variant",
        "item_category",
        "value",
        "currency",
        "shipping",
        "search_term",
        "search_results",
        "engaged_ms",
        "scroll_depth",
    )
)


def _columns(name: str, params: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The event's columns and its remaining params (JSON: money as strings).

    A purchase's transaction_id is added when stored: it is hashed under the day's salt.
    """
    row: dict[str, Any] = dict(_EMPTY_ROW)
    extra: dict[str, Any] = {}
    items = params.get("items") or []
    if name in ITEM_EVENTS or name == "engagement":
        item, errors = _one_item(params)
        if errors:
            return row, errors
        if item is not None:
            row.update(
                item_id=item["item_id"],
                item_variant=item.get("item_variant"),
                item_category=item.get("item_category"),
            )
            if item.get("price") is not None:
                extra["price"] = _money(item["price"])
            if name != "engagement":
                extra["quantity"] = item.get("quantity", 1)
        if len(items) > 1:
            extra["items"] = [_item(i) for i in items]
    elif items:
        extra["items"] = [_item(i) for i in items]
    row["value"] = params.get("value")
    row["currency"] = params.get("currency")
    row["shipping"] = params.get("shipping")
    if name == "search":
        row["search_term"] = privacy.clean_search_term(params["search_term"])
        row["search_results"] = params.get("search_results")
    elif name == "engagement":
        row["engaged_ms"] = params["engaged_ms"]
        row["scroll_depth"] = params.get("scroll_depth")
    elif name == "delivery_fee_shown":
        row["shipping"] = params["fee"]
        row["value"] = params["cart_value"]
        extra["free_threshold"] = _money(params.get("free_threshold"))
    row["params"] = extra
    return row, {}


# --- in-store events -------------------------------------------------------------------

_FEEDBACK_FIELDS = {"event": "name", "occurred_at": "ts"}


def _record_in_store(
    session: Session,
    in_store: list[tuple[int, Any]],
    reco: RecoSender,
    now: dt.datetime,
    rejected: dict[int, dict[str, Any]],
) -> tuple[int, int]:
    """reco_shown / reco_accepted through recommendations.feedback, rejections by our index."""
    indexes: list[int] = []
    translated: list[dict[str, Any]] = []
    for index, raw in in_store:
        bad = _bad_text(raw)
        data, errors = (None, bad) if bad else _load(_reco_schema, raw)
        if data is None:
            rejected[index] = errors
            continue
        event = {**data["params"], "event": data["name"]}
        if data["ts"] is not None:
            event["occurred_at"] = data["ts"].isoformat()
        indexes.append(index)
        translated.append(event)
    if not translated:
        return 0, 0
    result = feedback.record_events(
        session, translated, channel=reco.channel, actor=reco.actor, now=now
    )
    for refused in result.rejected:
        rejected[indexes[refused.index]] = {
            _FEEDBACK_FIELDS.get(key, f"params.{key}"): messages
            for key, messages in _flat(refused.errors).items()
        }
    return result.accepted, result.duplicates


# --- salts, counters -------------------------------------------------------------------

# Today's salt per database, so a batch does not read it; never more than two days' worth.
_SALT_CACHE: weakref.WeakKeyDictionary[Engine, dict[dt.date, bytes]] = weakref.WeakKeyDictionary()


def _dialect_insert(session: Session) -> Any:
    name = session.get_bind().dialect.name
    return postgresql.insert if name == "postgresql" else sqlite.insert


def _cache(session: Session) -> dict[dt.date, bytes]:
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    return _SALT_CACHE.setdefault(engine, {})


def day_salt(session: Session, now: dt.datetime) -> bytes:
    """The random salt of ``now``'s UTC day, created on first use by whichever process wins."""
    day = now.astimezone(dt.UTC).date()
    cache = _cache(session)
    if day in cache:
        return cache[day]
    for old in [d for d in cache if d < day - dt.timedelta(days=1)]:
        del cache[old]
    stored = session.scalar(select(VisitorSalt.salt).where(VisitorSalt.day == day))
    if stored is not None:
        cache[day] = stored
        return stored
    session.execute(
        _dialect_insert(session)(_salts)
        .values(day=day, salt=secrets.token_bytes(32), created_at=now)
        .on_conflict_do_nothing(index_elements=["day"])
    )
    session.execute(delete(_salts).where(_salts.c.day < day - dt.timedelta(days=1)))
    # Not cached yet: this transaction may still roll back; the next batch reads it.
    return cast(bytes, session.scalar(select(VisitorSalt.salt).where(VisitorSalt.day == day)))


def _add_counts(session: Session, day: dt.date, counts: dict[str, int]) -> None:
    stmt = _dialect_insert(session)(_counters).values(
        [{"day": day, "name": name, "count": n} for name, n in counts.items()]
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["day", "name"], set_={"count": _counters.c.count + stmt.excluded.count}
        )
    )


def counters(session: Session, day: dt.date) -> dict[str, int]:
    """What was received but not stored on a UTC day: robots, opt-outs, rejected events."""
    rows = session.execute(
        select(DailyCounter.name, DailyCounter.count).where(DailyCounter.day == day)
    )
    return {name: count for name, count in rows}


# --- retention -------------------------------------------------------------------------


@dataclass(frozen=True)
class PurgeResult:
    raw_before: dt.datetime
    aggregates_before: dt.date
    events: int
    visits: int
    salts: int
    counters: int
    aggregates: int | None  # None: the rollups have no purge (yet)


def months_before(when: dt.datetime, months: int) -> dt.datetime:
    """The same day and time ``months`` calendar months earlier (clamped to the month's end)."""
    total = when.year * 12 + when.month - 1 - months
    year, month = divmod(total, 12)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return when.replace(year=year, month=month + 1, day=day)


def purge(
    session: Session, *, now: dt.datetime, settings: CollectSettings | None = None
) -> PurgeResult:
    """Delete raw events past 13 months, visits left empty, salts past 48 h, aggregates past 25.

    Aggregates are the rollups' (``analytics.rollup.purge``, when it exists) and the counters.
    """
    settings = settings or CollectSettings()
    raw_before = months_before(now, settings.raw_retention_months)
    aggregates_before = months_before(now, settings.aggregate_retention_months).date()
    today = now.astimezone(dt.UTC).date()

    def deleted(stmt: Any) -> int:
        return int(cast(Any, session.execute(stmt)).rowcount or 0)

    events = deleted(delete(_events).where(_events.c.occurred_at < raw_before))
    has_events = exists().where(_events.c.visit_id == _visits.c.id)
    visits = deleted(delete(_visits).where(_visits.c.last_at < raw_before, ~has_events))
    salts = deleted(delete(_salts).where(_salts.c.day < today - dt.timedelta(days=1)))
    cache = _cache(session)
    for old in [d for d in cache if d < today - dt.timedelta(days=1)]:
        del cache[old]
    counts = deleted(delete(_counters).where(_counters.c.day < aggregates_before))
    aggregates: int | None = None
    try:
        rollup = importlib.import_module("store_api.analytics.rollup")
    except ImportError:
        rollup = None
    if rollup is not None and hasattr(rollup, "purge"):
        aggregates = int(rollup.purge(session, before=aggregates_before))
    return PurgeResult(raw_before, aggregates_before, events, visits, salts, counts, aggregates)
