"""Shelf vs system discrepancies from the owner's side: the open ones, one, resolving it.

The owner looks into a window where the shelves and the stock disagree (a count, a box put
elsewhere) and marks it resolved with what they found: the same verb as
``POST /api/v1/discrepancies/{id}/resolve`` (the first resolution is kept).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import current_app, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.dashboard import forms
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import NotFound
from store_api.shelves import service as shelves
from store_api.shelves.models import ShelfDiscrepancy

NOTE_MAX = 500  # as the API's DiscrepancyResolveSchema
OPEN_LIMIT = 500


def _store() -> str:
    return str(current_app.config["STORE_ID"])


def _view(found: ShelfDiscrepancy, names: dict[str, str]) -> dict[str, Any]:
    tz = context.policy().timezone

    def local(value: dt.datetime | None) -> dt.datetime | None:
        return value.astimezone(tz) if value is not None else None

    return {
        "id": found.id,
        "status": found.status,
        "kind": found.kind,
        "sku": found.sku,
        "name": names.get(found.sku, found.sku),
        "lanes": list(found.lanes),
        "window_start": local(found.window_start),
        "window_end": local(found.window_end),
        "units": abs(found.difference),
        "taken": found.taken,
        "put_back": found.put_back,
        "accounted": found.accounted,
        "raised_at": local(found.raised_at),
        "resolved_at": local(found.resolved_at),
        "resolved_by": found.resolved_by,
        "note": found.note,
    }


def _not_found(discrepancy_id: int) -> tuple[str, int]:
    return error(
        404,
        _("No such discrepancy"),
        _("There is no shelf discrepancy number %(id)s in this shop.", id=discrepancy_id),
    )


def _back() -> str:
    """Back to where the owner came from: the In store page (its period kept) or the list."""
    target = request.values.get("next", "")
    if target.startswith("/dashboard/store") and "//" not in target and "\\" not in target:
        return target
    return url_for("dashboard.store") + "#discrepancies"


@bp.get("/store/discrepancies")
@login_required
def discrepancies() -> tuple[str, int]:
    """Every discrepancy still open, whatever its date: the owner's list to look into."""
    session = db.get_session()
    with db.read(session):
        found = shelves.list_discrepancies(session, _store(), status="open", limit=OPEN_LIMIT)
        names = shelves.product_names(session, (d.sku for d in found))
        rows = [_view(d, names) for d in found]
    return page("discrepancies.html", rows=rows, limit=OPEN_LIMIT)


@bp.route("/store/discrepancies/<int(max=2147483647):discrepancy_id>", methods=["GET", "POST"])
@login_required
def discrepancy(discrepancy_id: int) -> Response | tuple[str, int]:
    session = db.get_session()
    errors = forms.FormErrors()
    note = ""
    if request.method == "POST":
        note = forms.field(
            request.form, "note", errors, required=True, max_length=NOTE_MAX, multiline=True
        )
        if not errors:
            now = context.now()
            try:
                with db.write(session):
                    found = shelves.resolve_discrepancy(
                        session, _store(), discrepancy_id, g.owner.name, note, now
                    )
                    # The first resolution is kept: was it this one?
                    already = found.resolved_at != now
            except NotFound:
                return _not_found(discrepancy_id)
            if already:
                flash(
                    _(
                        "Discrepancy %(id)s had already been resolved by %(name)s: their note "
                        "is kept.",
                        id=discrepancy_id,
                        name=found.resolved_by or "?",
                    ),
                    "warning",
                )
            else:
                flash(_("Discrepancy %(id)s is resolved.", id=discrepancy_id), "success")
            return redirect(_back(), 303)
    try:
        with db.read(session):
            found = shelves.get_discrepancy(session, _store(), discrepancy_id)
            names = shelves.product_names(session, [found.sku])
            view = _view(found, names)
    except NotFound:
        return _not_found(discrepancy_id)
    return page(
        "discrepancy.html",
        422 if errors else 200,
        d=view,
        note=note,
        errors=errors,
        note_max=NOTE_MAX,
        next=_back(),
    )
