"""Request-time helpers for views: the clock, the stock policy, the caller's name."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import current_app

from store_api.stock.service import StockPolicy


def now() -> dt.datetime:
    """The app's clock; tests replace it to move time forward without sleeping."""
    clock: Callable[[], dt.datetime] = current_app.extensions["comptoir_clock"]
    return clock()


def policy() -> StockPolicy:
    stock_policy: StockPolicy = current_app.extensions["comptoir_policy"]
    return stock_policy
