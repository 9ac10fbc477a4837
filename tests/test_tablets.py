"""Seller tablets through the API and the CLI: pairing, GET /me, listing and revoking.

The pairing code is a secret for 10 minutes: stored only as a keyed hash, single use, and
guessing is cut off per client address and overall. A revoked tablet's stream ends on its own
(see test_tablet_stream.py, through gunicorn).
"""

from __future__ import annotations

import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from werkzeug.test import TestResponse

from store_api import db
from store_api.keys.models import Role
from store_api.tablets import service
from store_api.tablets.models import PairingAttempt, PairingCode, Tablet
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock

CODES = "/api/v1/tablets/pairing-codes"
PAIR = "/api/v1/tablets/pair"


def new_code(client: FlaskClient, keys: Keys, **body: Any) -> dict[str, Any]:
    response = client.post(CODES, json=body, headers=keys.headers(Role.OWNER))
    assert response.status_code == 201, response.get_json()
    made: dict[str, Any] = response.get_json()
    return made


def pair(client: FlaskClient, code: str, address: str = "192.0.2.10", **extra: Any) -> TestResponse:
    return client.post(PAIR, json={"code": code, **extra}, environ_base={"REMOTE_ADDR": address})


def paired_key(client: FlaskClient, keys: Keys, **body: Any) -> dict[str, Any]:
    answer = pair(client, new_code(client, keys, **body)["code"])
    assert answer.status_code == 201, answer.get_json()
    paired: dict[str, Any] = answer.get_json()
    return paired


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def rows(app: Flask, model: type[Any]) -> list[Any]:
    session = db.new_session(app)
    with db.read(session):
        found = list(session.scalars(select(model)))
    session.close()
    return found


def wrong_code(real: str) -> str:
    return f"{(int(real) + 1) % 1_000_000:06d}"


# --- pairing ------------------------------------------------------------------------------------


def test_the_owner_gets_a_six_digit_code_valid_ten_minutes_with_its_pair_url(
    client: FlaskClient, keys: Keys
) -> None:
    made = new_code(client, keys)

    assert re.fullmatch(r"\d{6}", made["code"])
    assert made["name"] == "Tablette 1"
    assert made["expires_at"] == "2026-11-27T09:40:00+00:00"
    assert made["pair_url"] == f"http://localhost/tablet/#pair={made['code']}"


def test_the_pair_url_uses_the_public_url_when_one_is_set(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    app.config["PUBLIC_URL"] = "https://comptoir.example/"

    made = new_code(client, keys, name="Tablette caisse")

    assert made["pair_url"] == f"https://comptoir.example/tablet/#pair={made['code']}"
    assert made["name"] == "Tablette caisse"


def test_a_tablet_pairs_with_the_code_and_gets_its_own_seller_key(
    client: FlaskClient, keys: Keys
) -> None:
    made = new_code(client, keys, name="Tablette 2")

    answer = pair(client, made["code"], device="Chrome 131, Android 14")

    assert answer.status_code == 201, answer.get_json()
    paired = answer.get_json()
    assert set(paired) == {"tablet_id", "name", "key"}
    assert paired["name"] == "Tablette 2"
    assert paired["key"].startswith("cpt_")
    me = client.get("/api/v1/me", headers=bearer(paired["key"]))
    assert me.get_json() == {
        "name": "Tablette 2",
        "role": "seller",
        "tablet_id": paired["tablet_id"],
    }
    listed = client.get("/api/v1/tablets", headers=keys.headers(Role.OWNER)).get_json()
    assert [(t["id"], t["name"], t["device"], t["revoked_at"]) for t in listed] == [
        (paired["tablet_id"], "Tablette 2", "Chrome 131, Android 14", None)
    ]
    assert paired["key"].startswith(listed[0]["key_prefix"])


def test_a_code_typed_with_spaces_or_a_dash_still_pairs(client: FlaskClient, keys: Keys) -> None:
    code = new_code(client, keys)["code"]

    answer = pair(client, f" {code[:3]} - {code[3:]} ")

    assert answer.status_code == 201, answer.get_json()


def test_a_code_works_once(client: FlaskClient, keys: Keys) -> None:
    code = new_code(client, keys)["code"]
    first = pair(client, code)

    second = pair(client, code)

    assert first.status_code == 201
    assert second.status_code == 404
    assert second.get_json()["code"] == "invalid_pairing_code"
    assert len(client.get("/api/v1/tablets", headers=keys.headers(Role.OWNER)).get_json()) == 1


def test_a_code_expires_after_ten_minutes(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    code = new_code(client, keys)["code"]
    clock.advance(minutes=10)

    answer = pair(client, code)

    assert answer.status_code == 404
    assert answer.get_json()["code"] == "invalid_pairing_code"


def test_a_code_just_before_it_expires_still_pairs(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    code = new_code(client, keys)["code"]
    clock.advance(minutes=9, seconds=59)

    assert pair(client, code).status_code == 201


def test_the_code_is_stored_only_as_a_keyed_hash(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    code = new_code(client, keys)["code"]

    [stored] = rows(app, PairingCode)

    every_value = " ".join(str(v) for v in vars(stored).values())
    assert code not in every_value
    assert stored.code_hash != service.code_hash("", code)  # keyed: not a plain SHA-256
    assert stored.code_hash == service.code_hash(app.config["SECRET_KEY"], code)


def test_two_tablets_racing_for_one_code_pair_once(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    code = new_code(client, keys)["code"]
    start = threading.Barrier(2)

    def attempt(i: int) -> int:
        start.wait()
        return pair(app.test_client(), code, address=f"192.0.2.{i + 1}").status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        statuses = sorted(pool.map(attempt, range(2)))

    assert statuses == [201, 404]
    assert len(rows(app, Tablet)) == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "abc123"}, "code"),
        ({"code": "12345"}, "code"),
        ({"code": "1234567"}, "code"),
        ({"code": "".join(chr(0xFF11 + i) for i in range(6))}, "code"),  # full-width digits
        ({"code": 123456}, "code"),
        ({}, "code"),
        ({"code": "123456", "device": "x" * 256}, "device"),
        ({"code": "123456", "device": "tab\u0007"}, "device"),
        ({"code": "123456", "key": "cpt_x"}, "key"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_a_malformed_pairing_request_is_refused_naming_the_field(
    app: Flask, client: FlaskClient, body: dict[str, Any], field: str
) -> None:
    response = client.post(PAIR, json=body)

    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    assert rows(app, PairingAttempt) == []


def test_pairing_with_a_bad_key_sent_along_is_refused(client: FlaskClient, keys: Keys) -> None:
    code = new_code(client, keys)["code"]

    response = client.post(PAIR, json={"code": code}, headers=bearer("cpt_nonsense"))

    assert response.status_code == 401
    assert pair(client, code).status_code == 201  # the code was not used up


# --- guessing ---------------------------------------------------------------------------------


def test_five_wrong_codes_from_one_address_lock_it_out_even_with_the_right_code(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    code = new_code(client, keys)["code"]
    wrong = [pair(client, wrong_code(code), address="198.51.100.7") for _ in range(5)]
    clock.advance(seconds=30)

    locked = pair(client, code, address="198.51.100.7")
    elsewhere = pair(client, code, address="198.51.100.8")

    assert [w.status_code for w in wrong] == [404] * 5
    assert locked.status_code == 429
    assert locked.get_json()["code"] == "too_many_attempts"
    assert locked.headers["Retry-After"] == "571"  # the first failure leaves the window then
    assert locked.get_json()["errors"]["retry_after"] == 571
    assert elsewhere.status_code == 201


def test_an_address_may_try_again_once_its_failures_leave_the_window(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    for _ in range(5):
        pair(client, "000000", address="198.51.100.7")
    clock.advance(minutes=10, seconds=1)
    code = new_code(client, keys)["code"]

    assert pair(client, code, address="198.51.100.7").status_code == 201


def test_an_ipv6_network_counts_as_one_address(client: FlaskClient, keys: Keys) -> None:
    for host in range(5):
        pair(client, "000000", address=f"2001:db8:1:2::{host + 1}")
    code = new_code(client, keys)["code"]

    same_network = pair(client, code, address="2001:db8:1:2:ffff::9")
    other_network = pair(client, code, address="2001:db8:1:3::1")

    assert same_network.status_code == 429
    assert other_network.status_code == 201


def test_too_many_wrong_codes_overall_stop_pairing_from_anywhere(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    """Many addresses (a botnet, IPv6 ranges) cannot add up to a practical brute force."""
    app.config["PAIRING_ATTEMPTS_OVERALL"] = 8
    code = new_code(client, keys)["code"]
    for i in range(8):
        pair(client, wrong_code(code), address=f"203.0.113.{i + 1}")

    fresh_address = pair(client, code, address="203.0.113.200")

    assert fresh_address.status_code == 429
    assert "shop" in fresh_address.get_json()["message"]


def test_behind_a_proxy_attempts_are_counted_per_forwarded_address(
    app: Flask, client: FlaskClient, keys: Keys
) -> None:
    app.config["ANALYTICS_PROXY_HOPS"] = 1
    for _ in range(5):
        client.post(PAIR, json={"code": "000000"}, headers={"X-Forwarded-For": "203.0.113.9"})
    code = new_code(client, keys)["code"]

    guesser = client.post(PAIR, json={"code": code}, headers={"X-Forwarded-For": "203.0.113.9"})
    shop_tablet = client.post(
        PAIR, json={"code": code}, headers={"X-Forwarded-For": "203.0.113.10"}
    )

    assert guesser.status_code == 429
    assert shop_tablet.status_code == 201


def test_the_sweeper_forgets_failed_attempts_that_no_longer_count(
    app: Flask, client: FlaskClient, clock: FrozenClock, runner: FlaskCliRunner
) -> None:
    pair(client, "000000")
    clock.advance(minutes=11)
    pair(client, "000001")

    result = runner.invoke(args=["reservations", "expire"])

    assert result.exit_code == 0, result.output
    assert [a.at for a in rows(app, PairingAttempt)] == [clock()]


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:0:1:2:3:4:5", "2001:db8:0:1::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("not an address", "not an address"),
        ("", "unknown"),
    ],
)
def test_attempts_are_counted_per_ipv4_address_or_ipv6_network(address: str, bucket: str) -> None:
    assert service.address_bucket(address) == bucket


# --- names ---------------------------------------------------------------------------------------


def test_default_names_take_the_next_free_number(client: FlaskClient, keys: Keys) -> None:
    first = paired_key(client, keys)
    pending = new_code(client, keys)

    third = new_code(client, keys)

    assert first["name"] == "Tablette 1"
    assert pending["name"] == "Tablette 2"
    assert third["name"] == "Tablette 3"


def test_a_name_in_use_is_refused_until_its_tablet_is_revoked(
    client: FlaskClient, keys: Keys
) -> None:
    paired = paired_key(client, keys, name="Comptoir")
    taken = client.post(CODES, json={"name": "Comptoir"}, headers=keys.headers(Role.OWNER))
    client.delete(f"/api/v1/tablets/{paired['tablet_id']}", headers=keys.headers(Role.OWNER))

    reused = client.post(CODES, json={"name": " Comptoir "}, headers=keys.headers(Role.OWNER))

    assert taken.status_code == 409
    assert taken.get_json()["code"] == "tablet_name_taken"
    assert "name" in taken.get_json()["errors"]
    assert reused.status_code == 201
    assert reused.get_json()["name"] == "Comptoir"


@pytest.mark.parametrize("name", ["", "   ", "x" * 61, "Tab\nlette", 42])
def test_a_bad_tablet_name_is_refused(
    app: Flask, client: FlaskClient, keys: Keys, name: Any
) -> None:
    response = client.post(CODES, json={"name": name}, headers=keys.headers(Role.OWNER))

    assert response.status_code == 422
    assert "name" in response.get_json()["errors"]
    assert rows(app, PairingCode) == []


# --- me, list, revoke -------------------------------------------------------------------------


def test_me_names_any_key_and_says_when_it_is_not_a_tablet(client: FlaskClient, keys: Keys) -> None:
    answers = {role: client.get("/api/v1/me", headers=keys.headers(role)) for role in Role}

    assert {role: a.get_json() for role, a in answers.items()} == {
        role: {"name": f"test {role.value}", "role": role.value, "tablet_id": None} for role in Role
    }


def test_me_marks_the_tablet_seen_at_most_once_a_minute(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    paired = paired_key(client, keys)
    paired_at = clock()

    def last_seen() -> str:
        [tablet] = client.get("/api/v1/tablets", headers=keys.headers(Role.OWNER)).get_json()
        seen: str = tablet["last_seen_at"]
        return seen

    clock.advance(seconds=30)
    client.get("/api/v1/me", headers=bearer(paired["key"]))
    after_30_s = last_seen()
    clock.advance(seconds=31)
    client.get("/api/v1/me", headers=bearer(paired["key"]))

    assert after_30_s == paired_at.isoformat()
    assert last_seen() == clock().isoformat()


def test_revoking_a_tablet_logs_it_out_at_once(
    client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    paired = paired_key(client, keys)
    clock.advance(minutes=1)

    revoked = client.delete(
        f"/api/v1/tablets/{paired['tablet_id']}", headers=keys.headers(Role.OWNER)
    )
    again = client.delete(
        f"/api/v1/tablets/{paired['tablet_id']}", headers=keys.headers(Role.OWNER)
    )

    assert revoked.status_code == 200
    assert revoked.get_json()["revoked_at"] == clock().isoformat()
    assert again.get_json()["revoked_at"] == revoked.get_json()["revoked_at"]
    for path in ("/api/v1/me", "/api/v1/reservations", "/api/v1/alerts"):
        assert client.get(path, headers=bearer(paired["key"])).status_code == 401
    listed = client.get("/api/v1/tablets", headers=keys.headers(Role.OWNER)).get_json()
    assert listed[0]["revoked_at"] == clock().isoformat()


@pytest.mark.parametrize("tablet_id", ["999", "0", "99999999999", "abc"])
def test_revoking_an_unknown_tablet_is_a_404(
    client: FlaskClient, keys: Keys, tablet_id: str
) -> None:
    response = client.delete(f"/api/v1/tablets/{tablet_id}", headers=keys.headers(Role.OWNER))

    assert response.status_code == 404
    assert response.get_json()["code"] in ("tablet_not_found", "not_found")


# --- the CLI --------------------------------------------------------------------------------------


def test_the_cli_prints_a_code_and_the_url_to_open_on_the_tablet(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMPTOIR_BIND", "127.0.0.1:8000")

    result = runner.invoke(args=["tablets", "pair-code", "--name", "Tablette démo"])

    assert result.exit_code == 0, result.output
    code = re.search(r": (\d{6}) ", result.output)
    assert code is not None, result.output
    assert "until 10:40" in result.output  # 09:40 UTC in Lyon
    assert f"http://127.0.0.1:8000/tablet/#pair={code[1]}" in result.output
    assert pair(client, code[1]).get_json()["name"] == "Tablette démo"


def test_the_cli_takes_the_public_url_or_an_explicit_one(
    app: Flask, runner: FlaskCliRunner
) -> None:
    app.config["PUBLIC_URL"] = "https://shop.example"
    public = runner.invoke(args=["tablets", "pair-code"])
    explicit = runner.invoke(args=["tablets", "pair-code", "--url", "http://10.0.0.5:8000"])

    assert "https://shop.example/tablet/#pair=" in public.output
    assert "http://10.0.0.5:8000/tablet/#pair=" in explicit.output


def test_the_cli_lists_and_revokes_tablets(
    client: FlaskClient, keys: Keys, runner: FlaskCliRunner
) -> None:
    paired = paired_key(client, keys, name="Rayon froid")

    listed = runner.invoke(args=["tablets", "list"])
    revoked = runner.invoke(args=["tablets", "revoke", str(paired["tablet_id"])])
    after = runner.invoke(args=["tablets", "list"])

    assert "Rayon froid" in listed.output and "active" in listed.output
    assert revoked.exit_code == 0, revoked.output
    assert "revoked" in after.output
    assert client.get("/api/v1/me", headers=bearer(paired["key"])).status_code == 401


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tablets", "revoke", "999"], "No tablet 999"),
        (["tablets", "revoke", "0"], "0"),
        (["tablets", "pair-code", "--name", ""], "--name"),
        (["tablets", "pair-code", "--name", "Tablette 1"], "already called"),
    ],
)
def test_the_cli_explains_what_it_cannot_do(
    runner: FlaskCliRunner, args: list[str], message: str
) -> None:
    runner.invoke(args=["tablets", "pair-code"])  # a pending "Tablette 1"

    result = runner.invoke(args=args)

    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_the_cli_says_when_no_tablet_is_paired(runner: FlaskCliRunner) -> None:
    assert "No tablet paired yet" in runner.invoke(args=["tablets", "list"]).output


def test_a_code_can_be_asked_for_without_any_body(client: FlaskClient, keys: Keys) -> None:
    response = client.post(CODES, headers=keys.headers(Role.OWNER))

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["name"] == "Tablette 1"
