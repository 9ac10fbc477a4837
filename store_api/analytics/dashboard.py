"""The owner's web dashboard at /dashboard: server-rendered HTML with vendored Chart.js."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
