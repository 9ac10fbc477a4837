"""GET /t.js: the cookieless tracker the webshop includes with one script tag.

The source (``static/t.js``) is written to be read; what is served drops its full-line
comments and indentation, and goes out gzipped to clients that accept it. Both forms are built
once per process. Shops cache it for an hour and revalidate with the ETag.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, request
from werkzeug.wrappers import Response as BaseResponse

bp = Blueprint("tracker", __name__)

SOURCE = Path(__file__).parent / "static" / "t.js"
MAX_AGE_SECONDS = 3600


@dataclass(frozen=True)
class TrackerScript:
    body: bytes
    gzipped: bytes
    etag: str


def minify(source: str) -> str:
    """Drop full-line ``//`` comments, blank lines and indentation; keep line breaks (ASI)."""
    lines = (line.strip() for line in source.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//")) + "\n"


@cache
def tracker_script() -> TrackerScript:
    body = minify(SOURCE.read_text(encoding="utf-8")).encode("utf-8")
    return TrackerScript(
        body=body,
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
        etag=hashlib.sha256(body).hexdigest()[:24],
    )


@bp.get("/t.js")
def serve_tracker() -> BaseResponse:
    script = tracker_script()
    gzipped = request.accept_encodings["gzip"] > 0
    response = Response(
        script.gzipped if gzipped else script.body, mimetype="application/javascript"
    )
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    # Each encoding is its own representation, so each has its own strong ETag.
    response.set_etag(script.etag + ("-gz" if gzipped else ""))
    response.headers["Vary"] = "Accept-Encoding"
    response.cache_control.public = True
    response.cache_control.max_age = MAX_AGE_SECONDS
    # Loaded by the shop's pages, which live on another origin.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response.make_conditional(request)
