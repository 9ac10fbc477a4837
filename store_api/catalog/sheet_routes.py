"""Product sheets (owner) and what the webshop pulls: JSON-LD per product, Merchant feed."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app
from flask.views import MethodView
from sqlalchemy.orm import Session

from store_api import context, db
from store_api.auth import ALL_ROLES, current_caller, require
from store_api.blueprint import Blueprint
from store_api.catalog import publication, sheets
from store_api.catalog.models import SheetState
from store_api.catalog.sheet_schemas import (
    RuleSchema,
    RuleUpdateSchema,
    SheetPageSchema,
    SheetQueryArgsSchema,
    SheetSchema,
)
from store_api.errors import ErrorCode, NotFound
from store_api.keys.models import Role
from store_api.stock import service as stock
from store_api.suppliers import service as suppliers

blp = Blueprint(
    "sheets",
    __name__,
    url_prefix="/api/v1",
    description="Product sheets: completeness, descriptions, publication to the webshop.",
)

EDITORS = (Role.OWNER,)


def sheet_dict(found: sheets.Sheet) -> dict[str, Any]:
    return {
        "sku": found.product.sku,
        "name": found.product.name,
        "category": found.product.category,
        "state": found.state,
        "published_at": found.published_at,
        "description": found.description,
        "description_generated": found.generated,
        "complete": found.complete,
        "channels": [
            {"channel": c, "percent": found.completeness(c), "missing": found.missing[c]}
            for c in sheets.CHANNELS
        ],
    }


def rule_dict(rule: sheets.Rule) -> dict[str, Any]:
    return {
        "category": rule.category,
        "required": rule.required,
        "template": rule.template,
        "google_category": rule.google_category,
        "saved": rule.saved,
    }


@blp.route("/sheets")
class Sheets(MethodView):
    @require(*EDITORS)
    @blp.arguments(SheetQueryArgsSchema, location="query")
    @blp.response(200, SheetPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Sheets of active products, the most to complete first."""
        session = db.get_session()
        with db.read(session):
            found, total = sheets.list_sheets(session, **args)
            items = [sheet_dict(s) for s in found]
        return {
            "items": items,
            "page": args["page"],
            "page_size": args["page_size"],
            "total": total,
        }


@blp.route("/sheets/<string:sku>")
class SheetBySku(MethodView):
    @require(*EDITORS)
    @blp.response(200, SheetSchema)
    def get(self, sku: str) -> dict[str, Any]:
        """One product's sheet: state, completeness per channel, what is missing."""
        session = db.get_session()
        with db.read(session):
            return sheet_dict(sheets.sheet(session, sku))


def _transition(action: str) -> type[MethodView]:
    verbs = {
        "ready": sheets.mark_ready,
        "draft": sheets.back_to_draft,
        "publish": sheets.publish,
        "unpublish": sheets.unpublish,
    }
    verb = verbs[action]

    class Transition(MethodView):
        @require(*EDITORS)
        @blp.response(200, SheetSchema)
        def post(self, sku: str) -> dict[str, Any]:
            session = db.get_session()
            with db.write(session):
                return sheet_dict(
                    verb(session, sku, actor=current_caller().name, now=context.now())
                )

    Transition.post.__doc__ = {
        "ready": "Draft -> ready (422 sheet_incomplete naming what is missing).",
        "draft": "Ready -> draft (back to work).",
        "publish": "Ready -> published: in the JSON-LD and the feed; emits product.published.",
        "unpublish": "Published -> ready: out of the webshop outputs; emits product.unpublished.",
    }[action]
    Transition.__name__ = f"Sheet{action.capitalize()}"
    return Transition


for _action in ("ready", "draft", "publish", "unpublish"):
    blp.route(f"/sheets/<string:sku>/{_action}")(_transition(_action))


@blp.route("/sheet-rules")
class Rules(MethodView):
    @require(*EDITORS)
    @blp.response(200, RuleSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Per category: required fields and attributes per channel, description template."""
        session = db.get_session()
        with db.read(session):
            return [rule_dict(r) for r in sheets.all_rules(session)]


@blp.route("/sheet-rules/<string:category>")
class RuleByCategory(MethodView):
    @require(*EDITORS)
    @blp.arguments(RuleUpdateSchema)
    @blp.response(200, RuleSchema)
    def put(self, data: dict[str, Any], category: str) -> dict[str, Any]:
        """Save a category's rule (422 naming a bad requirement or template)."""
        session = db.get_session()
        with db.write(session):
            return rule_dict(sheets.save_rule(session, category, now=context.now(), **data))


# --- what the webshop pulls ------------------------------------------------------------


def _offers(session: Session, skus: list[str]) -> dict[str, publication.Offer]:
    levels = stock.stock_for(session, skus, context.policy())
    aisle = suppliers.availability_for(session, skus)
    today = context.now().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    return {
        sku: publication.Offer(levels[sku].available if sku in levels else 0, aisle.get(sku), today)
        for sku in skus
    }


def _url(sku: str) -> str:
    template: str = current_app.config["WEBSHOP_PRODUCT_URL"]
    return template.replace("{sku}", sku)


@blp.route("/products/<string:sku>/jsonld")
class ProductJsonLd(MethodView):
    @require(*ALL_ROLES)
    @blp.response(200, content_type="application/ld+json")
    def get(self, sku: str) -> Response:
        """schema.org Product of a published product, with price and availability now."""
        session = db.get_session()
        with db.read(session):
            found = sheets.sheet(session, sku)
            if found.state != SheetState.PUBLISHED or not found.product.active:
                raise NotFound(
                    ErrorCode.PRODUCT_NOT_PUBLISHED,
                    f"Product {sku} is not published.",
                    {"sku": sku, "state": found.state},
                )
            offer = _offers(session, [sku])[sku]
        data = publication.jsonld(found, offer, _url(sku), current_app.config["WEBSHOP_NAME"])
        body = json.dumps(data, ensure_ascii=False, indent=1)
        return Response(body, mimetype="application/ld+json")


@blp.route("/channels/merchant-feed")
class MerchantFeed(MethodView):
    @require(*ALL_ROLES)
    @blp.response(200, content_type="application/rss+xml")
    def get(self) -> Response:
        """Google Merchant Center product feed (RSS 2.0) of every published product."""
        session = db.get_session()
        with db.read(session):
            found = sheets.published_products(session)
            offers = _offers(session, [s.product.sku for s in found])
            google = {s.rule.category: s.rule.google_category for s in found}
        body = publication.merchant_feed(
            found,
            offers,
            url_for=_url,
            shop=current_app.config["WEBSHOP_NAME"],
            shop_url=_url("").rsplit("/", 2)[0] + "/",
            google_categories=google,
        )
        return Response(body, mimetype="application/rss+xml")
