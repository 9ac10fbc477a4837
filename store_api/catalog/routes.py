"""Catalog endpoints: /api/v1/products, /api/v1/categories."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify
from flask.views import MethodView
from sqlalchemy.orm import Session

from store_api import context, db
from store_api.auth import ALL_ROLES, require
from store_api.blueprint import Blueprint
from store_api.catalog import service
from store_api.catalog.models import Product
from store_api.catalog.schemas import (
    CategorySchema,
    ProductCreateSchema,
    ProductPageSchema,
    ProductQueryArgsSchema,
    ProductSchema,
    ProductUpdateSchema,
)
from store_api.keys.models import Role
from store_api.search import service as search
from store_api.search import stats as search_stats
from store_api.stock import service as stock

blp = Blueprint("products", __name__, url_prefix="/api/v1", description="The shop's catalog.")

EDITORS = (Role.OWNER,)


# The product attributes a response shows (read once: a schema instance is costly to make).
_SHOWN = [name for name in ProductSchema().fields if hasattr(Product, name)]


def _with_stock(products: list[Product]) -> list[dict[str, Any]]:
    levels = stock.stock_for(db.get_session(), [p.sku for p in products], context.policy())
    out = []
    for product in products:
        level = levels.get(product.sku)
        row = {c: getattr(product, c) for c in _SHOWN}
        row["stock"] = (
            {"on_hand": level.on_hand, "reserved": level.reserved, "available": level.available}
            if level
            else {"on_hand": 0, "reserved": 0, "available": 0}
        )
        out.append(row)
    return out


_SEARCH_OPTIONS = (
    "category",
    "brand",
    "colour",
    "include_inactive",
    "in_stock",
    "boost_in_stock",
    "sort",
    "page",
    "page_size",
)


def _search(session: Session, args: dict[str, Any]) -> Response:
    """Search results straight from the index's copy of each product, plus its stock: no
    product query and no schema dump per page (the busiest endpoint of the shop floor)."""
    options = {name: args[name] for name in _SEARCH_OPTIONS if name in args}
    with db.read(session):
        found = search.search_page(session, args["q"], **options)
    if args["page"] == 1:
        search_stats.count(session, args["q"], found.total, found.correction)
    return jsonify(
        {
            "items": found.items,
            "page": args["page"],
            "page_size": args["page_size"],
            "total": found.total,
            "correction": found.correction,
        }
    )


@blp.route("/products")
class Products(MethodView):
    @require(*ALL_ROLES)
    @blp.arguments(ProductQueryArgsSchema, location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any] | Response:
        """Find products: with `q`, the most relevant first (docs/search.md: typos, plurals,
        synonyms, model numbers, as you type); otherwise the catalogue by category and name."""
        session = db.get_session()
        if (args.get("q") or "").strip() and "gtin" not in args:
            return _search(session, args)
        with db.read(session):
            found = service.search_products(session, **args)
            items = _with_stock(found.items)
        return {
            "items": items,
            "page": args["page"],
            "page_size": args["page_size"],
            "total": found.total,
            "correction": found.correction,
        }

    @require(*EDITORS)
    @blp.arguments(ProductCreateSchema)
    @blp.response(201, ProductSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a product (with empty stock at every location)."""
        session = db.get_session()
        with db.write(session):
            product = service.create_product(
                session, data, locations=context.policy().locations, now=context.now()
            )
            return _with_stock([product])[0]


@blp.route("/products/<string:sku>")
class ProductBySku(MethodView):
    @require(*ALL_ROLES)
    @blp.response(200, ProductSchema)
    def get(self, sku: str) -> dict[str, Any]:
        """Read one product with its stock totals."""
        session = db.get_session()
        with db.read(session):
            return _with_stock([service.get_product(session, sku)])[0]

    @require(*EDITORS)
    @blp.arguments(ProductUpdateSchema)
    @blp.response(200, ProductSchema)
    def patch(self, changes: dict[str, Any], sku: str) -> dict[str, Any]:
        """Change some fields of a product (send only what changes)."""
        session = db.get_session()
        with db.write(session):
            product = service.update_product(session, sku, changes, now=context.now())
            return _with_stock([product])[0]

    @require(*EDITORS)
    @blp.response(200, ProductSchema)
    def delete(self, sku: str) -> dict[str, Any]:
        """Deactivate a product: kept for history, no longer reservable or orderable."""
        session = db.get_session()
        with db.write(session):
            product = service.deactivate_product(session, sku, now=context.now())
            return _with_stock([product])[0]


@blp.route("/categories")
class Categories(MethodView):
    @require(*ALL_ROLES)
    @blp.response(200, CategorySchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Categories of active products, with how many products each has."""
        session = db.get_session()
        with db.read(session):
            return [{"category": c, "products": n} for c, n in service.list_categories(session)]
