"""POST /api/v1/collect and the tracker script /t.js (filled in by the clickstream work)."""

from __future__ import annotations

from store_api.blueprint import Blueprint

blp = Blueprint(
    "clickstream", __name__, url_prefix="", description="Cookieless webshop clickstream."
)
