"""Choose and fit the probability calibration on the validation window only.

Candidates are the identity (the learner's own probability), Platt's sigmoid
on the log-odds and an isotonic map. Each is scored by cross-validated log
loss over validation *tickets* (folds never split a ticket); the best is then
refitted on the whole window. The test window plays no part in the choice.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss

METHODS = ("none", "sigmoid", "isotonic")
_EPS = 1e-6
#: Raw probabilities at which a fitted map is tabulated for the bundle.
GRID = np.unique(
    np.concatenate([np.linspace(0.0, 1.0, 1001), np.geomspace(1e-6, 1e-3, 50)])
)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), _EPS, 1 - _EPS)
    return np.log(p / (1 - p))


@dataclass(frozen=True)
class Calibrator:
    """A monotone map from raw to calibrated probability, as a lookup table."""

    method: str
    x: np.ndarray
    y: np.ndarray
    cv_log_loss: dict[str, float]

    def __call__(self, raw: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities of ``raw``."""
        return np.interp(np.asarray(raw, dtype=float), self.x, self.y)


def _fit(
    method: str, raw: np.ndarray, y: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Fit one method and tabulate it as (x, y) for linear interpolation."""
    if method == "none" or len(np.unique(y)) < 2:
        return np.array([0.0, 1.0]), np.array([0.0, 1.0])
    if method == "sigmoid":
        platt = LogisticRegression(C=1e6, max_iter=1_000)
        platt.fit(_logit(raw).reshape(-1, 1), y, sample_weight=weight)
        return GRID, platt.predict_proba(_logit(GRID).reshape(-1, 1))[:, 1]
    if method == "isotonic":
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(raw, y, sample_weight=weight)
        x = np.asarray(iso.X_thresholds_, dtype=float)
        return x, np.asarray(iso.y_thresholds_, dtype=float)
    raise ValueError(f"unknown calibration method {method!r}; expected {METHODS}")


def choose_calibrator(
    raw: np.ndarray,
    y: np.ndarray,
    tickets: np.ndarray,
    *,
    weight: np.ndarray | None = None,
    folds: int = 5,
    seed: int = 7,
    methods: tuple[str, ...] = METHODS,
) -> Calibrator:
    """Pick the method with the lowest cross-validated log loss and fit it.

    Parameters
    ----------
    raw : ndarray
        The learner's probabilities on validation moments.
    y : ndarray of bool
        Their outcomes.
    tickets : ndarray
        Ticket id per moment; folds are drawn by ticket.
    weight : ndarray, optional
        Weight per moment (e.g. censoring weights); the fit and the loss use it.
    folds : int
        Number of folds.
    seed : int
        Seed of the ticket-to-fold assignment.
    methods : tuple of str
        Candidates, a subset of :data:`METHODS`.
    """
    raw = np.asarray(raw, dtype=float)
    y = np.asarray(y, dtype=bool)
    weight = np.ones_like(raw) if weight is None else np.asarray(weight, dtype=float)
    unique = np.unique(tickets)
    fold_of = dict(
        zip(
            unique,
            np.random.default_rng(seed).integers(0, folds, len(unique)),
            strict=True,
        )
    )
    fold = np.array([fold_of[t] for t in tickets])
    losses: dict[str, float] = {}
    for method in methods:
        pooled = np.empty_like(raw)
        for f in range(folds):
            held = fold == f
            if not held.any():
                continue
            x, mapped = _fit(method, raw[~held], y[~held], weight[~held])
            pooled[held] = np.interp(raw[held], x, mapped)
        pooled = np.clip(pooled, _EPS, 1 - _EPS)
        losses[method] = float(
            log_loss(y, pooled, labels=[False, True], sample_weight=weight)
        )
    best = min(methods, key=lambda m: losses[m])
    x, mapped = _fit(best, raw, y, weight)
    return Calibrator(method=best, x=x, y=mapped, cv_log_loss=losses)
