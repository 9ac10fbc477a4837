"""/api/v1/ping (who am I; the no-op baseline of the benchmarks) and /healthz."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import text

from store_api import db
from store_api.auth import ALL_ROLES, current_caller, require
from store_api.blueprint import Blueprint

blp = Blueprint("system", __name__, url_prefix="", description="Liveness and identity.")


class PingSchema(Schema):
    name = fields.String()
    role = fields.String()


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()


@blp.route("/api/v1/ping")
class Ping(MethodView):
    @require(*ALL_ROLES)
    @blp.response(200, PingSchema)
    def get(self) -> dict[str, Any]:
        """Check a key: returns its name and role, touches nothing else."""
        caller = current_caller()
        return {"name": caller.name, "role": caller.role.value}


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self) -> dict[str, Any]:
        """Unauthenticated liveness probe for process managers and load balancers."""
        session = db.get_session()
        with db.read(session):
            session.execute(text("SELECT 1"))
        return {"status": "ok", "database": session.get_bind().dialect.name}
