"""Owner reports as JSON and CSV under /api/v1/analytics (filled in by the reports work)."""

from __future__ import annotations

from store_api.blueprint import Blueprint

blp = Blueprint(
    "analytics", __name__, url_prefix="/api/v1/analytics", description="Browsing analytics."
)
