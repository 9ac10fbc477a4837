"""Comptoir's back office API. ``store_api:create_app()`` is the WSGI factory."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, redirect
from flask_smorest import Api
from werkzeug.routing import IntegerConverter
from werkzeug.wrappers import Response

from store_api import cli, config, db, errors, i18n, openapi, ratelimit
from store_api.instance import private_dir
from store_api.schemas import ErrorSchema
from store_api.stock.service import StockPolicy
from store_api.webhooks.destinations import DestinationPolicy


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in a path is a row id: at most what an INTEGER column holds (2**31 - 1).

    A bigger number is a 404 like any unknown id, not a driver error (SQLite cannot bind it,
    PostgreSQL refuses it for an INTEGER). The bound is documented as the parameter's maximum.
    """

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def create_app(settings: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: settings from defaults, the environment, then ``settings``."""
    # COMPTOIR_INSTANCE_PATH moves it (production: /var/lib/comptoir); else Flask's default.
    given = os.environ.get(config.PREFIX + "INSTANCE_PATH")
    app = Flask(
        __name__,
        instance_relative_config=True,
        instance_path=str(config.instance_folder()) if given else None,
    )
    app.url_map.converters["int"] = RowIdConverter
    app.config.update(config.load(settings))
    private_dir(app.instance_path)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = config.default_sqlite_url(app.instance_path)
    app.config["API_SPEC_OPTIONS"] = {
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearerAuth": []}],
        "info": {"description": "One stock for the store and the webshop. See README.md."},
    }

    clock: Callable[[], dt.datetime] = app.config.get("CLOCK") or db.utcnow
    app.extensions["comptoir_clock"] = clock
    app.extensions["comptoir_policy"] = StockPolicy.from_config(app.config)
    # A typo in COMPTOIR_WEBHOOK_ALLOWED_NETWORKS stops the start, not the first delivery.
    DestinationPolicy.from_config(app.config)

    db.init_app(app)
    i18n.init_app(app)
    Api.ERROR_SCHEMA = ErrorSchema  # document the real envelope, not flask-smorest's default
    api = Api(app)
    api.ma_plugin.converter.add_attribute_function(openapi.decimal_properties)
    api.ma_plugin.converter.add_attribute_function(openapi.ecma_patterns)
    api.ma_plugin.converter.add_attribute_function(openapi.dict_key_choices)
    app.extensions["comptoir_api"] = api
    _register_blueprints(api)
    from store_api.dashboard import bp as dashboard_bp

    app.register_blueprint(dashboard_bp)
    from store_api.apidocs import bp as apidocs_bp
    from store_api.clickstream.tracker import bp as tracker_bp

    app.register_blueprint(apidocs_bp)

    app.register_blueprint(tracker_bp)
    from store_api.reminders.routes import public as unsubscribe_bp

    app.register_blueprint(unsubscribe_bp)
    from store_api.tablet.routes import bp as tablet_bp

    app.register_blueprint(tablet_bp)
    errors.init_app(app)
    ratelimit.init_app(app)
    cli.init_app(app)
    if app.config["RECOMMENDER_PRELOAD"]:
        from store_api.recommendations.routes import warm_up

        warm_up(app)

    @app.get("/")
    def index() -> Response:
        return redirect("/api/docs")

    return app


def _register_blueprints(api: Api) -> None:
    from store_api.analytics.routes import blp as analytics_blp
    from store_api.catalog.routes import blp as catalog_blp
    from store_api.catalog.sheet_routes import blp as sheets_blp
    from store_api.clickstream.routes import blp as clickstream_blp
    from store_api.customers.routes import blp as customers_blp
    from store_api.events.routes import blp as events_blp
    from store_api.events.stream import blp as stream_blp
    from store_api.orders.routes import blp as orders_blp
    from store_api.recommendations.routes import blp as recommendations_blp
    from store_api.reminders.routes import blp as reminders_blp
    from store_api.sales.routes import blp as sales_blp
    from store_api.search.routes import blp as search_blp
    from store_api.shelves.routes import alerts_blp, sensors_blp
    from store_api.shelves.routes import blp as lanes_blp
    from store_api.stock.routes import blp as stock_blp
    from store_api.stock.routes import reservations_blp
    from store_api.suppliers.routes import blp as suppliers_blp
    from store_api.system.routes import blp as system_blp
    from store_api.tablets.routes import blp as tablets_blp
    from store_api.webhooks.routes import blp as webhooks_blp

    for blueprint in (
        system_blp,
        search_blp,  # before the catalog: /products/suggest is not a SKU
        catalog_blp,
        stock_blp,
        reservations_blp,
        orders_blp,
        sales_blp,
        events_blp,
        stream_blp,
        webhooks_blp,
        recommendations_blp,
        lanes_blp,
        alerts_blp,
        sensors_blp,
        clickstream_blp,
        analytics_blp,
        customers_blp,
        reminders_blp,
        tablets_blp,
        suppliers_blp,
        sheets_blp,
    ):
        api.register_blueprint(blueprint)
