"""The topic scheme, as pure functions (no broker needed to test them).

comptoir/v1/{store}/shelf/{shelf}/{lane}/evt/weight
comptoir/v1/{store}/zone/{zone}/-/evt/presence
comptoir/v1/{store}/door/{door}/-/evt/footfall
comptoir/v1/{store}/dev/{device}/status            (retained; also the last will)
comptoir/v1/{store}/label/{label}/state            (outgoing, retained)
comptoir/v1/{store}/staff/{tablet|all}/notify      (outgoing)
comptoir/v1/{store}/staff/{tablet}/ack             (a seller's tablet acknowledges an alert)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

PREFIX = "comptoir/v1"
# Topic levels we accept for names: no wildcards, no separators, nothing exotic.
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # used with fullmatch: "$" lets a final newline in

# Which event each place kind may publish.
EVENT_KINDS = {"shelf": "weight", "zone": "presence", "door": "footfall"}
# "all" names every tablet in staff/all/notify; no tablet may be called that.
ALL_TABLETS = "all"


class TopicError(ValueError):
    """The topic does not follow the scheme."""


@dataclass(frozen=True)
class Topic:
    store: str
    kind: str  # weight | presence | footfall | status | ack | outgoing
    shelf: str | None = None
    lane: str | None = None
    zone: str | None = None
    door: str | None = None
    device: str | None = None
    tablet: str | None = None


@functools.lru_cache(maxsize=4096)
def parse(topic: str) -> Topic:
    """Split a topic into its parts, or raise :class:`TopicError` saying why not.

    Cached: a store has a few hundred topics, each sending thousands of messages (a Topic is
    immutable; errors are not cached).
    """
    parts = topic.split("/")
    if len(parts) < 4 or "/".join(parts[:2]) != PREFIX:
        raise TopicError(f"not a {PREFIX} topic")
    store, place = parts[2], parts[3]
    rest = parts[4:]
    if not _NAME.fullmatch(store):
        raise TopicError("bad store name")
    if place == "label":
        return Topic(store=store, kind="outgoing")
    if place == "staff":
        if len(rest) == 2 and rest[1] == "notify":
            return Topic(store=store, kind="outgoing")
        if len(rest) != 2 or rest[1] != "ack":
            raise TopicError("expected staff/{tablet}/ack")
        if not _NAME.fullmatch(rest[0]) or rest[0] == ALL_TABLETS:
            raise TopicError("bad tablet name")
        return Topic(store=store, kind="ack", tablet=rest[0])
    if place == "dev":
        if len(rest) != 2 or rest[1] != "status" or not _NAME.fullmatch(rest[0]):
            raise TopicError("expected dev/{device}/status")
        return Topic(store=store, kind="status", device=rest[0])
    expected = EVENT_KINDS.get(place)
    if expected is None:
        raise TopicError(f"unknown place {place!r}")
    if len(rest) != 4 or rest[2] != "evt":
        raise TopicError(f"expected {place}/{{id}}/{{lane|-}}/evt/{expected}")
    name, lane, _evt, event = rest
    if event != expected:
        raise TopicError(f"a {place} publishes {expected}, not {event!r}")
    if not _NAME.fullmatch(name):
        raise TopicError(f"bad {place} name")
    if place == "shelf":
        if not _NAME.fullmatch(lane) or lane == "-":
            raise TopicError("bad lane name")
        return Topic(store=store, kind="weight", shelf=name, lane=lane)
    if lane != "-":
        raise TopicError(f"a {place} topic has '-' where a shelf has its lane")
    if place == "zone":
        return Topic(store=store, kind="presence", zone=name)
    return Topic(store=store, kind="footfall", door=name)


def subscription(store: str) -> str:
    return f"{PREFIX}/{store}/#"


def weight(store: str, shelf: str, lane: str) -> str:
    return f"{PREFIX}/{store}/shelf/{shelf}/{lane}/evt/weight"


def presence(store: str, zone: str) -> str:
    return f"{PREFIX}/{store}/zone/{zone}/-/evt/presence"


def footfall(store: str, door: str) -> str:
    return f"{PREFIX}/{store}/door/{door}/-/evt/footfall"


def status(store: str, device: str) -> str:
    return f"{PREFIX}/{store}/dev/{device}/status"


def label_state(store: str, label: str) -> str:
    return f"{PREFIX}/{store}/label/{label}/state"


def staff_notify(store: str, tablet: str = "all") -> str:
    return f"{PREFIX}/{store}/staff/{tablet}/notify"


def staff_ack(store: str, tablet: str) -> str:
    return f"{PREFIX}/{store}/staff/{tablet}/ack"
