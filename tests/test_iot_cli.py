"""The MQTT entry points answer --help (and refuse bad arguments) before anything connects:
`python -m iot_bridge --help` used to start a real bridge with the default login and client
id, which on a live shop would take over the real bridge's session."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import ROOT

ENTRY_POINTS = ["iot_bridge", "iot_bridge.labels", "iot_bridge.simulate"]


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A port that records whether anything connected to it (standing in for the broker)."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    yield server
    server.close()


def run(
    module: str, args: list[str], port: int, tmp_path: Path, **env: str
) -> subprocess.CompletedProcess[str]:
    url = f"mqtt://bridge:secret@127.0.0.1:{port}"
    environment = {
        **os.environ,
        "COMPTOIR_DATABASE_URL": f"sqlite:///{tmp_path / 'never.db'}",
        "COMPTOIR_MQTT_URL": url,
        "COMPTOIR_MQTT_LABELS_URL": url,
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def connected(server: socket.socket) -> bool:
    try:
        client, _ = server.accept()
    except BlockingIOError:
        return False
    client.close()
    return True


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_help_prints_usage_and_starts_nothing(
    module: str, listener: socket.socket, tmp_path: Path
) -> None:
    result = run(module, ["--help"], listener.getsockname()[1], tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m {module}")
    assert not connected(listener)
    assert not (tmp_path / "never.db").exists()


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_an_unknown_argument_is_refused_and_starts_nothing(
    module: str, listener: socket.socket, tmp_path: Path
) -> None:
    result = run(module, ["--hlep"], listener.getsockname()[1], tmp_path)

    assert result.returncode == 2
    assert "unrecognized arguments: --hlep" in result.stderr
    assert not connected(listener)


def test_the_bridge_help_lists_its_settings_and_exit_codes(
    listener: socket.socket, tmp_path: Path
) -> None:
    result = run("iot_bridge", ["-h"], listener.getsockname()[1], tmp_path)

    for name in ("COMPTOIR_MQTT_URL", "COMPTOIR_BRIDGE_DB_RETRY_SECONDS", "75"):
        assert name in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("COMPTOIR_MQTT_URL", "http://bridge@127.0.0.1:1883"),
        ("COMPTOIR_MQTT_URL", "mqtt://bridge@127.0.0.1:port"),
        ("COMPTOIR_MQTT_BATCH_SIZE", "many"),
        ("COMPTOIR_BRIDGE_DB_RETRY_SECONDS", "-1"),
    ],
)
def test_a_wrong_setting_is_named_and_starts_nothing(
    variable: str, value: str, listener: socket.socket, tmp_path: Path
) -> None:
    result = run("iot_bridge", [], listener.getsockname()[1], tmp_path, **{variable: value})

    assert result.returncode == 2
    assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert not connected(listener)
