"""Recommendation endpoints: /api/v1/products/{sku}/recommendations, /api/v1/recommendations.

Every suggestion is an active product with units available now; the seller's tablet sees what
is on the floor first, the webshop what is in the warehouse. Every answer carries a new
``recommendation_id``; clients report back what they showed and what was accepted
(/api/v1/recommendations/events) and the owner reads what sold (/api/v1/recommendations/report).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g
from flask.views import MethodView
from sqlalchemy import select

from store_api import context, db, i18n, periods
from store_api.auth import ALL_ROLES, Caller, current_caller, require
from store_api.blueprint import Blueprint
from store_api.catalog.models import Product
from store_api.keys import service as keys_service
from store_api.keys.models import Role
from store_api.recommendations import feedback, service
from store_api.recommendations.schemas import (
    MAX_REPORT_DAYS,
    RecommendationContextSchema,
    RecommendationEventBatchSchema,
    RecommendationEventResultSchema,
    RecommendationListSchema,
    RecommendationQueryArgsSchema,
    RecommendationReportQueryArgsSchema,
    RecommendationReportSchema,
)
from store_api.stock.models import Channel

log = logging.getLogger(__name__)

blp = Blueprint(
    "recommendations", __name__, url_prefix="/api/v1", description="What to suggest alongside."
)

# Shelf devices show one suggestion per product label; baskets and visits are for the people
# (and the webshop) that sell.
PRODUCT_READERS = ALL_ROLES
CONTEXT_READERS = (Role.OWNER, Role.SELLER, Role.WEBSHOP)
# Those who show suggestions to customers say what was shown and accepted; the owner reads
# what it sold.
FEEDBACK_SENDERS = (Role.OWNER, Role.SELLER, Role.WEBSHOP)
REPORT_READERS = (Role.OWNER,)


def recommender_dir() -> Path:
    configured: str = current_app.config.get("RECOMMENDER_DIR") or ""
    return Path(configured) if configured else Path(current_app.instance_path) / "recommender"


def holder() -> service.ModelHolder:
    return service.holder_for(recommender_dir())


def _channel() -> str:
    return current_caller().own_channel or Channel.STORE


def _language(args: dict[str, Any] | None = None) -> str:
    """?lang= (validated on GET), else Accept-Language, else the shop's default (French)."""
    chosen = i18n.supported((args or {}).get("lang"))
    return chosen or i18n.request_locale()


def _store() -> str | None:
    """The store whose shelves a seller's answer names ("En stock au rayon B")."""
    store: str | None = current_app.config.get("STORE_ID")
    return store


def _body(kind: str, skus: list[str], found: service.Recommendations) -> dict[str, Any]:
    """The answer; reasons are already in the caller's language, codes kept for clients."""
    return {
        # Nothing is stored when serving (the read path stays fast): the id only ties the
        # feedback and the sale that follow to this answer.
        "recommendation_id": uuid.uuid4(),
        "kind": kind,
        "skus": skus,
        "model_version": found.model_version,
        "items": [
            {
                **asdict(item),
                "available_at": [
                    {"location": location, "available": units}
                    for location, units in item.available_at.items()
                ],
            }
            for item in found.items
        ],
    }


@blp.route("/products/<string:sku>/recommendations")
class ProductRecommendations(MethodView):
    @require(*PRODUCT_READERS)
    @blp.arguments(RecommendationQueryArgsSchema, location="query")
    @blp.response(200, RecommendationListSchema)
    def get(self, args: dict[str, Any], sku: str) -> dict[str, Any]:
        """What to suggest with (complements) or instead of (alternatives) a product."""
        session = db.get_session()
        with db.read(session):
            found = service.recommend_for_product(
                session,
                sku,
                kind=args["kind"],
                limit=args["limit"],
                policy=context.policy(),
                holder=holder(),
                channel=_channel(),
                accessory_category=current_app.config["RECOMMENDER_ACCESSORY_CATEGORY"],
                locale=_language(args),
                store=_store(),
            )
        return _body(args["kind"], [sku], found)


@blp.route("/recommendations")
class ContextRecommendations(MethodView):
    @require(*CONTEXT_READERS)
    @blp.arguments(RecommendationContextSchema)
    @blp.response(200, RecommendationListSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Suggestions for a basket (complements, alternatives) or a visit so far (next)."""
        session = db.get_session()
        with db.read(session):
            found = service.recommend_for_context(
                session,
                data["skus"],
                kind=data["kind"],
                limit=data["limit"],
                policy=context.policy(),
                holder=holder(),
                channel=_channel(),
                accessory_category=current_app.config["RECOMMENDER_ACCESSORY_CATEGORY"],
                locale=_language(),
                store=_store(),
            )
        return _body(data["kind"], data["skus"], found)


@blp.route("/recommendations/events")
class RecommendationEvents(MethodView):
    @require(*FEEDBACK_SENDERS)
    @blp.arguments(RecommendationEventBatchSchema)
    @blp.response(200, RecommendationEventResultSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Report suggestions shown (reco_shown) and accepted (reco_accepted), 1 to 200 at once.

        Each event is checked on its own: the valid ones are stored, the others come back in
        ``rejected`` by index with their errors. Sending the same event again (a retry) stores
        it once (``duplicates``). The channel is the key's: store for sellers, web for the
        webshop, store for the owner and admin.
        """
        caller = current_caller()
        session = db.get_session()
        with db.write(session):
            result = feedback.record_events(
                session,
                data["events"],
                channel=_channel(),
                actor=caller.name,
                now=context.now(),
            )
        return {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": [{"index": r.index, "errors": r.errors} for r in result.rejected],
        }


@blp.route("/recommendations/report")
class RecommendationReport(MethodView):
    @require(*REPORT_READERS)
    @blp.arguments(RecommendationReportQueryArgsSchema, location="query")
    @blp.response(200, RecommendationReportSchema)
    @blp.doc(
        responses={
            "200": {
                "description": "JSON, or with format=csv a CSV file (a header row, then rows).",
                "content": {
                    "application/json": {"schema": RecommendationReportSchema},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    )
    def get(self, args: dict[str, Any]) -> Any:
        """What recommendations sell: shown, accepted, sold and revenue per product or per day.

        ``format=csv`` answers the rows as a CSV file with a header row instead of JSON.
        """
        policy = context.policy()
        today = context.now().astimezone(policy.timezone).date()
        date_from, date_to = periods.default_period(
            today, args.get("date_from"), args.get("date_to"), max_days=MAX_REPORT_DAYS
        )
        session = db.get_session()
        with db.read(session):
            found = feedback.report(
                session,
                date_from=date_from,
                date_to=date_to,
                group=args["group"],
                channel=args.get("channel"),
                tz=policy.timezone,
            )
        if args["format"] == "csv":
            name = f"recommendations-{found.group}-{date_from}-{date_to}.csv"
            return Response(
                feedback.report_csv(found),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return {
            "date_from": found.date_from,
            "date_to": found.date_to,
            "group": found.group,
            "channel": found.channel,
            "rows": [row.as_dict() for row in found.rows],
            "totals": found.totals.as_dict(),
        }


def warm_up(app: Flask) -> str | None:
    """Load the served model and run one suggestion through the whole path (model, stock
    query, reasons, schema) before a worker takes requests, so its first call is as fast as
    the others. Returns the version loaded (None: no model yet, best-sellers answer).

    Called by gunicorn's ``post_worker_init`` hook (gunicorn.conf.py) and, when
    ``RECOMMENDER_PRELOAD`` is on, by ``create_app``. Never fails: a worker without a model
    still serves the best-sellers.
    """
    with app.app_context():
        served = holder().refresh()
        session = db.new_session(app)
        try:
            with db.read(session):
                skus = list(
                    session.scalars(
                        select(Product.sku).where(Product.active.is_(True)).order_by(Product.sku)
                    )
                )
                # The API key lookup's statement, compiled and run once here too (a secret
                # without the key prefix would return before the query).
                keys_service.authenticate(session, keys_service.KEY_PREFIX + "warm-up")
        finally:
            session.close()
        if skus:
            try:
                _warm_requests(app, skus)
            except Exception:  # warming up must never stop a worker from starting
                log.warning("recommendation warm-up failed", exc_info=True)
    return served.version


def _warm_requests(app: Flask, skus: list[str]) -> None:
    """The recommendation views as a seller calls them (arguments, service, reasons in both
    languages, schema, JSON), without a key: the caller is set the way ``require`` sets it.
    One request through the whole WSGI stack (URL map, error handler) without a key too."""
    seller = Caller(key_id=0, name="warm-up", role=Role.SELLER)
    product_view = ProductRecommendations.get.__wrapped__
    for sku, query in ((skus[0], "limit=5"), (skus[-1], "kind=alternatives&lang=en")):
        with app.test_request_context(f"/api/v1/products/{sku}/recommendations?{query}"):
            g.caller = seller
            product_view(ProductRecommendations(), sku=sku)  # a Response: serialised already
    basket_view = ContextRecommendations.post.__wrapped__
    with app.test_request_context(
        "/api/v1/recommendations", method="POST", json={"skus": skus[:3], "limit": 5}
    ):
        g.caller = seller
        basket_view(ContextRecommendations())
    app.test_client().get(  # 401 after the key lookup: an unknown key
        f"/api/v1/products/{skus[0]}/recommendations",
        headers={"Authorization": f"Bearer {keys_service.KEY_PREFIX}warm-up"},
    )
