"""GET /api/v1/sales: what was sold, at the prices of the moment (owner and admin)."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from store_api import context, db, periods
from store_api.analytics import reports
from store_api.auth import require
from store_api.blueprint import Blueprint
from store_api.keys.models import Role
from store_api.sales import service
from store_api.sales.schemas import SalesQueryArgsSchema, SalesSchema

blp = Blueprint("sales", __name__, url_prefix="/api/v1", description="Sales with their prices.")

READERS = (Role.OWNER,)


def money(value: Any) -> str | None:
    return None if value is None else f"{value:.2f}"


@blp.route("/sales")
class Sales(MethodView):
    @require(*READERS)
    @blp.arguments(SalesQueryArgsSchema, location="query")
    @blp.response(200, SalesSchema)
    def get(self, args: dict[str, Any]) -> Any:
        """Sales of a period of local days (default: the last 30) per day, channel, category.

        A sale is a confirmed web order or a hold committed in the store (or by the webshop);
        revenue uses the price recorded at the sale. ``format=csv`` answers a CSV file.
        """
        tz = context.policy().timezone
        date_from, date_to = periods.default_period(
            context.now().astimezone(tz).date(),
            args.get("date_from"),
            args.get("date_to"),
            max_days=service.MAX_DAYS,
        )
        session = db.get_session()
        with db.read(session):
            lines = service.sales(session, date_from, date_to, tz)
        found = service.report(lines, args["by"], date_from, date_to)
        if args["format"] == "csv":
            name = f"sales-{date_from}-{date_to}.csv"
            return Response(
                reports.report_csv(found),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        total = service.totals(lines)
        return {
            "date_from": date_from,
            "date_to": date_to,
            "by": args["by"],
            "total": {
                "sales": total.sales,
                "units": total.units,
                "revenue": money(total.revenue),
                "average_basket": money(total.average_basket),
                "estimated_revenue": money(total.estimated_revenue),
            },
            "rows": [reports.json_row(row) for row in found.rows],
        }
