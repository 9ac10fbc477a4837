"""Reason codes in words a seller can repeat: French by default, English on request."""

from __future__ import annotations

from typing import Any

import pytest

from store_api.recommendations.reasons import render

BOSCH_WASHER = {"category": "Lave-linge", "brand": "Bosch", "type": ""}


@pytest.mark.parametrize(
    ("code", "params", "french", "english"),
    [
        (
            "compatible",
            BOSCH_WASHER,
            "Compatible avec ce lave-linge Bosch",
            "Compatible with this Bosch washing machine",
        ),
        (
            "compatible",
            {"category": "Petit électroménager", "type": "Machine à café broyeur", "brand": ""},
            "Compatible avec cette machine à café",
            "Compatible with this coffee machine",
        ),
        (
            "consumable",
            {"category": "Réfrigérateurs", "brand": "Samsung"},
            "Consommable pour ce réfrigérateur Samsung",
            "Consumable for this Samsung fridge",
        ),
        (
            "service",
            {"category": "Téléviseurs"},
            "Service conseillé pour ce téléviseur",
            "Recommended service for this TV",
        ),
        (
            "compatible",
            {"category": "Jardin"},  # a category the shop never had: still a sentence
            "Compatible avec ce produit",
            "Compatible with this product",
        ),
        (
            "same_appliance",
            {"category": "Lave-linge"},
            "Pour les mêmes appareils : Lave-linge",
            "For the same appliances: Lave-linge",
        ),
        ("bought_together", {"baskets": 34}, "Souvent acheté avec (34 paniers)", None),
        ("bought_together", {"baskets": 1}, "Souvent acheté avec (1 panier)", None),
        (
            "bought_together",
            {"baskets": 3, "with_sku": "LL-1", "with_name": "Lave-linge Bosch"},
            "Souvent acheté avec Lave-linge Bosch (3 paniers)",
            "Often bought with Lave-linge Bosch (3 baskets)",
        ),
        (
            "carted_together",
            {"visits": 6},
            "Souvent mis au panier avec sur le site (6 visites)",
            "Often put in the cart with it online (6 visits)",
        ),
        (
            "viewed_together",
            {"visits": 6},
            "Souvent consulté avec sur le site (6 visites)",
            "Often viewed with it online (6 visits)",
        ),
        (
            "bought_with_similar",
            {"baskets": 5, "with_name": "Lave-linge Bosch Serie 6"},
            "Acheté avec un produit similaire, Lave-linge Bosch Serie 6 (5 paniers)",
            None,
        ),
        (
            "viewed_instead",
            {"visits": 3},
            "Choisi à sa place par 3 visiteurs du site",
            "Chosen instead by 3 webshop visitors",
        ),
        (
            "similar",
            {"brand": "Bosch", "traits": ["9 kg", "1400 tr/min"]},
            "Même marque (Bosch), mêmes caractéristiques : 9 kg, 1400 tr/min",
            "Same brand (Bosch) and same 9 kg, 1400 tr/min",
        ),
        ("similar", {"brand": "", "traits": []}, "Même type de produit", "Same kind of product"),
        (
            "viewed_next",
            {"visits": 2},
            "Consulté ensuite dans 2 visites similaires",
            "Viewed next in 2 similar visits",
        ),
        (
            "best_seller",
            {"category": "Lave-linge"},
            "Parmi les meilleures ventes du rayon Lave-linge",
            "Best seller in Lave-linge",
        ),
        ("on_shelf", {"shelf": "B"}, "En stock au rayon B", "In stock on shelf B"),
    ],
)
def test_every_reason_reads_in_french_and_in_english(
    code: str, params: dict[str, Any], french: str, english: str | None
) -> None:
    assert render(code, params, "fr") == french
    if english is not None:
        assert render(code, params, "en") == english


def test_a_brand_with_a_percent_sign_is_not_a_format_directive() -> None:
    assert render("compatible", {**BOSCH_WASHER, "brand": "100%"}, "fr") == (
        "Compatible avec ce lave-linge 100%"
    )
