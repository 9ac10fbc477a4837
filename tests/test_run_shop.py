"""`make run` and `make run-shop` on a real shop's database (issue 16).

The demo's `make run` used to stop after two seconds on a shop whose catalogue was imported
with `flask catalog import`: the simulator refused it and exited 2, and honcho takes every other
process down with the first that exits. Here a real catalogue is imported with the real CLI,
then `make run` (and `make run-shop`) start every process of the Procfile through honcho, on
free ports and a private instance folder. Each process must print the line that says it is
ready (the API also answers), none may stop before honcho is asked to stop them all, and the
simulator must say once why it stands aside and go on idling.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select

from store_api import db
from store_api.catalog.models import Product
from store_api.keys.models import ApiKey
from store_api.sensors.models import SensorEvent
from store_api.stock.models import Reservation
from tests.servers import ROOT, free_port

# What each process of the Procfile prints once it is serving. A process added to the Procfile
# needs its line here (the test says so), so that it is checked on a real shop too.
READY = {
    "web": r"Booting worker with pid",
    "sweeper": r"Releasing expired reservations every \d+ s",
    "webhooks": r"Webhook worker \S+ started",
    # The broker's own log, live: the bridge's login as the broker saw it.
    "broker": r"New client connected from \S+ as bridge ",
    "bridge": r"connected \(session present",
    "labels": r"connected: publishing the labels' states",
    "simulator": r"this looks like a real shop.* The simulator stands aside",
    "analytics": r"Folding new webshop events into the reports every \d+ s",
    "feeds": r"Looking for supplier files in \S+ every \d+ s",
    "reminders": r"Reminder worker \S+ started",
}
DEMO_ONLY = {"simulator"}
REAL_CATALOGUE = (
    "sku,name,description,brand,category,colour,price,image_url,attributes,active,"
    "stock_floor,stock_backroom,stock_warehouse\n"
    "RS-CAFE-001,Cafetière italienne 6 tasses,Aluminium,Bialetti,Petit électroménager,Argent,"
    "39.90,,{},true,2,3,0\n"
    "RS-GRILLE-002,Grille-pain 2 fentes,Inox,Krups,Petit électroménager,Inox,49.00,,{},true,"
    "1,0,4\n"
)
# honcho: "18:56:47 web.1       | text" and "18:56:47 system      | web.1 stopped (rc=0)".
LINE = re.compile(r"^\d\d:\d\d:\d\d (?P<name>\S+?)(?:\.\d+)?\s+\| (?P<text>.*)$")
STARTUP_SECONDS = 240


def procfile_processes() -> list[str]:
    names = []
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            names.append(line.split(":", 1)[0].strip())
    return names


def honcho_lines(log: Path) -> list[tuple[str, str]]:
    lines = []
    for raw in log.read_text(errors="replace").splitlines():
        match = LINE.match(raw)
        if match:
            lines.append((match["name"], match["text"]))
    return lines


def stopped(lines: list[tuple[str, str]]) -> list[str]:
    return [text for name, text in lines if name == "system" and " stopped (rc=" in text]


def not_ready(lines: list[tuple[str, str]], names: list[str]) -> list[str]:
    return [
        name
        for name in names
        if not any(who == name and re.search(READY[name], text) for who, text in lines)
    ]


def honcho_pid(make: subprocess.Popen[bytes]) -> int:
    """honcho, the child of make that runs the recipe (make never forwards SIGTERM)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == make.pid and b"honcho" in command:
            return int(entry.name)
    raise AssertionError("honcho is not running under make")


def import_real_catalogue(env: dict[str, str], tmp_path: Path) -> None:
    catalogue = tmp_path / "real-catalogue.csv"
    catalogue.write_text(REAL_CATALOGUE, encoding="utf-8")
    flask = str(Path(sys.executable).parent / "flask")
    result = subprocess.run(
        [flask, "--app", "store_api", "catalog", "import", str(catalogue)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "2 created" in result.stdout


def shop_env(migrated: str, tmp_path: Path) -> dict[str, str]:
    """Everything of the started shop in tmp_path and on free ports, never the checkout's
    instance folder, its .env or a port another run uses."""
    mqtt = free_port()
    return {
        **os.environ,
        "COMPTOIR_DATABASE_URL": migrated,
        "COMPTOIR_INSTANCE_PATH": str(tmp_path / "instance"),
        "COMPTOIR_BIND": f"127.0.0.1:{free_port()}",
        "COMPTOIR_MQTT_PORT": str(mqtt),
        "COMPTOIR_MQTT_URL": f"mqtt://bridge:bridge-demo@127.0.0.1:{mqtt}",
        "COMPTOIR_MQTT_LABELS_URL": f"mqtt://labels:labels-demo@127.0.0.1:{mqtt}",
        "ENV_FILE": "/dev/null",
    }


def count(app: Flask, model: type) -> int:
    with db.engine_for(app).connect() as connection:
        return int(connection.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize("target", ["run", "run-shop"])
def test_make_run_on_a_real_shop_keeps_every_process_running(
    app: Flask, migrated: str, tmp_path: Path, target: str
) -> None:
    env = shop_env(migrated, tmp_path)
    import_real_catalogue(env, tmp_path)
    names = procfile_processes()
    unknown = sorted(set(names) - set(READY))
    assert not unknown, f"add the ready line of {unknown} to READY in {__file__}"
    expected = names if target == "run" else [n for n in names if n not in DEMO_ONLY]
    log = tmp_path / "make.log"

    with log.open("wb") as out:
        # The venv is installed: -o keeps make from checking the install (and the lock).
        make = subprocess.Popen(
            ["make", "--no-print-directory", "-o", ".venv/.installed", target],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            lines = honcho_lines(log)
            assert not stopped(lines), log.read_text()[-6000:]
            assert make.poll() is None, log.read_text()[-6000:]
            if not not_ready(lines, expected):
                break
            assert time.monotonic() < deadline, (
                f"not ready after {STARTUP_SECONDS} s: {not_ready(lines, expected)}\n"
                + log.read_text()[-6000:]
            )
            time.sleep(0.5)
        health = requests.get(f"http://{env['COMPTOIR_BIND']}/healthz", timeout=10)
        assert health.status_code == 200

        os.kill(honcho_pid(make), signal.SIGTERM)
        make.wait(timeout=120)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()

    text = log.read_text()
    lines = honcho_lines(log)
    received = [i for i, (name, line) in enumerate(lines) if line == "SIGTERM received"]
    assert received, text[-6000:]
    # Nothing stopped on its own: every stop came after honcho was asked to stop them all.
    first_stop = min(i for i, (n, line) in enumerate(lines) if " stopped (rc=" in line)
    assert first_stop > received[0], text[-6000:]
    assert sorted(line.split(".", 1)[0] for line in stopped(lines)) == sorted(expected)
    started = {name for name, _ in lines if name != "system"}
    assert ("simulator" in started) is (target == "run")
    if target == "run":
        simulator = [line for name, line in lines if name == "simulator"]
        assert sum("stands aside" in line for line in simulator) == 1  # said once
        assert simulator[-1] == "simulator stopped (it was standing aside)"
    # Nothing of the demo reached the real shop: no made-up products, sales, sensor events or
    # demo keys, and the secret key and broker data are in the instance folder given.
    assert count(app, Product) == 2
    assert count(app, Reservation) == 0
    assert count(app, SensorEvent) == 0
    assert count(app, ApiKey) == 0
    if target == "run":
        assert "no demo keys made" in text
    else:
        assert "keys demo" not in text and "seed --no-keys" not in text
    assert (tmp_path / "instance" / "mosquitto" / "passwd").exists()
