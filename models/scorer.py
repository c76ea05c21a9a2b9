"""Score as-of feature rows with the current model bundle."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.reasons import Reason, explain
from training.bundle import (
    BUNDLE_FILE,
    CURRENT_FILE,
    HASH_FILE,
    BundleError,
    ModelBundle,
    bundle_folder,
    current_version,
    load_bundle,
)
from training.time_to_breach import matrix_codes

log = logging.getLogger("stallwatch.models")


@dataclass(frozen=True)
class TimeToBreach:
    """Business hours until the ticket breaches or is resolved, whichever first."""

    median_business_hours: float
    p90_business_hours: float


class CurrentPointer:
    """The version ``CURRENT`` names, read again only when the file changes.

    Promotion replaces the file by a rename (a new inode), and an edit in
    place changes its modification time or size, so one ``stat`` per call
    sees every promotion at once, without reading the file each request.
    """

    def __init__(self, model_dir: Path) -> None:
        self.path = model_dir / CURRENT_FILE
        self.model_dir = model_dir
        self._seen: tuple[tuple[int, int, int, int], str | None] | None = None

    def version(self) -> str | None:
        """Return the version ``CURRENT`` names now, or None when there is none."""
        try:
            info = os.stat(self.path)
        except OSError:
            return None
        stamp = (info.st_dev, info.st_ino, info.st_mtime_ns, info.st_size)
        seen = self._seen
        if seen is not None and seen[0] == stamp:
            return seen[1]
        # Stat first, then read: a change in between only costs one more read.
        try:
            version = current_version(self.model_dir)
        except OSError:
            return None
        self._seen = (stamp, version)
        return version


@dataclass(frozen=True)
class StallScore:
    """One ticket's stall risk at a moment, and why."""

    ticket_id: str
    probability: float
    band: str
    reasons: list[Reason]
    model_version: str
    time_to_breach: TimeToBreach | None = None


class StallScorer:
    """The current model, ready to score feature rows."""

    def __init__(self, bundle: ModelBundle) -> None:
        self.bundle = bundle

    @property
    def version(self) -> str:
        """The loaded bundle's version."""
        return self.bundle.version

    @classmethod
    def load(cls, model_dir: Path) -> StallScorer:
        """Load the bundle that ``CURRENT`` names; raise BundleError if none."""
        bundle = load_bundle(model_dir)
        log.info("model_loaded", extra={"version": bundle.version})
        return cls(bundle)

    @staticmethod
    def newest_version(model_dir: Path) -> str | None:
        """Return the version ``CURRENT`` names now, without loading it."""
        return current_version(model_dir)

    @staticmethod
    def stamp(model_dir: Path, version: str) -> tuple[int, int, int, int] | None:
        """Return size and change time of a bundle's two files; None if unreadable.

        A refused bundle is tried again when this changes (a file restored).
        """
        try:
            folder = bundle_folder(model_dir, version)
            data, digest = (folder / BUNDLE_FILE).stat(), (folder / HASH_FILE).stat()
        except (BundleError, OSError):
            return None
        return data.st_size, data.st_mtime_ns, digest.st_size, digest.st_mtime_ns

    def probabilities(self, rows: pd.DataFrame) -> np.ndarray:
        """Return calibrated stall probabilities, one per row."""
        if rows.empty:
            return np.zeros(0)
        return self.bundle.calibrate(self.bundle.raw_score(rows))

    def _times_to_breach(self, matrix: pd.DataFrame) -> list[TimeToBreach | None]:
        model = getattr(self.bundle, "time_to_breach", None)
        if model is None:
            return [None] * len(matrix)
        hours = model.quantiles(matrix_codes(matrix))
        return [TimeToBreach(float(m), float(p)) for m, p in hours.tolist()]

    def times_to_breach(self, rows: pd.DataFrame) -> list[TimeToBreach | None]:
        """Return each row's median and 90th percentile hours to its outcome.

        Business hours to breach or resolution, whichever comes first; None
        for every row when the bundle has no time-to-breach model.
        """
        return self._times_to_breach(self.bundle.matrix(rows))

    def score(self, rows: pd.DataFrame, *, top_reasons: int = 3) -> list[StallScore]:
        """Score rows and explain each score with its strongest reasons."""
        if rows.empty:
            return []
        matrix = self.bundle.matrix(rows)
        raw = np.asarray(self.bundle.booster.predict(matrix), dtype=float)
        probability = self.bundle.calibrate(raw)
        bands = self.bundle.band(probability)
        contributions = np.asarray(
            self.bundle.booster.predict(matrix, pred_contrib=True), dtype=float
        )[:, :-1]
        features = self.bundle.features
        times = self._times_to_breach(matrix)
        records = rows.to_dict("records")
        return [
            StallScore(
                ticket_id=str(record["ticket_id"]),
                probability=float(probability[i]),
                band=str(bands[i]),
                reasons=explain(record, contributions[i], features, top=top_reasons),
                model_version=self.bundle.version,
                time_to_breach=times[i],
            )
            for i, record in enumerate(records)
        ]


__all__ = ["BundleError", "StallScore", "StallScorer", "TimeToBreach"]
