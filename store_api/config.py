"""Settings: defaults here, overridden by ``COMPTOIR_*`` environment variables.

Every variable is documented in ``.env.example``; nothing secret lives in code.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

PREFIX = "COMPTOIR_"

DEFAULTS: dict[str, Any] = {
    # Empty means "SQLite file in the instance folder", resolved in create_app().
    "DATABASE_URL": "",
    "SQLITE_BUSY_TIMEOUT_MS": 10_000,
    # The store this back office runs (the MQTT bridge's COMPTOIR_STORE_ID; planogram rows).
    "STORE_ID": "store-1",
    # Help alerts: an unacknowledged alert escalates after this many seconds; a seller who
    # acknowledged an alert of a zone counts as nearby (no new alert there) for this long.
    "HELP_ESCALATE_AFTER_SECONDS": 120,
    "HELP_SELLER_NEARBY_SECONDS": 300,
    # How often `python -m iot_bridge.labels` reads the outbox for price and stock changes.
    "LABEL_POLL_SECONDS": 1.0,
    # Shelf vs system (docs/iot.md): per product and window, units that left its lanes versus
    # floor units reserved, sold or written off; a difference above the tolerance is an alert.
    "DISCREPANCY_WINDOW_SECONDS": 7200,
    "DISCREPANCY_TOLERANCE_UNITS": 1,
    # A window is compared this long after it ends (late sensor events, holds at the till).
    "DISCREPANCY_SETTLE_SECONDS": 300,
    # Stock locations, in the order the store channel takes stock from them.
    "STOCK_LOCATIONS": ["floor", "backroom", "warehouse"],
    # The webshop ships from the warehouse first and strips the floor display last.
    "WEB_LOCATION_ORDER": ["warehouse", "backroom", "floor"],
    # Shop time zone: "end of day" for store holds is local time.
    "TIMEZONE": "Europe/Paris",
    # The language of the pages, the tablet and the texts people read ("fr" or "en"); each
    # person may switch with ?lang= (remembered in a cookie). API clients send Accept-Language.
    "DEFAULT_LOCALE": "fr",
    # Store holds last until this local time of the day they are made ("HH:MM").
    "STORE_HOLD_UNTIL": "23:59",
    "WEB_HOLD_SECONDS": 15 * 60,
    "MAX_HOLD_SECONDS": 7 * 24 * 3600,
    # Total available units at or below which a product is "low" (stock.low events), unless
    # the product sets its own low_stock_threshold.
    "LOW_STOCK_THRESHOLD": 2,
    # Seconds between sweeps of expired reservations by `flask reservations expire --every`.
    "EXPIRY_SWEEP_SECONDS": 30,
    # Idempotency-Key answers are kept this long (then the sweeper forgets them).
    "IDEMPOTENCY_RETENTION_SECONDS": 24 * 3600,
    # Tablets (docs/tablet-api.md). The shop's address as tablets reach it, for pairing links
    # ("https://comptoir.example"); empty: the address the owner's request came to, or for the
    # CLI http://COMPTOIR_BIND.
    "PUBLIC_URL": "",
    # Wrong pairing codes allowed per client address (IPv6: per /64) and overall, per window.
    "PAIRING_ATTEMPTS_PER_ADDRESS": 5,
    "PAIRING_ATTEMPTS_OVERALL": 50,
    "PAIRING_WINDOW_SECONDS": 600,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Supplier feeds (docs/suppliers.md): the largest file accepted (upload or inbox), where
    # `flask feeds pull` looks for files (one folder per supplier code; empty means
    # <instance>/inbox), and the webshop's product page address for the Merchant Center feed
    # and the JSON-LD ({sku} is replaced).
    "FEEDS_MAX_BYTES": 20 * 1000 * 1000,
    "FEEDS_INBOX_DIR": "",
    "FEEDS_PULL_SECONDS": 60,
    "WEBSHOP_PRODUCT_URL": "https://shop.example/p/{sku}",
    "WEBSHOP_NAME": "Comptoir",
    # API searches are counted in memory and written for the Site search report this often.
    "SEARCH_STATS_FLUSH_SECONDS": 5.0,
    # Webhook delivery (flask webhooks deliver).
    "WEBHOOK_RETRY_BASE_SECONDS": 5.0,
    "WEBHOOK_RETRY_MAX_SECONDS": 3600.0,
    "WEBHOOK_TIMEOUT_SECONDS": 10.0,
    # A subscription failing without a single success for this long is disabled.
    "WEBHOOK_DISABLE_AFTER_SECONDS": 3 * 24 * 3600,
    # A claimed delivery is another worker's again after this (the first one died).
    "WEBHOOK_LEASE_SECONDS": 60,
    "WEBHOOK_CONCURRENCY": 8,
    "WEBHOOK_POLL_SECONDS": 0.5,
    # Webhooks go to public addresses only; networks listed here (CIDRs, e.g. an ERP on the
    # shop's LAN "192.168.1.20/32") are allowed too (docs/security.md, "Webhooks").
    "WEBHOOK_ALLOWED_NETWORKS": [],
    # Server-Sent Events (/api/v1/events/stream).
    "STREAM_POLL_SECONDS": 0.2,
    "STREAM_HEARTBEAT_SECONDS": 15.0,
    # A stream ends after this long; the client reconnects with Last-Event-ID, losing nothing.
    "STREAM_MAX_SECONDS": 300.0,
    # An open stream re-checks its key this often: a revoked tablet's stream ends within it.
    "STREAM_KEY_CHECK_SECONDS": 1.0,
    # Open streams per gunicorn worker; beyond it, 503 with Retry-After (keeps threads for the API).
    "STREAM_MAX_PER_WORKER": 8,
    # Trained recommender artifacts; empty means "<instance>/recommender".
    "RECOMMENDER_DIR": "",
    # Load the recommender model in create_app (gunicorn workers always load it at start,
    # see gunicorn.conf.py; turn this on for another WSGI server).
    "RECOMMENDER_PRELOAD": False,
    # Where complements come from when the model knows nothing (best-sellers that fit).
    "RECOMMENDER_ACCESSORY_CATEGORY": "Accessoires",
    # Signs the owner's dashboard session cookie. Empty: a random key generated once into
    # <instance>/secret_key (mode 0600), so logins survive restarts.
    "SECRET_KEY": "",
    # Send the dashboard cookie over HTTPS only: turn on when the back office is served over TLS.
    "SESSION_COOKIE_SECURE": False,
    # A dashboard login lasts this many hours.
    "DASHBOARD_SESSION_HOURS": 12,
    # Webshop clickstream (POST /api/v1/collect, docs/clickstream.md). The site name in the
    # visitor hash (empty: STORE_ID); the webshop origins allowed by CORS (comma list).
    "ANALYTICS_SITE": "",
    "ANALYTICS_ORIGINS": ["http://127.0.0.1:8000", "http://localhost:8000"],
    # Largest collect body (bytes, 413 beyond) and events per batch (413 beyond).
    "ANALYTICS_MAX_BODY_BYTES": 256 * 1024,
    "ANALYTICS_MAX_EVENTS": 500,
    # Reverse proxies in front of the API: the client IP is this many hops from the right of
    # X-Forwarded-For (0: the socket's address; the header is ignored).
    "ANALYTICS_PROXY_HOPS": 0,
    # Retention: raw events and visits, then aggregates (rollups, counters), in months.
    "ANALYTICS_RAW_RETENTION_MONTHS": 13,
    "ANALYTICS_AGGREGATE_RETENTION_MONTHS": 25,
    # Customer reminders (docs/reminders.md). E-mail goes through this SMTP server:
    # smtp://host:25, smtp+starttls://user:password@host:587 or smtps://user:password@host:465.
    # Empty: e-mail reminders wait (retried) until it is set.
    "SMTP_URL": "",
    "SMTP_TIMEOUT_SECONDS": 10.0,
    "MAIL_FROM": "Comptoir <boutique@comptoir.example>",
    # Text messages go to this HTTP gateway (POST JSON, bearer token); empty: no SMS.
    "SMS_URL": "",
    "SMS_TOKEN": "",
    "SMS_SENDER": "Comptoir",
    # What customers read in messages: the shop's name and its webshop; unsubscribe links
    # point at PUBLIC_URL (above), where this back office answers from the Internet.
    "SHOP_NAME": "Comptoir",
    "SHOP_URL": "https://comptoir.example",
    # No message in these local hours ("20:00-09:00"; "off": none); at most this many per
    # customer and local day.
    "REMINDER_QUIET_HOURS": "20:00-09:00",
    "REMINDER_DAILY_CAP": 2,
    # The worker: messages per batch, SMTP connections at once, idle poll, lease, retries.
    "REMINDER_BATCH": 50,
    "REMINDER_CONCURRENCY": 2,
    "REMINDER_POLL_SECONDS": 2.0,
    "REMINDER_LEASE_SECONDS": 120,
    "REMINDER_RETRY_BASE_SECONDS": 60.0,
    "REMINDER_RETRY_MAX_SECONDS": 3600.0,
    # A message still failing this long after it was due is given up (status failed).
    "REMINDER_GIVE_UP_HOURS": 48.0,
    # "What it brings": a customer came back when they held or ordered within these days.
    "REMINDER_COMEBACK_DAYS": 14,
    # Rate limits (docs/security.md, "Limits"): Flask-Limiter strings, several joined by ";".
    # Events per client address and for the whole webshop on POST /api/v1/collect, and
    # writes (POST/PUT/PATCH/DELETE) per API key. Beyond them: 429 with Retry-After.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_COLLECT_PER_ADDRESS": "1000 per minute",
    "RATELIMIT_COLLECT_PER_SITE": "10000 per minute;100000 per hour",
    "RATELIMIT_WRITES_PER_KEY": "1200 per minute",
    # Where the counters live; empty: <instance>/ratelimit.db, shared by every worker.
    "RATELIMIT_STORAGE_URI": "",
    "API_TITLE": "Comptoir API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "v1/openapi.json",
    "JSON_SORT_KEYS": False,
}

_LIST_KEYS = {
    "STOCK_LOCATIONS",
    "WEB_LOCATION_ORDER",
    "ANALYTICS_ORIGINS",
    "WEBHOOK_ALLOWED_NETWORKS",
}


def _coerce(key: str, raw: str, default: Any) -> Any:
    """Environment values are strings; give them the type of their default."""
    if key in _LIST_KEYS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, (list, dict)):
        return json.loads(raw)
    return raw


def load(
    overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Defaults, then ``COMPTOIR_*`` variables, then explicit overrides (tests)."""
    env = os.environ if environ is None else environ
    settings = dict(DEFAULTS)
    for key, default in DEFAULTS.items():
        raw = env.get(PREFIX + key)
        if raw is not None and raw != "":
            settings[key] = _coerce(key, raw, default)
    if overrides:
        settings.update(overrides)
    return settings


def instance_folder(environ: Mapping[str, str] | None = None) -> Path:
    """The instance folder: ``COMPTOIR_INSTANCE_PATH``, else ``instance/`` in the checkout.

    It holds what belongs to one installation rather than to the code: the SQLite database,
    the secret key, the trained recommender, backups, the broker's data and gunicorn's control
    socket. Two instances on one machine (a demo and the real shop, or tests) each get their
    own; in production it is /var/lib/comptoir (docs/production.md).
    """
    env = os.environ if environ is None else environ
    given = env.get(PREFIX + "INSTANCE_PATH")
    if given:
        return Path(given).expanduser().resolve()
    return Path(__file__).resolve().parents[1] / "instance"


def default_sqlite_url(instance_path: str | Path) -> str:
    """The embedded default: one SQLite file in the instance folder."""
    return f"sqlite:///{Path(instance_path) / 'comptoir.db'}"
