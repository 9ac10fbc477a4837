"""The owner's web dashboard at /dashboard: server-rendered HTML with vendored Chart.js.

The owner logs in once with their API key. A signed session cookie (HttpOnly, SameSite=Strict,
path /dashboard so it never rides along with the tracker's beacons) holds a random login token;
the database keeps the login (``sessions.py``), checked on every page: logging out, or revoking
the key, ends it for every copy of the cookie. Forms from another site (a foreign Origin) are
refused, the login form included. Reports
come from ``reports.run_report`` in-process; their chart data is embedded as JSON and drawn by
``static/dashboard.js``, so the Content-Security-Policy allows no inline script at all.
"""

from __future__ import annotations

import datetime as dt
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.blueprints import BlueprintSetupState
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import URLSafeTimedSerializer
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.dashboard import sessions
from store_api.instance import secret_key
from store_api.keys import service as keys
from store_api.keys.models import ApiKey, Role

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

DASHBOARD_ROLES = frozenset({Role.OWNER, Role.ADMIN})
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)

F = TypeVar("F", bound=Callable[..., Any])


class _SessionInterface(SecureCookieSessionInterface):
    """Signs with ``SECRET_KEY``, or with the key generated once in the instance folder.

    Resolved at the first request rather than in create_app(): the instance folder is only
    final then (tests move it), and nothing is written for apps that never serve a page.
    """

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        secret_key(app)
        return super().get_signing_serializer(app)


def _configure_cookie(state: BlueprintSetupState) -> None:
    """The session cookie is the dashboard's alone: keep it off every other path."""
    app = state.app
    assert isinstance(app, Flask)
    app.session_interface = _SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="comptoir_dashboard",
        SESSION_COOKIE_PATH="/dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )


bp.record_once(_configure_cookie)


@bp.after_request
def _security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "dashboard.static":
        # Pages show the shop's figures to a logged-in owner: no shared or stored copies.
        response.headers["Cache-Control"] = "no-store"
    return response


# --- login -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    key_id: int
    name: str
    role: Role


def _logged_in_owner(db_session: Session, now: dt.datetime) -> Owner | None:
    token = session.get(SESSION_LOGIN)
    if not isinstance(token, str):
        return None
    key_id = sessions.key_of(db_session, token, now=now)
    if key_id is None:
        return None
    key = db_session.scalars(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
    ).one_or_none()
    if key is None or key.role not in DASHBOARD_ROLES:
        return None
    return Owner(key_id=key.id, name=key.name, role=Role(key.role))


def login_required(view: F) -> F:
    """Pages and CSV files need a live owner or admin login; others go to the login form."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        db_session = db.get_session()
        with db.read(db_session):
            owner = _logged_in_owner(db_session, context.now())
        if owner is None:
            session.clear()
            return redirect(url_for("dashboard.login", next=request.full_path.rstrip("?")))
        g.owner = owner
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _safe_next(target: str | None) -> str:
    """Only back into the dashboard: ``next`` must not send the owner to another site."""
    if target and target.startswith("/dashboard") and "//" not in target and "\\" not in target:
        return target
    return url_for("dashboard.overview")


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    from store_api.dashboard.nav import NAV

    def language_query(locale: str) -> str:
        """This page's query string with ``lang`` switched: the period and filters stay."""
        args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
        return urlencode([*args, ("lang", locale)])

    return {"nav_items": NAV, "language_query": language_query, "csrf_field": csrf_field}


def page(template: str, code: int = 200, **values: Any) -> tuple[str, int]:
    return render_template(f"dashboard/{template}", owner=g.get("owner"), **values), code


def error(code: int, title: str, message: str) -> tuple[str, int]:
    return page("error.html", code, title=title, message=message, status=code)


ROLE_NAMES = {
    Role.ADMIN: _l("administrator"),
    Role.OWNER: _l("owner"),
    Role.SELLER: _l("seller"),
    Role.WEBSHOP: _l("webshop"),
    Role.DEVICE: _l("shelf device"),
}


def role_name(role: str) -> str:
    """A role as people say it, in the page's language."""
    try:
        return str(ROLE_NAMES[Role(role)])
    except ValueError:
        return role


@bp.get("/login")
def login() -> tuple[str, int]:
    return page("login.html", next=_safe_next(request.args.get("next")))


@bp.post("/login")
def login_submit() -> Response | tuple[str, int]:
    secret = request.form.get("key", "").strip()
    target = _safe_next(request.form.get("next"))
    db_session = db.get_session()
    with db.read(db_session):
        key = keys.authenticate(db_session, secret) if secret else None
    if key is None:
        message = _("Unknown or revoked key. Check it and try again.")
        return page("login.html", 401, next=target, error=message)
    if key.role not in DASHBOARD_ROLES:
        return error(
            403,
            _("Not an owner key"),
            _(
                "The key “%(name)s” belongs to a %(role)s. These pages show the shop's figures "
                "to the owner only: log in with the owner key.",
                name=key.name,
                role=role_name(key.role),
            ),
        )
    with db.write(db_session):
        token = sessions.open_session(
            db_session,
            key.id,
            now=context.now(),
            hours=current_app.config["DASHBOARD_SESSION_HOURS"],
        )
    session.clear()
    session[SESSION_LOGIN] = token
    return redirect(target, 303)


# --- forms: a per-session token on every POST but the login ------------------------------


CSRF_FIELD = "csrf_token"
# The cookie's only content besides the form token: the login's random token.
SESSION_LOGIN = "login"
CSRF_EXEMPT = frozenset({"dashboard.login_submit", "dashboard.static"})


def csrf_token() -> str:
    """The session's form token (templates: ``{{ csrf_field() }}`` in every POST form).

    The cookie is SameSite=Strict already; the token also stops a same-site page (another app
    on the shop's domain) from posting on the owner's behalf.
    """
    token = session.get(CSRF_FIELD)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return token


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token())


def _foreign_origin() -> bool:
    """A form sent from another site: its ``Origin`` names another host (or ``null``).

    Compared by host and port, not scheme: behind a TLS proxy the app may see http. A request
    without Origin (an old browser, a script) is judged by the CSRF token alone.
    """
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc.lower() != request.host.lower()


@bp.before_request
def _check_csrf() -> tuple[str, int] | None:
    if request.method in {"GET", "HEAD", "OPTIONS"}:
        return None
    if _foreign_origin():  # the login too: no other site may log the owner in or out
        return error(
            403,
            _("Not sent from the back office"),
            _("This form was sent from another site. Open the back office and try again."),
        )
    if request.endpoint in CSRF_EXEMPT:
        return None
    expected = session.get(CSRF_FIELD)
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token", "")
    if isinstance(expected, str) and secrets.compare_digest(expected, sent):
        return None
    return error(
        400,
        _("This form has expired"),
        _("The page was open too long or in another session. Go back, reload it and try again."),
    )


@bp.post("/logout")
def logout() -> Response:
    """End the login on the server too: a copy of the cookie is worth nothing after this."""
    token = session.get(SESSION_LOGIN)
    if isinstance(token, str):
        db_session = db.get_session()
        with db.write(db_session):
            sessions.close_session(db_session, token)
    session.clear()
    return redirect(url_for("dashboard.login"), 303)


# --- the period and the filters ------------------------------------------------------------
