"""Serve the tablet app: shell, service worker, manifest, versioned static files, texts.

Static files are served under ``/tablet/v/<version>/``, where the version is a hash of every
file of the app: a module's relative imports stay inside the same version, so one deploy
never mixes old and new modules, and the browser may keep them for a year. The shell, the
service worker and the manifest are revalidated on every load (``no-cache`` with an ETag).
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, abort, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from store_api.tablet import catalog

bp = Blueprint("tablet", __name__, url_prefix="/tablet", template_folder="templates")

STATIC = Path(__file__).parent / "static"
# Under /tablet/ only: the key stays in the app's storage, the page loads only its own code.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Product photos live wherever the catalogue says (https); scans draw into blobs.
        "img-src 'self' data: blob: https:",
        "media-src 'self' blob: mediastream:",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
IMMUTABLE_SECONDS = 365 * 24 * 3600
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}


@dataclass(frozen=True)
class Build:
    version: str
    files: tuple[str, ...]  # paths relative to static/, posix style
    modules: tuple[str, ...]  # the ES modules the shell preloads


@cache
def build() -> Build:
    """Hash every file of the app once per process: the version the shell and worker use."""
    digest = hashlib.sha256()
    files = []
    for path in sorted(STATIC.rglob("*")):
        if path.is_file() and path.suffix in TYPES and path.name != "sw.js":
            relative = path.relative_to(STATIC).as_posix()
            files.append(relative)
            digest.update(relative.encode() + b"\0" + path.read_bytes())
    for locale in catalog.LOCALES:
        digest.update(json.dumps(catalog.messages(locale), sort_keys=True).encode())
    digest.update((STATIC / "sw.js").read_bytes())
    digest.update((Path(__file__).parent / "templates" / "tablet" / "shell.html").read_bytes())
    modules = tuple(f for f in files if f.endswith(".js") and not f.startswith("vendor/"))
    return Build(digest.hexdigest()[:16], tuple(files), modules)


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    return response


def _revalidated(response: Response) -> BaseResponse:
    response.add_etag()
    response.cache_control.no_cache = True
    return response.make_conditional(request)


@bp.get("")
def without_slash() -> BaseResponse:
    # The service worker's scope is /tablet/: the app lives at /tablet/ exactly.
    return redirect("/tablet/", code=308)


@bp.get("/")
def shell() -> BaseResponse:
    """The app shell: one HTML page, no inline script or style; the screens are modules."""
    current = build()
    html = render_template(
        "tablet/shell.html",
        version=current.version,
        modules=current.modules,
    )
    return _revalidated(Response(html, mimetype="text/html"))


@bp.get("/sw.js")
def service_worker() -> BaseResponse:
    """The service worker, with this build's version and file list written in."""
    current = build()
    precache = [f"/tablet/v/{current.version}/{name}" for name in current.files]
    precache += [f"/tablet/i18n/{locale}.json" for locale in catalog.LOCALES]
    source = (STATIC / "sw.js").read_text(encoding="utf-8")
    source = source.replace("__VERSION__", current.version)
    source = source.replace('["__PRECACHE__"]', json.dumps(precache))
    response = Response(source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/tablet/"
    return _revalidated(response)


@bp.get("/manifest.webmanifest")
def manifest() -> BaseResponse:
    version = build().version
    icons = f"/tablet/v/{version}/icons"
    body = {
        "id": "/tablet/",
        "name": "Comptoir — Tablette vendeur",
        "short_name": "Comptoir",
        "description": "Réserver, aider les clients et tenir le stock du magasin.",
        "lang": "fr",
        "dir": "ltr",
        "start_url": "/tablet/",
        "scope": "/tablet/",
        "display": "standalone",
        "orientation": "any",
        "background_color": "#f6f4ef",
        "theme_color": "#1d4e89",
        "categories": ["business", "productivity"],
        "icons": [
            {"src": f"{icons}/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": f"{icons}/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {
                "src": f"{icons}/maskable-512.png",
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/manifest+json")
    return _revalidated(response)


@bp.get("/i18n/<locale>.json")
def texts(locale: str) -> BaseResponse:
    """The app's texts in ``locale``: {msgid: text or [singular, plural]} (English: empty)."""
    if locale not in catalog.LOCALES:
        abort(404)
    body = {"locale": locale, "messages": catalog.messages(locale)}
    response = Response(json.dumps(body, ensure_ascii=False), mimetype="application/json")
    return _revalidated(response)


@bp.get("/v/<version>/<path:name>")
def static_file(version: str, name: str) -> BaseResponse:
    current = build()
    if name not in current.files:
        abort(404)
    path = STATIC / name
    plain, packed = _read(path)
    gzipped = packed is not None and request.accept_encodings["gzip"] > 0
    response = Response(packed if gzipped else plain, mimetype=TYPES[path.suffix])
    if gzipped:
        response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    # Each encoding is its own representation, with its own strong ETag.
    response.set_etag(hashlib.sha256(plain).hexdigest()[:24] + ("-gz" if gzipped else ""))
    if version == current.version:
        response.cache_control.public = True
        response.cache_control.max_age = IMMUTABLE_SECONDS
        response.cache_control.immutable = True
    else:
        # An old shell asking for its files during a deploy gets today's, not for keeps.
        response.cache_control.no_cache = True
    return response.make_conditional(request)


@cache
def _read(path: Path) -> tuple[bytes, bytes | None]:
    """The file and, for text, its gzip (the app is small and a build never changes under a
    running process: both are made once)."""
    plain = path.read_bytes()
    if path.suffix == ".png":
        return plain, None
    return plain, gzip.compress(plain, compresslevel=9, mtime=0)
