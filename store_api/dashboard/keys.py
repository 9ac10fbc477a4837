"""API keys from the owner's pages: list, create (the secret shown once), revoke (confirmed).

The same verbs as ``flask keys create/list/revoke`` (``store_api.keys.service``). An owner
manages every key but an administrator's: creating or revoking an admin key takes an admin
login, so the owner's login cannot make itself more powerful than it is.
"""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.dashboard import forms
from store_api.dashboard.core import ROLE_NAMES, bp, error, login_required, page, role_name
from store_api.keys import service as keys
from store_api.keys.models import ApiKey, Role

NAME_MAX = 120  # the column's length


def creatable_roles() -> dict[str, str]:
    """The roles this login may create (value -> name people read), most common first."""
    order = (Role.SELLER, Role.WEBSHOP, Role.DEVICE, Role.OWNER, Role.ADMIN)
    allowed = [r for r in order if r != Role.ADMIN or g.owner.role == Role.ADMIN]
    return {role.value: str(ROLE_NAMES[role]) for role in allowed}


def _may_touch(key: ApiKey) -> bool:
    return key.role != Role.ADMIN or g.owner.role == Role.ADMIN


def _rows(found: list[ApiKey]) -> list[dict[str, Any]]:
    rows = [
        {
            "id": key.id,
            "name": key.name,
            "role": key.role,
            "role_name": role_name(key.role),
            "prefix": key.prefix,
            "created_at": key.created_at,
            "revoked_at": key.revoked_at,
            "yours": key.id == g.owner.key_id,
            "may_revoke": key.revoked_at is None and _may_touch(key),
        }
        for key in found
    ]
    # Live keys first (newest first), then the revoked ones.
    rows.sort(key=lambda r: (r["revoked_at"] is not None, -r["id"]))
    return rows


def _list_page(
    code: int = 200, values: dict[str, str] | None = None, errors: forms.FormErrors | None = None
) -> tuple[str, int]:
    db_session = db.get_session()
    with db.read(db_session):
        rows = _rows(keys.list_keys(db_session))
    return page(
        "keys.html",
        code,
        rows=rows,
        roles=creatable_roles(),
        values=values or {"role": Role.SELLER.value},
        errors=errors or forms.FormErrors(),
        name_max=NAME_MAX,
    )


@bp.get("/keys")
@login_required
def api_keys() -> tuple[str, int]:
    return _list_page()


@bp.post("/keys")
@login_required
def api_key_create() -> tuple[str, int]:
    errors = forms.FormErrors()
    name = forms.field(request.form, "name", errors, required=True, max_length=NAME_MAX)
    role = forms.choice(request.form, "role", creatable_roles(), errors)
    if errors:
        return _list_page(422, {"name": name, "role": role}, errors)
    db_session = db.get_session()
    with db.write(db_session):
        key, secret = keys.create_key(db_session, name=name, role=role, now=context.now())
        created = {"id": key.id, "name": key.name, "role_name": role_name(key.role)}
    return page("keys_created.html", 201, key=created, secret=secret)


def _find(db_session: Any, key_id: int) -> ApiKey | None:
    return next((k for k in keys.list_keys(db_session) if k.id == key_id), None)


def _no_such_key(key_id: int) -> tuple[str, int]:
    return error(404, _("No such key"), _("There is no API key number %(id)s.", id=key_id))


def _admin_only() -> tuple[str, int]:
    return error(
        403,
        _("An administrator's key"),
        _("Only an administrator can revoke an administrator's key. Log in with an admin key."),
    )


@bp.get("/keys/<int(max=2147483647):key_id>/revoke")
@login_required
def api_key_revoke_confirm(key_id: int) -> tuple[str, int]:
    db_session = db.get_session()
    with db.read(db_session):
        key = _find(db_session, key_id)
        if key is None:
            return _no_such_key(key_id)
        if not _may_touch(key):
            return _admin_only()
        row = _rows([key])[0]
    return page("keys_revoke.html", key=row)


@bp.post("/keys/<int(max=2147483647):key_id>/revoke")
@login_required
def api_key_revoke(key_id: int) -> Response | tuple[str, int]:
    db_session = db.get_session()
    with db.write(db_session):
        key = _find(db_session, key_id)
        if key is None:
            return _no_such_key(key_id)
        if not _may_touch(key):
            return _admin_only()
        already = key.revoked_at is not None
        keys.revoke(db_session, key_id, context.now())
        name = key.name
    if key_id == g.owner.key_id:
        # The page's own login went with it: back to the login form, said plainly.
        session.clear()
        flash(_("Your key “%(name)s” is revoked: log in with another key.", name=name), "success")
        return redirect(url_for("dashboard.login"), 303)
    if already:
        flash(_("The key “%(name)s” was already revoked.", name=name), "warning")
    else:
        flash(
            _("The key “%(name)s” is revoked: whatever used it is refused from now on.", name=name),
            "success",
        )
    return redirect(url_for("dashboard.api_keys"), 303)
