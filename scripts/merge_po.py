"""A git merge driver for gettext catalogues: the union of both sides' translations.

Two branches that each add texts to the same ``messages.po`` never conflict: every message of
either side is kept (ours wins when both translated the same text differently). Enable it once
per clone (``.gitattributes`` names it)::

    git config merge.comptoir-po.driver ".venv/bin/python scripts/merge_po.py %O %A %B"
    git config merge.comptoir-mo.driver "true"

then run ``make translations`` after the merge to recompile the ``.mo`` files.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po


def _read(path: str) -> object:
    with open(path, "rb") as file:
        return read_po(file, locale="fr")


def main(base: str, ours: str, theirs: str) -> int:
    del base  # a union needs no ancestor
    merged, other = _read(ours), _read(theirs)
    for message in other:  # type: ignore[attr-defined]
        if not message.id:
            continue
        mine = merged.get(message.id, message.context)  # type: ignore[attr-defined]
        if mine is None:
            merged[message.id] = message  # type: ignore[index]
        elif not mine.string and message.string:
            mine.string = message.string
    buffer = io.BytesIO()
    write_po(buffer, merged, width=100, no_location=True, sort_output=True,  # type: ignore[arg-type]
             ignore_obsolete=True, include_previous=False)  # fmt: skip
    Path(ours).write_bytes(buffer.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
