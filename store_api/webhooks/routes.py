"""Webhook subscription endpoints (to be written)."""

from __future__ import annotations

from store_api.blueprint import Blueprint

blp = Blueprint("webhooks", __name__, url_prefix="/api/v1", description="Webhook subscriptions.")
