"""Counting API searches for the owner's Site search report, from a view (Flask side).

Only the normalised term (contacts scrubbed, as the webshop tracker does), the day and the
caller's role are kept; counts wait in memory and are written at most every
``SEARCH_STATS_FLUSH_SECONDS`` (one small write instead of one per search).
"""

from __future__ import annotations

import logging

from flask import current_app, g
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from store_api import context, db
from store_api.analytics.rollup import normalise_term
from store_api.clickstream.privacy import clean_search_term
from store_api.search import service

log = logging.getLogger(__name__)


def count(session: Session, query: str, found: int, correction: str | None) -> None:
    term = normalise_term(clean_search_term("".join(ch for ch in query if ch.isprintable())))
    if not term:
        return
    caller = getattr(g, "caller", None)
    role = caller.role.value if caller is not None else "api"
    now = context.now()
    day = now.astimezone(context.policy().timezone).date()
    fixed = normalise_term(clean_search_term(correction)) if correction else None
    service.record_search(session, term=term, role=role, found=found, correction=fixed, day=day)
    if service.searches_waiting(session, current_app.config["SEARCH_STATS_FLUSH_SECONDS"]):
        flush(session)


def flush(session: Session) -> None:
    """Write the waiting counts; a failure loses counts, never the search's answer."""
    try:
        with db.write(session):
            service.flush_searches(session)
    except SQLAlchemyError:
        log.exception("search counts not written")
