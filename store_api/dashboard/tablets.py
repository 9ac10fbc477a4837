"""The "Tablets" page: the sellers' paired tablets, pairing a new one (code and QR code),
revoking one after a confirmation.

The same service as the API (store_api/tablets/service.py). The pairing code exists in clear
only in the answer to the form: it is shown once with a QR code of the pair URL, drawn here as
SVG by segno (no script, no image request), so the strict CSP holds.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import segno
from flask import current_app, g, redirect, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import Conflict
from store_api.tablets import service
from store_api.tablets.models import Tablet
from store_api.tablets.routes import pair_url, pairing_secret

NAME_MAX = 60


def qr_svg(url: str, title: str) -> Markup:
    """The QR code of ``url`` as inline SVG (scalable, readable from a phone or a tablet)."""
    buffer = io.BytesIO()
    segno.make(url, error="m").save(
        buffer,
        kind="svg",
        scale=1,
        border=4,
        dark="#0f172a",
        light="#ffffff",
        xmldecl=False,
        svgns=True,
        svgclass="qr",
        lineclass=None,
        omitsize=True,
        title=title,
    )
    # segno escapes the title (a tablet name); the rest is numbers and fixed markup.
    return Markup(buffer.getvalue().decode())  # noqa: S704


def _tablet_row(tablet: Tablet) -> dict[str, Any]:
    return {
        "id": tablet.id,
        "name": tablet.name,
        "device": tablet.device,
        "paired_at": tablet.paired_at,
        "last_seen_at": tablet.last_seen_at,
        "revoked_at": tablet.key.revoked_at,
    }


def _tablets_page(code: int = 200, **values: Any) -> tuple[str, int]:
    session = db.get_session()
    with db.read(session):
        rows = [_tablet_row(t) for t in service.list_tablets(session)]
    active = [row for row in rows if row["revoked_at"] is None]
    revoked = [row for row in rows if row["revoked_at"] is not None]
    return page("tablets.html", code, active=active, revoked=revoked, name_max=NAME_MAX, **values)


@bp.get("/tablets")
@login_required
def tablets() -> tuple[str, int]:
    revoked_name = None
    revoked_id = request.args.get("revoked", "")
    if revoked_id.isdigit() and len(revoked_id) < 10:
        session = db.get_session()
        with db.read(session):
            found = session.get(Tablet, int(revoked_id))
            revoked_name = found.name if found is not None else None
    return _tablets_page(revoked_name=revoked_name)


def _name_problem(name: str) -> str | None:
    if len(name) > NAME_MAX:
        return _("A name has at most %(max)s characters.", max=NAME_MAX)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return _("A name cannot contain line breaks or control characters.")
    return None


@bp.post("/tablets/pairing-codes")
@login_required
def tablets_pair() -> tuple[str, int]:
    name = " ".join(request.form.get("name", "").split())
    problem = _name_problem(name)
    if problem:
        return _tablets_page(422, form_error=problem, name=name)
    session = db.get_session()
    try:
        with db.write(session):
            made = service.create_code(
                session,
                name=name or None,
                created_by=g.owner.name,
                secret=pairing_secret(current_app),
                now=context.now(),
            )
    except Conflict:
        message = _(
            "A tablet or a pending code is already called “%(name)s”: choose another name.",
            name=name,
        )
        return _tablets_page(409, form_error=message, name=name)
    url = pair_url(current_app.config["PUBLIC_URL"] or request.host_url, made.code)
    minutes = int(service.CODE_TTL / dt.timedelta(minutes=1))
    return page(
        "tablets_code.html",
        made=made,
        url=url,
        minutes=minutes,
        spaced=f"{made.code[:3]} {made.code[3:]}",
        qr=qr_svg(url, _("QR code to pair the tablet “%(name)s”", name=made.name)),
    )


def _tablet_or_error(tablet_id: int) -> dict[str, Any] | tuple[str, int]:
    session = db.get_session()
    with db.read(session):
        found = session.get(Tablet, tablet_id)
        if found is None:
            return error(
                404,
                _("No such tablet"),
                _("There is no tablet number %(id)s. It may have been removed.", id=tablet_id),
            )
        return _tablet_row(found)


@bp.get("/tablets/<int(max=2147483647):tablet_id>/revoke")
@login_required
def tablets_revoke_confirm(tablet_id: int) -> tuple[str, int]:
    found = _tablet_or_error(tablet_id)
    if isinstance(found, tuple):
        return found
    return page("tablets_revoke.html", tablet=found)


@bp.post("/tablets/<int(max=2147483647):tablet_id>/revoke")
@login_required
def tablets_revoke(tablet_id: int) -> Response | tuple[str, int]:
    found = _tablet_or_error(tablet_id)
    if isinstance(found, tuple):
        return found
    session = db.get_session()
    with db.write(session):
        service.revoke(session, tablet_id, context.now())
    return redirect(url_for("dashboard.tablets", revoked=tablet_id), 303)
