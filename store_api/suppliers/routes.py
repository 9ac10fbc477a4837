"""Supplier endpoints: /api/v1/suppliers, supplier offers, and feed imports (dry run, apply)."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask.views import MethodView
from werkzeug.exceptions import RequestEntityTooLarge

from store_api import context, db
from store_api.auth import current_caller, require
from store_api.blueprint import Blueprint
from store_api.errors import ErrorCode, envelope
from store_api.feeds import service as feeds
from store_api.feeds.problems import describe
from store_api.i18n import current_locale
from store_api.keys.models import Role
from store_api.suppliers import service
from store_api.suppliers.models import FeedImport, Supplier
from store_api.suppliers.schemas import (
    FeedApplySchema,
    FeedImportSchema,
    FeedImportSummarySchema,
    FeedQueryArgsSchema,
    FeedUploadSchema,
    OfferPageSchema,
    OfferQueryArgsSchema,
    SupplierCreateSchema,
    SupplierSchema,
    SupplierUpdateSchema,
)

blp = Blueprint(
    "suppliers",
    __name__,
    url_prefix="/api/v1",
    description="Suppliers, their offers and their catalog feeds (dry run, diff, apply).",
)

BUYERS = (Role.OWNER,)
UPLOAD_ENDPOINT = "suppliers.SupplierFeeds"


@blp.before_request
def _feed_size_limit() -> None:
    """Feed files are bigger than API bodies: their own limit, checked before reading."""
    if request.endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = current_app.config["FEEDS_MAX_BYTES"]


@blp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> tuple[Response, int]:
    limit = current_app.config["FEEDS_MAX_BYTES"]
    return envelope(
        ErrorCode.FEED_TOO_LARGE,
        413,
        f"The file is larger than the limit of {limit} bytes; nothing was read.",
        {"file": [f"At most {limit} bytes."], "limit_bytes": limit},
    )


def present_import(
    record: FeedImport,
    supplier_code: str,
    *,
    kinds: list[str] | None = None,
    page: int = 1,
    page_size: int = 50,
    with_entries: bool = True,
) -> dict[str, Any]:
    """A feed import with one page of its entries, problems written for people."""
    locale = current_locale()
    stored = record.entries if with_entries else []
    entries = [e for e in stored if not kinds or e["kind"] in kinds]
    start = (page - 1) * page_size
    items = []
    for entry in entries[start : start + page_size]:
        problems = [{**p, "message": describe(p, locale)} for p in entry.get("problems", [])]
        items.append({**entry, "problems": problems})
    problem = record.problem
    return {
        **{c: getattr(record, c) for c in FeedImportSchema().fields if c not in _COMPUTED},
        "supplier": supplier_code,
        "problem": {**problem, "message": describe(problem, locale)} if problem else None,
        "entries": {"items": items, "page": page, "page_size": page_size, "total": len(entries)},
    }


_COMPUTED = {"supplier", "problem", "entries"}


@blp.route("/suppliers")
class Suppliers(MethodView):
    @require(*BUYERS)
    @blp.response(200, SupplierSchema(many=True))
    def get(self) -> list[Supplier]:
        """Every supplier, by name."""
        session = db.get_session()
        with db.read(session):
            return service.list_suppliers(session)

    @require(*BUYERS)
    @blp.arguments(SupplierCreateSchema)
    @blp.response(201, SupplierSchema)
    def post(self, data: dict[str, Any]) -> Supplier:
        """Add a supplier (its mapping profile may come now or later)."""
        session = db.get_session()
        with db.write(session):
            return service.create_supplier(session, data, now=context.now())


@blp.route("/suppliers/<string:code>")
class SupplierByCode(MethodView):
    @require(*BUYERS)
    @blp.response(200, SupplierSchema)
    def get(self, code: str) -> Supplier:
        """One supplier with its mapping profile."""
        session = db.get_session()
        with db.read(session):
            return service.get_supplier(session, code)

    @require(*BUYERS)
    @blp.arguments(SupplierUpdateSchema)
    @blp.response(200, SupplierSchema)
    def patch(self, changes: dict[str, Any], code: str) -> Supplier:
        """Change a supplier; `mapping` replaces the saved mapping profile (checked first)."""
        session = db.get_session()
        with db.write(session):
            return service.update_supplier(session, code, changes, now=context.now())


@blp.route("/supplier-offers")
class Offers(MethodView):
    @require(*BUYERS)
    @blp.arguments(OfferQueryArgsSchema, location="query")
    @blp.response(200, OfferPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """What suppliers offer: purchase price, availability, lead time, last seen."""
        session = db.get_session()
        with db.read(session):
            views, total = service.offers(
                session,
                supplier_code=args.get("supplier"),
                sku=args.get("sku"),
                listed=args.get("listed"),
                page=args["page"],
                page_size=args["page_size"],
            )
        items = [
            {
                **{c: getattr(v.offer, c) for c in _OFFER_COLUMNS},
                "supplier": v.supplier_code,
                "sku": v.sku,
            }
            for v in views
        ]
        return {
            "items": items,
            "page": args["page"],
            "page_size": args["page_size"],
            "total": total,
        }


_OFFER_COLUMNS = (
    "supplier_sku",
    "gtin",
    "mpn",
    "purchase_price",
    "availability",
    "supplier_stock",
    "lead_days",
    "listed",
    "last_seen_at",
    "updated_at",
)


@blp.route("/suppliers/<string:code>/feeds")
class SupplierFeeds(MethodView):
    @require(*BUYERS)
    @blp.response(200, FeedImportSummarySchema(many=True))
    def get(self, code: str) -> list[dict[str, Any]]:
        """This supplier's feed imports, newest first (without their entries)."""
        session = db.get_session()
        with db.read(session):
            found = feeds.list_imports(session, code)
            return [present_import(r, code, with_entries=False) for r in found]

    @require(*BUYERS)
    @blp.arguments(FeedUploadSchema, location="files")
    @blp.response(201, FeedImportSchema)
    def post(self, files: dict[str, Any], code: str) -> dict[str, Any]:
        """Dry run: read a supplier file (CSV, XLSX, BMEcat) and return its diff; nothing
        in the catalog changes. A file that cannot be read is recorded as `refused`."""
        upload = files["file"]
        try:
            data = upload.read()
        finally:
            upload.close()  # a large upload sits in a temporary file
        session = db.get_session()
        with db.write(session):
            record = feeds.dry_run(
                session,
                code,
                data,
                upload.filename or "feed",
                actor=current_caller().name,
                now=context.now(),
                max_bytes=current_app.config["FEEDS_MAX_BYTES"],
            )
            return present_import(record, code)


@blp.route("/feeds/<int:feed_id>")
class FeedById(MethodView):
    @require(*BUYERS)
    @blp.arguments(FeedQueryArgsSchema, location="query")
    @blp.response(200, FeedImportSchema)
    def get(self, args: dict[str, Any], feed_id: int) -> dict[str, Any]:
        """A feed import and a page of its diff (`kind` filters: new, changed, missing,
        rejected, skipped; unchanged lines are only counted)."""
        session = db.get_session()
        with db.read(session):
            record = feeds.get_import(session, feed_id, with_entries=True)
            supplier = session.get(Supplier, record.supplier_id)
            assert supplier is not None
            return present_import(
                record,
                supplier.code,
                kinds=args.get("kind"),
                page=args["page"],
                page_size=args["page_size"],
            )


@blp.route("/feeds/<int:feed_id>/apply")
class FeedApply(MethodView):
    @require(*BUYERS)
    @blp.arguments(FeedApplySchema)
    @blp.response(200, FeedImportSchema)
    def post(self, data: dict[str, Any], feed_id: int) -> dict[str, Any]:
        """Apply a dry run as shown, in one transaction. Refused (409) when lines are rejected
        (unless `skip_rejected`), when the catalog changed since (`feed_stale`: dry-run
        again) or when it is not a dry run any more."""
        session = db.get_session()
        with db.write(session):
            record = feeds.apply_import(
                session,
                feed_id,
                skip_rejected=data["skip_rejected"],
                actor=current_caller().name,
                now=context.now(),
                locations=context.policy().locations,
            )
            supplier = session.get(Supplier, record.supplier_id)
            assert supplier is not None
            code = supplier.code
        session.expire(record, ["entries"])
        with db.read(session):
            record = feeds.get_import(session, feed_id, with_entries=True)
            return present_import(record, code)
