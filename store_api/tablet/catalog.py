"""The tablet's texts for the browser: its gettext catalogue as JSON.

The app's modules call ``_("...")`` and ``ngettext(...)`` with English msgids; Babel's
JavaScript extractor collects them into ``translations/<locale>/LC_MESSAGES/messages.po``
(``make translations``) and this module reads the compiled ``.mo``. English is the source
language: its catalogue is empty and the app shows the msgids.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

LOCALES = ("fr", "en")
TRANSLATIONS = Path(__file__).parent / "translations"

Message = str | list[str]


@cache
def messages(locale: str) -> dict[str, Message]:
    """{msgid: text} and, for plural messages, {msgid: [singular, plural]}."""
    path = TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo"
    if not path.is_file():
        return {}
    with path.open("rb") as file:
        translations = gettext.GNUTranslations(file)
    raw: dict[object, str] = translations._catalog  # type: ignore[attr-defined]
    out: dict[str, Message] = {}
    plurals: dict[str, dict[int, str]] = {}
    for key, value in raw.items():
        if key == "" or not value:
            continue  # the header, and untranslated entries (the msgid stands)
        if isinstance(key, tuple):
            msgid, index = key
            plurals.setdefault(msgid, {})[index] = value
        else:
            out[str(key)] = value
    for msgid, forms in plurals.items():
        out[msgid] = [forms[i] for i in sorted(forms)]
    return dict(sorted(out.items()))
