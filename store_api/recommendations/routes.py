"""Recommendation endpoints: /api/v1/products/{sku}/recommendations, /api/v1/recommendations.

Every suggestion is an active product with units available now; the seller's tablet sees what
is on the floor first, the webshop what is in the warehouse.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from flask import current_app
from flask.views import MethodView

from store_api import context, db
from store_api.auth import ALL_ROLES, current_caller, require
from store_api.blueprint import Blueprint
from store_api.keys.models import Role
from store_api.recommendations import service
from store_api.recommendations.schemas import (
    RecommendationContextSchema,
    RecommendationListSchema,
    RecommendationQueryArgsSchema,
)
from store_api.stock.models import Channel

blp = Blueprint(
    "recommendations", __name__, url_prefix="/api/v1", description="What to suggest alongside."
)

# Shelf devices show one suggestion per product label; baskets and visits are for the people
# (and the webshop) that sell.
PRODUCT_READERS = ALL_ROLES
CONTEXT_READERS = (Role.OWNER, Role.SELLER, Role.WEBSHOP)


def recommender_dir() -> Path:
    configured: str = current_app.config.get("RECOMMENDER_DIR") or ""
    return Path(configured) if configured else Path(current_app.instance_path) / "recommender"


def holder() -> service.ModelHolder:
    return service.holder_for(recommender_dir())


def _channel() -> str:
    return current_caller().own_channel or Channel.STORE


def _body(kind: str, skus: list[str], found: service.Recommendations) -> dict[str, Any]:
    return {
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
            )
        return _body(data["kind"], data["skus"], found)
