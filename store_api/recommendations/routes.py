"""Recommendation endpoints (to be written)."""

from __future__ import annotations

from store_api.blueprint import Blueprint

blp = Blueprint(
    "recommendations", __name__, url_prefix="/api/v1", description="What to suggest alongside."
)
