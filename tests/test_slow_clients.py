"""Finding 3 (slow clients): sockets that send half a request and wait must not stop the API.

Behind the shipped front (nginx with config/nginx/comptoir.conf, in front of gunicorn), 50 such
sockets, partial headers and partial /api/v1/collect bodies, leave /healthz answering. Without
the front, gunicorn's worker (store_api.serving) drops each of them at its read deadline and
answers again while they are still connected, where plain gthread stayed frozen.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from store_api.serving import log_safe
from tests.servers import (
    LiveServer,
    NginxFront,
    start_gunicorn,
    start_nginx,
    stop_gunicorn,
    stop_nginx,
)

pytestmark = pytest.mark.http

SLOW_SOCKETS = 50
# One worker, four threads: the review froze such an instance with 20 sockets.
SMALL_SERVER = {"workers": 1, "threads": 4}
READ_SECONDS = 2


@pytest.fixture
def gunicorn(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    server = start_gunicorn(
        migrated,
        tmp_path / "gunicorn.log",
        env={"COMPTOIR_REQUEST_READ_SECONDS": str(READ_SECONDS)},
        **SMALL_SERVER,
    )
    yield server
    stop_gunicorn(server)


@pytest.fixture
def behind(app: Flask, migrated: str, tmp_path: Path) -> Iterator[LiveServer]:
    """gunicorn for nginx to front, with a read deadline too long to help: nginx alone must."""
    server = start_gunicorn(
        migrated,
        tmp_path / "behind.log",
        env={"COMPTOIR_REQUEST_READ_SECONDS": "600"},
        **SMALL_SERVER,
    )
    yield server
    stop_gunicorn(server)


@pytest.fixture
def front(behind: LiveServer) -> Iterator[NginxFront]:
    nginx = start_nginx(behind.url.removeprefix("http://"))
    yield nginx
    stop_nginx(nginx)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@contextlib.contextmanager
def slow_sockets(port: int, count: int = SLOW_SOCKETS) -> Iterator[list[socket.socket]]:
    """Half of them stop in the middle of their headers, half in the middle of a collect body."""
    opened: list[socket.socket] = []
    try:
        for i in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i % 2:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: shop\r\nX-Slow: ")
            else:
                sock.sendall(
                    b"POST /api/v1/collect HTTP/1.1\r\nHost: shop\r\n"
                    b"Content-Type: application/json\r\nContent-Length: 200000\r\n\r\n"
                    b'{"events": [{"event_id": "slow", '
                )
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=10).status_code == 200
    except requests.RequestException:
        return False


def test_fifty_slow_sockets_do_not_stop_healthz_behind_nginx(
    front: NginxFront, behind: LiveServer
) -> None:
    with slow_sockets(front.port) as held:
        answers = [_healthy(front.url) for _ in range(20)]
        still_held = sum(1 for sock in held if sock.fileno() != -1)

    assert answers == [True] * 20, front.log_tail()
    assert still_held == SLOW_SOCKETS
    # nginx forwarded none of the half requests: gunicorn saw only whole ones.
    assert "slow" not in behind.log_tail()


def test_nginx_refuses_what_gunicorn_would_refuse_before_it_gets_there(
    front: NginxFront,
) -> None:
    too_big = requests.post(
        front.url + "/api/v1/collect",
        data=b"x" * (1024 * 1024 + 1),
        headers={"Content-Type": "text/plain"},
        timeout=10,
    )
    forwarded = requests.get(front.url + "/api/v1/ping", timeout=10)

    assert too_big.status_code == 413
    assert forwarded.status_code == 401  # a real answer of the API, through the proxy
    assert forwarded.json()["code"] == "unauthorized"


def _closed_by_server(sock: socket.socket) -> bool:
    """True once the server has dropped the connection (EOF, a 408 then EOF, or a reset)."""
    sock.settimeout(READ_SECONDS * 10)
    try:
        while chunk := sock.recv(4096):
            if b" 408 " in chunk[:16] or b"HTTP/1.1 4" in chunk[:12]:
                continue
        return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_without_nginx_gunicorn_drops_slow_sockets_at_its_read_deadline(
    gunicorn: LiveServer,
) -> None:
    with slow_sockets(_port(gunicorn.url), count=20) as held:
        dropped = [_closed_by_server(sock) for sock in held]
        # The attackers' ends are still open: the API answers anyway.
        answers = [_healthy(gunicorn.url) for _ in range(5)]

    assert dropped == [True] * 20, gunicorn.log_tail()
    assert answers == [True] * 5


def test_a_body_cut_by_the_deadline_gets_408_not_a_crash(gunicorn: LiveServer) -> None:
    with socket.create_connection(("127.0.0.1", _port(gunicorn.url)), timeout=30) as sock:
        sock.sendall(
            b"POST /api/v1/collect HTTP/1.1\r\nHost: shop\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n" + b'{"events": ['
        )
        answer = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(4096):
                answer += chunk

    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"code":"request_timeout"' in answer.replace(b" ", b"")
    assert "Traceback" not in gunicorn.log_tail()


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("/api/v1/x\nfake 200 line", "/api/v1/x\\x0afake 200 line"),
        ("/a\r\nb", "/a\\x0d\\x0ab"),
        ("/a\x1b[31mred", "/a\\x1b[31mred"),
        ("/a\\x0afake", "/a\\\\x0afake"),  # a literal backslash cannot fake an escape
        ("/a\u2028b", "/a\\u2028b"),
        ("/café", "/café"),
    ],
)
def test_log_fields_are_escaped(raw: str, shown: str) -> None:
    assert log_safe(raw) == shown


def test_a_path_with_encoded_newlines_cannot_forge_access_log_lines(
    app: Flask, migrated: str, tmp_path: Path
) -> None:
    log = tmp_path / "access.log"
    server = start_gunicorn(
        migrated, tmp_path / "gunicorn.log", env={"COMPTOIR_ACCESS_LOG": str(log)}
    )
    try:
        for path in (
            "/api/v1/ping%0A127.0.0.1%20-%20-%20%22GET%20/admin%22%20200",
            "/api/v1/ping%0D%0Aforged",
            "/healthz",  # the end marker: once it is logged, the lines above are too
        ):
            requests.get(server.url + path, timeout=10)
    finally:
        stop_gunicorn(server)

    lines = log.read_text().splitlines()[-3:]  # before them: start_gunicorn's readiness probe
    assert [line[line.index('"') + 1 : line.rindex('" ')] for line in lines] == [
        'GET /api/v1/ping\\x0a127.0.0.1 - - \\"GET /admin\\" 200',
        "GET /api/v1/ping\\x0d\\x0aforged",
        "GET /healthz",
    ]
    assert all(line.startswith("[") for line in log.read_text().splitlines())
