"""French by default, English on request, and no text people read left untranslated.

The catalogues are checked against the sources: a new ``_("...")`` in a page, the tablet or a
service without its French translation, or a ``.mo`` not recompiled after editing a ``.po``,
fails here with the command that fixes it (``make translations``).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from decimal import Decimal
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from store_api import i18n

ROOT = Path(__file__).resolve().parents[1]
FIX = "run `make translations`, then translate the new texts in the .po files"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("translations", ROOT / "scripts/translations.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SCRIPT = _script()
CATALOGUES = sorted(SCRIPT.owners().items())


@pytest.mark.parametrize(("catalogue", "sources"), CATALOGUES, ids=lambda v: str(v))
def test_every_text_in_the_sources_has_a_french_translation(
    catalogue: Path, sources: list[Path]
) -> None:
    po = SCRIPT.po_path(catalogue, "fr")
    assert po.exists(), f"{po} is missing: {FIX}"
    with po.open("rb") as file:
        catalog = read_po(file, locale="fr")
    extracted = {m.id for m in SCRIPT.extract(sources) if m.id}
    known = {m.id for m in catalog if m.id}
    assert not extracted - known, f"texts not in {po.relative_to(ROOT)}: {FIX}"
    untranslated = [m.id for m in catalog if m.id and (not m.string or m.fuzzy)]
    assert not untranslated, f"untranslated or fuzzy in {po.relative_to(ROOT)}: {untranslated}"


def _key(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    """Plural messages: read_po gives tuples, read_mo lists."""
    return value if isinstance(value, str) else tuple(value)


@pytest.mark.parametrize(("catalogue", "sources"), CATALOGUES, ids=lambda v: str(v))
def test_compiled_catalogues_match_their_sources(catalogue: Path, sources: list[Path]) -> None:
    del sources
    po = SCRIPT.po_path(catalogue, "fr")
    with po.open("rb") as file:
        source = {_key(m.id): _key(m.string) for m in read_po(file, locale="fr") if m.id}
    mo = po.with_suffix(".mo")
    assert mo.exists(), f"{mo} is missing: {FIX}"
    with mo.open("rb") as file:
        compiled = {_key(m.id): _key(m.string) for m in read_mo(file) if m.id}
    assert compiled == source, f"{mo.relative_to(ROOT)} is stale: {FIX}"


def test_french_numbers_money_and_dates() -> None:
    assert i18n.format_money(Decimal("1400"), "fr") == "1\u202f400,00\u00a0€"
    assert i18n.format_money(Decimal("1400"), "en") == "€1,400.00"
    assert i18n.format_number(1400.5, "fr") == "1\u202f400,5"
    assert i18n.format_date(dt.date(2026, 12, 7), "fr") == "7 décembre 2026"
    assert i18n.format_date(dt.date(2026, 12, 7), "en") == "7 December 2026"
    paris = dt.datetime(2026, 12, 7, 13, 5, tzinfo=dt.UTC)
    from zoneinfo import ZoneInfo

    assert i18n.format_time(paris, "fr", ZoneInfo("Europe/Paris")) == "14:05"


def test_code_without_flask_reads_the_same_catalogues() -> None:
    assert i18n.text("fr", "Log out") == "Se déconnecter"
    assert i18n.text("en", "Log out") == "Log out"
    assert i18n.text("de", "Log out") == "Se déconnecter"  # unknown: the shop's default
    assert i18n.supported("fr-FR") == "fr"
    assert i18n.supported("EN_gb") == "en"
    assert i18n.supported("de") is None


def test_server_catalogues_agree_on_every_shared_text() -> None:
    """The server merges its catalogues into one: a msgid two of them translate differently
    would read one way or the other depending on the merge order."""
    seen: dict[str, tuple[str, Path]] = {}
    clashes: list[str] = []
    for directory in i18n.catalogue_dirs():
        po = directory / "fr/LC_MESSAGES/messages.po"
        with po.open("rb") as file:
            for message in read_po(file):
                if not message.id or not message.string or message.context:
                    continue
                key = str(message.id)
                if key in seen and seen[key][0] != message.string:
                    clashes.append(f"{key!r}: {seen[key][1]} vs {po}")
                seen.setdefault(key, (str(message.string), po))
    assert not clashes, "same text, two French translations (use one, or a context): " + "; ".join(
        clashes
    )
    assert i18n.text("fr", "Search") == "Recherche"  # the owner's page, not the tablet's button


def test_pages_speak_french_by_default_and_english_on_request(client: FlaskClient) -> None:
    french = client.get("/dashboard/login", headers={"Accept-Language": "en-US,en"})
    body = french.get_data(as_text=True)
    assert '<html lang="fr">' in body
    assert "Se connecter" in body
    assert "Log in" not in body

    english = client.get("/dashboard/login?lang=en")
    assert "Log in" in english.get_data(as_text=True)
    assert "comptoir_lang=en" in english.headers["Set-Cookie"]

    remembered = client.get("/dashboard/login")
    assert '<html lang="en">' in remembered.get_data(as_text=True)

    back = client.get("/dashboard/login?lang=fr")
    assert "Se connecter" in back.get_data(as_text=True)


def test_the_language_switch_keeps_the_page_and_its_query(client: FlaskClient) -> None:
    body = client.get("/dashboard/login?next=/dashboard/store").get_data(as_text=True)
    assert 'href="?next=%2Fdashboard%2Fstore&amp;lang=en"' in body
