"""Report periods: whole days of the shop's time zone, both ends included (``?from=&to=``).

The recommendation report and the browsing reports take the same period, with their own
longest span.
"""

from __future__ import annotations

import datetime as dt

from store_api.errors import ErrorCode, Invalid

DEFAULT_DAYS = 30


def period_errors(date_from: dt.date, date_to: dt.date, *, max_days: int) -> dict[str, list[str]]:
    """What is wrong with a report period (both days included), by query parameter."""
    if date_from > date_to:
        return {"to": ["Must be on or after 'from'."]}
    if (date_to - date_from).days + 1 > max_days:
        return {"to": [f"The period is at most {max_days} days."]}
    return {}


def default_period(
    today: dt.date, date_from: dt.date | None, date_to: dt.date | None, *, max_days: int
) -> tuple[dt.date, dt.date]:
    """The last 30 days up to today unless given; a wrong period is a 422 naming the field."""
    date_to = date_to or today
    date_from = date_from or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    errors = period_errors(date_from, date_to, max_days=max_days)
    if errors:
        raise Invalid(ErrorCode.VALIDATION_ERROR, "Invalid report period.", errors)
    return date_from, date_to
