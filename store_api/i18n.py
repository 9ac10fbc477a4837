"""French for the people in the shop, English on request: one gettext catalogue system.

Source strings (msgids) are English. Every package with texts keeps its own catalogue in
``store_api/<package>/translations/<locale>/LC_MESSAGES/messages.po`` (core texts in
``store_api/translations``); this module finds all of them and merges them, so features never
fight over one file. ``make translations`` extracts, updates and compiles them
(``scripts/translations.py``); ``tests/test_translations.py`` fails on a missing French text or a
stale ``.mo``.

Web code uses Flask-Babel (``gettext``/``_``, ``lazy_gettext``/``_l``, ``ngettext``, the Jinja
``_()``); code without Flask (services, the MQTT bridge, workers) uses :func:`translator` and
:func:`text` with an explicit locale. Numbers, money and dates are formatted by Babel in the
locale's way: ``1 400,00 €``, ``7 décembre 2026``.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext as _gettext
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from babel import Locale, dates, numbers
from babel.support import Translations

if TYPE_CHECKING:
    from flask import Flask, Response

LOCALES = ("fr", "en")
DEFAULT_LOCALE = "fr"
COOKIE = "comptoir_lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
PACKAGE_ROOT = Path(__file__).resolve().parent


# Catalogues read by the browser only (the tablet serves its own as JSON): kept out of the
# server's merged catalogue, where the same msgid may rightly read otherwise ("Search" is the
# owner's "Recherche" page but the tablet's "Rechercher" button).
BROWSER_CATALOGUES = frozenset({"tablet"})


def catalogue_dirs() -> list[Path]:
    """The server's translations folders: the core one first, then each package's."""
    found = [PACKAGE_ROOT / "translations"]
    found += sorted(
        p
        for p in PACKAGE_ROOT.glob("*/translations")
        if p.is_dir() and p.parent.name not in BROWSER_CATALOGUES
    )
    return [p for p in found if p.is_dir()]


def supported(locale: str | None) -> str | None:
    """``"fr"``, ``"fr-FR"``, ``"EN_gb"`` → a locale we speak, or None."""
    if not locale:
        return None
    language = locale.replace("-", "_").split("_")[0].strip().lower()
    return language if language in LOCALES else None


@functools.cache
def translator(locale: str) -> _gettext.NullTranslations:
    """The merged catalogues for ``locale`` (English: the msgids themselves)."""
    chosen = supported(locale) or DEFAULT_LOCALE
    merged: _gettext.NullTranslations = _gettext.NullTranslations()
    for directory in catalogue_dirs():
        loaded = Translations.load(str(directory), [chosen])
        if not isinstance(loaded, Translations):
            continue  # no catalogue of this locale in that folder
        if isinstance(merged, Translations):
            merged.merge(loaded)
        else:
            merged = loaded
    return merged


def text(locale: str, msgid: str, **params: Any) -> str:
    """``msgid`` in ``locale`` with ``%(name)s`` placeholders filled (code without Flask)."""
    translated = translator(locale).gettext(msgid)
    return translated % params if params else translated


def plural(locale: str, singular: str, plural_: str, n: int, **params: Any) -> str:
    translated = translator(locale).ngettext(singular, plural_, n)
    return translated % {"num": n, **params}


def _babel_locale(locale: str) -> Locale:
    return Locale.parse({"fr": "fr_FR", "en": "en_GB"}.get(supported(locale) or "", "fr_FR"))


def format_number(value: int | float | Decimal, locale: str, digits: int | None = None) -> str:
    """``1400.5`` → ``1 400,5`` (fr). ``digits`` fixes the decimals."""
    if digits is not None:
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return numbers.format_decimal(value, format=pattern, locale=_babel_locale(locale))
    return numbers.format_decimal(value, locale=_babel_locale(locale))


def format_money(value: int | float | Decimal | str, locale: str, currency: str = "EUR") -> str:
    """``Decimal("1400")`` → ``1 400,00 €`` (fr), ``€1,400.00`` (en)."""
    return numbers.format_currency(Decimal(str(value)), currency, locale=_babel_locale(locale))


def format_percent(value: float, locale: str, digits: int = 1) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + " %"
    return numbers.format_percent(value, format=pattern, locale=_babel_locale(locale))


def format_date(value: dt.date, locale: str, style: str = "long") -> str:
    """``7 décembre 2026`` (long), ``07/12/2026`` (short)."""
    return dates.format_date(value, format=style, locale=_babel_locale(locale))


def format_datetime(
    value: dt.datetime, locale: str, tz: dt.tzinfo | None = None, style: str = "medium"
) -> str:
    """An aware datetime in the shop's time zone: ``7 déc. 2026, 14:05:00`` (medium)."""
    if tz is not None and value.tzinfo is not None:
        value = value.astimezone(tz)
    return dates.format_datetime(value, format=style, locale=_babel_locale(locale))


def format_time(value: dt.datetime, locale: str, tz: dt.tzinfo | None = None) -> str:
    if tz is not None and value.tzinfo is not None:
        value = value.astimezone(tz)
    return dates.format_time(value, format="short", locale=_babel_locale(locale))


# --- Flask ------------------------------------------------------------------------------------


def request_locale() -> str:
    """The locale of this request: ``?lang=``, the ``comptoir_lang`` cookie, then (API only)
    ``Accept-Language``, then the shop's default. Pages ignore the browser's language on
    purpose: a French shop's tablet with an English browser still speaks French."""
    from flask import current_app, has_request_context, request

    default = supported(current_app.config.get("DEFAULT_LOCALE")) or DEFAULT_LOCALE
    if not has_request_context():
        return default
    chosen = supported(request.args.get("lang")) or supported(request.cookies.get(COOKIE))
    if chosen:
        return chosen
    if request.path.startswith("/api/") and request.accept_languages:
        best = request.accept_languages.best_match(LOCALES)
        if best:
            return best
    return default


def current_locale() -> str:
    """The request's locale in code that runs in a request (routes, templates)."""
    from flask_babel import get_locale

    locale = get_locale()
    return supported(str(locale)) or DEFAULT_LOCALE if locale else DEFAULT_LOCALE


def _remember_choice(response: Response) -> Response:
    """``?lang=en`` on a page sticks: a cookie (not for the API, whose clients say each time)."""
    from flask import request

    chosen = supported(request.args.get("lang"))
    if chosen and not request.path.startswith("/api/") and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True, path="/"
        )
    return response


def init_app(app: Flask) -> None:
    from flask_babel import Babel

    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(p) for p in catalogue_dirs())
    app.config["BABEL_DEFAULT_TIMEZONE"] = app.config.get("TIMEZONE", "Europe/Paris")
    Babel(app, locale_selector=request_locale)
    app.after_request(_remember_choice)

    @app.context_processor
    def _locale_helpers() -> dict[str, Any]:
        locale = current_locale()
        return {
            "current_locale": locale,
            "other_locales": [other for other in LOCALES if other != locale],
        }

    locale = current_locale
    app.jinja_env.filters.update(
        number=lambda v, digits=None: format_number(v, locale(), digits),
        money=lambda v: format_money(v, locale()),
        percent=lambda v, digits=1: format_percent(v, locale(), digits),
        localdate=lambda v, style="long": format_date(v, locale(), style),
        localdatetime=lambda v, style="medium": format_datetime(v, locale(), _shop_tz(app), style),
        localtime=lambda v: format_time(v, locale(), _shop_tz(app)),
    )


def _shop_tz(app: Flask) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(app.config.get("TIMEZONE", "Europe/Paris"))
