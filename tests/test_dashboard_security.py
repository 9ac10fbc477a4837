"""The dashboard cookie dies at logout (server-side logins), and no other site may post the
login form (a foreign Origin is refused)."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from store_api import db
from store_api.dashboard.models import DashboardSession
from store_api.keys.models import Role
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.test_dashboard import form_token, login

COOKIE = "comptoir_dashboard"


def cookie_value(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE, path="/dashboard")
    assert cookie is not None
    return cookie.value


def logins(app: Flask) -> int:
    session = db.new_session(app)
    with db.read(session):
        count = session.scalar(select(func.count()).select_from(DashboardSession)) or 0
    session.close()
    return count


def test_a_cookie_copied_before_logout_is_worthless_after_it(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    login(client, keys[Role.OWNER])
    stolen = cookie_value(client)
    assert client.get("/dashboard/").status_code == 200

    client.post("/dashboard/logout", data={"csrf_token": form_token(client)})
    client.set_cookie(COOKIE, stolen, path="/dashboard")
    replayed = client.get("/dashboard/")

    assert replayed.status_code == 302
    assert "/dashboard/login" in replayed.headers["Location"]
    assert logins(app) == 0


def test_each_login_is_its_own_and_logging_out_one_keeps_the_other(app: Flask, keys: Keys) -> None:
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, keys[Role.OWNER])
    login(phone, keys[Role.OWNER])

    laptop.post("/dashboard/logout", data={"csrf_token": form_token(laptop)})

    assert laptop.get("/dashboard/").status_code == 302
    assert phone.get("/dashboard/").status_code == 200
    assert logins(app) == 1


def test_expired_logins_are_refused_and_swept(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    login(client, keys[Role.OWNER])
    clock.advance(hours=13)

    assert client.get("/dashboard/").status_code == 302
    login(app.test_client(), keys[Role.OWNER])  # a new login sweeps the expired one
    assert logins(app) == 1


@pytest.mark.parametrize(
    "origin", ["https://evil.example", "http://localhost.evil.example", "null"]
)
def test_the_login_form_refuses_a_foreign_origin(
    app: Flask, client: FlaskClient, keys: Keys, origin: str
) -> None:
    response = client.post(
        "/dashboard/login", data={"key": keys[Role.OWNER]}, headers={"Origin": origin}
    )

    assert response.status_code == 403
    assert client.get_cookie(COOKIE, path="/dashboard") is None
    assert logins(app) == 0
    assert client.get("/dashboard/").status_code == 302


def test_the_login_form_works_from_the_back_office_itself(client: FlaskClient, keys: Keys) -> None:
    response = client.post(
        "/dashboard/login", data={"key": keys[Role.OWNER]}, headers={"Origin": "http://localhost"}
    )

    assert response.status_code == 303
    assert client.get("/dashboard/").status_code == 200


def test_a_foreign_origin_cannot_log_the_owner_out(client: FlaskClient, keys: Keys) -> None:
    login(client, keys[Role.OWNER])

    response = client.post(
        "/dashboard/logout",
        data={"csrf_token": form_token(client)},
        headers={"Origin": "https://evil.example"},
    )

    assert response.status_code == 403
    assert client.get("/dashboard/").status_code == 200
