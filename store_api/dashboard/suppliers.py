"""Owner pages for suppliers: the list, one supplier (upload a file, its imports, the inbox),
its mapping profile, and a feed's diff read before applying it.

Pages call the same services as the API (store_api.suppliers, store_api.feeds) and show their
problems in the owner's language with ``feeds.problems.describe``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import DomainError
from store_api.feeds import mapping as feed_mapping
from store_api.feeds import numbers
from store_api.feeds import service as feeds
from store_api.feeds.cli import inbox_dir
from store_api.feeds.problems import describe
from store_api.i18n import current_locale
from store_api.suppliers import service as suppliers
from store_api.suppliers.models import FeedStatus

UPLOAD_ENDPOINT = "dashboard.supplier_upload"
STATUS = {
    FeedStatus.DRY_RUN: _l("to check"),
    FeedStatus.APPLIED: _l("applied"),
    FeedStatus.REFUSED: _l("refused"),
    FeedStatus.SUPERSEDED: _l("replaced by a newer file"),
}
KINDS = {
    "rejected": _l("Rejected lines"),
    "new": _l("New products"),
    "changed": _l("Changes"),
    "missing": _l("No longer listed"),
    "skipped": _l("Not carried"),
}
TARGETS = {
    "supplier_sku": _l("supplier reference"),
    "gtin": _l("GTIN / EAN"),
    "brand": _l("brand"),
    "mpn": _l("manufacturer reference"),
    "name": _l("name"),
    "description": _l("description"),
    "category": _l("category"),
    "colour": _l("colour"),
    "price": _l("selling price incl. VAT"),
    "purchase_price": _l("purchase price excl. VAT"),
    "availability": _l("supplier availability"),
    "supplier_stock": _l("supplier stock"),
    "lead_days": _l("lead time (days)"),
    "image_url": _l("image address"),
    "ignore": _l("ignore"),
    "attributes": _l("attributes"),
}
MISSING = {
    "keep": _l("keep them as they are"),
    "unavailable": _l("mark them unavailable at this supplier"),
    "deactivate": _l("deactivate the products (unless another supplier lists them)"),
}
PROFILE_ERRORS = {
    "columns": _l("Map each field once, and one column to the supplier reference."),
    "units": _l("Unknown unit. Known: mm, cm, m, g, kg, W, kW, L, dB, tr/min, pouces."),
    "markup": _l("The markup is a positive number such as 1,35."),
    "categories": _l("Write one category per line: supplier category = shop category."),
    "missing": _l("Choose what happens to products the file no longer lists."),
    "overwrite": _l("Unknown field to overwrite."),
}


@bp.before_app_request
def _upload_limit() -> None:
    """Feed files get their own size limit, before the form (and its CSRF field) is read."""
    if request.endpoint == UPLOAD_ENDPOINT and request.method == "POST":
        request.max_content_length = current_app.config["FEEDS_MAX_BYTES"]


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_exc: RequestEntityTooLarge) -> tuple[str, int]:
    limit = current_app.config["FEEDS_MAX_BYTES"]
    return error(
        413,
        _("File too large"),
        _(
            "The file is larger than the limit of %(limit)s MB: nothing was read. Split it or "
            "ask the supplier for a lighter export.",
            limit=feeds._mb(limit),
        ),
    )


def _labels() -> dict[str, Any]:
    return {"status_names": STATUS, "kind_names": KINDS, "target_names": TARGETS}


@bp.get("/suppliers")
@login_required
def suppliers_page() -> tuple[str, int]:
    session = db.get_session()
    with db.read(session):
        found = suppliers.list_suppliers(session)
        latest = {
            s.code: next(iter(feeds.list_imports(session, s.code, limit=1)), None) for s in found
        }
    return page("suppliers_list.html", suppliers=found, latest=latest, **_labels())


@bp.post("/suppliers")
@login_required
def supplier_create() -> Response | tuple[str, int]:
    form = request.form
    data: dict[str, Any] = {
        "code": form.get("code", "").strip().upper(),
        "name": form.get("name", "").strip(),
        "contact": form.get("contact", "").strip()[:255],
        "email": form.get("email", "").strip()[:255],
    }
    problems = []
    if not data["name"] or len(data["name"]) > 120:
        problems.append(_("Give the supplier a name (120 characters at most)."))
    if not data["code"] or not _code_ok(data["code"]):
        problems.append(
            _("The code is capital letters, digits, - or _ (32 at most), e.g. DISTRILEC.")
        )
    try:
        data["default_lead_days"] = int(form.get("default_lead_days") or 3)
        if not 0 <= data["default_lead_days"] <= 365:
            raise ValueError
    except ValueError:
        problems.append(_("The lead time is a number of days between 0 and 365."))
    session = db.get_session()
    if not problems:
        try:
            with db.write(session):
                suppliers.create_supplier(session, data, now=context.now())
        except DomainError:
            problems.append(_("A supplier with code %(code)s already exists.", code=data["code"]))
    if problems:
        with db.read(session):
            found = suppliers.list_suppliers(session)
            latest = {s.code: None for s in found}
        return page(
            "suppliers_list.html", 422, suppliers=found, latest=latest, problems=problems,
            form=form, **_labels(),
        )  # fmt: skip
    flash(_("Supplier %(code)s added. Upload its first file below.", code=data["code"]))
    return redirect(url_for("dashboard.supplier_page", code=data["code"]), 303)


def _code_ok(code: str) -> bool:
    import re

    return bool(re.fullmatch(r"[A-Z0-9][A-Z0-9_-]{0,31}", code))


def _supplier_or_404(code: str) -> Any:
    session = db.get_session()
    with db.read(session):
        try:
            return suppliers.get_supplier(session, code), feeds.list_imports(session, code, 20)
        except DomainError:
            return None


@bp.get("/suppliers/<code>")
@login_required
def supplier_page(code: str) -> tuple[str, int]:
    found = _supplier_or_404(code)
    if found is None:
        return error(404, _("Unknown supplier"), _("No supplier has the code %(code)s.", code=code))
    supplier, imports = found
    return page(
        "suppliers_detail.html",
        supplier=supplier,
        imports=imports,
        inbox=inbox_dir() / supplier.code,
        limit_mb=feeds._mb(current_app.config["FEEDS_MAX_BYTES"]),
        describe=lambda p: describe(p, current_locale()),
        **_labels(),
    )


@bp.post("/suppliers/<code>/feeds")
@login_required
def supplier_upload(code: str) -> Response | tuple[str, int]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose a file to upload first."), "error")
        return redirect(url_for("dashboard.supplier_page", code=code), 303)
    try:
        data = upload.read()
    finally:
        upload.close()
    session = db.get_session()
    try:
        with db.write(session):
            record = feeds.dry_run(
                session, code, data, upload.filename, actor=g.owner.name, now=context.now(),
                max_bytes=current_app.config["FEEDS_MAX_BYTES"],
            )  # fmt: skip
            feed_id = record.id
    except DomainError:
        return error(404, _("Unknown supplier"), _("No supplier has the code %(code)s.", code=code))
    return redirect(url_for("dashboard.feed_page", feed_id=feed_id), 303)


@bp.get("/feeds/<int:feed_id>")
@login_required
def feed_page(feed_id: int) -> tuple[str, int]:
    kind = request.args.get("kind", "")
    session = db.get_session()
    with db.read(session):
        try:
            record = feeds.get_import(session, feed_id, with_entries=True)
        except DomainError:
            return error(
                404, _("Unknown file"), _("No imported file has the number %(id)s.", id=feed_id)
            )
        supplier = session.get(suppliers.Supplier, record.supplier_id)
        counts = {k: sum(1 for e in record.entries if e["kind"] == k) for k in KINDS}
        shown = (
            kind
            if kind in KINDS and counts.get(kind)
            else next((k for k in KINDS if counts[k]), "")
        )
        entries = [e for e in record.entries if e["kind"] == shown][:500]
    locale = current_locale()
    for entry in entries:
        entry["messages"] = [describe(p, locale) for p in entry.get("problems", [])]
    return page(
        "suppliers_feed.html",
        record=record,
        supplier=supplier,
        counts=counts,
        shown=shown,
        entries=entries,
        problem=describe(record.problem, locale) if record.problem else None,
        **_labels(),
    )


@bp.post("/feeds/<int:feed_id>/apply")
@login_required
def feed_apply(feed_id: int) -> Response | tuple[str, int]:
    skip = request.form.get("skip_rejected") == "1"
    session = db.get_session()
    try:
        with db.write(session):
            record = feeds.apply_import(
                session, feed_id, skip_rejected=skip, actor=g.owner.name, now=context.now(),
                locations=context.policy().locations,
            )  # fmt: skip
            summary = dict(record.summary)
    except DomainError as refused:
        flash(_apply_refusal(refused.code), "error")
        return redirect(url_for("dashboard.feed_page", feed_id=feed_id), 303)
    flash(
        _(
            "Applied: %(new)s new product(s), %(changed)s change(s). Nothing else was touched.",
            new=summary.get("new", 0),
            changed=summary.get("changed", 0),
        )
    )
    return redirect(url_for("dashboard.feed_page", feed_id=feed_id), 303)


def _apply_refusal(code: str) -> str:
    return {
        "feed_has_rejected_lines": _(
            "Some lines are rejected: fix the file and upload it again, or tick “apply "
            "without the rejected lines”. Nothing was applied."
        ),
        "feed_stale": _(
            "The catalog changed since this file was read: upload it again to see the new "
            "differences. Nothing was applied."
        ),
        "feed_not_applicable": _("This file was already applied, refused or replaced."),
    }.get(code, _("The file could not be applied. Nothing was changed."))


# --- the mapping profile -----------------------------------------------------------------


@bp.get("/suppliers/<code>/mapping")
@login_required
def supplier_mapping(code: str) -> tuple[str, int]:
    found = _supplier_or_404(code)
    if found is None:
        return error(404, _("Unknown supplier"), _("No supplier has the code %(code)s.", code=code))
    supplier, imports = found
    return _mapping_page(supplier, imports, {**feed_mapping.DEFAULT_PROFILE, **supplier.mapping})


def _mapping_page(
    supplier: Any, imports: list[Any], profile: dict[str, Any], problems: list[str] | None = None
) -> tuple[str, int]:
    columns = list(profile.get("columns") or {})
    for record in imports:
        for column in record.detected.get("columns", []) if record.detected else []:
            if column not in columns and not column.startswith("FEATURE_UNIT:"):
                columns.append(column)
    return page(
        "suppliers_mapping.html",
        422 if problems else 200,
        supplier=supplier,
        profile=profile,
        columns=columns,
        targets=TARGETS,
        missing_names=MISSING,
        overwritable=feed_mapping.OVERWRITABLE,
        categories_text="\n".join(
            f"{k} = {v}" for k, v in (profile.get("categories") or {}).items()
        ),
        units_text="\n".join(
            f"{target} = {spec.get('from', '')} -> {spec['to']}".replace(" =  ->", " = ->")
            for target, spec in (profile.get("units") or {}).items()
        ),
        problems=problems or [],
        **_labels(),
    )


@bp.post("/suppliers/<code>/mapping")
@login_required
def supplier_mapping_save(code: str) -> Response | tuple[str, int]:
    found = _supplier_or_404(code)
    if found is None:
        return error(404, _("Unknown supplier"), _("No supplier has the code %(code)s.", code=code))
    supplier, imports = found
    form = request.form
    columns = {}
    for key, target in form.items(multi=True):
        if key.startswith("column:") and target:
            columns[key[7:]] = target.strip()
    profile: dict[str, Any] = {
        "columns": columns,
        "missing": form.get("missing", "unavailable"),
        "create": form.get("create") == "1",
        "auto_apply": form.get("auto_apply") == "1",
        "overwrite": form.getlist("overwrite"),
        "decimal": form.get("decimal", "auto"),
        "markup": None,
        "categories": {},
        "units": {},
    }
    problems: list[str] = []
    markup = form.get("markup", "").strip()
    if markup:
        try:
            profile["markup"] = str(numbers.parse_decimal(markup, ","))
        except ValueError:
            problems.append(str(PROFILE_ERRORS["markup"]))
    for number, raw in enumerate(form.get("categories", "").splitlines(), start=1):
        if raw.strip():
            left, sep, right = raw.partition("=")
            if not sep or not left.strip() or not right.strip():
                problems.append(
                    _(
                        "Categories, line %(n)s: write “supplier category = shop category”.",
                        n=number,
                    )
                )
            else:
                profile["categories"][left.strip()] = right.strip()[:120]
    for number, raw in enumerate(form.get("units", "").splitlines(), start=1):
        if raw.strip():
            target, sep, rest = raw.partition("=")
            source, arrow, unit = rest.partition("->")
            if not sep or not arrow or not unit.strip():
                problems.append(
                    _("Units, line %(n)s: write “attr:largeur_cm = mm -> cm”.", n=number)
                )
                continue
            spec = {"to": unit.strip()}
            if source.strip():
                spec["from"] = source.strip()
            profile["units"][target.strip()] = spec
    errors = feed_mapping.check_profile({**feed_mapping.DEFAULT_PROFILE, **profile})
    problems += [str(PROFILE_ERRORS.get(name, name)) for name in errors]
    if problems:
        return _mapping_page(supplier, imports, profile, problems)
    session = db.get_session()
    with db.write(session):
        suppliers.update_supplier(session, code, {"mapping": profile}, now=context.now())
    flash(_("Mapping profile saved: the next file of %(code)s is read with it.", code=code))
    return redirect(url_for("dashboard.supplier_page", code=code), 303)
