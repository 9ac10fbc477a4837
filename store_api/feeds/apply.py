"""Carry out a feed's plan in the caller's transaction: products through the catalog verbs
(so events and the search text follow), offers in a few bulk statements."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from store_api.catalog import service as catalog
from store_api.feeds.diff import Plan
from store_api.suppliers.models import SupplierOffer


def execute(
    session: Session,
    supplier_id: int,
    plan: Plan,
    *,
    locations: Sequence[str],
    now: dt.datetime,
) -> None:
    ids = catalog.create_products(session, plan.create, locations=locations, now=now)
    catalog.update_products(session, plan.product_changes, now=now)
    if plan.new_offers:
        rows = []
        for offer in plan.new_offers:
            values = {k: v for k, v in offer.items() if k not in ("sku", "product_id")}
            product_id = ids[offer["sku"]] if "sku" in offer else offer["product_id"]
            rows.append(
                {
                    **values,
                    "supplier_id": supplier_id,
                    "product_id": product_id,
                    "listed": True,
                    "last_seen_at": now,
                    "updated_at": now,
                }
            )
        # Core, not the ORM's bulk insert: nothing here needs identity-map bookkeeping.
        session.connection().execute(insert(cast(Table, SupplierOffer.__table__)), rows)
    changes: list[dict[str, Any]] = [
        {"id": offer_id, **values, "updated_at": now, "last_seen_at": now}
        for offer_id, values in plan.offer_changes.items()
    ]
    if changes:
        session.execute(update(SupplierOffer), changes)
    seen = [i for i in plan.seen_offer_ids if i not in plan.offer_changes]
    if seen:
        session.execute(update(SupplierOffer), [{"id": i, "last_seen_at": now} for i in seen])
    if plan.unlist_offer_ids:
        session.execute(
            update(SupplierOffer),
            [{"id": i, "listed": False, "updated_at": now} for i in plan.unlist_offer_ids],
        )
    if plan.deactivate:
        catalog.update_products(
            session, {sku: {"active": False} for sku in plan.deactivate}, now=now
        )
