"""The owner's Search page: synonyms listed, added, changed, deleted, in French, with CSRF;
and the try-a-search box."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.keys.models import Role
from store_api.search import service
from tests.conftest import Keys
from tests.fixtures.shop import add_product

PAGE = "/dashboard/search"


@pytest.fixture
def owner(client: FlaskClient, keys: Keys) -> FlaskClient:
    response = client.post("/dashboard/login", data={"key": keys[Role.OWNER]})
    assert response.status_code == 303
    return client


def token(client: FlaskClient, path: str = PAGE) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True))
    assert match
    return match.group(1)


def synonyms(app: Flask) -> list[tuple[str, list[str]]]:
    session = db.new_session(app)
    with db.read(session):
        found = [(s.term, list(s.synonyms)) for s in service.list_synonyms(session)]
    session.close()
    return found


def test_the_page_needs_the_owner(client: FlaskClient) -> None:
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/dashboard/login")


def test_an_empty_list_says_so_in_french(owner: FlaskClient) -> None:
    html = owner.get(PAGE).get_data(as_text=True)

    assert "Synonymes de la recherche" in html
    assert "Aucun synonyme pour l'instant" in html
    assert 'aria-current="page">Recherche</a>' in html


def test_the_owner_adds_changes_and_deletes_a_synonym(
    app: Flask, owner: FlaskClient, keys: Keys
) -> None:
    add_product(app, "RF-1", name="Réfrigérateur combiné")
    seller = keys.headers(Role.SELLER)

    added = owner.post(
        f"{PAGE}/synonyms",
        data={
            "term": "Frigo",
            "synonyms": "réfrigérateur, congélateur",
            "csrf_token": token(owner),
        },
    )
    assert added.status_code == 303
    listing = owner.get(added.headers["Location"]).get_data(as_text=True)
    assert "Enregistré : « Frigo »." in listing
    assert "réfrigérateur, congélateur" in listing
    assert synonyms(app) == [("Frigo", ["réfrigérateur", "congélateur"])]
    found = owner.get("/api/v1/products", query_string={"q": "frigo"}, headers=seller)
    assert [p["sku"] for p in found.json["items"]] == ["RF-1"]

    [(synonym_id,)] = re.findall(r"/dashboard/search/synonyms/(\d+)\"", listing)
    edit = f"{PAGE}/synonyms/{synonym_id}"
    assert 'value="réfrigérateur, congélateur"' in owner.get(edit).get_data(as_text=True)
    changed = owner.post(
        edit,
        data={"term": "frigo", "synonyms": "frigidaire\nréfrigérateur", "csrf_token": token(owner)},
    )
    assert changed.status_code == 303
    assert synonyms(app) == [("frigo", ["frigidaire", "réfrigérateur"])]

    deleted = owner.post(f"{edit}/delete", data={"csrf_token": token(owner)})
    assert deleted.status_code == 303
    assert synonyms(app) == []
    found = owner.get("/api/v1/products", query_string={"q": "frigo"}, headers=seller)
    assert found.json["items"] == []


@pytest.mark.parametrize(
    ("term", "meanings", "message"),
    [
        ("", "réfrigérateur", "Indiquez le mot ou l&#39;expression que disent les gens."),
        ("frigo", "", "Indiquez au moins un synonyme."),
        ("frigo", " , ; ", "Indiquez au moins un synonyme."),
        ("x" * 101, "réfrigérateur", "100 caractères au plus."),
        ("de la", "réfrigérateur", "Il faut un mot de lettres ou de chiffres"),
        ("frigo", "!!!", "Chaque synonyme doit contenir un mot"),
        ("frigo", "réfrigérateur, Réfrigérateurs", "Le même synonyme est donné deux fois."),
        ("frigo", ", ".join(f"mot{i}" for i in range(21)), "20 synonymes au plus."),
        ("frigo", "y" * 101, "Chaque synonyme a 100 caractères au plus."),
    ],
)
def test_a_bad_synonym_is_refused_with_a_french_message(
    app: Flask, owner: FlaskClient, term: str, meanings: str, message: str
) -> None:
    response = owner.post(
        f"{PAGE}/synonyms", data={"term": term, "synonyms": meanings, "csrf_token": token(owner)}
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html
    assert synonyms(app) == []


def test_a_term_already_there_is_refused_in_french(app: Flask, owner: FlaskClient) -> None:
    owner.post(
        f"{PAGE}/synonyms",
        data={"term": "frigo", "synonyms": "réfrigérateur", "csrf_token": token(owner)},
    )

    again = owner.post(
        f"{PAGE}/synonyms",
        data={"term": "Frigos", "synonyms": "congélateur", "csrf_token": token(owner)},
    )

    assert again.status_code == 409
    assert "« Frigos » a déjà des synonymes" in again.get_data(as_text=True)
    assert synonyms(app) == [("frigo", ["réfrigérateur"])]


def test_forms_need_their_token_and_unknown_synonyms_are_404(
    app: Flask, owner: FlaskClient
) -> None:
    no_token = owner.post(f"{PAGE}/synonyms", data={"term": "frigo", "synonyms": "réfrigérateur"})
    unknown = owner.get(f"{PAGE}/synonyms/999")
    gone = owner.post(f"{PAGE}/synonyms/999/delete", data={"csrf_token": token(owner)})

    assert no_token.status_code == 400
    assert synonyms(app) == []
    assert unknown.status_code == 404 and "Synonyme inconnu" in unknown.get_data(as_text=True)
    assert gone.status_code == 404


def test_the_try_box_shows_what_a_customer_would_find(app: Flask, owner: FlaskClient) -> None:
    add_product(app, "LV-1", name="Lave-vaisselle Whirlpool", price="449.00")
    add_product(app, "LL-1", name="Lave-linge Bosch", price="549.00")

    found = owner.get(PAGE, query_string={"essai": "lave vaiselle"}).get_data(as_text=True)
    nothing = owner.get(PAGE, query_string={"essai": "trottinette"}).get_data(as_text=True)
    english = owner.get(PAGE, query_string={"essai": "whirpool", "lang": "en"}).get_data(
        as_text=True
    )

    assert "Lave-vaisselle Whirlpool" in found and "449,00" in found
    assert "Compris comme : « lave vaisselle »" in found
    assert "1 produit trouvé." in found
    assert "produits trouvés." in owner.get(
        PAGE, query_string={"essai": "lave", "lang": "fr"}
    ).get_data(as_text=True)
    assert "Rien trouvé pour « trottinette »" in nothing
    assert "Read as: “whirlpool”" in english
