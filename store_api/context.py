"""Request-time helpers for views: the clock, the stock policy, the client's address."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app, request

from store_api.stock.service import StockPolicy


def now() -> dt.datetime:
    """The app's clock; tests replace it to move time forward without sleeping."""
    clock: Callable[[], dt.datetime] = current_app.extensions["comptoir_clock"]
    return clock()


def policy() -> StockPolicy:
    stock_policy: StockPolicy = current_app.extensions["comptoir_policy"]
    return stock_policy


def client_address() -> str:
    """The client's IP: the socket's, or behind ANALYTICS_PROXY_HOPS reverse proxies the one
    that many hops from the right of X-Forwarded-For (the left part can be forged)."""
    hops: int = current_app.config["ANALYTICS_PROXY_HOPS"]
    if hops > 0:
        forwarded = [part.strip() for part in request.headers.get("X-Forwarded-For", "").split(",")]
        if len(forwarded) >= hops and forwarded[-hops]:
            return forwarded[-hops]
    return request.remote_addr or ""
