"""The pull feed: /api/v1/events, for reconciliation after downtime."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from store_api import db
from store_api.auth import ALL_ROLES, current_caller, require
from store_api.blueprint import Blueprint
from store_api.events import service
from store_api.events.schemas import EventPageSchema, EventQueryArgsSchema
from store_api.events.visibility import Reader

blp = Blueprint("events", __name__, url_prefix="/api/v1", description="The event feed.")


@blp.route("/events")
class Events(MethodView):
    @require(*ALL_ROLES)
    @blp.arguments(EventQueryArgsSchema, location="query")
    @blp.response(200, EventPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Events after a cursor, in seq order: no gaps, no duplicates, safe to re-read.

        Customer fields of a payload (a hold's ``note``, any ``customer*`` field) are left out
        unless the key may read what the event is about (docs/security.md).
        """
        reader = Reader(current_caller().role)
        session = db.get_session()
        with db.read(session):
            page = service.read(
                session,
                after=args["after"],
                limit=args["limit"],
                types=args["type"],
                skus=args["sku"],
            )
            newest = service.last_seq(session)
        events = [service.as_seen_by(event, reader) for event in page.events]
        return {"events": events, "next_after": page.next_after, "last_seq": newest}
