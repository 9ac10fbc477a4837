"""Bridge settings from the environment, like the API (``COMPTOIR_*``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from store_api import config

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MQTT_URL = "mqtt://bridge:bridge-demo@127.0.0.1:1883"


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


def load(environ: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    database_url = env.get("COMPTOIR_DATABASE_URL") or config.default_sqlite_url(ROOT / "instance")
    url = urlsplit(env.get("COMPTOIR_MQTT_URL") or DEFAULT_MQTT_URL)
    if url.scheme != "mqtt":
        raise ValueError("COMPTOIR_MQTT_URL must look like mqtt://user:password@host:port")
    store = env.get("COMPTOIR_STORE_ID") or "store-1"
    return Settings(
        database_url=database_url,
        host=url.hostname or "127.0.0.1",
        port=url.port or 1883,
        username=unquote(url.username) if url.username else None,
        password=unquote(url.password) if url.password else None,
        store_id=store,
        client_id=env.get("COMPTOIR_MQTT_CLIENT_ID") or f"comptoir-bridge-{store}",
        receive_maximum=int(env.get("COMPTOIR_MQTT_RECEIVE_MAXIMUM") or 4000),
        batch_size=int(env.get("COMPTOIR_MQTT_BATCH_SIZE") or 500),
        batch_seconds=float(env.get("COMPTOIR_MQTT_BATCH_SECONDS") or 0.2),
        auto_register=(env.get("COMPTOIR_SENSORS_AUTO_REGISTER") or "1").lower()
        in {"1", "true", "yes", "on"},
        timer_seconds=float(env.get("COMPTOIR_BRIDGE_TIMER_SECONDS") or 1.0),
    )
