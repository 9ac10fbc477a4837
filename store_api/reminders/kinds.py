"""The four reminder kinds: the consent each needs, the owner's defaults, their placeholders."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from store_api.customers.models import Purpose


class Kind(enum.StrEnum):
    HELD_ITEM = "held_item"
    BACK_IN_STOCK = "back_in_stock"
    FORGOTTEN_CHECKOUT = "forgotten_checkout"
    CONSUMABLE = "consumable"


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"


@dataclass(frozen=True)
class KindRule:
    kind: Kind
    # The consent the message needs: service messages answer the customer's own request or
    # hold; marketing ones suggest a purchase (CNIL: prior consent, docs/privacy.md).
    purpose: Purpose
    enabled: bool
    delay_minutes: int
    # What the delay means, for the owner's settings page.
    delay_meaning: str
    placeholders: tuple[str, ...]


COMMON = ("customer_name", "shop_name", "shop_url")

RULES: dict[Kind, KindRule] = {
    Kind.HELD_ITEM: KindRule(
        Kind.HELD_ITEM,
        Purpose.SERVICE,
        True,
        24 * 60,
        "Minutes before the hold expires for the second message (the first goes at once).",
        (*COMMON, "product_name", "sku", "quantity", "expires_at", "expires_on", "moment"),
    ),
    Kind.BACK_IN_STOCK: KindRule(
        Kind.BACK_IN_STOCK,
        Purpose.SERVICE,
        True,
        0,
        "Minutes after the product is back in stock.",
        (*COMMON, "product_name", "sku", "price"),
    ),
    Kind.FORGOTTEN_CHECKOUT: KindRule(
        Kind.FORGOTTEN_CHECKOUT,
        Purpose.MARKETING,
        True,
        4 * 60,
        "Minutes after the web hold expired without an order.",
        (*COMMON, "product_name", "sku", "price", "unsubscribe_url"),
    ),
    Kind.CONSUMABLE: KindRule(
        Kind.CONSUMABLE,
        Purpose.MARKETING,
        True,
        90 * 24 * 60,
        "Minutes after the sale, for consumables without their own renewal interval.",
        (
            *COMMON,
            "product_name",
            "sku",
            "price",
            "bought_product_name",
            "bought_on",
            "unsubscribe_url",
        ),
    ),
}

# A consumable's usual renewal interval, in days, is this attribute of the product.
RENEWAL_ATTRIBUTE = "renouvellement_jours"

# Values the template preview and the placeholder check render with.
SAMPLE_CONTEXT: dict[str, object] = {
    "customer_name": "Anne Martin",
    "shop_name": "Comptoir",
    "shop_url": "https://comptoir.example",
    "product_name": "Lave-linge hublot Bosch Serie 6 9 kg",
    "sku": "LL-BOS-WGG244-BL",
    "quantity": 1,
    "expires_at": "samedi 28 novembre 2026 à 19:00",
    "expires_on": "samedi 28 novembre",
    "moment": "made",
    "price": "749,00 €",
    "bought_product_name": "Machine à café De'Longhi Magnifica S",
    "bought_on": "27 novembre 2026",
    "unsubscribe_url": "https://comptoir.example/unsubscribe/exemple",
}


def sample_context(kind: Kind) -> dict[str, object]:
    return {name: SAMPLE_CONTEXT[name] for name in RULES[kind].placeholders}
