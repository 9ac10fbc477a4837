"""The shop's model: complements, alternatives and next items, fitted and saved together.

An artifact is two files: ``<path>.joblib`` (the pickled model) and ``<path>.json`` (what it
is: library versions, data snapshot, parameters, metrics, and the pickle's SHA-256). Loading
reads the JSON first and unpickles only a file it describes, written with the same
scikit-learn: a pickle from another version may load and then silently misbehave.
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import scipy
import sklearn

from recommender.alternatives import AlternativeRecommender
from recommender.base import ItemInfo, Suggestion, TrainingData
from recommender.complements import ComplementRecommender
from recommender.session import SessionKNN

ARTIFACT_FORMAT = "comptoir-shop-model"
FORMAT_VERSION = 2  # 2: reason codes, catalogue-aware complements (EASE)


class ArtifactError(ValueError):
    """A saved model that this code must not load (missing metadata, not ours, other version)."""


def artifact_paths(path: str | Path) -> tuple[Path, Path]:
    """``<path>.joblib`` and ``<path>.json``; a path given with either suffix means the same."""
    base = Path(path)
    if base.suffix in {".joblib", ".json"}:
        base = base.with_suffix("")
    return base.with_name(base.name + ".joblib"), base.with_name(base.name + ".json")


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "scikit-learn": sklearn.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "joblib": joblib.__version__,
    }


class ShopModel:
    """Complements, alternatives and next items for the shop, from one :class:`TrainingData`.

    ``ShopModel()`` with its defaults is **the served configuration**: ``store_api`` trains
    exactly this, and ``python -m recommender evaluate`` reports exactly this first.

    ``purchases_as_baskets`` adds the visits that ended in buying two or more items to the
    baskets; leave it off when those purchases are already baskets (web orders), or each
    pair would count twice.
    """

    def __init__(
        self,
        complements: ComplementRecommender | None = None,
        alternatives: AlternativeRecommender | None = None,
        session: SessionKNN | None = None,
        purchases_as_baskets: bool = False,
    ) -> None:
        self.complement_model = complements or ComplementRecommender()
        self.alternative_model = alternatives or AlternativeRecommender()
        self.session_model = session or SessionKNN()
        self.purchases_as_baskets = purchases_as_baskets
        self.snapshot_: dict[str, Any] = {}
        self.metadata_: dict[str, Any] = {}

    def fit(self, data: TrainingData, on_step: Callable[[str], None] | None = None) -> ShopModel:
        """Fit the three models; ``on_step(name)`` is called after each (for a progress bar)."""
        step = on_step or (lambda _name: None)
        baskets = list(data.baskets)
        times: list[float] | None = list(data.basket_times)  # empty for a shop with no sales yet
        if self.purchases_as_baskets:
            extra = [list(p) for p in data.session_purchases if len(set(p)) > 1]
            baskets += extra
            if times is not None:
                # Visits carry no time here: count them as the newest baskets.
                times += [max(times, default=0.0)] * len(extra)
        if self.complement_model.half_life_days is None:
            times = None
        self.complement_model.fit(
            baskets,
            times,
            data.items,
            sessions=data.sessions,
            session_carts=data.session_carts,
            session_times=data.session_times,
        )
        step("complements")
        self.alternative_model.fit(data.sessions, data.session_purchases, data.items)
        step("alternatives")
        self.session_model.fit(data.sessions)
        step("next items")
        self.snapshot_ = {
            "baskets": len(data.baskets),
            "sessions": len(data.sessions),
            "carts": sum(1 for cart in data.session_carts if cart),
            "items": len(data.items),
            "first_basket_time": min(data.basket_times, default=None),
            "last_basket_time": max(data.basket_times, default=None),
        }
        return self

    def complements(
        self,
        skus: Sequence[str],
        k: int = 5,
        exclude: Collection[str] = (),
        infos: Mapping[str, ItemInfo] | None = None,
        one_per_kind: bool = True,
    ) -> list[Suggestion]:
        """What to sell with ``skus`` (the basket so far): compatible accessories, then
        consumables, other complements, services; no substitutes, one product of each kind.
        ``infos`` describes products created since the training; ``one_per_kind=False``
        leaves the last rule to the caller (:meth:`one_per_kind`, after its own filters)."""
        return self.complement_model.recommend(
            skus, k, exclude, infos=infos, one_per_kind=one_per_kind
        )

    def one_per_kind(
        self, suggestions: Sequence[Suggestion], infos: Mapping[str, ItemInfo] | None = None
    ) -> list[Suggestion]:
        """Keep the best suggestion of each kind of product, in order."""
        return self.complement_model.one_per_kind(suggestions, infos)

    def knows(self, sku: str) -> bool:
        """The model has a history for this product (else it reasons from the catalogue)."""
        return self.complement_model.known(sku)

    def alternatives(self, sku: str, k: int = 5, exclude: Collection[str] = ()) -> list[Suggestion]:
        """What to offer instead of ``sku``; pass the unavailable items as ``exclude``."""
        return self.alternative_model.recommend(sku, k, exclude)

    def next_items(
        self, session: Sequence[str], k: int = 5, exclude: Collection[str] = ()
    ) -> list[Suggestion]:
        """What the customer of a visit in progress (items viewed, oldest first) may want next.

        Items of the visit itself may come back (shoppers return to what they viewed): pass
        them in ``exclude`` to show only new ones.
        """
        return self.session_model.recommend(session, k, exclude)

    def parameters(self) -> dict[str, Any]:
        return {
            "complements": self.complement_model.get_params(),
            "alternatives": self.alternative_model.get_params(),
            "next_items": self.session_model.get_params(),
            "purchases_as_baskets": self.purchases_as_baskets,
        }

    def save(self, path: str | Path, metrics: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
        """Write ``<path>.joblib`` and its ``<path>.json`` metadata; return both paths."""
        model_path, meta_path = artifact_paths(path)
        model_path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, model_path)
        metadata = {
            "format": ARTIFACT_FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "versions": library_versions(),
            "parameters": self.parameters(),
            "data": self.snapshot_,
            "metrics": dict(metrics or {}),
            "model_file": model_path.name,
            "sha256": hashlib.sha256(model_path.read_bytes()).hexdigest(),
        }
        meta_path.write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
        return model_path, meta_path

    @classmethod
    def load(cls, path: str | Path) -> ShopModel:
        """Load an artifact written by :meth:`save` with this scikit-learn version."""
        model_path, meta_path = artifact_paths(path)
        if not meta_path.is_file():
            raise ArtifactError(f"{meta_path} is missing: refusing to load {model_path} without it")
        try:
            metadata = json.loads(meta_path.read_text())
        except (OSError, ValueError) as error:
            raise ArtifactError(f"{meta_path} is not readable metadata: {error}") from error
        if not isinstance(metadata, dict) or metadata.get("format") != ARTIFACT_FORMAT:
            raise ArtifactError(f"{meta_path} does not describe a Comptoir shop model")
        if metadata.get("format_version") != FORMAT_VERSION:
            raise ArtifactError(
                f"{meta_path} has format version {metadata.get('format_version')!r}, "
                f"this code reads {FORMAT_VERSION}"
            )
        saved = metadata.get("versions", {}).get("scikit-learn")
        if saved != sklearn.__version__:
            raise ArtifactError(
                f"{model_path} was trained with scikit-learn {saved}, this is scikit-learn "
                f"{sklearn.__version__}: retrain it (python -m recommender train ...)"
            )
        if not model_path.is_file():
            raise ArtifactError(f"{model_path} is missing")
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
        if digest != metadata.get("sha256"):
            raise ArtifactError(f"{model_path} does not match the checksum in {meta_path}")
        model = joblib.load(model_path)
        if not isinstance(model, cls):
            raise ArtifactError(f"{model_path} holds a {type(model).__name__}, not a ShopModel")
        model.metadata_ = metadata
        return model
