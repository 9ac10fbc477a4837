"""Search endpoints: as-you-type suggestions, the shop's synonyms."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from store_api import context, db
from store_api.auth import ALL_ROLES, require
from store_api.blueprint import Blueprint
from store_api.keys.models import Role
from store_api.search import service
from store_api.search.models import Synonym
from store_api.search.schemas import (
    SuggestArgsSchema,
    SuggestionsSchema,
    SynonymInSchema,
    SynonymPatchSchema,
    SynonymSchema,
)

blp = Blueprint("search", __name__, url_prefix="/api/v1", description="Search and synonyms.")

EDITORS = (Role.OWNER,)


@blp.route("/products/suggest")
class Suggest(MethodView):
    @require(*ALL_ROLES)
    @blp.arguments(SuggestArgsSchema, location="query")
    @blp.response(200, SuggestionsSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Products, categories and brands for what has been typed so far (every keystroke)."""
        session = db.get_session()
        with db.read(session):
            found = service.suggest(session, args["q"], limit=args["limit"])
        return {
            "query": found.query,
            "products": found.products,
            "categories": [{"name": n, "count": c} for n, c in found.categories],
            "brands": [{"name": n, "count": c} for n, c in found.brands],
            "correction": found.correction,
        }


def _synonym(row: Synonym) -> dict[str, Any]:
    return {
        "id": row.id,
        "term": row.term,
        "synonyms": list(row.synonyms),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


@blp.route("/search/synonyms")
class Synonyms(MethodView):
    @require(*EDITORS)
    @blp.response(200, SynonymSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The shop's synonyms: what people say and what the catalogue calls it."""
        session = db.get_session()
        with db.read(session):
            return [_synonym(s) for s in service.list_synonyms(session)]

    @require(*EDITORS)
    @blp.arguments(SynonymInSchema)
    @blp.response(201, SynonymSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Add a synonym; searches use it at once (one way: the term finds its synonyms)."""
        session = db.get_session()
        with db.write(session):
            row = service.create_synonym(session, data["term"], data["synonyms"], now=context.now())
            return _synonym(row)


@blp.route("/search/synonyms/<int:synonym_id>")
class SynonymById(MethodView):
    @require(*EDITORS)
    @blp.response(200, SynonymSchema)
    def get(self, synonym_id: int) -> dict[str, Any]:
        """One synonym."""
        session = db.get_session()
        with db.read(session):
            return _synonym(service.get_synonym(session, synonym_id))

    @require(*EDITORS)
    @blp.arguments(SynonymPatchSchema)
    @blp.response(200, SynonymSchema)
    def patch(self, data: dict[str, Any], synonym_id: int) -> dict[str, Any]:
        """Change the term or its synonyms."""
        session = db.get_session()
        with db.write(session):
            row = service.update_synonym(
                session,
                synonym_id,
                term=data.get("term"),
                synonyms=data.get("synonyms"),
                now=context.now(),
            )
            return _synonym(row)

    @require(*EDITORS)
    @blp.response(204)
    def delete(self, synonym_id: int) -> None:
        """Delete a synonym."""
        session = db.get_session()
        with db.write(session):
            service.delete_synonym(session, synonym_id)
