"""Extract, update and compile every gettext catalogue of the project (``make translations``).

Each package of ``store_api`` with a ``translations/`` folder (the owner's dashboard, the tablet,
...) owns the texts of its own files; the core catalogue ``store_api/translations`` owns the
rest of ``store_api`` and ``iot_bridge``. Output is deterministic (no dates, sorted), so
branches merge cleanly. A new package catalogue: ``--new store_api/<package>``.
Vendored files (``static/vendor/``) are never scanned.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "store_api"
LOCALES = ("fr",)  # English is the source language: its texts are the msgids
FIXED_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
METHODS = [
    ("**/static/vendor/**", "ignore"),
    ("**.py", "python"),
    ("**/templates/**.html", "jinja2"),
    ("**/static/**.js", "javascript"),
]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "_l": None,
    "lazy_ngettext": (1, 2),
    "text": (2,),  # store_api.i18n.text(locale, msgid, **params)
    "plural": (2, 3),  # store_api.i18n.plural(locale, singular, plural, n)
    "N_": None,  # store_api.i18n.N_(msgid): marked where defined, translated where shown
}
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}


def owners() -> dict[Path, list[Path]]:
    """Catalogue folder → the source folders (or files) whose texts it holds."""
    packages = sorted(p.parent for p in CORE.glob("*/translations") if p.is_dir())
    result: dict[Path, list[Path]] = {package / "translations": [package] for package in packages}
    skip = {*packages, CORE / "translations", CORE / "migrations"}
    core = [p for p in sorted(CORE.iterdir()) if p not in skip and p.name != "__pycache__"]
    core = [p for p in core if p.is_dir() or p.suffix == ".py"]
    result[CORE / "translations"] = [*core, ROOT / "iot_bridge"]
    return result


def extract(sources: list[Path]) -> Catalog:
    template = Catalog(project="Comptoir", creation_date=FIXED_DATE)
    for source in sources:
        if source.is_file():
            found = _extract_file(source)
        else:
            found = (
                (Path(source, name), line, message, comments, context)
                for name, line, message, comments, context in extract_from_dir(
                    source, METHODS, OPTIONS, KEYWORDS, strip_comment_tags=True
                )
            )
        for path, line, message, comments, context in found:
            where = (str(Path(path).relative_to(ROOT)), line)
            template.add(message, None, [where], auto_comments=comments, context=context)
    return template


def _extract_file(path: Path) -> list[tuple[Path, int, str, list[str], str | None]]:
    from babel.messages.extract import extract

    with path.open("rb") as file:
        return [
            (path, line, message, comments, context)
            for line, message, comments, context in extract(
                "python", file, KEYWORDS, strip_comment_tags=True
            )
        ]


def po_path(catalogue: Path, locale: str) -> Path:
    return catalogue / locale / "LC_MESSAGES" / "messages.po"


def update(catalogue: Path, sources: list[Path], compile_only: bool) -> list[str]:
    """Bring each locale's .po up to date with the sources; write its .mo. Returns untranslated."""
    template = None if compile_only else extract(sources)
    missing: list[str] = []
    for locale in LOCALES:
        po = po_path(catalogue, locale)
        if po.exists():
            with po.open("rb") as file:
                catalog = read_po(file, locale=locale)
        else:
            catalog = Catalog(locale=locale, project="Comptoir")
        if template is not None:
            catalog.update(template, no_fuzzy_matching=True)
        catalog.project, catalog.version = "Comptoir", "1"
        catalog.creation_date = catalog.revision_date = FIXED_DATE
        catalog.last_translator = catalog.language_team = "Comptoir"
        catalog.msgid_bugs_address = ""
        catalog.fuzzy = False
        po.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        write_po(buffer, catalog, width=100, no_location=True, sort_output=True,
                 ignore_obsolete=True, include_previous=False)  # fmt: skip
        po.write_bytes(buffer.getvalue())
        with po.with_suffix(".mo").open("wb") as file:
            write_mo(file, catalog)
        missing += [f"{po.relative_to(ROOT)}: {m.id!r}" for m in catalog if m.id and not m.string]
    return missing


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--new", type=Path, help="give this package its own catalogue")
    parser.add_argument("--compile-only", action="store_true", help="only compile the .po files")
    args = parser.parse_args()
    if args.new:
        (ROOT / args.new / "translations").mkdir(parents=True, exist_ok=True)
    missing: list[str] = []
    for catalogue, sources in owners().items():
        missing += update(catalogue, sources, args.compile_only)
    for line in missing:
        print(f"untranslated: {line}", file=sys.stderr)
    print(f"{len(missing)} text(s) still need a translation." if missing else "All translated.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
