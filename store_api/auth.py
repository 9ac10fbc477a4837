"""Bearer API keys and role checks for views.

``@require(Role.SELLER, Role.WEBSHOP)`` on a view: a missing or unknown key is 401, a known
key with another role is 403. Admin may do everything.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import g, request

from store_api import db
from store_api.errors import Forbidden, Unauthorized
from store_api.keys import service as keys
from store_api.keys.models import Role

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Caller:
    key_id: int
    name: str
    role: Role

    @property
    def own_channel(self) -> str | None:
        """Sellers hold for the store, the webshop for the web; owner and admin choose."""
        return _OWN_CHANNEL.get(self.role)

    @property
    def channels(self) -> frozenset[str] | None:
        """Reservations this caller may change (None: all)."""
        own = self.own_channel
        return None if own is None else frozenset({own})


_OWN_CHANNEL = {Role.SELLER: "store", Role.WEBSHOP: "web"}


def current_caller() -> Caller:
    caller: Caller = g.caller
    return caller


def _authenticate() -> Caller:
    """The caller of this request (looked up once per request), or 401."""
    cached: Caller | None = g.get("comptoir_authenticated")
    if cached is not None:
        return cached
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("Send your API key as 'Authorization: Bearer <key>'.")
    session = db.get_session()
    with db.read(session):
        key = keys.authenticate(session, secret.strip())
    if key is None:
        raise Unauthorized("Unknown or revoked API key.")
    caller = Caller(key_id=key.id, name=key.name, role=Role(key.role))
    g.comptoir_authenticated = caller
    return caller


def authenticated_or_none() -> Caller | None:
    """The caller if the request carries a valid key, else None (no 401 raised here)."""
    try:
        return _authenticate()
    except Unauthorized:
        return None


def require(*roles: Role) -> Callable[[F], F]:
    allowed = {Role.ADMIN, *roles}

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            caller = _authenticate()
            if caller.role not in allowed:
                raise Forbidden(
                    f"Role {caller.role} may not do this; allowed: "
                    f"{', '.join(sorted(r.value for r in allowed))}.",
                    {"role": caller.role.value, "allowed": sorted(r.value for r in allowed)},
                )
            g.caller = caller
            return view(*args, **kwargs)

        wrapper._comptoir_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


ALL_ROLES = tuple(Role)
