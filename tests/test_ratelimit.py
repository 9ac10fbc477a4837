"""Finding 4 (no rate limit on the anonymous collector) and limits on every key's writes.

With the shipped defaults, the review's flood (four clients sending 500-event batches) stores
what the per-address and per-site limits allow and gets 429 with Retry-After beyond; client
addresses are kept only as keyed hashes; the counters are shared by gunicorn workers.
"""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from limits import parse_many
from sqlalchemy import func, select

from store_api import config, create_app, db
from store_api.clickstream.models import ClickEvent
from store_api.keys import service as keys_service
from store_api.keys.models import Role
from store_api.ratelimit.storage import SQLiteStorage
from tests.conftest import Keys, _empty_all_tables
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.servers import LiveServer, start_gunicorn, stop_gunicorn

COLLECT = "/api/v1/collect"
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0.0.0 Safari/537.36"
DEFAULTS = {name: config.DEFAULTS[name] for name in config.DEFAULTS if name.startswith("RATE")}
_ids = itertools.count()


@pytest.fixture
def settings() -> dict[str, Any]:
    """The limits as shipped (conftest raises them for every other test)."""
    return dict(DEFAULTS)


def _amount(setting: str) -> int:
    """The smallest limit of a setting, e.g. 1000 for '1000 per minute'."""
    return min(item.amount for item in parse_many(config.DEFAULTS[setting]))


def batch(clock: FrozenClock, size: int) -> dict[str, Any]:
    at = int(clock().timestamp() * 1000)
    return {
        "events": [
            {
                "event_id": f"flood-{next(_ids)}",
                "name": "page_view",
                "ts": at,
                "page": "https://shop.example/",
                "params": {},
            }
            for _ in range(size)
        ]
    }


def send(client: FlaskClient, body: Any, address: str) -> Any:
    return client.post(
        COLLECT, json=body, headers={"User-Agent": CHROME}, environ_base={"REMOTE_ADDR": address}
    )


def stored(app: Flask) -> int:
    session = db.new_session(app)
    with db.read(session):
        count = session.scalar(select(func.count()).select_from(ClickEvent)) or 0
    session.close()
    return count


def assert_rate_limited(response: Any) -> dict[str, Any]:
    assert response.status_code == 429, response.get_json()
    body: dict[str, Any] = response.get_json()
    assert body["code"] == "rate_limited"
    assert body["status"] == 429
    wait = body["errors"]["retry_after"]
    assert response.headers["Retry-After"] == str(wait)
    assert 1 <= wait <= 3600
    assert "per" in body["errors"]["limit"]
    return body


# --- the collector ------------------------------------------------------------------------------


def test_one_address_flooding_full_batches_is_stopped_at_its_limit(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    per_address = _amount("RATELIMIT_COLLECT_PER_ADDRESS")

    answers = [
        send(client, batch(clock, 500), "203.0.113.9") for _ in range(per_address // 500 + 2)
    ]

    accepted = [r for r in answers if r.status_code == 200]
    assert len(accepted) == per_address // 500
    for refused in answers[len(accepted) :]:
        assert_rate_limited(refused)
    assert stored(app) == per_address
    # Another visitor is not punished for it.
    assert send(client, batch(clock, 3), "203.0.113.10").status_code == 200


def test_the_reviews_four_clients_cannot_fill_the_database(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    per_site = _amount("RATELIMIT_COLLECT_PER_SITE")
    addresses = [f"198.51.100.{i}" for i in range(40)]  # more than four: the site limit holds

    statuses = [send(client, batch(clock, 500), address).status_code for address in addresses]

    assert statuses.count(200) == per_site // 500
    assert set(statuses) == {200, 429}
    assert stored(app) == per_site  # the review stored 507,500 events in 30 s


def test_a_batch_costs_its_events_not_one_request(
    app: Flask, client: FlaskClient, clock: FrozenClock
) -> None:
    per_address = _amount("RATELIMIT_COLLECT_PER_ADDRESS")

    small = [send(client, batch(clock, 1), "203.0.113.7") for _ in range(per_address)]
    over = send(client, batch(clock, 1), "203.0.113.7")

    assert {r.status_code for r in small} == {200}
    assert_rate_limited(over)


def test_client_addresses_are_counted_as_keyed_hashes_never_kept(
    app: Flask, client: FlaskClient, clock: FrozenClock, tmp_path: Path
) -> None:
    send(client, batch(clock, 2), "203.0.113.77")

    counters = sqlite3.connect(tmp_path / "ratelimit.db")
    keys = [row[0] for row in counters.execute("SELECT key FROM hits")]
    counters.close()

    assert any("addr:" in key for key in keys), keys
    assert not any("203.0.113" in key for key in keys)
    assert not any(b"203.0.113.77" in path.read_bytes() for path in tmp_path.glob("ratelimit*"))


# --- every key's writes -------------------------------------------------------------------------


def test_writes_are_limited_per_key_and_reads_are_not(
    migrated: str, clock: FrozenClock, tmp_path: Path
) -> None:
    app = create_app(
        {"DATABASE_URL": migrated, "CLOCK": clock, "RATELIMIT_WRITES_PER_KEY": "3 per minute"}
    )
    app.instance_path = str(tmp_path)
    _empty_all_tables(app)
    session = db.new_session(app)
    with db.write(session):
        _key, seller = keys_service.create_key(session, name="t1", role=Role.SELLER, now=clock())
        _key, other = keys_service.create_key(session, name="t2", role=Role.SELLER, now=clock())
    session.close()
    add_product(app, "LL-8KG")
    client = app.test_client()

    def adjust(key: str) -> Any:
        return client.post(
            "/api/v1/stock/adjustments",
            json={"sku": "LL-8KG", "location": "floor", "delta": 1, "reason": "delivery"},
            headers={"Authorization": f"Bearer {key}"},
        )

    mine = [adjust(seller) for _ in range(4)]
    reads = [
        client.get("/api/v1/stock/LL-8KG", headers={"Authorization": f"Bearer {seller}"})
        for _ in range(5)
    ]
    theirs = adjust(other)
    stranger = adjust("cpt_not-a-key")

    assert [r.status_code for r in mine] == [201, 201, 201, 429]
    assert_rate_limited(mine[-1])
    assert {r.status_code for r in reads} == {200}
    assert theirs.status_code == 201
    assert stranger.status_code == 401
    assert (
        client.get("/api/v1/stock/LL-8KG", headers={"Authorization": f"Bearer {seller}"}).json[
            "on_hand"
        ]
        == 4
    )
    db.engine_for(app).dispose()


def test_a_bad_limit_setting_stops_the_start() -> None:
    with pytest.raises(ValueError, match="RATELIMIT_WRITES_PER_KEY"):
        create_app({"RATELIMIT_WRITES_PER_KEY": "lots"})


def test_a_broken_counter_store_never_stops_the_shop(
    migrated: str, clock: FrozenClock, tmp_path: Path
) -> None:
    (tmp_path / "store").mkdir()
    app = create_app(
        {
            "DATABASE_URL": migrated,
            "CLOCK": clock,
            "RATELIMIT_STORAGE_URI": f"comptoir-sqlite:///{tmp_path / 'store'}",  # a directory
        }
    )
    app.instance_path = str(tmp_path)

    response = app.test_client().post(COLLECT, json=batch(clock, 1), headers={"User-Agent": CHROME})

    assert response.status_code == 200, response.get_json()
    db.engine_for(app).dispose()


# --- the counter store ----------------------------------------------------------------------------


def test_the_sqlite_store_counts_in_fixed_windows(tmp_path: Path) -> None:
    store = SQLiteStorage(f"comptoir-sqlite:///{tmp_path / 'c.db'}")

    assert [store.incr("k", 60, amount=n) for n in (1, 5, 2)] == [1, 6, 8]
    assert store.get("k") == 8
    assert time.time() < store.get_expiry("k") <= time.time() + 60
    store.clear("k")
    assert store.get("k") == 0
    assert store.incr("gone", 0) == 1  # a window of 0 s is over at once
    assert store.get("gone") == 0
    assert store.incr("gone", 60) == 1  # and the next hit opens a new one
    assert store.check()
    assert (tmp_path / "c.db").stat().st_mode & 0o077 == 0


@pytest.fixture
def limited_server(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_gunicorn(
        migrated,
        tmp_path / "gunicorn.log",
        workers=2,
        threads=2,
        env={"COMPTOIR_RATELIMIT_WRITES_PER_KEY": "10 per minute"},
    )
    yield server
    stop_gunicorn(server)


@pytest.mark.http
def test_two_gunicorn_workers_share_one_count(
    app: Flask, keys: Keys, limited_server: LiveServer
) -> None:
    add_product(app, "LL-8KG")
    statuses = []
    for _ in range(20):
        # A new connection each time: gunicorn hands them to both workers.
        response = requests.post(
            limited_server.url + "/api/v1/stock/adjustments",
            json={"sku": "LL-8KG", "location": "floor", "delta": 1, "reason": "delivery"},
            headers={**keys.headers(Role.SELLER), "Connection": "close"},
            timeout=30,
        )
        statuses.append(response.status_code)

    assert statuses.count(201) == 10, statuses  # per-worker memory would let up to 20 through
    assert statuses.count(429) == 10
