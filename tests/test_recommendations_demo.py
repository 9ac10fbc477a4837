"""What a seller expects on the demo shop (``make run``): 35 anchor products, through HTTP.

The demo shop is seeded as ``make seed`` does (catalogue, sales history, a week of webshop
browsing, planogram) and the model trained with the real command. For every anchor, the top
of its complements must read like a good appliance seller:

* no substitute in the top 3: never a second washing machine next to the first, a second
  stacking kit next to a stacking kit, another coffee machine next to a coffee machine;
* at least one accessory that fits it, where the catalogue has one in stock;
* for an accessory, nothing costing more than 3 times its price (no 699 EUR TV for an HDMI
  cable);
* reasons in French.

The oracles are written here by hand, not taken from the recommender: what is a substitute
is the seller's grouping below; what fits is the rule the demo sales were generated with
(``seeds/demo_sales.fits``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from store_api import create_app, db
from store_api.catalog.models import Product
from store_api.keys import service as keys_service
from store_api.keys.models import Role
from store_api.stock.models import StockLevel
from tests.conftest import _empty_all_tables
from tests.fixtures.clock import FrozenClock

ROOT = Path(__file__).resolve().parents[1]

# What a seller calls the same kind of product: one of these replaces another.
SELLER_GROUPS: dict[str, tuple[str, ...]] = {
    "washer": ("LL-",),
    "dryer": ("SL-",),
    "fridge": ("RF-",),
    "dishwasher": ("LV-",),
    "oven": ("FO-",),
    "tv": ("TV-",),
    "coffee machine": (
        "PE-DEL-ECAM", "PE-DEL-EC685", "PE-KRU-", "PE-PHI-EP", "PE-SIE-EQ", "PE-MIE-CM",
    ),
    "vacuum": ("PE-ROW-XFORCE", "PE-ROW-RO", "PE-SAM-VSJ", "PE-BOS-BCS", "PE-MIE-C3"),
    "kettle": ("PE-SME-KLF", "PE-MOU-BY", "PE-DEL-KBOV", "PE-PHI-HD9350"),
    "toaster": ("PE-SME-TSF", "PE-DEL-CTOV", "PE-MOU-LT", "PE-PHI-HD2581"),
    "kitchen machine": ("PE-MOU-HF", "PE-BOS-MUM", "PE-MOU-QA5"),
    "iron": ("PE-ROW-DW", "PE-CAL-", "PE-PHI-GC"),
    "stacking kit": (
        "AC-BOS-WTZ27400", "AC-SAM-SKKDD", "AC-LG-DSTWH", "AC-MIE-WTV417", "AC-ELE-SKP11",
        "AC-WPR-SKS101",
    ),
    "fridge water filter": ("AC-SAM-HAFQIN", "AC-LG-LT800P", "AC-WPR-USC100"),
    "descaler": ("AC-WPR-DES100", "AC-DEL-ECODECALK", "AC-KRU-F054", "AC-PHI-CA6700"),
    "coffee water filter": ("AC-DEL-DLSC002", "AC-KRU-F088"),
    "wall mount": ("AC-MEL-SS",),
    "hdmi cable": ("AC-MEL-HDMI",),
    "frame": ("AC-SAM-VG55LS03",),
    "anti-vibration": ("AC-XAV-AVF4", "AC-WPR-AVM100"),
    "dishwasher tablets": ("AC-FIN-QUANTUM60", "AC-WPR-TAB40"),
    "warranty": ("AC-CPT-EG3",),
}  # fmt: skip

APPLIANCES = [
    # washers
    "LL-BOS-WGG244-BL", "LL-BOS-WAN28-BL", "LL-SAM-WW90T534-BL", "LL-MIE-WWG660-BL",
    "LL-BEK-WUE8736-BL",
    # dryers
    "SL-BOS-WQG245-BL", "SL-LG-RH90V9-BL", "SL-ELE-EW6C4853-BL",
    # fridges
    "RF-SAM-RS68A8-IX", "RF-LG-GSLV71-IX", "RF-BOS-KGN39V-BL", "RF-SME-FAB28-CR",
    # dishwashers, an oven
    "LV-BOS-SMS4H-BL", "LV-MIE-G7110SC-BL", "FO-BOS-HBA574-IX",
    # coffee machines
    "PE-DEL-ECAM22110-NR", "PE-DEL-EC685-RG", "PE-KRU-XN910-NR", "PE-PHI-EP2221-NR",
    # TVs
    "TV-SAM-UE55CU7105-NR", "TV-SAM-QE55LS03B-NR", "TV-LG-OLED65C3-NR", "TV-SAM-UE32T4305-NR",
    # small appliances
    "PE-MIE-C3-RG", "PE-SME-KLF03-CR", "PE-SME-TSF01-CR", "PE-BOS-MUM5-BL",
]  # fmt: skip
ACCESSORIES = [
    "AC-MEL-HDMI2115-NR", "AC-BOS-WTZ27400-BL", "AC-SAM-HAFQIN", "AC-WPR-DES100",
    "AC-MEL-SS400S-NR", "AC-FIN-QUANTUM60", "AC-DEL-ECODECALK", "AC-XAV-AVF4",
]  # fmt: skip
LIMIT = 5


def group_of(sku: str) -> str | None:
    return next(
        (name for name, prefixes in SELLER_GROUPS.items() if sku.startswith(prefixes)), None
    )


def _seed_rules() -> ModuleType:
    """seeds/demo_sales.py, loaded as ``flask seed-sales`` loads it."""
    from store_api.recommendations.cli import _demo_sales_module

    return _demo_sales_module()


@pytest.fixture(scope="module")
def demo(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The demo shop as ``make seed`` builds it (one week of browsing), trained."""
    clock = FrozenClock()
    app = create_app({"DATABASE_URL": migrated, "CLOCK": clock, "TESTING": True})
    app.instance_path = str(tmp_path_factory.mktemp("demo"))
    _empty_all_tables(app)
    runner = app.test_cli_runner()
    for args in (
        ["seed", "--no-keys"],
        ["seed-sales"],
        ["seed-browsing", "--weeks", "1", "--visits-per-day", "120"],
        ["seed-planogram"],
        ["recommender", "train"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (args, result.output, result.exception)
    yield app
    _empty_all_tables(app)
    db.engine_for(app).dispose()


@pytest.fixture(scope="module")
def seller(demo: Flask) -> str:
    session = db.new_session(demo)
    with db.write(session):
        _key, secret = keys_service.create_key(
            session, name="demo test seller", role=Role.SELLER, now=db.utcnow()
        )
    session.close()
    return secret


@pytest.fixture(scope="module")
def catalogue(demo: Flask) -> dict[str, Any]:
    """Every product: what the seed's fit rule needs, and whether it is in stock."""
    rules = _seed_rules()
    session = db.new_session(demo)
    with db.read(session):
        available = {
            sku: int(units)
            for sku, units in session.execute(
                select(Product.sku, StockLevel.on_hand - StockLevel.reserved).join(
                    StockLevel, StockLevel.product_id == Product.id
                )
            )
            if units > 0
        }
        products = {
            p.sku: rules._Item(
                p.sku,
                p.brand,
                p.category,
                float(p.price),
                p.attributes or {},
                {"any": available.get(p.sku, 0)} if p.active else {},
            )
            for p in session.scalars(select(Product))
        }
    session.close()
    return {"rules": rules, "products": products}


def complements(client: FlaskClient, key: str, sku: str) -> list[dict[str, Any]]:
    response = client.get(
        f"/api/v1/products/{sku}/recommendations",
        query_string={"limit": LIMIT},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200, response.json
    assert response.json["model_version"] is not None
    items: list[dict[str, Any]] = response.json["items"]
    return items


def fits_something(catalogue: dict[str, Any], anchor: str) -> list[str]:
    """In-stock accessories (not services) that the seed's rule says fit the anchor."""
    rules, products = catalogue["rules"], catalogue["products"]
    return [
        sku
        for sku, item in products.items()
        if item.category == "Accessoires"
        and item.total > 0
        and not item.attributes.get("service")
        and rules.fits(item, products[anchor])
    ]


def test_there_are_at_least_30_anchors_in_every_family() -> None:
    assert len(APPLIANCES) + len(ACCESSORIES) >= 30
    assert {group_of(sku) for sku in APPLIANCES} >= {
        "washer", "dryer", "fridge", "coffee machine", "tv", "kettle", "vacuum",
    }  # fmt: skip
    assert all(group_of(sku) for sku in [*APPLIANCES, *ACCESSORIES])


@pytest.mark.parametrize("anchor", APPLIANCES)
def test_an_appliance_gets_what_fits_it_and_never_a_substitute(
    demo: Flask, seller: str, catalogue: dict[str, Any], anchor: str
) -> None:
    items = complements(demo.test_client(), seller, anchor)
    skus = [item["sku"] for item in items]

    assert items, anchor
    assert not [s for s in skus[:3] if group_of(s) == group_of(anchor)], (anchor, skus)
    fitting = fits_something(catalogue, anchor)
    if fitting:
        products = catalogue["products"]
        assert any(catalogue["rules"].fits(products[s], products[anchor]) for s in skus), (
            anchor,
            skus,
            fitting,
        )
        assert items[0]["tier"] in {"compatible", "consumable"}, items[0]
    for item in items:
        assert item["reason"] and item["reasons"][0]["text"] == item["reason"]


@pytest.mark.parametrize("anchor", ACCESSORIES)
def test_an_accessory_gets_nothing_dearer_than_three_times_its_price(
    demo: Flask, seller: str, catalogue: dict[str, Any], anchor: str
) -> None:
    items = complements(demo.test_client(), seller, anchor)
    products = catalogue["products"]
    price = Decimal(str(products[anchor].price))

    skus = [item["sku"] for item in items]
    assert all(Decimal(item["price"]) <= 3 * price for item in items), (anchor, items)
    assert not [s for s in skus[:3] if group_of(s) == group_of(anchor)], (anchor, skus)
    # Another accessory for the same appliances, where the catalogue has one in stock that
    # is of another kind and within the price rule.
    targets = set(products[anchor].attributes.get("compatible_avec") or [])
    candidates = [
        sku
        for sku, item in products.items()
        if item.category == "Accessoires"
        and item.total > 0
        and not item.attributes.get("service")
        and group_of(sku) != group_of(anchor)
        and Decimal(str(item.price)) <= 3 * price
        and targets & set(item.attributes.get("compatible_avec") or [])
    ]
    if candidates:
        assert set(skus) & set(candidates), (anchor, skus, candidates)


def test_the_bosch_washer_gets_its_own_stacking_kit_first_in_words_a_seller_says(
    demo: Flask, seller: str
) -> None:
    items = complements(demo.test_client(), seller, "LL-BOS-WGG244-BL")

    assert items[0]["sku"] == "AC-BOS-WTZ27400-BL"
    assert items[0]["reason"] == "Compatible avec ce lave-linge Bosch"
    assert all(item["category"] == "Accessoires" for item in items)


def test_a_help_alert_on_an_hdmi_cable_never_suggests_a_television(
    demo: Flask, seller: str
) -> None:
    items = complements(demo.test_client(), seller, "AC-MEL-HDMI2115-NR")

    assert not [item for item in items if item["sku"].startswith("TV-")]


def test_the_served_model_is_recorded_with_its_parameters(demo: Flask) -> None:
    directory = Path(demo.instance_path) / "recommender" / "current"
    metadata = json.loads((directory / "model.json").read_text())

    assert metadata["parameters"]["complements"]["similarity"] == "ease"
    assert metadata["parameters"]["complements"]["allow_substitutes"] is False
