"""What of an event each reader may see: the one place that decides, for every way out.

Events go out through ``GET /api/v1/events``, the live stream and webhooks. Every role may
follow them (stock moves concern every channel), but some payload fields are a customer's
data: the note a seller types on a hold ("Mme Martin, 06 12 34 56 78") and any field whose
name starts with ``customer`` (``customer_id``, ``customer_name``, ``customer_email``...,
whatever a later feature adds to a payload). Those fields are **removed** from the payload
unless the reader may read the thing the event is about through the API itself:

* ``reservation.*``: admin and owner; a seller for ``store`` holds; the webshop for ``web``
  holds (the same rule as ``GET /api/v1/reservations/{id}``). Never a device.
* every other event: admin and owner only (no other role reads customers anywhere).
* webhooks: a subscription is the owner's, but it sends data off the machine, to whatever
  the URL is. It gets customer fields only when the owner said so on that subscription
  (``include_customer_data``, off by default).

The rest of a payload (SKU, quantities, channel, expiry, who made the hold) is not personal
and stays, so a webshop still sees a store hold take a unit. A name added to
``CUSTOMER_FIELDS`` (or starting with ``customer``) is filtered everywhere at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from store_api.keys.models import Role

CUSTOMER_FIELDS = frozenset({"note"})
CUSTOMER_PREFIX = "customer"
_EVERYTHING = frozenset({Role.ADMIN, Role.OWNER})
# Per reservation channel, the roles (besides admin and owner) that may read such a hold.
_RESERVATION_READERS = {"store": Role.SELLER, "web": Role.WEBSHOP}


def is_customer_field(name: str) -> bool:
    return name in CUSTOMER_FIELDS or name.startswith(CUSTOMER_PREFIX)


@dataclass(frozen=True)
class Reader:
    """Who reads events: an API key's role, or a webhook subscription (``role`` None)."""

    role: Role | None
    webhook_customer_data: bool = False

    @classmethod
    def webhook(cls, include_customer_data: bool) -> Reader:
        return cls(None, include_customer_data)

    def may_read_customer_data(self, event_type: str, payload: Mapping[str, Any]) -> bool:
        if self.role is None:
            return self.webhook_customer_data
        if self.role in _EVERYTHING:
            return True
        if event_type.startswith("reservation."):
            return _RESERVATION_READERS.get(str(payload.get("channel"))) == self.role
        return False


def visible_payload(
    event_type: str, payload: Mapping[str, Any], reader: Reader
) -> Mapping[str, Any]:
    """The payload as ``reader`` may see it (the same object when nothing is hidden)."""
    if not any(is_customer_field(name) for name in payload):
        return payload
    if reader.may_read_customer_data(event_type, payload):
        return payload
    return {name: value for name, value in payload.items() if not is_customer_field(name)}
