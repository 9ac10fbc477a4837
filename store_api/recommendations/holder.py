"""Trained artifacts on disk and the model each worker serves: loaded at start, swapped whole.

Artifacts live in one directory (``RECOMMENDER_DIR``, default ``<instance>/recommender``)::

    versions/20261127T093000123456-1a2b/model.joblib   a trained model (ShopModel.save)
    versions/20261127T093000123456-1a2b/model.json     its metadata
    versions/20261127T093000123456-1a2b/fallback.json  best-sellers of the same data
    current -> versions/20261127T093000123456-1a2b     symlink, replaced atomically

Training writes a whole new version directory first and only then replaces the ``current``
symlink with ``os.replace`` (atomic on POSIX), so a reader resolves either the old pair or the
new pair, never half of one.

Each worker has one :class:`ModelHolder` per directory. It loads the served version when the
worker starts (:func:`warm_up`, called by gunicorn's ``post_worker_init`` hook and by
``create_app`` when ``RECOMMENDER_PRELOAD`` is on), so the first request is as fast as the
others. Every request reads the ``current`` link (one syscall); when it moved (a retrain), a
background thread loads the new version while requests keep the old one, then swaps the
reference in one assignment: no request ever waits for a load or sees half a model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from recommender.base import ItemInfo, Suggestion

log = logging.getLogger(__name__)

CURRENT = "current"
VERSIONS = "versions"
ARTIFACT = "model"  # ShopModel.save(<version>/model) writes model.joblib + model.json
FALLBACK_FILE = "fallback.json"
KEEP_VERSIONS = 3


class Recommender(Protocol):
    """What serving needs from ``recommender.model.ShopModel``."""

    def complements(
        self,
        skus: Any,
        k: int = ...,
        exclude: Any = ...,
        infos: dict[str, ItemInfo] | None = ...,
        one_per_kind: bool = ...,
    ) -> list[Suggestion]: ...

    def one_per_kind(
        self, suggestions: Any, infos: dict[str, ItemInfo] | None = ...
    ) -> list[Suggestion]: ...

    def alternatives(self, sku: str, k: int = ..., exclude: Any = ...) -> list[Suggestion]: ...

    def next_items(self, session: Any, k: int = ..., exclude: Any = ...) -> list[Suggestion]: ...

    def knows(self, sku: str) -> bool: ...


def artifact_path(directory: Path, version: str) -> Path:
    return directory / VERSIONS / version / ARTIFACT


def publish(directory: Path, version: str) -> None:
    """Point ``current`` at a complete version directory: one atomic rename."""
    link = directory / CURRENT
    temporary = directory / f".{CURRENT}-{uuid.uuid4().hex}"
    os.symlink(Path(VERSIONS) / version, temporary)
    os.replace(temporary, link)
    _prune(directory, keep=version)


def _prune(directory: Path, keep: str) -> None:
    """Old versions go, except the newest few (a worker may still be loading one)."""
    versions = sorted(p for p in (directory / VERSIONS).iterdir() if p.is_dir())
    for old in versions[:-KEEP_VERSIONS]:
        if old.name != keep:
            shutil.rmtree(old, ignore_errors=True)


def current_version(directory: Path) -> str | None:
    try:
        return Path(os.readlink(directory / CURRENT)).name
    except OSError:
        return None


@dataclass(frozen=True)
class Served:
    """One consistent snapshot: a request uses one model and its best-sellers throughout."""

    version: str | None
    model: Recommender | None
    fallback: Any  # service.Fallback (kept untyped here: no import cycle)


NOTHING_SERVED = Served(None, None, None)


class ModelHolder:
    """The served model of one artifact directory (module docstring).

    ``get()`` never loads in the caller's thread once a model has been loaded: a new version
    is loaded in the background and swapped in whole. ``refresh()`` loads synchronously
    (worker start, or the process that has just trained). A version that cannot be loaded
    (missing, foreign or incompatible artifact) is logged once and served as "no model", so
    the shop falls back to best-sellers instead of failing.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._link: str | None = None  # the version the current snapshot was loaded from
        self._served = NOTHING_SERVED
        self._started = False
        self._loading: threading.Thread | None = None
        self.loads = 0  # versions loaded by this holder (tests, the bench)
        self.loaded_by = ""  # the thread that loaded the current snapshot

    def get(self) -> Served:
        """The snapshot to serve now; starts a background load when ``current`` moved."""
        wanted = current_version(self.directory)
        if wanted != self._link or not self._started:
            if not self._started:
                self.refresh()  # never loaded: the first caller loads (warm-up normally does)
            else:
                self._load_in_background()
        return self._served

    def refresh(self) -> Served:
        """Load what ``current`` points to now, in this thread, and serve it."""
        with self._lock:
            wanted = current_version(self.directory)
            if wanted != self._link or not self._started:
                self._served = self._load(wanted)
                self._link = wanted
                self._started = True
            return self._served

    def wait(self, timeout: float | None = None) -> Served:
        """Wait for a background load in progress (tests, the bench), then return the snapshot."""
        thread = self._loading
        if thread is not None:
            thread.join(timeout)
        return self._served

    def forget(self) -> None:
        """Load again on the next call (after repairing an artifact in place)."""
        with self._lock:
            self._link = None
            self._started = False
            self._served = NOTHING_SERVED

    def _load_in_background(self) -> None:
        with self._lock:
            if self._loading is not None and self._loading.is_alive():
                return
            self._loading = threading.Thread(
                target=self.refresh, name="recommender-model-load", daemon=True
            )
            self._loading.start()

    def _load(self, version: str | None) -> Served:
        if version is None:
            return NOTHING_SERVED
        path = artifact_path(self.directory, version)
        try:
            from recommender.model import ShopModel
            from store_api.recommendations.service import Fallback

            model: Recommender = ShopModel.load(path)
            fallback = Fallback(**json.loads((path.parent / FALLBACK_FILE).read_text()))
        except (OSError, ValueError, TypeError, ImportError) as exc:
            log.warning("recommender model %s not loaded: %s", path, exc)
            return NOTHING_SERVED
        self.loads += 1
        self.loaded_by = threading.current_thread().name
        log.info("recommender model %s loaded", version)
        return Served(version, model, fallback)


_holders: dict[Path, ModelHolder] = {}
_holders_lock = threading.Lock()


def holder_for(directory: Path) -> ModelHolder:
    """The process-wide holder of a directory."""
    key = directory.resolve()
    with _holders_lock:
        if key not in _holders:
            _holders[key] = ModelHolder(key)
        return _holders[key]
