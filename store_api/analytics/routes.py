"""Owner reports as JSON and CSV: /api/v1/analytics/reports and /reports/{slug}.

Reports read the rollup tables; a page load folds the few events collected since the last
scheduled rollup first (see ``reports.run_report``), so what was just browsed shows.
"""

from __future__ import annotations

from typing import Any

from flask import Response
from flask.views import MethodView

from store_api import context, db, periods
from store_api.analytics import reports
from store_api.analytics.schemas import ReportListSchema, ReportQueryArgsSchema, ReportSchema
from store_api.auth import require
from store_api.blueprint import Blueprint
from store_api.keys.models import Role

blp = Blueprint(
    "analytics", __name__, url_prefix="/api/v1/analytics", description="Browsing analytics."
)

# The shop's figures are the owner's (admin may do everything).
READERS = (Role.OWNER,)
FILTERS = ("device", "source", "group", "evidence")


@blp.route("/reports")
class ReportList(MethodView):
    @require(*READERS)
    @blp.response(200, ReportListSchema)
    def get(self) -> dict[str, Any]:
        """The reports: slug, title, what each answers, its filters and columns."""
        return {
            "reports": [
                {
                    "slug": spec.slug,
                    "title": spec.title,
                    "description": spec.description,
                    "filters": list(spec.filters),
                    "columns": list(spec.columns),
                }
                for spec in reports.REPORTS.values()
            ]
        }


@blp.route("/reports/<string:slug>")
class ReportView(MethodView):
    @require(*READERS)
    @blp.arguments(ReportQueryArgsSchema, location="query")
    @blp.response(200, ReportSchema)
    @blp.doc(
        responses={
            "200": {
                "description": "JSON, or with format=csv a CSV file (a header row, then rows).",
                "content": {
                    "application/json": {"schema": ReportSchema},
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        }
    )
    def get(self, args: dict[str, Any], slug: str) -> Any:
        """One report for a period of local days (default: the last 30), as JSON or CSV.

        ``device`` and ``source`` keep only the visits that match; ``format=csv`` answers the
        rows as a CSV file with a header row of column keys.
        """
        timezone = context.policy().timezone
        now = context.now()
        date_from, date_to = periods.default_period(
            now.astimezone(timezone).date(),
            args.get("date_from"),
            args.get("date_to"),
            max_days=reports.MAX_DAYS,
        )
        query = reports.ReportQuery(
            date_from, date_to, {name: args[name] for name in FILTERS if name in args}
        )
        found = reports.run_report(db.get_session(), slug, query, now=now, tz=timezone)
        if args["format"] == "csv":
            name = f"{found.slug}-{date_from}-{date_to}.csv"
            return Response(
                reports.report_csv(found),
                mimetype="text/csv",
                headers={"Content-Disposition": f'attachment; filename="{name}"'},
            )
        return {
            "slug": found.slug,
            "title": found.title,
            "description": found.description,
            "date_from": found.date_from,
            "date_to": found.date_to,
            "filters": found.filters,
            "columns": found.columns,
            "rows": [reports.json_row(row) for row in found.rows],
        }
