"""Owner pages for product sheets: what to complete (most missing first), one sheet to fill
in and move along (draft -> ready -> published), and each category's rule and template."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.catalog import service as catalog
from store_api.catalog import sheets
from store_api.catalog.models import SheetState
from store_api.catalog.schemas import ProductUpdateSchema
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import DomainError

FIELD_NAMES = {
    "name": _l("name"),
    "price": _l("price"),
    "brand": _l("brand"),
    "description": _l("description"),
    "image_url": _l("image"),
    "gtin": _l("GTIN / EAN"),
    "mpn": _l("manufacturer reference"),
    "colour": _l("colour"),
}
STATES = {
    SheetState.DRAFT: _l("draft"),
    SheetState.READY: _l("ready"),
    SheetState.PUBLISHED: _l("published"),
}
CHANNEL_NAMES = {"webshop": _l("webshop"), "tablet": _l("tablet")}
ACTIONS = {
    "ready": (sheets.mark_ready, _l("Marked ready: it can be published.")),
    "draft": (sheets.back_to_draft, _l("Back to draft.")),
    "publish": (sheets.publish, _l("Published: the webshop shows it.")),
    "unpublish": (sheets.unpublish, _l("Unpublished: the webshop no longer shows it.")),
}


def item_name(item: str) -> str:
    if item.startswith("attr:"):
        return item[5:].replace("_", " ")
    return str(FIELD_NAMES.get(item, item))


def item_names(items: list[str]) -> str:
    return ", ".join(item_name(i) for i in items)


def _labels() -> dict[str, Any]:
    return {
        "state_names": STATES,
        "channel_names": CHANNEL_NAMES,
        "item_name": item_name,
        "item_names": item_names,
    }


@bp.get("/sheets")
@login_required
def sheets_page() -> tuple[str, int]:
    args = request.args
    state = args.get("state") if args.get("state") in STATES else None
    channel = str(args.get("channel")) if args.get("channel") in sheets.CHANNELS else "webshop"
    incomplete = args.get("incomplete") == "1"
    category = args.get("category", "")[:120] or None
    session = db.get_session()
    with db.read(session):
        found, total = sheets.list_sheets(
            session, state=state, category=category, channel=channel, incomplete=incomplete,
            page=1, page_size=200,
        )  # fmt: skip
        categories = [c for c, _n in catalog.list_categories(session)]
    return page(
        "sheets_list.html",
        sheets=found,
        total=total,
        categories=categories,
        filters={
            "state": state or "",
            "category": category or "",
            "channel": channel,
            "incomplete": incomplete,
        },
        **_labels(),
    )


def _sheet_or_none(sku: str) -> sheets.Sheet | None:
    session = db.get_session()
    with db.read(session):
        try:
            return sheets.sheet(session, sku)
        except DomainError:
            return None


def _unknown(sku: str) -> tuple[str, int]:
    return error(404, _("Unknown product"), _("No product has the SKU %(sku)s.", sku=sku))


@bp.get("/sheets/<sku>")
@login_required
def sheet_page(sku: str) -> tuple[str, int]:
    found = _sheet_or_none(sku)
    if found is None:
        return _unknown(sku)
    return _sheet_page(found)


def _sheet_page(
    found: sheets.Sheet, problems: list[str] | None = None, form: Any = None
) -> tuple[str, int]:
    required_attributes = sorted(
        {
            i[5:]
            for c in sheets.CHANNELS
            for i in found.rule.required.get(c, [])
            if i.startswith("attr:")
        }
    )
    attributes = {
        k: v
        for k, v in (found.product.attributes or {}).items()
        if isinstance(v, (str, int, float))
    }
    keys = [*required_attributes, *(k for k in sorted(attributes) if k not in required_attributes)]
    return page(
        "sheets_detail.html",
        422 if problems else 200,
        sheet=found,
        attribute_keys=keys,
        attributes=attributes,
        problems=problems or [],
        form=form,
        **_labels(),
    )


@bp.post("/sheets/<sku>")
@login_required
def sheet_save(sku: str) -> Response | tuple[str, int]:
    found = _sheet_or_none(sku)
    if found is None:
        return _unknown(sku)
    form = request.form
    data: dict[str, Any] = {}
    for name in ("name", "brand", "colour", "description"):
        if name in form:
            data[name] = form[name].strip()
    for name in ("gtin", "mpn", "image_url"):
        if name in form:
            data[name] = form[name].strip() or None
    problems: list[str] = []
    if "price" in form:
        try:
            data["price"] = Decimal(
                form["price"].replace(",", ".").replace("\u202f", "").replace(" ", "")
            )
        except InvalidOperation:
            problems.append(_("The price is a number such as 749,00."))
    attributes = dict(found.product.attributes or {})
    for key, value in form.items():
        if key.startswith("attr:"):
            name, value = key[5:], value.strip()
            if not value:
                attributes.pop(name, None)
                continue
            try:
                number = Decimal(value.replace(",", ".").replace("\u202f", "").replace(" ", ""))
                attributes[name] = (
                    int(number) if number == number.to_integral_value() else float(number)
                )
            except InvalidOperation:
                attributes[name] = value
    data["attributes"] = attributes
    try:
        changes = ProductUpdateSchema().load(
            {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()}
        )
    except ValidationError as invalid:
        for name, messages in invalid.normalized_messages().items():
            why = " ".join(map(str, messages)) if isinstance(messages, list) else str(messages)
            problems.append(_("%(field)s: not accepted (%(why)s)", field=item_name(name), why=why))
        changes = {}
    if problems:
        return _sheet_page(found, problems, form)
    session = db.get_session()
    try:
        with db.write(session):
            catalog.update_product(session, sku, changes, now=context.now())
    except DomainError as refused:
        return _sheet_page(found, [_("Not saved: %(why)s", why=refused.message)], form)
    flash(_("Sheet saved."))
    return redirect(url_for("dashboard.sheet_page", sku=sku), 303)


@bp.post("/sheets/<sku>/<action>")
@login_required
def sheet_action(sku: str, action: str) -> Response | tuple[str, int]:
    if action not in ACTIONS:
        return error(404, _("Unknown action"), _("This action does not exist."))
    verb, done = ACTIONS[action]
    session = db.get_session()
    try:
        with db.write(session):
            verb(session, sku, actor=g.owner.name, now=context.now())
    except DomainError as refused:
        if refused.code == "product_not_found":
            return _unknown(sku)
        missing = refused.errors.get("missing") if isinstance(refused.errors, dict) else None
        if missing:
            flash(
                _("Still missing: %(items)s.", items=", ".join(item_name(i) for i in missing)),
                "error",
            )
        else:
            flash(_("Not possible in this state."), "error")
        return redirect(request.form.get("back") or url_for("dashboard.sheet_page", sku=sku), 303)
    flash(str(done))
    target = request.form.get("back") or ""
    if not target.startswith("/dashboard/"):
        target = url_for("dashboard.sheet_page", sku=sku)
    return redirect(target, 303)


# --- rules ---------------------------------------------------------------------------------


@bp.get("/sheets/rules/<path:category>")
@login_required
def sheet_rule(category: str) -> tuple[str, int]:
    session = db.get_session()
    with db.read(session):
        rule = sheets.rules(session, [category])[category]
        sample = _sample(session, category)
    return _rule_page(rule, sample)


def _sample(session: Any, category: str) -> sheets.Sheet | None:
    from sqlalchemy import select

    from store_api.catalog.models import Product

    product = session.scalars(
        select(Product).where(Product.category == category, Product.active.is_(True)).limit(1)
    ).first()
    return sheets.sheet(session, product.sku) if product else None


def _rule_page(
    rule: sheets.Rule, sample: sheets.Sheet | None, problems: list[str] | None = None
) -> tuple[str, int]:
    preview = sheets.render(rule.template, sample.product) if sample and rule.template else ""
    return page(
        "sheets_rule.html",
        422 if problems else 200,
        rule=rule,
        sample=sample,
        preview=preview,
        fields=sheets.FIELDS,
        problems=problems or [],
        **_labels(),
    )


@bp.post("/sheets/rules/<path:category>")
@login_required
def sheet_rule_save(category: str) -> Response | tuple[str, int]:
    form = request.form
    required = {}
    for channel in sheets.CHANNELS:
        items = [f for f in form.getlist(f"{channel}:field") if f in sheets.FIELDS]
        items += [
            "attr:" + a.strip().lower()
            for a in form.get(f"{channel}:attributes", "").replace(",", "\n").splitlines()
            if a.strip()
        ]
        required[channel] = items
    template = form.get("template", "")
    errors = sheets.check_rule(required, template)
    session = db.get_session()
    if errors:
        problems = []
        if "template" in errors:
            problems.append(
                _(
                    "The template is not valid: pair the [ ] and the { }, and use only the "
                    "filters lower, upper and capitalize."
                )
            )
        if "required" in errors:
            problems.append(
                _("Attribute names are lower-case letters, digits and _ (e.g. capacite_kg).")
            )
        rule = sheets.Rule(category, required, template, form.get("google_category", ""), True)
        with db.read(session):
            sample = _sample(session, category)
        return _rule_page(rule, sample, problems)
    with db.write(session):
        sheets.save_rule(
            session, category, required=required, template=template,
            google_category=form.get("google_category", "")[:255], now=context.now(),
        )  # fmt: skip
    flash(_("Rule of %(category)s saved.", category=category))
    return redirect(url_for("dashboard.sheet_rule", category=category), 303)
