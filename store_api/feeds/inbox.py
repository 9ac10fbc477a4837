"""Inbox folders: one per supplier (``<inbox>/<CODE>/``), where files dropped by hand, by an
FTP account or by a mail rule are picked up by ``flask feeds pull``.

A file is taken once it has not changed for a few seconds (a copy in progress is left alone),
read into a dry run, applied at once if the supplier's profile says ``auto_apply`` and no line
is rejected, then moved to ``done/`` (or ``refused/`` when it could not be read), its name
prefixed with the time, so the folder only ever holds what is still to do.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SKIPPED_SUFFIXES = (".part", ".tmp", ".crdownload", "~")
DONE, REFUSED = "done", "refused"


@dataclass(frozen=True)
class Pending:
    supplier_code: str
    path: Path


def folders(inbox: Path, codes: Iterable[str]) -> dict[str, Path]:
    """Each supplier's folder, created if missing so the owner sees where files go."""
    result = {}
    for code in codes:
        folder = inbox / code
        folder.mkdir(parents=True, exist_ok=True)
        result[code] = folder
    return result


def pending(inbox: Path, codes: Iterable[str], *, settled_s: float = 2.0) -> list[Pending]:
    """Files waiting in the suppliers' folders, oldest first."""
    found = []
    now = time.time()
    for code, folder in folders(inbox, codes).items():
        for path in folder.iterdir():
            if not path.is_file() or path.name.startswith("."):
                continue
            if path.name.endswith(SKIPPED_SUFFIXES):
                continue
            if now - path.stat().st_mtime < settled_s:
                continue  # still being written
            found.append(Pending(code, path))
    return sorted(found, key=lambda p: (p.path.stat().st_mtime, p.path.name))


def archive(item: Pending, outcome: str, now: dt.datetime) -> Path:
    """Move a handled file to ``done/`` or ``refused/`` next to it."""
    target_dir = item.path.parent / outcome
    target_dir.mkdir(exist_ok=True)
    target = target_dir / f"{now:%Y%m%dT%H%M%S}-{item.path.name}"
    item.path.replace(target)
    return target
