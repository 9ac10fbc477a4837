"""Bridge settings from the environment, like the API (``COMPTOIR_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from store_api import config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MQTT_URL = "mqtt://bridge:bridge-demo@127.0.0.1:1883"
# The shelf-label publisher has its own login: the broker binds a client id to its user, so
# two processes sharing one login would take each other's connection.
DEFAULT_LABELS_MQTT_URL = "mqtt://labels:labels-demo@127.0.0.1:1883"


@dataclass(frozen=True)
class Login:
    """Where a process connects to the broker, and as whom."""

    host: str
    port: int
    username: str | None
    password: str | None


def parse_mqtt_url(text: str, variable: str = "COMPTOIR_MQTT_URL") -> Login:
    url = urlsplit(text)
    try:
        port = url.port or 1883
    except ValueError:
        raise ValueError(f"{variable}: bad port in {text!r}") from None
    if url.scheme != "mqtt":
        raise ValueError(f"{variable} must look like mqtt://user:password@host:port")
    return Login(
        host=url.hostname or "127.0.0.1",
        port=port,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
    )


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> Any:
    text = env.get(name)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"{name} must be a {kind.__name__}, not {text!r}") from None
    if value <= 0:
        raise ValueError(f"{name} must be positive, not {text!r}")
    return value


@dataclass(frozen=True)
class Settings:
    database_url: str
    host: str
    port: int
    username: str | None
    password: str | None
    store_id: str
    client_id: str
    # Messages the broker may have in flight to us at once (MQTT v5 Receive Maximum): room
    # for the batch being collected behind the two the writer has in its pipeline.
    receive_maximum: int = 4000
    batch_size: int = 500
    batch_seconds: float = 0.2
    # The broker keeps our subscriptions and queued messages this long while we are away.
    session_expiry_seconds: int = 7 * 24 * 3600
    auto_register: bool = True
    # How often the bridge escalates forgotten help alerts and compares shelves with stock.
    timer_seconds: float = 1.0
    # How long the bridge keeps retrying an unavailable database before it stops (exit 75).
    db_retry_seconds: float = 300.0
    sqlite_busy_timeout_ms: int = 10_000


def load(environ: Mapping[str, str] | None = None) -> Settings:
    """The bridge's settings; :class:`ValueError` names a variable that is wrong."""
    env = os.environ if environ is None else environ
    database_url = env.get("COMPTOIR_DATABASE_URL") or config.default_sqlite_url(
        config.instance_folder(env)
    )
    login = parse_mqtt_url(env.get("COMPTOIR_MQTT_URL") or DEFAULT_MQTT_URL)
    store = env.get("COMPTOIR_STORE_ID") or "store-1"
    return Settings(
        database_url=database_url,
        host=login.host,
        port=login.port,
        username=login.username,
        password=login.password,
        store_id=store,
        client_id=env.get("COMPTOIR_MQTT_CLIENT_ID") or f"comptoir-bridge-{store}",
        receive_maximum=_number(env, "COMPTOIR_MQTT_RECEIVE_MAXIMUM", 4000, int),
        batch_size=_number(env, "COMPTOIR_MQTT_BATCH_SIZE", 500, int),
        batch_seconds=_number(env, "COMPTOIR_MQTT_BATCH_SECONDS", 0.2),
        auto_register=(env.get("COMPTOIR_SENSORS_AUTO_REGISTER") or "1").lower()
        in {"1", "true", "yes", "on"},
        timer_seconds=_number(env, "COMPTOIR_BRIDGE_TIMER_SECONDS", 1.0),
        db_retry_seconds=_number(env, "COMPTOIR_BRIDGE_DB_RETRY_SECONDS", 300.0),
        sqlite_busy_timeout_ms=_number(env, "COMPTOIR_SQLITE_BUSY_TIMEOUT_MS", 10_000, int),
    )


def labels_login(environ: Mapping[str, str] | None = None) -> Login:
    env = os.environ if environ is None else environ
    return parse_mqtt_url(
        env.get("COMPTOIR_MQTT_LABELS_URL") or DEFAULT_LABELS_MQTT_URL, "COMPTOIR_MQTT_LABELS_URL"
    )
