"""``flask --app store_api month-report --month 2026-11 [--pdf out.pdf] [--lang en]``."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from store_api import context, db, i18n
from store_api.errors import Invalid
from store_api.month import pdf, service, texts


@click.command("month-report")
@with_appcontext
@click.option("--month", "month_", default=None, help="YYYY-MM (default: the current month).")
@click.option(
    "--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
    help="Also write the month as a PDF file.",
)  # fmt: skip
@click.option("--lang", default=None, help="fr or en (default: the shop's language).")
def month_report(month_: str | None, pdf_path: Path | None, lang: str | None) -> None:
    """Print "Le mois en un coup d'œil" (and write it as a PDF with --pdf)."""
    locale = i18n.supported(lang or current_app.config.get("DEFAULT_LOCALE")) or "fr"
    if lang is not None and i18n.supported(lang) is None:
        raise click.BadParameter("fr or en.", param_hint="--lang")
    tz = context.policy().timezone
    now = context.now()
    try:
        first, last = service.parse_month(month_, now.astimezone(tz).date())
    except Invalid as exc:
        raise click.BadParameter("a month as YYYY-MM, e.g. 2026-11.", param_hint="--month") from exc
    session = db.new_session(current_app)
    try:
        recommended = service.recommendations(session, first, last, now, tz)
        with db.read(session):
            found = service.month(
                session,
                first,
                last,
                now=now,
                tz=tz,
                recommended=recommended,
                comeback_days=int(current_app.config["REMINDER_COMEBACK_DAYS"]),
            )
    finally:
        session.close()
    click.echo(texts.title(found, locale))
    click.echo(texts.period(found, locale))
    for section in texts.sections(found, locale):
        click.echo("")
        click.echo(section.title)
        for figure in section.figures:
            click.echo(f"  {figure.label} : {figure.value}" if locale == "fr"
                       else f"  {figure.label}: {figure.value}")  # fmt: skip
        if section.note:
            click.echo(f"  ({section.note})")
    if pdf_path is not None:
        pdf_path.write_bytes(pdf.render(found, locale))
        click.echo("")
        click.echo(f"PDF: {pdf_path}")
