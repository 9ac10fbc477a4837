"""GET /t.js: the cookieless tracker the webshop includes with one script tag."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("tracker", __name__)
