"""Product sheets: what a complete sheet needs per category and channel, how complete each
product is, the French description written from its attributes, and the way to the webshop
(draft -> ready -> published, with product.published / product.unpublished events).

Templates are the owner's, edited on a page, so they are a tiny language that cannot run code:
``{field}`` or ``{attribute}`` (``{capacite_kg}``), filters ``{chargement|lower}``,
``|upper``, ``|capitalize``, and ``[optional parts]`` left out when a value inside is missing:
``Lave-linge {chargement|lower} {capacite_kg} kg[, essorage {essorage_tr_min} tr/min].``
gives "Lave-linge hublot 9 kg, essorage 1 400 tr/min." (numbers written the French way).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.catalog.models import CategorySheet, Product, ProductSheet, SheetState
from store_api.catalog.service import get_product, product_payload
from store_api.errors import Conflict, ErrorCode, Invalid
from store_api.events import service as events
from store_api.events.service import EventType, NewEvent

CHANNELS = ("webshop", "tablet")
FIELDS = ("name", "price", "brand", "description", "image_url", "gtin", "mpn", "colour")
DEFAULT_REQUIRED: dict[str, list[str]] = {
    "webshop": ["name", "price", "brand", "description", "image_url", "gtin"],
    "tablet": ["name", "price", "brand"],
}
# The shop's own categories come with a first template and the attributes customers ask for;
# the owner edits both on the sheets page.
DEFAULT_RULES: dict[str, dict[str, Any]] = {
    "Lave-linge": {
        "attributes": ["capacite_kg", "essorage_tr_min", "classe_energie"],
        "template": "Lave-linge[ {chargement|lower}] {capacite_kg} kg[, essorage {essorage_tr_min} "
        "tr/min][, classe énergétique {classe_energie}][, {largeur_cm} cm de large].",
    },
    "Sèche-linge": {
        "attributes": ["capacite_kg", "classe_energie"],
        "template": "Sèche-linge[ {technologie|lower}] {capacite_kg} kg[, classe énergétique "
        "{classe_energie}][, {largeur_cm} cm de large].",
    },
    "Réfrigérateurs": {
        "attributes": ["volume_l", "classe_energie"],
        "template": "Réfrigérateur[ {type|lower}] de {volume_l} L[, classe énergétique "
        "{classe_energie}].",
    },
    "Lave-vaisselle": {
        "attributes": ["couverts", "classe_energie"],
        "template": "Lave-vaisselle {couverts} couverts[, {niveau_sonore_db} dB][, largeur "
        "{largeur_cm} cm][, classe énergétique {classe_energie}].",
    },
    "Fours": {
        "attributes": ["volume_l"],
        "template": "Four de {volume_l} L[, {puissance_w} W][, nettoyage {nettoyage|lower}].",
    },
    "Téléviseurs": {
        "attributes": ["diagonale_pouces", "resolution"],
        "template": "Téléviseur {diagonale_pouces} pouces[ {technologie}][, définition "
        "{resolution}][, {frequence_hz} Hz].",
    },
}
_TOKEN = re.compile(r"\{([^{}|]+)(?:\|([a-z]+))?\}")
_FILTERS = {"lower": str.lower, "upper": str.upper, "capitalize": str.capitalize}
REQUIREMENT = re.compile(r"^(?:" + "|".join(FIELDS) + r"|attr:[a-z0-9_]{1,60})$")
MAX_TEMPLATE = 2000


# --- rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    category: str
    required: dict[str, list[str]]
    template: str
    google_category: str
    saved: bool  # False: the built-in default, not yet edited


def default_rule(category: str) -> Rule:
    base = DEFAULT_RULES.get(category, {})
    attributes = [f"attr:{a}" for a in base.get("attributes", [])]
    required = {channel: [*fields, *attributes] for channel, fields in DEFAULT_REQUIRED.items()}
    return Rule(category, required, base.get("template", ""), "", saved=False)


def rules(session: Session, categories: Sequence[str]) -> dict[str, Rule]:
    saved = {
        row.category: row
        for row in session.scalars(
            select(CategorySheet).where(CategorySheet.category.in_(set(categories)))
        )
    }
    result = {}
    for category in categories:
        row = saved.get(category)
        if row is None:
            result[category] = default_rule(category)
        else:
            required = {c: list(row.required.get(c, [])) for c in CHANNELS}
            result[category] = Rule(category, required, row.template, row.google_category, True)
    return result


def all_rules(session: Session) -> list[Rule]:
    categories = {c for c in session.scalars(select(Product.category).distinct()) if c}
    categories |= set(session.scalars(select(CategorySheet.category)))
    found = rules(session, sorted(categories))
    return [found[c] for c in sorted(found)]


def check_rule(required: Mapping[str, Any], template: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for channel, items in required.items():
        if channel not in CHANNELS:
            errors.setdefault("required", []).append(f"Unknown channel {channel!r}.")
            continue
        if not isinstance(items, list):
            errors.setdefault("required", []).append(f"{channel}: a list.")
            continue
        bad = [i for i in items if not isinstance(i, str) or not REQUIREMENT.match(i)]
        if bad:
            errors.setdefault("required", []).append(
                f"{channel}: unknown {', '.join(map(str, bad))} "
                f"(fields: {', '.join(FIELDS)}; attributes: attr:<key>)."
            )
    errors.update(check_template(template))
    return errors


def check_template(template: str) -> dict[str, list[str]]:
    problems = []
    if len(template) > MAX_TEMPLATE:
        problems.append(f"At most {MAX_TEMPLATE} characters.")
    depth = 0
    for char in template:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0 or depth > 1:
            problems.append("Brackets [ ] must pair and not nest.")
            break
    if depth > 0 and not problems:
        problems.append("Brackets [ ] must pair and not nest.")
    for match in _TOKEN.finditer(template):
        if match.group(2) and match.group(2) not in _FILTERS:
            problems.append(f"Unknown filter {match.group(2)!r} (lower, upper, capitalize).")
    stripped = _TOKEN.sub("", template)
    if "{" in stripped or "}" in stripped:
        problems.append("A { without its } (or the other way round).")
    return {"template": problems} if problems else {}


def save_rule(
    session: Session,
    category: str,
    *,
    required: Mapping[str, list[str]],
    template: str,
    google_category: str,
    now: dt.datetime,
) -> Rule:
    errors = check_rule(required, template)
    if not 0 < len(category) <= 120:
        errors["category"] = ["1 to 120 characters."]
    if errors:
        raise Invalid(
            ErrorCode.INVALID_TEMPLATE,
            f"Invalid sheet rule: {', '.join(sorted(errors))}.",
            errors,
        )
    row = session.get(CategorySheet, category)
    if row is None:
        row = CategorySheet(category=category)
        session.add(row)
    row.required = {c: list(required.get(c, [])) for c in CHANNELS}
    row.template = template
    row.google_category = google_category
    row.updated_at = now
    session.flush()
    return rules(session, [category])[category]


# --- descriptions and completeness ------------------------------------------------------


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return f"{value:,}".replace(",", "\u202f")
    if isinstance(value, float):
        whole = f"{value:,.3f}".rstrip("0").rstrip(".")
        return whole.replace(",", "\u202f").replace(".", ",")
    return str(value)


def _value(product: Product, name: str) -> str:
    if name in FIELDS or name in ("category", "sku"):
        raw = getattr(product, name)
    else:
        raw = (product.attributes or {}).get(name)
    if raw is None or raw == "" or isinstance(raw, (list, dict)):
        return ""
    return _number(raw).strip()


def render(template: str, product: Product) -> str:
    """The template filled with the product's values; "" when a required value is missing."""

    def fill(part: str) -> str | None:
        missing = False

        def one(match: re.Match[str]) -> str:
            nonlocal missing
            value = _value(product, match.group(1).strip())
            if not value:
                missing = True
            flt = _FILTERS.get(match.group(2) or "")
            return flt(value) if flt else value

        text = _TOKEN.sub(one, part)
        return None if missing else text

    out = []
    for piece in re.split(r"(\[[^\[\]]*\])", template):
        if piece.startswith("[") and piece.endswith("]"):
            out.append(fill(piece[1:-1]) or "")
        else:
            filled = fill(piece)
            if filled is None:
                return ""
            out.append(filled)
    # Collapse the spaces an empty optional part leaves (not the narrow no-break ones of numbers).
    return re.sub(r"[ \t\n]{2,}", " ", "".join(out)).strip()


def description(product: Product, rule: Rule) -> tuple[str, bool]:
    """The product's own description, else the one its category template writes (generated)."""
    if product.description.strip():
        return product.description, False
    generated = render(rule.template, product) if rule.template else ""
    return generated, bool(generated)


def missing(product: Product, rule: Rule, channel: str, text: str) -> list[str]:
    """What the channel requires that the product lacks ("description" counts a generated one)."""
    result = []
    for item in rule.required.get(channel, []):
        if item == "description":
            present = bool(text)
        elif item.startswith("attr:"):
            present = bool(_value(product, item[5:]))
        elif item == "price":
            present = product.price is not None and product.price > 0
        else:
            present = bool(getattr(product, item, None))
        if not present:
            result.append(item)
    return result


@dataclass(frozen=True)
class Sheet:
    product: Product
    state: str
    published_at: dt.datetime | None
    description: str
    generated: bool
    rule: Rule
    missing: dict[str, list[str]]  # per channel

    def completeness(self, channel: str) -> int:
        required = len(self.rule.required.get(channel, []))
        if not required:
            return 100
        return round(100 * (required - len(self.missing[channel])) / required)

    @property
    def complete(self) -> bool:
        return not self.missing["webshop"]


def _sheets(session: Session, products: Sequence[Product]) -> list[Sheet]:
    found = rules(session, sorted({p.category for p in products}))
    states = (
        {
            row.product_id: row
            for row in session.scalars(
                select(ProductSheet).where(ProductSheet.product_id.in_([p.id for p in products]))
            )
        }
        if len(products) < 1000
        else {row.product_id: row for row in session.scalars(select(ProductSheet))}
    )
    result = []
    for product in products:
        rule = found[product.category]
        text, generated = description(product, rule)
        row = states.get(product.id)
        result.append(
            Sheet(
                product=product,
                state=row.state if row else SheetState.DRAFT,
                published_at=row.published_at if row else None,
                description=text,
                generated=generated,
                rule=rule,
                missing={c: missing(product, rule, c, text) for c in CHANNELS},
            )
        )
    return result


def sheet(session: Session, sku: str) -> Sheet:
    return _sheets(session, [get_product(session, sku)])[0]


def list_sheets(
    session: Session,
    *,
    state: str | None = None,
    category: str | None = None,
    channel: str = "webshop",
    incomplete: bool = False,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[Sheet], int]:
    """Active products' sheets, the most to complete first (then category, name)."""
    stmt = select(Product).where(Product.active.is_(True))
    if category:
        stmt = stmt.where(Product.category == category)
    found = _sheets(session, list(session.scalars(stmt)))
    if state:
        found = [s for s in found if s.state == state]
    if incomplete:
        found = [s for s in found if s.missing[channel]]
    found.sort(
        key=lambda s: (-len(s.missing[channel]), s.product.category, s.product.name, s.product.sku)
    )
    start = (page - 1) * page_size
    return found[start : start + page_size], len(found)


# --- states -----------------------------------------------------------------------------


def _set_state(
    session: Session, product: Product, state: str, actor: str, now: dt.datetime
) -> ProductSheet:
    row = session.get(ProductSheet, product.id)
    if row is None:
        row = ProductSheet(product_id=product.id, state=SheetState.DRAFT)
        session.add(row)
    row.state = state
    row.updated_at = now
    row.updated_by = actor
    if state == SheetState.PUBLISHED:
        row.published_at = now
    session.flush()
    return row


def _require_complete(found: Sheet) -> None:
    if found.missing["webshop"]:
        raise Invalid(
            ErrorCode.SHEET_INCOMPLETE,
            f"The sheet of {found.product.sku} misses: {', '.join(found.missing['webshop'])}.",
            {"sku": found.product.sku, "missing": found.missing["webshop"]},
        )


def _wrong_state(found: Sheet, action: str, allowed: Sequence[str]) -> Conflict:
    return Conflict(
        ErrorCode.SHEET_WRONG_STATE,
        f"Cannot {action} {found.product.sku}: its sheet is {found.state} "
        f"(needs {' or '.join(allowed)}).",
        {"sku": found.product.sku, "state": found.state},
    )


def mark_ready(session: Session, sku: str, *, actor: str, now: dt.datetime) -> Sheet:
    """Draft -> ready: the sheet is complete for the webshop and the owner has checked it."""
    found = sheet(session, sku)
    if found.state != SheetState.DRAFT:
        raise _wrong_state(found, "mark ready", [SheetState.DRAFT])
    _require_complete(found)
    _set_state(session, found.product, SheetState.READY, actor, now)
    return sheet(session, sku)


def back_to_draft(session: Session, sku: str, *, actor: str, now: dt.datetime) -> Sheet:
    found = sheet(session, sku)
    if found.state != SheetState.READY:
        raise _wrong_state(found, "send back to draft", [SheetState.READY])
    _set_state(session, found.product, SheetState.DRAFT, actor, now)
    return sheet(session, sku)


def publish(session: Session, sku: str, *, actor: str, now: dt.datetime) -> Sheet:
    """Ready -> published: the webshop may show it (JSON-LD, Merchant feed, product.published)."""
    found = sheet(session, sku)
    if found.state != SheetState.READY:
        raise _wrong_state(found, "publish", [SheetState.READY])
    _require_complete(found)
    if not found.product.active:
        raise Conflict(ErrorCode.PRODUCT_INACTIVE, f"Product {sku} is deactivated.", {"sku": sku})
    _set_state(session, found.product, SheetState.PUBLISHED, actor, now)
    published = sheet(session, sku)
    _emit(session, EventType.PRODUCT_PUBLISHED, published, now)
    return published


def unpublish(session: Session, sku: str, *, actor: str, now: dt.datetime) -> Sheet:
    """Published -> ready: gone from the webshop's outputs (product.unpublished)."""
    found = sheet(session, sku)
    if found.state != SheetState.PUBLISHED:
        raise _wrong_state(found, "unpublish", [SheetState.PUBLISHED])
    _set_state(session, found.product, SheetState.READY, actor, now)
    result = sheet(session, sku)
    _emit(session, EventType.PRODUCT_UNPUBLISHED, result, now)
    return result


def _emit(session: Session, kind: EventType, found: Sheet, now: dt.datetime) -> None:
    payload = {
        **product_payload(found.product),
        "description": found.description,
        "state": found.state,
        "published_at": found.published_at.isoformat() if found.published_at else None,
    }
    events.emit(session, [NewEvent(kind, payload, sku=found.product.sku)], now=now)


def published_products(session: Session) -> list[Sheet]:
    products = list(
        session.scalars(
            select(Product)
            .join(ProductSheet, ProductSheet.product_id == Product.id)
            .where(ProductSheet.state == SheetState.PUBLISHED, Product.active.is_(True))
            .order_by(Product.sku)
        )
    )
    return _sheets(session, products)
