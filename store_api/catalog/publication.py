"""What the webshop pulls for published products: schema.org ``Product`` JSON-LD and a
Google Merchant Center product feed (RSS 2.0 with the ``g:`` namespace), with price and
availability from Comptoir: in stock when the shop has units, else back-order when a
supplier can deliver (with the date), else out of stock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from store_api.catalog.sheets import Sheet
from store_api.suppliers.service import SupplierAvailability

SCHEMA = "https://schema.org/"
G = "http://base.google.com/ns/1.0"
_GTIN_KEYS = {8: "gtin8", 12: "gtin12", 13: "gtin13", 14: "gtin14"}


@dataclass(frozen=True)
class Offer:
    """Where a product stands for a customer right now."""

    available: int
    supplier: SupplierAvailability | None
    today: dt.date

    @property
    def status(self) -> str:
        if self.available > 0:
            return "in_stock"
        if self.supplier is not None and self.supplier.orderable:
            return "backorder"
        return "out_of_stock"

    @property
    def available_on(self) -> dt.date | None:
        if self.status != "backorder" or self.supplier is None:
            return None
        return self.today + dt.timedelta(days=self.supplier.lead_days or 0)


_SCHEMA_AVAILABILITY = {
    "in_stock": SCHEMA + "InStock",
    "backorder": SCHEMA + "BackOrder",
    "out_of_stock": SCHEMA + "OutOfStock",
}


def jsonld(sheet: Sheet, offer: Offer, url: str, shop: str) -> dict[str, Any]:
    product = sheet.product
    data: dict[str, Any] = {
        "@context": SCHEMA,
        "@type": "Product",
        "@id": url,
        "sku": product.sku,
        "name": product.name,
        "description": sheet.description,
        "url": url,
    }
    if product.image_url:
        data["image"] = [product.image_url]
    if product.brand:
        data["brand"] = {"@type": "Brand", "name": product.brand}
    if product.gtin:
        data["gtin"] = product.gtin
        key = _GTIN_KEYS.get(len(product.gtin))
        if key:
            data[key] = product.gtin
    if product.mpn:
        data["mpn"] = product.mpn
    if product.category:
        data["category"] = product.category
    if product.colour:
        data["color"] = product.colour
    attributes = [
        {"@type": "PropertyValue", "name": key, "value": value}
        for key, value in sorted((product.attributes or {}).items())
        if isinstance(value, (str, int, float)) and not isinstance(value, bool)
    ]
    if attributes:
        data["additionalProperty"] = attributes
    schema_offer: dict[str, Any] = {
        "@type": "Offer",
        "url": url,
        "priceCurrency": "EUR",
        "price": f"{product.price:.2f}",
        "availability": _SCHEMA_AVAILABILITY[offer.status],
        "itemCondition": SCHEMA + "NewCondition",
        "seller": {"@type": "Organization", "name": shop},
    }
    if offer.status == "backorder" and offer.supplier and offer.supplier.lead_days is not None:
        schema_offer["deliveryLeadTime"] = {
            "@type": "QuantitativeValue",
            "value": offer.supplier.lead_days,
            "unitCode": "DAY",
        }
        if offer.available_on:
            schema_offer["availabilityStarts"] = offer.available_on.isoformat()
    data["offers"] = schema_offer
    return data


def merchant_feed(
    sheets: Sequence[Sheet],
    offers: Mapping[str, Offer],
    *,
    url_for: Any,
    shop: str,
    shop_url: str,
    google_categories: Mapping[str, str],
) -> bytes:
    """RSS 2.0 as Google Merchant Center reads it (one ``item`` per published product)."""
    ET.register_namespace("g", G)
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = shop
    ET.SubElement(channel, "link").text = shop_url
    ET.SubElement(channel, "description").text = f"{shop} — products"
    for sheet in sheets:
        product = sheet.product
        offer = offers[product.sku]
        item = ET.SubElement(channel, "item")

        def g(name: str, value: str, parent: ET.Element = item) -> None:
            ET.SubElement(parent, f"{{{G}}}{name}").text = value

        g("id", product.sku)
        g("title", product.name[:150])
        g("description", sheet.description[:5000])
        g("link", url_for(product.sku))
        if product.image_url:
            g("image_link", product.image_url)
        g("availability", offer.status)
        if offer.available_on:
            g("availability_date", f"{offer.available_on.isoformat()}T12:00+0100")
        g("price", f"{product.price:.2f} EUR")
        g("condition", "new")
        if product.brand:
            g("brand", product.brand)
        if product.gtin:
            g("gtin", product.gtin)
        if product.mpn:
            g("mpn", product.mpn)
        if not product.gtin and not product.mpn:
            g("identifier_exists", "no")
        if product.category:
            g("product_type", product.category)
        google = google_categories.get(product.category)
        if google:
            g("google_product_category", google)
        if product.colour:
            g("color", product.colour)
    ET.indent(rss)
    body: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return body
