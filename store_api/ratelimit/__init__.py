"""Rate limits (Flask-Limiter): the anonymous collector and every key's writes.

Three limits, each a COMPTOIR_* setting holding a Flask-Limiter limit string
(``"1000 per minute"``, several joined by ``;``), with defaults a real webshop never reaches
(docs/security.md, "Limits"):

* ``RATELIMIT_COLLECT_PER_ADDRESS`` — events a client address may send to
  ``POST /api/v1/collect``. The address is reduced to an HMAC under the instance's secret key
  before it is used as a counter name: the counters never hold an address.
* ``RATELIMIT_COLLECT_PER_SITE`` — events the whole webshop may send (many addresses at once:
  what bounds the database's growth whatever the attacker's addresses).
* ``RATELIMIT_WRITES_PER_KEY`` — POST, PUT, PATCH and DELETE requests per API key on the API
  (collect aside: it has its own).

A collect batch costs its number of events, so 500 events in one request count like 500
events in 500. Beyond a limit: **429** ``rate_limited`` with ``Retry-After`` (header and
``errors.retry_after``). Counters live in ``<instance>/ratelimit.db`` (``storage.py``), shared
by every gunicorn worker; ``RATELIMIT_STORAGE_URI`` may point elsewhere (``memory://``,
``redis://...``). If the counter store fails, requests go through (logged): limits protect the
shop, they must never stop it.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

from flask import Flask, current_app, g, request
from flask_limiter import ApplicationLimit, Limiter
from limits import parse_many

from store_api.context import client_address
from store_api.instance import secret_key
from store_api.ratelimit.storage import SCHEME, SQLiteStorage

EXTENSION = "comptoir_limiter"
COLLECT = "/api/v1/collect"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LIMIT_SETTINGS = (
    "RATELIMIT_COLLECT_PER_ADDRESS",
    "RATELIMIT_COLLECT_PER_SITE",
    "RATELIMIT_WRITES_PER_KEY",
)

__all__ = ["EXTENSION", "SQLiteStorage", "init_app", "retry_after"]


def _hashed_address() -> str:
    secret = secret_key(current_app._get_current_object()).encode()  # type: ignore[attr-defined]
    digest = hmac.new(secret, client_address().encode(), hashlib.sha256).hexdigest()
    return "addr:" + digest[:32]


def _site() -> str:
    config = current_app.config
    return "site:" + str(config.get("ANALYTICS_SITE") or config.get("STORE_ID") or "site")


def _not_a_collect_post() -> bool:
    return request.method != "POST" or request.path != COLLECT


def _collect_cost() -> int:
    """A batch costs its events; one that cannot be read costs 1 (its parse is cheap)."""
    from store_api.clickstream.routes import batch_size

    return batch_size()


def _caller_key() -> str:
    caller = g.get("comptoir_limit_caller")
    return f"key:{caller.key_id}" if caller is not None else ""


def _not_a_keyed_write() -> bool:
    """Writes on the API with a valid key count; the rest (reads, 401s, collect) do not."""
    if request.method not in WRITE_METHODS or not request.path.startswith("/api/"):
        return True
    if request.path == COLLECT or "Authorization" not in request.headers:
        return True
    from store_api.auth import authenticated_or_none

    caller = authenticated_or_none()
    g.comptoir_limit_caller = caller
    return caller is None


def _setting(name: str) -> Any:
    return lambda: current_app.config[name]


def init_app(app: Flask) -> None:
    """Install the limits (nothing when RATELIMIT_ENABLED is off)."""
    if not app.config["RATELIMIT_ENABLED"]:
        return
    for name in LIMIT_SETTINGS:
        try:
            parse_many(app.config[name])
        except ValueError:
            raise ValueError(
                f"COMPTOIR_{name}={app.config[name]!r} is not a limit such as '1000 per minute'"
            ) from None
    limiter = Limiter(
        key_func=_hashed_address,
        application_limits=[
            ApplicationLimit(
                _setting("RATELIMIT_COLLECT_PER_ADDRESS"),
                key_function=_hashed_address,
                scope="collect-address",
                cost=_collect_cost,
                exempt_when=_not_a_collect_post,
            ),
            ApplicationLimit(
                _setting("RATELIMIT_COLLECT_PER_SITE"),
                key_function=_site,
                scope="collect-site",
                cost=_collect_cost,
                exempt_when=_not_a_collect_post,
            ),
            ApplicationLimit(
                _setting("RATELIMIT_WRITES_PER_KEY"),
                key_function=_caller_key,
                scope="writes",
                exempt_when=_not_a_keyed_write,
            ),
        ],
        storage_uri=app.config["RATELIMIT_STORAGE_URI"] or f"{SCHEME}://",
        strategy="fixed-window",
        headers_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter


def retry_after() -> int:
    """Whole seconds until the breached limit of this request resets (at least 1)."""
    limiter: Limiter | None = current_app.extensions.get(EXTENSION)
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 1
    return max(1, int(current.reset_at - time.time()))
