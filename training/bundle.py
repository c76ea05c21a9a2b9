"""The model bundle: everything the scorer needs, written only by training.

A bundle is a folder ``<model_dir>/<version>/`` holding ``bundle.joblib``, its
SHA-256 in ``bundle.sha256`` and a human-readable ``MODEL_CARD.md``. The file
``<model_dir>/CURRENT`` names the version the service loads; only promotion
(:mod:`training.registry`) moves it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from training.learners import as_matrix
from training.text import add_text_features
from training.time_to_breach import TimeToBreachModel

BUNDLE_FILE = "bundle.joblib"
HASH_FILE = "bundle.sha256"
CARD_FILE = "MODEL_CARD.md"
CURRENT_FILE = "CURRENT"


class BundleError(RuntimeError):
    """A bundle is missing, altered or unreadable."""


@dataclass
class ModelBundle:
    """A trained stall model with its feature contract and calibration."""

    version: str
    booster: lgb.Booster
    categorical: dict[str, list[str]]
    numeric: list[str]
    calibration_x: np.ndarray
    calibration_y: np.ndarray
    band_thresholds: dict[str, float]
    card: dict[str, Any] = field(default_factory=dict)
    text: Pipeline | None = None
    #: How ``calibration_x/_y`` were fitted: none, sigmoid or isotonic.
    calibration_method: str = "isotonic"
    #: Business hours to breach or resolution; None in bundles without one
    #: (a plain default, so bundles pickled before the field load as None).
    time_to_breach: TimeToBreachModel | None = None

    @property
    def features(self) -> list[str]:
        """Feature names in the order the booster expects them."""
        return list(self.categorical) + list(self.numeric)

    def matrix(self, rows: pd.DataFrame) -> pd.DataFrame:
        """Return ``rows`` as the booster's input, categories fixed to training's."""
        rows = add_text_features(rows, self.text)
        return as_matrix(rows, self.categorical, self.numeric)

    def raw_score(self, rows: pd.DataFrame) -> np.ndarray:
        """Return the uncalibrated stall probability of each row."""
        return np.asarray(self.booster.predict(self.matrix(rows)), dtype=float)

    def calibrate(self, raw: np.ndarray) -> np.ndarray:
        """Map raw probabilities through the calibration table."""
        return np.interp(raw, self.calibration_x, self.calibration_y)

    def band(self, probability: np.ndarray) -> np.ndarray:
        """Return ``high``, ``medium`` or ``low`` for each probability."""
        return np.where(
            probability >= self.band_thresholds["high"],
            "high",
            np.where(probability >= self.band_thresholds["medium"], "medium", "low"),
        )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_bundle(bundle: ModelBundle, model_dir: Path, *, card_text: str) -> Path:
    """Write the bundle, its hash and its card; CURRENT is left where it is."""
    folder = model_dir / bundle.version
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / BUNDLE_FILE
    joblib.dump(bundle, target)
    (folder / HASH_FILE).write_text(_sha256(target) + "\n")
    (folder / CARD_FILE).write_text(card_text)
    return folder


def point_current(model_dir: Path, version: str) -> None:
    """Atomically make CURRENT name ``version``: the service loads it next."""
    pointer = model_dir / CURRENT_FILE
    temporary = pointer.with_suffix(".tmp")
    temporary.write_text(version + "\n")
    temporary.replace(pointer)


def save_bundle(bundle: ModelBundle, model_dir: Path, *, card_text: str) -> Path:
    """Write the bundle, its hash and its card, then point CURRENT at it."""
    folder = write_bundle(bundle, model_dir, card_text=card_text)
    point_current(model_dir, bundle.version)
    return folder


def recorded_hash(model_dir: Path, version: str) -> str:
    """Return the SHA-256 recorded beside a bundle."""
    return (model_dir / version / HASH_FILE).read_text().strip()


def current_version(model_dir: Path) -> str | None:
    """Return the version CURRENT names, or None when there is none."""
    pointer = model_dir / CURRENT_FILE
    if not pointer.exists():
        return None
    return pointer.read_text().strip() or None


def load_bundle(model_dir: Path, version: str | None = None) -> ModelBundle:
    """Load a bundle after checking its bytes against the recorded hash."""
    version = version or current_version(model_dir)
    if version is None:
        raise BundleError(
            f"no model in {model_dir}: run `stallwatch train`, "
            "then `stallwatch promote`"
        )
    folder = model_dir / version
    target, recorded = folder / BUNDLE_FILE, folder / HASH_FILE
    if not target.exists() or not recorded.exists():
        raise BundleError(f"model {version!r} is incomplete in {folder}")
    if _sha256(target) != recorded.read_text().strip():
        raise BundleError(f"model {version!r} does not match its recorded hash")
    bundle = joblib.load(target)
    if not isinstance(bundle, ModelBundle):
        raise BundleError(f"{target} does not hold a stallwatch model bundle")
    return bundle
