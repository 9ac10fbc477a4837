"""Server-Sent Events: /api/v1/events/stream (to be written)."""

from __future__ import annotations

from store_api.blueprint import Blueprint

blp = Blueprint("event_stream", __name__, url_prefix="/api/v1", description="Live events (SSE).")
