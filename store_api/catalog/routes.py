"""Catalog endpoints: /api/v1/products, /api/v1/categories."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

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
from store_api.search import stats as search_stats
from store_api.stock import service as stock

blp = Blueprint("products", __name__, url_prefix="/api/v1", description="The shop's catalog.")

EDITORS = (Role.OWNER,)


def _with_stock(products: list[Product]) -> list[dict[str, Any]]:
    levels = stock.stock_for(db.get_session(), [p.sku for p in products], context.policy())
    out = []
    for product in products:
        level = levels.get(product.sku)
        row = {c: getattr(product, c) for c in ProductSchema().fields if hasattr(product, c)}
        row["stock"] = (
            {"on_hand": level.on_hand, "reserved": level.reserved, "available": level.available}
            if level
            else {"on_hand": 0, "reserved": 0, "available": 0}
        )
        out.append(row)
    return out


@blp.route("/products")
class Products(MethodView):
    @require(*ALL_ROLES)
    @blp.arguments(ProductQueryArgsSchema, location="query")
    @blp.response(200, ProductPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Find products: with `q`, the most relevant first (docs/search.md: typos, plurals,
        synonyms, model numbers, as you type); otherwise the catalogue by category and name."""
        session = db.get_session()
        with db.read(session):
            found = service.search_products(session, **args)
            items = _with_stock(found.items)
        if args.get("q") and args["page"] == 1 and "gtin" not in args:
            search_stats.count(session, args["q"], found.total, found.correction)
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
