"""The production set-up on one machine (docs/production.md), as far as CI can run it.

- config/systemd: a unit for every process of the Procfile but the demo's simulator, running
  the Procfile's own command as the comptoir user with the same hardening; `systemd-analyze
  verify` finds nothing to say about them and `systemd-analyze security` scores them "OK".
- config/nginx/comptoir-tls.conf: `nginx -t` accepts it, it keeps the proxy settings of
  comptoir.conf, and the API, the owner's login and the certificate challenge are reached
  through it (nginx unprivileged on free ports, a certificate made here).
- gunicorn's control socket is per instance folder: two instances on one host each answer
  on their own, and ~/.gunicorn is never used.
- The broker's log is written as it happens, not at shutdown.
- scripts/comptoir runs operator commands with the services' settings.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask

from store_api.keys.models import Role
from tests.conftest import Keys
from tests.servers import (
    NGINX,
    ROOT,
    free_port,
    nginx_main_conf,
    serve_nginx,
    start_gunicorn,
    stop_gunicorn,
    stop_nginx,
)

SYSTEMD = ROOT / "config" / "systemd"
TLS_CONF = ROOT / "config" / "nginx" / "comptoir-tls.conf"
PLAIN_CONF = ROOT / "config" / "nginx" / "comptoir.conf"
INSTALL_DIR = "/srv/comptoir"
ENV_FILE = "/etc/comptoir/comptoir.env"
DEMO_ONLY = {"simulator"}
# Units that are not Procfile processes: the migrations before them, the nightly backup.
NOT_IN_PROCFILE = {"comptoir-migrate.service", "comptoir-backup.service"}
BIN = Path(sys.executable).parent
SYSTEMD_ANALYZE = shutil.which("systemd-analyze") or "/usr/bin/systemd-analyze"
REQUIRED_HARDENING = {
    "User": "comptoir",
    "Group": "comptoir",
    "EnvironmentFile": ENV_FILE,
    "StateDirectory": "comptoir",
    "UMask": "0077",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "NoNewPrivileges": "yes",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "SystemCallFilter": "@system-service",
}


def procfile() -> dict[str, str]:
    processes = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name.strip()] = command.strip()
    return processes


def unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """Section -> key -> values (a key may repeat), comments left out."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
            continue
        key, _, value = line.partition("=")
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def services() -> list[Path]:
    return sorted(SYSTEMD.glob("comptoir-*.service"))


def as_procfile_command(exec_start: str) -> list[str]:
    """The unit's command as the Procfile writes it: the checkout's paths made relative."""
    command = exec_start.replace(f"{INSTALL_DIR}/.venv/bin/", "").replace(f"{INSTALL_DIR}/", "")
    return shlex.split(command)


# --- systemd --------------------------------------------------------------------------------


def test_every_procfile_process_but_the_demos_has_a_unit_running_its_command() -> None:
    for name, command in procfile().items():
        unit = SYSTEMD / f"comptoir-{name}.service"
        if name in DEMO_ONLY:
            assert not unit.exists()
            continue
        assert unit.exists(), f"the Procfile's {name} has no unit: add {unit.name}"
        service = unit_settings(unit)["Service"]
        # systemd has no ${VAR:-default}: the unit sets the default with Environment=.
        defaults = dict(re.findall(r"\$\{(\w+):-([^}]*)\}", command))
        expected = re.sub(r"\$\{(\w+):-[^}]*\}", r"${\1}", command)
        assert as_procfile_command(service["ExecStart"][0]) == shlex.split(expected), unit.name
        for variable, default in defaults.items():
            assert f"{variable}={default}" in service.get("Environment", []), unit.name


def test_the_target_starts_every_service_and_every_service_belongs_to_it() -> None:
    target = unit_settings(SYSTEMD / "comptoir.target")["Unit"]
    wanted = {name for line in target["Wants"] for name in line.split()}

    assert wanted == {unit.name for unit in services()} - {"comptoir-backup.service"}
    for unit in services():
        settings = unit_settings(unit)
        if unit.name == "comptoir-backup.service":
            continue
        assert settings["Unit"]["PartOf"] == ["comptoir.target"], unit.name
        assert settings["Install"]["WantedBy"] == ["comptoir.target"], unit.name
        if unit.name != "comptoir-migrate.service":
            # Never on a schema older than the code: the migrations run first.
            assert "comptoir-migrate.service" in settings["Unit"]["Requires"], unit.name
            assert "comptoir-migrate.service" in settings["Unit"]["After"][0].split(), unit.name
    names = {f"comptoir-{name}.service" for name in procfile()} - {
        f"comptoir-{name}.service" for name in DEMO_ONLY
    }
    assert {unit.name for unit in services()} == names | NOT_IN_PROCFILE


def hardening_block(unit: Path) -> str:
    text = unit.read_text()
    end = "SystemCallErrorNumber=EPERM\n"
    return text[text.index("# --- who it runs as") : text.index(end) + len(end)]


def test_every_service_runs_as_comptoir_with_the_same_hardening() -> None:
    blocks = {unit.name: hardening_block(unit) for unit in services()}
    first = blocks["comptoir-web.service"]
    assert {name for name, block in blocks.items() if block != first} == set()
    for unit in services():
        service = unit_settings(unit)["Service"]
        for key, value in REQUIRED_HARDENING.items():
            assert value in service.get(key, []), f"{unit.name}: {key}={value}"
        assert "COMPTOIR_INSTANCE_PATH=/var/lib/comptoir" in service["Environment"][-1].split()
        assert "PYTHONUNBUFFERED=1" in service["Environment"][-1].split()  # logs appear live


@pytest.fixture
def installed_units(tmp_path: Path) -> Path:
    """The units as installed from this checkout: /srv/comptoir is the checkout here."""
    folder = tmp_path / "units"
    folder.mkdir()
    env_file = tmp_path / "comptoir.env"
    shutil.copy(SYSTEMD / "comptoir.env", env_file)
    for unit in SYSTEMD.glob("comptoir*.*"):
        if unit.suffix in {".service", ".target", ".timer"}:
            text = unit.read_text().replace(ENV_FILE, str(env_file))
            (folder / unit.name).write_text(text.replace(INSTALL_DIR, str(ROOT)))
    return folder


def test_systemd_analyze_verify_finds_nothing_to_say(installed_units: Path) -> None:
    units = sorted(str(path) for path in installed_units.iterdir())

    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", *units],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == ""  # unknown keys are only warned about


def test_systemd_rates_every_service_ok(installed_units: Path) -> None:
    for unit in sorted(installed_units.glob("*.service")):
        # --threshold is ten times the exposure: 2.0 of 10 at most ("OK").
        result = subprocess.run(
            [SYSTEMD_ANALYZE, "security", "--offline=yes", "--threshold=20", str(unit)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:]
        assert re.search(r"Overall exposure level for \S+: [01]\.\d OK", result.stdout)


# --- nginx with TLS -------------------------------------------------------------------------


def statements(text: str) -> list[str]:
    """nginx directives, one per line, without comments or blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return [line for line in lines if line]


def test_the_tls_front_keeps_every_proxy_setting_of_the_plain_front() -> None:
    plain = statements(PLAIN_CONF.read_text())
    start = plain.index("client_header_timeout 10s;")
    proxied = "\n".join(plain[start:])  # to the end of the plain server block
    assert proxied in "\n".join(statements(TLS_CONF.read_text()))
    # ...and what it adds: https only, HSTS, certbot's challenge over http.
    tls = statements(TLS_CONF.read_text())
    for line in (
        "listen 443 ssl http2;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        'add_header Strict-Transport-Security "max-age=63072000" always;',
        "return 301 https://$host$request_uri;",
        "location /.well-known/acme-challenge/ {",
    ):
        assert line in tls


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, valid two days."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    for path in (folder, cert, key):
        path.chmod(0o755 if path.is_dir() else 0o644)  # nginx's workers run as nobody
    return cert, key


def render_tls_site(
    prefix: Path, upstream: str, http_port: int, https_port: int, cert: Path, key: Path
) -> str:
    """The shipped TLS file with the test's addresses, certificate and folders."""
    text = TLS_CONF.read_text()
    replacements = {
        "server 127.0.0.1:8000;": (1, f"server {upstream};"),
        "listen 80;\n    listen [::]:80;": (1, f"listen 127.0.0.1:{http_port};"),
        "listen 443 ssl http2;\n    listen [::]:443 ssl http2;": (
            1,
            f"listen 127.0.0.1:{https_port} ssl http2;",
        ),
        "/etc/letsencrypt/live/comptoir.example.fr/fullchain.pem": (1, str(cert)),
        "/etc/letsencrypt/live/comptoir.example.fr/privkey.pem": (1, str(key)),
        "/var/log/nginx/comptoir.access.log": (2, str(prefix / "access.log")),
        "root /var/www/letsencrypt;": (1, f"root {prefix / 'acme'};"),
    }
    for old, (times, new) in replacements.items():
        assert text.count(old) == times, f"{TLS_CONF.name} no longer has {old!r} {times}x"
        text = text.replace(old, new)
    return text


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "tls"
    folder.mkdir()
    return make_certificate(folder)


def test_nginx_accepts_the_tls_front(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    site = render_tls_site(prefix, "127.0.0.1:9", free_port(), free_port(), *certificate)
    (prefix / "comptoir.conf").write_text(site)
    (prefix / "nginx.conf").write_text(nginx_main_conf(prefix))

    result = subprocess.run(
        [str(NGINX), "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


@pytest.mark.http
def test_the_api_and_the_owners_login_through_nginx_with_tls(
    app: Flask, migrated: str, keys: Keys, tmp_path: Path, certificate: tuple[Path, Path]
) -> None:
    server = start_gunicorn(
        migrated,
        tmp_path / "gunicorn.log",
        env={"COMPTOIR_SESSION_COOKIE_SECURE": "1", "COMPTOIR_ANALYTICS_PROXY_HOPS": "1"},
    )
    http_port, https_port = free_port(), free_port()
    upstream = server.url.removeprefix("http://")
    cert = certificate[0]

    def site(prefix: Path) -> str:
        (prefix / "acme" / ".well-known" / "acme-challenge").mkdir(parents=True)
        (prefix / "acme").chmod(0o755)
        return render_tls_site(prefix, upstream, http_port, https_port, *certificate)

    front = serve_nginx(site, f"https://127.0.0.1:{https_port}", verify=str(cert))
    try:
        owner = {"Authorization": f"Bearer {keys[Role.OWNER]}"}
        ping = requests.get(f"{front.url}/api/v1/ping", headers=owner, verify=str(cert), timeout=30)
        assert ping.status_code == 200
        assert ping.headers["Strict-Transport-Security"] == "max-age=63072000"
        products = requests.get(
            f"{front.url}/api/v1/products", headers=owner, verify=str(cert), timeout=30
        )
        assert products.status_code == 200
        anonymous = requests.get(f"{front.url}/api/v1/ping", verify=str(cert), timeout=30)
        assert anonymous.status_code == 401

        # http:// only redirects, except for certbot's challenge.
        plain = f"http://127.0.0.1:{http_port}"
        moved = requests.get(f"{plain}/api/v1/ping", allow_redirects=False, timeout=30)
        assert moved.status_code == 301
        assert moved.headers["Location"] == "https://127.0.0.1/api/v1/ping"
        token = front.prefix / "acme" / ".well-known" / "acme-challenge" / "abc123"
        token.write_text("abc123.thumbprint")
        token.chmod(0o644)
        challenge = requests.get(f"{plain}/.well-known/acme-challenge/abc123", timeout=30)
        assert (challenge.status_code, challenge.text) == (200, "abc123.thumbprint")

        # The owner logs in over https: the form's Origin matches, the cookie is Secure.
        browser = requests.Session()
        login_page = browser.get(f"{front.url}/dashboard/login", verify=str(cert), timeout=30)
        assert login_page.status_code == 200
        logged_in = browser.post(
            f"{front.url}/dashboard/login",
            data={"key": keys[Role.OWNER]},
            headers={"Origin": front.url},
            allow_redirects=False,
            verify=str(cert),
            timeout=30,
        )
        assert logged_in.status_code == 303, logged_in.text[:500]
        cookie = logged_in.headers["Set-Cookie"]
        assert "comptoir_dashboard=" in cookie and "Secure" in cookie
        home = browser.get(f"{front.url}/dashboard/", verify=str(cert), timeout=30)
        assert home.status_code == 200

        # nginx logged the requests the private way: no client address.
        log = (front.prefix / "access.log").read_text()
        assert '"GET /api/v1/products" 200' in log
        assert "127.0.0.1" not in log
    finally:
        stop_nginx(front)
        stop_gunicorn(server)


# --- gunicorn's control socket --------------------------------------------------------------


def start_instance(
    name: str, migrated: str, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """gunicorn with gunicorn.conf.py, as `make run` and comptoir-web.service start it."""
    instance = tmp_path / name
    log = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),  # where ~/.gunicorn would be
        "COMPTOIR_INSTANCE_PATH": str(instance),
        "COMPTOIR_DATABASE_URL": migrated,
        "COMPTOIR_BIND": f"127.0.0.1:{free_port()}",
        "COMPTOIR_WORKERS": "1",
        "COMPTOIR_THREADS": "12",
    }
    env.pop("COMPTOIR_CONTROL_SOCKET", None)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [BIN / "gunicorn", "--config", "gunicorn.conf.py", "store_api:create_app()"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, instance / "gunicorn.ctl", log


def wait_for_line(log: Path, line: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while line not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def master_pid(socket_path: Path) -> int:
    result = subprocess.run(
        [BIN / "gunicornc", "-s", str(socket_path), "-c", "show stats", "-j"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return int(json.loads(result.stdout)["pid"])


@pytest.fixture
def instances(
    migrated: str, tmp_path: Path
) -> Iterator[list[tuple[subprocess.Popen[bytes], Path, Path]]]:
    started: list[tuple[subprocess.Popen[bytes], Path, Path]] = []
    yield started
    for process, _socket, _log in started:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=60)


@pytest.mark.http
def test_two_instances_on_one_host_each_have_their_own_control_socket(
    app: Flask,
    migrated: str,
    tmp_path: Path,
    instances: list[tuple[subprocess.Popen[bytes], Path, Path]],
) -> None:
    for name in ("demo", "shop"):
        instances.append(start_instance(name, migrated, tmp_path))
    for process, socket_path, log in instances:
        wait_for_line(log, f"Control socket listening at {socket_path}", process)
    (demo, demo_socket, _), (shop, shop_socket, _) = instances

    assert master_pid(demo_socket) == demo.pid
    assert master_pid(shop_socket) == shop.pid
    assert not (tmp_path / "home" / ".gunicorn").exists()

    shop.send_signal(signal.SIGTERM)
    assert shop.wait(timeout=60) == 0
    assert not shop_socket.exists()  # removed by its own instance...
    assert master_pid(demo_socket) == demo.pid  # ...and the other one's still answers


# --- the broker's log -----------------------------------------------------------------------


@pytest.mark.http
def test_the_brokers_log_is_written_as_it_happens(tmp_path: Path) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    port = free_port()
    log = tmp_path / "broker.log"
    env = {
        **os.environ,
        "COMPTOIR_INSTANCE_PATH": str(tmp_path / "instance"),
        "COMPTOIR_MQTT_PORT": str(port),
        "COMPTOIR_MQTT_URL": f"mqtt://bridge:secret-1@127.0.0.1:{port}",
        "COMPTOIR_MQTT_LABELS_URL": f"mqtt://labels:secret-2@127.0.0.1:{port}",
    }
    with log.open("wb") as out:  # a pipe-like file, as honcho and journald read it
        broker = subprocess.Popen(
            [str(ROOT / "scripts" / "mosquitto-run.sh")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=out,
            start_new_session=True,
        )
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bridge", protocol=mqtt.MQTTv5)
    client.username_pw_set("bridge", "secret-1")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                client.connect("127.0.0.1", port)
                break
            except OSError:
                assert broker.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        client.loop_start()
        # The broker is still running: its log already names the new client.
        wait_for_line(log, "as bridge (p5", broker)
        assert broker.poll() is None
    finally:
        client.loop_stop()
        client.disconnect()
        broker.terminate()
        broker.wait(timeout=60)
    assert (tmp_path / "instance" / "mosquitto" / "passwd").exists()


# --- scripts/comptoir: operator commands with the services' settings ------------------------


def test_operator_commands_run_with_the_services_settings(
    app: Flask, migrated: str, tmp_path: Path
) -> None:
    env_file = tmp_path / "comptoir.env"
    env_file.write_text(
        f'COMPTOIR_DATABASE_URL={migrated}\nCOMPTOIR_MQTT_DEVICES="shelf-1:a tablet-1:b"\n'
    )
    env = {
        **os.environ,
        "COMPTOIR_ENV_FILE": str(env_file),
        "COMPTOIR_USER": subprocess.run(
            ["id", "-un"], capture_output=True, text=True, check=True
        ).stdout.strip(),
        "COMPTOIR_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    env.pop("COMPTOIR_DATABASE_URL", None)
    comptoir = str(ROOT / "scripts" / "comptoir")

    created = subprocess.run(
        [comptoir, "keys", "create", "--role", "owner", "--name", "Owner"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    listed = subprocess.run(
        [comptoir, "keys", "list"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    missing = subprocess.run(
        [comptoir, "keys", "list"],
        env={**env, "COMPTOIR_ENV_FILE": str(tmp_path / "absent.env")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert created.returncode == 0, created.stderr
    assert created.stdout.strip().startswith("cpt_")
    assert listed.returncode == 0, listed.stderr
    assert "owner" in listed.stdout and "Owner" in listed.stdout
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr
