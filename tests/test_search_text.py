"""The analyser and the index as pure code: no database, no HTTP."""

from __future__ import annotations

import pytest

from store_api.search.documents import ProductText
from store_api.search.index import (
    SearchIndex,
    compile_synonym,
    deletes,
    osa_distance,
    typos_allowed,
)
from store_api.search.text import fold, stem, terms, words


def load(index: SearchIndex, products: list[ProductText]) -> None:
    index.load((p, None) for p in products)


def product(doc_id: int, name: str, **fields: object) -> ProductText:
    base: dict[str, object] = {
        "id": doc_id,
        "sku": f"SKU-{doc_id}",
        "gtin": None,
        "name": name,
        "brand": "",
        "category": "",
        "colour": "",
        "description": "",
        "attributes": {},
        "active": True,
        "price": "10.00",
        "image_url": None,
    }
    base.update(fields)
    return ProductText(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("written", "folded"),
    [
        ("Réfrigérateur", "refrigerateur"),
        ("CRÈME", "creme"),
        ("Cœur", "coeur"),
        ("l\u2019eau", "l'eau"),
        ("lave\u2011linge", "lave-linge"),
        ("re\u0301frige\u0301rateur", "refrigerateur"),
        ("TV 📺 OLED", "tv  oled"),
    ],
)
def test_fold_drops_case_accents_and_ligatures(written: str, folded: str) -> None:
    assert fold(written) == folded


@pytest.mark.parametrize(
    ("word", "singular"),
    [("refrigerateurs", "refrigerateur"), ("pouces", "pouce"), ("eaux", "eau"), ("ans", "ans")],
)
def test_plural_and_singular_meet(word: str, singular: str) -> None:
    assert stem(word) == singular
    assert stem(singular) == stem(word) or singular == word


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lave-linge", {"lave", "linge", "lavelinge"}),
        ("De'Longhi", {"longhi", "delonghi"}),
        ("filtre à eau d'origine", {"filtre", "eau", "origine"}),
        ("Écran 55 pouces", {"ecran", "55", "pouce", "55pouce", "ecran55"}),
        ("Miele WWD 120", {"miele", "wwd", "120", "wwd120"}),
        ("micro-ondes", {"micro", "onde", "microonde"}),
    ],
)
def test_terms_cover_compounds_elisions_and_glued_numbers(text: str, expected: set[str]) -> None:
    assert set(terms(text)) == expected


def test_stop_words_are_not_terms_but_elided_articles_vanish() -> None:
    assert [w.raw for w in words("l'eau de la machine")] == ["eau", "de", "la", "machine"]
    assert [w.stop for w in words("l'eau de la machine")] == [False, True, True, False]


@pytest.mark.parametrize(
    ("a", "b", "distance"),
    [
        ("vaisselle", "vaiselle", 1),
        ("whirlpool", "whirpool", 1),
        ("frigo", "frgio", 1),  # two neighbours swapped: one typo
        ("samsung", "smasnug", 2),  # two swaps
        ("samsung", "gnusmas", 6),
        ("", "abc", 3),
    ],
)
def test_osa_distance(a: str, b: str, distance: int) -> None:
    assert osa_distance(a, b) == distance


def test_deletes_are_symspell_candidates() -> None:
    assert deletes("abc", 1) == {"abc", "bc", "ac", "ab"}
    assert "a" in deletes("abc", 2)


@pytest.mark.parametrize(
    ("word", "allowed"), [("four", 0), ("frigo", 1), ("vaisselle", 2), ("wgg244", 0), ("12345", 0)]
)
def test_typos_allowed_grow_with_the_word_and_never_touch_numbers(word: str, allowed: int) -> None:
    assert typos_allowed(word) == allowed


def test_a_word_found_as_written_is_never_corrected() -> None:
    index = SearchIndex()
    load(index, [product(1, "Four encastrable"), product(2, "Fourneau")])

    found = index.search("four ", limit=10)

    assert [index.docs[i].name for i in found.ids] == ["Four encastrable"]
    assert found.correction is None


def test_typo_limits_follow_word_length() -> None:
    index = SearchIndex()
    load(index, [product(1, "Cafetiere"), product(2, "Vaisselle"), product(3, "Four")])

    def first(query: str) -> list[str]:
        return [index.docs[i].name for i in index.search(query, limit=5).ids]

    assert first("vaiselle ") == ["Vaisselle"]  # 8 letters: one typo
    assert first("vasiselle ") == ["Vaisselle"]  # a swap counts as one
    assert first("cfeatiere ") == ["Cafetiere"]  # 9 letters: two typos
    assert first("vaisele ") == []  # 7 letters: not two
    assert first("foru ") == []  # 4 letters: none


def test_the_last_word_is_a_prefix_only_while_typing() -> None:
    index = SearchIndex()
    load(index, [product(1, "Réfrigérateur combiné")])

    assert index.search("réfrig", limit=5).ids == [1]
    assert index.search("réfrig ", limit=5).ids == []


def test_synonyms_are_one_way_and_keep_the_words_themselves() -> None:
    index = SearchIndex()
    load(index, [product(1, "Réfrigérateur"), product(2, "Frigo box isotherme")])
    synonym = compile_synonym("frigo", ["réfrigérateur"])
    assert synonym is not None
    index.set_synonyms([synonym])

    assert set(index.search("frigo ", limit=5).ids) == {1, 2}
    assert index.search("réfrigérateur ", limit=5).ids == [1]


def test_what_a_product_is_outweighs_what_it_mentions() -> None:
    index = SearchIndex()
    load(
        index,
        [
            product(1, "Filtre à eau pour réfrigérateur américain", category="Accessoires"),
            product(2, "Réfrigérateur américain", category="Réfrigérateurs"),
            product(3, "Lave-linge", description="Se glisse sous un réfrigérateur."),
        ],
    )

    assert index.search("réfrigérateur ", limit=5).ids == [2, 1, 3]
    assert index.search("filtre réfrigérateur ", limit=5).ids == [1]


def test_removed_and_replaced_documents_leave_no_trace() -> None:
    index = SearchIndex()
    load(index, [product(1, "Bouilloire"), product(2, "Grille-pain")])

    index.put(product(1, "Théière"))
    index.remove(2)

    assert index.search("bouilloire ", limit=5).ids == []
    assert index.search("theiere ", limit=5).ids == [1]
    assert index.search("grille pain", limit=5).ids == []
    assert "bouilloire" not in index.postings


def test_the_first_word_names_the_thing_sought() -> None:
    index = SearchIndex()
    load(index, [product(1, "Aspirateur traîneau sans sac"), product(2, "Sacs aspirateur (x4)")])

    assert index.search("sacs aspirateur ", limit=5).ids == [2, 1]
    assert index.search("aspirateur sac ", limit=5).ids == [1, 2]
