"""Interactive API documentation at /api/docs, from vendored Swagger UI: works offline.

The page reads the generated OpenAPI document (/api/v1/openapi.json); nothing comes from a CDN,
so a shop without Internet (or a developer on a train) still reads its API. The start-up
script is a static file, so the page keeps a Content-Security-Policy without inline script.
"""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.wrappers import Response

bp = Blueprint(
    "apidocs",
    __name__,
    url_prefix="/api/docs",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Swagger UI sets inline style attributes on its widgets; scripts stay 'self' only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)


@bp.get("")
@bp.get("/")
def index() -> str:
    return render_template("apidocs/index.html")


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
