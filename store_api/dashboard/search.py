"""The "Search" page: the shop's synonyms (list, add, change, delete) and a box to try a query.

Synonyms are what customers and sellers say ("frigo", "machine à laver") and the words the
catalogue uses ("réfrigérateur", "lave-linge"); searches use a change at once. The page goes
through the same service verbs as ``/api/v1/search/synonyms``, with French messages.
"""

from __future__ import annotations

import re
from typing import Any

from flask import redirect, request, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from store_api import context, db
from store_api.dashboard.core import bp, error, login_required, page
from store_api.errors import Conflict, NotFound
from store_api.search import service
from store_api.search.schemas import MAX_MEANINGS, MAX_TERM
from store_api.search.text import words

_SEPARATORS = re.compile(r"[,;\n]+")
TRY_RESULTS = 5


def _has_words(value: str) -> bool:
    return any(not w.stop for w in words(value))


def _check(term: str, synonyms_text: str) -> tuple[dict[str, str], list[str]]:
    """French messages by field, and the synonyms one by one (commas or lines between)."""
    problems: dict[str, str] = {}
    synonyms = [s.strip() for s in _SEPARATORS.split(synonyms_text) if s.strip()]
    if not term.strip():
        problems["term"] = _("Type the word or phrase people say.")
    elif len(term.strip()) > MAX_TERM:
        problems["term"] = _("At most %(n)d characters.", n=MAX_TERM)
    elif not _has_words(term):
        problems["term"] = _("Needs a word of letters or digits (not only “de”, “à”…).")
    if not synonyms:
        problems["synonyms"] = _("Give at least one synonym.")
    elif len(synonyms) > MAX_MEANINGS:
        problems["synonyms"] = _("At most %(n)d synonyms.", n=MAX_MEANINGS)
    elif any(len(s) > MAX_TERM for s in synonyms):
        problems["synonyms"] = _("Each synonym has at most %(n)d characters.", n=MAX_TERM)
    elif not all(_has_words(s) for s in synonyms):
        problems["synonyms"] = _("Each synonym needs a word of letters or digits.")
    elif len({service.synonym_key(s) for s in synonyms}) != len(synonyms):
        problems["synonyms"] = _("The same synonym is given twice.")
    return problems, synonyms


def _list_page(code: int = 200, **values: Any) -> tuple[str, int]:
    db_session = db.get_session()
    tried = request.args.get("essai", "").strip()[:200]
    with db.read(db_session):
        synonyms = service.list_synonyms(db_session)
        found = service.search_page(db_session, tried, page_size=TRY_RESULTS) if tried else None
    values.setdefault("form", {"term": "", "synonyms": ""})
    values.setdefault("problems", {})
    return page("search_synonyms.html", code, synonyms=synonyms, tried=tried, found=found, **values)


@bp.get("/search")
@login_required
def search_page() -> tuple[str, int]:
    return _list_page(saved=request.args.get("saved"))


@bp.post("/search/synonyms")
@login_required
def synonym_create() -> Response | tuple[str, int]:
    term, text = request.form.get("term", ""), request.form.get("synonyms", "")
    problems, synonyms = _check(term, text)
    if problems:
        return _list_page(422, form={"term": term, "synonyms": text}, problems=problems)
    db_session = db.get_session()
    try:
        with db.write(db_session):
            service.create_synonym(db_session, term, synonyms, now=context.now())
    except Conflict:
        problems = {"term": _("“%(term)s” already has synonyms: change them below.", term=term)}
        return _list_page(409, form={"term": term, "synonyms": text}, problems=problems)
    return redirect(url_for("dashboard.search_page", saved=term.strip()), 303)


def _edit_page(synonym_id: int, code: int = 200, **values: Any) -> tuple[str, int]:
    db_session = db.get_session()
    try:
        with db.read(db_session):
            synonym = service.get_synonym(db_session, synonym_id)
    except NotFound:
        return error(404, _("Unknown synonym"), _("It may have been deleted meanwhile."))
    values.setdefault("form", {"term": synonym.term, "synonyms": ", ".join(synonym.synonyms)})
    values.setdefault("problems", {})
    return page("search_synonym_edit.html", code, synonym=synonym, **values)


@bp.get("/search/synonyms/<int:synonym_id>")
@login_required
def synonym_edit(synonym_id: int) -> tuple[str, int]:
    return _edit_page(synonym_id)


@bp.post("/search/synonyms/<int:synonym_id>")
@login_required
def synonym_update(synonym_id: int) -> Response | tuple[str, int]:
    term, text = request.form.get("term", ""), request.form.get("synonyms", "")
    problems, synonyms = _check(term, text)
    form = {"term": term, "synonyms": text}
    if problems:
        return _edit_page(synonym_id, 422, form=form, problems=problems)
    db_session = db.get_session()
    try:
        with db.write(db_session):
            service.update_synonym(
                db_session, synonym_id, term=term, synonyms=synonyms, now=context.now()
            )
    except NotFound:
        return error(404, _("Unknown synonym"), _("It may have been deleted meanwhile."))
    except Conflict:
        problems = {"term": _("“%(term)s” already has synonyms of its own.", term=term)}
        return _edit_page(synonym_id, 409, form=form, problems=problems)
    return redirect(url_for("dashboard.search_page", saved=term.strip()), 303)


@bp.post("/search/synonyms/<int:synonym_id>/delete")
@login_required
def synonym_delete(synonym_id: int) -> Response | tuple[str, int]:
    db_session = db.get_session()
    try:
        with db.write(db_session):
            service.delete_synonym(db_session, synonym_id)
    except NotFound:
        return error(404, _("Unknown synonym"), _("It may have been deleted meanwhile."))
    return redirect(url_for("dashboard.search_page"), 303)
