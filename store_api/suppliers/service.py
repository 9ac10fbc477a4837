"""Supplier verbs: create and change suppliers, save their mapping, read offers, and the
endless aisle (what suppliers can deliver when the shop has none)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store_api.catalog.models import Product
from store_api.errors import Conflict, ErrorCode, Invalid, NotFound
from store_api.feeds import mapping as feed_mapping
from store_api.suppliers.models import ORDERABLE, Availability, Supplier, SupplierOffer

SUPPLIER_FIELDS = ("name", "contact", "email", "phone", "default_lead_days", "active")


def get_supplier(session: Session, code: str) -> Supplier:
    supplier = session.scalars(select(Supplier).where(Supplier.code == code)).one_or_none()
    if supplier is None:
        raise NotFound(
            ErrorCode.SUPPLIER_NOT_FOUND, f"No supplier with code {code}.", {"code": code}
        )
    return supplier


def list_suppliers(session: Session) -> list[Supplier]:
    return list(session.scalars(select(Supplier).order_by(Supplier.name, Supplier.code)))


def create_supplier(session: Session, data: Mapping[str, Any], *, now: dt.datetime) -> Supplier:
    code = data["code"]
    if session.scalars(select(Supplier.id).where(Supplier.code == code)).first() is not None:
        raise Conflict(
            ErrorCode.SUPPLIER_ALREADY_EXISTS,
            f"A supplier with code {code} already exists.",
            {"code": code},
        )
    supplier = Supplier(code=code, created_at=now, updated_at=now, mapping={})
    for name in SUPPLIER_FIELDS:
        if name in data:
            setattr(supplier, name, data[name])
    if "mapping" in data:
        supplier.mapping = checked_mapping(data["mapping"])
    session.add(supplier)
    session.flush()
    return supplier


def update_supplier(
    session: Session, code: str, changes: Mapping[str, Any], *, now: dt.datetime
) -> Supplier:
    supplier = get_supplier(session, code)
    for name in SUPPLIER_FIELDS:
        if name in changes:
            setattr(supplier, name, changes[name])
    if "mapping" in changes:
        supplier.mapping = checked_mapping(changes["mapping"])
    supplier.updated_at = now
    session.flush()
    return supplier


def checked_mapping(profile: Mapping[str, Any]) -> dict[str, Any]:
    """The profile with its defaults, or 422 naming what is wrong."""
    complete = {**feed_mapping.DEFAULT_PROFILE, **profile}
    errors = feed_mapping.check_profile(complete)
    if errors:
        raise Invalid(
            ErrorCode.VALIDATION_ERROR,
            f"Invalid mapping profile: {', '.join(sorted(errors))}.",
            {f"mapping.{k}": v for k, v in errors.items()},
        )
    return complete


@dataclass(frozen=True)
class OfferView:
    offer: SupplierOffer
    supplier_code: str
    sku: str


def offers(
    session: Session,
    *,
    supplier_code: str | None = None,
    sku: str | None = None,
    listed: bool | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[OfferView], int]:
    stmt = (
        select(SupplierOffer, Supplier.code, Product.sku)
        .join(Supplier, Supplier.id == SupplierOffer.supplier_id)
        .join(Product, Product.id == SupplierOffer.product_id)
    )
    if supplier_code:
        stmt = stmt.where(Supplier.code == supplier_code)
    if sku:
        stmt = stmt.where(Product.sku == sku)
    if listed is not None:
        stmt = stmt.where(SupplierOffer.listed.is_(listed))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(Product.sku, Supplier.code).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return [OfferView(o, code, s) for o, code, s in rows], total


# --- endless aisle -------------------------------------------------------------------


@dataclass(frozen=True)
class SupplierAvailability:
    """The best a supplier can do for a product: orderable, and delivered within lead_days."""

    orderable: bool
    availability: str
    lead_days: int | None
    suppliers: int  # how many suppliers list it

    @property
    def message_code(self) -> str:
        if self.orderable:
            return "orderable" if self.lead_days is not None else "orderable_no_delay"
        if self.availability == Availability.DISCONTINUED:
            return "discontinued"
        return "unavailable"


def availability_for(session: Session, skus: Sequence[str]) -> dict[str, SupplierAvailability]:
    """Per SKU listed by at least one active supplier; the others are absent."""
    if not skus:
        return {}
    rows = session.execute(
        select(
            Product.sku,
            SupplierOffer.availability,
            SupplierOffer.lead_days,
            Supplier.default_lead_days,
        )
        .join(SupplierOffer, SupplierOffer.product_id == Product.id)
        .join(Supplier, Supplier.id == SupplierOffer.supplier_id)
        .where(
            Product.sku.in_(set(skus)),
            SupplierOffer.listed.is_(True),
            Supplier.active.is_(True),
        )
    ).all()
    found: dict[str, list[tuple[str, int]]] = {}
    for sku, availability, lead_days, default in rows:
        found.setdefault(sku, []).append(
            (availability, lead_days if lead_days is not None else default)
        )
    result = {}
    for sku, options in found.items():
        orderable = [(lead, a) for a, lead in options if a in ORDERABLE]
        if orderable:
            lead, availability = min(orderable)
            result[sku] = SupplierAvailability(True, availability, lead, len(options))
        else:
            states = {a for a, _ in options}
            availability = (
                Availability.DISCONTINUED
                if states == {Availability.DISCONTINUED}
                else Availability.OUT_OF_STOCK
            )
            result[sku] = SupplierAvailability(False, availability, None, len(options))
    return result


def describe_availability(found: SupplierAvailability, locale: str) -> str:
    """For people next to the shop's stock: "commandable, livré sous 3 jours"."""
    from store_api.i18n import text

    if found.orderable and found.lead_days is not None:
        # Two msgids, not ngettext: the catalogue checks compare singular texts only.
        if found.lead_days <= 1:
            return text(locale, "orderable, delivered within %(days)s day", days=found.lead_days)
        return text(locale, "orderable, delivered within %(days)s days", days=found.lead_days)
    if found.orderable:
        return text(locale, "orderable from the supplier")
    if found.availability == Availability.DISCONTINUED:
        return text(locale, "discontinued by the supplier")
    return text(locale, "out of stock at the supplier")
