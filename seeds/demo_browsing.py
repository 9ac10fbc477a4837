"""Synthetic webshop browsing for the demo shop: weeks of visits as tracker batches.

Pure and deterministic (seeded): catalogue products in, wire-format batches out, each the
JSON ``{"events": [...]}`` that ``/t.js`` would have sent on page hide, with the synthetic
browser's IP address and user agent and the moment the batch reached the server. No database,
no Flask: ``flask seed-browsing`` feeds the batches through the real ingest
(``store_api.clickstream.service.collect``) and ``bench/analytics.py`` reuses them.

What a shop in Lyon would see, so that every report has something to say on first start:

* 150-300 visits a day, more at the weekend, in Paris hours (lunch and evening peaks);
* sources: direct, Google and Bing organic, the Thursday newsletter (utm campaign), Facebook
  ads (cpc campaign), price comparators (idealo, ledenicheur) landing on product pages; each
  converts differently, and mobile converts less than desktop;
* product pages with dwell (``engagement``: engaged_ms, scroll depth): big appliances are
  studied for minutes over many pages, accessories glanced at for seconds; expensive models
  are looked at a lot and bought rarely;
* substitutions: a visitor studies one model and buys another of the same category, often the
  same model in another colour; some big purchases happen in a later visit;
* site search with typos and terms the catalogue does not answer (zero results);
* delivery free from 300 EUR, below it the fee of the visitor's zone (9.90 to 39 EUR):
  abandonment rises with the fee and with the distance to the threshold, and some visitors
  add an accessory to reach it; checkout has its own small losses (account, payment);
* a few crawlers and headless browsers, which the ingest filters out.
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import json
import math
import random
import re
import unicodedata
import uuid
import zlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

SHOP = "https://www.comptoir-lyon.fr"
TIMEZONE = ZoneInfo("Europe/Paris")
CURRENCY = "EUR"
FREE_THRESHOLD = Decimal("300.00")
ACCESSORIES = "Accessoires"
SMALL = "Petit électroménager"
TV = "Téléviseurs"
BIG = ("Lave-linge", "Sèche-linge", "Réfrigérateurs", "Lave-vaisselle", "Fours")
DEMO_CATALOG = Path(__file__).resolve().parent / "demo_catalog.csv"
DEFAULT_SEED = 20261127
DEFAULT_VISITS_PER_DAY = 210.0
LIST_SIZE = 12


@dataclass(frozen=True)
class Product:
    """What the generator needs of a catalogue product."""

    sku: str
    name: str
    brand: str
    category: str
    colour: str
    price: Decimal
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Browser:
    """The synthetic browser a batch comes from: what the ingest hashes, never stores."""

    ip: str
    user_agent: str
    device: str  # desktop | mobile | tablet | bot


@dataclass(frozen=True)
class Batch:
    """One POST /api/v1/collect body, as sent on page hide."""

    received_at: dt.datetime
    browser: Browser
    events: list[dict[str, Any]]
    visit: int  # the simulation's own visit number: never sent, for progress and tests

    def body(self) -> dict[str, Any]:
        return {"events": self.events}


# Delivery zones: the cart asks for the postcode and shows the fee of its zone (below the
# free-delivery threshold). The zone has nothing to do with what is in the cart, so the fee
# and the distance to free delivery each show their own effect on abandonment.
ZONES: dict[str, tuple[Decimal, float]] = {
    "Lyon et Métropole": (Decimal("9.90"), 0.30),
    "France métropolitaine": (Decimal("19.90"), 0.62),
    "Corse et zones éloignées": (Decimal("39.00"), 0.08),
}


def delivery_fee(value: Decimal, zone: str) -> Decimal:
    """Free from the threshold on, the zone's fee below it."""
    return Decimal("0.00") if value >= FREE_THRESHOLD else ZONES[zone][0]


def abandonment_probability(fee: Decimal, value: Decimal) -> float:
    """The chance a visitor leaves at the fee: up with the fee and the distance to free."""
    distance = float(max(FREE_THRESHOLD - value, Decimal(0))) if fee else 0.0
    return min(0.10 + 0.010 * float(fee) + 0.15 * min(distance / 100, 2.5), 0.95)


def load_catalog(path: Path = DEMO_CATALOG) -> list[Product]:
    """The active products of a catalogue CSV (the demo one by default)."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Product(
                sku=row["sku"],
                name=row["name"],
                brand=row["brand"],
                category=row["category"],
                colour=row["colour"],
                price=Decimal(row["price"]),
                attributes=json.loads(row["attributes"] or "{}"),
            )
            for row in csv.DictReader(handle)
            if row["active"].strip().lower() == "true"
        ]


# --- the shop's traffic ------------------------------------------------------------------

# Share of visits per source, and how likely an interested visitor from there buys.
SOURCES: dict[str, tuple[float, float]] = {
    "direct": (0.22, 1.2),
    "google": (0.36, 1.0),
    "bing": (0.05, 0.9),
    "newsletter": (0.05, 1.5),
    "facebook": (0.14, 0.45),
    "comparator": (0.11, 1.7),
}
BOUNCE = {
    "direct": 0.28,
    "google": 0.36,
    "bing": 0.38,
    "newsletter": 0.33,
    "facebook": 0.55,
    "comparator": 0.22,
}
DEVICES: dict[str, tuple[float, float]] = {
    "mobile": (0.56, 0.65),
    "desktop": (0.37, 1.35),
    "tablet": (0.07, 0.95),
}
BOT_SHARE = 0.035
# Local hour of day -> relative traffic (weekdays; weekends flatten the morning dip).
HOURS = (
    1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 2.0, 3.0, 4.0, 5.0, 5.5,
    7.0, 7.0, 5.5, 5.0, 5.0, 5.5, 6.5, 7.5, 8.5, 8.5, 6.0, 3.0,
)  # fmt: skip
WEEKDAY = (0.86, 0.84, 0.92, 0.95, 1.0, 1.38, 1.24)  # Monday .. Sunday
# What visitors come for: share of visits per category.
INTEREST = {
    "Petit électroménager": 0.25,
    "Lave-linge": 0.15,
    "Réfrigérateurs": 0.14,
    "Lave-vaisselle": 0.10,
    "Téléviseurs": 0.10,
    "Fours": 0.09,
    "Sèche-linge": 0.08,
    "Accessoires": 0.09,
}


@dataclass(frozen=True)
class _Profile:
    views: tuple[int, int]  # product pages of an interested visitor (min, max)
    dwell_s: float  # median engaged time on a product page
    cart: float  # chance an interested visitor puts something in the cart
    later: float  # chance that intention turns into "I'll come back" (another visit)
    substitute: float  # chance the product bought is not the one studied longest


PROFILES = {
    "big": _Profile((3, 9), 95.0, 0.075, 0.30, 0.30),
    "tv": _Profile((3, 8), 80.0, 0.07, 0.25, 0.28),
    "small": _Profile((1, 4), 35.0, 0.10, 0.05, 0.22),
    "accessory": _Profile((1, 2), 9.0, 0.16, 0.0, 0.10),
}

NEWSLETTERS = (
    ("lavage-malin", "Lave-linge"),
    ("cafe-gourmand", SMALL),
    ("froid-sans-souci", "Réfrigérateurs"),
    ("soirees-tv", TV),
    ("petits-prix", ACCESSORIES),
    ("cuisine-facile", "Fours"),
)
AD_CAMPAIGNS = (("lave-linge-hiver", "Lave-linge"), ("machines-a-cafe", SMALL))
COMPARATORS = ("https://www.idealo.fr/", "https://www.ledenicheur.fr/")

SEARCH_TERMS: dict[str, tuple[str, ...]] = {
    "Lave-linge": (
        "lave-linge",
        "lave linge 9 kg",
        "lave-linge bosch",
        "lave linge hublot",
        "lave-linge top",
        "machine à laver",
        "lave linge séchant",
        "lave linge samsumg",
    ),
    "Sèche-linge": (
        "sèche-linge",
        "seche linge pompe a chaleur",
        "sèche-linge pompe à chaleur 10kg",
        "seche linge condensation",
        "sèche linge bosch",
    ),
    "Réfrigérateurs": (
        "réfrigérateur américain",
        "refrigerateur combine",
        "frigo",
        "smeg",
        "réfrigérateur inox",
        "refrigirateur",
        "congélateur",
    ),
    "Lave-vaisselle": (
        "lave vaisselle",
        "lave-vaisselle 45 cm",
        "lave vaiselle",
        "lave-vaisselle encastrable",
        "lave vaisselle miele",
    ),
    "Fours": ("four pyrolyse", "micro-ondes", "micro onde", "four encastrable", "plaque induction"),
    SMALL: (
        "machine à café",
        "machine a cafe grain",
        "nespresso",
        "bouilloire",
        "bouilloire smeg",
        "grille pain",
        "aspirateur balai",
        "aspirateur robot",
        "robot pâtissier",
        "airfryer",
        "friteuse sans huile",
        "raclette",
        "dyson",
    ),
    TV: ("tv oled", "tv 55 pouces", "tv samsung", "the frame", "oled lg", "televiseur 65"),
    ACCESSORIES: (
        "détartrant",
        "filtre frigo americain",
        "support tv",
        "cable hdmi",
        "tablettes lave vaisselle",
        "kit superposition",
        "garantie",
    ),
}
_STOPWORDS = {"a", "de", "du", "des", "le", "la", "les", "pour", "et", "avec", "en"}

_CHROME = ("124", "125", "126", "127", "128")
USER_AGENTS: dict[str, tuple[tuple[str, float], ...]] = {
    "mobile": (
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
            0.45,
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; SM-A{n}B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/{chrome}.0.0.0 Mobile Safari/537.36",
            0.38,
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-S{n}B) AppleWebKit/537.36 (KHTML, like Gecko) "
            "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
            0.12,
        ),
        ("Mozilla/5.0 (Android 14; Mobile; rv:12{m}.0) Gecko/12{m}.0 Firefox/12{m}.0", 0.05),
    ),
    "desktop": (
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/{chrome}.0.0.0 Safari/537.36",
            0.46,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/{chrome}.0.0.0 Safari/537.36 Edg/{chrome}.0.0.0",
            0.16,
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.{m} Safari/605.1.15",
            0.18,
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:12{m}.0) Gecko/20100101 Firefox/12{m}.0",
            0.14,
        ),
        (
            "Mozilla/5.0 (X11; Linux x86_64; rv:12{m}.0) Gecko/20100101 Firefox/12{m}.0",
            0.06,
        ),
    ),
    "tablet": (
        (
            "Mozilla/5.0 (iPad; CPU OS 17_{m} like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.{m} Mobile/15E148 Safari/604.1",
            0.7,
        ),
        (
            "Mozilla/5.0 (Linux; Android 13; SM-X{n}) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/{chrome}.0.0.0 Safari/537.36",
            0.3,
        ),
    ),
}
BOT_AGENTS = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; "
    "+http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/125.0.6422.60 Safari/537.36",
)
_V4_RANGES = ("192.0.2.", "198.51.100.", "203.0.113.")  # documentation ranges (RFC 5737)


# --- text helpers ---------------------------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> list[str]:
    text = re.sub(r"(\d)([a-z])", r"\1 \2", _fold(text))
    return [w for w in re.split(r"[^a-z0-9.,+]+", text) if w and w not in _STOPWORDS]


def slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", _fold(text)))


def _matches(term: str, products: Iterable[Product]) -> list[Product]:
    wanted = _words(term)
    found = []
    for product in products:
        words = _words(f"{product.name} {product.brand} {product.category} {product.colour}")
        if wanted and all(any(w.startswith(t) for w in words) for t in wanted):
            found.append(product)
    return found


def search_results(term: str, products: Iterable[Product]) -> int:
    """What the shop's search answers: products whose words start with every word typed."""
    return len(_matches(term, products))


def _stable(sku: str, seed: int) -> float:
    """A number in [0, 1) per product, independent of the order products come in."""
    return zlib.crc32(f"{seed}:{sku}".encode()) / 2**32


def _kind(category: str) -> str:
    if category in BIG:
        return "big"
    if category == TV:
        return "tv"
    if category == ACCESSORIES:
        return "accessory"
    return "small"


def _fits(accessory: Product, appliance: Product) -> bool:
    """The accessory's attributes say it goes with the appliance (same rules as the sales)."""
    attrs = accessory.attributes
    if appliance.category not in attrs.get("compatible_avec", []):
        return False
    brands = attrs.get("marques") or []
    if brands and appliance.brand not in brands:
        return False
    models = attrs.get("modeles") or []
    if models and not any(f"-{code}" in appliance.sku for code in models):
        return False
    if "prix_appareil_min" in attrs and appliance.price < Decimal(str(attrs["prix_appareil_min"])):
        return False
    return not (
        "prix_appareil_max" in attrs and appliance.price > Decimal(str(attrs["prix_appareil_max"]))
    )


def _money(value: Decimal) -> float:
    return float(value.quantize(Decimal("0.01")))


def _item(product: Product, quantity: int = 1) -> dict[str, Any]:
    item: dict[str, Any] = {
        "item_id": product.sku,
        "item_category": product.category,
        "price": _money(product.price),
        "quantity": quantity,
    }
    if product.colour:
        item["item_variant"] = product.colour
    return item


# --- the simulation -------------------------------------------------------------------------


class _Catalog:
    """Products indexed the ways a visitor meets them, with per-product appeal."""

    def __init__(self, products: Sequence[Product], seed: int) -> None:
        self.products = sorted(products, key=lambda p: p.sku)
        if not self.products:
            raise ValueError("no products to browse")
        self.by_category: dict[str, list[Product]] = {}
        for product in self.products:
            self.by_category.setdefault(product.category, []).append(product)
        self.categories = [c for c in INTEREST if c in self.by_category] or sorted(self.by_category)
        self.by_sku = {p.sku: p for p in self.products}
        self.variants: dict[str, list[Product]] = {}
        for product in self.products:
            self.variants.setdefault(product.name, []).append(product)
        self.view_weight: dict[str, float] = {}
        self.buy_weight: dict[str, float] = {}
        for items in self.by_category.values():
            prices = sorted(float(p.price) for p in items)
            median = prices[len(prices) // 2] or 1.0
            for p in items:
                # Expensive and designer models draw eyes; the cheaper ones get bought.
                appeal = 0.4 + 1.6 * _stable(p.sku, seed)
                premium = min(float(p.price) / median, 3.0)
                self.view_weight[p.sku] = appeal * (0.6 + 0.5 * premium)
                self.buy_weight[p.sku] = appeal / premium**1.3
        self.fitting: dict[str, list[Product]] = {
            p.sku: [a for a in self.by_category.get(ACCESSORIES, []) if _fits(a, p)]
            for p in self.products
            if p.category != ACCESSORIES
        }
        cheap = self.by_category.get(ACCESSORIES) or self.products
        self.cheap = sorted(cheap, key=lambda p: p.price)
        self.found = {
            term: _matches(term, self.products) for terms in SEARCH_TERMS.values() for term in terms
        }
        self.terms = {
            category: [(term, len(self.found[term])) for term in terms]
            for category, terms in SEARCH_TERMS.items()
            if category in self.by_category
        }

    def pick(self, rng: random.Random, category: str, exclude: Iterable[str] = ()) -> Product:
        skipped = set(exclude)
        items = [p for p in self.by_category[category] if p.sku not in skipped]
        if not items:
            items = self.by_category[category]
        weights = [self.view_weight[p.sku] for p in items]
        return rng.choices(items, weights)[0]

    def other_colour(self, product: Product, rng: random.Random) -> Product | None:
        others = [p for p in self.variants[product.name] if p.sku != product.sku]
        return rng.choice(others) if others else None


@dataclass
class _Plan:
    """Who the visitor is and what they came for."""

    number: int
    browser: Browser
    start: float  # epoch seconds
    source: str
    category: str
    returning: Product | None = None  # came back to buy this
    campaign: str | None = None


class _Visit:
    """Builds one visit's pages; each page becomes one batch when the visitor leaves it."""

    def __init__(self, sim: _Simulation, plan: _Plan) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.plan = plan
        self.now = plan.start
        self.url: str | None = None
        self.referrer = ""
        self.events: list[dict[str, Any]] = []
        self.batches: list[Batch] = []
        self.cart: list[Product] = []
        self.viewed: dict[str, int] = {}  # sku -> engaged ms, in viewing order
        self.engagement: tuple[Product, int, int] | None = None  # of the open product page
        self.zone: str | None = None  # delivery zone, once the visitor gave a postcode

    # -- low level

    def wait(self, seconds: float) -> None:
        self.now += max(seconds, 0.05)

    def emit(self, name: str, params: dict[str, Any] | None = None) -> None:
        assert self.url is not None
        self.events.append(
            {
                "event_id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
                "name": name,
                "ts": int(self.now * 1000),
                "page": self.url,
                "referrer": self.referrer,
                "params": params or {},
            }
        )
        self.wait(self.rng.uniform(0.05, 0.6))

    def page(self, path: str, *, referrer: str | None = None) -> None:
        self.hide()
        self.referrer = referrer if referrer is not None else (self.url or "")
        self.url = SHOP + path
        self.emit("page_view")

    def hide(self) -> None:
        """Page hide: the tracker sends what the page collected, with a product page's dwell."""
        if self.engagement is not None:
            product, engaged_ms, scroll = self.engagement
            self.engagement = None
            self.emit(
                "engagement",
                {"engaged_ms": engaged_ms, "scroll_depth": scroll, "items": [_item(product)]},
            )
        if self.events:
            self.wait(self.rng.uniform(0.02, 0.4))
            self.batches.append(
                Batch(
                    received_at=dt.datetime.fromtimestamp(self.now, dt.UTC),
                    browser=self.plan.browser,
                    events=self.events,
                    visit=self.plan.number,
                )
            )
            self.events = []

    def cart_value(self) -> Decimal:
        return sum((p.price for p in self.cart), Decimal("0.00"))

    def cart_params(self) -> dict[str, Any]:
        return {
            "currency": CURRENCY,
            "value": _money(self.cart_value()),
            "items": [_item(p) for p in self.cart],
        }

    # -- pages

    def home(self, referrer: str | None = None) -> None:
        self.page("/", referrer=referrer)
        self.wait(self.rng.uniform(4, 25))

    def listing(self, category: str, *, query: str = "", referrer: str | None = None) -> None:
        self.page(f"/c/{slug(category)}{query}", referrer=referrer)
        shown = self.sim.catalog.by_category[category][:LIST_SIZE]
        self.emit(
            "view_item_list",
            {"item_list_name": category, "items": [_item(p) for p in shown]},
        )
        self.wait(self.rng.lognormvariate(math.log(14), 0.6))

    def select(self, product: Product, list_name: str) -> None:
        self.emit("select_item", {"item_list_name": list_name, "items": [_item(product)]})

    def search(self, term: str, results: int) -> None:
        self.page(f"/recherche?q={quote_plus(term)}")
        self.emit("search", {"search_term": term, "search_results": results})
        if results:
            found = self.sim.catalog.found[term][:LIST_SIZE]
            self.emit(
                "view_item_list",
                {"item_list_name": "Recherche", "items": [_item(p) for p in found]},
            )
        self.wait(self.rng.uniform(3, 15))

    def product(
        self, product: Product, dwell_s: float, *, path_query: str = "", referrer: str | None = None
    ) -> None:
        """A product page: view_item, the visitor reads it, engagement on hide."""
        self.page(f"/p/{product.sku.lower()}{path_query}", referrer=referrer)
        self.emit(
            "view_item",
            {"currency": CURRENCY, "value": _money(product.price), "items": [_item(product)]},
        )
        engaged_ms = max(800, int(dwell_s * 1000))
        self.wait(dwell_s * self.rng.uniform(1.0, 1.35))  # engaged, plus tab-away time
        scroll = min(100, int(8 + 92 * (1 - math.exp(-dwell_s / 40)) * self.rng.uniform(0.7, 1.1)))
        self.viewed[product.sku] = self.viewed.get(product.sku, 0) + engaged_ms
        self.engagement = (product, engaged_ms, scroll)

    def add(self, product: Product) -> None:
        self.cart.append(product)
        self.emit(
            "add_to_cart",
            {"currency": CURRENCY, "value": _money(product.price), "items": [_item(product)]},
        )

    def remove(self, product: Product) -> None:
        self.cart.remove(product)
        self.emit(
            "remove_from_cart",
            {"currency": CURRENCY, "value": _money(product.price), "items": [_item(product)]},
        )

    def show_fee(self) -> Decimal:
        value = self.cart_value()
        if self.zone is None:
            self.zone = self.rng.choices(list(ZONES), [w for _, w in ZONES.values()])[0]
        fee = delivery_fee(value, self.zone)
        self.emit(
            "delivery_fee_shown",
            {
                "currency": CURRENCY,
                "fee": _money(fee),
                "free_threshold": _money(FREE_THRESHOLD),
                "cart_value": _money(value),
            },
        )
        return fee

    def view_cart(self) -> Decimal:
        self.page("/panier")
        self.emit("view_cart", self.cart_params())
        fee = self.show_fee()
        self.wait(self.rng.uniform(8, 45))
        return fee

    def checkout(self, fee: Decimal, *, patience: float = 1.0) -> bool:
        """From the cart to the order confirmation; False when the visitor gives up."""
        rng = self.rng
        if rng.random() < abandonment_probability(fee, self.cart_value()) * patience:
            self.wait(rng.uniform(5, 40))
            self.hide()
            return False
        self.page("/commande")
        self.emit("begin_checkout", self.cart_params())
        self.wait(rng.lognormvariate(math.log(70), 0.5))  # account or guest details
        if rng.random() < 0.08:
            self.hide()
            return False
        pickup = rng.random() < 0.15  # click and collect at the Lyon store: no fee
        shipping = Decimal("0.00") if pickup else fee
        self.page("/commande/livraison")
        self.emit(
            "add_shipping_info",
            {
                **self.cart_params(),
                "shipping": _money(shipping),
                "shipping_tier": "Retrait en magasin" if pickup else "Livraison à domicile",
            },
        )
        self.wait(rng.lognormvariate(math.log(55), 0.5))  # payment
        if rng.random() < 0.06:
            self.hide()
            return False
        self.page("/commande/confirmation")
        self.emit(
            "purchase",
            {
                **self.cart_params(),
                "shipping": _money(shipping),
                "transaction_id": self.sim.transaction_id(self.now),
            },
        )
        self.wait(rng.uniform(5, 30))
        self.hide()
        return True


class _Simulation:
    def __init__(self, products: Sequence[Product], seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.catalog = _Catalog(products, seed)
        self.orders = 0
        self.returns: list[tuple[float, int, _Plan]] = []  # heap of later visits
        self.visits = 0

    def transaction_id(self, now: float) -> str:
        self.orders += 1
        local = dt.datetime.fromtimestamp(now, TIMEZONE)
        return f"CMD-{local:%y%m%d}-{self.orders:05d}"

    # -- who visits

    def browser(self, device: str) -> Browser:
        rng = self.rng
        if device == "bot":
            return Browser(self._ip(), rng.choice(BOT_AGENTS), "bot")
        templates = USER_AGENTS[device]
        template = rng.choices([t for t, _ in templates], [w for _, w in templates])[0]
        agent = template.format(
            m=rng.randint(0, 6), n=rng.choice((146, 256, 346, 546, 911, 918, 200, 210)),
            chrome=rng.choice(_CHROME),
        )  # fmt: skip
        return Browser(self._ip(), agent, device)

    def _ip(self) -> str:
        rng = self.rng
        if rng.random() < 0.55:  # French mobile and fibre networks are mostly IPv6
            groups = [rng.getrandbits(16) for _ in range(6)]
            return "2001:db8:" + ":".join(f"{g:x}" for g in groups)
        return rng.choice(_V4_RANGES) + str(rng.randint(1, 254))

    def plan(self, start: float, day: dt.date) -> _Plan:
        rng = self.rng
        self.visits += 1
        if rng.random() < BOT_SHARE:
            return _Plan(self.visits, self.browser("bot"), start, "bot", "")
        device = rng.choices(list(DEVICES), [w for w, _ in DEVICES.values()])[0]
        sources = dict(SOURCES)
        newsletter = self._newsletter(day)
        if newsletter is not None:
            share, boost = sources["newsletter"]
            sources["newsletter"] = (share * (1 + newsletter[1]), boost)
        source = rng.choices(list(sources), [w for w, _ in sources.values()])[0]
        categories = self.catalog.categories
        category = rng.choices(categories, [INTEREST.get(c, 0.05) for c in categories])[0]
        campaign = None
        if source == "newsletter":
            name, featured = newsletter[0] if newsletter else NEWSLETTERS[0]
            campaign = name
            if featured in self.catalog.by_category and rng.random() < 0.7:
                category = featured
        elif source == "facebook":
            half = 0 if day.toordinal() % 28 < 14 else 1
            campaign, featured = AD_CAMPAIGNS[half]
            if featured in self.catalog.by_category:
                category = featured
        return _Plan(self.visits, self.browser(device), start, source, category, campaign=campaign)

    def _newsletter(self, day: dt.date) -> tuple[tuple[str, str], float] | None:
        """The newsletter goes out on Thursdays; its traffic fades over three days."""
        for back, boost in ((0, 5.0), (1, 2.0), (2, 0.8)):
            sent = day - dt.timedelta(days=back)
            if sent.isoweekday() == 4:
                return NEWSLETTERS[sent.isocalendar().week % len(NEWSLETTERS)], boost
        return None

    # -- what they do

    def run(self, plan: _Plan) -> list[Batch]:
        visit = _Visit(self, plan)
        if plan.source == "bot":
            self._crawl(visit)
        elif plan.returning is not None:
            self._come_back(visit, plan.returning)
        else:
            self._browse(visit)
        visit.hide()
        return visit.batches

    def _crawl(self, visit: _Visit) -> None:
        rng = self.rng
        for _ in range(rng.randint(4, 30)):
            product = rng.choice(self.catalog.products)
            visit.page(f"/p/{product.sku.lower()}", referrer="")
            visit.emit(
                "view_item",
                {"currency": CURRENCY, "value": _money(product.price), "items": [_item(product)]},
            )
            visit.wait(rng.uniform(0.5, 3))

    def _landing(self, visit: _Visit, profile: _Profile) -> Product | None:
        """The first page, by source; returns the product when it is a product page."""
        rng, plan, catalog = self.rng, visit.plan, self.catalog
        category = plan.category
        if plan.source == "comparator":
            product = catalog.pick(rng, category)
            visit.product(product, self._dwell(profile), referrer=rng.choice(COMPARATORS))
            return product
        if plan.source in ("newsletter", "facebook"):
            medium = "email" if plan.source == "newsletter" else "cpc"
            query = f"?utm_source={plan.source}&utm_medium={medium}&utm_campaign={plan.campaign}"
            referrer = "" if plan.source == "newsletter" else "https://m.facebook.com/"
            if rng.random() < 0.35:
                product = catalog.pick(rng, category)
                visit.product(product, self._dwell(profile), path_query=query, referrer=referrer)
                return product
            visit.listing(category, query=query, referrer=referrer)
            return None
        if plan.source == "direct":
            visit.home(referrer="")
            return None
        engine = {"google": "https://www.google.fr/", "bing": "https://www.bing.com/"}
        referrer = engine[plan.source]
        if rng.random() < 0.5:
            product = catalog.pick(rng, category)
            visit.product(product, self._dwell(profile), referrer=referrer)
            return product
        visit.listing(category, referrer=referrer)
        return None

    def _dwell(self, profile: _Profile, factor: float = 1.0) -> float:
        return min(self.rng.lognormvariate(math.log(profile.dwell_s * factor), 0.55), 900.0)

    def _browse(self, visit: _Visit) -> None:
        rng, plan, catalog = self.rng, visit.plan, self.catalog
        profile = PROFILES[_kind(plan.category)]
        source_boost = SOURCES[plan.source][1]
        device_boost = DEVICES[plan.browser.device][1]
        bounce = BOUNCE[plan.source] * (1.15 if plan.browser.device == "mobile" else 1.0)
        landed = self._landing(visit, profile)
        if rng.random() < bounce:
            return
        # Looking around: lists, searches and "similar products" lead to product pages; the
        # first model seen gets studied longest.
        low, high = profile.views
        views = rng.randint(low, high) - (landed is not None)
        studied = landed or catalog.pick(rng, plan.category)
        for step in range(views):
            list_name = "Produits similaires"
            if (step == 0 and landed is None) or rng.random() < 0.25:
                found = self._find(visit, plan.category) if rng.random() < 0.3 else None
                if found is False:
                    return  # the search found nothing and the visitor gave up
                if found is None:
                    visit.listing(plan.category)
                list_name = "Recherche" if found else plan.category
            if step == 0 and landed is None:
                product = studied
            else:
                product = catalog.pick(rng, plan.category, visit.viewed)
            visit.select(product, list_name)
            visit.product(product, self._dwell(profile, 3.0 if product is studied else 1.0))
            if rng.random() < 0.25:
                variant = catalog.other_colour(product, rng)
                if variant is not None:
                    visit.product(variant, self._dwell(profile, 0.5))
        longest = max(visit.viewed, key=lambda sku: visit.viewed[sku], default=studied.sku)
        studied = catalog.by_sku[longest]
        chance = profile.cart * source_boost * device_boost
        wants = rng.random() < chance
        # Some carts are only a way to see the total: as many, in proportion, for every kind.
        window_shopping = not wants and rng.random() < 0.3 * chance
        if not (wants or window_shopping):
            return
        if wants and rng.random() < profile.later:
            self._schedule_return(visit, studied)
            return
        choice = self._choose(visit, studied, profile)
        self._buy(visit, choice, profile, patience=2.5 if window_shopping else 1.0)

    def _find(self, visit: _Visit, category: str) -> bool | None:
        """A site search: True when it led somewhere, False when the visitor gave up."""
        rng = self.rng
        terms = self.catalog.terms.get(category)
        if not terms:
            return None
        # The first terms of a list are the common ones.
        term, results = rng.choices(terms, [1 / (1 + 0.5 * i) for i in range(len(terms))])[0]
        visit.search(term, results)
        if results:
            return True
        if rng.random() < 0.55:
            visit.hide()
            return False
        good = [(t, n) for t, n in terms if n]
        if not good:
            return False
        term, results = rng.choice(good)
        visit.search(term, results)
        return True

    def _choose(self, visit: _Visit, studied: Product, profile: _Profile) -> Product:
        """What goes in the cart: the studied model, or another one (a substitution)."""
        rng, catalog = self.rng, self.catalog
        if rng.random() >= profile.substitute:
            return studied
        other = catalog.other_colour(studied, rng)
        if other is None or rng.random() < 0.45:
            pool = [p for p in catalog.by_category[studied.category] if p.sku != studied.sku]
            if not pool:
                return studied
            weights = [catalog.buy_weight[p.sku] for p in pool]
            other = rng.choices(pool, weights)[0]
        # A quick look at the one they take (the long look was at the studied one).
        longest_s = visit.viewed.get(studied.sku, 60_000) / 1000
        visit.product(other, min(self._dwell(profile, 0.4), longest_s / 2))
        return other

    def _buy(
        self, visit: _Visit, choice: Product, profile: _Profile, *, patience: float = 1.0
    ) -> None:
        rng, catalog = self.rng, self.catalog
        on_product_page = visit.url is not None and visit.url.endswith(f"/p/{choice.sku.lower()}")
        if not on_product_page:
            visit.select(choice, choice.category)
            visit.product(choice, self._dwell(profile, 0.5))
        visit.add(choice)
        fitting = catalog.fitting.get(choice.sku, [])
        if fitting and rng.random() < 0.3:
            accessory = rng.choice(fitting)
            visit.product(accessory, self._dwell(PROFILES["accessory"]))
            visit.add(accessory)
        fee = visit.view_cart()
        if len(visit.cart) > 1 and rng.random() < 0.1:
            visit.remove(visit.cart[-1])
            fee = visit.show_fee()
        distance = FREE_THRESHOLD - visit.cart_value()
        if fee and distance <= 80 and rng.random() < 0.35:
            # Reaching free delivery: the cheapest accessory that closes the gap.
            top_up = next((p for p in catalog.cheap if p.price >= distance), None)
            if top_up is not None:
                visit.add(top_up)
                fee = visit.show_fee()
        visit.checkout(fee, patience=patience)

    def _schedule_return(self, visit: _Visit, product: Product) -> None:
        """Thinking it over: back later today (same browser) or another day (new visitor)."""
        rng = self.rng
        if rng.random() < 0.3:
            return  # never comes back
        plan = visit.plan
        if rng.random() < 0.5:
            start = visit.now + rng.uniform(2, 9) * 3600
            browser = plan.browser
        else:
            start = visit.now + rng.uniform(1, 6) * 86400
            browser = self.browser(plan.browser.device)
        source = "direct" if rng.random() < 0.6 else "google"
        self.visits += 1
        later = _Plan(self.visits, browser, start, source, product.category, returning=product)
        heapq.heappush(self.returns, (start, later.number, later))

    def _come_back(self, visit: _Visit, product: Product) -> None:
        rng = self.rng
        referrer = "" if visit.plan.source == "direct" else "https://www.google.fr/"
        profile = PROFILES[_kind(product.category)]
        visit.product(product, self._dwell(profile, 0.7), referrer=referrer)
        if rng.random() < 0.12:
            return
        self._buy(visit, product, profile, patience=0.7)


def _start_times(rng: random.Random, day: dt.date, visits: int, until: float | None) -> list[float]:
    weekend = day.isoweekday() >= 6
    weights = [w + (2.0 if weekend and 8 <= h <= 17 else 0.0) for h, w in enumerate(HOURS)]
    midnight = dt.datetime.combine(day, dt.time(), TIMEZONE)
    starts = []
    for hour in rng.choices(range(24), weights, k=visits):
        local = midnight + dt.timedelta(hours=hour, seconds=rng.uniform(0, 3600))
        start = local.timestamp()
        if until is None or start < until:
            starts.append(start)
    return sorted(starts)


def generate(
    products: Sequence[Product],
    *,
    end: dt.datetime,
    days: int,
    seed: int = DEFAULT_SEED,
    visits_per_day: float = DEFAULT_VISITS_PER_DAY,
) -> Iterator[Batch]:
    """Batches of ``days`` local days of browsing up to ``end``, in the order they arrive.

    The last day is cut at ``end`` (minus the time its last visits need), so nothing arrives
    from the future. Visits are spread over Paris hours with a weekly rhythm.
    """
    if end.tzinfo is None:
        raise ValueError("end must be timezone-aware")
    sim = _Simulation(products, seed)
    rng = sim.rng
    last = end.astimezone(TIMEZONE).date()
    first = last - dt.timedelta(days=days - 1)
    horizon = end.timestamp()
    pending: list[tuple[float, int, Batch]] = []
    order = 0
    for offset in range(days):
        day = first + dt.timedelta(days=offset)
        trend = 1 + 0.1 * offset / max(days, 1)
        count = max(1, round(visits_per_day * WEEKDAY[day.weekday()] * trend * rng.gauss(1, 0.07)))
        next_midnight = dt.datetime.combine(
            day + dt.timedelta(days=1), dt.time(), TIMEZONE
        ).timestamp()
        plans = [
            (start, plan.number, plan)
            for start in _start_times(rng, day, count, horizon - 2700)
            for plan in [sim.plan(start, day)]
        ]
        heapq.heapify(plans)
        while plans or (sim.returns and sim.returns[0][0] < next_midnight):
            # Visits of the day in start order, with the returns they schedule for later today.
            while sim.returns and sim.returns[0][0] < next_midnight:
                heapq.heappush(plans, heapq.heappop(sim.returns))
            plan = heapq.heappop(plans)[2]
            if plan.start >= horizon:
                continue
            for batch in sim.run(plan):
                if batch.received_at.timestamp() <= horizon:
                    heapq.heappush(pending, (batch.received_at.timestamp(), order, batch))
                    order += 1
        # Every visit of later days starts after midnight: what arrived before is final.
        while pending and pending[0][0] < next_midnight:
            yield heapq.heappop(pending)[2]
    while pending:
        yield heapq.heappop(pending)[2]
