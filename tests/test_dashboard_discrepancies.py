"""Resolving a shelf vs system discrepancy from the owner's pages, with a note, in French."""

from __future__ import annotations

import datetime as dt

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.keys.models import Role
from store_api.shelves.models import ShelfDiscrepancy
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.dashboard import form_token, login, plain
from tests.fixtures.shop import add_product

SKU = "PE-KET-1"
W0 = dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.UTC)  # 11:00 in Lyon


def raise_discrepancy(app: Flask, start: dt.datetime, difference: int = 4) -> int:
    """A window the shelves service would have raised (its evaluation is tested elsewhere)."""
    session = db.new_session(app)
    with db.write(session):
        found = ShelfDiscrepancy(
            store="store-1",
            sku=SKU,
            lanes=["A-1"],
            window_start=start,
            window_end=start + dt.timedelta(hours=2),
            taken=5,
            put_back=0,
            accounted=5 - difference,
            difference=difference,
            raised_at=start + dt.timedelta(hours=2, minutes=5),
        )
        session.add(found)
        session.flush()
        found_id = found.id
    session.close()
    return found_id


@pytest.fixture
def kettle(app: Flask) -> int:
    add_product(app, SKU, {"floor": 10}, name="Bouilloire Écume")
    return raise_discrepancy(app, W0)


def api_view(client: FlaskClient, keys: Keys, found_id: int) -> dict:
    listed = client.get("/api/v1/discrepancies", headers=keys.headers(Role.OWNER)).get_json()
    return next(d for d in listed if d["id"] == found_id)


def test_the_page_shows_the_discrepancy_and_a_form_to_resolve_it(
    client: FlaskClient, keys: Keys, kettle: int
) -> None:
    login(client, keys)

    page = plain(client.get(f"/dashboard/store/discrepancies/{kettle}").get_data(as_text=True))

    assert f"Écart n° {kettle} : Bouilloire Écume" in page
    assert "ouvert · manquant" in page
    assert "27/11/2026 11:00 → 13:00" in page  # Lyon time
    assert "Unités manquantes" in page and "<strong>4</strong>" in page
    assert 'name="note"' in page and "Marquer comme résolu" in page


def test_resolving_with_a_note_keeps_who_when_and_the_note(
    client: FlaskClient, keys: Keys, kettle: int, clock: FrozenClock
) -> None:
    login(client, keys)
    token = form_token(client, f"/dashboard/store/discrepancies/{kettle}")
    clock.advance(hours=3)
    back = "/dashboard/store?from=2026-11-20&to=2026-11-27"

    response = client.post(
        f"/dashboard/store/discrepancies/{kettle}",
        data={"csrf_token": token, "note": "  Recompté : 4 cartons\nen réserve  ", "next": back},
    )

    assert response.status_code == 303
    assert response.headers["Location"] == back
    found = api_view(client, keys, kettle)
    assert (found["status"], found["resolved_by"]) == ("resolved", "test owner")
    assert found["note"] == "Recompté : 4 cartons\nen réserve"
    assert found["resolved_at"].startswith("2026-11-27T12:30")
    shown = plain(client.get(back).get_data(as_text=True))
    assert f"L'écart n° {kettle} est résolu." in shown  # said once, on the page it returns to
    assert f"L'écart n° {kettle} est résolu." not in plain(client.get(back).get_data(as_text=True))
    detail = plain(client.get(f"/dashboard/store/discrepancies/{kettle}").get_data(as_text=True))
    assert "Recompté : 4 cartons" in detail and 'name="note"' not in detail


@pytest.mark.parametrize(
    ("note", "message"),
    [
        ("", "Remplissez ce champ."),
        ("   \n ", "Remplissez ce champ."),
        ("x" * 501, "500 caractères au plus (ici 501)."),
        ("a\x00b", "caractères qui ne peuvent pas être enregistrés"),
    ],
)
def test_a_bad_note_is_said_next_to_the_field_and_nothing_is_resolved(
    client: FlaskClient, keys: Keys, kettle: int, note: str, message: str
) -> None:
    login(client, keys)
    token = form_token(client, f"/dashboard/store/discrepancies/{kettle}")

    response = client.post(
        f"/dashboard/store/discrepancies/{kettle}", data={"csrf_token": token, "note": note}
    )

    assert response.status_code == 422
    page = plain(response.get_data(as_text=True))
    assert message in page
    assert 'aria-invalid="true"' in page
    assert api_view(client, keys, kettle)["status"] == "open"


def test_a_discrepancy_resolved_meanwhile_keeps_the_first_note(
    client: FlaskClient, keys: Keys, kettle: int, clock: FrozenClock
) -> None:
    login(client, keys)
    token = form_token(client, f"/dashboard/store/discrepancies/{kettle}")
    client.post(
        f"/api/v1/discrepancies/{kettle}/resolve",
        json={"note": "vu par l'admin"},
        headers=keys.headers(Role.ADMIN),
    )
    clock.advance(minutes=1)

    response = client.post(
        f"/dashboard/store/discrepancies/{kettle}",
        data={"csrf_token": token, "note": "mon avis"},
        follow_redirects=True,
    )

    assert "avait déjà été résolu par test admin" in plain(response.get_data(as_text=True))
    assert api_view(client, keys, kettle)["note"] == "vu par l'admin"


def test_the_list_shows_every_open_discrepancy_whatever_its_date(
    app: Flask, client: FlaskClient, keys: Keys, kettle: int
) -> None:
    old = raise_discrepancy(app, W0 - dt.timedelta(days=90), difference=-2)
    login(client, keys)
    client.post(
        f"/api/v1/discrepancies/{kettle}/resolve", json={}, headers=keys.headers(Role.OWNER)
    )

    page = plain(client.get("/dashboard/store/discrepancies").get_data(as_text=True))

    assert f"/dashboard/store/discrepancies/{old}" in page  # three months old, still open
    assert f"/dashboard/store/discrepancies/{kettle}" not in page
    assert "en trop" in page


def test_the_in_store_page_links_open_ones_to_their_form(
    client: FlaskClient, keys: Keys, kettle: int
) -> None:
    login(client, keys)

    page = client.get("/dashboard/store?from=2026-11-27&to=2026-11-27").get_data(as_text=True)

    assert "Résoudre" in page
    assert f"/dashboard/store/discrepancies/{kettle}?next=" in page
    assert '/dashboard/store/discrepancies"' in page  # "All open ones"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "/dashboard/keys"])
def test_the_return_address_stays_on_the_in_store_page(
    client: FlaskClient, keys: Keys, kettle: int, target: str
) -> None:
    login(client, keys)
    token = form_token(client, f"/dashboard/store/discrepancies/{kettle}")

    response = client.post(
        f"/dashboard/store/discrepancies/{kettle}",
        data={"csrf_token": token, "note": "ok", "next": target},
    )

    assert response.headers["Location"] == "/dashboard/store#discrepancies"


def test_unknown_or_foreign_ids_are_404_pages_and_forms_need_their_token(
    client: FlaskClient, keys: Keys, kettle: int
) -> None:
    login(client, keys)
    token = form_token(client)

    unknown = client.get("/dashboard/store/discrepancies/999999")
    unknown_post = client.post(
        "/dashboard/store/discrepancies/999999", data={"csrf_token": token, "note": "x"}
    )
    huge = client.get("/dashboard/store/discrepancies/99999999999999999999")
    forged = client.post(f"/dashboard/store/discrepancies/{kettle}", data={"note": "x"})

    assert (unknown.status_code, unknown_post.status_code, huge.status_code) == (404, 404, 404)
    assert "Écart introuvable" in unknown.get_data(as_text=True)
    assert forged.status_code == 400
    assert api_view(client, keys, kettle)["status"] == "open"


def test_pages_need_an_owner_login(client: FlaskClient, kettle: int) -> None:
    for path in ("/dashboard/store/discrepancies", f"/dashboard/store/discrepancies/{kettle}"):
        assert client.get(path).status_code == 302
