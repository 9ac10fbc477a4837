"""Finding 2 (webhook SSRF): deliveries only reach public addresses, unless the owner lists a
network; the delivery log keeps a status code or a short reason, never what the receiver said.

Real receivers listen on 127.0.0.1, which only ``WEBHOOK_ALLOWED_NETWORKS`` lets through. DNS
is stood in for by a resolver function (the worker's ``resolve``), so no test leaves loopback.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from store_api import db
from store_api.instance import secret_key
from store_api.keys.models import Role
from store_api.webhooks import service
from store_api.webhooks.destinations import (
    DestinationPolicy,
    DestinationRefused,
    check_url,
    parse_networks,
    vet,
)
from store_api.webhooks.models import WebhookSubscription
from store_api.webhooks.secret_box import SecretBox
from store_api.webhooks.worker import DeliveryWorker, HttpSender, Totals
from tests.conftest import Keys
from tests.fixtures.clock import FrozenClock
from tests.fixtures.shop import add_product
from tests.fixtures.webhook_receiver import Receiver

API = "/api/v1/webhooks"
LOOPBACK_ONLY = DestinationPolicy(parse_networks(["127.0.0.1/32"]))

# Every way the finding (and the resolver) spells a destination inside the machine or the LAN.
REFUSED_URLS = [
    "http://127.0.0.1:5432/",
    "http://0x7f000001/",
    "http://2130706433/",
    "http://0177.0.0.1/",
    "http://127.1/",
    "http://0x7f.1/",
    "http://127.0.0.1./hook",
    "http://0/",
    "http://0.0.0.0:8000/",
    "http://[::1]/",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:7f00:1]/",
    "http://[::127.0.0.1]/",
    "http://[64:ff9b::7f00:1]/",
    "http://[2002:7f00:1::]/",
    "http://[2001:0:4136:e378:8000:63bf:f5ff:fffe]/",  # Teredo wrapping 10.0.0.1
    "http://169.254.169.254/latest/meta-data/",
    "http://[fe80::1]/",
    "http://10.0.0.5/hook",
    "http://012.0.0.5/hook",  # octal 10.0.0.5
    "http://172.16.0.1/",
    "http://192.168.1.1/",
    "http://[fc00::1]/",
    "http://[fd12:3456::1]/",
    "http://100.64.0.1/",
    "http://192.0.2.1/",
    "http://198.18.0.1/",
    "http://224.0.0.1/",
    "http://[ff02::1]/",
    "http://240.0.0.1/",
    "http://255.255.255.255/",
    "http://localhost:8000/",
    "http://LOCALHOST./",
    "http://admin.localhost/",
    "https://user:password@erp.example/hooks",
]


@pytest.fixture
def settings() -> dict[str, Any]:
    return {"WEBHOOK_POLL_SECONDS": 0.01, "WEBHOOK_TIMEOUT_SECONDS": 1.0}


def subscribe_in_db(app: Flask, url: str, clock: FrozenClock) -> int:
    """A subscription stored before the rule existed (the API refuses these URLs now)."""
    session = db.new_session(app)
    with db.write(session):
        subscription = WebhookSubscription(
            url=url,
            description="",
            event_types=["product.created"],
            secret=service.new_secret(),
            active=True,
            created_at=clock(),
            cursor_seq=0,
        )
        session.add(subscription)
        session.flush()
        sub_id = subscription.id
    session.close()
    return sub_id


def deliver(app: Flask, sender: HttpSender | None = None) -> Totals:
    policy = service.DeliveryPolicy.from_config(app.config)
    worker = DeliveryWorker(
        lambda: db.new_session(app),
        policy,
        app.extensions["comptoir_clock"],
        secret_box=SecretBox(secret_key(app)),
        sender=sender,
    )
    return worker.run(once=True)


def delivery_log(client: FlaskClient, keys: Keys, sub_id: int) -> list[dict[str, Any]]:
    response = client.get(f"{API}/{sub_id}/deliveries", headers=keys.headers(Role.OWNER))
    assert response.status_code == 200, response.json
    items: list[dict[str, Any]] = response.json["items"]
    return items


class Resolver:
    """Stands in for DNS: answers ``addresses`` for every name, counts the questions."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int, **_kwargs: Any) -> list[tuple[Any, ...]]:
        self.calls.append(host)
        addresses = self.answers[min(len(self.calls), len(self.answers)) - 1]
        result = []
        for text in addresses:
            address = ipaddress.ip_address(text)
            if address.version == 4:
                result.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, port)))
            else:
                result.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, port, 0, 0)))
        return result


# --- the rule, unit by unit ----------------------------------------------------------------


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_every_spelling_of_a_non_public_destination_is_refused(url: str) -> None:
    with pytest.raises(DestinationRefused):
        check_url(url, DestinationPolicy())


@pytest.mark.parametrize(
    "url",
    [
        "https://erp.example/hooks",
        "https://hooks.zapier.com/hooks/catch/1/abc",
        "http://93.184.216.34/hook",
        "https://[2001:4860:4860::8888]/hook",
        "http://[::ffff:5db8:d822]/hook",  # 93.184.216.34, IPv4-mapped
        "https://café.example/hook",
    ],
)
def test_public_destinations_and_names_are_accepted_when_subscribing(url: str) -> None:
    check_url(url, DestinationPolicy())  # names are resolved and checked at each delivery


@pytest.mark.parametrize(
    ("networks", "url", "allowed"),
    [
        (["127.0.0.1/32"], "http://127.0.0.1:9000/", True),
        (["127.0.0.1/32"], "http://2130706433:9000/", True),
        (["127.0.0.1/32"], "http://localhost:9000/", True),
        (["127.0.0.1/32"], "http://[::ffff:7f00:1]:9000/", True),
        (["127.0.0.1/32"], "http://127.0.0.2/", False),
        (["192.168.1.0/24"], "http://192.168.1.20/erp", True),
        (["192.168.1.0/24"], "http://192.168.2.20/erp", False),
        (["192.168.1.0/24"], "http://169.254.169.254/", False),
        (["0.0.0.0/0"], "http://0.0.0.0/", False),  # never: no server answers there
        (["0.0.0.0/0"], "http://224.0.0.1/", False),
    ],
)
def test_the_owner_allows_an_on_premises_network_and_only_that(
    networks: list[str], url: str, allowed: bool
) -> None:
    policy = DestinationPolicy(parse_networks(networks))

    if allowed:
        check_url(url, policy)
    else:
        with pytest.raises(DestinationRefused):
            check_url(url, policy)


def test_a_typo_in_the_allowed_networks_stops_the_start() -> None:
    from store_api import create_app

    with pytest.raises(ValueError, match="WEBHOOK_ALLOWED_NETWORKS"):
        create_app({"WEBHOOK_ALLOWED_NETWORKS": ["192.168.1.0/33"]})


def test_every_resolved_address_is_checked_and_one_private_refuses_the_name() -> None:
    resolver = Resolver(["93.184.216.34", "10.0.0.7"])

    with pytest.raises(DestinationRefused) as refused:
        vet("https://shop-erp.example/hook", DestinationPolicy(), resolver)

    assert refused.value.permanent
    assert "10.0.0.7" not in refused.value.reason  # the log never says what the name hides
    assert resolver.calls == ["shop-erp.example"]


# --- through the API -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:5432/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:7f00:1]/",
        "http://012.0.0.5/",
        "http://localhost/",
        "http://[fd12:3456::1]/",
    ],
)
def test_the_api_refuses_a_non_public_url_with_a_422_naming_the_field(
    client: FlaskClient, keys: Keys, url: str
) -> None:
    owner = keys.headers(Role.OWNER)
    created = client.post(API, json={"url": url}, headers=owner)
    existing = client.post(API, json={"url": "https://erp.example/h"}, headers=owner).json
    changed = client.patch(f"{API}/{existing['id']}", json={"url": url}, headers=owner)

    for response in (created, changed):
        assert response.status_code == 422, response.json
        assert response.json["code"] == "validation_error"
        assert set(response.json["errors"]) == {"url"}
        assert "COMPTOIR_WEBHOOK_ALLOWED_NETWORKS" in response.json["errors"]["url"][0]
    listed = client.get(API, headers=owner).json
    assert [s["url"] for s in listed] == ["https://erp.example/h"]


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_no_spelling_gets_through_the_api(client: FlaskClient, keys: Keys, url: str) -> None:
    response = client.post(API, json={"url": url}, headers=keys.headers(Role.OWNER))

    assert response.status_code == 422, response.json
    assert set(response.json["errors"]) == {"url"}


# --- at delivery time ------------------------------------------------------------------------


def test_a_stored_loopback_subscription_is_never_called(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        sub_id = subscribe_in_db(app, f"http://2130706433:{port}/hooks", clock)
        add_product(app, "LL-8KG")

        totals = deliver(app)

    assert receiver.receipts == []
    assert totals.failed == 1
    (item,) = delivery_log(client, keys, sub_id)
    assert item["status"] == "failed"  # a refused destination is not retried
    assert item["last_status_code"] is None
    assert item["last_error"] == "destination not allowed: resolves to a loopback address"
    assert port not in item["last_error"]


def test_dns_rebinding_changes_nothing_the_vetted_address_is_the_one_connected(
    app: Flask, clock: FrozenClock
) -> None:
    with Receiver() as receiver:
        port = int(receiver.url.split(":")[2].split("/")[0])
        subscribe_in_db(app, f"http://hooks.shop.example:{port}/in", clock)
        add_product(app, "LL-8KG")
        # Checked: loopback (allowed here). Any later lookup would say "10.0.0.9".
        resolver = Resolver(["127.0.0.1"], ["10.0.0.9"])

        totals = deliver(app, HttpSender(LOOPBACK_ONLY, resolve=resolver))

    assert totals.delivered == 1
    assert resolver.calls == ["hooks.shop.example"]  # resolved once, connected to that answer
    (receipt,) = receiver.receipts
    assert receipt.headers["host"] == f"hooks.shop.example:{port}"


def test_a_name_resolving_to_a_private_address_is_refused_at_delivery(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock
) -> None:
    sub_id = subscribe_in_db(app, "https://erp.shop.example/hooks", clock)
    add_product(app, "LL-8KG")

    deliver(app, HttpSender(DestinationPolicy(), resolve=Resolver(["192.168.1.1"])))

    (item,) = delivery_log(client, keys, sub_id)
    assert item["status"] == "failed"
    assert item["last_error"] == "destination not allowed: resolves to a private address"
    assert "192.168" not in str(item)


# --- what the delivery log keeps ---------------------------------------------------------------


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        held: list[socket.socket] = []
        done = threading.Event()

        def accept() -> None:
            server.settimeout(0.1)
            while not done.is_set():
                try:
                    held.append(server.accept()[0])
                except OSError:
                    continue

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        yield server.getsockname()[1]
        done.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_log_keeps_status_codes_and_short_reasons_never_the_receivers_words(
    app: Flask, client: FlaskClient, keys: Keys, clock: FrozenClock, silent_port: int
) -> None:
    body = b"Traceback: psycopg.OperationalError at db-internal.lan:5432 password=hunter2"
    closed = _closed_port()
    with Receiver(lambda _m, _n: (500, {}, body)) as receiver:
        talking = subscribe_in_db(app, receiver.url, clock)
        refused = subscribe_in_db(app, f"http://127.0.0.1:{closed}/hook", clock)
        silent = subscribe_in_db(app, f"http://127.0.0.1:{silent_port}/hook", clock)
        add_product(app, "LL-8KG")

        deliver(app, HttpSender(LOOPBACK_ONLY))

    logs = {sub: delivery_log(client, keys, sub)[0] for sub in (talking, refused, silent)}
    assert logs[talking]["last_status_code"] == 500
    assert logs[talking]["last_error"] is None
    assert logs[talking]["attempts"][0]["error"] is None
    assert logs[refused]["last_error"] == "could not connect"
    assert logs[silent]["last_error"] == "no answer in time"
    text = str(logs)
    for leak in ("Traceback", "hunter2", "Errno", "refused", str(closed), str(silent_port)):
        assert leak not in text, leak
