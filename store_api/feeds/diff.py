"""Match feed lines to products and say, field by field, what applying the feed would change.

Matching, in this order (docs/suppliers.md): this supplier's offer with the same supplier
reference; a product with the same GTIN (EAN-13 and GTIN-14 with a leading zero are equal);
a product with the same brand and manufacturer reference (case and accents ignored). A line
that matches nothing becomes a new product (if the profile creates products).

The :class:`Plan` is what :mod:`store_api.feeds.apply` executes; the entries are what people
read. Both come from one pass, so what is shown is what is applied.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.catalog.service import normalize
from store_api.feeds.mapping import PRODUCT_FIELDS, FeedLine, gtin_key
from store_api.feeds.problems import Problem
from store_api.suppliers.models import Availability, Supplier, SupplierOffer

OFFER_FIELDS = ("purchase_price", "availability", "supplier_stock", "lead_days")
_SKU_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class ProductRow:
    id: int
    sku: str
    gtin: str | None
    mpn: str | None
    name: str
    description: str
    brand: str
    category: str
    colour: str
    price: Decimal
    image_url: str | None
    attributes: dict[str, Any]
    active: bool


@dataclass
class OfferRow:
    id: int
    product_id: int
    supplier_sku: str
    gtin: str | None
    mpn: str | None
    purchase_price: Decimal | None
    availability: str
    supplier_stock: int | None
    lead_days: int | None
    listed: bool


@dataclass
class Snapshot:
    """The catalog as one transaction sees it, indexed for matching."""

    products: dict[int, ProductRow]
    by_sku: dict[str, int]
    by_gtin: dict[str, int]
    by_brand_mpn: dict[tuple[str, str], int]
    offers: dict[str, OfferRow]  # this supplier's, by supplier reference
    listed_elsewhere: set[int]  # products another supplier still lists


def load_snapshot(session: Session, supplier_id: int) -> Snapshot:
    cols = [getattr(Product, name) for name in ProductRow.__dataclass_fields__]
    products = {row.id: ProductRow(*row) for row in session.execute(select(*cols))}
    offer_cols = [getattr(SupplierOffer, name) for name in OfferRow.__dataclass_fields__]
    offers = {
        row.supplier_sku: OfferRow(*row)
        for row in session.execute(
            select(*offer_cols).where(SupplierOffer.supplier_id == supplier_id)
        )
    }
    by_gtin: dict[str, int] = {}
    by_brand_mpn: dict[tuple[str, str], int] = {}
    for product in products.values():
        if product.gtin:
            by_gtin[gtin_key(product.gtin)] = product.id
        if product.mpn and product.brand:
            by_brand_mpn[(normalize(product.brand), normalize(product.mpn))] = product.id
    listed_elsewhere = set(
        session.scalars(
            select(SupplierOffer.product_id).where(
                SupplierOffer.supplier_id != supplier_id, SupplierOffer.listed.is_(True)
            )
        )
    )
    return Snapshot(
        products=products,
        by_sku={p.sku: p.id for p in products.values()},
        by_gtin=by_gtin,
        by_brand_mpn=by_brand_mpn,
        offers=offers,
        listed_elsewhere=listed_elsewhere,
    )


@dataclass
class Entry:
    kind: str  # new, changed, unchanged, missing, rejected, skipped
    line: int | None
    supplier_sku: str
    sku: str | None = None
    match: str | None = None  # supplier_sku, gtin, brand_mpn
    changes: list[dict[str, Any]] = field(default_factory=list)
    product: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    action: str | None = None  # for missing offers: keep, unavailable, deactivate

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "line": self.line}
        data["supplier_sku"] = self.supplier_sku
        data["sku"] = self.sku
        data["match"] = self.match
        data["changes"] = self.changes
        data["product"] = self.product
        data["problems"] = [p.as_dict() for p in self.problems]
        data["action"] = self.action
        return data


@dataclass
class Plan:
    create: list[dict[str, Any]] = field(default_factory=list)  # product data for new SKUs
    new_offers: list[dict[str, Any]] = field(default_factory=list)  # with "sku" for new ones
    product_changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    offer_changes: dict[int, dict[str, Any]] = field(default_factory=dict)
    seen_offer_ids: list[int] = field(default_factory=list)
    unlist_offer_ids: list[int] = field(default_factory=list)
    deactivate: list[str] = field(default_factory=list)
    created_skus: set[str] = field(default_factory=set)


@dataclass
class Diff:
    entries: list[Entry]
    plan: Plan
    counts: dict[str, int]

    @functools.cached_property
    def stored_entries(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in self.entries if e.kind != "unchanged"]

    @functools.cached_property
    def fingerprint(self) -> str:
        """What people read: the counts and every entry (unchanged lines only counted)."""
        text = json.dumps([self.counts, self.stored_entries], sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    @property
    def rejected(self) -> int:
        return self.counts.get("rejected", 0)


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def _change(name: str, before: Any, after: Any) -> dict[str, Any]:
    return {"field": name, "before": _json(before), "after": _json(after)}


def new_sku(supplier: Supplier, supplier_sku: str) -> str:
    """The SKU a product created from a feed gets: supplier code, dash, its reference."""
    tail = _SKU_CHARS.sub("-", supplier_sku).strip("-._")
    return f"{supplier.code}-{tail}"[:64] if tail else ""


def compute(
    supplier: Supplier,
    profile: Mapping[str, Any],
    lines: Sequence[FeedLine],
    extra_problems: Sequence[Problem],
    snapshot: Snapshot,
) -> Diff:
    overwrite = set(profile.get("overwrite") or ())
    create = bool(profile.get("create", True))
    plan = Plan()
    entries: list[Entry] = [Entry("rejected", p.line, "", problems=[p]) for p in extra_problems]
    first_line_of_sku: dict[str, int] = {}
    first_line_of_gtin: dict[str, int] = {}
    first_line_of_product: dict[int, int] = {}
    claimed_gtins: dict[str, str] = {}  # gtin -> sku it will belong to after this feed
    seen_supplier_skus: set[str] = set()

    for line in lines:
        if line.problems:
            entries.append(Entry("rejected", line.line, line.supplier_sku, problems=line.problems))
            if line.supplier_sku:
                seen_supplier_skus.add(line.supplier_sku)
            continue
        ref = line.supplier_sku
        seen_supplier_skus.add(ref)
        if ref in first_line_of_sku:
            entries.append(_reject(line, "duplicate_line", ref, first_line_of_sku[ref]))
            continue
        first_line_of_sku[ref] = line.line
        if line.gtin:
            key = gtin_key(line.gtin)
            if key in first_line_of_gtin:
                entries.append(_reject(line, "duplicate_gtin", line.gtin, first_line_of_gtin[key]))
                continue
            first_line_of_gtin[key] = line.line

        product_id, match = _match(line, snapshot)
        if product_id is None:
            if not create:
                entries.append(Entry("skipped", line.line, ref))
                continue
            entry = _plan_new(supplier, line, snapshot, plan, claimed_gtins)
            entries.append(entry)
            continue
        if product_id in first_line_of_product:
            product = snapshot.products[product_id]
            problem = Problem(
                "same_product",
                line=line.line,
                params={
                    "line": line.line,
                    "sku": product.sku,
                    "first": first_line_of_product[product_id],
                },
            )
            entries.append(Entry("rejected", line.line, ref, product.sku, problems=[problem]))
            continue
        first_line_of_product[product_id] = line.line
        entries.append(
            _plan_existing(line, product_id, match, snapshot, plan, overwrite, claimed_gtins)
        )

    policy = profile.get("missing", "unavailable")
    for ref, offer in snapshot.offers.items():
        if ref in seen_supplier_skus or not offer.listed:
            continue
        product = snapshot.products[offer.product_id]
        entry = Entry("missing", None, ref, product.sku, action=policy)
        if policy in ("unavailable", "deactivate"):
            plan.unlist_offer_ids.append(offer.id)
            entry.changes.append(_change("offer.listed", True, False))
        if (
            policy == "deactivate"
            and product.active
            and product.id not in snapshot.listed_elsewhere
            and product.sku not in plan.product_changes
        ):
            plan.deactivate.append(product.sku)
            entry.changes.append(_change("active", True, False))
        entries.append(entry)

    counts = dict.fromkeys(("new", "changed", "unchanged", "missing", "rejected", "skipped"), 0)
    for entry in entries:
        counts[entry.kind] += 1
    counts["lines"] = len(lines) + len(extra_problems)
    entries.sort(key=_order)
    return Diff(entries, plan, counts)


_KIND_ORDER = {"rejected": 0, "new": 1, "changed": 2, "missing": 3, "skipped": 4, "unchanged": 5}


def _order(entry: Entry) -> tuple[int, int, str]:
    return (_KIND_ORDER[entry.kind], entry.line or 0, entry.supplier_sku)


def _reject(line: FeedLine, code: str, value: str, first: int) -> Entry:
    problem = Problem(
        code, line=line.line, params={"line": line.line, "value": value, "first": first}
    )
    return Entry("rejected", line.line, line.supplier_sku, problems=[problem])


def _match(line: FeedLine, snapshot: Snapshot) -> tuple[int | None, str | None]:
    offer = snapshot.offers.get(line.supplier_sku)
    if offer is not None:
        return offer.product_id, "supplier_sku"
    if line.gtin:
        found = snapshot.by_gtin.get(gtin_key(line.gtin))
        if found is not None:
            return found, "gtin"
    brand = line.product.get("brand")
    if brand and line.mpn:
        found = snapshot.by_brand_mpn.get((normalize(brand), normalize(line.mpn)))
        if found is not None:
            return found, "brand_mpn"
    return None, None


def _gtin_owner(gtin: str, snapshot: Snapshot, claimed: Mapping[str, str]) -> str | None:
    key = gtin_key(gtin)
    if key in claimed:
        return claimed[key]
    owner = snapshot.by_gtin.get(key)
    return snapshot.products[owner].sku if owner is not None else None


def _offer_values(line: FeedLine) -> dict[str, Any]:
    return {
        "supplier_sku": line.supplier_sku,
        "gtin": line.gtin,
        "mpn": line.mpn,
        "purchase_price": line.offer.get("purchase_price"),
        "availability": line.offer.get("availability", Availability.IN_STOCK),
        "supplier_stock": line.offer.get("supplier_stock"),
        "lead_days": line.offer.get("lead_days"),
    }


def _plan_new(
    supplier: Supplier,
    line: FeedLine,
    snapshot: Snapshot,
    plan: Plan,
    claimed_gtins: dict[str, str],
) -> Entry:
    ref = line.supplier_sku
    sku = new_sku(supplier, ref)
    params = {"line": line.line, "value": sku or ref}
    problems = []
    if not sku:
        problems.append(Problem("bad_sku", line=line.line, params=params))
    elif sku in snapshot.by_sku or sku in plan.created_skus:
        problems.append(Problem("sku_taken", line=line.line, params=params))
    if not line.product.get("name"):
        problems.append(Problem("no_name_for_new", line=line.line, params={"line": line.line}))
    if "price" not in line.product:
        problems.append(Problem("no_price_for_new", line=line.line, params={"line": line.line}))
    if problems:
        return Entry("rejected", line.line, ref, problems=problems)
    data: dict[str, Any] = {
        "sku": sku,
        **{f: line.product[f] for f in PRODUCT_FIELDS if f in line.product},
    }
    if line.gtin:
        data["gtin"] = line.gtin
        claimed_gtins[gtin_key(line.gtin)] = sku
    if line.mpn:
        data["mpn"] = line.mpn
    if line.attributes:
        data["attributes"] = dict(line.attributes)
    plan.create.append(data)
    plan.created_skus.add(sku)
    plan.new_offers.append({"sku": sku, **_offer_values(line)})
    shown = {k: _json(v) for k, v in data.items() if k != "sku"}
    shown.update({f"offer.{k}": _json(line.offer[k]) for k in OFFER_FIELDS if k in line.offer})
    return Entry("new", line.line, ref, sku, product=shown)


def _plan_existing(
    line: FeedLine,
    product_id: int,
    match: str | None,
    snapshot: Snapshot,
    plan: Plan,
    overwrite: set[str],
    claimed_gtins: dict[str, str],
) -> Entry:
    product = snapshot.products[product_id]
    entry = Entry("unchanged", line.line, line.supplier_sku, product.sku, match=match)
    changes: dict[str, Any] = {}
    for name in PRODUCT_FIELDS:
        if name not in line.product:
            continue
        before, after = getattr(product, name), line.product[name]
        if before == after or (before not in (None, "") and name not in overwrite):
            continue
        changes[name] = after
        entry.changes.append(_change(name, before, after))
    for name, after in (("gtin", line.gtin), ("mpn", line.mpn)):
        before = getattr(product, name)
        if after is None or before == after or (before and name not in overwrite):
            continue
        if name == "gtin":
            owner = _gtin_owner(after, snapshot, claimed_gtins)
            if owner is not None and owner != product.sku:
                problem = Problem(
                    "gtin_taken",
                    line=line.line,
                    params={
                        "line": line.line,
                        "value": after,
                        "sku": owner,
                        "matched": product.sku,
                    },
                )
                return Entry(
                    "rejected", line.line, line.supplier_sku, product.sku, match, problems=[problem]
                )
            claimed_gtins[gtin_key(after)] = product.sku
        changes[name] = after
        entry.changes.append(_change(name, before, after))
    if line.attributes:
        merged = dict(product.attributes)
        for key, value in line.attributes.items():
            if key not in merged or ("attributes" in overwrite and merged[key] != value):
                entry.changes.append(_change(f"attr:{key}", merged.get(key), value))
                merged[key] = value
        if merged != product.attributes:
            changes["attributes"] = merged
    if changes:
        plan.product_changes[product.sku] = changes

    offer = snapshot.offers.get(line.supplier_sku)
    values = _offer_values(line)
    if offer is None:
        plan.new_offers.append({"product_id": product.id, **values})
        entry.changes.append(_change("offer", None, line.supplier_sku))
    else:
        plan.seen_offer_ids.append(offer.id)
        offer_changes = {}
        for name in ("gtin", "mpn", *OFFER_FIELDS):
            if getattr(offer, name) != values[name]:
                offer_changes[name] = values[name]
                entry.changes.append(_change(f"offer.{name}", getattr(offer, name), values[name]))
        if not offer.listed:
            offer_changes["listed"] = True
            entry.changes.append(_change("offer.listed", False, True))
        if offer_changes:
            plan.offer_changes[offer.id] = offer_changes
    if entry.changes:
        entry.kind = "changed"
    return entry
