"""The model bundle: everything the scorer needs, written only by training.

A bundle is a folder ``<model_dir>/<version>/`` holding ``bundle.joblib``, its
SHA-256 in ``bundle.sha256`` and a human-readable ``MODEL_CARD.md``. The file
``<model_dir>/CURRENT`` names the version the service loads; only promotion
(:mod:`training.registry`) moves it.

A bundle folder appears whole or not at all: it is written under a hidden
name and renamed into place. Loading accepts only a plain folder name inside
the model store and checks the bytes against the recorded hash before they
are unpickled.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
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


#: A version names one folder of the store: no separators, no leading dot.
_VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}")
#: Prefix of the hidden folder a bundle is written into before it is renamed.
STAGING_PREFIX = ".staging-"


class BundleError(RuntimeError):
    """A bundle is missing, altered or unreadable.

    ``reason`` says which, for health checks: ``model_missing`` (nothing
    promoted, or the named bundle is gone), ``model_corrupt`` (incomplete,
    hash mismatch or unreadable), ``model_outside_store`` (the pointer
    names a place outside the model store) or ``model_file_changed`` (the
    served bundle's file was altered or removed after it was loaded).
    """

    def __init__(self, message: str, *, reason: str = "model_corrupt") -> None:
        super().__init__(message)
        self.reason = reason


def bundle_folder(model_dir: Path, version: str) -> Path:
    """Return the folder of ``version`` inside ``model_dir``; refuse any other place.

    Raises
    ------
    BundleError
        With reason ``model_outside_store`` when ``version`` is not a plain
        folder name (``../x``, an absolute path, a hidden name) or resolves,
        through a link, outside the store.
    """
    if not _VERSION.fullmatch(version) or ".." in version:
        raise BundleError(
            f"model version {version!r} is not a folder name of the model store "
            f"{model_dir}; expected letters, digits, '_', '.' or '-'",
            reason="model_outside_store",
        )
    store = model_dir.resolve()
    folder = (store / version).resolve()
    if folder.parent != store:
        raise BundleError(
            f"model version {version!r} resolves to {folder}, outside the model "
            f"store {store}",
            reason="model_outside_store",
        )
    return folder


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


def _write_synced(path: Path, data: bytes) -> None:
    with path.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def write_bundle(
    bundle: ModelBundle,
    model_dir: Path,
    *,
    card_text: str,
    extra_files: dict[str, str] | None = None,
) -> Path:
    """Write the bundle, its hash, its card and ``extra_files`` as one folder.

    The files go to a hidden staging folder first, are flushed to disk, and
    the folder is then renamed to ``<model_dir>/<version>``: a process killed
    on the way leaves only the hidden folder, which nothing loads and the next
    write of that version removes. CURRENT is left where it is.
    """
    folder = bundle_folder(model_dir, bundle.version)
    if folder.exists():
        raise BundleError(f"model {bundle.version!r} already exists in {model_dir}")
    staging = folder.with_name(f"{STAGING_PREFIX}{bundle.version}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)

    buffer = io.BytesIO()
    joblib.dump(bundle, buffer)
    data = buffer.getvalue()
    _write_synced(staging / BUNDLE_FILE, data)
    digest = hashlib.sha256(data).hexdigest()
    _write_synced(staging / HASH_FILE, (digest + "\n").encode())
    files = {CARD_FILE: card_text, **(extra_files or {})}
    for name, text in files.items():
        _write_synced(staging / name, text.encode())

    staging.rename(folder)
    return folder


def point_current(model_dir: Path, version: str) -> None:
    """Atomically make CURRENT name ``version``: the service loads it next."""
    bundle_folder(model_dir, version)
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
    return (bundle_folder(model_dir, version) / HASH_FILE).read_text().strip()


def current_version(model_dir: Path) -> str | None:
    """Return the version CURRENT names, or None when there is none."""
    pointer = model_dir / CURRENT_FILE
    if not pointer.exists():
        return None
    return pointer.read_text().strip() or None


def verified_bytes(model_dir: Path, version: str) -> bytes:
    """Return a bundle file's bytes after checking them against the recorded hash.

    Raises
    ------
    BundleError
        A version outside the store, or a missing or altered file.
    """
    folder = bundle_folder(model_dir, version)
    target, recorded = folder / BUNDLE_FILE, folder / HASH_FILE
    if not target.exists():
        raise BundleError(
            f"model {version!r} has no {BUNDLE_FILE} in {folder}",
            reason="model_missing",
        )
    if not recorded.exists():
        raise BundleError(f"model {version!r} has no {HASH_FILE} in {folder}")
    data = target.read_bytes()
    if hashlib.sha256(data).hexdigest() != recorded.read_text().strip():
        raise BundleError(
            f"model {version!r}: {target} does not match the SHA-256 recorded in "
            f"{recorded}"
        )
    return data


def load_bundle(model_dir: Path, version: str | None = None) -> ModelBundle:
    """Load a bundle of the model store after checking its bytes against its hash.

    The file is read once; those very bytes are hashed and, only if they
    match ``bundle.sha256``, unpickled.

    Raises
    ------
    BundleError
        Nothing promoted, a version outside the store, a missing or altered
        file, or one that does not unpickle to a :class:`ModelBundle`.
    """
    version = version or current_version(model_dir)
    if version is None:
        raise BundleError(
            f"no model in {model_dir}: run `stallwatch train`, "
            "then `stallwatch promote`",
            reason="model_missing",
        )
    data = verified_bytes(model_dir, version)
    target = bundle_folder(model_dir, version) / BUNDLE_FILE
    try:
        bundle = joblib.load(io.BytesIO(data))
    except Exception as exc:  # any unpickling failure means an unusable file
        message = f"model {version!r}: {target} does not load: {exc!r}"
        raise BundleError(message) from exc
    if not isinstance(bundle, ModelBundle):
        raise BundleError(f"{target} does not hold a stallwatch model bundle")
    return bundle
