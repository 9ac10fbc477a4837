"""API keys from the owner's pages: list, create (secret shown once), revoke with confirmation."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.keys import service as keys_service
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.dashboard import form_token, login, plain


def key_id(app: Flask, name: str) -> int:
    session = db.new_session(app)
    with db.read(session):
        found = [k.id for k in keys_service.list_keys(session) if k.name == name]
    session.close()
    assert len(found) == 1, found
    return found[0]


def ping(client: FlaskClient, secret: str) -> int:
    return client.get("/api/v1/ping", headers={"Authorization": f"Bearer {secret}"}).status_code


def test_the_list_shows_every_key_its_role_in_french_and_never_a_secret(
    client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)

    page = plain(client.get("/dashboard/keys").get_data(as_text=True))

    for role in Role:
        assert f"test {role.value}" in page
        assert keys[role] not in page  # only a fingerprint is kept; the prefix is shown
    assert "vendeur" in page and "boutique en ligne" in page
    assert "votre connexion" in page  # the key this page is logged in with
    assert "Nouvelle clé" in page


def test_creating_a_key_shows_its_secret_once_and_the_key_works(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)
    token = form_token(client, "/dashboard/keys")

    response = client.post(
        "/dashboard/keys", data={"csrf_token": token, "name": "Tablette caisse 2", "role": "seller"}
    )

    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    page = plain(response.get_data(as_text=True))
    assert "Clé « Tablette caisse 2 » créée" in page and "Rôle : vendeur." in page
    [secret] = re.findall(r'<code id="secret">(cpt_[^<]+)</code>', page)
    assert ping(client, secret) == 200
    holds = client.get("/api/v1/reservations", headers={"Authorization": f"Bearer {secret}"})
    assert holds.status_code == 200  # a seller's key: it may hold units
    assert secret not in client.get("/dashboard/keys").get_data(as_text=True)
    assert key_id(app, "Tablette caisse 2")


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"name": "", "role": "seller"}, "name", "Remplissez ce champ."),
        ({"name": "x" * 121, "role": "seller"}, "name", "120 caractères au plus (ici 121)."),
        ({"name": "Caisse\x00", "role": "seller"}, "name", "ne peuvent pas être enregistrés"),
        ({"name": "Caisse", "role": "superuser"}, "role", "Choisissez l'une des valeurs"),
        ({"name": "Caisse"}, "role", "Choisissez l'une des valeurs"),
        # An owner cannot make itself an administrator's key.
        ({"name": "Moi admin", "role": "admin"}, "role", "Choisissez l'une des valeurs"),
    ],
)
def test_a_bad_form_creates_nothing_and_says_why_in_french(
    app: Flask, client: FlaskClient, keys: Keys, form: dict[str, str], field: str, message: str
) -> None:
    login(client, keys)
    token = form_token(client, "/dashboard/keys")

    response = client.post("/dashboard/keys", data={"csrf_token": token, **form})

    assert response.status_code == 422
    assert message in plain(response.get_data(as_text=True))
    session = db.new_session(app)
    with db.read(session):
        assert len(keys_service.list_keys(session)) == len(Role)  # the test's keys only
    session.close()


def test_an_admin_may_create_an_admin_key(client: FlaskClient, keys: Keys) -> None:
    login(client, keys, Role.ADMIN)
    token = form_token(client, "/dashboard/keys")

    response = client.post(
        "/dashboard/keys", data={"csrf_token": token, "name": "Second admin", "role": "admin"}
    )

    assert response.status_code == 201


def test_revoking_asks_first_then_the_key_is_refused_everywhere(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)
    seller = key_id(app, "test seller")
    token = form_token(client, "/dashboard/keys")

    confirm = plain(client.get(f"/dashboard/keys/{seller}/revoke").get_data(as_text=True))
    still = ping(client, keys[Role.SELLER])
    response = client.post(f"/dashboard/keys/{seller}/revoke", data={"csrf_token": token})
    again = client.post(f"/dashboard/keys/{seller}/revoke", data={"csrf_token": token})

    assert "Révoquer la clé « test seller » ?" in confirm
    assert "refusé immédiatement et définitivement" in confirm
    assert still == 200  # nothing changes until the owner confirms
    assert response.status_code == 303 and response.headers["Location"] == "/dashboard/keys"
    assert ping(client, keys[Role.SELLER]) == 401
    assert "était déjà révoquée" in plain(client.get("/dashboard/keys").get_data(as_text=True))
    assert again.status_code == 303
    listing = plain(client.get("/dashboard/keys").get_data(as_text=True))
    assert "révoquée le" in listing


def test_revoking_the_key_you_are_logged_in_with_logs_you_out(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)
    mine = key_id(app, "test owner")
    token = form_token(client, "/dashboard/keys")

    confirm = plain(client.get(f"/dashboard/keys/{mine}/revoke").get_data(as_text=True))
    response = client.post(f"/dashboard/keys/{mine}/revoke", data={"csrf_token": token})

    assert "vous serez déconnecté" in confirm
    assert response.headers["Location"] == "/dashboard/login"
    assert "Votre clé « test owner » est révoquée" in plain(
        client.get("/dashboard/login").get_data(as_text=True)
    )
    assert client.get("/dashboard/keys").status_code == 302


def test_an_owner_cannot_revoke_an_administrators_key(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)
    admin = key_id(app, "test admin")
    token = form_token(client, "/dashboard/keys")

    page = client.get("/dashboard/keys").get_data(as_text=True)
    confirm = client.get(f"/dashboard/keys/{admin}/revoke")
    response = client.post(f"/dashboard/keys/{admin}/revoke", data={"csrf_token": token})

    assert f"/dashboard/keys/{admin}/revoke" not in page
    assert (confirm.status_code, response.status_code) == (403, 403)
    assert "Seul un administrateur" in plain(response.get_data(as_text=True))
    assert ping(client, keys[Role.ADMIN]) == 200


def test_unknown_keys_and_forged_forms_change_nothing(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    login(client, keys)
    seller = key_id(app, "test seller")
    token = form_token(client, "/dashboard/keys")

    unknown = client.get("/dashboard/keys/999999/revoke")
    unknown_post = client.post("/dashboard/keys/999999/revoke", data={"csrf_token": token})
    forged = client.post(f"/dashboard/keys/{seller}/revoke", data={})
    forged_create = client.post("/dashboard/keys", data={"name": "x", "role": "seller"})

    assert (unknown.status_code, unknown_post.status_code) == (404, 404)
    assert "Clé introuvable" in unknown.get_data(as_text=True)
    assert (forged.status_code, forged_create.status_code) == (400, 400)
    assert ping(client, keys[Role.SELLER]) == 200


def test_the_pages_need_an_owner_login(client: FlaskClient) -> None:
    assert client.get("/dashboard/keys").status_code == 302
    assert client.get("/dashboard/keys/1/revoke").status_code == 302
